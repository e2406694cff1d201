//! A scriptable HTTP receiver on 127.0.0.1:0 standing in for webhook endpoints, chat
//! robots and Alertmanager: it records every request and answers from a script.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use warp::Filter;
use warp::http::HeaderMap;

/// One request as received.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub at: Instant,
    pub path: String,
    /// Raw query string, without `?`.
    pub query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The status the receiver answered with.
    pub status: u16,
}

impl Recorded {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("request body is JSON")
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).map(|v| v.to_str().unwrap().to_owned())
    }

    /// Decoded query parameter.
    pub fn param(&self, name: &str) -> Option<String> {
        let url = reqwest::Url::parse(&format!("http://x/?{}", self.query)).unwrap();
        url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
    }
}

/// How to answer one request.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub delay: Duration,
}

impl Reply {
    pub fn status(status: u16) -> Reply {
        Reply { status, headers: vec![], body: String::new(), delay: Duration::ZERO }
    }

    pub fn ok() -> Reply {
        Reply::status(200)
    }

    pub fn body(mut self, body: &str) -> Reply {
        self.body = body.to_owned();
        self
    }

    pub fn header(mut self, k: &str, v: &str) -> Reply {
        self.headers.push((k.to_owned(), v.to_owned()));
        self
    }

    pub fn delay(mut self, d: Duration) -> Reply {
        self.delay = d;
        self
    }
}

struct State {
    requests: Vec<Recorded>,
    /// Answers for the next requests, in order; then `default`.
    script: VecDeque<Reply>,
    default: Reply,
}

pub struct Receiver {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    /// Open (true): answer at once. Closed: requests are recorded, then wait to be answered.
    gate: Arc<tokio::sync::watch::Sender<bool>>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let state = Arc::new(Mutex::new(State { requests: vec![], script: VecDeque::new(), default: Reply::ok() }));
        let gate = Arc::new(tokio::sync::watch::Sender::new(true));
        let (st, g) = (state.clone(), gate.clone());
        let route = warp::any()
            .and(warp::path::full())
            .and(warp::query::raw().or(warp::any().map(String::new)).unify())
            .and(warp::header::headers_cloned())
            .and(warp::body::bytes())
            .then(move |path: warp::path::FullPath, query: String, headers: HeaderMap, body: Bytes| {
                let (st, g) = (st.clone(), g.clone());
                async move {
                    let reply = {
                        let mut s = st.lock().unwrap();
                        let reply = s.script.pop_front().unwrap_or_else(|| s.default.clone());
                        s.requests.push(Recorded {
                            at: Instant::now(),
                            path: path.as_str().to_owned(),
                            query,
                            headers,
                            body,
                            status: reply.status,
                        });
                        reply
                    };
                    let _ = g.subscribe().wait_for(|open| *open).await;
                    tokio::time::sleep(reply.delay).await;
                    let mut b = warp::http::Response::builder().status(reply.status);
                    for (k, v) in &reply.headers {
                        b = b.header(k, v);
                    }
                    b.body(reply.body).unwrap()
                }
            });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(warp::serve(route).incoming(listener).run());
        Receiver { addr, state, gate }
    }

    pub fn url(&self, path_and_query: &str) -> String {
        format!("http://{}{path_and_query}", self.addr)
    }

    /// Answers for the next requests, in order.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.state.lock().unwrap().script.extend(replies);
    }

    /// The answer once the script is used up.
    pub fn default_reply(&self, r: Reply) {
        self.state.lock().unwrap().default = r;
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Holds every answer until `release`.
    pub fn hold(&self) {
        self.gate.send_replace(false);
    }

    pub fn release(&self) {
        self.gate.send_replace(true);
    }

    /// Waits until at least `n` requests arrived; panics after `timeout`.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Recorded> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.requests();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "waited {timeout:?} for {n} requests, got {}: {:?}",
                got.len(),
                got.iter().map(|r| (&r.path, r.status)).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}
