//! `ocisim serve`: OCI's REST API over the twin, for the unmodified OCI SDK
//! and CLI (wire format: shared/reference/oci-api.md).
//!
//! The only layer that knows axum, HTTP and JSON. Every service is one module
//! exposing `pub fn routes(Router<Shared>) -> Router<Shared>`, registered in
//! [`router`] with one line. Handlers lock the [`Twin`](state::Twin) (the
//! scenario `World`, the identity model, API metadata, work requests) through
//! [`ApiState::lock`](state::ApiState::lock), never across an `.await`, and
//! return [`ApiResult`](wire::ApiResult). The [`pipeline`] around them does
//! request ids, the auth hook, chaos, retry tokens, `if-match` and the journal.

pub mod artifacts;
pub mod auth;
pub mod chaos;
pub mod control;
pub mod core;
pub mod core_net;
pub mod error;
pub mod identity;
pub mod journal;
pub mod kms;
pub mod kms_crypto;
pub mod lb;
pub mod mysql;
pub mod oke;
pub mod pipeline;
pub mod policies;
pub mod registry;
pub mod secrets;
pub mod state;
pub mod testing;
pub mod vault_wire;
pub mod vaults;
pub mod wire;
pub mod workreq;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use tower::ServiceExt;

use self::journal::{Header, Journal, Snapshot};
use self::pipeline::Replay;
use self::state::{ApiState, Boot, Shared};
use crate::kernel::SimTime;

/// Every service's routes, the control plane, the fallback and the pipeline.
pub fn router(state: Shared) -> Router {
    let r: Router<Shared> = Router::new();
    // One line per service module.
    let r = identity::routes(r);
    let r = core::routes(r);
    let r = core_net::routes(r);
    let r = kms::routes(r);
    let r = kms_crypto::routes(r);
    let r = vaults::routes(r);
    let r = secrets::routes(r);
    let r = policies::routes(r);
    let r = oke::routes(r);
    let r = lb::routes(r);
    let r = mysql::routes(r);
    let r = artifacts::routes(r);
    let r = control::routes(r);
    r.fallback(pipeline::no_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            pipeline::pipeline,
        ))
        .with_state(state)
}

async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> error::ApiError {
    error::ApiError::method_not_allowed(method.as_str(), uri.path())
}

/// Replays a snapshot's journal into a fresh twin, request by request through
/// the router, each at its recorded instant; the clock then resumes at the
/// snapshot's time.
pub async fn replay(s: &Shared, snap: &Snapshot) -> Result<(), String> {
    let mut boot = s.boot.clone();
    snap.header.apply(&mut boot);
    if Header::of(&boot) != Header::of(&s.boot) {
        return Err("the snapshot was taken with other start-up settings".into());
    }
    s.replace_twin(s.fresh_twin());
    let app = router(s.clone());
    for (i, e) in snap.entries.iter().enumerate() {
        let mut req = Request::builder()
            .method(e.method.as_str())
            .uri(e.target.as_str());
        for (k, v) in &e.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let mut req = req
            .body(Body::from(e.body.clone()))
            .map_err(|err| format!("journal entry {i}: {err}"))?;
        req.extensions_mut().insert(Replay { at: SimTime(e.at) });
        let resp = app
            .clone()
            .oneshot(req)
            .await
            .map_err(|err| format!("journal entry {i}: {err}"))?;
        if let Some(was) = e.status
            && resp.status().as_u16() != was
        {
            return Err(format!(
                "journal entry {i} ({} {}): answered {} on replay where it answered {was} when                  recorded (a state file from a twin that judges requests differently; start                  without it)",
                e.method,
                e.target,
                resp.status().as_u16()
            ));
        }
    }
    let end = SimTime(snap.now_ms);
    s.lock_raw().advance_to(end);
    s.clock.set(end);
    Ok(())
}

/// Builds the shared state for `boot`, resuming from `state_file` if it holds
/// a state (its settings win over the flags), and marks it ready.
pub async fn start(
    mut boot: Boot,
    state_file: Option<&std::path::Path>,
    verifier: Option<auth::Verifier>,
) -> Result<Shared, String> {
    let header = Header::of(&boot);
    let (journal, found) = match state_file {
        Some(p) => Journal::open(p, &header)?,
        None => (Journal::in_memory(), None),
    };
    if let Some(snap) = &found {
        snap.header.apply(&mut boot);
    }
    let s: Shared = Arc::new(ApiState::new(boot, journal, verifier)?);
    if let Some(snap) = found
        && (!snap.entries.is_empty() || snap.now_ms > 0)
    {
        replay(&s, &snap).await?;
    }
    s.ready.store(true, Ordering::SeqCst);
    Ok(s)
}

/// Serves `state` on `addr` until the process is stopped.
pub async fn serve(state: Shared, addr: SocketAddr) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    println!("ocisim serve: listening on http://{local}");
    axum::serve(listener, router(state))
        .await
        .map_err(|e| format!("server stopped: {e}"))
}
