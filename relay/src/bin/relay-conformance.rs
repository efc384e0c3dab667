//! `relay-conformance URL [relay.json]`: replays the relay transcript of the conformance
//! vectors (spec §12.12) against a running relay started fresh with the transcript's clock
//! (`BLINDRELAY_CLOCK`). Exits non-zero on the first run with a mismatch.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(base) = args.next() else {
        eprintln!("usage: relay-conformance URL [test-vectors/relay.json]");
        return ExitCode::from(2);
    };
    let path = args
        .next()
        .unwrap_or_else(|| "test-vectors/relay.json".to_owned());
    let document = match std::fs::read_to_string(&path) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("{path}: {e}");
            return ExitCode::from(2);
        }
    };
    let (clock, steps) = match blindrelay_relay::conformance::transcript(&document) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{path}: {e}");
            return ExitCode::from(2);
        }
    };
    println!(
        "replaying {} steps (the relay must run with BLINDRELAY_CLOCK={clock})",
        steps.len()
    );
    match blindrelay_relay::conformance::replay(&base, &steps).await {
        Ok(m) if m.is_empty() => {
            println!(
                "relay transcript: {} of {} steps match",
                steps.len(),
                steps.len()
            );
            ExitCode::SUCCESS
        }
        Ok(m) => {
            for x in &m {
                println!("step {} ({}): {}", x.step, x.comment, x.detail);
            }
            println!(
                "relay transcript: {} of {} steps differ",
                m.len(),
                steps.len()
            );
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("relay-conformance: {e}");
            ExitCode::FAILURE
        }
    }
}
