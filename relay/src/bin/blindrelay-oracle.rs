//! `blindrelay-oracle`: the `ch2` oracle service (spec §14).
//!
//! ```text
//! blindrelay-oracle new-credential                      # prints a relay credential
//! blindrelay-oracle [serve] [--listen 127.0.0.1:8790] [--data DIR] [--postgres URL]
//!     --relay NAME:HEX_SECRET:BUDGET ...
//! blindrelay-oracle rotate [--data DIR] [--postgres URL]  # next key epoch
//! ```

use blindrelay_relay::config::Backend;
use blindrelay_relay::log;
use blindrelay_relay::oprf::hex;
use blindrelay_relay::oracle::config::{Command, OracleConfig};
use blindrelay_relay::oracle::store::{OracleStore, PostgresOracleStore, SqliteOracleStore};
use blindrelay_relay::oracle::{oracle_with, start};
use std::process::ExitCode;
use std::sync::Arc;

#[tokio::main]
async fn main() -> ExitCode {
    let config = match OracleConfig::from_env_and_args(
        |k| std::env::var(k).ok(),
        std::env::args().skip(1),
    ) {
        Ok(c) => c,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    if config.command == Command::NewCredential {
        let mut secret = [0u8; 32];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut secret);
        println!("{}", hex(&secret));
        return ExitCode::SUCCESS;
    }
    log::set_enabled(config.log_requests);
    if let Err(e) = std::fs::create_dir_all(&config.data_dir) {
        eprintln!("oracle: cannot create {}: {e}", config.data_dir.display());
        return ExitCode::FAILURE;
    }
    let result = match &config.backend {
        Backend::Sqlite => match SqliteOracleStore::open(&config.data_dir.join("oracle.db")) {
            Ok(store) => run(store, &config).await,
            Err(e) => Err(e.to_string()),
        },
        Backend::Postgres(url) => match PostgresOracleStore::connect(url).await {
            Ok(store) => run(store, &config).await,
            Err(e) => Err(e.to_string()),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("oracle: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run<S: OracleStore>(store: S, config: &OracleConfig) -> Result<(), String> {
    if config.command == Command::Rotate {
        let epoch = store.rotate().await.map_err(|e| e.to_string())?;
        println!("oracle: key epoch is now {epoch}");
        return Ok(());
    }
    if config.relays.is_empty() {
        log::line("oracle: warning: no --relay configured; every evaluation will be refused");
    }
    let oracle = oracle_with(store, config.clock, &config.data_dir, config.relays.clone())
        .map_err(|e| e.to_string())?;
    let (key, _) = oracle.current().await.map_err(|e| e.to_string())?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    log::line(&format!("oracle: {}", config.summary()));
    log::line(&format!(
        "oracle: oracle key (clients pin it, spec §14.2): {}",
        hex(&oracle.oracle_key())
    ));
    log::line(&format!(
        "oracle: key epoch {}, OPRF public key {}",
        key.key_epoch(),
        hex(&key.public_key().to_bytes())
    ));
    let running = start(Arc::new(oracle), listener).map_err(|e| e.to_string())?;
    log::line(&format!("oracle: listening on http://{}", running.addr));
    shutdown_signal().await;
    log::line("oracle: stopping");
    running.stop().await;
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        else {
            let _ = tokio::signal::ctrl_c().await;
            return;
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
