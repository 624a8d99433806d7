//! The twin's own control plane under `/_ocisim/` (never an OCI path): health,
//! readiness, reset, snapshot and restore, virtual time, the duration table,
//! chaos rules, and AD/FD outages applied to the World.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;

use super::chaos::{Chaos, ChaosRule};
use super::error::ApiError;
use super::journal::{Header, Snapshot};
use super::pipeline::Ctx;
use super::state::{Shared, Twin};
use super::wire::{ApiResult, JsonBody, Reply, rfc3339};
use crate::kernel::{SimDuration, SimTime};
use crate::model::topology::FaultDomain;
use crate::sim::world::{Action, FailureScope};

/// The control routes.
pub fn routes(r: Router<Shared>) -> Router<Shared> {
    r.route("/_ocisim/health", get(health))
        .route("/_ocisim/ready", get(ready))
        .route("/_ocisim/reset", post(reset))
        .route("/_ocisim/snapshot", get(snapshot))
        .route("/_ocisim/restore", post(restore))
        .route("/_ocisim/time", get(time))
        .route("/_ocisim/advance", post(advance))
        .route("/_ocisim/durations", get(get_durations).put(put_durations))
        .route(
            "/_ocisim/chaos",
            get(get_chaos).put(put_chaos).delete(clear_chaos),
        )
        .route("/_ocisim/outages", get(list_outages).post(start_outage))
        .route("/_ocisim/outages/{id}", axum::routing::delete(end_outage))
}

async fn health(State(s): State<Shared>) -> ApiResult {
    let t = s.lock_raw();
    Ok(Reply::json(&json!({
        "status": "ok",
        "tenancyId": t.identity.tenancy_id,
        "region": t.world.topology.region.name,
        "virtualTime": rfc3339(s.clock.now()),
        "timeScale": s.clock.scale(),
        "seed": s.boot.seed,
    })))
}

async fn ready(State(s): State<Shared>) -> ApiResult {
    let ready = s.is_ready();
    let r = Reply::json(&json!({ "ready": ready }));
    Ok(if ready {
        r
    } else {
        r.status(StatusCode::SERVICE_UNAVAILABLE)
    })
}

/// Back to the start: the initial twin, an empty journal, the clock at zero.
async fn reset(State(s): State<Shared>) -> ApiResult {
    let _turn = s.writes.lock().await;
    s.replace_twin(s.fresh_twin());
    s.clock.set(SimTime::ZERO);
    let snap = Snapshot {
        header: Header::of(&s.boot),
        entries: Vec::new(),
        now_ms: 0,
    };
    s.journal
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .replace(&snap)
        .map_err(ApiError::conflict)?;
    *s.chaos.lock().unwrap_or_else(|p| p.into_inner()) = Chaos::new(s.boot.seed);
    Ok(Reply::json(&json!({"reset": true})))
}

async fn snapshot(State(s): State<Shared>) -> ApiResult {
    let _turn = s.writes.lock().await;
    let j = s.journal.lock().unwrap_or_else(|p| p.into_inner());
    let now = s.clock.now().as_ms().max(j.clock_ms);
    Ok(Reply::json(&Snapshot {
        header: Header::of(&s.boot),
        entries: j.entries.clone(),
        now_ms: now,
    }))
}

/// Replaces the whole state by a snapshot: the journal is replayed through the
/// router, and the clock resumes at the snapshot's time.
async fn restore(State(s): State<Shared>, JsonBody(snap): JsonBody<Snapshot>) -> ApiResult {
    let _turn = s.writes.lock().await;
    if snap.header != Header::of(&s.boot) {
        return Err(ApiError::invalid(
            "header",
            "the snapshot was taken with other start-up settings (seed, region, tenancy, init scenario or durations); start the server with them",
        ));
    }
    super::replay(&s, &snap).await.map_err(ApiError::conflict)?;
    s.journal
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .replace(&snap)
        .map_err(ApiError::conflict)?;
    Ok(Reply::json(&json!({
        "restored": snap.entries.len(),
        "virtualTime": rfc3339(SimTime(snap.now_ms)),
    })))
}

async fn time(State(s): State<Shared>) -> ApiResult {
    let now = s.clock.now();
    Ok(Reply::json(&json!({
        "virtualTime": rfc3339(now),
        "virtualMs": now.as_ms(),
        "timeScale": s.clock.scale(),
    })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Advance {
    /// `90s`, `5m`, `1h`...
    duration: String,
}

/// Moves virtual time forward; everything due meanwhile happens, in order.
async fn advance(State(s): State<Shared>, ctx: Ctx, JsonBody(b): JsonBody<Advance>) -> ApiResult {
    let d = SimDuration::parse(&b.duration).map_err(|e| ApiError::invalid("duration", e))?;
    let target = if ctx.replay {
        ctx.now
    } else {
        s.clock.advance(d)
    };
    let mut t = s.lock_raw();
    let target = target.max(t.now);
    t.advance_to(target);
    ctx.record_effective(target);
    drop(t);
    let _ = s
        .journal
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clock(target.as_ms());
    Ok(Reply::json(&json!({
        "virtualTime": rfc3339(target),
        "virtualMs": target.as_ms(),
    })))
}

async fn get_durations(State(s): State<Shared>) -> ApiResult {
    let t = s.lock_raw();
    let table: BTreeMap<String, String> = t
        .durations
        .table()
        .into_iter()
        .map(|(k, v)| (k, v.to_string()))
        .collect();
    Ok(Reply::json(&table))
}

/// Parses `{"key": "30s", ...}` into a duration table.
pub fn parse_durations(
    map: BTreeMap<String, String>,
) -> Result<BTreeMap<String, SimDuration>, String> {
    map.into_iter()
        .map(|(k, v)| {
            SimDuration::parse(&v)
                .map(|d| (k.clone(), d))
                .map_err(|e| format!("{k}: {e}"))
        })
        .collect()
}

async fn put_durations(
    State(s): State<Shared>,
    JsonBody(b): JsonBody<BTreeMap<String, String>>,
) -> ApiResult {
    let parsed = parse_durations(b).map_err(|e| ApiError::invalid("durations", e))?;
    let mut t = s.lock_raw();
    t.durations.set(parsed);
    Ok(Reply::json(
        &json!({"durations": t.durations.table().len()}),
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ChaosBody {
    rules: Vec<ChaosRule>,
}

async fn get_chaos(State(s): State<Shared>) -> ApiResult {
    let c = s.chaos.lock().unwrap_or_else(|p| p.into_inner());
    Ok(Reply::json(&json!({"rules": c.rules})))
}

async fn put_chaos(State(s): State<Shared>, JsonBody(b): JsonBody<ChaosBody>) -> ApiResult {
    Chaos::validate(&b.rules).map_err(|e| ApiError::invalid("rules", e))?;
    let mut c = s.chaos.lock().unwrap_or_else(|p| p.into_inner());
    c.rules = b.rules;
    Ok(Reply::json(&json!({"rules": c.rules})))
}

async fn clear_chaos(State(s): State<Shared>) -> ApiResult {
    s.chaos
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .rules
        .clear();
    Ok(Reply::empty())
}

/// Outages started through the control plane.
#[derive(Clone, Debug, Default)]
pub struct Outages {
    /// Active outages: id → label.
    pub active: BTreeMap<u32, String>,
    next: u32,
}

/// Outage ids start here, far from a scenario timeline's own failure ids.
const OUTAGE_ID_BASE: u32 = 1_000_000;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct OutageBody {
    /// AD name (`Uocm:PHX-AD-1`), zone label (`PHX-AD-1`) or number (`1`).
    availability_domain: String,
    /// `FAULT-DOMAIN-n`; absent takes the whole AD down.
    fault_domain: Option<String>,
}

fn resolve_ad(t: &Twin, name: &str) -> Result<u8, ApiError> {
    let ads = &t.world.topology.ads;
    ads.iter()
        .find(|a| {
            a.name.eq_ignore_ascii_case(name)
                || a.zone_label.eq_ignore_ascii_case(name)
                || a.number.to_string() == name
        })
        .map(|a| a.number)
        .ok_or_else(|| {
            let known: Vec<&str> = ads.iter().map(|a| a.name.as_str()).collect();
            ApiError::invalid(
                "availabilityDomain",
                format!(
                    "`{name}` is not an AD of this region (known: {})",
                    known.join(", ")
                ),
            )
        })
}

/// Takes an AD or FD down in the World: its virtual nodes stop heartbeating,
/// go NotReady, and their pods are evicted and rescheduled as the node
/// lifecycle controller does it.
async fn start_outage(
    State(s): State<Shared>,
    ctx: Ctx,
    JsonBody(b): JsonBody<OutageBody>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    let ad = resolve_ad(&t, &b.availability_domain)?;
    let scope = match &b.fault_domain {
        Some(fd) => FailureScope::FaultDomain {
            ad,
            fd: FaultDomain::parse(fd)
                .map_err(|e| ApiError::invalid("faultDomain", e.to_string()))?,
        },
        None => FailureScope::AvailabilityDomain { ad },
    };
    let label = match &b.fault_domain {
        Some(fd) => format!("outage of AD-{ad} {}", fd.to_ascii_uppercase()),
        None => format!("outage of AD-{ad}"),
    };
    let o = t.ext.get_mut::<Outages>();
    let id = OUTAGE_ID_BASE + o.next;
    o.next += 1;
    o.active.insert(id, label.clone());
    let now = t.now;
    t.world
        .schedule_action(now, label.clone(), Action::Fail { scope, failure: id });
    t.settle();
    Ok(
        Reply::json(&json!({"id": id, "label": label, "virtualTime": rfc3339(now)}))
            .status(StatusCode::CREATED),
    )
}

async fn end_outage(State(s): State<Shared>, ctx: Ctx, Path(id): Path<u32>) -> ApiResult {
    let mut t = s.lock(&ctx);
    let label = t
        .ext
        .get_mut::<Outages>()
        .active
        .remove(&id)
        .ok_or_else(|| ApiError::not_found("outage", &id.to_string()))?;
    let now = t.now;
    t.world.schedule_action(
        now,
        format!("recovery from {label}"),
        Action::Recover { failure: id },
    );
    t.settle();
    Ok(Reply::empty())
}

async fn list_outages(State(s): State<Shared>, ctx: Ctx) -> ApiResult {
    let mut t = s.lock(&ctx);
    let v: Vec<_> = t
        .ext
        .get_mut::<Outages>()
        .active
        .iter()
        .map(|(id, label)| json!({"id": id, "label": label}))
        .collect();
    Ok(Reply::json(&v))
}
