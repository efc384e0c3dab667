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
    // `relay_demo --serve-oracle DIR CREDENTIAL`: the oracle child process of the ch2 part.
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(blindrelay_demo::ch2::SERVE_ORACLE) {
        let (Some(dir), Some(credential)) = (args.get(2), args.get(3)) else {
            eprintln!("relay_demo: --serve-oracle DIR CREDENTIAL");
            return ExitCode::from(2);
        };
        return match blindrelay_demo::ch2::serve_oracle(std::path::Path::new(dir), credential).await
        {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("relay_demo (oracle): {e}");
                ExitCode::FAILURE
            }
        };
    }
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
    let ch2 = match (&result, std::env::current_exe()) {
        (Ok(report), Ok(exe)) if report.findings.is_empty() => {
            blindrelay_demo::ch2::run(dir.path(), &mut out, &exe).await
        }
        (_, Err(e)) => Err(blindrelay_demo::DemoError(format!(
            "this binary's path: {e}"
        ))),
        _ => Ok(()),
    };
    let _ = out.flush();
    if let Err(e) = ch2 {
        eprintln!("relay_demo: ch2: {e}");
        return ExitCode::FAILURE;
    }
    if matches!(&result, Ok(report) if report.findings.is_empty()) {
        let group = blindrelay_demo::group::run(dir.path(), &mut out).await;
        let _ = out.flush();
        if let Err(e) = group {
            eprintln!("relay_demo: groups: {e}");
            return ExitCode::FAILURE;
        }
    }
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
