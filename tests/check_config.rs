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
         [aht_chart]\ninterval_mins = 0\nmin_contacts = 0\nbaseline_points = 0\nhistory_days = 0\n\
         [[hooks]]\nkind = \"slack\"\nurl = \"ftp://x.invalid/t\"\n\
         [limits]\nmax_body_bytes_in_flight = 1048576\nmax_alerts = 0\n",
    );
    assert_ne!(code, 0);
    // A budget of bodies in flight smaller than one body the roster may send.
    assert!(
        err.contains(
            "limits.max_body_bytes_in_flight: must be at least limits.max_body_bytes (16777216), roster.max_bytes \
             (67108864) and limits.max_frame_bytes (4194304)"
        ),
        "{err}"
    );
    for key in [
        "server.http:",
        "floor.min_team:",
        "server.allowed_hosts[0]:",
        "hooks[0].url:",
        "journal.dir:",
        "aht_chart.interval_mins:",
        "aht_chart.min_contacts:",
        "aht_chart.baseline_points:",
        "aht_chart.history_days:",
        "limits.max_alerts:",
    ] {
        assert!(err.contains(key), "{key} not reported:\n{err}");
    }

    let (code, out, err) =
        check("[auth]\ningest_token = \"s3cret\"\nviewer_token = \"v13w\"\n[journal]\nenabled = false\n");
    assert_eq!(code, 0, "{err}");
    for line in [
        "listeners: http 0.0.0.0:8080, tcp 0.0.0.0:7070",
        "journal: off",
        "auth: ingest token required",
        "AHT chart: 15m and day points of at least 5 contacts, baseline of 20 points, 45 days kept",
    ] {
        assert!(out.contains(line), "{line:?} not in:\n{out}");
    }
    assert!(!out.contains("s3cret") && !out.contains("v13w"), "tokens are never printed");
}

/// A hook writes clock times in the floor's zone unless it names its own (it wrote UTC:
/// "fired 05:20" for 01:20 on a New York floor).
#[test]
fn hooks_write_times_in_the_floors_zone_unless_they_name_theirs() {
    let (code, out, err) = check(
        "[server]\nhttp = \"127.0.0.1:8080\"\ntcp = \"127.0.0.1:7070\"\n[floor]\ntimezone = \"America/New_York\"\n\
         [[hooks]]\nkind = \"slack\"\nurl = \"https://hooks.slack.invalid/x\"\n\
         [[hooks]]\nkind = \"wecom\"\nurl = \"https://qyapi.invalid/x\"\nlang = \"zh\"\ntimezone = \"Asia/Shanghai\"\n",
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("hooks: slack (en, times in America/New_York), wecom (zh, times in Asia/Shanghai)"), "{out}");
}

/// Serving open to the network is the operator's choice, not a default: refused without
/// tokens or `auth.open = true`; loopback needs neither.
/// The file as an argument, or as `serve` and `replay` take it (`--config`, `-c`); not both.
#[test]
fn the_file_is_taken_as_serve_takes_it_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("floor.toml");
    std::fs::write(&path, "[floor]\nmin_team = 0\n").unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_floorwatch")).arg("check-config").args(args).output().unwrap();
        (out.status.code().unwrap_or(-1), String::from_utf8(out.stderr).unwrap())
    };
    let file = path.to_str().unwrap();
    for args in [vec![file], vec!["--config", file], vec!["-c", file]] {
        let (code, err) = run(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains("floor.min_team:") && !err.contains("Usage:"), "{args:?} checked the file:\n{err}");
    }
    for args in [vec![], vec![file, "--config", file]] {
        let (code, err) = run(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(
            err.contains("Usage: floorwatch check-config") && !err.contains("min_team"),
            "{args:?}: a usage error, {err}"
        );
    }
}

#[test]
fn open_on_the_network_needs_a_choice() {
    let (code, _, err) = check("[journal]\nenabled = false\n");
    assert_ne!(code, 0);
    assert!(err.contains("auth.open: anyone who can reach 0.0.0.0:8080 can send events and read the floor"), "{err}");
    let (code, out, err) = check("[auth]\nopen = true\n[journal]\nenabled = false\n");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("open on purpose"), "{out}");
    let (code, _, err) =
        check("[server]\nhttp = \"127.0.0.1:8080\"\ntcp = \"127.0.0.1:7070\"\n[journal]\nenabled = false\n");
    assert_eq!(code, 0, "loopback needs no choice: {err}");
}

/// `serve` refuses the same before it binds anything.
#[test]
fn serve_refuses_to_run_open_by_accident() {
    let out = Command::new(env!("CARGO_BIN_EXE_floorwatch"))
        .args(["serve", "--no-journal", "--http", "0.0.0.0:0", "--tcp", "0.0.0.0:0"])
        .env("FLOORWATCH_LOG", "error")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("auth.open: anyone who can reach 0.0.0.0:0 can send events and read the floor"), "{err}");
}

/// Open on purpose: the board says so (the page shows "Open: no token"); on loopback it
/// does not.
#[tokio::test]
async fn an_open_board_says_so() {
    for (bind, open) in [("0.0.0.0:0", true), ("127.0.0.1:0", false)] {
        // Journal off: its default directory is shared with anything else run from here.
        let file =
            floorwatch::config::FileConfig::parse("[auth]\nopen = true\n[journal]\nenabled = false\n", "t").unwrap();
        let config = file.validate(std::path::Path::new(".")).unwrap();
        let http = tokio::net::TcpListener::bind(bind).await.unwrap();
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = http.local_addr().unwrap().port();
        let shutdown = tokio_util::sync::CancellationToken::new();
        let run = floorwatch::server::run_config(
            config,
            floorwatch::server::Listeners { http, tcp },
            false,
            shutdown.clone(),
        );
        let handle = tokio::spawn(run);
        let mut board = serde_json::Value::Null;
        for _ in 0..500 {
            assert!(!handle.is_finished(), "{bind}: the daemon stopped: {:?}", handle.await);
            if let Ok(r) = reqwest::get(format!("http://127.0.0.1:{port}/api/v1/board")).await {
                board = r.json().await.unwrap();
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(board["config"]["open"], open, "{bind}: {}", board["config"]);
        shutdown.cancel();
        let _ = handle.await;
    }
}

/// `[[sources]]` (SPEC §7): errors name `sources[i].key`; a good entry is shown, never its
/// secret.
#[test]
fn sources_are_checked_and_shown_without_their_secret() {
    let (code, _, err) = check("[[sources]]\nkind = \"asterisk\"\naddr = \"nowhere\"\n[[sources]]\nkind = \"avaya\"\n");
    assert_ne!(code, 0);
    for key in ["sources[0].addr:", "sources[0].username:", "sources[0].secret:", "sources[1].kind:"] {
        assert!(err.contains(key), "{key} not reported:\n{err}");
    }
    let (code, out, err) = check(
        "[server]\nhttp = \"127.0.0.1:8080\"\ntcp = \"127.0.0.1:7070\"\n[journal]\nenabled = false\n\
         [[sources]]\nkind = \"asterisk\"\naddr = \"pbx.example:5038\"\nusername = \"fw\"\nsecret = \"hunter2\"\nwrapup_secs = 15\n\
         [[sources]]\nkind = \"freeswitch\"\naddr = \"fs.example:8021\"\npassword = \"hunter3\"\n",
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("sources: tcp, ws, http; asterisk (asterisk AMI pbx.example:5038 as fw, wrap-up 15 s), freeswitch (freeswitch ESL fs.example:8021, default wrap-up 0 s)"),
        "{out}"
    );
    for secret in ["hunter2", "hunter3"] {
        assert!(!out.contains(secret) && !err.contains(secret));
    }
    // The pushed kinds: shown with their route, never their key or token.
    let (code, out, err) = check(
        "[server]\nhttp = \"127.0.0.1:8080\"\ntcp = \"127.0.0.1:7070\"\n[journal]\nenabled = false\n\
         [[sources]]\nkind = \"connect\"\naccess_key = \"fh-hunter3\"\n\
         [[sources]]\nkind = \"twilio\"\nauth_token = \"tw-hunter4\"\npublic_url = \"https://fw.example.com/api/v1/sources/twilio\"\n",
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("connect (connect: POST /api/v1/sources/connect"), "{out}");
    assert!(out.contains("twilio (twilio: POST /api/v1/sources/twilio signed for https://fw.example.com/"), "{out}");
    assert!(!out.contains("hunter") && !err.contains("hunter"));
    let (code, _, err) = check("[[sources]]\nkind = \"twilio\"\nauth_token = \"t\"\n");
    assert!(code != 0 && err.contains("sources[0].public_url:"), "{err}");
}

/// A `genesys` source: its keys are checked by name, and it is shown by region and client,
/// never with its client secret.
#[test]
fn a_genesys_source_is_checked_and_shown_without_its_secret() {
    let (code, _, err) = check("[[sources]]\nkind = \"genesys\"\naddr = \"h:1\"\nqueues = []\n");
    assert_ne!(code, 0);
    for key in [
        "sources[0].addr:",
        "sources[0].region:",
        "sources[0].client_id:",
        "sources[0].client_secret:",
        "sources[0].queues:",
    ] {
        assert!(err.contains(key), "{key} not reported:\n{err}");
    }
    let (code, out, err) = check(
        "[server]\nhttp = \"127.0.0.1:8080\"\ntcp = \"127.0.0.1:7070\"\n[journal]\nenabled = false\n\
         [[sources]]\nkind = \"genesys\"\nregion = \"mypurecloud.de\"\nclient_id = \"cid-1\"\nclient_secret = \"hunter2-genesys\"\nqueues = [\"Support\"]\n",
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("genesys (genesys https://api.mypurecloud.de as client cid-1, queues Support)"), "{out}");
    assert!(!out.contains("hunter2") && !err.contains("hunter2"));
}

/// `[cluster]`: each bad key named; a good one summarized; a roster file refused beside it.
#[test]
fn cluster_keys_are_checked_and_summarized() {
    let (code, _, err) = check(
        "[auth]\nopen = true\n[cluster]\nnats = [\"http://x:4222\", \"nats://127.0.0.1:4222\"]\nstream = \"a.b\"\n\
         sites = [\"ok\", \"no spaces\"]\nreplicas = 2\nlease_secs = 0\nretention_hours = 0\n\
         [roster]\nfile = \"roster.csv\"\n",
    );
    assert_ne!(code, 0);
    for key in [
        "cluster.nats[0]:",
        "cluster.stream:",
        "cluster.site:",
        "cluster.sites[1]:",
        "cluster.replicas:",
        "cluster.lease_secs:",
        "cluster.retention_hours:",
        "roster.file:",
    ] {
        assert!(err.contains(key), "{key} not reported:\n{err}");
    }
    assert!(!err.contains("cluster.nats[1]"), "a good URL is not reported:\n{err}");
    let (code, out, err) = check(
        "[auth]\nopen = true\n[journal]\ndir = \"state\"\n[cluster]\n\
         nats = [\"nats://10.0.0.1:4222\", \"nats://10.0.0.2:4222\"]\nsite = \"sh-01\"\nsites = [\"sh-01\", \"bj-02\"]\n",
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("cluster: site sh-01 following bj-02, sh-01 on stream FLOORWATCH (3 copies) via nats://10.0.0.1:4222, nats://10.0.0.2:4222"),
        "{out}"
    );
    // A site without servers would run alone on its journal: refused, naming the key.
    let (code, _, err) = check("[auth]\nopen = true\n[cluster]\nsite = \"sh-01\"\n");
    assert_ne!(code, 0);
    assert!(err.contains("cluster.nats: cluster mode needs the NATS servers' URLs (cluster.site is set)"), "{err}");
}
