//! The relay's configuration (spec §12, STYLE §5): one struct, read from the environment
//! and the command line, printed at start-up without secrets.

use crate::clock::Clock;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Where the relay keeps its data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    /// SQLite in `<data dir>/relay.db` (the default: embedded, zero setup).
    Sqlite,
    /// Postgres at this URL (scale-out: several relay nodes share it).
    Postgres(String),
}

/// Everything the relay is configured with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The address to listen on (`--listen`, `BLINDRELAY_LISTEN`; default 127.0.0.1:8780).
    /// TLS is a reverse proxy's job (README): listen on loopback or a private network.
    pub listen: SocketAddr,
    /// The data directory (`--data`, `BLINDRELAY_DATA`; default `./blindrelay-data`): the
    /// SQLite database and the discovery key file.
    pub data_dir: PathBuf,
    /// The storage backend (`--postgres URL`, `BLINDRELAY_POSTGRES`; default SQLite).
    pub backend: Backend,
    /// The clock (`BLINDRELAY_CLOCK=<unix seconds>` fixes it, for conformance runs only).
    pub clock: Clock,
    /// Whether each request is logged (`--quiet` turns it off).
    pub log_requests: bool,
    /// The `ch2` oracle the relay forwards OPRF evaluations to (spec §14.5):
    /// `--oracle-url URL --oracle-credential HEX --oracle-key HEX` (`BLINDRELAY_ORACLE_URL`,
    /// `BLINDRELAY_ORACLE_CREDENTIAL`). Without one, `/v1/oracle` and `/v1/oprf` answer
    /// `Unavailable` (808).
    pub oracle: Option<OracleSettings>,
}

/// Where the relay's oracle is, and the relay's credential there.
#[derive(Clone, PartialEq, Eq)]
pub struct OracleSettings {
    /// The oracle's base URL, e.g. `http://127.0.0.1:8790`.
    pub url: String,
    /// The relay's 32-byte bearer credential at the oracle (a secret: never printed).
    pub credential: [u8; 32],
    /// The oracle's Ed25519 public key (the one it prints at start-up and clients pin): the
    /// relay's `ch2` parameters name it, and the oracle's parameters must verify under it.
    pub key: [u8; 32],
}

impl core::fmt::Debug for OracleSettings {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OracleSettings")
            .field("url", &self.url)
            .field("credential", &"<redacted>")
            .field("key", &crate::oprf::hex(&self.key))
            .finish()
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8780)),
            data_dir: PathBuf::from("blindrelay-data"),
            backend: Backend::Sqlite,
            clock: Clock::System,
            log_requests: true,
            oracle: None,
        }
    }
}

impl Config {
    /// Reads the environment, then the arguments (which win).
    ///
    /// # Errors
    /// A message naming the setting that could not be parsed, or an unknown argument.
    pub fn from_env_and_args(
        env: impl Fn(&str) -> Option<String>,
        args: impl IntoIterator<Item = String>,
    ) -> Result<Self, String> {
        let mut c = Self::default();
        if let Some(v) = env("BLINDRELAY_LISTEN") {
            c.listen = v
                .parse()
                .map_err(|_| format!("BLINDRELAY_LISTEN: bad address {v}"))?;
        }
        if let Some(v) = env("BLINDRELAY_DATA") {
            c.data_dir = PathBuf::from(v);
        }
        if let Some(v) = env("BLINDRELAY_POSTGRES") {
            c.backend = Backend::Postgres(v);
        }
        if let Some(v) = env("BLINDRELAY_CLOCK") {
            c.clock = Clock::Fixed(
                v.parse()
                    .map_err(|_| format!("BLINDRELAY_CLOCK: not a number of seconds: {v}"))?,
            );
        }
        let mut oracle_url = env("BLINDRELAY_ORACLE_URL");
        let mut oracle_credential = env("BLINDRELAY_ORACLE_CREDENTIAL");
        let mut oracle_key = env("BLINDRELAY_ORACLE_KEY");
        let mut args = args.into_iter();
        while let Some(a) = args.next() {
            let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
            match a.as_str() {
                "--listen" => {
                    let v = value("--listen")?;
                    c.listen = v
                        .parse()
                        .map_err(|_| format!("--listen: bad address {v}"))?;
                }
                "--data" => c.data_dir = PathBuf::from(value("--data")?),
                "--postgres" => c.backend = Backend::Postgres(value("--postgres")?),
                "--quiet" => c.log_requests = false,
                "--oracle-url" => oracle_url = Some(value("--oracle-url")?),
                "--oracle-credential" => oracle_credential = Some(value("--oracle-credential")?),
                "--oracle-key" => oracle_key = Some(value("--oracle-key")?),
                "--help" | "-h" => return Err(USAGE.to_owned()),
                other => return Err(format!("unknown argument {other}\n{USAGE}")),
            }
        }
        c.oracle =
            match (oracle_url, oracle_credential, oracle_key) {
                (None, None, None) => None,
                (Some(url), Some(credential), Some(key)) => Some(OracleSettings {
                    url,
                    credential: crate::oprf::parse_hex32(&credential)
                        .ok_or_else(|| "--oracle-credential: expected 64 hex digits".to_owned())?,
                    key: crate::oprf::parse_hex32(&key)
                        .ok_or_else(|| "--oracle-key: expected 64 hex digits".to_owned())?,
                }),
                _ => return Err(
                    "--oracle-url, --oracle-credential and --oracle-key go together (spec §14.5)"
                        .to_owned(),
                ),
            };
        Ok(c)
    }

    /// The start-up summary: every setting, with the Postgres URL's password hidden.
    #[must_use]
    pub fn summary(&self) -> String {
        let backend = match &self.backend {
            Backend::Sqlite => format!("sqlite {}", self.data_dir.join("relay.db").display()),
            Backend::Postgres(url) => format!("postgres {}", redact_url(url)),
        };
        let oracle = self.oracle.as_ref().map_or("none", |o| o.url.as_str());
        format!(
            "listen {} | data {} | backend {backend} | oracle {oracle} | clock {:?} | request log {}",
            self.listen,
            self.data_dir.display(),
            self.clock,
            if self.log_requests { "on" } else { "off" }
        )
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub(crate) fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "***".to_owned();
    };
    let Some((userinfo, host)) = rest.rsplit_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

const USAGE: &str = "usage: blindrelay-relay [--listen ADDR] [--data DIR] [--postgres URL] [--oracle-url URL --oracle-credential HEX --oracle-key HEX] [--quiet]
environment: BLINDRELAY_LISTEN, BLINDRELAY_DATA, BLINDRELAY_POSTGRES, BLINDRELAY_ORACLE_URL,
             BLINDRELAY_ORACLE_CREDENTIAL, BLINDRELAY_CLOCK (conformance only)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_override_the_environment_and_secrets_are_hidden() {
        let env = |k: &str| match k {
            "BLINDRELAY_LISTEN" => Some("127.0.0.1:1".to_owned()),
            "BLINDRELAY_POSTGRES" => Some("postgres://u:hunter2@db/x".to_owned()),
            _ => None,
        };
        let c = Config::from_env_and_args(env, ["--listen".to_owned(), "127.0.0.1:2".to_owned()])
            .unwrap();
        assert_eq!(c.listen.port(), 2);
        assert_eq!(
            c.backend,
            Backend::Postgres("postgres://u:hunter2@db/x".to_owned())
        );
        assert!(!c.summary().contains("hunter2"));
        assert!(c.summary().contains("postgres://u:***@db/x"));
        assert!(Config::from_env_and_args(|_| None, ["--bogus".to_owned()]).is_err());
        let secret = "5a".repeat(32);
        let c = Config::from_env_and_args(
            |k| (k == "BLINDRELAY_ORACLE_CREDENTIAL").then(|| secret.clone()),
            [
                "--oracle-url".to_owned(),
                "http://127.0.0.1:8790".to_owned(),
                "--oracle-key".to_owned(),
                "7b".repeat(32),
            ],
        )
        .unwrap();
        assert_eq!(c.oracle.as_ref().unwrap().credential, [0x5a; 32]);
        assert_eq!(c.oracle.as_ref().unwrap().key, [0x7b; 32]);
        assert!(!c.summary().contains(&secret) && !format!("{c:?}").contains(&secret));
        assert!(c.summary().contains("oracle http://127.0.0.1:8790"));
        assert!(Config::from_env_and_args(|_| None, ["--oracle-url".into(), "x".into()]).is_err());
        assert!(Config::from_env_and_args(
            |_| None,
            [
                "--oracle-url".into(),
                "x".into(),
                "--oracle-credential".into(),
                "abc".into()
            ]
        )
        .is_err());
        assert!(Config::from_env_and_args(
            |k| (k == "BLINDRELAY_CLOCK").then(|| "x".to_owned()),
            []
        )
        .is_err());
    }
}
