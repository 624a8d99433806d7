//! Identity (`/20160918`, oci-api.md §5.1): regions, region subscriptions, the
//! tenancy, availability and fault domains, compartments (CRUD, nesting,
//! `compartmentIdInSubtree`, DeleteCompartment as a work request), and the
//! work-request route Identity shares with Core (dispatch on the OCID).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::ApiError;
use super::pipeline::Ctx;
use super::registry::Meta;
use super::state::{Shared, Twin};
use super::wire::{
    ApiResult, FreeformTags, JsonBody, Params, Reply, paginate, rfc3339, sort_items,
};
use super::workreq::{
    WorkRequestSpec, WrResource, render_errors, render_logs, render_status_style,
};
use crate::kernel::SimDuration;
use crate::kernel::rng::fnv1a64;
use crate::model::topology::{FaultDomain, REGIONS};

/// The OCID type of Identity's work requests. OCI's is undocumented
/// (oci-api.md §3); this one differs from Core's so the shared route can
/// dispatch on it.
pub const WORK_REQUEST_OCID_TYPE: &str = "identityworkrequest";

/// Identity's routes.
pub fn routes(r: Router<Shared>) -> Router<Shared> {
    r.route("/20160918/regions", get(list_regions))
        .route("/20160918/tenancies/{id}", get(get_tenancy))
        .route(
            "/20160918/tenancies/{id}/regionSubscriptions",
            get(list_region_subscriptions),
        )
        .route("/20160918/availabilityDomains", get(list_ads))
        .route("/20160918/faultDomains", get(list_fds))
        .route(
            "/20160918/compartments",
            get(list_compartments).post(create_compartment),
        )
        .route(
            "/20160918/compartments/{id}",
            get(get_compartment)
                .put(update_compartment)
                .delete(delete_compartment),
        )
        .route("/20160918/workRequests", get(list_work_requests))
        .route("/20160918/workRequests/{id}", get(get_work_request))
        .route(
            "/20160918/workRequests/{id}/errors",
            get(list_work_request_errors),
        )
        .route(
            "/20160918/workRequests/{id}/logs",
            get(list_work_request_logs),
        )
}

/// A stable OCID for a fixed object (AD, FD): a hash of its name, so it never
/// draws from the mint and never shifts other OCIDs.
pub fn fixed_ocid(kind: &str, name: &str) -> String {
    const BASE32: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut h = fnv1a64(name.as_bytes());
    let mut unique = String::from("aaaaaaaa");
    for i in 0..52 {
        if i % 12 == 0 {
            h = fnv1a64(&h.to_le_bytes());
        }
        unique.push(BASE32[(h & 31) as usize] as char);
        h >>= 5;
    }
    format!("ocid1.{kind}.oc1..{unique}")
}

async fn list_regions() -> ApiResult {
    let v: Vec<Value> = REGIONS
        .iter()
        .map(|r| json!({"key": r.key, "name": r.name}))
        .collect();
    Ok(Reply::json(&v))
}

fn check_tenancy(t: &Twin, id: &str) -> Result<(), ApiError> {
    if id == t.identity.tenancy_id {
        Ok(())
    } else {
        Err(ApiError::not_found("tenancy", id))
    }
}

async fn get_tenancy(State(s): State<Shared>, ctx: Ctx, Path(id): Path<String>) -> ApiResult {
    let t = s.lock(&ctx);
    check_tenancy(&t, &id)?;
    Ok(Reply::json(&json!({
        "id": t.identity.tenancy_id,
        "name": t.identity.tenancy_name,
        "description": "the ocisim twin's tenancy",
        "homeRegionKey": t.identity.home_region_key,
        "freeformTags": {},
        "definedTags": {},
    })))
}

async fn list_region_subscriptions(
    State(s): State<Shared>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> ApiResult {
    let t = s.lock(&ctx);
    check_tenancy(&t, &id)?;
    let r = t.world.topology.region;
    Ok(Reply::json(&vec![json!({
        "regionKey": r.key,
        "regionName": r.name,
        "status": "READY",
        "isHomeRegion": true,
    })]))
}

/// 404 unless `id` is the tenancy or a compartment.
fn check_compartment(t: &Twin, id: &str) -> Result<(), ApiError> {
    if t.identity.exists(id) {
        Ok(())
    } else {
        Err(ApiError::not_found("compartment", id))
    }
}

async fn list_ads(State(s): State<Shared>, ctx: Ctx, p: Params) -> ApiResult {
    let t = s.lock(&ctx);
    let c = p.required("compartmentId")?;
    check_compartment(&t, c)?;
    let v: Vec<Value> = t
        .world
        .topology
        .ads
        .iter()
        .map(|ad| {
            json!({
                "name": ad.name,
                "id": fixed_ocid("availabilitydomain", &ad.name),
                "compartmentId": t.identity.tenancy_id,
            })
        })
        .collect();
    let (page, next) = paginate(v, &p)?;
    Ok(Reply::page(&page, next))
}

async fn list_fds(State(s): State<Shared>, ctx: Ctx, p: Params) -> ApiResult {
    let t = s.lock(&ctx);
    let c = p.required("compartmentId")?;
    check_compartment(&t, c)?;
    let ad_name = p.required("availabilityDomain")?;
    let ad = t
        .world
        .topology
        .ads
        .iter()
        .find(|a| a.name.eq_ignore_ascii_case(ad_name))
        .ok_or_else(|| {
            let known: Vec<&str> = t
                .world
                .topology
                .ads
                .iter()
                .map(|a| a.name.as_str())
                .collect();
            ApiError::invalid(
                "availabilityDomain",
                format!(
                    "`{ad_name}` is not an availability domain of this region (known: {})",
                    known.join(", ")
                ),
            )
        })?;
    let v: Vec<Value> = FaultDomain::all()
        .map(|fd| {
            let name = fd.to_string();
            json!({
                "name": name,
                "id": fixed_ocid("faultdomain", &format!("{}/{name}", ad.name)),
                "compartmentId": t.identity.tenancy_id,
                "availabilityDomain": ad.name,
            })
        })
        .collect();
    Ok(Reply::json(&v))
}

/// The Compartment model (oci-api.md §5.1).
fn compartment_json(t: &Twin, id: &str) -> Result<(Value, String), ApiError> {
    let c = t.identity.get(id)?;
    let meta = t.registry.get(id);
    let v = json!({
        "id": c.id,
        "compartmentId": c.parent.clone().unwrap_or_default(),
        "name": c.name,
        "description": c.description,
        "timeCreated": rfc3339(c.time_created),
        "lifecycleState": c.state.as_str(),
        "isAccessible": true,
        "freeformTags": meta.map(|m| json!(m.freeform_tags)).unwrap_or(json!({})),
        "definedTags": meta.map(|m| m.defined_tags.clone()).unwrap_or(json!({})),
    });
    let etag = meta
        .map(Meta::etag)
        .unwrap_or_else(|| super::wire::etag_of(id, 0));
    Ok((v, etag))
}

async fn list_compartments(State(s): State<Shared>, ctx: Ctx, p: Params) -> ApiResult {
    let t = s.lock(&ctx);
    let parent = p.required("compartmentId")?;
    check_compartment(&t, parent)?;
    p.one_of("accessLevel", &["ANY", "ACCESSIBLE"])?;
    let state = p.one_of(
        "lifecycleState",
        &["CREATING", "ACTIVE", "INACTIVE", "DELETING", "DELETED"],
    )?;
    // compartmentIdInSubtree applies only on the tenancy (OCI's rule); on a
    // compartment it is ignored and the children are listed.
    let subtree =
        p.bool("compartmentIdInSubtree")?.unwrap_or(false) && parent == t.identity.tenancy_id;
    let mut found: Vec<_> = if subtree {
        t.identity.subtree(parent)
    } else {
        t.identity.children(parent).collect()
    };
    found.retain(|c| {
        p.get("name").is_none_or(|n| n == c.name) && state.is_none_or(|s| s == c.state.as_str())
    });
    sort_items(&mut found, &p, &["TIMECREATED"], &["NAME"], |c| {
        (c.time_created, c.name.clone(), c.id.clone())
    })?;
    let ids: Vec<String> = found.iter().map(|c| c.id.clone()).collect();
    let (page, next) = paginate(ids, &p)?;
    let items: Vec<Value> = page
        .iter()
        .map(|id| compartment_json(&t, id).map(|(v, _)| v))
        .collect::<Result<_, _>>()?;
    Ok(Reply::page(&items, next))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateCompartment {
    compartment_id: String,
    name: String,
    description: String,
    freeform_tags: Option<FreeformTags>,
    defined_tags: Option<Value>,
}

async fn create_compartment(
    State(s): State<Shared>,
    ctx: Ctx,
    JsonBody(b): JsonBody<CreateCompartment>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    check_compartment(&t, &b.compartment_id)?;
    let id = t.world.mint.global("compartment");
    let now = t.now;
    t.identity
        .create(id.clone(), &b.compartment_id, &b.name, &b.description, now)?;
    let mut meta = Meta::new(
        &id,
        "compartment",
        &b.compartment_id,
        &b.name,
        now,
        "CREATING",
    );
    meta.freeform_tags = b.freeform_tags.unwrap_or_default();
    meta.defined_tags = b.defined_tags.unwrap_or(json!({}));
    t.registry.insert(meta);
    let d = t
        .durations
        .get_or("identity.compartment.create", SimDuration::from_secs(10));
    let cid = id.clone();
    t.after(d, move |t| {
        if t.identity.activate(&cid).is_ok() {
            t.registry.set_state(&cid, "ACTIVE");
        }
    });
    let (v, etag) = compartment_json(&t, &id)?;
    Ok(Reply::json(&v).etag(&etag))
}

async fn get_compartment(State(s): State<Shared>, ctx: Ctx, Path(id): Path<String>) -> ApiResult {
    let t = s.lock(&ctx);
    let (v, etag) = compartment_json(&t, &id)?;
    Ok(Reply::json(&v).etag(&etag))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateCompartment {
    name: Option<String>,
    description: Option<String>,
    freeform_tags: Option<FreeformTags>,
    defined_tags: Option<Value>,
}

async fn update_compartment(
    State(s): State<Shared>,
    ctx: Ctx,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<UpdateCompartment>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    t.identity
        .update(&id, b.name.as_deref(), b.description.as_deref())?;
    if let Ok(m) = t.registry.get_kind_mut(&id, "compartment") {
        if let Some(n) = &b.name {
            m.display_name = n.clone();
        }
        if let Some(f) = b.freeform_tags {
            m.freeform_tags = f;
        }
        if let Some(d) = b.defined_tags {
            m.defined_tags = d;
        }
    }
    t.registry.touch(&id);
    let (v, etag) = compartment_json(&t, &id)?;
    Ok(Reply::json(&v).etag(&etag))
}

async fn delete_compartment(
    State(s): State<Shared>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    let resources = t.registry.live_in_compartment(&id);
    t.identity.begin_delete(&id, resources)?;
    t.registry.set_state(&id, "DELETING");
    let d = t
        .durations
        .get_or("identity.compartment.delete", SimDuration::from_secs(120));
    let spec = WorkRequestSpec {
        service: "identity",
        ocid_type: WORK_REQUEST_OCID_TYPE,
        operation_type: "DELETE_COMPARTMENT".into(),
        compartment_id: id.clone(),
        resources: vec![WrResource {
            entity_type: "compartment".into(),
            action_type: "DELETED".into(),
            identifier: id.clone(),
            entity_uri: format!("/compartments/{id}"),
        }],
        duration: d,
    };
    let cid = id.clone();
    let wr = t.submit_work_request(
        spec,
        Box::new(move |t| {
            let suffix = deleted_suffix(&cid);
            t.identity
                .finish_delete(&cid, &suffix)
                .map_err(ApiError::from)?;
            t.registry.set_state(&cid, "DELETED");
            if let Ok(c) = t.identity.get(&cid)
                && let Ok(m) = t.registry.get_kind_mut(&cid, "compartment")
            {
                m.display_name = c.name.clone();
            }
            Ok(())
        }),
    );
    Ok(Reply::accepted(&wr).status(StatusCode::ACCEPTED))
}

/// The random-looking suffix a deleted compartment's name gets (8 characters).
fn deleted_suffix(id: &str) -> String {
    const ALPHA: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut h = fnv1a64(id.as_bytes());
    (0..8)
        .map(|_| {
            let c = ALPHA[(h % ALPHA.len() as u64) as usize] as char;
            h /= ALPHA.len() as u64;
            c
        })
        .collect()
}

/// The services whose work requests live under `/20160918/workRequests`.
const SHARED_WR_SERVICES: &[&str] = &["identity", "core"];

fn render_shared_wr(w: &super::workreq::WorkRequest, now: crate::kernel::SimTime) -> Value {
    let mut v = render_status_style(w, now);
    if w.service == "identity" {
        v["errors"] = json!(render_errors(w));
        v["logs"] = json!(render_logs(w));
    }
    v
}

async fn get_work_request(State(s): State<Shared>, ctx: Ctx, Path(id): Path<String>) -> ApiResult {
    let t = s.lock(&ctx);
    let w = t.work_requests.get_for(&id, SHARED_WR_SERVICES)?;
    Ok(Reply::json(&render_shared_wr(w, t.now))
        .etag(&super::wire::etag_of(&w.id, w.status as u64))
        .header("retry-after", "1"))
}

async fn list_work_requests(State(s): State<Shared>, ctx: Ctx, p: Params) -> ApiResult {
    let t = s.lock(&ctx);
    let c = p.required("compartmentId")?;
    let resource = p.get("resourceIdentifier").or(p.get("resourceId"));
    let items: Vec<Value> = t
        .work_requests
        .of_service(SHARED_WR_SERVICES)
        .into_iter()
        .filter(|w| w.compartment_id == c || w.resources.iter().any(|r| r.identifier == c))
        .filter(|w| resource.is_none_or(|r| w.resources.iter().any(|x| x.identifier == r)))
        .map(|w| render_shared_wr(w, t.now))
        .collect();
    let (page, next) = paginate(items, &p)?;
    Ok(Reply::page(&page, next))
}

async fn list_work_request_errors(
    State(s): State<Shared>,
    ctx: Ctx,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult {
    let t = s.lock(&ctx);
    let w = t.work_requests.get_for(&id, SHARED_WR_SERVICES)?;
    let (page, next) = paginate(render_errors(w), &p)?;
    Ok(Reply::page(&page, next))
}

async fn list_work_request_logs(
    State(s): State<Shared>,
    ctx: Ctx,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult {
    let t = s.lock(&ctx);
    let w = t.work_requests.get_for(&id, SHARED_WR_SERVICES)?;
    let (page, next) = paginate(render_logs(w), &p)?;
    Ok(Reply::page(&page, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_ocids_are_stable_and_shaped() {
        let a = fixed_ocid("availabilitydomain", "Uocm:PHX-AD-1");
        assert_eq!(a, fixed_ocid("availabilitydomain", "Uocm:PHX-AD-1"));
        assert_ne!(a, fixed_ocid("availabilitydomain", "Uocm:PHX-AD-2"));
        assert_eq!(a.len(), "ocid1.availabilitydomain.oc1..".len() + 60);
        assert_eq!(deleted_suffix("x").len(), 8);
    }
}
