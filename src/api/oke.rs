//! Container Engine (OKE, `/20180222`, oci-api.md §5.3): clusters, virtual
//! node pools, virtual nodes, pod shapes, cluster options, kubeconfig and the
//! OKE work requests.
//!
//! Semantics are the OKE model's and the World's: a create or update is
//! validated against a copy of the model at once (errors are 400 with the
//! model's message), then applied to the real World when its work request
//! completes in virtual time. Virtual nodes are the World's Kubernetes nodes;
//! their `lifecycleState` reflects the node's readiness (NEEDS_ATTENTION while
//! NotReady, an assumption listed in the README).

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use serde::Deserialize;
use serde_json::{Value, json};

use super::core::check_compartment;
use super::core_net::{NewVnic, check_nsg_ids, nsg_names, register_vnic, release_vnic};
use super::error::ApiError;
use super::pipeline::Ctx;
use super::registry::Meta;
use super::state::{Shared, Twin};
use super::wire::{
    ApiResult, FreeformTags, JsonBody, Params, Reply, Unmodelled, paginate, parse_json, rfc3339,
    sort_items,
};
use super::workreq::{
    WorkRequest, WorkRequestSpec, WrFailure, WrResource, list_status_style, render_errors,
    render_logs, render_status_style,
};
use crate::kernel::{SimDuration, SimTime};
use crate::model::kube::cluster::{NodeId, NodeReady};
use crate::model::kube::selector::{Labels, Taint, TaintEffect};
use crate::model::network::{SubnetId, ip_string};
use crate::model::oke::sizing::{POD_SHAPES, pod_shape};
use crate::model::oke::{
    Cluster, ClusterId, ClusterType, CniType, KUBERNETES_VERSIONS, OkeError, Placement, PoolId,
    VirtualNodePool,
};
use crate::model::topology::FaultDomain;

/// OKE's routes.
pub fn routes(r: Router<Shared>) -> Router<Shared> {
    r.route(
        "/20180222/clusters",
        get(list_clusters).post(create_cluster),
    )
    .route(
        "/20180222/clusters/{id}",
        get(get_cluster).put(update_cluster).delete(delete_cluster),
    )
    .route(
        "/20180222/clusters/{id}/kubeconfig/content",
        post(create_kubeconfig),
    )
    .route(
        "/20180222/clusters/{id}/actions/updateEndpointConfig",
        post(update_endpoint_config),
    )
    .route("/20180222/clusterOptions/{id}", get(get_cluster_options))
    .route(
        "/20180222/virtualNodePools",
        get(list_pools).post(create_pool),
    )
    .route(
        "/20180222/virtualNodePools/{id}",
        get(get_pool).put(update_pool).delete(delete_pool),
    )
    .route(
        "/20180222/virtualNodePools/{id}/virtualNodes",
        get(list_virtual_nodes),
    )
    .route(
        "/20180222/virtualNodePools/{id}/virtualNodes/{node}",
        get(get_virtual_node),
    )
    .route("/20180222/podShapes", get(list_pod_shapes))
    .route("/20180222/workRequests", get(list_work_requests))
    .route(
        "/20180222/workRequests/{id}",
        get(get_work_request).delete(cancel_work_request),
    )
    .route(
        "/20180222/workRequests/{id}/errors",
        get(list_work_request_errors),
    )
    .route(
        "/20180222/workRequests/{id}/logs",
        get(list_work_request_logs),
    )
}

/// What OCI shows of clusters, pools and nodes that the OKE model does not keep.
#[derive(Debug, Default)]
pub struct OkeState {
    /// Model id of each API cluster, by OCID.
    clusters: BTreeMap<String, ClusterId>,
    /// Wire extras of each cluster (endpoint config, options, endpoints).
    cluster_extra: BTreeMap<String, ClusterExtra>,
    /// Model id of each pool, by OCID.
    pools: BTreeMap<String, PoolId>,
    /// Wire extras of each pool.
    pool_extra: BTreeMap<String, PoolExtra>,
    /// Virtual node OCID by World node id, and back.
    node_ocids: BTreeMap<NodeId, String>,
    nodes: BTreeMap<String, NodeId>,
    /// The VNIC of each virtual node, by node OCID.
    node_vnics: BTreeMap<String, String>,
    /// Size, cluster OCID and version of pools whose create has not completed.
    pending: BTreeMap<String, (u32, String, String)>,
}

#[derive(Clone, Debug)]
struct ClusterExtra {
    endpoint_subnet: Option<SubnetId>,
    endpoint_nsgs: Vec<String>,
    public_ip_enabled: bool,
    options: Value,
    kms_key_id: Option<String>,
    cni: &'static str,
    wr_created: String,
}

#[derive(Clone, Debug)]
struct PoolExtra {
    placements: Value,
    pod_configuration: Value,
    labels: Vec<KeyValue>,
    taints: Vec<WireTaint>,
    nsg_ids: Vec<String>,
    time_updated: SimTime,
}

// ------------------------------------------------------------------ wire types

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateCluster {
    name: String,
    compartment_id: String,
    vcn_id: String,
    kubernetes_version: String,
    endpoint_config: Option<EndpointConfig>,
    kms_key_id: Option<String>,
    options: Option<ClusterOptionsIn>,
    cluster_pod_network_options: Option<Vec<PodNetworkOption>>,
    #[serde(rename = "type")]
    cluster_type: Option<String>,
    freeform_tags: Option<FreeformTags>,
    defined_tags: Option<Value>,
    image_policy_config: Option<Value>,
}

/// ClusterCreateOptions: kept as given and echoed on GET (the twin acts on
/// none of them), but only under the names OCI knows.
#[derive(Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct ClusterOptionsIn {
    #[serde(skip_serializing_if = "Option::is_none")]
    service_lb_subnet_ids: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ip_families: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kubernetes_network_config: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    add_ons: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    admission_controller_options: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    persistent_volume_config: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    service_lb_config: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    open_id_connect_token_authentication_config: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    open_id_connect_discovery: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EndpointConfig {
    subnet_id: Option<String>,
    nsg_ids: Option<Vec<String>>,
    is_public_ip_enabled: Option<bool>,
    _security_attributes: Option<Unmodelled>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PodNetworkOption {
    cni_type: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateCluster {
    name: Option<String>,
    kubernetes_version: Option<String>,
    freeform_tags: Option<FreeformTags>,
    defined_tags: Option<Value>,
    #[serde(rename = "type")]
    cluster_type: Option<String>,
    // OCI fields the twin does not update: refused when given.
    _options: Option<Unmodelled>,
    _image_policy_config: Option<Unmodelled>,
}

#[derive(Deserialize, Clone, Debug, serde::Serialize)]
struct KeyValue {
    key: Option<String>,
    value: Option<String>,
}

#[derive(Deserialize, Clone, Debug, serde::Serialize)]
struct WireTaint {
    key: Option<String>,
    value: Option<String>,
    effect: Option<String>,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct PlacementConfiguration {
    availability_domain: String,
    fault_domain: Option<Vec<String>>,
    subnet_id: String,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct PodConfiguration {
    subnet_id: String,
    nsg_ids: Option<Vec<String>>,
    shape: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreatePool {
    compartment_id: String,
    cluster_id: String,
    display_name: String,
    size: i64,
    placement_configurations: Vec<PlacementConfiguration>,
    pod_configuration: PodConfiguration,
    initial_virtual_node_labels: Option<Vec<KeyValue>>,
    taints: Option<Vec<WireTaint>>,
    nsg_ids: Option<Vec<String>>,
    freeform_tags: Option<FreeformTags>,
    defined_tags: Option<Value>,
    // OCI fields the twin does not model: refused when given.
    _virtual_node_tags: Option<Unmodelled>,
    _virtual_node_pool_cycling_details: Option<Unmodelled>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdatePool {
    display_name: Option<String>,
    size: Option<i64>,
    initial_virtual_node_labels: Option<Vec<KeyValue>>,
    taints: Option<Vec<WireTaint>>,
    freeform_tags: Option<FreeformTags>,
    defined_tags: Option<Value>,
    placement_configurations: Option<Vec<PlacementConfiguration>>,
    nsg_ids: Option<Vec<String>>,
    pod_configuration: Option<PodConfiguration>,
    // OCI fields the twin does not model: refused when given.
    _virtual_node_tags: Option<Unmodelled>,
    _virtual_node_pool_cycling_details: Option<Unmodelled>,
}

/// UpdateClusterEndpointConfigDetails: the endpoint subnet itself cannot
/// change, only its NSGs and whether it has a public IP.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateEndpointConfig {
    nsg_ids: Option<Vec<String>>,
    is_public_ip_enabled: Option<bool>,
    _security_attributes: Option<Unmodelled>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct KubeconfigBody {
    token_version: Option<String>,
    endpoint: Option<String>,
}

// ------------------------------------------------------------------ helpers

const CLUSTER_STATES: &[&str] = &[
    "CREATING", "ACTIVE", "FAILED", "DELETING", "DELETED", "UPDATING",
];
const POOL_STATES: &[&str] = &[
    "CREATING",
    "ACTIVE",
    "UPDATING",
    "DELETING",
    "DELETED",
    "FAILED",
    "NEEDS_ATTENTION",
];

/// Maps a model error to 400 with the model's message (limits: LimitExceeded).
fn oke_error(e: OkeError) -> ApiError {
    match e {
        OkeError::ClusterLimit { .. } | OkeError::VirtualNodeLimit { .. } => {
            ApiError::limit(e.to_string())
        }
        other => ApiError::invalid("request", other.to_string()),
    }
}

fn state(t: &mut Twin) -> &mut OkeState {
    t.ext.get_mut::<OkeState>()
}

fn cluster_of(t: &mut Twin, id: &str) -> Result<ClusterId, ApiError> {
    t.registry.get_kind(id, "cluster")?;
    state(t)
        .clusters
        .get(id)
        .copied()
        .ok_or_else(|| ApiError::not_found("cluster", id))
}

/// Cluster `id` and its compartment, if it is ACTIVE; else 409 Conflict
/// saying that `what` (e.g. "it can be updated") only when ACTIVE.
fn active_cluster(t: &mut Twin, id: &str, what: &str) -> Result<(ClusterId, String), ApiError> {
    let cid = cluster_of(t, id)?;
    let m = t.registry.get_kind(id, "cluster")?;
    if m.lifecycle_state != "ACTIVE" {
        return Err(ApiError::conflict(format!(
            "cluster {id} is {}; {what} only when ACTIVE",
            m.lifecycle_state
        )));
    }
    Ok((cid, m.compartment_id.clone()))
}

fn pool_of(t: &mut Twin, id: &str) -> Result<PoolId, ApiError> {
    t.registry.get_kind(id, "virtualnodepool")?;
    state(t)
        .pools
        .get(id)
        .copied()
        .ok_or_else(|| ApiError::not_found("virtual node pool", id))
}

fn subnet_of(t: &Twin, field: &str, id: &str) -> Result<SubnetId, ApiError> {
    t.world
        .network
        .subnet_by_ocid(id)
        .ok_or_else(|| ApiError::invalid(field, format!("subnet {id} does not exist")))
}

fn duration(t: &mut Twin, key: &str, default_secs: u64) -> SimDuration {
    t.durations
        .get_or(key, SimDuration::from_secs(default_secs))
}

fn submit(
    t: &mut Twin,
    op: &str,
    compartment: &str,
    resources: Vec<WrResource>,
    d: SimDuration,
    complete: impl FnOnce(&mut Twin) -> Result<(), WrFailure> + Send + 'static,
) -> String {
    let spec = WorkRequestSpec {
        service: "oke",
        ocid_type: "clustersworkrequest",
        operation_type: op.to_string(),
        compartment_id: compartment.to_string(),
        resources,
        duration: d,
    };
    t.submit_work_request(spec, Box::new(complete))
}

fn resource(entity: &str, action: &str, id: &str, uri: String) -> WrResource {
    WrResource {
        entity_type: entity.to_string(),
        action_type: action.to_string(),
        identifier: id.to_string(),
        entity_uri: uri,
    }
}

fn wr_failure(code: &str, message: String) -> WrFailure {
    WrFailure {
        code: code.to_string(),
        message,
    }
}

/// `TEST-NET-2` address for a public endpoint (never a real address).
fn public_ip_for(seq: u32) -> String {
    format!("198.51.100.{}", 1 + seq % 254)
}

// ------------------------------------------------------------------ clusters

async fn create_cluster(
    State(s): State<Shared>,
    ctx: Ctx,
    JsonBody(b): JsonBody<CreateCluster>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    check_compartment(&t, &b.compartment_id)?;
    let vcn =
        t.world.network.vcn_by_ocid(&b.vcn_id).ok_or_else(|| {
            ApiError::invalid("vcnId", format!("VCN {} does not exist", b.vcn_id))
        })?;
    if !KUBERNETES_VERSIONS.contains(&b.kubernetes_version.as_str()) {
        return Err(ApiError::invalid(
            "kubernetesVersion",
            format!(
                "`{}` is not a supported version ({})",
                b.kubernetes_version,
                KUBERNETES_VERSIONS.join(", ")
            ),
        ));
    }
    let cluster_type = match b.cluster_type.as_deref() {
        None | Some("BASIC_CLUSTER") => ClusterType::Basic,
        Some("ENHANCED_CLUSTER") => ClusterType::Enhanced,
        Some(o) => {
            return Err(ApiError::invalid(
                "type",
                format!("`{o}` is not BASIC_CLUSTER or ENHANCED_CLUSTER"),
            ));
        }
    };
    let cni = match b.cluster_pod_network_options.as_deref() {
        None | Some([]) => ("FLANNEL_OVERLAY", CniType::FlannelOverlay),
        Some([o]) if o.cni_type == "OCI_VCN_IP_NATIVE" => {
            ("OCI_VCN_IP_NATIVE", CniType::OciVcnIpNative)
        }
        Some([o]) if o.cni_type == "FLANNEL_OVERLAY" => {
            ("FLANNEL_OVERLAY", CniType::FlannelOverlay)
        }
        Some([o]) => {
            return Err(ApiError::invalid(
                "clusterPodNetworkOptions[0].cniType",
                format!(
                    "`{}` is not OCI_VCN_IP_NATIVE or FLANNEL_OVERLAY",
                    o.cni_type
                ),
            ));
        }
        Some(_) => {
            return Err(ApiError::invalid(
                "clusterPodNetworkOptions",
                "give one pod network option",
            ));
        }
    };
    let (endpoint_subnet, nsgs, public) = match &b.endpoint_config {
        Some(e) => {
            let sub = e
                .subnet_id
                .as_deref()
                .map(|id| subnet_of(&t, "endpointConfig.subnetId", id))
                .transpose()?;
            if let Some(sid) = sub
                && t.world.network.subnet(sid).vcn != vcn
            {
                return Err(ApiError::invalid(
                    "endpointConfig.subnetId",
                    "the endpoint subnet is not in the cluster's VCN",
                ));
            }
            check_nsg_ids(
                &t,
                "endpointConfig.nsgIds",
                e.nsg_ids.as_deref().unwrap_or_default(),
                vcn,
            )?;
            if e.is_public_ip_enabled == Some(true)
                && sub.is_some_and(|sid| t.world.network.subnet(sid).prohibit_public_ip)
            {
                return Err(ApiError::invalid(
                    "endpointConfig.isPublicIpEnabled",
                    "a public endpoint needs a public subnet",
                ));
            }
            (
                sub,
                e.nsg_ids.clone().unwrap_or_default(),
                e.is_public_ip_enabled.unwrap_or(false),
            )
        }
        None => (None, Vec::new(), false),
    };
    let id = t.world.mint.regional("cluster");
    let model = Cluster {
        id: id.clone(),
        name: id.clone(),
        cluster_type,
        cni: cni.1,
        kubernetes_version: b.kubernetes_version.clone(),
        vcn,
    };
    // Validate against a copy so a refused request changes nothing.
    t.world
        .oke
        .clone()
        .create_cluster(model.clone())
        .map_err(oke_error)?;
    let cid = t.world.oke.create_cluster(model).map_err(oke_error)?;
    if let Some(sid) = endpoint_subnet {
        let ip = t
            .world
            .network
            .allocate_ip(sid)
            .map_err(|e| ApiError::invalid("endpointConfig.subnetId", e.to_string()))?;
        t.world.oke.endpoint_ips.insert(id.clone(), (sid, ip));
    }
    let mut m = Meta::new(
        &id,
        "cluster",
        &b.compartment_id,
        &b.name,
        t.now,
        "CREATING",
    );
    m.freeform_tags = b.freeform_tags.unwrap_or_default();
    m.defined_tags = b.defined_tags.unwrap_or(json!({}));
    t.registry.insert(m);
    let d = duration(&mut t, "oke.cluster.create", 300);
    let cid_str = id.clone();
    let wr = submit(
        &mut t,
        "CLUSTER_CREATE",
        &b.compartment_id,
        vec![resource(
            "cluster",
            "CREATED",
            &id,
            format!("/clusters/{id}"),
        )],
        d,
        move |t| {
            t.registry.set_state(&cid_str, "ACTIVE");
            Ok(())
        },
    );
    let mut options = match b.options {
        Some(o) => serde_json::to_value(o).expect("options serialize"),
        None => json!({}),
    };
    if let Some(img) = b.image_policy_config {
        options["__imagePolicyConfig"] = img;
    }
    state(&mut t).clusters.insert(id.clone(), cid);
    state(&mut t).cluster_extra.insert(
        id,
        ClusterExtra {
            endpoint_subnet,
            endpoint_nsgs: nsgs,
            public_ip_enabled: public,
            options,
            kms_key_id: b.kms_key_id,
            cni: cni.0,
            wr_created: wr.clone(),
        },
    );
    Ok(Reply::accepted(&wr))
}

fn cluster_json(t: &Twin, m: &Meta, summary: bool) -> Value {
    let st = t.ext.get::<OkeState>();
    let Some(cid) = st.and_then(|s| s.clusters.get(&m.id)) else {
        return json!({"id": m.id, "name": m.display_name, "lifecycleState": m.lifecycle_state});
    };
    let c = &t.world.oke.clusters[cid.0 as usize];
    let x = st
        .and_then(|s| s.cluster_extra.get(&m.id))
        .expect("every API cluster has extras");
    let vcn_id = t.world.network.vcns[c.vcn.0 as usize].id.clone();
    let active = m.lifecycle_state == "ACTIVE";
    let seq = cid.0;
    let mut endpoints = json!({});
    if active {
        let short = &m.id[m.id.len() - 11..];
        endpoints["kubernetes"] = json!(format!(
            "c{short}.{}.clusters.oci.oraclecloud.com:6443",
            t.world.topology.region.name
        ));
        if let Some((_, ip)) = t.world.oke.endpoint_ips.get(&m.id).copied() {
            endpoints["privateEndpoint"] = json!(format!("{}:6443", ip_string(ip)));
            endpoints["vcnHostnameEndpoint"] =
                json!(format!("c{short}.sub.vcn.oraclevcn.com:6443"));
        }
        if x.public_ip_enabled {
            endpoints["publicEndpoint"] = json!(format!("{}:6443", public_ip_for(seq)));
        }
    }
    let mut endpoint_config = json!({
        "nsgIds": x.endpoint_nsgs,
        "isPublicIpEnabled": x.public_ip_enabled,
    });
    if let Some(sid) = x.endpoint_subnet {
        endpoint_config["subnetId"] = json!(t.world.network.subnet(sid).id);
    }
    let mut options = x.options.clone();
    let image_policy = options
        .as_object_mut()
        .and_then(|o| o.remove("__imagePolicyConfig"));
    let mut v = json!({
        "id": m.id,
        "name": m.display_name,
        "compartmentId": m.compartment_id,
        "vcnId": vcn_id,
        "kubernetesVersion": c.kubernetes_version,
        "freeformTags": m.freeform_tags,
        "definedTags": m.defined_tags,
        "systemTags": {},
        "options": options,
        "metadata": {
            "timeCreated": rfc3339(m.time_created),
            "createdByWorkRequestId": x.wr_created,
        },
        "lifecycleState": m.lifecycle_state,
        "lifecycleDetails": "",
        "endpoints": endpoints,
        "endpointConfig": endpoint_config,
        "availableKubernetesUpgrades": upgrades_after(&c.kubernetes_version),
        "clusterPodNetworkOptions": [{"cniType": x.cni}],
        "type": match c.cluster_type {
            ClusterType::Basic => "BASIC_CLUSTER",
            ClusterType::Enhanced => "ENHANCED_CLUSTER",
        },
    });
    if let Some(k) = &x.kms_key_id {
        v["kmsKeyId"] = json!(k);
    }
    if let Some(p) = image_policy {
        v["imagePolicyConfig"] = p;
    }
    if !summary {
        v["openIdConnectDiscoveryEndpoint"] = Value::Null;
    }
    v
}

fn upgrades_after(version: &str) -> Vec<&'static str> {
    KUBERNETES_VERSIONS
        .iter()
        .skip_while(|v| **v != version)
        .skip(1)
        .copied()
        .collect()
}

async fn get_cluster(State(s): State<Shared>, ctx: Ctx, Path(id): Path<String>) -> ApiResult {
    let t = s.lock(&ctx);
    let m = t.registry.get_kind(&id, "cluster")?;
    Ok(Reply::json(&cluster_json(&t, m, false)).etag(&m.etag()))
}

async fn list_clusters(State(s): State<Shared>, ctx: Ctx, p: Params) -> ApiResult {
    let t = s.lock(&ctx);
    let c = p.required("compartmentId")?;
    let states = p.all_of("lifecycleState", CLUSTER_STATES)?;
    let name = p.get("name");
    let mut items: Vec<&Meta> = t
        .registry
        .of_kind("cluster")
        .filter(|m| m.compartment_id == c)
        .filter(|m| states.is_empty() || states.contains(&m.lifecycle_state.as_str()))
        .filter(|m| name.is_none_or(|n| n == m.display_name))
        .collect();
    sort_oke(&mut items, &p)?;
    let (page, next) = paginate(items, &p)?;
    let v: Vec<Value> = page
        .into_iter()
        .map(|m| cluster_json(&t, m, true))
        .collect();
    Ok(Reply::page(&v, next))
}

/// OKE's sort: `sortBy` ID, NAME or TIME_CREATED.
fn sort_oke(items: &mut [&Meta], p: &Params) -> Result<(), ApiError> {
    if p.get("sortBy") == Some("ID") {
        p.one_of("sortOrder", &["ASC", "DESC"])?;
        let desc = p.get("sortOrder") == Some("DESC");
        items.sort_by(|a, b| {
            if desc {
                b.id.cmp(&a.id)
            } else {
                a.id.cmp(&b.id)
            }
        });
        return Ok(());
    }
    sort_items(items, p, &["TIME_CREATED"], &["NAME"], |m| m.sort_key())
}

async fn update_cluster(
    State(s): State<Shared>,
    ctx: Ctx,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<UpdateCluster>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    let (cid, compartment) = active_cluster(&mut t, &id, "it can be updated")?;
    if let Some(v) = &b.kubernetes_version {
        let current = t.world.oke.clusters[cid.0 as usize]
            .kubernetes_version
            .clone();
        if !upgrades_after(&current).contains(&v.as_str()) && *v != current {
            return Err(ApiError::invalid(
                "kubernetesVersion",
                format!("`{v}` is not an available upgrade from {current}"),
            ));
        }
    }
    if b.cluster_type.as_deref() == Some("BASIC_CLUSTER")
        && t.world.oke.clusters[cid.0 as usize].cluster_type == ClusterType::Enhanced
    {
        return Err(ApiError::invalid(
            "type",
            "an enhanced cluster cannot be changed back to a basic cluster",
        ));
    }
    if let Some(n) = &b.name {
        t.registry.get_kind_mut(&id, "cluster")?.display_name = n.clone();
    }
    if let Some(f) = b.freeform_tags {
        t.registry.get_kind_mut(&id, "cluster")?.freeform_tags = f;
    }
    if let Some(d) = b.defined_tags {
        t.registry.get_kind_mut(&id, "cluster")?.defined_tags = d;
    }
    let (version, ty) = (b.kubernetes_version, b.cluster_type);
    let wr = submit_cluster_update(&mut t, &id, &compartment, move |t| {
        let c = &mut t.world.oke.clusters[cid.0 as usize];
        if let Some(v) = version {
            c.kubernetes_version = v;
        }
        if ty.as_deref() == Some("ENHANCED_CLUSTER") {
            c.cluster_type = ClusterType::Enhanced;
        }
    });
    Ok(Reply::accepted(&wr))
}

/// Puts cluster `id` in UPDATING and submits its CLUSTER_UPDATE work request
/// (`oke.cluster.update`, 60 s): `apply` runs when it completes, then the
/// cluster is ACTIVE again.
fn submit_cluster_update(
    t: &mut Twin,
    id: &str,
    compartment: &str,
    apply: impl FnOnce(&mut Twin) + Send + 'static,
) -> String {
    t.registry.set_state(id, "UPDATING");
    let d = duration(t, "oke.cluster.update", 60);
    let cluster = id.to_string();
    submit(
        t,
        "CLUSTER_UPDATE",
        compartment,
        vec![resource(
            "cluster",
            "UPDATED",
            id,
            format!("/clusters/{id}"),
        )],
        d,
        move |t| {
            apply(t);
            t.registry.set_state(&cluster, "ACTIVE");
            Ok(())
        },
    )
}

/// UpdateClusterEndpointConfig: new NSGs and/or a public IP for the
/// cluster's VCN-native endpoint, applied when the work request completes
/// (the cluster is UPDATING meanwhile).
async fn update_endpoint_config(
    State(s): State<Shared>,
    ctx: Ctx,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<UpdateEndpointConfig>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    let (cid, compartment) = active_cluster(&mut t, &id, "its endpoint can be updated")?;
    let subnet = state(&mut t)
        .cluster_extra
        .get(&id)
        .and_then(|x| x.endpoint_subnet);
    let Some(subnet) = subnet else {
        return Err(ApiError::invalid(
            "endpointConfig",
            format!(
                "cluster {id} has no VCN-native endpoint (it was created without endpointConfig.subnetId)"
            ),
        ));
    };
    let vcn = t.world.oke.clusters[cid.0 as usize].vcn;
    if let Some(ids) = &b.nsg_ids {
        check_nsg_ids(&t, "nsgIds", ids, vcn)?;
    }
    if b.is_public_ip_enabled == Some(true) && t.world.network.subnet(subnet).prohibit_public_ip {
        return Err(ApiError::invalid(
            "isPublicIpEnabled",
            format!(
                "the endpoint subnet {} is private; a public endpoint needs a public subnet",
                t.world.network.subnet(subnet).id
            ),
        ));
    }
    let cluster = id.clone();
    let wr = submit_cluster_update(&mut t, &id, &compartment, move |t| {
        if let Some(x) = state(t).cluster_extra.get_mut(&cluster) {
            if let Some(ids) = b.nsg_ids {
                x.endpoint_nsgs = ids;
            }
            if let Some(p) = b.is_public_ip_enabled {
                x.public_ip_enabled = p;
            }
        }
    });
    Ok(Reply::accepted(&wr))
}

async fn delete_cluster(State(s): State<Shared>, ctx: Ctx, Path(id): Path<String>) -> ApiResult {
    let mut t = s.lock(&ctx);
    let cid = cluster_of(&mut t, &id)?;
    let m = t.registry.get_kind(&id, "cluster")?;
    if matches!(m.lifecycle_state.as_str(), "DELETING" | "DELETED") {
        return Err(ApiError::conflict(format!(
            "cluster {id} is already {}",
            m.lifecycle_state
        )));
    }
    let compartment = m.compartment_id.clone();
    t.registry.set_state(&id, "DELETING");
    let all: Vec<(String, PoolId)> = state(&mut t)
        .pools
        .iter()
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    let pools: Vec<(String, PoolId)> = all
        .into_iter()
        .filter(|(_, p)| t.world.oke.pools[p.0 as usize].cluster == cid)
        .collect();
    for (pid, _) in &pools {
        if t.registry
            .get(pid)
            .is_some_and(|m| m.lifecycle_state != "DELETED")
        {
            t.registry.set_state(pid, "DELETING");
        }
    }
    let d = duration(&mut t, "oke.cluster.delete", 120);
    let cid_str = id.clone();
    let wr = submit(
        &mut t,
        "CLUSTER_DELETE",
        &compartment,
        vec![resource(
            "cluster",
            "DELETED",
            &id,
            format!("/clusters/{id}"),
        )],
        d,
        move |t| {
            for (pid, p) in pools {
                if !t.world.oke.deleted_pools.contains(&p) {
                    t.world
                        .delete_virtual_node_pool(p)
                        .map_err(|e| wr_failure("InternalError", e.to_string()))?;
                    mark_nodes_deleted(t);
                    t.registry.set_state(&pid, "DELETED");
                }
            }
            t.world
                .oke
                .delete_cluster(cid)
                .map_err(|e| wr_failure("InvalidParameter", e.to_string()))?;
            if let Some((sub, ip)) = t.world.oke.endpoint_ips.remove(&cid_str) {
                t.world.network.release_ip(sub, ip);
            }
            t.registry.set_state(&cid_str, "DELETED");
            Ok(())
        },
    );
    Ok(Reply::accepted(&wr))
}

async fn create_kubeconfig(
    State(s): State<Shared>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let mut t = s.lock(&ctx);
    cluster_of(&mut t, &id)?;
    let b: KubeconfigBody = if body.iter().all(u8::is_ascii_whitespace) {
        KubeconfigBody::default()
    } else {
        parse_json(&body)?
    };
    if let Some(v) = b.token_version.as_deref().filter(|v| *v != "2.0.0") {
        return Err(ApiError::invalid(
            "tokenVersion",
            format!("`{v}` is not 2.0.0"),
        ));
    }
    let m = t.registry.get_kind(&id, "cluster")?;
    if m.lifecycle_state != "ACTIVE" {
        return Err(ApiError::conflict(format!(
            "cluster {id} is {}; its kubeconfig exists once it is ACTIVE",
            m.lifecycle_state
        )));
    }
    let v = cluster_json(&t, m, false);
    let ep = &v["endpoints"];
    let server = match b.endpoint.as_deref().unwrap_or("LEGACY_KUBERNETES") {
        "LEGACY_KUBERNETES" => ep["kubernetes"].as_str(),
        "PUBLIC_ENDPOINT" => ep["publicEndpoint"].as_str(),
        "PRIVATE_ENDPOINT" => ep["privateEndpoint"].as_str(),
        "VCN_HOSTNAME" => ep["vcnHostnameEndpoint"].as_str(),
        other => {
            return Err(ApiError::invalid(
                "endpoint",
                format!("`{other}` is not LEGACY_KUBERNETES, PUBLIC_ENDPOINT, PRIVATE_ENDPOINT or VCN_HOSTNAME"),
            ));
        }
    }
    .ok_or_else(|| {
        ApiError::invalid(
            "endpoint",
            format!("cluster {id} has no {} endpoint", b.endpoint.as_deref().unwrap_or("")),
        )
    })?;
    let yaml = kubeconfig_yaml(&id, server, t.world.topology.region.name);
    let mut r = (StatusCode::OK, yaml).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-yaml"),
    );
    Ok(r)
}

/// The kubeconfig OKE hands out: one cluster, one user whose token comes from
/// `oci ce cluster generate-token`, one context.
fn kubeconfig_yaml(cluster_id: &str, server: &str, region: &str) -> String {
    let short = &cluster_id[cluster_id.len() - 11..];
    let ca = base64::engine::general_purpose::STANDARD.encode(format!(
        "-----BEGIN CERTIFICATE-----\nocisim test authority for {cluster_id}\n-----END CERTIFICATE-----\n"
    ));
    format!(
        "---\napiVersion: v1\nkind: \"\"\nclusters:\n- name: cluster-c{short}\n  cluster:\n    server: https://{server}\n    certificate-authority-data: {ca}\nusers:\n- name: user-c{short}\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: oci\n      args:\n      - ce\n      - cluster\n      - generate-token\n      - --cluster-id\n      - {cluster_id}\n      - --region\n      - {region}\n      env: []\ncontexts:\n- name: context-c{short}\n  context:\n    cluster: cluster-c{short}\n    user: user-c{short}\ncurrent-context: context-c{short}\npreferences: {{}}\n"
    )
}

async fn get_cluster_options(
    State(s): State<Shared>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> ApiResult {
    let _t = s.lock(&ctx);
    if id != "all" {
        return Err(ApiError::not_found("cluster option", &id));
    }
    Ok(Reply::json(&json!({
        "kubernetesVersions": KUBERNETES_VERSIONS,
        "clusterPodNetworkOptions": [{"cniType": "OCI_VCN_IP_NATIVE"}, {"cniType": "FLANNEL_OVERLAY"}],
    })))
}

// ------------------------------------------------------------------ pools

/// Parsed placements (model form) and the wire form OCI echoes back.
fn parse_placements(
    t: &Twin,
    field: &str,
    given: &[PlacementConfiguration],
) -> Result<(Vec<Placement>, Value), ApiError> {
    let mut out = Vec::new();
    let mut wire = Vec::new();
    for (i, p) in given.iter().enumerate() {
        let ad = t.world.topology.ad(&p.availability_domain).map_err(|e| {
            ApiError::invalid(&format!("{field}[{i}].availabilityDomain"), e.to_string())
        })?;
        let fds = p
            .fault_domain
            .clone()
            .unwrap_or_default()
            .iter()
            .map(|f| FaultDomain::parse(f))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ApiError::invalid(&format!("{field}[{i}].faultDomain"), e.to_string()))?;
        let sub = subnet_of(t, &format!("{field}[{i}].subnetId"), &p.subnet_id)?;
        out.push(Placement {
            availability_domain: ad.number,
            fault_domains: fds.clone(),
            subnet: sub,
        });
        wire.push(json!({
            "availabilityDomain": ad.name,
            "faultDomain": fds.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "subnetId": p.subnet_id,
        }));
    }
    Ok((out, Value::Array(wire)))
}

fn parse_labels(given: &[KeyValue]) -> Result<Labels, ApiError> {
    let mut l = Labels::new();
    for (i, kv) in given.iter().enumerate() {
        let k = kv
            .key
            .clone()
            .filter(|k| !k.is_empty())
            .ok_or_else(|| ApiError::missing(&format!("initialVirtualNodeLabels[{i}].key")))?;
        l.insert(k, kv.value.clone().unwrap_or_default());
    }
    Ok(l)
}

fn parse_taints(given: &[WireTaint]) -> Result<Vec<Taint>, ApiError> {
    given
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let key = w
                .key
                .clone()
                .filter(|k| !k.is_empty())
                .ok_or_else(|| ApiError::missing(&format!("taints[{i}].key")))?;
            let e = w.effect.as_deref().unwrap_or("");
            let effect = TaintEffect::parse(e).ok_or_else(|| {
                ApiError::invalid(
                    &format!("taints[{i}].effect"),
                    format!("`{e}` is not NoSchedule, PreferNoSchedule or NoExecute"),
                )
            })?;
            Ok(Taint {
                key,
                value: w.value.clone().unwrap_or_default(),
                effect,
            })
        })
        .collect()
}

async fn create_pool(
    State(s): State<Shared>,
    ctx: Ctx,
    JsonBody(b): JsonBody<CreatePool>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    check_compartment(&t, &b.compartment_id)?;
    let cid = cluster_of(&mut t, &b.cluster_id).map_err(|_| {
        ApiError::invalid(
            "clusterId",
            format!("cluster {} does not exist", b.cluster_id),
        )
    })?;
    let cstate = t
        .registry
        .get_kind(&b.cluster_id, "cluster")?
        .lifecycle_state
        .clone();
    if cstate != "ACTIVE" {
        return Err(ApiError::invalid(
            "clusterId",
            format!(
                "cluster {} is {cstate}; virtual node pools need an ACTIVE cluster",
                b.cluster_id
            ),
        ));
    }
    if !(0..=1000).contains(&b.size) {
        return Err(ApiError::invalid(
            "size",
            format!("{} is not between 0 and 1000", b.size),
        ));
    }
    let (placements, placements_wire) =
        parse_placements(&t, "placementConfigurations", &b.placement_configurations)?;
    let pc = &b.pod_configuration;
    let shape = pod_shape(&pc.shape)
        .map_err(|e| ApiError::invalid("podConfiguration.shape", e.to_string()))?;
    let pod_subnet = subnet_of(&t, "podConfiguration.subnetId", &pc.subnet_id)?;
    let vcn = t.world.oke.clusters[cid.0 as usize].vcn;
    check_nsg_ids(
        &t,
        "podConfiguration.nsgIds",
        pc.nsg_ids.as_deref().unwrap_or_default(),
        vcn,
    )?;
    check_nsg_ids(&t, "nsgIds", b.nsg_ids.as_deref().unwrap_or_default(), vcn)?;
    let labels = parse_labels(b.initial_virtual_node_labels.as_deref().unwrap_or_default())?;
    let taints = parse_taints(b.taints.as_deref().unwrap_or_default())?;
    let id = t.world.mint.regional("virtualnodepool");
    let pool = VirtualNodePool {
        id: id.clone(),
        name: id.clone(),
        cluster: cid,
        placements,
        pod_subnet,
        pod_nsgs: nsg_names(&t, pc.nsg_ids.as_deref().unwrap_or_default()),
        pod_shape: shape,
        size: b.size as u32,
        labels,
        taints,
    };
    // Validate on a copy of the model: the real pool is made when the work request completes.
    t.world
        .oke
        .clone()
        .create_virtual_node_pool(pool.clone(), &t.world.network, &t.world.topology)
        .map_err(oke_error)?;
    let mut m = Meta::new(
        &id,
        "virtualnodepool",
        &b.compartment_id,
        &b.display_name,
        t.now,
        "CREATING",
    );
    m.freeform_tags = b.freeform_tags.unwrap_or_default();
    m.defined_tags = b.defined_tags.unwrap_or(json!({}));
    t.registry.insert(m);
    let now = t.now;
    let version = t.world.oke.clusters[cid.0 as usize]
        .kubernetes_version
        .clone();
    state(&mut t)
        .pending
        .insert(id.clone(), (b.size as u32, b.cluster_id.clone(), version));
    state(&mut t).pool_extra.insert(
        id.clone(),
        PoolExtra {
            placements: placements_wire,
            pod_configuration: json!({
                "subnetId": pc.subnet_id,
                "nsgIds": pc.nsg_ids.clone().unwrap_or_default(),
                "shape": pc.shape,
            }),
            labels: b.initial_virtual_node_labels.unwrap_or_default(),
            taints: b.taints.unwrap_or_default(),
            nsg_ids: b.nsg_ids.unwrap_or_default(),
            time_updated: now,
        },
    );
    let d = duration(&mut t, "oke.virtualnodepool.create", 120);
    let pid = id.clone();
    let wr = submit(
        &mut t,
        "VIRTUALNODEPOOL_CREATE",
        &b.compartment_id,
        vec![resource(
            "virtualnodepool",
            "CREATED",
            &id,
            format!("/virtualNodePools/{id}"),
        )],
        d,
        move |t| {
            state(t).pending.remove(&pid);
            let made = t.world.create_virtual_node_pool(pool);
            create_pool_done(t, &pid, made)
        },
    );
    Ok(Reply::accepted(&wr))
}

/// Completes a pool's create: its nodes get OCIDs, or the work request fails.
fn create_pool_done(
    t: &mut Twin,
    pid: &str,
    made: Result<PoolId, OkeError>,
) -> Result<(), WrFailure> {
    match made {
        Ok(p) => {
            state(t).pools.insert(pid.to_string(), p);
            register_new_nodes(t, pid, p);
            t.registry.set_state(pid, "ACTIVE");
            Ok(())
        }
        Err(e) => {
            t.registry.set_state(pid, "FAILED");
            let code = match e {
                OkeError::VirtualNodeLimit { .. } => "LimitExceeded",
                _ => "InvalidParameter",
            };
            Err(wr_failure(code, e.to_string()))
        }
    }
}

/// Gives every World node of `pool` without an OCID one, in the registry.
fn register_new_nodes(t: &mut Twin, pool_ocid: &str, pool: PoolId) {
    let compartment = t
        .registry
        .get(pool_ocid)
        .map(|m| m.compartment_id.clone())
        .unwrap_or_default();
    for node in t.world.pool_nodes(pool) {
        if state(t).node_ocids.contains_key(&node) {
            continue;
        }
        let id = t.world.mint.regional("virtualnode");
        let name = t.world.kube.node(node).name.clone();
        let now = t.now;
        t.registry.insert(Meta::new(
            &id,
            "virtualnode",
            &compartment,
            &name,
            now,
            "ACTIVE",
        ));
        let st = state(t);
        st.node_ocids.insert(node, id.clone());
        st.nodes.insert(id.clone(), node);
        let nsg_ids = st
            .pool_extra
            .get(pool_ocid)
            .map(|x| x.nsg_ids.clone())
            .unwrap_or_default();
        let v = t.world.kube.node(node).virtual_node.clone();
        let vnic = register_vnic(
            t,
            NewVnic {
                compartment: &compartment,
                subnet: v.node_subnet,
                addr: v.ip,
                display_name: &name,
                availability_domain: Some(v.availability_domain),
                nsg_ids: &nsg_ids,
                parent: &id,
            },
        );
        state(t).node_vnics.insert(id, vnic);
    }
}

/// Marks the registry entries of removed World nodes DELETED.
fn mark_nodes_deleted(t: &mut Twin) {
    let gone: Vec<String> = state(t)
        .node_ocids
        .iter()
        .map(|(n, id)| (*n, id.clone()))
        .collect::<Vec<_>>()
        .into_iter()
        .filter(|(n, _)| t.world.kube.node(*n).removed)
        .map(|(_, id)| id)
        .collect();
    for id in gone {
        if t.registry
            .get(&id)
            .is_some_and(|m| m.lifecycle_state != "DELETED")
        {
            t.registry.set_state(&id, "DELETED");
            if let Some(vnic) = state(t).node_vnics.remove(&id) {
                release_vnic(t, &vnic);
            }
        }
    }
}

fn pool_json(t: &Twin, m: &Meta) -> Value {
    let st = t
        .ext
        .get::<OkeState>()
        .expect("pools exist only with OKE state");
    let x = st.pool_extra.get(&m.id).expect("every API pool has extras");
    let model = st
        .pools
        .get(&m.id)
        .map(|p| &t.world.oke.pools[p.0 as usize]);
    // Before its work request completes the pool is not in the model yet.
    let (size, cluster_ocid, version) = match model {
        Some(p) => {
            let c = &t.world.oke.clusters[p.cluster.0 as usize];
            (p.size, c.id.clone(), c.kubernetes_version.clone())
        }
        None => (0, String::new(), String::new()),
    };
    let requested = pending_pool(t, &m.id);
    let (size, cluster_ocid, version) = match requested {
        Some((s, c, v)) if model.is_none() => (s, c, v),
        _ => (size, cluster_ocid, version),
    };
    json!({
        "id": m.id,
        "compartmentId": m.compartment_id,
        "clusterId": cluster_ocid,
        "displayName": m.display_name,
        "kubernetesVersion": version,
        "initialVirtualNodeLabels": x.labels,
        "taints": x.taints,
        "size": size,
        "placementConfigurations": x.placements,
        "nsgIds": x.nsg_ids,
        "podConfiguration": x.pod_configuration,
        "lifecycleState": m.lifecycle_state,
        "lifecycleDetails": "",
        "timeCreated": rfc3339(m.time_created),
        "timeUpdated": rfc3339(x.time_updated),
        "freeformTags": m.freeform_tags,
        "definedTags": m.defined_tags,
        "systemTags": {},
        "virtualNodeTags": {"freeformTags": {}, "definedTags": {}},
    })
}

/// The size, cluster and version a pool still being created was asked for
/// (from its create work request's completion not having run yet).
fn pending_pool(t: &Twin, pool_ocid: &str) -> Option<(u32, String, String)> {
    let st = t.ext.get::<OkeState>()?;
    st.pending.get(pool_ocid).cloned()
}

async fn get_pool(State(s): State<Shared>, ctx: Ctx, Path(id): Path<String>) -> ApiResult {
    let t = s.lock(&ctx);
    let m = t.registry.get_kind(&id, "virtualnodepool")?;
    Ok(Reply::json(&pool_json(&t, m)).etag(&m.etag()))
}

async fn list_pools(State(s): State<Shared>, ctx: Ctx, p: Params) -> ApiResult {
    let t = s.lock(&ctx);
    let c = p.required("compartmentId")?;
    let states = p.all_of("lifecycleState", POOL_STATES)?;
    let name = p.get("name");
    let cluster = p.get("clusterId");
    let mut items: Vec<&Meta> = t
        .registry
        .of_kind("virtualnodepool")
        .filter(|m| m.compartment_id == c)
        .filter(|m| states.is_empty() || states.contains(&m.lifecycle_state.as_str()))
        .filter(|m| name.is_none_or(|n| n == m.display_name))
        .collect();
    if let Some(cl) = cluster {
        items.retain(|m| pool_json(&t, m)["clusterId"] == cl);
    }
    sort_oke(&mut items, &p)?;
    let (page, next) = paginate(items, &p)?;
    let v: Vec<Value> = page.into_iter().map(|m| pool_json(&t, m)).collect();
    Ok(Reply::page(&v, next))
}

async fn update_pool(
    State(s): State<Shared>,
    ctx: Ctx,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<UpdatePool>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    let pid = pool_of(&mut t, &id)?;
    let m = t.registry.get_kind(&id, "virtualnodepool")?;
    if m.lifecycle_state != "ACTIVE" {
        return Err(ApiError::conflict(format!(
            "virtual node pool {id} is {}; it can be updated only when ACTIVE",
            m.lifecycle_state
        )));
    }
    let compartment = m.compartment_id.clone();
    if b.placement_configurations.is_some() {
        return Err(ApiError::invalid(
            "placementConfigurations",
            "changing the placement of an existing pool is not modelled by the twin",
        ));
    }
    let size = match b.size {
        Some(s) if !(0..=1000).contains(&s) => {
            return Err(ApiError::invalid(
                "size",
                format!("{s} is not between 0 and 1000"),
            ));
        }
        Some(s) => Some(s as u32),
        None => None,
    };
    if let Some(size) = size {
        let current: Vec<(u8, FaultDomain)> = t
            .world
            .pool_nodes(pid)
            .iter()
            .map(|n| {
                let v = &t.world.kube.node(*n).virtual_node;
                (v.availability_domain, v.fault_domain)
            })
            .collect();
        t.world
            .oke
            .plan_resize(pid, &current, size)
            .map_err(oke_error)?;
    }
    let vcn = t.world.oke.clusters[t.world.oke.pools[pid.0 as usize].cluster.0 as usize].vcn;
    if let Some(ids) = &b.nsg_ids {
        check_nsg_ids(&t, "nsgIds", ids, vcn)?;
    }
    let pod_config = match b.pod_configuration {
        Some(pc) => Some(pod_configuration_update(&t, pid, pc)?),
        None => None,
    };
    let labels = b
        .initial_virtual_node_labels
        .map(|l| parse_labels(&l).map(|m| (m, l)))
        .transpose()?;
    let taints = b
        .taints
        .map(|w| parse_taints(&w).map(|m| (m, w)))
        .transpose()?;
    {
        let meta = t.registry.get_kind_mut(&id, "virtualnodepool")?;
        if let Some(n) = b.display_name {
            meta.display_name = n;
        }
        if let Some(f) = b.freeform_tags {
            meta.freeform_tags = f;
        }
        if let Some(d) = b.defined_tags {
            meta.defined_tags = d;
        }
    }
    let now = t.now;
    if let Some(x) = state(&mut t).pool_extra.get_mut(&id) {
        x.time_updated = now;
    }
    t.registry.set_state(&id, "UPDATING");
    let d = duration(&mut t, "oke.virtualnodepool.update", 60);
    let pool_ocid = id.clone();
    let wr = submit(
        &mut t,
        "VIRTUALNODEPOOL_UPDATE",
        &compartment,
        vec![resource(
            "virtualnodepool",
            "UPDATED",
            &id,
            format!("/virtualNodePools/{id}"),
        )],
        d,
        move |t| {
            // Labels and taints first, so nodes this update adds carry them.
            let (model_labels, wire_labels) = labels.unzip();
            let (model_taints, wire_taints) = taints.unzip();
            t.world
                .set_pool_node_template(pid, model_labels, model_taints);
            if let Some((subnet, nsgs, _)) = &pod_config {
                t.world.set_pool_pod_network(pid, *subnet, nsgs.clone());
            }
            if let Some(x) = state(t).pool_extra.get_mut(&pool_ocid) {
                if let Some(l) = wire_labels {
                    x.labels = l;
                }
                if let Some(w) = wire_taints {
                    x.taints = w;
                }
                if let Some(ids) = b.nsg_ids {
                    x.nsg_ids = ids;
                }
                if let Some((_, _, wire)) = pod_config {
                    x.pod_configuration = wire;
                }
            }
            let outcome = match size {
                Some(sz) => t.world.resize_virtual_node_pool(pid, sz),
                None => Ok(()),
            };
            mark_nodes_deleted(t);
            register_new_nodes(t, &pool_ocid, pid);
            t.registry.set_state(&pool_ocid, "ACTIVE");
            outcome.map_err(|e| match e {
                OkeError::VirtualNodeLimit { .. } => wr_failure("LimitExceeded", e.to_string()),
                other => wr_failure("InvalidParameter", other.to_string()),
            })
        },
    );
    Ok(Reply::accepted(&wr))
}

/// A pool's new pod configuration, checked: the shape cannot change in
/// place (domain.md §3: a new pool is needed), the subnet must be a private,
/// regional subnet of the cluster's VCN, the NSGs of that VCN. Returns the
/// model subnet, the model names of the NSGs and the wire form to show.
fn pod_configuration_update(
    t: &Twin,
    pid: PoolId,
    pc: PodConfiguration,
) -> Result<(SubnetId, Vec<String>, Value), ApiError> {
    let pool = &t.world.oke.pools[pid.0 as usize];
    let shape = pod_shape(&pc.shape)
        .map_err(|e| ApiError::invalid("podConfiguration.shape", e.to_string()))?;
    if shape.name != pool.pod_shape.name {
        return Err(ApiError::invalid(
            "podConfiguration.shape",
            format!(
                "the pod shape of a virtual node pool cannot be updated in place (it is {}): create a new pool with {}, drain the old one's nodes, then delete it",
                pool.pod_shape.name, shape.name
            ),
        ));
    }
    let subnet = subnet_of(t, "podConfiguration.subnetId", &pc.subnet_id)?;
    t.world
        .oke
        .check_pod_subnet(pool.cluster, subnet, &t.world.network)
        .map_err(|e| ApiError::invalid("podConfiguration.subnetId", e.to_string()))?;
    let nsgs = pc.nsg_ids.unwrap_or_default();
    let vcn = t.world.oke.clusters[pool.cluster.0 as usize].vcn;
    check_nsg_ids(t, "podConfiguration.nsgIds", &nsgs, vcn)?;
    Ok((
        subnet,
        nsg_names(t, &nsgs),
        json!({"subnetId": pc.subnet_id, "nsgIds": nsgs, "shape": pc.shape}),
    ))
}

/// What OKE keeps in NSG `nsg` that has no VNIC of its own in the twin, in
/// words, or `None`:
/// - the Kubernetes API endpoint of a cluster not DELETED or FAILED
///   (`endpointConfig.nsgIds`; OKE puts the endpoint on a VNIC in that
///   subnet, which the twin does not register);
/// - a pod holding an address on a virtual node of a pool whose
///   `podConfiguration.nsgIds` name it (OKE: those NSGs are "applied to the
///   Pod VNIC"; the twin gives pods no VNIC).
///
/// A pool's own `nsgIds` are not here: its virtual nodes' VNICs are
/// registered, so they count as VNICs. A pool with no pods keeps nothing in
/// its pod NSGs (OCI's rule is about VNICs, not about configurations that
/// name the NSG).
pub fn nsg_user(t: &Twin, nsg: &str) -> Option<String> {
    let name = t.world.network.nsg_by_ocid(nsg)?.name.as_str();
    let endpoint = t.ext.get::<OkeState>().and_then(|st| {
        st.cluster_extra.iter().find(|(id, x)| {
            let live = t
                .registry
                .get(id.as_str())
                .is_some_and(|m| !matches!(m.lifecycle_state.as_str(), "DELETED" | "FAILED"));
            live && x.endpoint_subnet.is_some() && x.endpoint_nsgs.iter().any(|n| n == nsg)
        })
    });
    if let Some((id, _)) = endpoint {
        return Some(format!(
            "the Kubernetes API endpoint of cluster {id} is in it (endpointConfig.nsgIds); give the endpoint other NSGs, or delete the cluster, first"
        ));
    }
    let w = &t.world;
    w.oke
        .live_pools()
        .filter(|(_, p)| p.pod_nsgs.iter().any(|n| n == name))
        .find_map(|(pid, p)| {
            w.kube
                .nodes
                .iter()
                .filter(|n| !n.removed && n.virtual_node.pool == pid)
                .flat_map(|n| n.pods.iter().map(|id| w.kube.pod(*id)))
                .find(|pod| pod.ip.is_some())
                .map(|pod| {
                    format!(
                        "the VNIC of pod {} of virtual node pool {} is in it (podConfiguration.nsgIds); give the pool's pods other NSGs, or remove its pods, first",
                        pod.name, p.id
                    )
                })
        })
}

async fn delete_pool(
    State(s): State<Shared>,
    ctx: Ctx,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    p.bool("isForceDeletionAfterOverrideGraceDurationVnp")?;
    let pid = pool_of(&mut t, &id)?;
    let m = t.registry.get_kind(&id, "virtualnodepool")?;
    if matches!(m.lifecycle_state.as_str(), "DELETING" | "DELETED") {
        return Err(ApiError::conflict(format!(
            "virtual node pool {id} is already {}",
            m.lifecycle_state
        )));
    }
    let compartment = m.compartment_id.clone();
    t.registry.set_state(&id, "DELETING");
    let d = duration(&mut t, "oke.virtualnodepool.delete", 60);
    let pool_ocid = id.clone();
    let wr = submit(
        &mut t,
        "VIRTUALNODEPOOL_DELETE",
        &compartment,
        vec![resource(
            "virtualnodepool",
            "DELETED",
            &id,
            format!("/virtualNodePools/{id}"),
        )],
        d,
        move |t| {
            t.world
                .delete_virtual_node_pool(pid)
                .map_err(|e| wr_failure("InternalError", e.to_string()))?;
            mark_nodes_deleted(t);
            t.registry.set_state(&pool_ocid, "DELETED");
            Ok(())
        },
    );
    Ok(Reply::accepted(&wr))
}

// ------------------------------------------------------------------ virtual nodes

fn node_json(t: &Twin, pool_ocid: &str, m: &Meta) -> Value {
    let st = t
        .ext
        .get::<OkeState>()
        .expect("nodes exist only with OKE state");
    let node = st.nodes[&m.id];
    let n = t.world.kube.node(node);
    let v = &n.virtual_node;
    let ad = &t.world.topology.ads[usize::from(v.availability_domain) - 1];
    let pool = st
        .pools
        .get(pool_ocid)
        .map(|p| &t.world.oke.pools[p.0 as usize]);
    let version = pool
        .map(|p| {
            t.world.oke.clusters[p.cluster.0 as usize]
                .kubernetes_version
                .clone()
        })
        .unwrap_or_default();
    let nsgs = st
        .pool_extra
        .get(pool_ocid)
        .map(|x| x.nsg_ids.clone())
        .unwrap_or_default();
    let (state, details) = if n.removed {
        (m.lifecycle_state.clone(), String::new())
    } else if n.ready != NodeReady::True {
        (
            "NEEDS_ATTENTION".to_string(),
            "the Kubernetes node is NotReady: its kubelet stopped posting status".to_string(),
        )
    } else {
        (m.lifecycle_state.clone(), String::new())
    };
    json!({
        "id": m.id,
        "displayName": n.name,
        "kubernetesVersion": version,
        "virtualNodePoolId": pool_ocid,
        "availabilityDomain": ad.name,
        "faultDomain": v.fault_domain.to_string(),
        "subnetId": t.world.network.subnet(v.node_subnet).id,
        "nsgIds": nsgs,
        "privateIp": ip_string(v.ip),
        "lifecycleState": state,
        "lifecycleDetails": details,
        "timeCreated": rfc3339(m.time_created),
        "freeformTags": {},
        "definedTags": {},
        "systemTags": {},
    })
}

/// The registry entries of `pool`'s nodes, live and deleted.
fn nodes_of(t: &Twin, pid: PoolId) -> Vec<&Meta> {
    let Some(st) = t.ext.get::<OkeState>() else {
        return Vec::new();
    };
    st.node_ocids
        .iter()
        .filter(|(n, _)| t.world.kube.node(**n).virtual_node.pool == pid)
        .filter_map(|(_, id)| t.registry.get(id))
        .filter(|m| m.lifecycle_state != "DELETED")
        .collect()
}

async fn list_virtual_nodes(
    State(s): State<Shared>,
    ctx: Ctx,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    let pid = pool_of(&mut t, &id)?;
    let name = p.get("name");
    let mut items: Vec<&Meta> = nodes_of(&t, pid)
        .into_iter()
        .filter(|m| name.is_none_or(|n| n == m.display_name))
        .collect();
    sort_oke(&mut items, &p)?;
    let (page, next) = paginate(items, &p)?;
    let v: Vec<Value> = page.into_iter().map(|m| node_json(&t, &id, m)).collect();
    Ok(Reply::page(&v, next))
}

async fn get_virtual_node(
    State(s): State<Shared>,
    ctx: Ctx,
    Path((id, node)): Path<(String, String)>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    let pid = pool_of(&mut t, &id)?;
    let m = t.registry.get_kind(&node, "virtualnode")?;
    let n = t
        .ext
        .get::<OkeState>()
        .and_then(|s| s.nodes.get(&node))
        .copied();
    if n.is_none_or(|n| t.world.kube.node(n).virtual_node.pool != pid) {
        return Err(ApiError::not_found("virtual node", &node));
    }
    Ok(Reply::json(&node_json(&t, &id, m)).etag(&m.etag()))
}

// ------------------------------------------------------------------ pod shapes

async fn list_pod_shapes(State(s): State<Shared>, ctx: Ctx, p: Params) -> ApiResult {
    let t = s.lock(&ctx);
    p.required("compartmentId")?;
    if let Some(ad) = p.get("availabilityDomain") {
        t.world
            .topology
            .ad(ad)
            .map_err(|e| ApiError::invalid("availabilityDomain", e.to_string()))?;
    }
    p.one_of("sortBy", &["ID", "NAME", "TIME_CREATED"])?;
    p.one_of("sortOrder", &["ASC", "DESC"])?;
    let name = p.get("name");
    let mut items: Vec<Value> = POD_SHAPES
        .iter()
        .filter(|s| name.is_none_or(|n| n == s.name))
        .map(|s| {
            json!({
                "name": s.name,
                "processorDescription": s.processor,
                "ocpuOptions": [{"min": 1.0, "max": f64::from(s.max_ocpus)}],
                "memoryOptions": [{
                    "minInGBs": 1.0,
                    "maxInGBs": f64::from(s.max_memory_gb),
                    "defaultPerOcpuInGBs": 16.0,
                    "minPerOcpuInGBs": 1.0,
                    "maxPerOcpuInGBs": 64.0,
                }],
                "networkBandwidthOptions": [{"minInGbps": 1.0, "maxInGbps": 40.0, "defaultPerOcpuInGbps": 1.0}],
            })
        })
        .collect();
    if p.get("sortOrder") == Some("DESC") {
        items.reverse();
    }
    let (page, next) = paginate(items, &p)?;
    Ok(Reply::page(&page, next))
}

// ------------------------------------------------------------------ work requests

const OKE: &[&str] = &["oke"];

async fn get_work_request(State(s): State<Shared>, ctx: Ctx, Path(id): Path<String>) -> ApiResult {
    let t = s.lock(&ctx);
    let w = t.work_requests.get_for(&id, OKE)?;
    Ok(Reply::json(&render_status_style(w, t.now))
        .etag(&super::wire::etag_of(&w.id, w.status as u64))
        .header("retry-after", "1"))
}

/// DeleteWorkRequest: cancels a work request that has not started. Its
/// model change never happens; what it was acting on goes back to where it
/// was: a resource being updated or deleted returns to ACTIVE, one being
/// created ends FAILED (an assumption: OKE does not document it).
async fn cancel_work_request(
    State(s): State<Shared>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    t.cancel_work_request(
        &id,
        OKE,
        Box::new(|t, w| {
            for r in &w.resources {
                let back = if r.action_type == "CREATED" {
                    "FAILED"
                } else {
                    "ACTIVE"
                };
                t.registry.set_state(&r.identifier, back);
            }
        }),
    )?;
    Ok(Reply::empty())
}

const WR_STATUSES: &[&str] = &[
    "ACCEPTED",
    "IN_PROGRESS",
    "FAILED",
    "SUCCEEDED",
    "CANCELING",
    "CANCELED",
];

fn wr_matches(w: &WorkRequest, p: &Params, statuses: &[&str]) -> bool {
    let cluster = p.get("clusterId");
    let resource = p.get("resourceId");
    let kind = p.get("resourceType").map(|k| match k {
        "CLUSTER" => "cluster",
        _ => "nodepool",
    });
    cluster.is_none_or(|c| w.resources.iter().any(|r| r.identifier == c))
        && resource.is_none_or(|r| w.resources.iter().any(|x| x.identifier == r))
        && kind.is_none_or(|k| w.resources.iter().any(|x| x.entity_type.contains(k)))
        && (statuses.is_empty() || statuses.contains(&w.status.as_str()))
}

async fn list_work_requests(State(s): State<Shared>, ctx: Ctx, p: Params) -> ApiResult {
    let t = s.lock(&ctx);
    p.one_of("resourceType", &["CLUSTER", "NODEPOOL"])?;
    let statuses = p.all_of("status", WR_STATUSES)?;
    list_status_style(&t, &p, OKE, |w| wr_matches(w, &p, &statuses))
}

async fn list_work_request_errors(
    State(s): State<Shared>,
    ctx: Ctx,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult {
    let t = s.lock(&ctx);
    p.required("compartmentId")?;
    let w = t.work_requests.get_for(&id, OKE)?;
    Ok(Reply::json(&render_errors(w)))
}

async fn list_work_request_logs(
    State(s): State<Shared>,
    ctx: Ctx,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult {
    let t = s.lock(&ctx);
    p.required("compartmentId")?;
    let w = t.work_requests.get_for(&id, OKE)?;
    Ok(Reply::json(&render_logs(w)))
}
