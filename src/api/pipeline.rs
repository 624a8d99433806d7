//! The request pipeline every route goes through, in order:
//!
//! 1. `opc-request-id`: the client's, or a new one; echoed on every reply.
//! 2. The body is buffered (over [`MAX_BODY_BYTES`] → 413 PayloadTooLarge).
//! 3. **Auth hook**: the configured [`Verifier`](super::auth::Verifier)
//!    sees method, raw target, headers and body; a failure is 401 NotAuthenticated.
//! 4. Chaos rules may inject latency or an error.
//! 5. Mutating requests are serialized (one at a time, in journal order).
//! 6. `opc-retry-token`: the same token and request replays the first reply;
//!    the same token with another request is 409 InvalidatedRetryToken.
//! 7. `if-match` against the etag of the OCID in the path → 412 NoEtagMatch.
//! 8. The handler runs with a [`Ctx`] (request id, virtual now, principal).
//! 9. Mutations that reached a handler are journaled with their virtual instant.
//!
//! Replayed requests (restore, restart) skip 1-4 and 9 and act at their
//! recorded instant.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::auth::Principal;
use super::error::ApiError;
use super::journal::Entry;
use super::state::{CachedReply, Shared};
use super::wire::MAX_BODY_BYTES;
use crate::kernel::rng::fnv1a64;
use crate::kernel::{SimDuration, SimTime};

/// How long a retry token is remembered (OCI: 24 hours).
pub const RETRY_TOKEN_TTL: SimDuration = SimDuration::from_secs(24 * 3600);

/// Headers a replayed request needs to act the same way.
const JOURNALED_HEADERS: &[&str] = &["opc-retry-token", "if-match", "content-type"];

/// Reply headers a retry-token hit replays.
const REPLAYED_HEADERS: &[&str] = &["etag", "opc-work-request-id", "location", "opc-next-page"];

/// What a handler knows about its request.
#[derive(Clone, Debug)]
pub struct Ctx {
    /// `opc-request-id` of the reply.
    pub request_id: String,
    /// The virtual instant the request arrived at.
    pub now: SimTime,
    /// `if-match`, if sent.
    pub if_match: Option<String>,
    /// `opc-retry-token`, if sent.
    pub retry_token: Option<String>,
    /// Who signed the request (from the verifier); `None` when no verifier runs.
    pub principal: Option<Principal>,
    /// True when the request is replayed from the journal.
    pub replay: bool,
    /// The instant the twin actually acted at (set by `ApiState::lock`).
    effective: Arc<AtomicU64>,
}

const UNSET: u64 = u64::MAX;

impl Ctx {
    /// A context for tests and internal calls.
    pub fn at(now: SimTime) -> Ctx {
        Ctx {
            request_id: String::new(),
            now,
            if_match: None,
            retry_token: None,
            principal: None,
            replay: false,
            effective: Arc::new(AtomicU64::new(UNSET)),
        }
    }

    /// Records the instant the twin acted at (the first lock wins).
    pub fn record_effective(&self, t: SimTime) {
        let _ =
            self.effective
                .compare_exchange(UNSET, t.as_ms(), Ordering::SeqCst, Ordering::SeqCst);
    }

    fn effective(&self) -> SimTime {
        match self.effective.load(Ordering::SeqCst) {
            UNSET => self.now,
            ms => SimTime(ms),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Ctx>()
            .cloned()
            .ok_or_else(|| ApiError::no_route(parts.method.as_str(), parts.uri.path()))
    }
}

/// Marks a request replayed from the journal, acting at `at`.
#[derive(Clone, Copy, Debug)]
pub struct Replay {
    /// Its recorded instant.
    pub at: SimTime,
}

/// The service a path belongs to (oci-api.md §6 routing cheat-sheet).
pub fn service_of(path: &str) -> &'static str {
    let mut segs = path.trim_start_matches('/').split('/');
    let version = segs.next().unwrap_or("");
    let first = segs.next().unwrap_or("");
    match (version, first) {
        ("_ocisim", _) => "control",
        (
            "20160918",
            "regions"
            | "tenancies"
            | "availabilityDomains"
            | "faultDomains"
            | "compartments"
            | "policies"
            | "workRequests",
        ) => "identity",
        ("20160918", "container") => "artifacts",
        ("20160918", _) => "core",
        ("20180222", _) => "oke",
        ("20180608", "secrets") => "vaults",
        ("20180608", _) => "kms",
        // Keys live under each vault's management endpoint (api/kms.rs).
        ("kms", _) => "kms",
        ("20190301", _) => "secrets",
        ("20170115", _) => "lb",
        ("20190415", _) => "mysql",
        _ => "unknown",
    }
}

fn is_mutating(method: &Method, path: &str) -> bool {
    let reads = *method == Method::GET || *method == Method::HEAD || *method == Method::OPTIONS;
    // The control plane's own state changes (reset, restore, chaos) are not
    // journaled; its model changes (advance, outages, durations) are.
    let control_meta = path.starts_with("/_ocisim/")
        && !(path.starts_with("/_ocisim/advance")
            || path.starts_with("/_ocisim/outages")
            || path.starts_with("/_ocisim/durations"));
    !reads && !control_meta
}

fn header_str(h: &HeaderMap, name: &str) -> Option<String> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .filter(|s| !s.is_empty())
}

/// The middleware (see the module documentation for the steps).
pub async fn pipeline(
    State(s): State<Shared>,
    matched: Option<MatchedPath>,
    req: Request,
    next: Next,
) -> Response {
    let replay = req.extensions().get::<Replay>().copied();
    let request_id = header_str(req.headers(), "opc-request-id").unwrap_or_else(|| {
        let n = s.request_seq.fetch_add(1, Ordering::SeqCst);
        format!("{:016X}{:016X}", fnv1a64(&n.to_le_bytes()), n)
    });
    let mut resp = handle(&s, matched, req, next, replay, &request_id).await;
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        h.insert("opc-request-id", v);
    }
    h.entry(header::CONTENT_TYPE)
        .or_insert(HeaderValue::from_static("application/json"));
    resp
}

async fn handle(
    s: &Shared,
    matched: Option<MatchedPath>,
    req: Request,
    next: Next,
    replay: Option<Replay>,
    request_id: &str,
) -> Response {
    let (mut parts, body) = req.into_parts();
    let bytes = match to_bytes(body, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(_) => return ApiError::too_large(MAX_BODY_BYTES).into_response(),
    };
    let method = parts.method.clone();
    // The URI is cheap to clone (shared bytes); path and target borrow from it.
    let uri = parts.uri.clone();
    let path = uri.path();
    let target = uri.path_and_query().map_or(path, |pq| pq.as_str());
    let route = matched.as_ref().map(MatchedPath::as_str);
    let service = service_of(path);
    let mut principal = None;
    if replay.is_none() && service != "control" {
        // AUTH HOOK: the one place requests are authenticated. The body is
        // buffered, the target is the raw path and query as received.
        if let Some(v) = &s.verifier {
            match v.verify(&method, target, &parts.headers, &bytes, unix_now()) {
                Ok(p) => principal = Some(p),
                Err(why) => return ApiError::not_authenticated(why.to_string()).into_response(),
            }
        }
        if let Some(resp) = chaos(s, service, &method, route.unwrap_or(path)).await {
            return resp;
        }
    }
    let mutating = is_mutating(&method, path) && route.is_some();
    let _turn = if mutating && replay.is_none() {
        Some(s.writes.lock().await)
    } else {
        None
    };
    let now = replay.map(|r| r.at).unwrap_or_else(|| s.clock.now());
    let ctx = Ctx {
        request_id: request_id.to_string(),
        now,
        if_match: header_str(&parts.headers, "if-match"),
        retry_token: header_str(&parts.headers, "opc-retry-token"),
        principal,
        replay: replay.is_some(),
        effective: Arc::new(AtomicU64::new(UNSET)),
    };
    if !mutating {
        // Reads need neither retry tokens, if-match nor the journal.
        parts.extensions.insert(ctx);
        return next
            .run(Request::from_parts(parts, Body::from(bytes)))
            .await;
    }
    let fingerprint = fnv1a64(format!("{method} {target}\n").as_bytes()) ^ fnv1a64(&bytes);
    if let Some(tok) = &ctx.retry_token {
        match cached_reply(s, &ctx, tok, fingerprint) {
            Ok(Some(r)) => return r,
            Ok(None) => {}
            Err(e) => return e.into_response(),
        }
    }
    if let Err(e) = check_if_match(s, &ctx, path) {
        return e.into_response();
    }
    let journal_headers: Vec<(String, String)> = JOURNALED_HEADERS
        .iter()
        .filter_map(|h| header_str(&parts.headers, h).map(|v| (h.to_string(), v)))
        .collect();
    parts.extensions.insert(ctx.clone());
    let body_text = String::from_utf8_lossy(&bytes).into_owned();
    let resp = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let resp = match &ctx.retry_token {
        Some(tok) if resp.status().is_success() => {
            remember_reply(s, &ctx, tok, fingerprint, resp).await
        }
        _ => resp,
    };
    if replay.is_none() {
        let entry = Entry {
            at: ctx.effective().as_ms(),
            method: method.to_string(),
            target: target.to_string(),
            headers: journal_headers,
            body: body_text,
            status: Some(resp.status().as_u16()),
        };
        let appended = s
            .journal
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .append(entry);
        if let Err(e) = appended {
            // The change happened but could not be made durable: say so loudly.
            eprintln!("ocisim serve: state file: {e}");
        }
    }
    resp
}

async fn chaos(s: &Shared, service: &str, method: &Method, route: &str) -> Option<Response> {
    let effect =
        s.chaos
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .draw(service, method.as_str(), route)?;
    if effect.latency_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(effect.latency_ms)).await;
    }
    let (status, code, message) = effect.error?;
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    Some(ApiError::new(status, &code, message).into_response())
}

fn cached_reply(
    s: &Shared,
    ctx: &Ctx,
    token: &str,
    fingerprint: u64,
) -> Result<Option<Response>, ApiError> {
    let mut t = s.lock(ctx);
    let now = t.now;
    t.retry_tokens.retain(|_, c| c.expires > now);
    let Some(c) = t.retry_tokens.get(token) else {
        return Ok(None);
    };
    if c.fingerprint != fingerprint {
        return Err(ApiError::invalidated_retry_token());
    }
    let mut r = (
        StatusCode::from_u16(c.status).unwrap_or(StatusCode::OK),
        c.body.clone(),
    )
        .into_response();
    for (k, v) in &c.headers {
        if let (Ok(k), Ok(v)) = (
            axum::http::HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            r.headers_mut().insert(k, v);
        }
    }
    Ok(Some(r))
}

async fn remember_reply(
    s: &Shared,
    ctx: &Ctx,
    token: &str,
    fingerprint: u64,
    resp: Response,
) -> Response {
    let (parts, body) = resp.into_parts();
    let bytes: Bytes = to_bytes(body, usize::MAX).await.unwrap_or_default();
    let headers = REPLAYED_HEADERS
        .iter()
        .filter_map(|h| header_str(&parts.headers, h).map(|v| (h.to_string(), v)))
        .collect();
    let mut t = s.lock_raw();
    let expires = t.now + RETRY_TOKEN_TTL;
    t.retry_tokens.insert(
        token.to_string(),
        CachedReply {
            fingerprint,
            status: parts.status.as_u16(),
            headers,
            body: bytes.to_vec(),
            expires,
        },
    );
    drop(t);
    let _ = ctx;
    Response::from_parts(parts, Body::from(bytes))
}

/// `if-match` on a mutation: compared with the etag of the last OCID in the
/// path that the registry knows (`/vcns/{id}`, `/networkSecurityGroups/{id}/actions/...`).
fn check_if_match(s: &Shared, ctx: &Ctx, path: &str) -> Result<(), ApiError> {
    let Some(given) = &ctx.if_match else {
        return Ok(());
    };
    if given == "*" {
        return Ok(());
    }
    let t = s.lock(ctx);
    let known = path
        .split('/')
        .rev()
        .filter(|seg| seg.starts_with("ocid1."))
        .find_map(|seg| t.registry.get(seg));
    match known {
        Some(m) if m.etag() != *given => Err(ApiError::no_etag_match(&m.id, given)),
        _ => Ok(()),
    }
}

/// Seconds since 1970 on the wall clock, for the signature's date check only.
#[allow(clippy::disallowed_methods)]
fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The fallback for paths no service answers: 404 NotFound naming the route.
pub async fn no_route(method: Method, uri: axum::http::Uri) -> ApiError {
    ApiError::no_route(method.as_str(), uri.path())
}
