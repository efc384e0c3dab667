//! `blindrelay-relay`: starts the reference relay (spec §12).
//!
//! ```text
//! cargo run --release -p blindrelay-relay -- [--listen 127.0.0.1:8780] [--data DIR] [--postgres URL]
//!     [--oracle-url http://127.0.0.1:8790 --oracle-credential HEX --oracle-key HEX]
//! ```

use blindrelay_relay::config::{Backend, Config};
use blindrelay_relay::oprf::hex;
use blindrelay_relay::store::postgres::PostgresStore;
use blindrelay_relay::store::sqlite::SqliteStore;
use blindrelay_relay::store::Store;
use blindrelay_relay::{log, relay_with, start, OracleLink};
use std::process::ExitCode;
use std::sync::Arc;

#[tokio::main]
async fn main() -> ExitCode {
    let config =
        match Config::from_env_and_args(|k| std::env::var(k).ok(), std::env::args().skip(1)) {
            Ok(c) => c,
            Err(message) => {
                eprintln!("{message}");
                return ExitCode::from(2);
            }
        };
    log::set_enabled(config.log_requests);
    if let Err(e) = std::fs::create_dir_all(&config.data_dir) {
        eprintln!("relay: cannot create {}: {e}", config.data_dir.display());
        return ExitCode::FAILURE;
    }
    let result = match &config.backend {
        Backend::Sqlite => match SqliteStore::open(&config.data_dir.join("relay.db")) {
            Ok(store) => run(store, &config).await,
            Err(e) => Err(e.to_string()),
        },
        Backend::Postgres(url) => match PostgresStore::connect(url).await {
            Ok(store) => run(store, &config).await,
            Err(e) => Err(e.to_string()),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("relay: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run<S: Store>(store: S, config: &Config) -> Result<(), String> {
    let mut relay = relay_with(store, config.clock, &config.data_dir).map_err(|e| e.to_string())?;
    if let Some(oracle) = &config.oracle {
        relay = relay.with_oracle(OracleLink::new(&oracle.url, oracle.credential, oracle.key)?);
    }
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let relay_key = relay_key_of(&config.data_dir).map_err(|e| e.to_string())?;
    let running = start(Arc::new(relay), listener).map_err(|e| e.to_string())?;
    log::line(&format!("relay: {}", config.summary()));
    log::line(&format!("relay: listening on http://{}", running.addr));
    log::line(&format!(
        "relay: discovery key (clients pin it, spec §9.6): {}",
        hex(&relay_key)
    ));
    shutdown_signal().await;
    log::line("relay: stopping");
    running.stop().await;
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn relay_key_of(data_dir: &std::path::Path) -> std::io::Result<[u8; 32]> {
    let key =
        blindrelay_relay::server::DiscoveryKey::load_or_create(&data_dir.join("discovery.key"))?;
    Ok(key.identity.public().signing)
}
