//! The relay's log (spec §12.11): one line per request on standard error, with method,
//! route, status, code and duration, and start-up facts. Nothing a client sent (bodies,
//! capabilities, mailbox ids, addresses) is ever written.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

static ENABLED: AtomicBool = AtomicBool::new(true);
static SINK: Mutex<Option<Vec<u8>>> = Mutex::new(None);

/// Whether request lines are written.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Turns request lines on or off (benchmarks turn them off).
pub fn set_enabled(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// Captures every following line in memory instead of standard error (the relay-view test
/// reads them back with [`take_captured`]).
pub fn capture() {
    if let Ok(mut sink) = SINK.lock() {
        *sink = Some(Vec::new());
    }
}

/// The lines captured since [`capture`].
pub fn take_captured() -> Vec<u8> {
    SINK.lock()
        .ok()
        .and_then(|mut s| s.as_mut().map(std::mem::take))
        .unwrap_or_default()
}

/// Writes one line.
pub fn line(text: &str) {
    if let Ok(mut sink) = SINK.lock() {
        if let Some(buf) = sink.as_mut() {
            buf.extend_from_slice(text.as_bytes());
            buf.push(b'\n');
            return;
        }
    }
    let _ = writeln!(std::io::stderr(), "{text}");
}
