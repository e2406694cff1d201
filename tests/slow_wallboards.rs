//! 1,000 wallboard readers that never read while ingest runs at full speed (issue 6):
//! ingest keeps its rate, the readers are skipped (and counted). In its own test binary
//! so that no other test shares the machine while rates are measured.

mod common;

use std::time::{Duration, Instant};

use common::{Daemon, metric};
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// Raises the soft limit of open files to the hard one: this test holds 2,000 sockets.
fn raise_nofile() {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: plain syscalls on a valid struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// Sends `rounds` × 10,000 events over one TCP connection as fast as the socket takes
/// them and returns the rate at which the daemon applied them (events/s).
async fn ingest_rate(d: &Daemon, agents: usize, rounds: usize, ts0: i64) -> f64 {
    let before = d.get_json("/api/v1/snapshot?agents=false").await["ingest"]["applied"].as_u64().unwrap();
    let mut s = TcpStream::connect(d.tcp).await.unwrap();
    let start = Instant::now();
    let mut ts = ts0;
    for _ in 0..rounds {
        let mut buf = String::with_capacity(10_000 * 80);
        for i in 0..10_000 {
            ts += 1;
            let state = if (ts / agents as i64) % 2 == 0 { "idle" } else { "talking" };
            buf.push_str(&format!("{{\"ts\":{ts},\"agent\":\"A{}\",\"state\":\"{state}\"}}\n", i % agents));
        }
        s.write_all(buf.as_bytes()).await.unwrap();
    }
    let want = before + (rounds * 10_000) as u64;
    loop {
        let got = d.get_json("/api/v1/snapshot?agents=false").await["ingest"]["applied"].as_u64().unwrap();
        if got >= want {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "ingest stalled at {got} of {want}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    (rounds * 10_000) as f64 / start.elapsed().as_secs_f64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_slow_wallboards_do_not_slow_ingest() {
    raise_nofile();
    let d = Daemon::start("[server]\nclock = \"event\"\npush_interval_ms = 50\n").await;
    // Teams for the frames; every event changes the floor so every tick has a delta.
    let mut setup = String::new();
    for i in 0..300 {
        setup.push_str(&format!("{{\"ts\":1,\"agent\":\"A{i}\",\"state\":\"idle\",\"team\":\"T{}\"}}\n", i % 30));
    }
    let mut s = TcpStream::connect(d.tcp).await.unwrap();
    s.write_all(setup.as_bytes()).await.unwrap();
    d.wait_outcomes(300).await;
    // One wallboard that reads, in both measurements: the push loop works in both, and
    // the comparison is about the silent ones only.
    let (reader, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws", d.http)).await.unwrap();
    let reading = tokio::spawn(reader.for_each(|_| async {}));
    // Best of five for each: other work on the machine only ever lowers a rate.
    let mut baseline: f64 = 0.0;
    for run in 0..5 {
        baseline = baseline.max(ingest_rate(&d, 300, 20, 1_000 + run * 300_000).await);
    }

    // 1,000 wallboards that read nothing, with tiny receive buffers so that the kernel
    // holds little for them: their queues fill at once.
    let mut readers = Vec::new();
    for i in 0..1000 {
        let sock = tokio::net::TcpSocket::new_v4().unwrap();
        sock.set_recv_buffer_size(4096).unwrap();
        let stream = sock.connect(d.http).await.unwrap();
        let team = if i % 2 == 0 { String::new() } else { format!("?team=T{}", i % 30) };
        let (ws, _) = tokio_tungstenite::client_async(format!("ws://{}/ws{team}", d.http), stream).await.unwrap();
        readers.push(ws);
    }
    for i in 0.. {
        if metric(&d.metrics().await, "floorwatch_ws_clients") == Some(1001.0) {
            break;
        }
        assert!(i < 400, "1,000 wallboards never registered");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    // First the silent wallboards become slow readers: keep the floor changing, with long
    // names so frames are large, until the silent
    // wallboards' sockets are full and their queues too: from then on each tick skips
    // them (counted), instead of buffering frames for them. The kernel absorbs a few
    // hundred KB per socket first; how much varies, hence a deadline rather than a time.
    let mut ts = 2_000_000;
    let name = "n".repeat(200);
    let start = Instant::now();
    let mut skipped = 0.0;
    while skipped < 1000.0 {
        assert!(start.elapsed() < Duration::from_secs(40), "silent wallboards skipped only {skipped} times");
        for _ in 0..10 {
            let mut buf = String::new();
            for i in 0..300 {
                ts += 1;
                let state = if (ts / 300) % 2 == 0 { "idle" } else { "acw" };
                buf.push_str(&format!(
                    "{{\"ts\":{ts},\"agent\":\"A{i}\",\"state\":\"{state}\",\"name\":\"{name}\"}}\n"
                ));
            }
            s.write_all(buf.as_bytes()).await.unwrap();
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        skipped = metric(&d.metrics().await, "floorwatch_ws_clients_skipped_total").unwrap();
    }
    eprintln!("silent wallboards skipped {skipped} times after {:?}", start.elapsed());
    // Then ingest at full speed while every tick meets 1,000 full queues. (Before their
    // sockets fill, the kernel still takes their frames: they are not slow readers yet.)
    let mut loaded: f64 = 0.0;
    for run in 0..5 {
        let r = ingest_rate(&d, 300, 20, ts + 1 + run * 300_000).await;
        eprintln!("loaded run {run}: {r:.0}");
        loaded = loaded.max(r);
    }
    eprintln!("ingest: {baseline:.0} events/s alone, {loaded:.0} events/s with 1,000 silent wallboards");
    assert!(
        loaded >= 0.5 * baseline,
        "ingest slowed from {baseline:.0} to {loaded:.0} events/s by 1,000 silent wallboards"
    );
    drop(readers);
    reading.abort();
    d.stop().await;
}
