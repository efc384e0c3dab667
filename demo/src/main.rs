//! The end-to-end demo: three clients talk through the real blindrelay relay over HTTP
//! and WebSocket, the relay restarts mid-conversation, then everything it holds is listed
//! and checked. Exits non-zero on any error or if the relay-view check finds a leak.
//!
//! Run: `cargo run --release --bin relay_demo`
#![forbid(unsafe_code)]

use std::io::Write;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let dir = match tempfile::Builder::new()
        .prefix("blindrelay-demo-")
        .tempdir()
    {
        Ok(dir) => dir,
        Err(e) => {
            eprintln!("relay_demo: cannot create a temporary directory: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut out = std::io::stdout().lock();
    let result = blindrelay_demo::run(dir.path(), &mut out).await;
    let _ = out.flush();
    match result {
        Ok(report) if report.findings.is_empty() => ExitCode::SUCCESS,
        Ok(report) => {
            eprintln!(
                "relay_demo: the relay-view check found {} leak(s)",
                report.findings.len()
            );
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("relay_demo: {e}");
            ExitCode::FAILURE
        }
    }
}
