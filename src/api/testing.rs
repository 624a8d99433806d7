//! An in-process client for tests: requests go through the full router and
//! pipeline without a socket. The clock is stopped (time scale 0), so virtual
//! time moves only by [`TestClient::advance`], and tests are deterministic.

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{HeaderMap, Request, StatusCode};
use serde_json::Value;
use tower::ServiceExt;

use super::state::{Boot, Shared};

/// One reply: status, headers and the body parsed as JSON (`Null` when empty).
#[derive(Debug)]
pub struct TestReply {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body as JSON.
    pub body: Value,
}

impl TestReply {
    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The error code of an error reply.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    /// The message of an error reply.
    pub fn message(&self) -> &str {
        self.body["message"].as_str().unwrap_or("")
    }
}

/// A twin behind its router.
pub struct TestClient {
    /// The shared state (for direct inspection).
    pub state: Shared,
    app: Router,
}

impl TestClient {
    /// A fresh twin with `boot` (its time scale forced to 0).
    pub async fn new(mut boot: Boot) -> TestClient {
        boot.time_scale = 0.0;
        let state = super::start(boot, None, None)
            .await
            .expect("the twin starts");
        let app = super::router(state.clone());
        TestClient { state, app }
    }

    /// A client over an already started state (e.g. one with a verifier).
    pub fn from_state(state: Shared) -> TestClient {
        let app = super::router(state.clone());
        TestClient { state, app }
    }

    /// A fresh empty twin in us-phoenix-1 with seed 1.
    pub async fn empty() -> TestClient {
        TestClient::new(Boot {
            seed: 1,
            region: "us-phoenix-1".into(),
            ..Boot::default()
        })
        .await
    }

    /// The tenancy (root compartment) OCID.
    pub fn tenancy(&self) -> String {
        self.state.lock_raw().identity.tenancy_id.clone()
    }

    /// Sends a request with optional JSON body and extra headers.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> TestReply {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        self.send_raw(req.body(Body::from(body)).expect("a valid request"))
            .await
    }

    /// Sends a request built by the caller (raw bodies, odd headers).
    pub async fn send_raw(&self, req: Request<Body>) -> TestReply {
        let resp = self.app.clone().oneshot(req).await.expect("infallible");
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = to_bytes(resp.into_body(), usize::MAX)
            .await
            .expect("a body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        TestReply {
            status,
            headers,
            body,
        }
    }

    /// GET.
    pub async fn get(&self, path: &str) -> TestReply {
        self.send("GET", path, None, &[]).await
    }

    /// POST with a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> TestReply {
        self.send("POST", path, Some(body), &[]).await
    }

    /// PUT with a JSON body.
    pub async fn put(&self, path: &str, body: &Value) -> TestReply {
        self.send("PUT", path, Some(body), &[]).await
    }

    /// DELETE.
    pub async fn delete(&self, path: &str) -> TestReply {
        self.send("DELETE", path, None, &[]).await
    }

    /// Moves virtual time forward (`"30s"`, `"5m"`).
    pub async fn advance(&self, duration: &str) -> TestReply {
        self.post(
            "/_ocisim/advance",
            &serde_json::json!({ "duration": duration }),
        )
        .await
    }
}
