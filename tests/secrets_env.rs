//! Tokens from environment variables (`auth.*_token_env`). Its own test binary, with one
//! test: the variables are set before any other thread of the process could read the
//! environment (setting it while another thread reads it is undefined behaviour).

mod common;

use common::Daemon;

#[test]
fn tokens_from_the_environment() {
    // SAFETY: the only test of this process, before the runtime starts any thread.
    unsafe {
        std::env::set_var("FLOORWATCH_TEST_INGEST_TOKEN", "env-ingest\n");
        std::env::set_var("FLOORWATCH_TEST_VIEWER_TOKEN", "env-viewer");
    }
    // An unset variable is a config error naming the key.
    let file =
        floorwatch::config::FileConfig::parse("[auth]\nviewer_token_env = \"FLOORWATCH_TEST_UNSET\"\n", "t").unwrap();
    let e = file.validate(std::path::Path::new(".")).expect_err("refused").to_string();
    assert!(e.starts_with("auth.viewer_token_env"), "{e}");

    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let d = Daemon::start(
            "[auth]\ningest_token_env = \"FLOORWATCH_TEST_INGEST_TOKEN\"\nviewer_token_env = \"FLOORWATCH_TEST_VIEWER_TOKEN\"\n",
        )
        .await;
        let c = reqwest::Client::new();
        let snap = d.url("/api/v1/snapshot");
        assert_eq!(c.get(&snap).send().await.unwrap().status(), 401);
        assert_eq!(c.get(&snap).bearer_auth("env-viewer").send().await.unwrap().status(), 200);
        let events = d.url("/api/v1/events");
        let body = r#"[{"agent":"E1","state":"idle"}]"#;
        assert_eq!(c.post(&events).bearer_auth("env-viewer").header("content-type", "application/json").body(body).send().await.unwrap().status(), 401);
        // The value is trimmed (a trailing newline from `export X=$(cat file)` and the like).
        let r = c.post(&events).bearer_auth("env-ingest").header("content-type", "application/json").body(body).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.json::<serde_json::Value>().await.unwrap()["applied"], 1);
        d.stop().await;
    });
}
