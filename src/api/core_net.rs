//! Core networking beyond VCNs (oci-api.md §5.2): subnets, internet, NAT and
//! service gateways (with ListServices and attach/detach), route tables,
//! security lists, network security groups and their security rules, private
//! IPs and VNICs.
//!
//! Each create validates the wire shape (fields named in errors), then asks
//! the network model, which owns CIDRs, pools, limits and dependencies. The
//! rules as sent are kept in [`CoreState`] for replies; the model gets their
//! meaning (direction, peer, protocol, ports, statefulness).

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::core::{
    CoreState, UpdateCommon, apply_common, base_json, check_compartment, check_dns_label,
    default_name, list_kind, merge, parse_cidr, register_provisioning, set_extras, terminate,
    vcn_id, vcn_of_extra,
};
use super::error::ApiError;
use super::pipeline::Ctx;
use super::registry::Meta;
use super::state::{Shared, Twin};
use super::wire::{
    ApiResult, FreeformTags, JsonBody, Params, Reply, Unmodelled, paginate, rfc3339, sort_items,
};
use crate::kernel::rng::fnv1a64;
use crate::model::network::{
    Direction, GatewayKind, RouteRule, SecurityRule, SubnetId, SubnetSpec, VcnId, ip_string,
};

/// Security rules per NSG (OCI's limit).
pub const MAX_NSG_RULES: usize = 120;

/// Core's routes for everything but VCNs and DHCP options.
pub fn routes(r: Router<Shared>) -> Router<Shared> {
    r.route("/20160918/subnets", get(list_subnets).post(create_subnet))
        .route(
            "/20160918/subnets/{id}",
            get(get_subnet).put(update_subnet).delete(delete_subnet),
        )
        .route(
            "/20160918/internetGateways",
            get(list_igws).post(create_igw),
        )
        .route(
            "/20160918/internetGateways/{id}",
            get(get_igw).put(update_igw).delete(delete_igw),
        )
        .route("/20160918/natGateways", get(list_nats).post(create_nat))
        .route(
            "/20160918/natGateways/{id}",
            get(get_nat).put(update_nat).delete(delete_nat),
        )
        .route("/20160918/serviceGateways", get(list_sgws).post(create_sgw))
        .route(
            "/20160918/serviceGateways/{id}",
            get(get_sgw).put(update_sgw).delete(delete_sgw),
        )
        .route(
            "/20160918/serviceGateways/{id}/actions/attachService",
            post(attach_service),
        )
        .route(
            "/20160918/serviceGateways/{id}/actions/detachService",
            post(detach_service),
        )
        .route("/20160918/services", get(list_services))
        .route("/20160918/services/{id}", get(get_service))
        .route("/20160918/routeTables", get(list_rts).post(create_rt))
        .route(
            "/20160918/routeTables/{id}",
            get(get_rt).put(update_rt).delete(delete_rt),
        )
        .route("/20160918/securityLists", get(list_sls).post(create_sl))
        .route(
            "/20160918/securityLists/{id}",
            get(get_sl).put(update_sl).delete(delete_sl),
        )
        .route(
            "/20160918/networkSecurityGroups",
            get(list_nsgs).post(create_nsg),
        )
        .route(
            "/20160918/networkSecurityGroups/{id}",
            get(get_nsg).put(update_nsg).delete(delete_nsg),
        )
        .route(
            "/20160918/networkSecurityGroups/{id}/securityRules",
            get(list_nsg_rules),
        )
        .route(
            "/20160918/networkSecurityGroups/{id}/vnics",
            get(list_nsg_vnics),
        )
        .route(
            "/20160918/networkSecurityGroups/{id}/actions/addSecurityRules",
            post(add_nsg_rules),
        )
        .route(
            "/20160918/networkSecurityGroups/{id}/actions/updateSecurityRules",
            post(update_nsg_rules),
        )
        .route(
            "/20160918/networkSecurityGroups/{id}/actions/removeSecurityRules",
            post(remove_nsg_rules),
        )
        .route(
            "/20160918/privateIps",
            get(list_private_ips).post(create_private_ip),
        )
        .route(
            "/20160918/privateIps/{id}",
            get(get_private_ip)
                .put(update_private_ip)
                .delete(delete_private_ip),
        )
        .route("/20160918/vnics/{id}", get(get_vnic))
}

fn extras(t: &Twin, id: &str) -> Value {
    t.ext
        .get::<CoreState>()
        .and_then(|c| c.extras.get(id))
        .cloned()
        .unwrap_or_else(|| json!({}))
}

fn render(t: &Twin, m: &Meta) -> Value {
    let mut v = base_json(m);
    if let Some(e) = t.ext.get::<CoreState>().and_then(|c| c.extras.get(&m.id)) {
        merge(&mut v, e);
    }
    v
}

fn reply(t: &Twin, id: &str, kind: &'static str) -> ApiResult {
    let m = t.registry.get_kind(id, kind)?;
    Ok(Reply::json(&render(t, m)).etag(&m.etag()))
}

fn vcn_of(t: &Twin, id: &str) -> Option<String> {
    vcn_of_extra(t, id)
}

/// The model name of a route table, security list or gateway given by OCID
/// (API-made objects are named by OCID, scenario-made ones by display name).
fn model_name<'a>(t: &'a Twin, field: &str, id: &str, vcn: VcnId) -> Result<&'a str, ApiError> {
    let net = &t.world.network;
    let found = net
        .route_tables
        .iter()
        .filter(|r| r.vcn == vcn)
        .map(|r| (&r.id, &r.name))
        .chain(
            net.security_lists
                .iter()
                .filter(|r| r.vcn == vcn)
                .map(|r| (&r.id, &r.name)),
        )
        .chain(
            net.gateways
                .iter()
                .filter(|r| r.vcn == vcn)
                .map(|r| (&r.id, &r.name)),
        )
        .chain(
            net.nsgs
                .iter()
                .filter(|r| r.vcn == vcn)
                .map(|r| (&r.id, &r.name)),
        )
        .chain(
            net.dhcp_options
                .iter()
                .filter(|r| r.vcn == vcn)
                .map(|r| (&r.id, &r.name)),
        )
        .find(|(i, _)| *i == id)
        .map(|(_, n)| n.as_str());
    found.ok_or_else(|| {
        ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "RelatedResourceNotAuthorizedOrNotFound",
            format!("{field}: {id} is not an object of VCN {}", net.vcn(vcn).id),
        )
    })
}

/// The OCID of a model object named `name` (inverse of [`model_name`]).
fn ocid_of(t: &Twin, name: &str) -> String {
    if t.registry.get(name).is_some() {
        // API-made objects are named by their OCID.
        return name.to_string();
    }
    let net = &t.world.network;
    net.route_tables
        .iter()
        .map(|r| (&r.id, &r.name))
        .chain(net.security_lists.iter().map(|r| (&r.id, &r.name)))
        .chain(net.gateways.iter().map(|r| (&r.id, &r.name)))
        .chain(net.nsgs.iter().map(|r| (&r.id, &r.name)))
        .find(|(_, n)| *n == name)
        .map(|(i, _)| i.clone())
        .unwrap_or_else(|| name.to_string())
}

// ---------------------------------------------------------------- subnets

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateSubnet {
    compartment_id: String,
    vcn_id: String,
    cidr_block: Option<String>,
    ipv4_cidr_blocks: Option<Vec<String>>,
    availability_domain: Option<String>,
    display_name: Option<String>,
    dns_label: Option<String>,
    route_table_id: Option<String>,
    security_list_ids: Option<Vec<String>>,
    dhcp_options_id: Option<String>,
    prohibit_public_ip_on_vnic: Option<bool>,
    prohibit_internet_ingress: Option<bool>,
    ipv6_cidr_block: Option<String>,
    freeform_tags: Option<FreeformTags>,
    defined_tags: Option<Value>,
    // OCI fields the twin does not model: refused when given.
    _ipv6_cidr_blocks: Option<Unmodelled>,
}

/// The live subnet with this OCID, else 404.
pub fn subnet_id(t: &Twin, id: &str) -> Result<SubnetId, ApiError> {
    t.registry.get_kind(id, "subnet")?;
    t.world
        .network
        .subnet_by_ocid(id)
        .ok_or_else(|| ApiError::not_found("subnet", id))
}

fn subnet_json(t: &Twin, m: &Meta) -> Value {
    let mut v = base_json(m);
    let net = &t.world.network;
    if let Some(s) = net.subnet_record(&m.id) {
        let vcn = net.vcn(s.vcn);
        v["vcnId"] = json!(vcn.id);
        v["cidrBlock"] = json!(s.cidr.to_string());
        v["ipv4CidrBlocks"] = json!([s.cidr.to_string()]);
        v["availabilityDomain"] = match s.availability_domain {
            Some(n) => json!(t.world.topology.ads[usize::from(n) - 1].name),
            None => Value::Null,
        };
        v["prohibitPublicIpOnVnic"] = json!(s.prohibit_public_ip);
        v["prohibitInternetIngress"] = json!(s.prohibit_public_ip);
        v["routeTableId"] = json!(s.route_table.as_deref().map(|n| ocid_of(t, n)));
        v["securityListIds"] = json!(
            s.security_lists
                .iter()
                .map(|n| ocid_of(t, n))
                .collect::<Vec<_>>()
        );
        v["virtualRouterIp"] = json!(ip_string(s.cidr.first() + 1));
        let h = fnv1a64(m.id.as_bytes());
        v["virtualRouterMac"] = json!(format!(
            "00:00:17:{:02X}:{:02X}:{:02X}",
            (h >> 16) & 0xff,
            (h >> 8) & 0xff,
            h & 0xff
        ));
        let core = t.ext.get::<CoreState>();
        let label = core.and_then(|c| c.dns_labels.get(&m.id));
        let vcn_label = core.and_then(|c| c.dns_labels.get(&vcn.id));
        if let Some(l) = label {
            v["dnsLabel"] = json!(l);
            if let Some(vl) = vcn_label {
                v["subnetDomainName"] = json!(format!("{l}.{vl}.oraclevcn.com"));
            }
        }
        if v.get("dhcpOptionsId").is_none() {
            v["dhcpOptionsId"] = net
                .defaults(s.vcn)
                .map(|d| json!(d.dhcp_options))
                .unwrap_or(Value::Null);
        }
        v["ipv6CidrBlocks"] = json!([]);
    }
    merge(&mut v, &extras(t, &m.id));
    v
}

fn ad_number(t: &Twin, field: &str, name: &str) -> Result<u8, ApiError> {
    t.world
        .topology
        .ads
        .iter()
        .find(|a| a.name.eq_ignore_ascii_case(name))
        .map(|a| a.number)
        .ok_or_else(|| {
            let known: Vec<&str> = t
                .world
                .topology
                .ads
                .iter()
                .map(|a| a.name.as_str())
                .collect();
            ApiError::invalid(
                field,
                format!(
                    "`{name}` is not an availability domain of this region (known: {})",
                    known.join(", ")
                ),
            )
        })
}

async fn create_subnet(
    State(s): State<Shared>,
    ctx: Ctx,
    JsonBody(b): JsonBody<CreateSubnet>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    check_compartment(&t, &b.compartment_id)?;
    let vid = vcn_id(&t, &b.vcn_id).map_err(|_| {
        ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            "NotAuthorizedOrNotFound",
            format!(
                "vcnId: VCN {} does not exist or you are not authorized to access it",
                b.vcn_id
            ),
        )
    })?;
    if b.ipv6_cidr_block.is_some() {
        return Err(ApiError::invalid(
            "ipv6CidrBlock",
            "the twin models IPv4 subnets only",
        ));
    }
    let cidr = match (&b.cidr_block, &b.ipv4_cidr_blocks) {
        (Some(c), _) => parse_cidr("cidrBlock", c)?,
        (None, Some(list)) if list.len() == 1 => parse_cidr("ipv4CidrBlocks[0]", &list[0])?,
        (None, Some(_)) => {
            return Err(ApiError::invalid(
                "ipv4CidrBlocks",
                "the twin models one IPv4 CIDR block per subnet",
            ));
        }
        (None, None) => return Err(ApiError::missing("cidrBlock")),
    };
    let ad = b
        .availability_domain
        .as_deref()
        .map(|a| ad_number(&t, "availabilityDomain", a))
        .transpose()?;
    if let Some(l) = &b.dns_label {
        check_dns_label("dnsLabel", l)?;
    }
    let defaults = t.world.network.defaults(vid).cloned();
    let route_table = match &b.route_table_id {
        Some(rt) => Some(model_name(&t, "routeTableId", rt, vid)?.to_string()),
        None => defaults.as_ref().map(|d| d.route_table.clone()),
    };
    let security_lists = match &b.security_list_ids {
        Some(ids) => ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                model_name(&t, &format!("securityListIds[{i}]"), id, vid).map(str::to_string)
            })
            .collect::<Result<Vec<_>, _>>()?,
        None => defaults.iter().map(|d| d.security_list.clone()).collect(),
    };
    if let Some(d) = &b.dhcp_options_id {
        model_name(&t, "dhcpOptionsId", d, vid)?;
    }
    let private = b
        .prohibit_public_ip_on_vnic
        .or(b.prohibit_internet_ingress)
        .unwrap_or(false);
    let id = t.world.mint.regional("subnet");
    let spec = SubnetSpec {
        name: id.clone(),
        cidr,
        availability_domain: ad,
        prohibit_public_ip: private,
        route_table,
        security_lists,
    };
    t.world
        .network
        .create_subnet(vid, id.clone(), spec)
        .map_err(|e| field_error("cidrBlock", e))?;
    let name = b.display_name.unwrap_or_else(|| default_name("subnet", &t));
    register_provisioning(
        &mut t,
        &id,
        "subnet",
        &b.compartment_id,
        &name,
        (b.freeform_tags, b.defined_tags),
    );
    t.registry.set_parent(&id, &b.vcn_id);
    if let Some(l) = b.dns_label {
        t.ext
            .get_mut::<CoreState>()
            .dns_labels
            .insert(id.clone(), l);
    }
    if let Some(d) = b.dhcp_options_id {
        set_extras(&mut t, &id, json!({"dhcpOptionsId": d}));
    }
    let m = t.registry.get_kind(&id, "subnet")?;
    Ok(Reply::json(&subnet_json(&t, m)).etag(&m.etag()))
}

/// A model error as 400 naming `field` (CIDR checks) or its own mapping.
fn field_error(field: &str, e: crate::model::network::NetworkError) -> ApiError {
    let api = ApiError::from(e);
    if api.code == "InvalidParameter" {
        ApiError::invalid(field, api.message)
    } else {
        api
    }
}

async fn get_subnet(State(s): State<Shared>, ctx: Ctx, Path(id): Path<String>) -> ApiResult {
    let t = s.lock(&ctx);
    let m = t.registry.get_kind(&id, "subnet")?;
    Ok(Reply::json(&subnet_json(&t, m)).etag(&m.etag()))
}

async fn list_subnets(State(s): State<Shared>, ctx: Ctx, p: Params) -> ApiResult {
    let t = s.lock(&ctx);
    list_kind(
        &t,
        &p,
        "subnet",
        false,
        |t, id| {
            let net = &t.world.network;
            net.subnet_record(id).map(|s| net.vcn(s.vcn).id.clone())
        },
        subnet_json,
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateSubnet {
    display_name: Option<String>,
    freeform_tags: Option<FreeformTags>,
    defined_tags: Option<Value>,
    route_table_id: Option<String>,
    security_list_ids: Option<Vec<String>>,
    dhcp_options_id: Option<String>,
    cidr_block: Option<String>,
    // OCI fields the twin does not model (IPv6): refused when given.
    _ipv6_cidr_block: Option<Unmodelled>,
    _ipv6_cidr_blocks: Option<Unmodelled>,
}

async fn update_subnet(
    State(s): State<Shared>,
    ctx: Ctx,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<UpdateSubnet>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    let sid = subnet_id(&t, &id)?;
    let vid = t.world.network.subnet(sid).vcn;
    if let Some(c) = &b.cidr_block
        && parse_cidr("cidrBlock", c)? != t.world.network.subnet(sid).cidr
    {
        return Err(ApiError::invalid(
            "cidrBlock",
            "the twin does not model changing a subnet's CIDR",
        ));
    }
    let rt = b
        .route_table_id
        .as_deref()
        .map(|r| model_name(&t, "routeTableId", r, vid).map(str::to_string))
        .transpose()?;
    let sls = b
        .security_list_ids
        .as_ref()
        .map(|ids| {
            ids.iter()
                .enumerate()
                .map(|(i, x)| {
                    model_name(&t, &format!("securityListIds[{i}]"), x, vid).map(str::to_string)
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    if let Some(d) = &b.dhcp_options_id {
        model_name(&t, "dhcpOptionsId", d, vid)?;
    }
    t.world.network.update_subnet(sid, rt, sls)?;
    if let Some(d) = b.dhcp_options_id {
        set_extras(&mut t, &id, json!({"dhcpOptionsId": d}));
    }
    apply_common(
        &mut t,
        &id,
        "subnet",
        UpdateCommon {
            display_name: b.display_name,
            freeform_tags: b.freeform_tags,
            defined_tags: b.defined_tags,
        },
    )?;
    let m = t.registry.get_kind(&id, "subnet")?;
    Ok(Reply::json(&subnet_json(&t, m)).etag(&m.etag()))
}

async fn delete_subnet(State(s): State<Shared>, ctx: Ctx, Path(id): Path<String>) -> ApiResult {
    let mut t = s.lock(&ctx);
    let sid = subnet_id(&t, &id)?;
    t.world.network.delete_subnet(sid)?;
    terminate(&mut t, &id, "subnet");
    Ok(Reply::empty())
}

// ---------------------------------------------------------------- gateways

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateGateway {
    compartment_id: String,
    vcn_id: String,
    display_name: Option<String>,
    is_enabled: Option<bool>,
    block_traffic: Option<bool>,
    public_ip_id: Option<String>,
    route_table_id: Option<String>,
    services: Option<Vec<ServiceId>>,
    freeform_tags: Option<FreeformTags>,
    defined_tags: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ServiceId {
    service_id: String,
}

/// The Oracle Services Network services of the region: (id, name, cidrBlock, description).
fn services(t: &Twin) -> Vec<(String, String, String, String)> {
    let key = t.world.topology.region.key;
    let k = key.to_ascii_lowercase();
    let id = |n: &str| {
        let h = fnv1a64(format!("{k}/{n}").as_bytes());
        format!(
            "ocid1.service.oc1.{k}.aaaaaaaa{h:016x}{:036x}",
            u128::from(h) * 7919
        )
    };
    let all = format!("All {key} Services In Oracle Services Network");
    let os = format!("OCI {key} Object Storage");
    vec![
        (
            id("all"),
            all.clone(),
            format!("all-{k}-services-in-oracle-services-network"),
            all,
        ),
        (
            id("objectstorage"),
            os.clone(),
            format!("oci-{k}-objectstorage"),
            os,
        ),
    ]
}

fn service_json(s: &(String, String, String, String)) -> Value {
    json!({"id": s.0, "name": s.1, "cidrBlock": s.2, "description": s.3})
}

fn service_refs(t: &Twin, ids: &[ServiceId], field: &str) -> Result<Vec<Value>, ApiError> {
    let all = services(t);
    ids.iter()
        .enumerate()
        .map(|(i, s)| {
            all.iter()
                .find(|x| x.0 == s.service_id)
                .map(|x| json!({"serviceId": x.0, "serviceName": x.1}))
                .ok_or_else(|| {
                    ApiError::invalid(
                        &format!("{field}[{i}].serviceId"),
                        format!(
                            "{} is not a service of this region (see ListServices)",
                            s.service_id
                        ),
                    )
                })
        })
        .collect()
}

fn create_gateway(
    t: &mut Twin,
    b: CreateGateway,
    kind: GatewayKind,
    type_name: &'static str,
) -> ApiResult {
    check_compartment(t, &b.compartment_id)?;
    let vid = vcn_id(t, &b.vcn_id)?;
    if let Some(rt) = &b.route_table_id {
        model_name(t, "routeTableId", rt, vid)?;
    }
    let services = match (kind, &b.services) {
        (GatewayKind::Service, Some(s)) => Some(service_refs(t, s, "services")?),
        (GatewayKind::Service, None) => return Err(ApiError::missing("services")),
        _ => None,
    };
    let id = t.world.mint.regional(type_name);
    t.world.network.create_gateway(vid, id.clone(), &id, kind)?;
    let name = b.display_name.unwrap_or_else(|| default_name(type_name, t));
    register_provisioning(
        t,
        &id,
        type_name,
        &b.compartment_id,
        &name,
        (b.freeform_tags, b.defined_tags),
    );
    t.registry.set_parent(&id, &b.vcn_id);
    let extra = gateway_extras(
        &id,
        kind,
        &b.vcn_id,
        GatewayFields {
            route_table_id: b.route_table_id,
            is_enabled: b.is_enabled.unwrap_or(true),
            block_traffic: b.block_traffic.unwrap_or(false),
            public_ip_id: b.public_ip_id,
            services: services.unwrap_or_default(),
        },
    );
    set_extras(t, &id, extra);
    reply(t, &id, type_name)
}

/// What a gateway's reply shows beyond the model, as sent or defaulted.
struct GatewayFields {
    route_table_id: Option<String>,
    is_enabled: bool,
    block_traffic: bool,
    public_ip_id: Option<String>,
    services: Vec<Value>,
}

/// The wire extras of gateway `id` of `kind`: the fields its kind's reply
/// carries (InternetGateway `isEnabled`, NatGateway `natIp`/`blockTraffic`,
/// ServiceGateway `services`/`blockTraffic`).
fn gateway_extras(id: &str, kind: GatewayKind, vcn_id: &str, f: GatewayFields) -> Value {
    let mut extra = json!({"vcnId": vcn_id, "routeTableId": f.route_table_id});
    match kind {
        GatewayKind::Internet => extra["isEnabled"] = json!(f.is_enabled),
        GatewayKind::Nat => {
            let h = fnv1a64(id.as_bytes());
            extra["blockTraffic"] = json!(f.block_traffic);
            extra["natIp"] = json!(format!("129.80.{}.{}", (h >> 8) & 0xff, (h & 0xfe) | 1));
            extra["publicIpId"] = json!(f.public_ip_id);
        }
        GatewayKind::Service => {
            extra["blockTraffic"] = json!(f.block_traffic);
            extra["services"] = json!(f.services);
        }
    }
    extra
}

async fn create_igw(
    State(s): State<Shared>,
    ctx: Ctx,
    JsonBody(b): JsonBody<CreateGateway>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    if b.is_enabled.is_none() {
        return Err(ApiError::missing("isEnabled"));
    }
    create_gateway(&mut t, b, GatewayKind::Internet, "internetgateway")
}

async fn create_nat(
    State(s): State<Shared>,
    ctx: Ctx,
    JsonBody(b): JsonBody<CreateGateway>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    create_gateway(&mut t, b, GatewayKind::Nat, "natgateway")
}

async fn create_sgw(
    State(s): State<Shared>,
    ctx: Ctx,
    JsonBody(b): JsonBody<CreateGateway>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    create_gateway(&mut t, b, GatewayKind::Service, "servicegateway")
}

macro_rules! get_list_of {
    ($get:ident, $list:ident, $kind:literal) => {
        async fn $get(State(s): State<Shared>, ctx: Ctx, Path(id): Path<String>) -> ApiResult {
            let t = s.lock(&ctx);
            reply(&t, &id, $kind)
        }
        async fn $list(State(s): State<Shared>, ctx: Ctx, p: Params) -> ApiResult {
            let t = s.lock(&ctx);
            list_kind(&t, &p, $kind, false, vcn_of, render)
        }
    };
}

get_list_of!(get_igw, list_igws, "internetgateway");
get_list_of!(get_nat, list_nats, "natgateway");
get_list_of!(get_sgw, list_sgws, "servicegateway");
get_list_of!(get_rt, list_rts, "routetable");
get_list_of!(get_sl, list_sls, "securitylist");

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateGateway {
    display_name: Option<String>,
    freeform_tags: Option<FreeformTags>,
    defined_tags: Option<Value>,
    is_enabled: Option<bool>,
    block_traffic: Option<bool>,
    route_table_id: Option<String>,
    services: Option<Vec<ServiceId>>,
}

fn update_gateway(t: &mut Twin, id: &str, kind: &'static str, b: UpdateGateway) -> ApiResult {
    t.registry.get_kind(id, kind)?;
    let vid = vcn_of(t, id)
        .and_then(|v| t.world.network.vcn_by_ocid(&v))
        .ok_or_else(|| ApiError::not_found(kind, id))?;
    let mut extra = json!({});
    if let Some(rt) = &b.route_table_id {
        model_name(t, "routeTableId", rt, vid)?;
        extra["routeTableId"] = json!(rt);
    }
    if let Some(e) = b.is_enabled {
        extra["isEnabled"] = json!(e);
    }
    if let Some(bt) = b.block_traffic {
        extra["blockTraffic"] = json!(bt);
    }
    if let Some(svcs) = &b.services {
        extra["services"] = json!(service_refs(t, svcs, "services")?);
    }
    apply_common(
        t,
        id,
        kind,
        UpdateCommon {
            display_name: b.display_name,
            freeform_tags: b.freeform_tags,
            defined_tags: b.defined_tags,
        },
    )?;
    set_extras(t, id, extra);
    reply(t, id, kind)
}

fn delete_gateway(t: &mut Twin, id: &str, kind: &'static str) -> ApiResult {
    let m = t.registry.get_kind(id, kind)?;
    if matches!(m.lifecycle_state.as_str(), "TERMINATING" | "TERMINATED") {
        return Ok(Reply::empty());
    }
    t.world.network.delete_gateway(id)?;
    terminate(t, id, kind);
    Ok(Reply::empty())
}

macro_rules! update_delete_gateway {
    ($upd:ident, $del:ident, $kind:literal) => {
        async fn $upd(
            State(s): State<Shared>,
            ctx: Ctx,
            Path(id): Path<String>,
            JsonBody(b): JsonBody<UpdateGateway>,
        ) -> ApiResult {
            let mut t = s.lock(&ctx);
            update_gateway(&mut t, &id, $kind, b)
        }
        async fn $del(State(s): State<Shared>, ctx: Ctx, Path(id): Path<String>) -> ApiResult {
            let mut t = s.lock(&ctx);
            delete_gateway(&mut t, &id, $kind)
        }
    };
}

update_delete_gateway!(update_igw, delete_igw, "internetgateway");
update_delete_gateway!(update_nat, delete_nat, "natgateway");
update_delete_gateway!(update_sgw, delete_sgw, "servicegateway");

async fn attach_service(
    State(s): State<Shared>,
    ctx: Ctx,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<ServiceId>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    t.registry.get_kind(&id, "servicegateway")?;
    let new = service_refs(&t, std::slice::from_ref(&b), "body")?.remove(0);
    let mut list: Vec<Value> = extras(&t, &id)["services"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if !list.contains(&new) {
        list.push(new);
    }
    set_extras(&mut t, &id, json!({"services": list}));
    t.registry.touch(&id);
    reply(&t, &id, "servicegateway")
}

async fn detach_service(
    State(s): State<Shared>,
    ctx: Ctx,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<ServiceId>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    t.registry.get_kind(&id, "servicegateway")?;
    let mut list: Vec<Value> = extras(&t, &id)["services"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    list.retain(|x| x["serviceId"] != b.service_id.as_str());
    set_extras(&mut t, &id, json!({"services": list}));
    t.registry.touch(&id);
    reply(&t, &id, "servicegateway")
}

async fn list_services(State(s): State<Shared>, ctx: Ctx, p: Params) -> ApiResult {
    let t = s.lock(&ctx);
    let v: Vec<Value> = services(&t).iter().map(service_json).collect();
    let (page, next) = paginate(v, &p)?;
    Ok(Reply::page(&page, next))
}

async fn get_service(State(s): State<Shared>, ctx: Ctx, Path(id): Path<String>) -> ApiResult {
    let t = s.lock(&ctx);
    let svc = services(&t)
        .into_iter()
        .find(|x| x.0 == id)
        .ok_or_else(|| ApiError::not_found("service", &id))?;
    Ok(Reply::json(&service_json(&svc)).etag(&super::wire::etag_of(&id, 1)))
}

// ---------------------------------------------------------------- route tables

/// Where a rule's destination points.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum DestType {
    CidrBlock,
    ServiceCidrBlock,
    NetworkSecurityGroup,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireRouteRule {
    network_entity_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    destination: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    destination_type: Option<DestType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cidr_block: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    route_type: Option<RouteType>,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum RouteType {
    Static,
    Local,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateRouteTable {
    compartment_id: String,
    vcn_id: String,
    route_rules: Vec<WireRouteRule>,
    display_name: Option<String>,
    freeform_tags: Option<FreeformTags>,
    defined_tags: Option<Value>,
}

/// Validates wire route rules and maps them onto the model.
fn route_rules(
    t: &Twin,
    vid: VcnId,
    rules: &mut [WireRouteRule],
) -> Result<Vec<RouteRule>, ApiError> {
    let labels: Vec<String> = services(t).into_iter().map(|s| s.2).collect();
    let mut out = Vec::new();
    for (i, r) in rules.iter_mut().enumerate() {
        let f = |x: &str| format!("routeRules[{i}].{x}");
        let dest = r
            .destination
            .clone()
            .or_else(|| r.cidr_block.clone())
            .ok_or_else(|| ApiError::missing(&f("destination")))?;
        let dtype = r.destination_type.unwrap_or(DestType::CidrBlock);
        let gw = t
            .world
            .network
            .gateways
            .iter()
            .find(|g| g.id == r.network_entity_id && g.vcn == vid)
            .ok_or_else(|| {
                ApiError::new(
                    axum::http::StatusCode::BAD_REQUEST,
                    "RelatedResourceNotAuthorizedOrNotFound",
                    format!(
                        "{}: {} is not a gateway of VCN {} (the twin routes to internet, NAT and service gateways)",
                        f("networkEntityId"),
                        r.network_entity_id,
                        t.world.network.vcn(vid).id
                    ),
                )
            })?;
        match dtype {
            DestType::CidrBlock => {
                parse_cidr(&f("destination"), &dest)?;
                if gw.kind == GatewayKind::Service {
                    return Err(ApiError::invalid(
                        &f("destinationType"),
                        "a rule to a service gateway needs SERVICE_CIDR_BLOCK and a service's cidrBlock",
                    ));
                }
            }
            DestType::ServiceCidrBlock => {
                if !labels.contains(&dest) {
                    return Err(ApiError::invalid(
                        &f("destination"),
                        format!(
                            "`{dest}` is not a service cidrBlock (known: {})",
                            labels.join(", ")
                        ),
                    ));
                }
                if gw.kind != GatewayKind::Service {
                    return Err(ApiError::invalid(
                        &f("destinationType"),
                        "SERVICE_CIDR_BLOCK rules must target a service gateway",
                    ));
                }
            }
            DestType::NetworkSecurityGroup => {
                return Err(ApiError::invalid(
                    &f("destinationType"),
                    "route rules take CIDR_BLOCK or SERVICE_CIDR_BLOCK",
                ));
            }
        }
        r.destination = Some(dest.clone());
        r.destination_type = Some(dtype);
        out.push(RouteRule {
            destination: dest,
            target: gw.name.clone(),
        });
    }
    Ok(out)
}

async fn create_rt(
    State(s): State<Shared>,
    ctx: Ctx,
    JsonBody(mut b): JsonBody<CreateRouteTable>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    check_compartment(&t, &b.compartment_id)?;
    let vid = vcn_id(&t, &b.vcn_id)?;
    let rules = route_rules(&t, vid, &mut b.route_rules)?;
    let id = t.world.mint.regional("routetable");
    t.world
        .network
        .create_route_table(vid, id.clone(), &id, rules)?;
    let name = b
        .display_name
        .unwrap_or_else(|| default_name("routetable", &t));
    register_provisioning(
        &mut t,
        &id,
        "routetable",
        &b.compartment_id,
        &name,
        (b.freeform_tags, b.defined_tags),
    );
    t.registry.set_parent(&id, &b.vcn_id);
    set_extras(
        &mut t,
        &id,
        json!({"vcnId": b.vcn_id, "routeRules": b.route_rules}),
    );
    reply(&t, &id, "routetable")
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateRouteTable {
    display_name: Option<String>,
    freeform_tags: Option<FreeformTags>,
    defined_tags: Option<Value>,
    route_rules: Option<Vec<WireRouteRule>>,
}

fn vcn_of_object(t: &Twin, id: &str, kind: &'static str) -> Result<VcnId, ApiError> {
    t.registry.get_kind(id, kind)?;
    vcn_of(t, id)
        .and_then(|v| t.world.network.vcn_by_ocid(&v))
        .ok_or_else(|| ApiError::not_found(kind, id))
}

async fn update_rt(
    State(s): State<Shared>,
    ctx: Ctx,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<UpdateRouteTable>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    let vid = vcn_of_object(&t, &id, "routetable")?;
    if let Some(mut rules) = b.route_rules {
        let model = route_rules(&t, vid, &mut rules)?;
        t.world.network.set_route_rules(&id, model)?;
        set_extras(&mut t, &id, json!({"routeRules": rules}));
    }
    apply_common(
        &mut t,
        &id,
        "routetable",
        UpdateCommon {
            display_name: b.display_name,
            freeform_tags: b.freeform_tags,
            defined_tags: b.defined_tags,
        },
    )?;
    reply(&t, &id, "routetable")
}

async fn delete_rt(State(s): State<Shared>, ctx: Ctx, Path(id): Path<String>) -> ApiResult {
    let mut t = s.lock(&ctx);
    t.registry.get_kind(&id, "routetable")?;
    t.world.network.delete_route_table(&id)?;
    terminate(&mut t, &id, "routetable");
    Ok(Reply::empty())
}

// ---------------------------------------------------------------- security rules

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PortRange {
    min: i64,
    max: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PortOptions {
    #[serde(skip_serializing_if = "Option::is_none")]
    destination_port_range: Option<PortRange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_port_range: Option<PortRange>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct IcmpOptions {
    #[serde(rename = "type")]
    kind: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<i64>,
}

/// A security rule in any of its wire shapes (security list ingress/egress,
/// NSG add/update/reply).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireRule {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    direction: Option<WireDirection>,
    protocol: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_type: Option<DestType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    destination: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    destination_type: Option<DestType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_stateless: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tcp_options: Option<PortOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    udp_options: Option<PortOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    icmp_options: Option<IcmpOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_valid: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    time_created: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum WireDirection {
    Ingress,
    Egress,
}

fn check_ports(field: &str, o: &Option<PortOptions>) -> Result<Option<(u16, u16)>, ApiError> {
    let Some(o) = o else { return Ok(None) };
    for (name, r) in [
        ("destinationPortRange", &o.destination_port_range),
        ("sourcePortRange", &o.source_port_range),
    ] {
        if let Some(r) = r
            && !(1 <= r.min && r.min <= r.max && r.max <= 65535)
        {
            return Err(ApiError::invalid(
                &format!("{field}.{name}"),
                format!(
                    "min {} and max {} must satisfy 1 <= min <= max <= 65535",
                    r.min, r.max
                ),
            ));
        }
    }
    Ok(o.destination_port_range
        .as_ref()
        .map(|r| (r.min as u16, r.max as u16)))
}

/// Validates one rule; `direction` is fixed for security lists, read from the
/// rule for NSGs. Returns the model's view of it.
fn check_rule(
    t: &Twin,
    vid: VcnId,
    field: &str,
    r: &mut WireRule,
    direction: Option<WireDirection>,
    nsg_allowed: bool,
) -> Result<SecurityRule, ApiError> {
    let dir = direction
        .or(r.direction)
        .ok_or_else(|| ApiError::missing(&format!("{field}.direction")))?;
    let proto = r.protocol.as_str();
    let number = proto.parse::<u16>().ok().filter(|n| *n <= 255);
    if proto != "all" && number.is_none() {
        return Err(ApiError::invalid(
            &format!("{field}.protocol"),
            format!("`{proto}` is not `all` or an IANA protocol number (6 TCP, 17 UDP, 1 ICMP)"),
        ));
    }
    let (peer_field, peer, ptype) = match dir {
        WireDirection::Ingress => ("source", r.source.clone(), r.source_type),
        WireDirection::Egress => ("destination", r.destination.clone(), r.destination_type),
    };
    let peer = peer.ok_or_else(|| ApiError::missing(&format!("{field}.{peer_field}")))?;
    let ptype = ptype.unwrap_or(DestType::CidrBlock);
    match ptype {
        DestType::CidrBlock => {
            parse_cidr(&format!("{field}.{peer_field}"), &peer)?;
        }
        DestType::ServiceCidrBlock => {
            if !services(t).iter().any(|s| s.2 == peer) {
                return Err(ApiError::invalid(
                    &format!("{field}.{peer_field}"),
                    format!("`{peer}` is not a service cidrBlock (see ListServices)"),
                ));
            }
        }
        DestType::NetworkSecurityGroup => {
            if !nsg_allowed {
                return Err(ApiError::invalid(
                    &format!("{field}.{peer_field}Type"),
                    "security lists take CIDR_BLOCK or SERVICE_CIDR_BLOCK",
                ));
            }
            if t.world.network.nsg_by_ocid(&peer).is_none() {
                return Err(ApiError::invalid(
                    &format!("{field}.{peer_field}"),
                    format!("{peer} is not a network security group"),
                ));
            }
        }
    }
    let opts = [
        ("tcpOptions", r.tcp_options.is_some(), Some(6)),
        ("udpOptions", r.udp_options.is_some(), Some(17)),
        ("icmpOptions", r.icmp_options.is_some(), Some(1)),
    ];
    for (name, present, want) in opts {
        if present && number != want {
            return Err(ApiError::invalid(
                &format!("{field}.{name}"),
                format!("{name} needs protocol {}", want.unwrap_or(0)),
            ));
        }
    }
    let ports = check_ports(&format!("{field}.tcpOptions"), &r.tcp_options)?
        .or(check_ports(&format!("{field}.udpOptions"), &r.udp_options)?);
    let peer_model = match ptype {
        DestType::NetworkSecurityGroup => t
            .world
            .network
            .nsg_by_ocid(&peer)
            .map(|n| n.name.clone())
            .unwrap_or(peer),
        _ => peer,
    };
    match dir {
        WireDirection::Ingress => r.source_type = Some(ptype),
        WireDirection::Egress => r.destination_type = Some(ptype),
    }
    r.is_stateless = Some(r.is_stateless.unwrap_or(false));
    let _ = vid;
    Ok(SecurityRule {
        direction: match dir {
            WireDirection::Ingress => Direction::Ingress,
            WireDirection::Egress => Direction::Egress,
        },
        peer: peer_model,
        protocol: r.protocol.clone(),
        ports,
        stateless: r.is_stateless.unwrap_or(false),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateSecurityList {
    compartment_id: String,
    vcn_id: String,
    ingress_security_rules: Vec<WireRule>,
    egress_security_rules: Vec<WireRule>,
    display_name: Option<String>,
    freeform_tags: Option<FreeformTags>,
    defined_tags: Option<Value>,
}

fn list_rules(
    t: &Twin,
    vid: VcnId,
    ingress: &mut [WireRule],
    egress: &mut [WireRule],
) -> Result<Vec<SecurityRule>, ApiError> {
    let mut out = Vec::new();
    for (i, r) in ingress.iter_mut().enumerate() {
        out.push(check_rule(
            t,
            vid,
            &format!("ingressSecurityRules[{i}]"),
            r,
            Some(WireDirection::Ingress),
            false,
        )?);
        r.direction = None;
    }
    for (i, r) in egress.iter_mut().enumerate() {
        out.push(check_rule(
            t,
            vid,
            &format!("egressSecurityRules[{i}]"),
            r,
            Some(WireDirection::Egress),
            false,
        )?);
        r.direction = None;
    }
    Ok(out)
}

async fn create_sl(
    State(s): State<Shared>,
    ctx: Ctx,
    JsonBody(mut b): JsonBody<CreateSecurityList>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    check_compartment(&t, &b.compartment_id)?;
    let vid = vcn_id(&t, &b.vcn_id)?;
    let rules = list_rules(
        &t,
        vid,
        &mut b.ingress_security_rules,
        &mut b.egress_security_rules,
    )?;
    let id = t.world.mint.regional("securitylist");
    t.world
        .network
        .create_security_list(vid, id.clone(), &id, rules);
    let name = b
        .display_name
        .unwrap_or_else(|| default_name("securitylist", &t));
    register_provisioning(
        &mut t,
        &id,
        "securitylist",
        &b.compartment_id,
        &name,
        (b.freeform_tags, b.defined_tags),
    );
    t.registry.set_parent(&id, &b.vcn_id);
    set_extras(
        &mut t,
        &id,
        json!({
            "vcnId": b.vcn_id,
            "ingressSecurityRules": b.ingress_security_rules,
            "egressSecurityRules": b.egress_security_rules,
        }),
    );
    reply(&t, &id, "securitylist")
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateSecurityList {
    display_name: Option<String>,
    freeform_tags: Option<FreeformTags>,
    defined_tags: Option<Value>,
    ingress_security_rules: Option<Vec<WireRule>>,
    egress_security_rules: Option<Vec<WireRule>>,
}

fn stored_rules(t: &Twin, id: &str, key: &str) -> Vec<WireRule> {
    serde_json::from_value(extras(t, id)[key].clone()).unwrap_or_default()
}

async fn update_sl(
    State(s): State<Shared>,
    ctx: Ctx,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<UpdateSecurityList>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    let vid = vcn_of_object(&t, &id, "securitylist")?;
    if b.ingress_security_rules.is_some() || b.egress_security_rules.is_some() {
        let mut ing = b
            .ingress_security_rules
            .unwrap_or_else(|| stored_rules(&t, &id, "ingressSecurityRules"));
        let mut eg = b
            .egress_security_rules
            .unwrap_or_else(|| stored_rules(&t, &id, "egressSecurityRules"));
        let model = list_rules(&t, vid, &mut ing, &mut eg)?;
        t.world.network.set_security_list_rules(&id, model)?;
        set_extras(
            &mut t,
            &id,
            json!({"ingressSecurityRules": ing, "egressSecurityRules": eg}),
        );
    }
    apply_common(
        &mut t,
        &id,
        "securitylist",
        UpdateCommon {
            display_name: b.display_name,
            freeform_tags: b.freeform_tags,
            defined_tags: b.defined_tags,
        },
    )?;
    reply(&t, &id, "securitylist")
}

async fn delete_sl(State(s): State<Shared>, ctx: Ctx, Path(id): Path<String>) -> ApiResult {
    let mut t = s.lock(&ctx);
    t.registry.get_kind(&id, "securitylist")?;
    t.world.network.delete_security_list(&id)?;
    terminate(&mut t, &id, "securitylist");
    Ok(Reply::empty())
}

// ---------------------------------------------------------------- NSGs

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateNsg {
    compartment_id: String,
    vcn_id: String,
    display_name: Option<String>,
    freeform_tags: Option<FreeformTags>,
    defined_tags: Option<Value>,
}

async fn create_nsg(
    State(s): State<Shared>,
    ctx: Ctx,
    JsonBody(b): JsonBody<CreateNsg>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    check_compartment(&t, &b.compartment_id)?;
    let vid = vcn_id(&t, &b.vcn_id)?;
    let id = t.world.mint.regional("networksecuritygroup");
    t.world.network.create_nsg(vid, id.clone(), &id, vec![]);
    let name = b.display_name.unwrap_or_else(|| default_name("nsg", &t));
    register_provisioning(
        &mut t,
        &id,
        "networksecuritygroup",
        &b.compartment_id,
        &name,
        (b.freeform_tags, b.defined_tags),
    );
    t.registry.set_parent(&id, &b.vcn_id);
    set_extras(&mut t, &id, json!({"vcnId": b.vcn_id}));
    reply(&t, &id, "networksecuritygroup")
}

async fn get_nsg(State(s): State<Shared>, ctx: Ctx, Path(id): Path<String>) -> ApiResult {
    let t = s.lock(&ctx);
    reply(&t, &id, "networksecuritygroup")
}

fn nsg_render(t: &Twin, m: &Meta) -> Value {
    let mut v = render(t, m);
    v.as_object_mut().map(|o| o.remove("securityRules"));
    v
}

async fn list_nsgs(State(s): State<Shared>, ctx: Ctx, p: Params) -> ApiResult {
    let t = s.lock(&ctx);
    list_kind(&t, &p, "networksecuritygroup", true, vcn_of, nsg_render)
}

async fn update_nsg(
    State(s): State<Shared>,
    ctx: Ctx,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<UpdateCommon>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    apply_common(&mut t, &id, "networksecuritygroup", b)?;
    let m = t.registry.get_kind(&id, "networksecuritygroup")?;
    Ok(Reply::json(&nsg_render(&t, m)).etag(&m.etag()))
}

/// DeleteNetworkSecurityGroup: only an empty NSG goes (OCI: "The group must
/// not contain any VNICs"); otherwise 409 Conflict naming what is in it.
async fn delete_nsg(State(s): State<Shared>, ctx: Ctx, Path(id): Path<String>) -> ApiResult {
    let mut t = s.lock(&ctx);
    t.registry.get_kind(&id, "networksecuritygroup")?;
    let used_by = nsg_user(&t, &id);
    t.world.network.delete_nsg(&id, used_by)?;
    terminate(&mut t, &id, "networksecuritygroup");
    Ok(Reply::empty())
}

fn nsg_rules(t: &Twin, id: &str) -> Vec<WireRule> {
    stored_rules(t, id, "securityRules")
}

/// Writes an NSG's rules to the model and the reply store.
fn save_nsg_rules(
    t: &mut Twin,
    id: &str,
    vid: VcnId,
    rules: &mut [WireRule],
) -> Result<(), ApiError> {
    let mut model = Vec::new();
    for (i, r) in rules.iter_mut().enumerate() {
        model.push(check_rule(
            t,
            vid,
            &format!("securityRules[{i}]"),
            r,
            None,
            true,
        )?);
    }
    t.world.network.set_nsg_rules(id, model)?;
    set_extras(t, id, json!({"securityRules": rules}));
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RulesBody {
    security_rules: Option<Vec<WireRule>>,
}

async fn add_nsg_rules(
    State(s): State<Shared>,
    ctx: Ctx,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<RulesBody>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    let vid = vcn_of_object(&t, &id, "networksecuritygroup")?;
    let mut added = b.security_rules.unwrap_or_default();
    let mut all = nsg_rules(&t, &id);
    if all.len() + added.len() > MAX_NSG_RULES {
        return Err(ApiError::limit(format!(
            "network security group {id} would have {} security rules, over the limit of {MAX_NSG_RULES}",
            all.len() + added.len()
        )));
    }
    let now = rfc3339(t.now);
    for (i, r) in added.iter_mut().enumerate() {
        if r.id.is_some() {
            return Err(ApiError::invalid(
                &format!("securityRules[{i}].id"),
                "ids are assigned by the service",
            ));
        }
        let n = all.len() + i;
        r.id = Some(nsg_rule_id(
            &id,
            n,
            t.registry.get(&id).map_or(0, |m| m.version),
        ));
        r.is_valid = Some(true);
        r.time_created = Some(now.clone());
    }
    all.extend(added.iter().cloned());
    save_nsg_rules(&mut t, &id, vid, &mut all)?;
    t.registry.touch(&id);
    let ids: Vec<Option<String>> = added.iter().map(|r| r.id.clone()).collect();
    let out: Vec<&WireRule> = all.iter().filter(|r| ids.contains(&r.id)).collect();
    Ok(Reply::json(&json!({"securityRules": out})))
}

/// The id of an NSG's `n`th rule, added at registry version `version`.
fn nsg_rule_id(nsg: &str, n: usize, version: u64) -> String {
    let h = fnv1a64(format!("{nsg}#{n}#{version}").as_bytes());
    format!("{:06X}", h & 0xFF_FFFF)
}

async fn update_nsg_rules(
    State(s): State<Shared>,
    ctx: Ctx,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<RulesBody>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    let vid = vcn_of_object(&t, &id, "networksecuritygroup")?;
    let mut all = nsg_rules(&t, &id);
    let changes = b.security_rules.unwrap_or_default();
    let mut ids = Vec::new();
    for (i, c) in changes.into_iter().enumerate() {
        let rid =
            c.id.clone()
                .ok_or_else(|| ApiError::missing(&format!("securityRules[{i}].id")))?;
        let slot = all
            .iter_mut()
            .find(|r| r.id.as_deref() == Some(rid.as_str()))
            .ok_or_else(|| {
                ApiError::invalid(
                    &format!("securityRules[{i}].id"),
                    format!("{rid} is not a rule of network security group {id}"),
                )
            })?;
        let created = slot.time_created.clone();
        *slot = WireRule {
            is_valid: Some(true),
            time_created: created,
            ..c
        };
        ids.push(Some(rid));
    }
    save_nsg_rules(&mut t, &id, vid, &mut all)?;
    t.registry.touch(&id);
    let out: Vec<&WireRule> = all.iter().filter(|r| ids.contains(&r.id)).collect();
    Ok(Reply::json(&json!({"securityRules": out})))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RemoveRules {
    security_rule_ids: Option<Vec<String>>,
}

async fn remove_nsg_rules(
    State(s): State<Shared>,
    ctx: Ctx,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<RemoveRules>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    let vid = vcn_of_object(&t, &id, "networksecuritygroup")?;
    let mut all = nsg_rules(&t, &id);
    let remove = b.security_rule_ids.unwrap_or_default();
    for (i, r) in remove.iter().enumerate() {
        if !all.iter().any(|x| x.id.as_deref() == Some(r.as_str())) {
            return Err(ApiError::invalid(
                &format!("securityRuleIds[{i}]"),
                format!("{r} is not a rule of network security group {id}"),
            ));
        }
    }
    all.retain(|x| !x.id.as_ref().is_some_and(|i| remove.contains(i)));
    save_nsg_rules(&mut t, &id, vid, &mut all)?;
    t.registry.touch(&id);
    Ok(Reply::empty())
}

async fn list_nsg_rules(
    State(s): State<Shared>,
    ctx: Ctx,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult {
    let t = s.lock(&ctx);
    t.registry.get_kind(&id, "networksecuritygroup")?;
    let dir = p.one_of("direction", &["INGRESS", "EGRESS"])?;
    p.one_of("sortBy", &["TIMECREATED"])?;
    let mut rules: Vec<WireRule> = nsg_rules(&t, &id)
        .into_iter()
        .filter(|r| {
            dir.is_none_or(|d| {
                r.direction
                    == Some(if d == "INGRESS" {
                        WireDirection::Ingress
                    } else {
                        WireDirection::Egress
                    })
            })
        })
        .collect();
    if p.get("sortOrder") == Some("DESC") {
        rules.reverse();
    }
    let (page, next) = paginate(rules, &p)?;
    Ok(Reply::page(&page, next))
}

// ---------------------------------------------------------------- scenario objects

/// A model protocol (`tcp`, `udp`, `icmp`, `all` or a number) as the wire's
/// IANA number string.
fn wire_protocol(p: &str) -> String {
    match p {
        "tcp" => "6".into(),
        "udp" => "17".into(),
        "icmp" => "1".into(),
        other => other.into(),
    }
}

/// A model peer of VCN `vcn` as the wire's (peer, type): a CIDR, an NSG (by
/// model name, shown by OCID) or else a service cidrBlock label.
fn wire_peer(t: &Twin, vcn: VcnId, peer: &str) -> (String, DestType) {
    if peer.parse::<crate::model::cidr::Ipv4Cidr>().is_ok() {
        return (peer.to_string(), DestType::CidrBlock);
    }
    match t
        .world
        .network
        .nsgs
        .iter()
        .find(|n| n.vcn == vcn && n.name == peer)
    {
        Some(n) => (n.id.clone(), DestType::NetworkSecurityGroup),
        None => (peer.to_string(), DestType::ServiceCidrBlock),
    }
}

/// A model security rule of VCN `vcn` in the wire shape the create handlers
/// store (after [`check_rule`]): NSG rules keep their `direction`, security
/// list rules do not.
fn wire_rule(t: &Twin, vcn: VcnId, r: &SecurityRule, keep_direction: bool) -> WireRule {
    let (peer, ptype) = wire_peer(t, vcn, &r.peer);
    let protocol = wire_protocol(&r.protocol);
    let ports = r.ports.map(|(min, max)| PortOptions {
        destination_port_range: Some(PortRange {
            min: i64::from(min),
            max: i64::from(max),
        }),
        source_port_range: None,
    });
    let (ingress, direction) = match r.direction {
        Direction::Ingress => (true, WireDirection::Ingress),
        Direction::Egress => (false, WireDirection::Egress),
    };
    WireRule {
        id: None,
        direction: keep_direction.then_some(direction),
        source: ingress.then(|| peer.clone()),
        source_type: ingress.then_some(ptype),
        destination: (!ingress).then(|| peer.clone()),
        destination_type: (!ingress).then_some(ptype),
        is_stateless: Some(r.stateless),
        tcp_options: ports.clone().filter(|_| protocol == "6"),
        udp_options: ports.filter(|_| protocol == "17"),
        icmp_options: None,
        description: None,
        is_valid: None,
        time_created: None,
        protocol,
    }
}

/// A model route rule of VCN `vcn` in the wire shape [`route_rules`] stores.
fn wire_route_rule(t: &Twin, vcn: VcnId, r: &RouteRule) -> WireRouteRule {
    let target = t
        .world
        .network
        .gateways
        .iter()
        .find(|g| g.vcn == vcn && g.name == r.target)
        .map_or_else(|| r.target.clone(), |g| g.id.clone());
    let dtype = if r
        .destination
        .parse::<crate::model::cidr::Ipv4Cidr>()
        .is_ok()
    {
        DestType::CidrBlock
    } else {
        DestType::ServiceCidrBlock
    };
    WireRouteRule {
        network_entity_id: target,
        destination: Some(r.destination.clone()),
        destination_type: Some(dtype),
        cidr_block: None,
        description: None,
        route_type: None,
    }
}

/// The services a scenario's service gateway serves: those its VCN's route
/// rules send to it, else all of the region's (an assumption: scenario files
/// do not list a service gateway's services).
fn scenario_gateway_services(t: &Twin, vcn: VcnId, name: &str) -> Vec<Value> {
    let all = services(t);
    let routed: Vec<&str> = t
        .world
        .network
        .route_tables
        .iter()
        .filter(|r| r.vcn == vcn)
        .flat_map(|r| &r.rules)
        .filter(|r| r.target == name)
        .map(|r| r.destination.as_str())
        .collect();
    let mut chosen: Vec<&(String, String, String, String)> = all
        .iter()
        .filter(|s| routed.contains(&s.2.as_str()))
        .collect();
    if chosen.is_empty() {
        chosen = all.iter().take(1).collect();
    }
    chosen
        .into_iter()
        .map(|x| json!({"serviceId": x.0, "serviceName": x.1}))
        .collect()
}

/// Gives the gateways, route tables, security lists and NSGs a scenario made
/// the parent VCN and wire extras their create handlers would have stored, so
/// that they list by `vcnId` and render in full. Their metadata is registered.
pub fn register_scenario_extras(t: &mut Twin) {
    let net = &t.world.network;
    let mut extras: Vec<(String, String, Value)> = Vec::new();
    for g in &net.gateways {
        let vcn_id = net.vcn(g.vcn).id.clone();
        let fields = GatewayFields {
            route_table_id: None,
            is_enabled: true,
            block_traffic: false,
            public_ip_id: None,
            services: match g.kind {
                GatewayKind::Service => scenario_gateway_services(t, g.vcn, &g.name),
                _ => vec![],
            },
        };
        let e = gateway_extras(&g.id, g.kind, &vcn_id, fields);
        extras.push((g.id.clone(), vcn_id, e));
    }
    for r in &net.route_tables {
        let vcn_id = net.vcn(r.vcn).id.clone();
        let rules: Vec<WireRouteRule> = r
            .rules
            .iter()
            .map(|x| wire_route_rule(t, r.vcn, x))
            .collect();
        let e = json!({"vcnId": vcn_id, "routeRules": rules});
        extras.push((r.id.clone(), vcn_id, e));
    }
    for l in &net.security_lists {
        let vcn_id = net.vcn(l.vcn).id.clone();
        let of = |d: Direction| -> Vec<WireRule> {
            l.rules
                .iter()
                .filter(|x| x.direction == d)
                .map(|x| wire_rule(t, l.vcn, x, false))
                .collect()
        };
        let e = json!({
            "vcnId": vcn_id,
            "ingressSecurityRules": of(Direction::Ingress),
            "egressSecurityRules": of(Direction::Egress),
        });
        extras.push((l.id.clone(), vcn_id, e));
    }
    let created = rfc3339(crate::kernel::SimTime::ZERO);
    for n in &net.nsgs {
        let vcn_id = net.vcn(n.vcn).id.clone();
        let version = t.registry.get(&n.id).map_or(0, |m| m.version);
        let rules: Vec<WireRule> = n
            .rules
            .iter()
            .enumerate()
            .map(|(i, x)| WireRule {
                id: Some(nsg_rule_id(&n.id, i, version)),
                is_valid: Some(true),
                time_created: Some(created.clone()),
                ..wire_rule(t, n.vcn, x, true)
            })
            .collect();
        let e = json!({"vcnId": vcn_id, "securityRules": rules});
        extras.push((n.id.clone(), vcn_id, e));
    }
    for (id, vcn_id, e) in extras {
        t.registry.set_parent(&id, &vcn_id);
        set_extras(t, &id, e);
    }
}

// ---------------------------------------------------------------- private IPs and VNICs

/// A private IP the API created, or a VNIC's primary one.
#[derive(Clone, Debug)]
pub struct PrivateIpRec {
    /// The subnet's OCID.
    pub subnet: String,
    /// The address.
    pub addr: u32,
}

/// Private IPs by OCID (an extension of the twin).
#[derive(Clone, Debug, Default)]
pub struct PrivateIps {
    /// Records by OCID.
    pub by_id: std::collections::BTreeMap<String, PrivateIpRec>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreatePrivateIp {
    subnet_id: Option<String>,
    vnic_id: Option<String>,
    ip_address: Option<String>,
    display_name: Option<String>,
    hostname_label: Option<String>,
    lifetime: Option<Lifetime>,
    freeform_tags: Option<FreeformTags>,
    defined_tags: Option<Value>,
    // OCI fields the twin does not model: refused when given.
    _cidr_prefix_length: Option<Unmodelled>,
    _vlan_id: Option<Unmodelled>,
    _ipv4_subnet_cidr_at_creation: Option<Unmodelled>,
    _route_table_id: Option<Unmodelled>,
}

/// UpdatePrivateIpDetails: the common fields, the hostname, and those the
/// twin does not model (moving an address to another VNIC, its lifetime or
/// route table).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdatePrivateIp {
    display_name: Option<String>,
    freeform_tags: Option<FreeformTags>,
    defined_tags: Option<Value>,
    hostname_label: Option<String>,
    _vnic_id: Option<Unmodelled>,
    _lifetime: Option<Unmodelled>,
    _route_table_id: Option<Unmodelled>,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum Lifetime {
    Ephemeral,
    Reserved,
}

fn parse_ip(field: &str, s: &str) -> Result<u32, ApiError> {
    s.parse::<std::net::Ipv4Addr>()
        .map(u32::from)
        .map_err(|_| ApiError::invalid(field, format!("`{s}` is not an IPv4 address")))
}

/// The resource each service-made VNIC belongs to (NetworkSecurityGroupVnic
/// `resourceId`) and when it joined its NSGs (an extension of the twin).
#[derive(Clone, Debug, Default)]
pub struct VnicParents {
    /// (parent OCID, time associated) by VNIC OCID.
    pub by_vnic: std::collections::BTreeMap<String, (String, crate::kernel::SimTime)>,
}

/// How many NSGs one VNIC can be in (domain.md §3: "VNIC can be in max 5
/// NSGs", OCI Network/Concepts/securityrules).
pub const NSGS_PER_VNIC: usize = 5;

/// Checks the NSG OCIDs a request gives in `field` for a VNIC in VCN `vcn`:
/// at most [`NSGS_PER_VNIC`], no repeats, each an existing NSG of that VCN
/// (a VNIC joins only NSGs of its own VCN). The message names the element.
pub fn check_nsg_ids(t: &Twin, field: &str, ids: &[String], vcn: VcnId) -> Result<(), ApiError> {
    if ids.len() > NSGS_PER_VNIC {
        return Err(ApiError::invalid(
            field,
            format!(
                "{} NSGs given; a VNIC can be in at most {NSGS_PER_VNIC}",
                ids.len()
            ),
        ));
    }
    for (i, id) in ids.iter().enumerate() {
        let at = format!("{field}[{i}]");
        if ids[..i].contains(id) {
            return Err(ApiError::invalid(&at, format!("{id} is given twice")));
        }
        let Some(nsg) = t.world.network.nsg_by_ocid(id) else {
            return Err(ApiError::invalid(
                &at,
                format!("network security group {id} does not exist"),
            ));
        };
        if nsg.vcn != vcn {
            return Err(ApiError::invalid(
                &at,
                format!(
                    "network security group {id} is in VCN {}, not in {}",
                    t.world.network.vcn(nsg.vcn).id,
                    t.world.network.vcn(vcn).id
                ),
            ));
        }
    }
    Ok(())
}

/// The model names of NSGs given by OCID and already checked by
/// [`check_nsg_ids`]: the names the model's rules and reachability use (an
/// API-made NSG's name is its OCID, a scenario's is the one it declares).
pub fn nsg_names(t: &Twin, ids: &[String]) -> Vec<String> {
    ids.iter()
        .map(|id| {
            t.world
                .network
                .nsg_by_ocid(id)
                .map(|g| g.name.clone())
                .expect("NSG ids are checked before use")
        })
        .collect()
}

/// What a service says about a VNIC it creates.
pub struct NewVnic<'a> {
    /// Compartment of the VNIC (its parent's).
    pub compartment: &'a str,
    /// The subnet.
    pub subnet: SubnetId,
    /// The primary private address, already allocated by the caller.
    pub addr: u32,
    /// Display name.
    pub display_name: &'a str,
    /// 1-based availability domain; `None` takes the subnet's (AD-1 for a
    /// regional subnet, an assumption: OCI places such VNICs itself).
    pub availability_domain: Option<u8>,
    /// The NSGs the VNIC is in.
    pub nsg_ids: &'a [String],
    /// The OCID of the resource the VNIC is attached to (a virtual node, a
    /// load balancer, a DB system).
    pub parent: &'a str,
}

/// Registers a VNIC for a service that creates one (virtual nodes, load
/// balancers, DB systems), with its primary private IP. Returns its OCID.
pub fn register_vnic(t: &mut Twin, v: NewVnic<'_>) -> String {
    let NewVnic {
        compartment,
        subnet,
        addr,
        display_name,
        availability_domain,
        nsg_ids,
        parent,
    } = v;
    let sub = t.world.network.subnet(subnet);
    let ad = availability_domain.or(sub.availability_domain).unwrap_or(1);
    let availability_domain = t.world.topology.ads[usize::from(ad) - 1].name.clone();
    let subnet_ocid = sub.id.clone();
    let subnet_ocid = subnet_ocid.as_str();
    let vnic = t.world.mint.regional("vnic");
    let mut m = Meta::new(&vnic, "vnic", compartment, display_name, t.now, "AVAILABLE");
    m.version = 1;
    t.registry.insert(m);
    let pip = t.world.mint.regional("privateip");
    t.registry.set_parent(&vnic, subnet_ocid);
    t.registry.insert(Meta::new(
        &pip,
        "privateip",
        compartment,
        display_name,
        t.now,
        "AVAILABLE",
    ));
    t.registry.set_parent(&pip, subnet_ocid);
    let h = fnv1a64(vnic.as_bytes());
    set_extras(
        t,
        &vnic,
        json!({
            "subnetId": subnet_ocid,
            "privateIp": ip_string(addr),
            "isPrimary": true,
            "availabilityDomain": availability_domain,
            "macAddress": format!("02:00:17:{:02X}:{:02X}:{:02X}", (h >> 16) & 0xff, (h >> 8) & 0xff, h & 0xff),
            "nsgIds": nsg_ids,
            "skipSourceDestCheck": false,
        }),
    );
    let now = t.now;
    t.ext
        .get_mut::<VnicParents>()
        .by_vnic
        .insert(vnic.clone(), (parent.to_string(), now));
    set_extras(t, &pip, json!({"vnicId": vnic, "isPrimary": true}));
    t.ext.get_mut::<PrivateIps>().by_id.insert(
        pip,
        PrivateIpRec {
            subnet: subnet_ocid.to_string(),
            addr,
        },
    );
    vnic
}

/// Ends a service-made VNIC with its parent: the VNIC and its primary
/// private IP are TERMINATED (the caller releases the address).
pub fn release_vnic(t: &mut Twin, vnic: &str) {
    let pips: Vec<String> = t
        .registry
        .of_kind("privateip")
        .filter(|m| extras(t, &m.id)["vnicId"] == vnic && extras(t, &m.id)["isPrimary"] == true)
        .map(|m| m.id.clone())
        .collect();
    for p in pips {
        t.ext.get_mut::<PrivateIps>().by_id.remove(&p);
        t.registry.set_state(&p, "TERMINATED");
    }
    t.registry.set_state(vnic, "TERMINATED");
    t.ext.get_mut::<VnicParents>().by_vnic.remove(vnic);
}

/// Sets the NSGs of a service-made VNIC.
pub fn set_vnic_nsgs(t: &mut Twin, vnic: &str, nsg_ids: &[String]) {
    set_extras(t, vnic, json!({"nsgIds": nsg_ids}));
    let now = t.now;
    if let Some(p) = t.ext.get_mut::<VnicParents>().by_vnic.get_mut(vnic) {
        p.1 = now;
    }
    t.registry.touch(vnic);
}

/// Whether VNIC `vnic` (a registry entry) is live and in NSG `nsg`.
fn vnic_in_nsg(t: &Twin, vnic: &Meta, nsg: &str) -> bool {
    vnic.lifecycle_state == "AVAILABLE"
        && extras(t, &vnic.id)["nsgIds"]
            .as_array()
            .is_some_and(|a| a.iter().any(|n| *n == nsg))
}

/// What is still in NSG `nsg`, in words, or `None` when it is empty: a live
/// VNIC with the resource it belongs to, else what OKE puts in it that has
/// no VNIC of its own in the twin ([`super::oke::nsg_user`]).
fn nsg_user(t: &Twin, nsg: &str) -> Option<String> {
    let parents = t.ext.get::<VnicParents>();
    let vnic = t.registry.of_kind("vnic").find(|m| vnic_in_nsg(t, m, nsg));
    match vnic {
        Some(m) => Some(
            match parents.and_then(|p| p.by_vnic.get(&m.id)) {
                Some((parent, _)) => format!("VNIC {} of {parent} is in it", m.id),
                None => format!("VNIC {} is in it", m.id),
            } + "; remove the VNIC from the group, or delete the resource it belongs to, first",
        ),
        None => super::oke::nsg_user(t, nsg),
    }
}

/// ListNetworkSecurityGroupVnics: the live VNICs in the NSG, sorted by
/// `timeAssociated` (the only `sortBy`; newest first unless `sortOrder=ASC`,
/// as OCI's time sorts default), paged.
async fn list_nsg_vnics(
    State(s): State<Shared>,
    ctx: Ctx,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult {
    let t = s.lock(&ctx);
    t.registry.get_kind(&id, "networksecuritygroup")?;
    let parents = t.ext.get::<VnicParents>();
    let mut rows: Vec<(crate::kernel::SimTime, String, Value)> = t
        .registry
        .of_kind("vnic")
        .filter(|m| vnic_in_nsg(&t, m, &id))
        .map(|m| {
            let (parent, at) = parents
                .and_then(|p| p.by_vnic.get(&m.id).cloned())
                .unwrap_or_else(|| (String::new(), m.time_created));
            let mut v = json!({"vnicId": m.id, "timeAssociated": rfc3339(at)});
            if !parent.is_empty() {
                v["resourceId"] = json!(parent);
            }
            (at, m.id.clone(), v)
        })
        .collect();
    sort_items(&mut rows, &p, &["TIMEASSOCIATED"], &[], |r| {
        (r.0, String::new(), r.1.clone())
    })?;
    let (page, next) = paginate(rows.into_iter().map(|r| r.2).collect(), &p)?;
    Ok(Reply::page(&page, next))
}

fn private_ip_json(t: &Twin, m: &Meta) -> Value {
    let mut v = json!({
        "id": m.id,
        "compartmentId": m.compartment_id,
        "displayName": m.display_name,
        "freeformTags": m.freeform_tags,
        "definedTags": m.defined_tags,
        "timeCreated": rfc3339(m.time_created),
        "isPrimary": false,
        "ipState": if extras(t, &m.id)["vnicId"].is_string() { "ASSIGNED" } else { "AVAILABLE" },
        "lifetime": "RESERVED",
    });
    if let Some(r) = t.ext.get::<PrivateIps>().and_then(|p| p.by_id.get(&m.id)) {
        v["ipAddress"] = json!(ip_string(r.addr));
        v["subnetId"] = json!(r.subnet);
        if let Some(sid) = t.world.network.subnet_by_ocid(&r.subnet) {
            let s = t.world.network.subnet(sid);
            v["cidrPrefixLength"] = json!(s.cidr.prefix());
            v["ipv4SubnetCidrAtCreation"] = json!(s.cidr.to_string());
            v["availabilityDomain"] = match s.availability_domain {
                Some(n) => json!(t.world.topology.ads[usize::from(n) - 1].name),
                None => Value::Null,
            };
        }
    }
    merge(&mut v, &extras(t, &m.id));
    v
}

async fn create_private_ip(
    State(s): State<Shared>,
    ctx: Ctx,
    JsonBody(b): JsonBody<CreatePrivateIp>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    let (subnet, compartment) = match (&b.subnet_id, &b.vnic_id) {
        (_, Some(vnic)) => {
            let m = t.registry.get_kind(vnic, "vnic")?;
            let sub = extras(&t, vnic)["subnetId"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            (sub, m.compartment_id.clone())
        }
        (Some(sub), None) => {
            let m = t.registry.get_kind(sub, "subnet")?;
            (sub.clone(), m.compartment_id.clone())
        }
        (None, None) => return Err(ApiError::missing("subnetId")),
    };
    let sid = subnet_id(&t, &subnet)?;
    let want = b
        .ip_address
        .as_deref()
        .map(|a| parse_ip("ipAddress", a))
        .transpose()?;
    let addr = t
        .world
        .take_external_ip(sid, want)
        .map_err(|e| field_error("ipAddress", e))?;
    let id = t.world.mint.regional("privateip");
    let name = b
        .display_name
        .unwrap_or_else(|| format!("privateip{}", ip_string(addr)));
    let mut m = Meta::new(&id, "privateip", &compartment, &name, t.now, "AVAILABLE");
    m.freeform_tags = b.freeform_tags.unwrap_or_default();
    m.defined_tags = b.defined_tags.unwrap_or(json!({}));
    t.registry.insert(m);
    t.registry.set_parent(&id, &subnet);
    t.ext
        .get_mut::<PrivateIps>()
        .by_id
        .insert(id.clone(), PrivateIpRec { subnet, addr });
    let mut extra = json!({
        "lifetime": match b.lifetime.unwrap_or(if b.vnic_id.is_some() { Lifetime::Ephemeral } else { Lifetime::Reserved }) {
            Lifetime::Ephemeral => "EPHEMERAL",
            Lifetime::Reserved => "RESERVED",
        },
    });
    if let Some(v) = &b.vnic_id {
        extra["vnicId"] = json!(v);
    }
    if let Some(h) = &b.hostname_label {
        check_dns_label("hostnameLabel", h)?;
        extra["hostnameLabel"] = json!(h);
    }
    set_extras(&mut t, &id, extra);
    let m = t.registry.get_kind(&id, "privateip")?;
    Ok(Reply::json(&private_ip_json(&t, m)).etag(&m.etag()))
}

async fn get_private_ip(State(s): State<Shared>, ctx: Ctx, Path(id): Path<String>) -> ApiResult {
    let t = s.lock(&ctx);
    let m = t.registry.get_kind(&id, "privateip")?;
    if m.lifecycle_state == "TERMINATED" {
        return Err(ApiError::not_found("privateip", &id));
    }
    Ok(Reply::json(&private_ip_json(&t, m)).etag(&m.etag()))
}

async fn list_private_ips(State(s): State<Shared>, ctx: Ctx, p: Params) -> ApiResult {
    let t = s.lock(&ctx);
    let subnet = p.get("subnetId");
    let vnic = p.get("vnicId");
    let ip = p.get("ipAddress");
    if subnet.is_none() && vnic.is_none() {
        return Err(ApiError::missing("subnetId"));
    }
    if let Some(sb) = subnet {
        t.registry.get_kind(sb, "subnet")?;
    }
    let state = p.one_of("ipState", &["ASSIGNED", "AVAILABLE"])?;
    let lifetime = p.one_of("lifetime", &["EPHEMERAL", "RESERVED"])?;
    // The subnet's private IPs when it is given (the registry's index).
    let candidates: Box<dyn Iterator<Item = &Meta>> = match subnet {
        Some(sb) => Box::new(t.registry.maybe_in_parent("privateip", sb)),
        None => Box::new(t.registry.of_kind("privateip")),
    };
    let mut items: Vec<Value> = candidates
        .filter(|m| m.lifecycle_state != "TERMINATED")
        .map(|m| private_ip_json(&t, m))
        .filter(|v| subnet.is_none_or(|x| v["subnetId"] == x))
        .filter(|v| vnic.is_none_or(|x| v["vnicId"] == x))
        .filter(|v| ip.is_none_or(|x| v["ipAddress"] == x))
        .filter(|v| state.is_none_or(|x| v["ipState"] == x))
        .filter(|v| lifetime.is_none_or(|x| v["lifetime"] == x))
        .collect();
    items.sort_by_key(|v| {
        v["ipAddress"]
            .as_str()
            .and_then(|a| a.parse::<std::net::Ipv4Addr>().ok())
            .map(u32::from)
    });
    let (page, next) = paginate(items, &p)?;
    Ok(Reply::page(&page, next))
}

async fn update_private_ip(
    State(s): State<Shared>,
    ctx: Ctx,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<UpdatePrivateIp>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    if let Some(h) = &b.hostname_label {
        check_dns_label("hostnameLabel", h)?;
    }
    let common = UpdateCommon {
        display_name: b.display_name,
        freeform_tags: b.freeform_tags,
        defined_tags: b.defined_tags,
    };
    apply_common(&mut t, &id, "privateip", common)?;
    if let Some(h) = b.hostname_label {
        set_extras(&mut t, &id, json!({ "hostnameLabel": h }));
    }
    let m = t.registry.get_kind(&id, "privateip")?;
    Ok(Reply::json(&private_ip_json(&t, m)).etag(&m.etag()))
}

async fn delete_private_ip(State(s): State<Shared>, ctx: Ctx, Path(id): Path<String>) -> ApiResult {
    let mut t = s.lock(&ctx);
    let m = t.registry.get_kind(&id, "privateip")?;
    if m.lifecycle_state == "TERMINATED" {
        return Err(ApiError::not_found("privateip", &id));
    }
    if extras(&t, &id)["isPrimary"] == true {
        return Err(ApiError::conflict(format!(
            "private IP {id} is its VNIC's primary address and goes only with the VNIC"
        )));
    }
    let rec = t
        .ext
        .get_mut::<PrivateIps>()
        .by_id
        .remove(&id)
        .ok_or_else(|| ApiError::not_found("privateip", &id))?;
    if let Some(sid) = t.world.network.subnet_by_ocid(&rec.subnet) {
        t.world.release_external_ip(sid, rec.addr);
    }
    t.registry.set_state(&id, "TERMINATED");
    Ok(Reply::empty())
}

async fn get_vnic(State(s): State<Shared>, ctx: Ctx, Path(id): Path<String>) -> ApiResult {
    let t = s.lock(&ctx);
    let m = t.registry.get_kind(&id, "vnic")?;
    let mut v = base_json(m);
    merge(&mut v, &extras(&t, &id));
    Ok(Reply::json(&v).etag(&m.etag()))
}
