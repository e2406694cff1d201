//! `floorwatch send` against a daemon that goes away mid-file: it says what was applied
//! before, and from which line to resend.

use std::process::Command;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Answers one HTTP request with `answer` and then stops listening (the next batch's
/// connection is refused, as by a daemon that was stopped).
async fn answer_once(answer: &'static str) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        drop(listener);
        let mut req = Vec::new();
        let mut buf = [0u8; 4096];
        // The headers, then the body of the length they give.
        loop {
            let n = s.read(&mut buf).await.unwrap();
            req.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&req).to_string();
            if let Some(end) = text.find("\r\n\r\n") {
                let len = text[..end]
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap())
                    })
                    .unwrap_or(0);
                if req.len() >= end + 4 + len {
                    break;
                }
            }
            assert!(n > 0, "the client went away");
        }
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            answer.len()
        );
        s.write_all(head.as_bytes()).await.unwrap();
        s.write_all(answer.as_bytes()).await.unwrap();
        s.shutdown().await.unwrap();
    });
    addr
}

#[tokio::test]
async fn a_send_cut_off_says_what_was_applied_and_where_to_resend_from() {
    let addr = answer_once(r#"{"applied":2,"duplicate":0,"late":0,"invalid":0,"skewed":0,"errors":[]}"#).await;
    let dir = std::env::temp_dir().join(format!("fw-send-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("events.ndjson");
    let lines: Vec<String> = (1..=4)
        .map(|i| format!(r#"{{"agent":"A{i}","state":"idle","team":"T1","ts":"2026-11-23T09:00:0{i}Z"}}"#))
        .collect();
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_floorwatch"))
            .args(["send", file.to_str().unwrap(), "--batch", "2", "--http", &format!("http://{addr}")])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("before that, 2 events sent over HTTP: applied 2, duplicate 0, late 0, invalid 0, skewed 0; resend from line 3"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
