//! The binary asks for transparent huge pages for its heap (glibc's `glibc.malloc.hugetlb`
//! tunable, set by re-executing itself at start), and leaves an operator's own choice of
//! that tunable alone.

#![cfg(all(target_os = "linux", target_env = "gnu"))]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// Starts `floorwatch serve` with `tunables` as GLIBC_TUNABLES (unset: `None`), and returns
/// its start-up line and the GLIBC_TUNABLES the running process has.
fn serve(tunables: Option<&str>) -> (String, Option<String>) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_floorwatch"));
    cmd.args(["serve", "--no-journal", "--http", "127.0.0.1:0", "--tcp", "127.0.0.1:0"])
        .env("FLOORWATCH_LOG", "info")
        .env("NO_COLOR", "1")
        .env_remove("GLIBC_TUNABLES")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(t) = tunables {
        cmd.env("GLIBC_TUNABLES", t);
    }
    let mut child = cmd.spawn().expect("floorwatch binary");
    let line = BufReader::new(child.stderr.take().unwrap())
        .lines()
        .map(|l| l.unwrap())
        .find(|l| l.contains("floorwatch listening"))
        .expect("the start-up line");
    // The same process (the exec keeps its id), as the exec started it. glibc writes a
    // NUL over each ':' between tunables when it parses them, so the value is read up to
    // the next variable (a name with '=' but no '.' before it).
    let environ = std::fs::read(format!("/proc/{}/environ", child.id())).unwrap();
    let pieces: Vec<&str> = environ.split(|&b| b == 0).filter_map(|kv| std::str::from_utf8(kv).ok()).collect();
    let got = pieces.iter().position(|kv| kv.starts_with("GLIBC_TUNABLES=")).map(|i| {
        let rest = pieces[i + 1..].iter().take_while(|kv| kv.starts_with("glibc."));
        std::iter::once(&pieces[i]["GLIBC_TUNABLES=".len()..]).chain(rest.copied()).collect::<Vec<_>>().join(":")
    });
    child.kill().unwrap();
    child.wait().unwrap();
    (line, got)
}

#[test]
fn the_daemon_asks_for_huge_pages() {
    let (line, tunables) = serve(None);
    assert_eq!(tunables.as_deref(), Some("glibc.malloc.hugetlb=1"));
    assert!(line.contains("huge_pages=true"), "{line}");
}

#[test]
fn other_tunables_are_kept_beside_it() {
    let (line, tunables) = serve(Some("glibc.malloc.arena_max=2"));
    assert_eq!(tunables.as_deref(), Some("glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1"));
    assert!(line.contains("huge_pages=true"), "{line}");
}

#[test]
fn an_operator_can_turn_it_off() {
    let (line, tunables) = serve(Some("glibc.malloc.hugetlb=0"));
    assert_eq!(tunables.as_deref(), Some("glibc.malloc.hugetlb=0"));
    assert!(line.contains("huge_pages=false"), "{line}");
}
