//! Core networking (`/20160918`, oci-api.md §5.2): VCNs with their default
//! route table, security list and DHCP options, and the helpers the other core
//! resources share (`core_net.rs` has subnets, gateways, route tables,
//! security lists, NSGs, private IPs and VNICs).
//!
//! Semantics are the network model's (CIDR checks, limits, dependencies); this
//! module maps wire shapes onto it and keeps what OCI shows around it (display
//! names, DNS labels, full rule shapes) in [`CoreState`].

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::ApiError;
use super::pipeline::Ctx;
use super::registry::Meta;
use super::state::{Shared, Twin};
use super::wire::{
    ApiResult, FreeformTags, JsonBody, Params, Reply, Unmodelled, UnmodelledFlag, paginate,
    rfc3339, sort_items,
};
use crate::kernel::SimDuration;
use crate::model::cidr::Ipv4Cidr;
use crate::model::network::{DhcpError, DhcpOptions, Direction, SecurityRule, VcnDefaults, VcnId};

/// What OCI shows of core objects that the network model does not keep.
#[derive(Clone, Debug, Default)]
pub struct CoreState {
    /// DNS label by VCN or subnet OCID.
    pub dns_labels: BTreeMap<String, String>,
    /// Wire-shaped extras by OCID (rules as sent, flags), merged into the reply.
    pub extras: BTreeMap<String, Value>,
}

/// Core's VCN and DHCP routes (the rest are in `core_net`).
pub fn routes(r: Router<Shared>) -> Router<Shared> {
    r.route("/20160918/vcns", get(list_vcns).post(create_vcn))
        .route(
            "/20160918/vcns/{id}",
            get(get_vcn).put(update_vcn).delete(delete_vcn),
        )
        .route("/20160918/dhcps", get(list_dhcps).post(create_dhcp))
        .route(
            "/20160918/dhcps/{id}",
            get(get_dhcp).put(update_dhcp).delete(delete_dhcp),
        )
}

/// 404 unless `id` names the tenancy or a compartment that is not deleted;
/// 400 InvalidParameter when it is not ACTIVE yet.
pub fn check_compartment(t: &Twin, id: &str) -> Result<(), ApiError> {
    use crate::model::identity::CompartmentState as S;
    match t.identity.get(id) {
        Ok(c) if c.state == S::Active => Ok(()),
        Ok(c) if c.state == S::Deleted || c.state == S::Deleting => {
            Err(ApiError::not_found("compartment", id))
        }
        Ok(c) => Err(ApiError::invalid(
            "compartmentId",
            format!("compartment {id} is {}, not ACTIVE yet", c.state.as_str()),
        )),
        Err(_) => Err(ApiError::not_found("compartment", id)),
    }
}

/// The common fields of every core resource from its metadata.
pub fn base_json(m: &Meta) -> Value {
    json!({
        "id": m.id,
        "compartmentId": m.compartment_id,
        "displayName": m.display_name,
        "freeformTags": m.freeform_tags,
        "definedTags": m.defined_tags,
        "systemTags": {},
        "lifecycleState": m.lifecycle_state,
        "timeCreated": rfc3339(m.time_created),
    })
}

/// Merges `extra`'s fields into `v`.
pub fn merge(v: &mut Value, extra: &Value) {
    if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
        for (k, x) in e {
            o.insert(k.clone(), x.clone());
        }
    }
}

/// Registers a new core resource in PROVISIONING that becomes AVAILABLE after
/// the `core.<kind>.provision` duration (default 1 s of virtual time).
pub fn register_provisioning(
    t: &mut Twin,
    id: &str,
    kind: &'static str,
    compartment: &str,
    name: &str,
    tags: (Option<FreeformTags>, Option<Value>),
) {
    let mut m = Meta::new(id, kind, compartment, name, t.now, "PROVISIONING");
    m.freeform_tags = tags.0.unwrap_or_default();
    m.defined_tags = tags.1.unwrap_or(json!({}));
    t.registry.insert(m);
    let d = t
        .durations
        .get_or(&format!("core.{kind}.provision"), SimDuration::from_secs(1));
    let id = id.to_string();
    t.after(d, move |t| {
        if t.registry
            .get(&id)
            .is_some_and(|m| m.lifecycle_state == "PROVISIONING")
        {
            t.registry.set_state(&id, "AVAILABLE");
        }
    });
}

/// Marks a resource TERMINATING, then TERMINATED after `core.<kind>.terminate`
/// (default 1 s). The model change has already happened.
pub fn terminate(t: &mut Twin, id: &str, kind: &'static str) {
    t.registry.set_state(id, "TERMINATING");
    let d = t
        .durations
        .get_or(&format!("core.{kind}.terminate"), SimDuration::from_secs(1));
    let id = id.to_string();
    t.after(d, move |t| t.registry.set_state(&id, "TERMINATED"));
}

/// A display name OCI would generate (`vcn20260101120000`) when none is given.
pub fn default_name(kind: &str, t: &Twin) -> String {
    let ts = rfc3339(t.now);
    let digits: String = ts.chars().filter(char::is_ascii_digit).take(14).collect();
    format!("{kind}{digits}")
}

/// Checks a DNS label: letters and digits, starting with a letter, at most 15.
pub fn check_dns_label(field: &str, label: &str) -> Result<(), ApiError> {
    let ok = !label.is_empty()
        && label.len() <= 15
        && label.chars().all(|c| c.is_ascii_alphanumeric())
        && label.starts_with(|c: char| c.is_ascii_alphabetic());
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(
            field,
            format!("`{label}` must be 1 to 15 letters and digits, starting with a letter"),
        ))
    }
}

/// Parses a CIDR field.
pub fn parse_cidr(field: &str, text: &str) -> Result<Ipv4Cidr, ApiError> {
    text.parse::<Ipv4Cidr>()
        .map_err(|e| ApiError::invalid(field, e.to_string()))
}

/// True when `m` belongs to VCN `vcn`: its recorded parent if it has one
/// (set when it was created), else what `vcn_of` finds.
fn in_vcn(t: &Twin, m: &Meta, vcn: &str, vcn_of: impl Fn(&Twin, &str) -> Option<String>) -> bool {
    match m.parent() {
        Some(p) => p == vcn,
        None => vcn_of(t, &m.id).as_deref() == Some(vcn),
    }
}

/// Lists the registry's resources of `kind` in `compartmentId` (required unless
/// `compartment_optional`), filtered by `vcnId` via `vcn_of`, `displayName` and
/// `lifecycleState`, sorted and paged, each rendered by `render`.
pub fn list_kind(
    t: &Twin,
    p: &Params,
    kind: &'static str,
    compartment_optional: bool,
    vcn_of: impl Fn(&Twin, &str) -> Option<String>,
    render: impl Fn(&Twin, &Meta) -> Value,
) -> ApiResult {
    let compartment = if compartment_optional {
        p.get("compartmentId")
    } else {
        Some(p.required("compartmentId")?)
    };
    if let Some(c) = compartment
        && !t.identity.exists(c)
    {
        return Err(ApiError::not_found("compartment", c));
    }
    p.one_of(
        "lifecycleState",
        &[
            "PROVISIONING",
            "AVAILABLE",
            "TERMINATING",
            "TERMINATED",
            "UPDATING",
        ],
    )?;
    let vcn = p.get("vcnId");
    // The narrowest index first: the VCN's resources, else the compartment's.
    let candidates: Box<dyn Iterator<Item = &Meta>> = match (vcn, compartment) {
        (Some(v), _) => Box::new(t.registry.maybe_in_parent(kind, v)),
        (None, Some(c)) => Box::new(t.registry.in_compartment(kind, c)),
        (None, None) => Box::new(t.registry.of_kind(kind)),
    };
    let mut items: Vec<&Meta> = candidates
        .filter(|m| compartment.is_none_or(|c| m.compartment_id == c))
        .filter(|m| m.matches(p))
        .filter(|m| vcn.is_none_or(|v| in_vcn(t, m, v, &vcn_of)))
        .collect();
    sort_items(&mut items, p, &["TIMECREATED"], &["DISPLAYNAME"], |m| {
        m.sort_key()
    })?;
    let (page, next) = paginate(items, p)?;
    let v: Vec<Value> = page.into_iter().map(|m| render(t, m)).collect();
    Ok(Reply::page(&v, next))
}

// ---------------------------------------------------------------- VCNs

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateVcn {
    compartment_id: String,
    cidr_block: Option<String>,
    cidr_blocks: Option<Vec<String>>,
    display_name: Option<String>,
    dns_label: Option<String>,
    freeform_tags: Option<FreeformTags>,
    defined_tags: Option<Value>,
    is_ipv6_enabled: Option<bool>,
    // OCI fields the twin does not model (IPv6, ZPR): refused when given.
    _ipv6_private_cidr_blocks: Option<Unmodelled>,
    _is_oracle_gua_allocation_enabled: Option<UnmodelledFlag<true>>,
    _byoipv6_cidr_details: Option<Unmodelled>,
    _security_attributes: Option<Unmodelled>,
    _is_zpr_only: Option<UnmodelledFlag<false>>,
}

/// The VCN whose OCID is `id`, live in the model, else 404.
pub fn vcn_id(t: &Twin, id: &str) -> Result<VcnId, ApiError> {
    t.registry.get_kind(id, "vcn")?;
    t.world
        .network
        .vcn_by_ocid(id)
        .ok_or_else(|| ApiError::not_found("vcn", id))
}

fn vcn_json(t: &Twin, m: &Meta) -> Value {
    let mut v = base_json(m);
    let net = &t.world.network;
    let live = net.vcn_by_ocid(&m.id);
    let blocks: Vec<String> = net
        .vcn_record(&m.id)
        .map(|x| x.cidr_blocks.iter().map(ToString::to_string).collect())
        .unwrap_or_default();
    v["cidrBlock"] = json!(blocks.first().cloned().unwrap_or_default());
    v["cidrBlocks"] = json!(blocks);
    v["ipv6CidrBlocks"] = json!([]);
    v["byoipv6CidrBlocks"] = json!([]);
    v["ipv6PrivateCidrBlocks"] = json!([]);
    let core = t.ext.get::<CoreState>();
    let dns = core.and_then(|c| c.dns_labels.get(&m.id));
    if let Some(d) = dns {
        v["dnsLabel"] = json!(d);
        v["vcnDomainName"] = json!(format!("{d}.oraclevcn.com"));
    }
    let defaults = live.and_then(|l| net.defaults(l));
    if let Some(d) = defaults {
        v["defaultRouteTableId"] = json!(id_of_name(t, &d.route_table));
        v["defaultSecurityListId"] = json!(id_of_name(t, &d.security_list));
        v["defaultDhcpOptionsId"] = json!(id_of_name(t, &d.dhcp_options));
    }
    v
}

/// API-made objects are named by their OCID in the model; scenario-made ones by
/// display name. Either way this finds the OCID.
fn id_of_name(t: &Twin, name: &str) -> String {
    if t.registry.get(name).is_some() {
        return name.to_string();
    }
    let net = &t.world.network;
    net.route_tables
        .iter()
        .find(|r| r.name == name)
        .map(|r| r.id.clone())
        .or_else(|| {
            net.security_lists
                .iter()
                .find(|r| r.name == name)
                .map(|r| r.id.clone())
        })
        .or_else(|| {
            net.dhcp_options
                .iter()
                .find(|r| r.name == name)
                .map(|r| r.id.clone())
        })
        .unwrap_or_else(|| name.to_string())
}

async fn create_vcn(
    State(s): State<Shared>,
    ctx: Ctx,
    JsonBody(b): JsonBody<CreateVcn>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    check_compartment(&t, &b.compartment_id)?;
    let texts: Vec<(String, String)> = match (&b.cidr_block, &b.cidr_blocks) {
        (Some(one), None) => vec![("cidrBlock".into(), one.clone())],
        (None, Some(many)) => many
            .iter()
            .enumerate()
            .map(|(i, c)| (format!("cidrBlocks[{i}]"), c.clone()))
            .collect(),
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "cidrBlocks",
                "give either cidrBlock or cidrBlocks, not both",
            ));
        }
        (None, None) => return Err(ApiError::missing("cidrBlocks")),
    };
    let blocks = texts
        .iter()
        .map(|(f, c)| parse_cidr(f, c))
        .collect::<Result<Vec<_>, _>>()?;
    if b.is_ipv6_enabled == Some(true) {
        return Err(ApiError::invalid(
            "isIpv6Enabled",
            "the twin models IPv4 VCNs only",
        ));
    }
    if let Some(l) = &b.dns_label {
        check_dns_label("dnsLabel", l)?;
    }
    let id = t.world.mint.regional("vcn");
    let vid = t.world.network.create_vcn(id.clone(), &id, blocks)?;
    let name = b
        .display_name
        .clone()
        .unwrap_or_else(|| default_name("vcn", &t));
    register_provisioning(
        &mut t,
        &id,
        "vcn",
        &b.compartment_id,
        &name,
        (b.freeform_tags, b.defined_tags),
    );
    if let Some(l) = &b.dns_label {
        t.ext
            .get_mut::<CoreState>()
            .dns_labels
            .insert(id.clone(), l.clone());
    }
    create_defaults(
        &mut t,
        vid,
        &id,
        &name,
        &b.compartment_id,
        b.dns_label.as_deref(),
        true,
    );
    let m = t.registry.get_kind(&id, "vcn")?;
    Ok(Reply::json(&vcn_json(&t, m)).etag(&m.etag()))
}

/// OCI's default security list rules: SSH and ICMP 3/4 from anywhere, ICMP 3
/// from the VCN, all egress (OCI docs, "Default Security List").
fn default_security_rules(vcn_cidr: &str) -> (Vec<Value>, Vec<SecurityRule>) {
    let wire = vec![
        json!({"direction": "INGRESS", "protocol": "6", "source": "0.0.0.0/0", "sourceType": "CIDR_BLOCK",
               "isStateless": false, "tcpOptions": {"destinationPortRange": {"min": 22, "max": 22}}}),
        json!({"direction": "INGRESS", "protocol": "1", "source": "0.0.0.0/0", "sourceType": "CIDR_BLOCK",
               "isStateless": false, "icmpOptions": {"type": 3, "code": 4}}),
        json!({"direction": "INGRESS", "protocol": "1", "source": vcn_cidr, "sourceType": "CIDR_BLOCK",
               "isStateless": false, "icmpOptions": {"type": 3}}),
        json!({"direction": "EGRESS", "protocol": "all", "destination": "0.0.0.0/0",
               "destinationType": "CIDR_BLOCK", "isStateless": false}),
    ];
    let model = vec![
        SecurityRule {
            direction: Direction::Ingress,
            peer: "0.0.0.0/0".into(),
            protocol: "6".into(),
            ports: Some((22, 22)),
            stateless: false,
        },
        SecurityRule {
            direction: Direction::Ingress,
            peer: "0.0.0.0/0".into(),
            protocol: "1".into(),
            ports: None,
            stateless: false,
        },
        SecurityRule {
            direction: Direction::Ingress,
            peer: vcn_cidr.into(),
            protocol: "1".into(),
            ports: None,
            stateless: false,
        },
        SecurityRule {
            direction: Direction::Egress,
            peer: "0.0.0.0/0".into(),
            protocol: "all".into(),
            ports: None,
            stateless: false,
        },
    ];
    (wire, model)
}

/// Gives every VCN a scenario made the default route table, security list and
/// DHCP options OCI creates with a VCN (oci-api.md §5.2 notes), AVAILABLE,
/// in the VCN's compartment. The twin calls it once, at start.
pub fn register_scenario_defaults(t: &mut Twin) {
    let vcns: Vec<(VcnId, String, String)> = (0..t.world.network.vcns.len())
        .map(|i| VcnId(i as u32))
        .filter(|v| t.world.network.defaults(*v).is_none())
        .map(|v| {
            let x = t.world.network.vcn(v);
            (v, x.id.clone(), x.name.clone())
        })
        .collect();
    for (vid, ocid, name) in vcns {
        let Some(compartment) = t.registry.get(&ocid).map(|m| m.compartment_id.clone()) else {
            continue;
        };
        let dns = t
            .ext
            .get::<CoreState>()
            .and_then(|c| c.dns_labels.get(&ocid))
            .cloned();
        create_defaults(t, vid, &ocid, &name, &compartment, dns.as_deref(), false);
        // OCI gives a subnet made without a route table the VCN's default one
        // (empty: no routes beyond the VCN, as before).
        let net = &mut t.world.network;
        let rt = net.defaults(vid).map(|d| d.route_table.clone());
        let bare: Vec<_> = net.vcn(vid).subnets.clone();
        for sid in bare {
            if net.subnet(sid).route_table.is_none() {
                net.update_subnet(sid, rt.clone(), None)
                    .expect("a route table change alone is always valid");
            }
        }
    }
}

/// Creates a VCN's default route table, security list and DHCP options:
/// PROVISIONING like the VCN when `provisioning`, else AVAILABLE at once.
fn create_defaults(
    t: &mut Twin,
    vid: VcnId,
    vcn_ocid: &str,
    vcn_name: &str,
    compartment: &str,
    dns_label: Option<&str>,
    provisioning: bool,
) {
    let rt = t.world.mint.regional("routetable");
    let sl = t.world.mint.regional("securitylist");
    let dhcp = t.world.mint.regional("dhcpoptions");
    let net = &mut t.world.network;
    net.create_route_table(vid, rt.clone(), &rt, vec![])
        .expect("an empty route table is always valid");
    let cidr = net.vcn(vid).cidr_blocks[0].to_string();
    let (wire, model) = default_security_rules(&cidr);
    net.create_security_list(vid, sl.clone(), &sl, model);
    net.create_dhcp_options(DhcpOptions {
        id: dhcp.clone(),
        name: dhcp.clone(),
        vcn: vid,
        server_type: "VcnLocalPlusInternet".into(),
        custom_dns_servers: vec![],
        search_domain: dns_label.map(|l| format!("{l}.oraclevcn.com")),
    });
    net.set_defaults(
        vid,
        VcnDefaults {
            route_table: rt.clone(),
            security_list: sl.clone(),
            dhcp_options: dhcp.clone(),
        },
    );
    let (ingress, egress): (Vec<Value>, Vec<Value>) =
        wire.into_iter().partition(|r| r["direction"] == "INGRESS");
    let strip = |rules: Vec<Value>| -> Vec<Value> {
        rules
            .into_iter()
            .map(|mut r| {
                r.as_object_mut().map(|o| o.remove("direction"));
                r
            })
            .collect()
    };
    let core = t.ext.get_mut::<CoreState>();
    core.extras.insert(
        sl.clone(),
        json!({"ingressSecurityRules": strip(ingress), "egressSecurityRules": strip(egress)}),
    );
    core.extras.insert(rt.clone(), json!({"routeRules": []}));
    for (id, kind, name) in [
        (
            rt,
            "routetable",
            format!("Default Route Table for {vcn_name}"),
        ),
        (
            sl,
            "securitylist",
            format!("Default Security List for {vcn_name}"),
        ),
        (
            dhcp,
            "dhcpoptions",
            format!("Default DHCP Options for {vcn_name}"),
        ),
    ] {
        if provisioning {
            register_provisioning(t, &id, kind, compartment, &name, (None, None));
        } else {
            let m = Meta::new(&id, kind, compartment, &name, t.now, "AVAILABLE");
            t.registry.insert(m);
        }
        t.registry.set_parent(&id, vcn_ocid);
        t.ext
            .get_mut::<CoreState>()
            .extras
            .entry(id)
            .or_insert_with(|| json!({}))["vcnId"] = json!(vcn_ocid);
    }
}

async fn get_vcn(State(s): State<Shared>, ctx: Ctx, Path(id): Path<String>) -> ApiResult {
    let t = s.lock(&ctx);
    let m = t.registry.get_kind(&id, "vcn")?;
    Ok(Reply::json(&vcn_json(&t, m)).etag(&m.etag()))
}

async fn list_vcns(State(s): State<Shared>, ctx: Ctx, p: Params) -> ApiResult {
    let t = s.lock(&ctx);
    list_kind(&t, &p, "vcn", false, |_, id| Some(id.to_string()), vcn_json)
}

/// The fields every Update*Details shares.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateCommon {
    /// New display name.
    pub display_name: Option<String>,
    /// New free-form tags.
    pub freeform_tags: Option<FreeformTags>,
    /// New defined tags.
    pub defined_tags: Option<Value>,
}

/// UpdateVcnDetails: the common fields, and those the twin does not model.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateVcn {
    display_name: Option<String>,
    freeform_tags: Option<FreeformTags>,
    defined_tags: Option<Value>,
    _security_attributes: Option<Unmodelled>,
    _is_zpr_only: Option<UnmodelledFlag<false>>,
}

/// Applies display name and tags to a resource's metadata; 404 if unknown,
/// 409 Conflict if it is terminating or terminated.
pub fn apply_common(
    t: &mut Twin,
    id: &str,
    kind: &'static str,
    u: UpdateCommon,
) -> Result<(), ApiError> {
    let m = t.registry.get_kind_mut(id, kind)?;
    if matches!(m.lifecycle_state.as_str(), "TERMINATING" | "TERMINATED") {
        return Err(ApiError::conflict(format!(
            "{kind} {id} is {} and cannot be updated",
            m.lifecycle_state
        )));
    }
    if let Some(n) = u.display_name {
        m.display_name = n;
    }
    if let Some(f) = u.freeform_tags {
        m.freeform_tags = f;
    }
    if let Some(d) = u.defined_tags {
        m.defined_tags = d;
    }
    m.version += 1;
    Ok(())
}

async fn update_vcn(
    State(s): State<Shared>,
    ctx: Ctx,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<UpdateVcn>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    let common = UpdateCommon {
        display_name: b.display_name,
        freeform_tags: b.freeform_tags,
        defined_tags: b.defined_tags,
    };
    apply_common(&mut t, &id, "vcn", common)?;
    let m = t.registry.get_kind(&id, "vcn")?;
    Ok(Reply::json(&vcn_json(&t, m)).etag(&m.etag()))
}

async fn delete_vcn(State(s): State<Shared>, ctx: Ctx, Path(id): Path<String>) -> ApiResult {
    let mut t = s.lock(&ctx);
    let vid = vcn_id(&t, &id)?;
    let defaults = t.world.network.defaults(vid).cloned();
    t.world.network.delete_vcn(vid)?;
    terminate(&mut t, &id, "vcn");
    if let Some(d) = defaults {
        for (name, kind) in [
            (d.route_table, "routetable"),
            (d.security_list, "securitylist"),
            (d.dhcp_options, "dhcpoptions"),
        ] {
            terminate(&mut t, &name, kind);
        }
    }
    Ok(Reply::empty())
}

// ---------------------------------------------------------------- DHCP options

fn dhcp_json(t: &Twin, m: &Meta) -> Value {
    let mut v = base_json(m);
    let extra = t.ext.get::<CoreState>().and_then(|c| c.extras.get(&m.id));
    if let Some(d) = t.world.network.dhcp_options_by_ocid(&m.id) {
        let mut options = vec![json!({
            "type": "DomainNameServer",
            "serverType": d.server_type,
            "customDnsServers": d.custom_dns_servers,
        })];
        if let Some(sd) = &d.search_domain {
            options.push(json!({"type": "SearchDomain", "searchDomainNames": [sd]}));
        }
        v["options"] = json!(options);
        v["vcnId"] = json!(t.world.network.vcn(d.vcn).id);
        v["domainNameType"] = extra
            .and_then(|e| e.get("domainNameType").cloned())
            .unwrap_or_else(|| json!("CUSTOM_DOMAIN"));
    } else if let Some(e) = extra {
        merge(&mut v, e);
        v["options"] = json!([]);
    }
    v
}

/// The `vcnId` kept in a resource's extras, if any.
pub fn vcn_of_extra(t: &Twin, id: &str) -> Option<String> {
    t.ext
        .get::<CoreState>()
        .and_then(|c| c.extras.get(id))
        .and_then(|e| e["vcnId"].as_str().map(str::to_string))
}

async fn list_dhcps(State(s): State<Shared>, ctx: Ctx, p: Params) -> ApiResult {
    let t = s.lock(&ctx);
    list_kind(&t, &p, "dhcpoptions", false, vcn_of_extra, dhcp_json)
}

async fn get_dhcp(State(s): State<Shared>, ctx: Ctx, Path(id): Path<String>) -> ApiResult {
    let t = s.lock(&ctx);
    let m = t.registry.get_kind(&id, "dhcpoptions")?;
    Ok(Reply::json(&dhcp_json(&t, m)).etag(&m.etag()))
}

/// One `DhcpOption` as sent: `type` selects DhcpDnsOption or
/// DhcpSearchDomainOption.
#[derive(Deserialize)]
#[serde(tag = "type", deny_unknown_fields)] // serde_ignored cannot see inside a tagged enum
enum DhcpOptionIn {
    #[serde(rename = "DomainNameServer", rename_all = "camelCase")]
    DomainNameServer {
        server_type: String,
        custom_dns_servers: Option<Vec<String>>,
    },
    #[serde(rename = "SearchDomain", rename_all = "camelCase")]
    SearchDomain { search_domain_names: Vec<String> },
}

/// `domainNameType` values.
const DOMAIN_NAME_TYPES: [&str; 3] = ["SUBNET_DOMAIN", "VCN_DOMAIN", "CUSTOM_DOMAIN"];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateDhcp {
    compartment_id: String,
    vcn_id: String,
    options: Vec<DhcpOptionIn>,
    display_name: Option<String>,
    domain_name_type: Option<String>,
    freeform_tags: Option<FreeformTags>,
    defined_tags: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateDhcp {
    options: Option<Vec<DhcpOptionIn>>,
    domain_name_type: Option<String>,
    display_name: Option<String>,
    freeform_tags: Option<FreeformTags>,
    defined_tags: Option<Value>,
}

/// The model's DHCP options from the wire list: one DomainNameServer option
/// (required: the model always has a resolver, an assumption) and at most one
/// SearchDomain with a single name (OCI docs, DhcpSearchDomainOption).
fn dhcp_of(id: &str, vcn: VcnId, options: Vec<DhcpOptionIn>) -> Result<DhcpOptions, ApiError> {
    let mut dns: Option<(String, Vec<String>)> = None;
    let mut search: Option<String> = None;
    for (i, o) in options.into_iter().enumerate() {
        let field = format!("options[{i}]");
        match o {
            DhcpOptionIn::DomainNameServer {
                server_type,
                custom_dns_servers,
            } => {
                if dns.is_some() {
                    return Err(ApiError::invalid(
                        &field,
                        "only one DomainNameServer option is allowed",
                    ));
                }
                dns = Some((server_type, custom_dns_servers.unwrap_or_default()));
            }
            DhcpOptionIn::SearchDomain {
                search_domain_names,
            } => {
                if search.is_some() {
                    return Err(ApiError::invalid(
                        &field,
                        "only one SearchDomain option is allowed",
                    ));
                }
                let [name] = <[String; 1]>::try_from(search_domain_names).map_err(|v| {
                    ApiError::invalid(
                        &format!("{field}.searchDomainNames"),
                        format!("give exactly one search domain name, not {}", v.len()),
                    )
                })?;
                search = Some(name);
            }
        }
    }
    let (server_type, custom_dns_servers) =
        dns.ok_or_else(|| ApiError::invalid("options", "a DomainNameServer option is required"))?;
    let d = DhcpOptions {
        id: id.to_string(),
        name: id.to_string(),
        vcn,
        server_type,
        custom_dns_servers,
        search_domain: search,
    };
    d.validate().map_err(|e| {
        let field = match e {
            DhcpError::ServerType(_) => "serverType",
            DhcpError::DnsServerCount(_) | DhcpError::DnsServerAddress(_) => "customDnsServers",
            DhcpError::SearchDomain(_) => "searchDomainNames",
        };
        ApiError::invalid(&format!("options.{field}"), e.to_string())
    })?;
    Ok(d)
}

fn check_domain_name_type(v: &Option<String>) -> Result<(), ApiError> {
    match v {
        Some(x) if !DOMAIN_NAME_TYPES.contains(&x.as_str()) => Err(ApiError::invalid(
            "domainNameType",
            format!("`{x}` is not one of {}", DOMAIN_NAME_TYPES.join(", ")),
        )),
        _ => Ok(()),
    }
}

/// Merges `v` into the wire extras kept for `id`.
pub fn set_extras(t: &mut Twin, id: &str, v: Value) {
    let e = t
        .ext
        .get_mut::<CoreState>()
        .extras
        .entry(id.to_string())
        .or_insert_with(|| json!({}));
    merge(e, &v);
}

fn dhcp_reply(t: &Twin, id: &str) -> ApiResult {
    let m = t.registry.get_kind(id, "dhcpoptions")?;
    Ok(Reply::json(&dhcp_json(t, m)).etag(&m.etag()))
}

async fn create_dhcp(
    State(s): State<Shared>,
    ctx: Ctx,
    JsonBody(b): JsonBody<CreateDhcp>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    check_compartment(&t, &b.compartment_id)?;
    let vid = vcn_id(&t, &b.vcn_id)?;
    check_domain_name_type(&b.domain_name_type)?;
    // Validate with a placeholder OCID so a refused request mints nothing.
    let mut d = dhcp_of("", vid, b.options)?;
    let id = t.world.mint.regional("dhcpoptions");
    d.id = id.clone();
    d.name = id.clone();
    t.world.network.create_dhcp_options(d);
    let name = b
        .display_name
        .unwrap_or_else(|| default_name("dhcpoptions", &t));
    register_provisioning(
        &mut t,
        &id,
        "dhcpoptions",
        &b.compartment_id,
        &name,
        (b.freeform_tags, b.defined_tags),
    );
    t.registry.set_parent(&id, &b.vcn_id);
    let mut extra = json!({"vcnId": b.vcn_id});
    if let Some(n) = b.domain_name_type {
        extra["domainNameType"] = json!(n);
    }
    set_extras(&mut t, &id, extra);
    dhcp_reply(&t, &id)
}

async fn update_dhcp(
    State(s): State<Shared>,
    ctx: Ctx,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<UpdateDhcp>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    t.registry.get_kind(&id, "dhcpoptions")?;
    check_domain_name_type(&b.domain_name_type)?;
    let options = match b.options {
        Some(o) => {
            let vcn = t
                .world
                .network
                .dhcp_options_by_ocid(&id)
                .map(|d| d.vcn)
                .ok_or_else(|| ApiError::not_found("dhcpoptions", &id))?;
            Some(dhcp_of(&id, vcn, o)?)
        }
        None => None,
    };
    let common = UpdateCommon {
        display_name: b.display_name,
        freeform_tags: b.freeform_tags,
        defined_tags: b.defined_tags,
    };
    apply_common(&mut t, &id, "dhcpoptions", common)?;
    if let Some(d) = options {
        t.world.network.update_dhcp_options(d)?;
    }
    if let Some(n) = b.domain_name_type {
        set_extras(&mut t, &id, json!({"domainNameType": n}));
    }
    dhcp_reply(&t, &id)
}

/// The first live subnet whose DHCP options are `id`, in words.
fn dhcp_user(t: &Twin, id: &str) -> Option<String> {
    let net = &t.world.network;
    net.subnets
        .iter()
        .filter(|s| !s.deleted)
        .find(|s| {
            let set = t
                .ext
                .get::<CoreState>()
                .and_then(|c| c.extras.get(&s.id))
                .and_then(|e| e.get("dhcpOptionsId"))
                .and_then(Value::as_str);
            let default = net.defaults(s.vcn).map(|d| d.dhcp_options.as_str());
            set.or(default) == Some(id)
        })
        .map(|s| format!("subnet {}", s.id))
}

async fn delete_dhcp(State(s): State<Shared>, ctx: Ctx, Path(id): Path<String>) -> ApiResult {
    let mut t = s.lock(&ctx);
    t.registry.get_kind(&id, "dhcpoptions")?;
    let used_by = dhcp_user(&t, &id);
    t.world.network.delete_dhcp_options(&id, used_by)?;
    terminate(&mut t, &id, "dhcpoptions");
    Ok(Reply::empty())
}
