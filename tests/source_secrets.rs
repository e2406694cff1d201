//! No platform secret reaches the log: the real binary, logging at `trace`, with an
//! `asterisk` and a `freeswitch` source whose secrets are distinctive strings, each
//! pointed at a fake platform that refuses the first login and accepts the second. Its
//! whole stdout and stderr must hold neither secret, and must say clearly that each login
//! was refused.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

const AMI_SECRET: &str = "ami-S3cr3t-7f1c9e0d";
const ESL_PASSWORD: &str = "esl-P4ss-b2d8a1c3";

/// Logins seen and accepted by one fake platform.
#[derive(Default)]
struct Logins {
    seen: AtomicUsize,
    accepted: AtomicUsize,
}

/// Reads lines up to a blank line; `None` at EOF.
async fn block(r: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> Option<Vec<String>> {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        let line = line.trim_end().to_string();
        if line.is_empty() {
            if lines.is_empty() {
                continue;
            }
            return Some(lines);
        }
        lines.push(line);
    }
}

/// A fake AMI: the first Login is refused, later ones accepted; QueueStatus is empty.
async fn fake_ami() -> (std::net::SocketAddr, Arc<Logins>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let logins = Arc::new(Logins::default());
    let l2 = logins.clone();
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            let logins = l2.clone();
            tokio::spawn(async move {
                let (r, mut w) = s.into_split();
                let mut r = BufReader::new(r);
                let _ = w.write_all(b"Asterisk Call Manager/11.0.0\r\n").await;
                while let Some(lines) = block(&mut r).await {
                    let get = |k: &str| {
                        lines.iter().find_map(|l| l.strip_prefix(&format!("{k}: "))).unwrap_or("").to_string()
                    };
                    let id = get("ActionID");
                    match get("Action").as_str() {
                        "Login" => {
                            assert_eq!(get("Secret"), AMI_SECRET);
                            if logins.seen.fetch_add(1, Ordering::SeqCst) == 0 {
                                let no = format!(
                                    "Response: Error\r\nActionID: {id}\r\nMessage: Authentication failed\r\n\r\n"
                                );
                                let _ = w.write_all(no.as_bytes()).await;
                                return;
                            }
                            logins.accepted.fetch_add(1, Ordering::SeqCst);
                            let ok = format!(
                                "Response: Success\r\nActionID: {id}\r\nMessage: Authentication accepted\r\n\r\n"
                            );
                            let _ = w.write_all(ok.as_bytes()).await;
                        }
                        "QueueStatus" => {
                            let ok = format!(
                                "Response: Success\r\nActionID: {id}\r\nEventList: start\r\n\r\nEvent: QueueStatusComplete\r\nActionID: {id}\r\n\r\n"
                            );
                            let _ = w.write_all(ok.as_bytes()).await;
                        }
                        _ => {}
                    }
                }
            });
        }
    });
    (addr, logins)
}

/// A fake event socket: the first `auth` is refused, later ones accepted; the lists are
/// empty.
async fn fake_esl() -> (std::net::SocketAddr, Arc<Logins>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let logins = Arc::new(Logins::default());
    let l2 = logins.clone();
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            let logins = l2.clone();
            tokio::spawn(async move {
                let (r, mut w) = s.into_split();
                let mut r = BufReader::new(r);
                let _ = w.write_all(b"Content-Type: auth/request\n\n").await;
                while let Some(lines) = block(&mut r).await {
                    let cmd = lines[0].as_str();
                    if let Some(given) = cmd.strip_prefix("auth ") {
                        assert_eq!(given, ESL_PASSWORD);
                        if logins.seen.fetch_add(1, Ordering::SeqCst) == 0 {
                            let _ = w.write_all(b"Content-Type: command/reply\nReply-Text: -ERR invalid\n\n").await;
                            return;
                        }
                        logins.accepted.fetch_add(1, Ordering::SeqCst);
                        let _ = w.write_all(b"Content-Type: command/reply\nReply-Text: +OK accepted\n\n").await;
                    } else if cmd.starts_with("event ") {
                        let _ = w
                            .write_all(b"Content-Type: command/reply\nReply-Text: +OK event listener enabled plain\n\n")
                            .await;
                    } else if cmd.starts_with("api ") {
                        let _ = w.write_all(b"Content-Type: api/response\nContent-Length: 4\n\n+OK\n").await;
                    }
                }
            });
        }
    });
    (addr, logins)
}

#[tokio::test]
async fn no_secret_reaches_the_log_at_trace() {
    let (ami, ami_logins) = fake_ami().await;
    let (esl, esl_logins) = fake_esl().await;
    let dir = tempfile::tempdir().unwrap();
    // The AMI secret from a file, the ESL password inline: both resolution paths.
    std::fs::write(dir.path().join("ami.secret"), format!("{AMI_SECRET}\n")).unwrap();
    let config = dir.path().join("floorwatch.toml");
    std::fs::write(
        &config,
        format!(
            "[[sources]]\nkind = \"asterisk\"\naddr = \"{ami}\"\nusername = \"floorwatch\"\nsecret_file = \"ami.secret\"\n\n\
             [[sources]]\nkind = \"freeswitch\"\naddr = \"{esl}\"\npassword = \"{ESL_PASSWORD}\"\n"
        ),
    )
    .unwrap();
    let (stdout, stderr) = (dir.path().join("stdout"), dir.path().join("stderr"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_floorwatch"))
        .args(["serve", "--no-journal", "--http", "127.0.0.1:0", "--tcp", "127.0.0.1:0", "--config"])
        .arg(&config)
        .env("FLOORWATCH_LOG", "trace")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout).unwrap())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .expect("floorwatch binary");
    for _ in 0..400 {
        if ami_logins.accepted.load(Ordering::SeqCst) >= 1 && esl_logins.accepted.load(Ordering::SeqCst) >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    // Let the sessions log what follows a login (lists, subscriptions, ticks).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let _ = child.wait();
    assert!(ami_logins.seen.load(Ordering::SeqCst) >= 2 && ami_logins.accepted.load(Ordering::SeqCst) >= 1);
    assert!(esl_logins.seen.load(Ordering::SeqCst) >= 2 && esl_logins.accepted.load(Ordering::SeqCst) >= 1);
    let log = std::fs::read_to_string(&stderr).unwrap() + &std::fs::read_to_string(&stdout).unwrap();
    assert!(log.lines().count() > 10, "the trace log is there: {log}");
    for secret in [AMI_SECRET, ESL_PASSWORD] {
        assert!(!log.contains(secret), "{secret} in the log:\n{log}");
        // Nor a recognisable part of it.
        assert!(!log.contains(&secret[4..12]), "part of {secret} in the log");
    }
    // The refusals are said plainly, naming the source and the account, once each.
    for (kind, who) in [("asterisk", "user \"floorwatch\""), ("freeswitch", "the event socket")] {
        let refused: Vec<&str> =
            log.lines().filter(|l| l.contains(&format!("{kind} source: login refused")) && l.contains(who)).collect();
        assert_eq!(refused.len(), 1, "{kind}: {refused:?}\n{log}");
        assert!(refused[0].contains("ERROR"), "{}", refused[0]);
    }
    assert!(log.contains("freeswitch source authenticated"), "{log}");
    assert!(log.contains("asterisk source logged in"), "{log}");
}
