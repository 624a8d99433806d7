//! Load Balancer (`/20170115`, iaas host, oci-api.md §5.7): load balancers
//! with their flexible shape, backend sets, backends, listeners, health and
//! their own work requests (`/loadBalancerWorkRequests`).
//!
//! Every mutation is asynchronous and returns no body: it is checked at once
//! against a copy of the load balancer model (errors are 400 with the model's
//! message) and applied to the World's model when its work request completes.
//! A backend's health comes from the World: a backend whose address is a
//! Ready pod on a live node answers its checks; a pod on a failed node, a pod
//! not Ready, or an address nothing holds does not (an assumption).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, put};
use serde::Deserialize;
use serde_json::{Value, json};

use super::core::check_compartment;
use super::core_net::{NewVnic, check_nsg_ids, register_vnic, release_vnic, set_vnic_nsgs};
use super::error::ApiError;
use super::pipeline::Ctx;
use super::registry::Meta;
use super::state::{Shared, Twin};
use super::wire::{
    ApiResult, FreeformTags, JsonBody, Params, Reply, Unmodelled, UnmodelledExcept, UnmodelledFlag,
    WireDefault, paginate, rfc3339, sort_items,
};
use super::workreq::{WorkRequest, WorkRequestSpec, WrFailure, WrResource, WrStatus};
use crate::kernel::{SimDuration, SimTime};
use crate::model::kube::cluster::PodState;
use crate::model::lb::{
    Backend, BackendSet, CreateLoadBalancer, HealthChecker, LbError, LbId, Listener, LoadBalancer,
    LoadBalancing, Policy, Probe, SHAPE_NAMES, Shape, backend_health, backend_set_health,
    load_balancer_health,
};
use crate::model::network::ip_string;

/// The load balancer routes.
pub fn routes(r: Router<Shared>) -> Router<Shared> {
    let lb = "/20170115/loadBalancers/{id}";
    r.route("/20170115/loadBalancers", get(list_lbs).post(create_lb))
        .route(lb, get(get_lb).put(update_lb).delete(delete_lb))
        .route(&format!("{lb}/updateShape"), put(update_shape))
        .route(&format!("{lb}/networkSecurityGroups"), put(update_nsgs))
        .route(&format!("{lb}/health"), get(get_lb_health))
        .route(&format!("{lb}/workRequests"), get(list_work_requests))
        .route(
            &format!("{lb}/backendSets"),
            get(list_backend_sets).post(create_backend_set),
        )
        .route(
            &format!("{lb}/backendSets/{{set}}"),
            get(get_backend_set)
                .put(update_backend_set)
                .delete(delete_backend_set),
        )
        .route(
            &format!("{lb}/backendSets/{{set}}/health"),
            get(get_set_health),
        )
        .route(
            &format!("{lb}/backendSets/{{set}}/healthChecker"),
            get(get_health_checker),
        )
        .route(
            &format!("{lb}/backendSets/{{set}}/backends"),
            get(list_backends).post(create_backend),
        )
        .route(
            &format!("{lb}/backendSets/{{set}}/backends/{{backend}}"),
            get(get_backend).delete(delete_backend),
        )
        .route(
            &format!("{lb}/backendSets/{{set}}/backends/{{backend}}/health"),
            get(get_backend_health_route),
        )
        .route(
            &format!("{lb}/listeners"),
            axum::routing::post(create_listener),
        )
        .route(
            &format!("{lb}/listeners/{{name}}"),
            put(update_listener).delete(delete_listener),
        )
        .route("/20170115/loadBalancerShapes", get(list_shapes))
        .route("/20170115/loadBalancerHealths", get(list_healths))
        .route(
            "/20170115/loadBalancerWorkRequests/{id}",
            get(get_work_request),
        )
}

/// What OCI shows of load balancers that the model does not keep.
#[derive(Debug, Default)]
pub struct LbState {
    nsgs: BTreeMap<String, Vec<String>>,
    /// The VNIC of each load balancer, once it is ACTIVE.
    vnics: BTreeMap<String, String>,
}

// ------------------------------------------------------------------ wire types

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "camelCase")]
struct ShapeDetails {
    minimum_bandwidth_in_mbps: u32,
    maximum_bandwidth_in_mbps: u32,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct HealthCheckerDetails {
    protocol: String,
    url_path: Option<String>,
    port: Option<u16>,
    return_code: Option<u16>,
    retries: Option<u32>,
    timeout_in_millis: Option<u64>,
    interval_in_millis: Option<u64>,
    response_body_regex: Option<String>,
    // OCI fields the twin does not model: refused when given.
    _is_force_plain_text: Option<UnmodelledFlag<false>>,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct BackendDetails {
    ip_address: String,
    port: u16,
    weight: Option<u32>,
    max_connections: Option<u32>,
    backup: Option<bool>,
    drain: Option<bool>,
    offline: Option<bool>,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct BackendSetDetails {
    name: Option<String>,
    policy: String,
    backends: Option<Vec<BackendDetails>>,
    health_checker: HealthCheckerDetails,
    // OCI fields the twin does not model: refused when given.
    _backend_max_connections: Option<Unmodelled>,
    _ssl_configuration: Option<Unmodelled>,
    _session_persistence_configuration: Option<Unmodelled>,
    _lb_cookie_session_persistence_configuration: Option<Unmodelled>,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct ListenerDetails {
    name: Option<String>,
    default_backend_set_name: String,
    port: u16,
    protocol: String,
    // OCI fields the twin does not model: refused when given.
    _hostname_names: Option<Unmodelled>,
    _path_route_set_name: Option<Unmodelled>,
    _ssl_configuration: Option<Unmodelled>,
    _connection_configuration: Option<Unmodelled>,
    _routing_policy_name: Option<Unmodelled>,
    _rule_set_names: Option<Unmodelled>,
}

/// The twin's load balancers are IPv4 only: `ipMode` may be OCI's default.
struct Ipv4Only;

impl WireDefault for Ipv4Only {
    const VALUE: &'static str = "IPV4";
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateLb {
    compartment_id: String,
    display_name: String,
    shape_name: String,
    shape_details: Option<ShapeDetails>,
    is_private: Option<bool>,
    is_delete_protection_enabled: Option<bool>,
    subnet_ids: Vec<String>,
    network_security_group_ids: Option<Vec<String>>,
    backend_sets: Option<BTreeMap<String, BackendSetDetails>>,
    listeners: Option<BTreeMap<String, ListenerDetails>>,
    freeform_tags: Option<FreeformTags>,
    defined_tags: Option<Value>,
    // OCI fields the twin does not model: refused when given.
    _ip_mode: Option<UnmodelledExcept<Ipv4Only>>,
    _ipv6_subnet_cidr: Option<Unmodelled>,
    _is_request_id_enabled: Option<UnmodelledFlag<false>>,
    _request_id_header: Option<Unmodelled>,
    _reserved_ips: Option<Unmodelled>,
    _hostnames: Option<Unmodelled>,
    _certificates: Option<Unmodelled>,
    _ssl_cipher_suites: Option<Unmodelled>,
    _path_route_sets: Option<Unmodelled>,
    _rule_sets: Option<Unmodelled>,
    _security_attributes: Option<Unmodelled>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateLb {
    display_name: Option<String>,
    is_delete_protection_enabled: Option<bool>,
    freeform_tags: Option<FreeformTags>,
    defined_tags: Option<Value>,
    // OCI fields the twin does not model: refused when given.
    _ip_mode: Option<UnmodelledExcept<Ipv4Only>>,
    _ipv6_subnet_cidr: Option<Unmodelled>,
    _reserved_ips: Option<Unmodelled>,
    _is_request_id_enabled: Option<UnmodelledFlag<false>>,
    _request_id_header: Option<Unmodelled>,
    _security_attributes: Option<Unmodelled>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateShape {
    shape_name: String,
    shape_details: Option<ShapeDetails>,
}

/// UpdateNetworkSecurityGroupsDetails: the list that replaces the load
/// balancer's NSGs (empty, or absent, removes them all).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateNsgs {
    network_security_group_ids: Option<Vec<String>>,
}

// ------------------------------------------------------------------ conversions

fn lb_error(e: LbError) -> ApiError {
    match e {
        LbError::Limit(_) => ApiError::limit(e.to_string()),
        LbError::Duplicate { .. } | LbError::InUse { .. } | LbError::DeleteProtected(_) => {
            ApiError::conflict(e.to_string())
        }
        LbError::NotFound { kind, ref name, .. } => ApiError::not_found(kind, name),
        other => ApiError::invalid("request", other.to_string()),
    }
}

fn shape_of(name: &str, d: Option<ShapeDetails>) -> Result<Shape, ApiError> {
    Shape::new(
        name,
        d.map(|d| (d.minimum_bandwidth_in_mbps, d.maximum_bandwidth_in_mbps)),
    )
    .map_err(|e| ApiError::invalid("shapeDetails", e.to_string()))
}

fn checker_of(h: &HealthCheckerDetails) -> HealthChecker {
    let mut c = HealthChecker::new(&h.protocol);
    if let Some(p) = &h.url_path {
        c.url_path = Some(p.clone());
    }
    c.port = h.port.unwrap_or(0);
    c.return_code = h.return_code.unwrap_or(200);
    if let Some(r) = h.retries {
        c.retries = r;
    }
    if let Some(ms) = h.timeout_in_millis {
        c.timeout = SimDuration::from_ms(ms);
    }
    if let Some(ms) = h.interval_in_millis {
        c.interval = SimDuration::from_ms(ms);
    }
    if let Some(r) = &h.response_body_regex {
        c.response_body_regex = r.clone();
    }
    c
}

fn backend_of(field: &str, b: &BackendDetails, now: SimTime) -> Result<Backend, ApiError> {
    b.ip_address.parse::<Ipv4Addr>().map_err(|_| {
        ApiError::invalid(
            &format!("{field}.ipAddress"),
            format!("`{}` is not an IPv4 address", b.ip_address),
        )
    })?;
    if b.port == 0 {
        return Err(ApiError::invalid(
            &format!("{field}.port"),
            "must be between 1 and 65535",
        ));
    }
    Ok(Backend {
        ip_address: b.ip_address.clone(),
        port: b.port,
        weight: b.weight.unwrap_or(1),
        max_connections: b.max_connections,
        backup: b.backup.unwrap_or(false),
        drain: b.drain.unwrap_or(false),
        offline: b.offline.unwrap_or(false),
        added_at: now,
    })
}

fn set_of(name: &str, d: &BackendSetDetails, now: SimTime) -> Result<BackendSet, ApiError> {
    let policy =
        Policy::parse(&d.policy).map_err(|e| ApiError::invalid("policy", e.to_string()))?;
    let mut backends = BTreeMap::new();
    for (i, b) in d.backends.iter().flatten().enumerate() {
        let b = backend_of(&format!("backends[{i}]"), b, now)?;
        backends.insert(b.name(), b);
    }
    let set = BackendSet {
        name: name.to_string(),
        policy,
        backends,
        health_checker: checker_of(&d.health_checker),
    };
    set.health_checker
        .validate()
        .map_err(|e| ApiError::invalid("healthChecker", e.to_string()))?;
    Ok(set)
}

/// A listener's `defaultBackendSetName` must name a backend set of the load
/// balancer: a body field, so 400 rather than 404.
fn check_default_set(t: &Twin, lid: LbId, d: &ListenerDetails) -> Result<(), ApiError> {
    if t.world
        .load_balancers
        .get(lid)
        .backend_sets
        .contains_key(&d.default_backend_set_name)
    {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "defaultBackendSetName",
            format!(
                "backend set `{}` does not exist",
                d.default_backend_set_name
            ),
        ))
    }
}

fn listener_of(name: &str, d: &ListenerDetails) -> Listener {
    Listener {
        name: name.to_string(),
        default_backend_set: d.default_backend_set_name.clone(),
        port: d.port,
        protocol: d.protocol.clone(),
    }
}

// ------------------------------------------------------------------ rendering

fn checker_json(c: &HealthChecker) -> Value {
    json!({
        "protocol": c.protocol,
        "urlPath": c.url_path,
        "port": c.port,
        "returnCode": c.return_code,
        "retries": c.retries,
        "timeoutInMillis": c.timeout.as_ms(),
        "intervalInMillis": c.interval.as_ms(),
        "responseBodyRegex": c.response_body_regex,
        "isForcePlainText": false,
    })
}

fn backend_json(b: &Backend) -> Value {
    let mut v = json!({
        "name": b.name(),
        "ipAddress": b.ip_address,
        "port": b.port,
        "weight": b.weight,
        "drain": b.drain,
        "backup": b.backup,
        "offline": b.offline,
    });
    if let Some(m) = b.max_connections {
        v["maxConnections"] = json!(m);
    }
    v
}

fn set_json(s: &BackendSet) -> Value {
    json!({
        "name": s.name,
        "policy": s.policy.as_str(),
        "backends": s.backends.values().map(backend_json).collect::<Vec<_>>(),
        "healthChecker": checker_json(&s.health_checker),
    })
}

fn listener_json(l: &Listener) -> Value {
    json!({
        "name": l.name,
        "defaultBackendSetName": l.default_backend_set,
        "port": l.port,
        "protocol": l.protocol,
        "hostnameNames": [],
        "ruleSetNames": [],
    })
}

fn lb_json(t: &Twin, m: &Meta, lb: &LoadBalancer) -> Value {
    let mut ips = vec![json!({"ipAddress": ip_string(lb.private_ip), "isPublic": false})];
    if lb.public_ip.is_some() {
        ips = vec![json!({"ipAddress": lb.ip_string(), "isPublic": true})];
    }
    let nsgs = t
        .ext
        .get::<LbState>()
        .and_then(|s| s.nsgs.get(&lb.id).cloned())
        .unwrap_or_default();
    let mut v = json!({
        "id": lb.id,
        "compartmentId": m.compartment_id,
        "displayName": m.display_name,
        "lifecycleState": lb.lifecycle.as_str(),
        "timeCreated": rfc3339(m.time_created),
        "ipAddresses": ips,
        "shapeName": lb.shape.name(),
        "isPrivate": lb.is_private,
        "isDeleteProtectionEnabled": lb.delete_protected,
        "isRequestIdEnabled": false,
        "subnetIds": lb.subnets.iter().map(|s| t.world.network.subnet(*s).id.clone()).collect::<Vec<_>>(),
        "networkSecurityGroupIds": nsgs,
        "listeners": lb.listeners.iter().map(|(k, l)| (k.clone(), listener_json(l))).collect::<serde_json::Map<_, _>>(),
        "backendSets": lb.backend_sets.iter().map(|(k, s)| (k.clone(), set_json(s))).collect::<serde_json::Map<_, _>>(),
        "hostnames": {},
        "certificates": {},
        "sslCipherSuites": {},
        "pathRouteSets": {},
        "ruleSets": {},
        "routingPolicies": {},
        "freeformTags": m.freeform_tags,
        "definedTags": m.defined_tags,
        "systemTags": {},
        "ipMode": "IPV4",
    });
    if let Shape::Flexible { min_mbps, max_mbps } = lb.shape {
        v["shapeDetails"] =
            json!({"minimumBandwidthInMbps": min_mbps, "maximumBandwidthInMbps": max_mbps});
    }
    v
}

// ------------------------------------------------------------------ helpers

fn lb_of(t: &Twin, id: &str) -> Result<LbId, ApiError> {
    t.registry.get_kind(id, "loadbalancer")?;
    t.world
        .load_balancers
        .by_ocid(id)
        .ok_or_else(|| ApiError::not_found("load balancer", id))
}

/// Registers the VNIC of an ACTIVE load balancer: its private address in its
/// first subnet, in its NSGs.
fn attach_vnic(t: &mut Twin, lb_ocid: &str, lid: LbId) {
    let lb = t.world.load_balancers.get(lid);
    let (subnet, addr, name) = (lb.subnets[0], lb.private_ip, lb.display_name.clone());
    let compartment = lb.compartment_id.clone();
    let nsg_ids = t
        .ext
        .get::<LbState>()
        .and_then(|s| s.nsgs.get(lb_ocid).cloned())
        .unwrap_or_default();
    let vnic = register_vnic(
        t,
        NewVnic {
            compartment: &compartment,
            subnet,
            addr,
            display_name: &name,
            availability_domain: None,
            nsg_ids: &nsg_ids,
            parent: lb_ocid,
        },
    );
    t.ext
        .get_mut::<LbState>()
        .vnics
        .insert(lb_ocid.to_string(), vnic);
}

fn wr_failure(e: LbError) -> WrFailure {
    WrFailure {
        code: "BAD_INPUT".into(),
        message: e.to_string(),
    }
}

/// Submits a load balancer work request whose completion applies `apply` to
/// the model (and bumps the load balancer's etag).
fn submit(
    t: &mut Twin,
    lb_ocid: &str,
    op: &str,
    d: SimDuration,
    apply: impl FnOnce(&mut Twin) -> Result<(), WrFailure> + Send + 'static,
) -> String {
    let compartment = t
        .registry
        .get(lb_ocid)
        .map(|m| m.compartment_id.clone())
        .unwrap_or_default();
    let spec = WorkRequestSpec {
        service: "lb",
        ocid_type: "loadbalancerworkrequest",
        operation_type: op.to_string(),
        compartment_id: compartment,
        resources: vec![WrResource {
            entity_type: "loadbalancer".into(),
            action_type: "UPDATED".into(),
            identifier: lb_ocid.to_string(),
            entity_uri: format!("/loadBalancers/{lb_ocid}"),
        }],
        duration: d,
    };
    let id = lb_ocid.to_string();
    t.submit_work_request(
        spec,
        Box::new(move |t| {
            let r = apply(t);
            t.registry.touch(&id);
            r
        }),
    )
}

fn dur(t: &mut Twin, key: &str, secs: u64) -> SimDuration {
    t.durations.get_or(key, SimDuration::from_secs(secs))
}

/// Runs `check` on a copy of the model, so a refused change changes nothing.
fn dry_run(
    t: &Twin,
    check: impl FnOnce(&mut LoadBalancing) -> Result<(), LbError>,
) -> Result<(), ApiError> {
    let mut copy = t.world.load_balancers.clone();
    check(&mut copy).map_err(lb_error)
}

// ------------------------------------------------------------------ load balancers

async fn create_lb(
    State(s): State<Shared>,
    ctx: Ctx,
    JsonBody(b): JsonBody<CreateLb>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    check_compartment(&t, &b.compartment_id)?;
    let shape = shape_of(&b.shape_name, b.shape_details)?;
    let mut subnets = Vec::new();
    for (i, sid) in b.subnet_ids.iter().enumerate() {
        subnets.push(t.world.network.subnet_by_ocid(sid).ok_or_else(|| {
            ApiError::invalid(
                &format!("subnetIds[{i}]"),
                format!("subnet {sid} does not exist"),
            )
        })?);
    }
    if subnets.is_empty() {
        return Err(ApiError::missing("subnetIds"));
    }
    check_nsg_ids(
        &t,
        "networkSecurityGroupIds",
        b.network_security_group_ids.as_deref().unwrap_or_default(),
        t.world.network.subnet(subnets[0]).vcn,
    )?;
    let now = t.now;
    let mut sets = Vec::new();
    for (name, d) in b.backend_sets.iter().flatten() {
        sets.push(
            set_of(name, d, now)
                .map_err(|e| ApiError::invalid(&format!("backendSets.{name}"), e.message))?,
        );
    }
    let listeners: Vec<Listener> = b
        .listeners
        .iter()
        .flatten()
        .map(|(n, d)| listener_of(n, d))
        .collect();
    let id = t.world.mint.regional("loadbalancer");
    let req = CreateLoadBalancer {
        display_name: b.display_name.clone(),
        compartment_id: b.compartment_id.clone(),
        shape,
        is_private: b.is_private.unwrap_or(false),
        subnets,
        delete_protected: b.is_delete_protection_enabled.unwrap_or(false),
    };
    // Everything the body asks for must fit before anything is created.
    let mut copy = t.world.load_balancers.clone();
    let mut net = t.world.network.clone();
    let probe = copy
        .create(req.clone(), id.clone(), &mut net, now)
        .map_err(lb_error)?;
    copy.activate(probe);
    for s in &sets {
        copy.add_backend_set(probe, s.clone()).map_err(lb_error)?;
    }
    for l in &listeners {
        copy.add_listener(probe, l.clone()).map_err(lb_error)?;
    }
    let w = &mut t.world;
    let lid = w
        .load_balancers
        .create(req, id.clone(), &mut w.network, now)
        .map_err(lb_error)?;
    let mut m = Meta::new(
        &id,
        "loadbalancer",
        &b.compartment_id,
        &b.display_name,
        now,
        "CREATING",
    );
    m.freeform_tags = b.freeform_tags.unwrap_or_default();
    m.defined_tags = b.defined_tags.unwrap_or(json!({}));
    t.registry.insert(m);
    t.ext
        .get_mut::<LbState>()
        .nsgs
        .insert(id.clone(), b.network_security_group_ids.unwrap_or_default());
    let d = dur(&mut t, "lb.loadbalancer.create", 120);
    let lb_ocid = id.clone();
    let wr = submit(&mut t, &id, "CreateLoadBalancer", d, move |t| {
        let lbs = &mut t.world.load_balancers;
        lbs.activate(lid);
        for s in sets {
            lbs.add_backend_set(lid, s).map_err(wr_failure)?;
        }
        for l in listeners {
            lbs.add_listener(lid, l).map_err(wr_failure)?;
        }
        t.registry.set_state(&lb_ocid, "ACTIVE");
        attach_vnic(t, &lb_ocid, lid);
        Ok(())
    });
    Ok(Reply::accepted(&wr))
}

async fn get_lb(State(s): State<Shared>, ctx: Ctx, Path(id): Path<String>) -> ApiResult {
    let t = s.lock(&ctx);
    let lid = lb_of(&t, &id)?;
    let m = t.registry.get_kind(&id, "loadbalancer")?;
    Ok(Reply::json(&lb_json(&t, m, t.world.load_balancers.get(lid))).etag(&m.etag()))
}

async fn list_lbs(State(s): State<Shared>, ctx: Ctx, p: Params) -> ApiResult {
    let t = s.lock(&ctx);
    let c = p.required("compartmentId")?;
    p.one_of("detail", &["full", "simple"])?;
    let state = p.one_of(
        "lifecycleState",
        &["CREATING", "FAILED", "ACTIVE", "DELETING", "DELETED"],
    )?;
    let name = p.get("displayName");
    let mut items: Vec<(&Meta, &LoadBalancer)> = t
        .registry
        .of_kind("loadbalancer")
        .filter(|m| m.compartment_id == c && name.is_none_or(|n| n == m.display_name))
        .filter_map(|m| {
            t.world
                .load_balancers
                .by_ocid(&m.id)
                .map(|l| (m, t.world.load_balancers.get(l)))
        })
        .filter(|(_, l)| state.is_none_or(|s| s == l.lifecycle.as_str()))
        .collect();
    sort_items(
        &mut items,
        &p,
        &["TIMECREATED"],
        &["DISPLAYNAME"],
        |(m, _)| m.sort_key(),
    )?;
    let (page, next) = paginate(items, &p)?;
    let v: Vec<Value> = page.into_iter().map(|(m, l)| lb_json(&t, m, l)).collect();
    Ok(Reply::page(&v, next))
}

async fn update_lb(
    State(s): State<Shared>,
    ctx: Ctx,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<UpdateLb>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    let lid = lb_of(&t, &id)?;
    {
        let m = t.registry.get_kind_mut(&id, "loadbalancer")?;
        if let Some(n) = b.display_name {
            m.display_name = n;
        }
        if let Some(f) = b.freeform_tags {
            m.freeform_tags = f;
        }
        if let Some(d) = b.defined_tags {
            m.defined_tags = d;
        }
    }
    let d = dur(&mut t, "lb.loadbalancer.update", 10);
    let protect = b.is_delete_protection_enabled;
    let wr = submit(&mut t, &id, "UpdateLoadBalancer", d, move |t| {
        if let Some(p) = protect {
            t.world.load_balancers.lbs[lid.0 as usize].delete_protected = p;
        }
        Ok(())
    });
    Ok(Reply::accepted(&wr))
}

async fn delete_lb(State(s): State<Shared>, ctx: Ctx, Path(id): Path<String>) -> ApiResult {
    let mut t = s.lock(&ctx);
    let lid = lb_of(&t, &id)?;
    t.world.load_balancers.begin_delete(lid).map_err(lb_error)?;
    t.registry.set_state(&id, "DELETING");
    let d = dur(&mut t, "lb.loadbalancer.delete", 30);
    let lb_ocid = id.clone();
    let wr = submit(&mut t, &id, "DeleteLoadBalancer", d, move |t| {
        let w = &mut t.world;
        w.load_balancers.finish_delete(lid, &mut w.network);
        t.registry.set_state(&lb_ocid, "DELETED");
        if let Some(vnic) = t.ext.get_mut::<LbState>().vnics.remove(&lb_ocid) {
            release_vnic(t, &vnic);
        }
        Ok(())
    });
    Ok(Reply::accepted(&wr))
}

/// UpdateNetworkSecurityGroups: the list replaces the load balancer's NSGs
/// when the work request completes (`lb.loadbalancer.update_nsgs`), and its
/// VNIC moves to them. The ids are checked at once and again at completion
/// (an NSG deleted meanwhile fails the work request rather than leave the
/// VNIC in a group that no longer exists).
async fn update_nsgs(
    State(s): State<Shared>,
    ctx: Ctx,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<UpdateNsgs>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    let lid = lb_of(&t, &id)?;
    t.world.load_balancers.check_active(lid).map_err(lb_error)?;
    let ids = b.network_security_group_ids.unwrap_or_default();
    let lb = t.world.load_balancers.get(lid);
    let vcn = t.world.network.subnet(lb.subnets[0]).vcn;
    const FIELD: &str = "networkSecurityGroupIds";
    check_nsg_ids(&t, FIELD, &ids, vcn)?;
    let d = dur(&mut t, "lb.loadbalancer.update_nsgs", 10);
    let lb_ocid = id.clone();
    let wr = submit(&mut t, &id, "UpdateNetworkSecurityGroups", d, move |t| {
        t.world
            .load_balancers
            .check_active(lid)
            .map_err(wr_failure)?;
        check_nsg_ids(t, FIELD, &ids, vcn).map_err(|e| WrFailure {
            code: "BAD_INPUT".into(),
            message: e.message,
        })?;
        if let Some(vnic) = t.ext.get::<LbState>().and_then(|s| s.vnics.get(&lb_ocid)) {
            let vnic = vnic.clone();
            set_vnic_nsgs(t, &vnic, &ids);
        }
        t.ext.get_mut::<LbState>().nsgs.insert(lb_ocid, ids);
        Ok(())
    });
    Ok(Reply::accepted(&wr))
}

async fn update_shape(
    State(s): State<Shared>,
    ctx: Ctx,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<UpdateShape>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    let lid = lb_of(&t, &id)?;
    let shape = shape_of(&b.shape_name, b.shape_details)?;
    let s2 = shape.clone();
    dry_run(&t, |l| l.update_shape(lid, s2))?;
    let d = dur(&mut t, "lb.loadbalancer.update_shape", 30);
    let wr = submit(&mut t, &id, "UpdateShape", d, move |t| {
        t.world
            .load_balancers
            .update_shape(lid, shape)
            .map_err(wr_failure)
    });
    Ok(Reply::accepted(&wr))
}

async fn list_shapes(State(s): State<Shared>, ctx: Ctx, p: Params) -> ApiResult {
    let _t = s.lock(&ctx);
    p.required("compartmentId")?;
    let items: Vec<Value> = SHAPE_NAMES.iter().map(|n| json!({"name": n})).collect();
    let (page, next) = paginate(items, &p)?;
    Ok(Reply::page(&page, next))
}

// ------------------------------------------------------------------ backend sets

async fn create_backend_set(
    State(s): State<Shared>,
    ctx: Ctx,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<BackendSetDetails>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    let lid = lb_of(&t, &id)?;
    let name = b.name.clone().ok_or_else(|| ApiError::missing("name"))?;
    let set = set_of(&name, &b, t.now)?;
    let s2 = set.clone();
    dry_run(&t, |l| l.add_backend_set(lid, s2))?;
    let d = dur(&mut t, "lb.backendset.create", 10);
    let wr = submit(&mut t, &id, "CreateBackendSet", d, move |t| {
        t.world
            .load_balancers
            .add_backend_set(lid, set)
            .map_err(wr_failure)
    });
    Ok(Reply::accepted(&wr))
}

async fn update_backend_set(
    State(s): State<Shared>,
    ctx: Ctx,
    Path((id, name)): Path<(String, String)>,
    JsonBody(b): JsonBody<BackendSetDetails>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    let lid = lb_of(&t, &id)?;
    let set = set_of(&name, &b, t.now)?;
    let s2 = set.clone();
    dry_run(&t, |l| l.update_backend_set(lid, s2))?;
    let d = dur(&mut t, "lb.backendset.update", 10);
    let wr = submit(&mut t, &id, "UpdateBackendSet", d, move |t| {
        t.world
            .load_balancers
            .update_backend_set(lid, set)
            .map_err(wr_failure)
    });
    Ok(Reply::accepted(&wr))
}

async fn delete_backend_set(
    State(s): State<Shared>,
    ctx: Ctx,
    Path((id, name)): Path<(String, String)>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    let lid = lb_of(&t, &id)?;
    let n2 = name.clone();
    dry_run(&t, |l| l.remove_backend_set(lid, &n2))?;
    let d = dur(&mut t, "lb.backendset.delete", 10);
    let wr = submit(&mut t, &id, "DeleteBackendSet", d, move |t| {
        t.world
            .load_balancers
            .remove_backend_set(lid, &name)
            .map_err(wr_failure)
    });
    Ok(Reply::accepted(&wr))
}

fn set_ref<'a>(t: &'a Twin, id: &str, name: &str) -> Result<&'a BackendSet, ApiError> {
    let lid = lb_of(t, id)?;
    t.world
        .load_balancers
        .get(lid)
        .backend_sets
        .get(name)
        .ok_or_else(|| ApiError::not_found("backend set", name))
}

async fn get_backend_set(
    State(s): State<Shared>,
    ctx: Ctx,
    Path((id, name)): Path<(String, String)>,
) -> ApiResult {
    let t = s.lock(&ctx);
    let set = set_ref(&t, &id, &name)?;
    Ok(Reply::json(&set_json(set)).etag(&t.registry.etag(&id).unwrap_or_default()))
}

async fn list_backend_sets(State(s): State<Shared>, ctx: Ctx, Path(id): Path<String>) -> ApiResult {
    let t = s.lock(&ctx);
    let lid = lb_of(&t, &id)?;
    let v: Vec<Value> = t
        .world
        .load_balancers
        .get(lid)
        .backend_sets
        .values()
        .map(set_json)
        .collect();
    Ok(Reply::json(&v).etag(&t.registry.etag(&id).unwrap_or_default()))
}

async fn get_health_checker(
    State(s): State<Shared>,
    ctx: Ctx,
    Path((id, name)): Path<(String, String)>,
) -> ApiResult {
    let t = s.lock(&ctx);
    let set = set_ref(&t, &id, &name)?;
    Ok(Reply::json(&checker_json(&set.health_checker))
        .etag(&t.registry.etag(&id).unwrap_or_default()))
}

// ------------------------------------------------------------------ backends

async fn create_backend(
    State(s): State<Shared>,
    ctx: Ctx,
    Path((id, set)): Path<(String, String)>,
    JsonBody(b): JsonBody<BackendDetails>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    let lid = lb_of(&t, &id)?;
    let backend = backend_of("body", &b, t.now)?;
    let (b2, s2) = (backend.clone(), set.clone());
    dry_run(&t, |l| l.add_backend(lid, &s2, b2))?;
    let d = dur(&mut t, "lb.backend.create", 10);
    let wr = submit(&mut t, &id, "CreateBackend", d, move |t| {
        let mut backend = backend;
        backend.added_at = t.now;
        t.world
            .load_balancers
            .add_backend(lid, &set, backend)
            .map_err(wr_failure)
    });
    Ok(Reply::accepted(&wr))
}

async fn delete_backend(
    State(s): State<Shared>,
    ctx: Ctx,
    Path((id, set, backend)): Path<(String, String, String)>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    let lid = lb_of(&t, &id)?;
    let (s2, b2) = (set.clone(), backend.clone());
    dry_run(&t, |l| l.remove_backend(lid, &s2, &b2))?;
    let d = dur(&mut t, "lb.backend.delete", 10);
    let wr = submit(&mut t, &id, "DeleteBackend", d, move |t| {
        t.world
            .load_balancers
            .remove_backend(lid, &set, &backend)
            .map_err(wr_failure)
    });
    Ok(Reply::accepted(&wr))
}

async fn list_backends(
    State(s): State<Shared>,
    ctx: Ctx,
    Path((id, set)): Path<(String, String)>,
) -> ApiResult {
    let t = s.lock(&ctx);
    let set = set_ref(&t, &id, &set)?;
    let v: Vec<Value> = set.backends.values().map(backend_json).collect();
    Ok(Reply::json(&v).etag(&t.registry.etag(&id).unwrap_or_default()))
}

async fn get_backend(
    State(s): State<Shared>,
    ctx: Ctx,
    Path((id, set, backend)): Path<(String, String, String)>,
) -> ApiResult {
    let t = s.lock(&ctx);
    let set = set_ref(&t, &id, &set)?;
    let b = set
        .backends
        .get(&backend)
        .ok_or_else(|| ApiError::not_found("backend", &backend))?;
    Ok(Reply::json(&backend_json(b)).etag(&t.registry.etag(&id).unwrap_or_default()))
}

// ------------------------------------------------------------------ listeners

async fn create_listener(
    State(s): State<Shared>,
    ctx: Ctx,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<ListenerDetails>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    let lid = lb_of(&t, &id)?;
    let name = b.name.clone().ok_or_else(|| ApiError::missing("name"))?;
    check_default_set(&t, lid, &b)?;
    let l = listener_of(&name, &b);
    let l2 = l.clone();
    dry_run(&t, |m| m.add_listener(lid, l2))?;
    let d = dur(&mut t, "lb.listener.create", 10);
    let wr = submit(&mut t, &id, "CreateListener", d, move |t| {
        t.world
            .load_balancers
            .add_listener(lid, l)
            .map_err(wr_failure)
    });
    Ok(Reply::accepted(&wr))
}

async fn update_listener(
    State(s): State<Shared>,
    ctx: Ctx,
    Path((id, name)): Path<(String, String)>,
    JsonBody(b): JsonBody<ListenerDetails>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    let lid = lb_of(&t, &id)?;
    check_default_set(&t, lid, &b)?;
    let l = listener_of(&name, &b);
    let (l2, n2) = (l.clone(), name.clone());
    dry_run(&t, |m| {
        m.remove_listener(lid, &n2)?;
        m.add_listener(lid, l2)
    })?;
    let d = dur(&mut t, "lb.listener.update", 10);
    let wr = submit(&mut t, &id, "UpdateListener", d, move |t| {
        let lbs = &mut t.world.load_balancers;
        lbs.remove_listener(lid, &name).map_err(wr_failure)?;
        lbs.add_listener(lid, l).map_err(wr_failure)
    });
    Ok(Reply::accepted(&wr))
}

async fn delete_listener(
    State(s): State<Shared>,
    ctx: Ctx,
    Path((id, name)): Path<(String, String)>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    let lid = lb_of(&t, &id)?;
    let n2 = name.clone();
    dry_run(&t, |m| m.remove_listener(lid, &n2))?;
    let d = dur(&mut t, "lb.listener.delete", 10);
    let wr = submit(&mut t, &id, "DeleteListener", d, move |t| {
        t.world
            .load_balancers
            .remove_listener(lid, &name)
            .map_err(wr_failure)
    });
    Ok(Reply::accepted(&wr))
}

// ------------------------------------------------------------------ health

/// What the World says about a backend's address now.
fn probe(t: &Twin, b: &Backend) -> Probe {
    let Ok(addr) = b.ip_address.parse::<Ipv4Addr>() else {
        return Probe::Down { since: b.added_at };
    };
    let addr = u32::from(addr);
    let pod =
        t.world.kube.pods.iter().find(|p| {
            p.ip == Some(addr) && matches!(p.state, PodState::Starting | PodState::Running)
        });
    let Some(p) = pod else {
        return Probe::Down { since: b.added_at };
    };
    let node = p.node.expect("a pod with an address is bound");
    if let Some(since) = t.world.node_down_since(node) {
        return Probe::Down { since };
    }
    match (p.ready, p.ready_at) {
        (true, Some(at)) => Probe::Up { since: at },
        _ => Probe::Down {
            since: p.bound_at.unwrap_or(b.added_at),
        },
    }
}

fn backend_status(t: &Twin, set: &BackendSet, b: &Backend) -> crate::model::lb::Health {
    backend_health(b, &set.health_checker, probe(t, b), t.now)
}

fn set_status(
    t: &Twin,
    lb: &LoadBalancer,
    set: &BackendSet,
) -> (
    crate::model::lb::Health,
    Vec<(String, crate::model::lb::Health)>,
) {
    let per: Vec<(String, crate::model::lb::Health)> = set
        .backends
        .values()
        .map(|b| (b.name(), backend_status(t, set, b)))
        .collect();
    let has_listener = lb
        .listeners
        .values()
        .any(|l| l.default_backend_set == set.name);
    let h: Vec<_> = per.iter().map(|(_, h)| *h).collect();
    (backend_set_health(&h, has_listener), per)
}

fn lb_status(
    t: &Twin,
    lb: &LoadBalancer,
) -> (
    crate::model::lb::Health,
    Vec<(String, crate::model::lb::Health)>,
) {
    let sets: Vec<(String, crate::model::lb::Health)> = lb
        .backend_sets
        .values()
        .map(|s| (s.name.clone(), set_status(t, lb, s).0))
        .collect();
    let h: Vec<_> = sets.iter().map(|(_, h)| *h).collect();
    let active = lb.lifecycle == crate::model::lb::LbLifecycle::Active;
    (load_balancer_health(active, &h), sets)
}

fn names_in(
    list: &[(String, crate::model::lb::Health)],
    h: crate::model::lb::Health,
) -> Vec<String> {
    list.iter()
        .filter(|(_, x)| *x == h)
        .map(|(n, _)| n.clone())
        .collect()
}

async fn get_backend_health_route(
    State(s): State<Shared>,
    ctx: Ctx,
    Path((id, set, backend)): Path<(String, String, String)>,
) -> ApiResult {
    use crate::model::lb::Health;
    let t = s.lock(&ctx);
    let lid = lb_of(&t, &id)?;
    let lb = t.world.load_balancers.get(lid);
    let set = set_ref(&t, &id, &set)?;
    let b = set
        .backends
        .get(&backend)
        .ok_or_else(|| ApiError::not_found("backend", &backend))?;
    let status = backend_status(&t, set, b);
    let interval = set.health_checker.interval.as_ms().max(1);
    let mut results = Vec::new();
    if t.now.as_ms() >= b.added_at.as_ms() + interval {
        let checks = (t.now.as_ms() - b.added_at.as_ms()) / interval;
        let last = SimTime(b.added_at.as_ms() + checks * interval);
        let up = matches!(probe(&t, b), Probe::Up { .. });
        let check = if b.offline {
            "OFFLINE"
        } else if up {
            "OK"
        } else {
            "CONNECT_FAILED"
        };
        results.push(json!({
            "subnetId": t.world.network.subnet(lb.subnets[0]).id,
            "sourceIpAddress": ip_string(lb.private_ip),
            "timestamp": rfc3339(last),
            "healthCheckStatus": check,
        }));
    }
    let _ = Health::Ok;
    Ok(
        Reply::json(&json!({"status": status.as_str(), "healthCheckResults": results}))
            .etag(&t.registry.etag(&id).unwrap_or_default()),
    )
}

async fn get_set_health(
    State(s): State<Shared>,
    ctx: Ctx,
    Path((id, set)): Path<(String, String)>,
) -> ApiResult {
    use crate::model::lb::Health;
    let t = s.lock(&ctx);
    let lid = lb_of(&t, &id)?;
    let set = set_ref(&t, &id, &set)?;
    let (status, per) = set_status(&t, t.world.load_balancers.get(lid), set);
    Ok(Reply::json(&json!({
        "status": status.as_str(),
        "warningStateBackendNames": names_in(&per, Health::Warning),
        "criticalStateBackendNames": names_in(&per, Health::Critical),
        "unknownStateBackendNames": names_in(&per, Health::Unknown),
        "totalBackendCount": per.len(),
    }))
    .etag(&t.registry.etag(&id).unwrap_or_default()))
}

async fn get_lb_health(State(s): State<Shared>, ctx: Ctx, Path(id): Path<String>) -> ApiResult {
    use crate::model::lb::Health;
    let t = s.lock(&ctx);
    let lid = lb_of(&t, &id)?;
    let (status, sets) = lb_status(&t, t.world.load_balancers.get(lid));
    Ok(Reply::json(&json!({
        "status": status.as_str(),
        "warningStateBackendSetNames": names_in(&sets, Health::Warning),
        "criticalStateBackendSetNames": names_in(&sets, Health::Critical),
        "unknownStateBackendSetNames": names_in(&sets, Health::Unknown),
        "totalBackendSetCount": sets.len(),
    }))
    .etag(&t.registry.etag(&id).unwrap_or_default()))
}

async fn list_healths(State(s): State<Shared>, ctx: Ctx, p: Params) -> ApiResult {
    let t = s.lock(&ctx);
    let c = p.required("compartmentId")?;
    let items: Vec<Value> = t
        .registry
        .of_kind("loadbalancer")
        .filter(|m| m.compartment_id == c && m.lifecycle_state != "DELETED")
        .filter_map(|m| t.world.load_balancers.by_ocid(&m.id))
        .map(|l| {
            let lb = t.world.load_balancers.get(l);
            json!({"loadBalancerId": lb.id, "status": lb_status(&t, lb).0.as_str()})
        })
        .collect();
    let (page, next) = paginate(items, &p)?;
    Ok(Reply::page(&page, next))
}

// ------------------------------------------------------------------ work requests

fn render_wr(w: &WorkRequest) -> Value {
    let lb = w
        .resources
        .first()
        .map(|r| r.identifier.clone())
        .unwrap_or_default();
    let message = match w.status {
        WrStatus::Accepted => format!("{} accepted", w.operation_type),
        WrStatus::InProgress => format!("{} in progress", w.operation_type),
        WrStatus::Succeeded => format!("{} succeeded", w.operation_type),
        WrStatus::Failed => format!("{} failed", w.operation_type),
        WrStatus::Canceling => format!("{} canceling", w.operation_type),
        WrStatus::Canceled => format!("{} canceled", w.operation_type),
    };
    let errors: Vec<Value> = w
        .errors
        .iter()
        .map(|e| {
            let code = if e.code == "INTERNAL_ERROR" {
                "INTERNAL_ERROR"
            } else {
                "BAD_INPUT"
            };
            json!({"errorCode": code, "message": e.message})
        })
        .collect();
    let mut v = json!({
        "id": w.id,
        "loadBalancerId": lb,
        "type": w.operation_type,
        "compartmentId": w.compartment_id,
        "lifecycleState": w.status.as_str(),
        "message": message,
        "timeAccepted": rfc3339(w.time_accepted),
        "errorDetails": errors,
    });
    if let Some(f) = w.time_finished {
        v["timeFinished"] = json!(rfc3339(f));
    }
    v
}

async fn get_work_request(State(s): State<Shared>, ctx: Ctx, Path(id): Path<String>) -> ApiResult {
    let t = s.lock(&ctx);
    let w = t.work_requests.get_for(&id, &["lb"])?;
    Ok(Reply::json(&render_wr(w)))
}

async fn list_work_requests(
    State(s): State<Shared>,
    ctx: Ctx,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult {
    let t = s.lock(&ctx);
    lb_of(&t, &id)?;
    let items: Vec<Value> = t
        .work_requests
        .of_service(&["lb"])
        .into_iter()
        .filter(|w| w.resources.iter().any(|r| r.identifier == id))
        .map(render_wr)
        .collect();
    let (page, next) = paginate(items, &p)?;
    Ok(Reply::page(&page, next))
}
