//! `floorwatch check-config` checks what `serve` checks before binding and reports every
//! error, each naming its key; a good file gets a summary of what would run.

use std::process::Command;

fn check(toml: &str) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("floor.toml");
    std::fs::write(&path, toml).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_floorwatch")).arg("check-config").arg(&path).output().unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (out.status.code().unwrap_or(-1), text(out.stdout), text(out.stderr))
}

#[test]
fn every_error_is_named_and_the_summary_says_what_would_run() {
    let (code, _, err) = check(
        "[server]\nhttp = \"127.0.0.1:99999\"\nallowed_hosts = [\"floor.example.com:8080\"]\n\
         [floor]\nmin_team = 0\n[journal]\ndir = \"/proc/floorwatch-cannot-be-here\"\n\
         [[hooks]]\nkind = \"slack\"\nurl = \"ftp://x.invalid/t\"\n",
    );
    assert_ne!(code, 0);
    for key in ["server.http:", "floor.min_team:", "server.allowed_hosts[0]:", "hooks[0].url:", "journal.dir:"] {
        assert!(err.contains(key), "{key} not reported:\n{err}");
    }

    let (code, out, err) = check("[auth]\ningest_token = \"s3cret\"\n[journal]\nenabled = false\n");
    assert_eq!(code, 0, "{err}");
    for line in ["listeners: http 0.0.0.0:8080, tcp 0.0.0.0:7070", "journal: off", "auth: ingest token required"] {
        assert!(out.contains(line), "{line:?} not in:\n{out}");
    }
    assert!(!out.contains("s3cret"), "the token itself is never printed");
}
