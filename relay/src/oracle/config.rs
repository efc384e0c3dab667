//! The oracle's configuration (STYLE §5): one struct, read from the environment and the
//! command line, printed at start-up without secrets.

use super::RelayCredential;
use crate::clock::Clock;
use crate::config::{redact_url, Backend};
use crate::oprf::parse_hex32;
use std::net::SocketAddr;
use std::path::PathBuf;

/// What `blindrelay-oracle` was asked to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// Serve the API (the default).
    Serve,
    /// Increment the key epoch in the store and exit (spec §14.6).
    Rotate,
    /// Print a fresh random relay credential (64 hex digits) and exit.
    NewCredential,
}

/// Everything the oracle is configured with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OracleConfig {
    /// What to do (`serve`, `rotate`, `new-credential`; default `serve`).
    pub command: Command,
    /// The address to listen on (`--listen`, `BLINDRELAY_ORACLE_LISTEN`; default
    /// 127.0.0.1:8790). Plain HTTP: put TLS in front of an oracle not on loopback.
    pub listen: SocketAddr,
    /// The data directory (`--data` or `--data-dir`, `BLINDRELAY_ORACLE_DATA`; default
    /// `./blindrelay-oracle-data`): `oracle.key` and, with SQLite, `oracle.db`.
    pub data_dir: PathBuf,
    /// The storage backend (`--postgres URL`, `BLINDRELAY_ORACLE_POSTGRES`).
    pub backend: Backend,
    /// The relays served (`--relay NAME:HEX_SECRET:BUDGET`, repeatable;
    /// `BLINDRELAY_ORACLE_RELAYS`, the same entries separated by commas).
    pub relays: Vec<RelayCredential>,
    /// The clock (`BLINDRELAY_CLOCK=<unix seconds>` fixes it; tests only).
    pub clock: Clock,
    /// Whether each request is logged (`--quiet` turns it off).
    pub log_requests: bool,
}

impl Default for OracleConfig {
    fn default() -> Self {
        Self {
            command: Command::Serve,
            listen: SocketAddr::from(([127, 0, 0, 1], 8790)),
            data_dir: PathBuf::from("blindrelay-oracle-data"),
            backend: Backend::Sqlite,
            relays: Vec::new(),
            clock: Clock::System,
            log_requests: true,
        }
    }
}

/// `NAME:HEX_SECRET:BUDGET`: a name of `[A-Za-z0-9._-]`, 1 to 64 characters, 64 hex
/// digits, and a budget of elements per day.
fn relay_entry(text: &str) -> Result<RelayCredential, String> {
    let bad = || {
        format!("--relay: expected NAME:HEX_SECRET(64 hex digits):BUDGET, got an invalid entry for {:?}", text.split(':').next().unwrap_or(""))
    };
    let mut parts = text.split(':');
    let (Some(name), Some(secret), Some(budget), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let name_ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    let secret = parse_hex32(secret).ok_or_else(bad)?;
    let budget = budget.parse::<u64>().map_err(|_| bad())?;
    if !name_ok {
        return Err(bad());
    }
    Ok(RelayCredential {
        name: name.to_owned(),
        secret,
        budget,
    })
}

impl OracleConfig {
    /// Reads the environment, then the arguments (which win; `--relay` entries add to the
    /// environment's).
    ///
    /// # Errors
    /// A message naming the setting that could not be parsed, an unknown argument, or two
    /// relays with the same name or credential.
    pub fn from_env_and_args(
        env: impl Fn(&str) -> Option<String>,
        args: impl IntoIterator<Item = String>,
    ) -> Result<Self, String> {
        let mut c = Self::default();
        if let Some(v) = env("BLINDRELAY_ORACLE_LISTEN") {
            c.listen = v
                .parse()
                .map_err(|_| format!("BLINDRELAY_ORACLE_LISTEN: bad address {v}"))?;
        }
        if let Some(v) = env("BLINDRELAY_ORACLE_DATA") {
            c.data_dir = PathBuf::from(v);
        }
        if let Some(v) = env("BLINDRELAY_ORACLE_POSTGRES") {
            c.backend = Backend::Postgres(v);
        }
        if let Some(v) = env("BLINDRELAY_ORACLE_RELAYS") {
            for entry in v.split(',').filter(|e| !e.trim().is_empty()) {
                c.relays.push(relay_entry(entry.trim())?);
            }
        }
        if let Some(v) = env("BLINDRELAY_CLOCK") {
            c.clock = Clock::Fixed(
                v.parse()
                    .map_err(|_| format!("BLINDRELAY_CLOCK: not a number of seconds: {v}"))?,
            );
        }
        let mut args = args.into_iter().peekable();
        match args.peek().map(String::as_str) {
            Some("serve") => {
                args.next();
            }
            Some("rotate") => {
                args.next();
                c.command = Command::Rotate;
            }
            Some("new-credential") => {
                args.next();
                c.command = Command::NewCredential;
            }
            _ => {}
        }
        while let Some(a) = args.next() {
            let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
            match a.as_str() {
                "--listen" => {
                    let v = value("--listen")?;
                    c.listen = v
                        .parse()
                        .map_err(|_| format!("--listen: bad address {v}"))?;
                }
                "--data" | "--data-dir" => c.data_dir = PathBuf::from(value("--data")?),
                "--postgres" => c.backend = Backend::Postgres(value("--postgres")?),
                "--relay" => c.relays.push(relay_entry(&value("--relay")?)?),
                "--quiet" => c.log_requests = false,
                "--help" | "-h" => return Err(USAGE.to_owned()),
                other => return Err(format!("unknown argument {other}\n{USAGE}")),
            }
        }
        for (i, r) in c.relays.iter().enumerate() {
            if c.relays.iter().skip(i + 1).any(|o| o.name == r.name) {
                return Err(format!("relay {} is configured twice", r.name));
            }
            if c.relays.iter().skip(i + 1).any(|o| o.secret == r.secret) {
                return Err(format!("relay {} shares its credential", r.name));
            }
        }
        Ok(c)
    }

    /// The start-up summary: every setting, relays by name and budget only, the Postgres
    /// URL's password hidden.
    #[must_use]
    pub fn summary(&self) -> String {
        let backend = match &self.backend {
            Backend::Sqlite => format!("sqlite {}", self.data_dir.join("oracle.db").display()),
            Backend::Postgres(url) => format!("postgres {}", redact_url(url)),
        };
        let relays: Vec<String> = self
            .relays
            .iter()
            .map(|r| format!("{} ({}/day)", r.name, r.budget))
            .collect();
        format!(
            "listen {} | data {} | backend {backend} | relays [{}] | clock {:?} | request log {}",
            self.listen,
            self.data_dir.display(),
            relays.join(", "),
            self.clock,
            if self.log_requests { "on" } else { "off" }
        )
    }
}

const USAGE: &str = "usage: blindrelay-oracle [serve] [--listen ADDR] [--data DIR] [--postgres URL] [--relay NAME:HEX_SECRET:BUDGET]... [--quiet]
       blindrelay-oracle rotate [--data DIR] [--postgres URL]
       blindrelay-oracle new-credential
environment: BLINDRELAY_ORACLE_LISTEN, BLINDRELAY_ORACLE_DATA, BLINDRELAY_ORACLE_POSTGRES,
             BLINDRELAY_ORACLE_RELAYS (comma-separated NAME:HEX_SECRET:BUDGET)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relays_parse_and_secrets_are_never_printed() {
        let secret = "ab".repeat(32);
        let c = OracleConfig::from_env_and_args(
            |k| (k == "BLINDRELAY_ORACLE_RELAYS").then(|| format!("a:{}:5", "01".repeat(32))),
            [
                "serve".to_owned(),
                "--relay".to_owned(),
                format!("relay-b:{secret}:1000000"),
                "--postgres".to_owned(),
                "postgres://u:hunter2@db/x".to_owned(),
            ],
        )
        .unwrap_or_default();
        assert_eq!(c.command, Command::Serve);
        assert_eq!(c.relays.len(), 2);
        assert_eq!(c.relays[1].name, "relay-b");
        assert_eq!(c.relays[1].budget, 1_000_000);
        let summary = c.summary();
        assert!(summary.contains("relay-b (1000000/day)"));
        assert!(!summary.contains(&secret) && !summary.contains("hunter2"));
        assert!(!format!("{c:?}").contains(&secret));
        let rotate = OracleConfig::from_env_and_args(
            |_| None,
            ["rotate".into(), "--data-dir".into(), "d".into()],
        )
        .unwrap_or_default();
        assert_eq!(rotate.command, Command::Rotate);
        assert_eq!(rotate.data_dir, PathBuf::from("d"));
        for bad in [
            format!("a:{secret}"),
            format!("a:{secret}:x"),
            format!(":{secret}:1"),
            format!("a b:{secret}:1"),
            format!("a:{}:1", &secret[2..]),
            format!("a:{secret}:1:2"),
        ] {
            let r = OracleConfig::from_env_and_args(|_| None, ["--relay".into(), bad.clone()]);
            assert!(r.is_err(), "{bad}");
            assert!(!r.unwrap_err().contains(&secret));
        }
        let twice = [
            "--relay".to_owned(),
            format!("a:{secret}:1"),
            "--relay".to_owned(),
            format!("b:{secret}:1"),
        ];
        assert!(OracleConfig::from_env_and_args(|_| None, twice).is_err());
    }
}
