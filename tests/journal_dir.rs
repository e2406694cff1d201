//! Where `serve` journals: the shipped config's relative `dir = "data"` overridden by
//! FLOORWATCH_JOURNAL_DIR (what the systemd unit sets) or `--journal-dir`, and the start-up
//! log saying which directory it is (deploy/systemd/README.md).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Starts `floorwatch serve` on loopback port 0 in `cwd`; returns it and its log up to
/// "floorwatch listening".
fn serve(cwd: &Path, args: &[&str], env: Option<&str>) -> (Child, Vec<String>) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_floorwatch"));
    cmd.current_dir(cwd)
        .args(["serve", "--http", "127.0.0.1:0", "--tcp", "127.0.0.1:0"])
        .args(args)
        .env_remove("FLOORWATCH_JOURNAL_DIR")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(dir) = env {
        cmd.env("FLOORWATCH_JOURNAL_DIR", dir);
    }
    let mut child = cmd.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut log = Vec::new();
    while let Ok(line) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        let done = line.contains("floorwatch listening");
        log.push(line);
        if done {
            return (child, log);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the daemon did not start: {log:#?}");
}

fn stop(mut child: Child) {
    // SIGTERM: a graceful stop, as systemd does; SIGKILL if it takes too long.
    terminate(child.id());
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn terminate(pid: u32) {
    let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).status();
}

fn journal_line(log: &[String]) -> &str {
    log.iter()
        .find(|l| l.contains(" journal: "))
        .map(String::as_str)
        .unwrap_or_else(|| panic!("no journal line: {log:#?}"))
}

#[test]
fn the_environment_and_the_flag_override_the_configured_dir_and_the_log_says_where() {
    let tmp = tempfile::tempdir().unwrap();
    let root = std::path::absolute(tmp.path()).unwrap();
    // /etc/floorwatch as shipped: `dir = "data"`, relative to the config file.
    let etc = root.join("etc");
    std::fs::create_dir(&etc).unwrap();
    std::fs::write(etc.join("floorwatch.toml"), "[journal]\ndir = \"data\"\n").unwrap();
    let config = etc.join("floorwatch.toml");
    let config = config.to_str().unwrap();

    // The unit: FLOORWATCH_JOURNAL_DIR = its state directory.
    let state = root.join("state");
    let (child, log) = serve(&root, &["--config", config], Some(state.to_str().unwrap()));
    let line = journal_line(&log).to_string();
    stop(child);
    assert!(line.ends_with(&format!("journal: {} (from FLOORWATCH_JOURNAL_DIR)", state.display())), "{line}");
    assert!(state.join("LOCK").exists(), "the journal is in the state directory");
    assert!(!etc.join("data").exists(), "nothing is written beside the config");

    // --journal-dir, relative to the current directory; it wins over the variable and over
    // a journal.dir the config chose, and the log says so.
    std::fs::write(etc.join("floorwatch.toml"), "[journal]\ndir = \"/nonexistent/fw\"\n").unwrap();
    let (child, log) = serve(&root, &["--config", config, "--journal-dir", "here"], Some(state.to_str().unwrap()));
    let line = journal_line(&log).to_string();
    stop(child);
    let here = root.join("here");
    let want = format!("journal: {} (from --journal-dir, overriding journal.dir = \"/nonexistent/fw\"", here.display());
    assert!(line.contains(&want), "{line}");
    assert!(here.join("LOCK").exists());

    // No config, no flag: the current directory's data/, said out loud.
    let (child, log) = serve(&root, &[], None);
    let line = journal_line(&log).to_string();
    stop(child);
    assert!(
        line.contains(&format!(
            "journal: {} (journal.dir = \"data\", relative to the current directory",
            root.join("data").display()
        )),
        "{line}"
    );
}

/// A daemon started while the previous one still holds the journal's lock (a supervisor
/// restarting it at once) waits for the lock, says so, and starts once it is released.
#[test]
fn a_start_waits_for_the_previous_daemons_lock() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    let lock = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(state.join("LOCK")).unwrap();
    lock.try_lock().unwrap();
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(800));
        drop(lock);
    });
    let t = Instant::now();
    let (mut child, log) = serve(dir.path(), &["--journal-dir", state.to_str().unwrap()], None);
    release.join().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(t.elapsed() >= Duration::from_millis(800), "it started before the lock was released: {log:?}");
    assert!(log.iter().any(|l| l.contains("journal.dir is locked")), "{log:?}");
}

/// A journal path that is a file is refused saying so (it said "File exists (os error 17)").
#[test]
fn a_journal_path_that_is_a_file_is_refused_saying_so() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state");
    std::fs::write(&file, "not a directory").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_floorwatch"))
        .current_dir(dir.path())
        .args(["serve", "--http", "127.0.0.1:0", "--tcp", "127.0.0.1:0", "--journal-dir", "state"])
        .env_remove("FLOORWATCH_JOURNAL_DIR")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("state: is a file, not a directory") && err.contains("journal.dir: journal directory "),
        "{err}"
    );
}
