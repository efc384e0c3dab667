//! The conformance runner CLI: `generate`, `verify`, `check`, `verify-file`, `corpus`,
//! `drive [--dir DIR] -- COMMAND [ARGS...]`.
//! See `test-vectors/README.md`.

use blindrelay_conformance::{default_dir, render, verifier_for, verify_dir, verify_file, FILES};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cmd = args.first().map(String::as_str).unwrap_or("verify");
    let dir = args.get(1).map(PathBuf::from).unwrap_or_else(default_dir);
    match cmd {
        "generate" => {
            std::fs::create_dir_all(&dir).expect("create vector directory");
            for (gen, _) in FILES {
                let (name, v) = gen();
                std::fs::write(dir.join(&name), render(&v)).expect("write vector file");
                println!("wrote {}", dir.join(&name).display());
            }
            ExitCode::SUCCESS
        }
        "verify" => verify_dir(&dir),
        "drive" => drive(&args[1..]),
        "corpus" => {
            let dir = args
                .get(1)
                .map(PathBuf::from)
                .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus"));
            match blindrelay_conformance::write_corpus(&dir) {
                Ok(n) => {
                    println!("wrote {n} seed files under {}", dir.display());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("corpus: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        "check" => {
            let mut stale = 0;
            for (gen, _) in FILES {
                let (name, v) = gen();
                let committed = std::fs::read_to_string(dir.join(&name)).unwrap_or_default();
                if committed != render(&v) {
                    println!("{name}: differs from the generator's output (run `cargo run -p blindrelay-conformance -- generate`)");
                    stale += 1;
                } else {
                    println!("{name}: reproduced byte for byte");
                }
            }
            if stale == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        "verify-file" => {
            let Some(path) = args.get(1) else {
                eprintln!("usage: verify-file PATH");
                return ExitCode::from(2);
            };
            let name = Path::new(path)
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("")
                .to_string();
            let Some(ver) = verifier_for(&name) else {
                eprintln!("no verifier for {name}");
                return ExitCode::from(2);
            };
            let text = std::fs::read_to_string(path).expect("read file");
            let (pass, fail) = verify_file(&name, &text, ver);
            println!("{name}: {pass} passed, {fail} failed");
            if fail == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        _ => {
            eprintln!(
                "usage: blindrelay-conformance [generate|verify|check|verify-file|corpus] [DIR|FILE]\n       blindrelay-conformance drive [--dir DIR] -- COMMAND [ARGS...]"
            );
            ExitCode::from(2)
        }
    }
}

/// `drive [--dir DIR] -- COMMAND [ARGS...]`: runs every vector file in DIR against the
/// adapter COMMAND (the JSON-lines protocol of `test-vectors/README.md`).
fn drive(args: &[String]) -> ExitCode {
    let mut dir = default_dir();
    let mut command = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--dir" => match it.next() {
                Some(d) => dir = PathBuf::from(d),
                None => {
                    eprintln!("drive: --dir needs a directory");
                    return ExitCode::from(2);
                }
            },
            "--" => {
                command.extend(it.by_ref().cloned());
            }
            _ => {
                command.push(a.clone());
                command.extend(it.by_ref().cloned());
            }
        }
    }
    if command.is_empty() {
        eprintln!("usage: blindrelay-conformance drive [--dir DIR] -- COMMAND [ARGS...]");
        return ExitCode::from(2);
    }
    match blindrelay_conformance::driver::drive_dir(&dir, &command) {
        Ok(reports) if reports.iter().all(|r| r.fail == 0) && !reports.is_empty() => {
            ExitCode::SUCCESS
        }
        Ok(_) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("drive: {e}");
            ExitCode::FAILURE
        }
    }
}
