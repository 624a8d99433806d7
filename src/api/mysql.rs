//! MySQL HeatWave (`/20190415`, oci-api.md §5.8): DB systems (standalone or
//! HA, AD/FD placement, endpoints once ACTIVE), shapes, versions, default
//! configurations and the MySQL work requests.
//!
//! The DB systems are the World's (`world.wiring.mysql`), so an FD or AD
//! outage injected through `/_ocisim/outages` fails a primary over exactly as
//! in a scenario; `currentPlacement` shows where the primary is now. Create
//! returns the DbSystem in CREATING **and** `opc-work-request-id`.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::core::check_compartment;
use super::core_net::{NewVnic, check_nsg_ids, register_vnic, release_vnic};
use super::error::ApiError;
use super::pipeline::Ctx;
use super::registry::Meta;
use super::state::{Shared, Twin};
use super::wire::{
    ApiResult, FreeformTags, JsonBody, Params, Reply, Unmodelled, UnmodelledFlag, etag_of,
    paginate, rfc3339, sort_items,
};
use super::workreq::{
    WorkRequestSpec, WrFailure, WrResource, list_status_style, render_errors, render_logs,
    render_status_style,
};
use crate::kernel::SimDuration;
use crate::kernel::rng::fnv1a64;
use crate::model::mysql::{
    CreateDbSystem, DEFAULT_PORT, DEFAULT_PORT_X, DbLifecycle, DbSystem, DbSystemId, MysqlError,
    SHAPES, VERSIONS,
};
use crate::model::topology::FaultDomain;

/// The MySQL routes.
pub fn routes(r: Router<Shared>) -> Router<Shared> {
    r.route(
        "/20190415/dbSystems",
        get(list_db_systems).post(create_db_system),
    )
    .route(
        "/20190415/dbSystems/{id}",
        get(get_db_system)
            .put(update_db_system)
            .delete(delete_db_system),
    )
    .route(
        "/20190415/dbSystems/{id}/actions/stop",
        post(stop_db_system),
    )
    .route(
        "/20190415/dbSystems/{id}/actions/start",
        post(start_db_system),
    )
    .route(
        "/20190415/dbSystems/{id}/actions/restart",
        post(restart_db_system),
    )
    .route("/20190415/workRequests", get(list_work_requests))
    .route("/20190415/workRequests/{id}", get(get_work_request))
    .route("/20190415/workRequests/{id}/errors", get(list_wr_errors))
    .route("/20190415/workRequests/{id}/logs", get(list_wr_logs))
    .route("/20190415/shapes", get(list_shapes))
    .route("/20190415/versions", get(list_versions))
    .route(
        "/20190415/configurations",
        get(list_configurations).post(create_configuration),
    )
    .route(
        "/20190415/configurations/{id}",
        get(get_configuration)
            .put(update_configuration)
            .delete(delete_configuration),
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DataStorageDetails {
    is_auto_expand_storage_enabled: Option<bool>,
    #[serde(rename = "maxStorageSizeInGBs")]
    max_storage_size_in_gbs: Option<u32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeletionPolicy {
    automatic_backup_retention: Option<String>,
    final_backup: Option<String>,
    is_delete_protected: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateBody {
    display_name: Option<String>,
    description: Option<String>,
    compartment_id: String,
    is_highly_available: Option<bool>,
    availability_domain: Option<String>,
    fault_domain: Option<String>,
    configuration_id: Option<String>,
    shape_name: String,
    mysql_version: Option<String>,
    subnet_id: String,
    nsg_ids: Option<Vec<String>>,
    admin_username: Option<String>,
    admin_password: Option<String>,
    #[serde(rename = "dataStorageSizeInGBs")]
    data_storage_size_in_gbs: Option<u32>,
    data_storage: Option<DataStorageDetails>,
    hostname_label: Option<String>,
    ip_address: Option<String>,
    port: Option<u16>,
    port_x: Option<u16>,
    deletion_policy: Option<DeletionPolicy>,
    freeform_tags: Option<FreeformTags>,
    defined_tags: Option<Value>,
    database_mode: Option<String>,
    access_mode: Option<String>,
    crash_recovery: Option<String>,
    // OCI fields the twin does not model: refused when given.
    _rest: Option<Unmodelled>,
    _database_console: Option<Unmodelled>,
    _security_attributes: Option<Unmodelled>,
    _is_ipv6_enabled: Option<UnmodelledFlag<false>>,
    _ipv6_address_ipv6_subnet_cidr_pair_details: Option<Unmodelled>,
    _backup_policy: Option<Unmodelled>,
    _source: Option<Unmodelled>,
    _maintenance: Option<Unmodelled>,
    _database_management: Option<Unmodelled>,
    _secure_connections: Option<Unmodelled>,
    _encrypt_data: Option<Unmodelled>,
    _customer_contacts: Option<Unmodelled>,
    _read_endpoint: Option<Unmodelled>,
    _telemetry_configuration: Option<Unmodelled>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateBody {
    display_name: Option<String>,
    description: Option<String>,
    freeform_tags: Option<FreeformTags>,
    defined_tags: Option<Value>,
    deletion_policy: Option<DeletionPolicy>,
    shape_name: Option<String>,
    is_highly_available: Option<bool>,
    // OCI fields the twin does not update: refused when given.
    _subnet_id: Option<Unmodelled>,
    _nsg_ids: Option<Unmodelled>,
    _security_attributes: Option<Unmodelled>,
    _database_mode: Option<Unmodelled>,
    _access_mode: Option<Unmodelled>,
    _rest: Option<Unmodelled>,
    _database_console: Option<Unmodelled>,
    _availability_domain: Option<Unmodelled>,
    _fault_domain: Option<Unmodelled>,
    _mysql_version: Option<Unmodelled>,
    _configuration_id: Option<Unmodelled>,
    _admin_username: Option<Unmodelled>,
    _admin_password: Option<Unmodelled>,
    #[serde(rename = "dataStorageSizeInGBs")]
    _data_storage_size_in_gbs: Option<Unmodelled>,
    _data_storage: Option<Unmodelled>,
    _hostname_label: Option<Unmodelled>,
    _ip_address: Option<Unmodelled>,
    _is_ipv6_enabled: Option<UnmodelledFlag<false>>,
    _ipv6_address_ipv6_subnet_cidr_pair_details: Option<Unmodelled>,
    _port: Option<Unmodelled>,
    _port_x: Option<Unmodelled>,
    _backup_policy: Option<Unmodelled>,
    _maintenance: Option<Unmodelled>,
    _crash_recovery: Option<Unmodelled>,
    _database_management: Option<Unmodelled>,
    _secure_connections: Option<Unmodelled>,
    _encrypt_data: Option<Unmodelled>,
    _customer_contacts: Option<Unmodelled>,
    _read_endpoint: Option<Unmodelled>,
    _telemetry_configuration: Option<Unmodelled>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ShutdownBody {
    shutdown_type: String,
}

/// What OCI shows of a DB system that the model does not keep.
#[derive(Debug, Default)]
pub struct MysqlState {
    extras: std::collections::BTreeMap<String, Extra>,
    /// The endpoint VNIC of each ACTIVE DB system.
    vnics: std::collections::BTreeMap<String, String>,
    /// Custom configurations by OCID (names, tags and lifecycle are in the
    /// registry).
    configs: std::collections::BTreeMap<String, CustomConfig>,
}

/// A CUSTOM configuration: its shape, parent and the variables it sets
/// (the parent's, superseded by its own: OCI docs, CreateConfigurationDetails).
#[derive(Clone, Debug)]
struct CustomConfig {
    shape: String,
    parent: Option<String>,
    description: Option<String>,
    variables: serde_json::Map<String, Value>,
    time_updated: crate::kernel::SimTime,
}

/// Registers the endpoint VNIC of a DB system that became ACTIVE: its
/// address in its subnet, in its NSGs, in the primary's AD.
fn attach_vnic(t: &mut Twin, id: &str, sid: DbSystemId) {
    let s = t.world.wiring.mysql.get(sid);
    let (subnet, addr, name) = (s.subnet, s.ip, s.display_name.clone());
    let (compartment, ad) = (
        s.compartment_id.clone(),
        s.instances[s.primary].availability_domain,
    );
    let nsg_ids = t
        .ext
        .get::<MysqlState>()
        .and_then(|m| m.extras.get(id))
        .map(|x| x.nsg_ids.clone())
        .unwrap_or_default();
    let vnic = register_vnic(
        t,
        NewVnic {
            compartment: &compartment,
            subnet,
            addr,
            display_name: &name,
            availability_domain: Some(ad),
            nsg_ids: &nsg_ids,
            parent: id,
        },
    );
    t.ext
        .get_mut::<MysqlState>()
        .vnics
        .insert(id.to_string(), vnic);
}

#[derive(Clone, Debug)]
struct Extra {
    description: Option<String>,
    nsg_ids: Vec<String>,
    configuration_id: String,
    auto_expand: bool,
    max_storage: Option<u32>,
    retention: String,
    final_backup: String,
    database_mode: String,
    access_mode: String,
    crash_recovery: String,
}

fn mysql_error(e: MysqlError) -> ApiError {
    match e {
        MysqlError::Limit(_) => ApiError::limit(e.to_string()),
        MysqlError::WrongState { .. } | MysqlError::DeleteProtected(_) => {
            ApiError::conflict(e.to_string())
        }
        MysqlError::UnknownShape(_) | MysqlError::ShapeNotHa(_) => {
            ApiError::invalid("shapeName", e.to_string())
        }
        MysqlError::UnknownVersion(_) => ApiError::invalid("mysqlVersion", e.to_string()),
        MysqlError::BadPorts { .. } => ApiError::invalid("port", e.to_string()),
        MysqlError::BadStorage(_) => ApiError::invalid("dataStorageSizeInGBs", e.to_string()),
        MysqlError::WeakPassword => ApiError::invalid("adminPassword", e.to_string()),
        MysqlError::BadUsername(_) => ApiError::invalid("adminUsername", e.to_string()),
        MysqlError::SubnetAdMismatch { .. } => {
            ApiError::invalid("availabilityDomain", e.to_string())
        }
        MysqlError::IpUnavailable { .. } => ApiError::invalid("ipAddress", e.to_string()),
        MysqlError::Network(n) => ApiError::invalid("subnetId", n.to_string()),
    }
}

/// The OCID of a shape's default configuration (stable, derived from its name).
fn default_configuration_id(shape: &str) -> String {
    let h = fnv1a64(format!("mysql-default-config:{shape}").as_bytes());
    let tail: String = format!("{h:016x}{:016x}", h.rotate_left(17))
        .chars()
        .map(|c| {
            if c.is_ascii_digit() {
                (b'a' + (c as u8 - b'0')) as char
            } else {
                c
            }
        })
        .collect();
    format!("ocid1.mysqlconfiguration.oc1..aaaaaaaa{tail}")
}

fn ad_name(t: &Twin, n: u8) -> String {
    t.world.topology.ads[usize::from(n) - 1].name.clone()
}

fn system_of(t: &Twin, id: &str) -> Result<DbSystemId, ApiError> {
    t.registry.get_kind(id, "mysqldbsystem")?;
    t.world
        .wiring
        .mysql
        .by_ocid(id)
        .ok_or_else(|| ApiError::not_found("DB system", id))
}

fn endpoints(s: &DbSystem, now: crate::kernel::SimTime) -> Vec<Value> {
    if !matches!(
        s.lifecycle,
        DbLifecycle::Active | DbLifecycle::Updating | DbLifecycle::Inactive
    ) {
        return Vec::new();
    }
    let status = if s.is_available(now) {
        "ACTIVE"
    } else if s.lifecycle == DbLifecycle::Inactive {
        "INACTIVE"
    } else {
        "UPDATING"
    };
    let mut e = json!({
        "ipAddress": s.ip_string(),
        "ipAddressVersion": "IPV4",
        "port": s.port,
        "portX": s.port_x,
        "modes": ["READ", "WRITE"],
        "status": status,
        "resourceType": "DBSYSTEM",
        "resourceId": s.id,
    });
    if let Some(h) = &s.hostname_label {
        e["hostname"] = json!(h);
    }
    if status == "UPDATING" {
        e["statusDetails"] =
            json!("the primary instance is unavailable; a failover is in progress");
    }
    vec![e]
}

fn system_json(t: &Twin, m: &Meta, s: &DbSystem, summary: bool) -> Value {
    let x = t
        .ext
        .get::<MysqlState>()
        .and_then(|st| st.extras.get(&s.id))
        .cloned();
    let (cur_ad, cur_fd) = s.primary_domain();
    let (pref_ad, pref_fd) = s.preferred;
    let details = if (cur_ad, cur_fd) != (pref_ad, pref_fd) {
        format!(
            "Current placement ({}) differs from preferred placement, due to failover or maintenance activity.",
            if s.is_highly_available && pref_ad != cur_ad {
                ad_name(t, cur_ad)
            } else {
                cur_fd.to_string()
            }
        )
    } else if s.lifecycle == DbLifecycle::Active && !s.is_available(t.now) {
        "the primary instance is unavailable".to_string()
    } else {
        String::new()
    };
    let x = x.unwrap_or(Extra {
        description: None,
        nsg_ids: Vec::new(),
        configuration_id: default_configuration_id(s.shape.name),
        auto_expand: false,
        max_storage: None,
        retention: "DELETE".into(),
        final_backup: "SKIP_FINAL_BACKUP".into(),
        database_mode: "READ_WRITE".into(),
        access_mode: "UNRESTRICTED".into(),
        crash_recovery: "ENABLED".into(),
    });
    let mut v = json!({
        "id": s.id,
        "displayName": m.display_name,
        "compartmentId": m.compartment_id,
        "isHighlyAvailable": s.is_highly_available,
        "currentPlacement": {"availabilityDomain": ad_name(t, cur_ad), "faultDomain": cur_fd.to_string()},
        "isHeatWaveClusterAttached": false,
        "availabilityDomain": ad_name(t, pref_ad),
        "faultDomain": pref_fd.to_string(),
        "endpoints": endpoints(s, t.now),
        "lifecycleState": s.lifecycle.as_str(),
        "mysqlVersion": s.mysql_version,
        "timeCreated": rfc3339(s.time_created),
        "timeUpdated": rfc3339(t.now.max(s.time_created)),
        "deletionPolicy": {
            "automaticBackupRetention": x.retention,
            "finalBackup": x.final_backup,
            "isDeleteProtected": s.delete_protected,
        },
        "freeformTags": m.freeform_tags,
        "definedTags": m.defined_tags,
        "systemTags": {},
        "backupPolicy": {"isEnabled": true, "windowStartTime": "00:00", "retentionInDays": 7, "softDelete": "ENABLED"},
        "shapeName": s.shape.name,
        "crashRecovery": x.crash_recovery,
        "databaseManagement": "DISABLED",
        "databaseMode": x.database_mode,
        "accessMode": x.access_mode,
    });
    if let Some(d) = &x.description {
        v["description"] = json!(d);
    }
    if summary {
        return v;
    }
    v["subnetId"] = json!(t.world.network.subnet(s.subnet).id);
    v["nsgIds"] = json!(x.nsg_ids);
    v["configurationId"] = json!(x.configuration_id);
    v["dataStorageSizeInGBs"] = json!(s.data_storage_gb);
    let mut storage = json!({
        "allocatedStorageSizeInGBs": s.data_storage_gb,
        "dataStorageSizeInGBs": s.data_storage_gb,
        "dataStorageSizeLimitInGBs": crate::model::mysql::MAX_DATA_STORAGE_GB,
        "isAutoExpandStorageEnabled": x.auto_expand,
    });
    if let Some(m) = x.max_storage {
        storage["maxStorageSizeInGBs"] = json!(m);
    }
    v["dataStorage"] = storage;
    if let Some(h) = &s.hostname_label {
        v["hostnameLabel"] = json!(h);
    }
    v["ipAddress"] = json!(s.ip_string());
    v["port"] = json!(s.port);
    v["portX"] = json!(s.port_x);
    v["channels"] = json!([]);
    v["lifecycleDetails"] = json!(details);
    v["maintenance"] = json!({"windowStartTime": "SUN 00:00", "maintenanceScheduleType": "REGULAR", "versionPreference": "OLDEST", "versionTrackPreference": "FOLLOW"});
    v["source"] = json!({"sourceType": "NONE"});
    v["secureConnections"] = json!({"certificateGenerationType": "SYSTEM"});
    v["encryptData"] = json!({"keyGenerationType": "SYSTEM"});
    v
}

fn submit(
    t: &mut Twin,
    op: &str,
    id: &str,
    action: &str,
    d: SimDuration,
    complete: impl FnOnce(&mut Twin) -> Result<(), WrFailure> + Send + 'static,
) -> String {
    let compartment = t
        .registry
        .get(id)
        .map(|m| m.compartment_id.clone())
        .unwrap_or_default();
    let spec = WorkRequestSpec {
        service: "mysql",
        ocid_type: "mysqlworkrequest",
        operation_type: op.to_string(),
        compartment_id: compartment,
        resources: vec![WrResource {
            entity_type: "mysqldbsystem".into(),
            action_type: action.into(),
            identifier: id.to_string(),
            entity_uri: format!("/dbSystems/{id}"),
        }],
        duration: d,
    };
    t.submit_work_request(spec, Box::new(complete))
}

fn failure(e: MysqlError) -> WrFailure {
    WrFailure {
        code: "InternalError".into(),
        message: e.to_string(),
    }
}

fn enum_field(
    field: &str,
    v: Option<String>,
    allowed: &[&str],
    default: &str,
) -> Result<String, ApiError> {
    match v {
        None => Ok(default.to_string()),
        Some(s) if allowed.contains(&s.as_str()) => Ok(s),
        Some(s) => Err(ApiError::invalid(
            field,
            format!("`{s}` is not one of {}", allowed.join(", ")),
        )),
    }
}

async fn create_db_system(
    State(s): State<Shared>,
    ctx: Ctx,
    JsonBody(b): JsonBody<CreateBody>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    check_compartment(&t, &b.compartment_id)?;
    let subnet = t
        .world
        .network
        .subnet_by_ocid(&b.subnet_id)
        .ok_or_else(|| {
            ApiError::invalid("subnetId", format!("subnet {} does not exist", b.subnet_id))
        })?;
    let vcn = t.world.network.subnet(subnet).vcn;
    check_nsg_ids(&t, "nsgIds", b.nsg_ids.as_deref().unwrap_or_default(), vcn)?;
    let ad = b
        .availability_domain
        .as_deref()
        .map(|a| t.world.topology.ad(a).map(|a| a.number))
        .transpose()
        .map_err(|e| ApiError::invalid("availabilityDomain", e.to_string()))?;
    let fd = b
        .fault_domain
        .as_deref()
        .map(FaultDomain::parse)
        .transpose()
        .map_err(|e| ApiError::invalid("faultDomain", e.to_string()))?;
    let ip = b
        .ip_address
        .as_deref()
        .map(|a| a.parse::<std::net::Ipv4Addr>().map(u32::from))
        .transpose()
        .map_err(|_| ApiError::invalid("ipAddress", "not an IPv4 address"))?;
    let configuration_id = match &b.configuration_id {
        Some(c) => {
            check_configuration_for(&t, "configurationId", c, &b.shape_name)?;
            c.clone()
        }
        None => default_configuration_id(&b.shape_name),
    };
    let extra = Extra {
        description: b.description.clone(),
        nsg_ids: b.nsg_ids.clone().unwrap_or_default(),
        configuration_id,
        auto_expand: b
            .data_storage
            .as_ref()
            .and_then(|d| d.is_auto_expand_storage_enabled)
            .unwrap_or(false),
        max_storage: b
            .data_storage
            .as_ref()
            .and_then(|d| d.max_storage_size_in_gbs),
        retention: enum_field(
            "deletionPolicy.automaticBackupRetention",
            b.deletion_policy
                .as_ref()
                .and_then(|d| d.automatic_backup_retention.clone()),
            &["DELETE", "RETAIN"],
            "DELETE",
        )?,
        final_backup: enum_field(
            "deletionPolicy.finalBackup",
            b.deletion_policy
                .as_ref()
                .and_then(|d| d.final_backup.clone()),
            &["SKIP_FINAL_BACKUP", "REQUIRE_FINAL_BACKUP"],
            "SKIP_FINAL_BACKUP",
        )?,
        database_mode: enum_field(
            "databaseMode",
            b.database_mode,
            &["READ_WRITE", "READ_ONLY"],
            "READ_WRITE",
        )?,
        access_mode: enum_field(
            "accessMode",
            b.access_mode,
            &["UNRESTRICTED", "RESTRICTED"],
            "UNRESTRICTED",
        )?,
        crash_recovery: enum_field(
            "crashRecovery",
            b.crash_recovery,
            &["ENABLED", "DISABLED"],
            "ENABLED",
        )?,
    };
    let id = t.world.mint.regional("mysqldbsystem");
    let name = b
        .display_name
        .clone()
        .unwrap_or_else(|| super::core::default_name("mysqldbsystem", &t));
    let req = CreateDbSystem {
        display_name: name.clone(),
        compartment_id: b.compartment_id.clone(),
        shape_name: b.shape_name.clone(),
        mysql_version: b.mysql_version.clone(),
        subnet,
        is_highly_available: b.is_highly_available.unwrap_or(false),
        availability_domain: ad,
        fault_domain: fd,
        ip_address: ip,
        port: b.port.unwrap_or(DEFAULT_PORT),
        port_x: b.port_x.unwrap_or(DEFAULT_PORT_X),
        hostname_label: b.hostname_label.clone(),
        data_storage_gb: b.data_storage_size_in_gbs.unwrap_or(50),
        admin_username: b.admin_username.clone(),
        admin_password: b.admin_password.clone(),
        delete_protected: b
            .deletion_policy
            .as_ref()
            .and_then(|d| d.is_delete_protected)
            .unwrap_or(false),
    };
    let now = t.now;
    let w = &mut t.world;
    let sid = w
        .wiring
        .mysql
        .create_db_system(req, id.clone(), &mut w.network, &w.topology, now)
        .map_err(mysql_error)?;
    w.mysql_changed();
    let mut m = Meta::new(
        &id,
        "mysqldbsystem",
        &b.compartment_id,
        &name,
        now,
        "CREATING",
    );
    m.freeform_tags = b.freeform_tags.unwrap_or_default();
    m.defined_tags = b.defined_tags.unwrap_or(json!({}));
    t.registry.insert(m);
    t.ext
        .get_mut::<MysqlState>()
        .extras
        .insert(id.clone(), extra);
    let d = t
        .durations
        .get_or("mysql.dbsystem.create", SimDuration::from_secs(600));
    let sid_str = id.clone();
    let wr = submit(&mut t, "CREATE_DBSYSTEM", &id, "CREATED", d, move |t| {
        t.world.wiring.mysql.activate(sid).map_err(failure)?;
        t.world.mysql_changed();
        t.registry.set_state(&sid_str, "ACTIVE");
        attach_vnic(t, &sid_str, sid);
        Ok(())
    });
    let m = t.registry.get_kind(&id, "mysqldbsystem")?;
    let body = system_json(&t, m, t.world.wiring.mysql.get(sid), false);
    Ok(Reply::json(&body)
        .etag(&m.etag())
        .header("opc-work-request-id", &wr)
        .header("location", &format!("/dbSystems/{id}")))
}

async fn get_db_system(State(s): State<Shared>, ctx: Ctx, Path(id): Path<String>) -> ApiResult {
    let t = s.lock(&ctx);
    let sid = system_of(&t, &id)?;
    let m = t.registry.get_kind(&id, "mysqldbsystem")?;
    let sys = t.world.wiring.mysql.get(sid);
    // The etag follows what the body shows, so a failover changes it too.
    let etag = etag_of(
        &id,
        m.version * 1000 + u64::from(sys.failovers) * 2 + u64::from(sys.is_available(t.now)),
    );
    Ok(Reply::json(&system_json(&t, m, sys, false)).etag(&etag))
}

async fn list_db_systems(State(s): State<Shared>, ctx: Ctx, p: Params) -> ApiResult {
    let t = s.lock(&ctx);
    let c = p.required("compartmentId")?;
    let state = p.one_of(
        "lifecycleState",
        &[
            "CREATING", "ACTIVE", "INACTIVE", "UPDATING", "DELETING", "DELETED", "FAILED",
        ],
    )?;
    let name = p.get("displayName");
    let only = p.get("dbSystemId");
    let mut items: Vec<(&Meta, &DbSystem)> = t
        .registry
        .of_kind("mysqldbsystem")
        .filter(|m| m.compartment_id == c)
        .filter(|m| name.is_none_or(|n| n == m.display_name))
        .filter(|m| only.is_none_or(|i| i == m.id))
        .filter_map(|m| {
            t.world
                .wiring
                .mysql
                .by_ocid(&m.id)
                .map(|i| (m, t.world.wiring.mysql.get(i)))
        })
        .filter(|(_, s)| state.is_none_or(|st| st == s.lifecycle.as_str()))
        .collect();
    sort_items(
        &mut items,
        &p,
        &["timeCreated"],
        &["displayName"],
        |(m, _)| m.sort_key(),
    )?;
    let (page, next) = paginate(items, &p)?;
    let v: Vec<Value> = page
        .into_iter()
        .map(|(m, s)| system_json(&t, m, s, true))
        .collect();
    Ok(Reply::page(&v, next))
}

async fn update_db_system(
    State(s): State<Shared>,
    ctx: Ctx,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<UpdateBody>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    let sid = system_of(&t, &id)?;
    if b.shape_name.is_some() || b.is_highly_available.is_some() {
        return Err(ApiError::invalid(
            "shapeName",
            "changing the shape or high availability of a DB system is not modelled by the twin",
        ));
    }
    if t.world.wiring.mysql.get(sid).lifecycle != DbLifecycle::Active {
        return Err(ApiError::conflict(format!("DB system {id} is not ACTIVE")));
    }
    {
        let m = t.registry.get_kind_mut(&id, "mysqldbsystem")?;
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
    if let Some(x) = t.ext.get_mut::<MysqlState>().extras.get_mut(&id)
        && let Some(d) = b.description
    {
        x.description = Some(d);
    }
    let protect = b.deletion_policy.and_then(|d| d.is_delete_protected);
    t.world.wiring.mysql.systems[sid.0 as usize].lifecycle = DbLifecycle::Updating;
    t.registry.set_state(&id, "UPDATING");
    let d = t
        .durations
        .get_or("mysql.dbsystem.update", SimDuration::from_secs(60));
    let sid_str = id.clone();
    let wr = submit(&mut t, "UPDATE_DBSYSTEM", &id, "UPDATED", d, move |t| {
        if let Some(p) = protect {
            t.world.wiring.mysql.systems[sid.0 as usize].delete_protected = p;
        }
        t.world.wiring.mysql.activate(sid).map_err(failure)?;
        t.registry.set_state(&sid_str, "ACTIVE");
        Ok(())
    });
    Ok(Reply::accepted(&wr))
}

async fn delete_db_system(State(s): State<Shared>, ctx: Ctx, Path(id): Path<String>) -> ApiResult {
    let mut t = s.lock(&ctx);
    let sid = system_of(&t, &id)?;
    t.world
        .wiring
        .mysql
        .begin_delete(sid)
        .map_err(mysql_error)?;
    t.registry.set_state(&id, "DELETING");
    let d = t
        .durations
        .get_or("mysql.dbsystem.delete", SimDuration::from_secs(120));
    let sid_str = id.clone();
    let wr = submit(&mut t, "DELETE_DBSYSTEM", &id, "DELETED", d, move |t| {
        let w = &mut t.world;
        w.wiring
            .mysql
            .finish_delete(sid, &mut w.network)
            .map_err(failure)?;
        t.registry.set_state(&sid_str, "DELETED");
        let vnic = t.ext.get_mut::<MysqlState>().vnics.remove(&sid_str);
        if let Some(vnic) = vnic {
            release_vnic(t, &vnic);
        }
        Ok(())
    });
    Ok(Reply::accepted(&wr))
}

fn check_shutdown(b: &ShutdownBody) -> Result<(), ApiError> {
    if ["IMMEDIATE", "FAST", "SLOW"].contains(&b.shutdown_type.as_str()) {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "shutdownType",
            format!("`{}` is not IMMEDIATE, FAST or SLOW", b.shutdown_type),
        ))
    }
}

async fn stop_db_system(
    State(s): State<Shared>,
    ctx: Ctx,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<ShutdownBody>,
) -> ApiResult {
    check_shutdown(&b)?;
    let mut t = s.lock(&ctx);
    let sid = system_of(&t, &id)?;
    let mut copy = t.world.wiring.mysql.clone();
    copy.stop(sid).map_err(mysql_error)?;
    t.registry.set_state(&id, "UPDATING");
    let d = t
        .durations
        .get_or("mysql.dbsystem.stop", SimDuration::from_secs(60));
    let sid_str = id.clone();
    let wr = submit(&mut t, "STOP_DBSYSTEM", &id, "UPDATED", d, move |t| {
        t.world.wiring.mysql.stop(sid).map_err(failure)?;
        t.registry.set_state(&sid_str, "INACTIVE");
        Ok(())
    });
    Ok(Reply::accepted(&wr))
}

async fn start_db_system(State(s): State<Shared>, ctx: Ctx, Path(id): Path<String>) -> ApiResult {
    let mut t = s.lock(&ctx);
    let sid = system_of(&t, &id)?;
    let mut copy = t.world.wiring.mysql.clone();
    copy.start(sid).map_err(mysql_error)?;
    t.registry.set_state(&id, "UPDATING");
    let d = t
        .durations
        .get_or("mysql.dbsystem.start", SimDuration::from_secs(60));
    let sid_str = id.clone();
    let wr = submit(&mut t, "START_DBSYSTEM", &id, "UPDATED", d, move |t| {
        t.world.wiring.mysql.start(sid).map_err(failure)?;
        t.registry.set_state(&sid_str, "ACTIVE");
        Ok(())
    });
    Ok(Reply::accepted(&wr))
}

async fn restart_db_system(
    State(s): State<Shared>,
    ctx: Ctx,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<ShutdownBody>,
) -> ApiResult {
    check_shutdown(&b)?;
    let mut t = s.lock(&ctx);
    let sid = system_of(&t, &id)?;
    let mut copy = t.world.wiring.mysql.clone();
    copy.stop(sid).map_err(mysql_error)?;
    let d = t
        .durations
        .get_or("mysql.dbsystem.restart", SimDuration::from_secs(60));
    let wr = submit(&mut t, "RESTART_DBSYSTEM", &id, "UPDATED", d, |_| Ok(()));
    Ok(Reply::accepted(&wr))
}

// ------------------------------------------------------------------ work requests

const MYSQL: &[&str] = &["mysql"];

async fn get_work_request(State(s): State<Shared>, ctx: Ctx, Path(id): Path<String>) -> ApiResult {
    let t = s.lock(&ctx);
    let w = t.work_requests.get_for(&id, MYSQL)?;
    Ok(Reply::json(&render_status_style(w, t.now))
        .etag(&etag_of(&w.id, w.status as u64))
        .header("retry-after", "1"))
}

async fn list_work_requests(State(s): State<Shared>, ctx: Ctx, p: Params) -> ApiResult {
    let t = s.lock(&ctx);
    list_status_style(&t, &p, MYSQL, |_| true)
}

async fn list_wr_errors(
    State(s): State<Shared>,
    ctx: Ctx,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult {
    let t = s.lock(&ctx);
    let w = t.work_requests.get_for(&id, MYSQL)?;
    let (page, next) = paginate(render_errors(w), &p)?;
    Ok(Reply::page(&page, next))
}

async fn list_wr_logs(
    State(s): State<Shared>,
    ctx: Ctx,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult {
    let t = s.lock(&ctx);
    let w = t.work_requests.get_for(&id, MYSQL)?;
    let (page, next) = paginate(render_logs(w), &p)?;
    Ok(Reply::page(&page, next))
}

// ------------------------------------------------------------------ catalogue

async fn list_shapes(State(s): State<Shared>, ctx: Ctx, p: Params) -> ApiResult {
    let t = s.lock(&ctx);
    p.required("compartmentId")?;
    if let Some(a) = p.get("availabilityDomain") {
        t.world
            .topology
            .ad(a)
            .map_err(|e| ApiError::invalid("availabilityDomain", e.to_string()))?;
    }
    let wanted = p.all_of("isSupportedFor", &["DBSYSTEM", "HEATWAVECLUSTER"])?;
    let name = p.get("name");
    let v: Vec<Value> = SHAPES
        .iter()
        .filter(|s| name.is_none_or(|n| n == s.name))
        .filter_map(|s| {
            let mut sup = Vec::new();
            if s.name != "MySQL.HeatWave.VM.Standard" {
                sup.push("DBSYSTEM");
            }
            if s.supports_heatwave_cluster {
                sup.push("HEATWAVECLUSTER");
            }
            let keep = wanted.is_empty() || wanted.iter().any(|w| sup.contains(w));
            keep.then(|| {
                json!({
                    "name": s.name,
                    "cpuCoreCount": s.cpu_core_count,
                    "memorySizeInGBs": s.memory_gb,
                    "isSupportedFor": sup,
                })
            })
        })
        .collect();
    Ok(Reply::json(&v))
}

async fn list_versions(State(s): State<Shared>, ctx: Ctx, p: Params) -> ApiResult {
    let _t = s.lock(&ctx);
    p.required("compartmentId")?;
    let v: Vec<Value> = VERSIONS
        .iter()
        .map(|f| {
            json!({
                "versionFamily": f.family,
                "versions": f.versions.iter().map(|v| json!({"version": v, "description": format!("MySQL {v}")})).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(Reply::json(&v))
}

/// `type` and `lifecycleState` values of configurations.
const CONFIG_TYPES: [&str; 2] = ["DEFAULT", "CUSTOM"];

/// The shape of a DEFAULT configuration with this OCID.
fn default_shape(id: &str) -> Option<&'static str> {
    SHAPES
        .iter()
        .find(|s| default_configuration_id(s.name) == id)
        .map(|s| s.name)
}

fn custom_config<'a>(t: &'a Twin, id: &str) -> Option<&'a CustomConfig> {
    t.ext.get::<MysqlState>().and_then(|m| m.configs.get(id))
}

/// The shape of the ACTIVE configuration `id` (default or custom), else a
/// 400 naming `field` (a body field, so not 404).
fn active_config_shape(t: &Twin, field: &str, id: &str) -> Result<String, ApiError> {
    if let Some(shape) = default_shape(id) {
        return Ok(shape.to_string());
    }
    let live = t
        .registry
        .get(id)
        .is_some_and(|m| m.kind == "mysqlconfiguration" && m.lifecycle_state == "ACTIVE");
    match custom_config(t, id) {
        Some(c) if live => Ok(c.shape.clone()),
        _ => Err(ApiError::invalid(
            field,
            format!("configuration {id} does not exist or is DELETED"),
        )),
    }
}

/// A DB system's (or a child configuration's) configuration must exist, be
/// ACTIVE and be made for its shape.
fn check_configuration_for(t: &Twin, field: &str, id: &str, shape: &str) -> Result<(), ApiError> {
    let of = active_config_shape(t, field, id)?;
    if of != shape {
        return Err(ApiError::invalid(
            field,
            format!("configuration {id} is for shape {of}, not {shape}"),
        ));
    }
    Ok(())
}

/// The variables of a DEFAULT configuration (the twin's stand-in for the
/// shape's defaults).
fn default_variables() -> serde_json::Map<String, Value> {
    let v = json!({"maxConnections": 1000, "autocommit": true});
    v.as_object().cloned().unwrap_or_default()
}

/// The Configuration (or ConfigurationSummary) with this OCID, default or
/// custom, and its etag.
fn configuration_json(t: &Twin, id: &str, summary: bool) -> Option<(Value, String)> {
    let (mut v, variables, parent, etag) = if let Some(shape) = default_shape(id) {
        let v = json!({
            "id": id,
            "compartmentId": "ocid1.tenancy.oc1..aaaaaaaaocisimdefaultconfigurations",
            "description": format!("Default configuration for the {shape} shape"),
            "displayName": format!("{shape}.Standalone"),
            "shapeName": shape,
            "type": "DEFAULT",
            "lifecycleState": "ACTIVE",
            "timeCreated": rfc3339(crate::kernel::SimTime::ZERO),
            "timeUpdated": rfc3339(crate::kernel::SimTime::ZERO),
            "freeformTags": {},
            "definedTags": {},
            "systemTags": {},
        });
        (v, default_variables(), None, etag_of(id, 1))
    } else {
        let c = custom_config(t, id)?;
        let m = t.registry.get(id)?;
        let v = json!({
            "id": id,
            "compartmentId": m.compartment_id,
            "description": c.description,
            "displayName": m.display_name,
            "shapeName": c.shape,
            "type": "CUSTOM",
            "lifecycleState": m.lifecycle_state,
            "timeCreated": rfc3339(m.time_created),
            "timeUpdated": rfc3339(c.time_updated),
            "freeformTags": m.freeform_tags,
            "definedTags": m.defined_tags,
            "systemTags": {},
        });
        (v, c.variables.clone(), c.parent.clone(), m.etag())
    };
    if !summary {
        v["options"] = json!([]);
        v["variables"] = Value::Object(variables);
        if let Some(p) = parent {
            v["parentConfigurationId"] = json!(p);
        }
    }
    Some((v, etag))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateConfiguration {
    compartment_id: String,
    shape_name: String,
    display_name: Option<String>,
    description: Option<String>,
    parent_configuration_id: Option<String>,
    variables: Option<serde_json::Map<String, Value>>,
    freeform_tags: Option<FreeformTags>,
    defined_tags: Option<Value>,
    // OCI fields the twin does not model: refused when given.
    _init_variables: Option<Unmodelled>,
    _options: Option<Unmodelled>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateConfiguration {
    display_name: Option<String>,
    description: Option<String>,
    freeform_tags: Option<FreeformTags>,
    defined_tags: Option<Value>,
}

/// Variables are named settings with a boolean, number or text value.
fn check_variables(v: &serde_json::Map<String, Value>) -> Result<(), ApiError> {
    for (k, x) in v {
        if !(x.is_boolean() || x.is_number() || x.is_string()) {
            return Err(ApiError::invalid(
                &format!("variables.{k}"),
                "must be a boolean, a number or a string",
            ));
        }
    }
    Ok(())
}

async fn create_configuration(
    State(s): State<Shared>,
    ctx: Ctx,
    JsonBody(b): JsonBody<CreateConfiguration>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    check_compartment(&t, &b.compartment_id)?;
    if !SHAPES.iter().any(|s| s.name == b.shape_name) {
        return Err(ApiError::invalid(
            "shapeName",
            format!("`{}` is not a MySQL shape", b.shape_name),
        ));
    }
    let own = b.variables.unwrap_or_default();
    check_variables(&own)?;
    let mut variables = match &b.parent_configuration_id {
        Some(p) => {
            check_configuration_for(&t, "parentConfigurationId", p, &b.shape_name)?;
            configuration_json(&t, p, false)
                .and_then(|(v, _)| v["variables"].as_object().cloned())
                .unwrap_or_default()
        }
        None => serde_json::Map::new(),
    };
    variables.extend(own);
    let id = t.world.mint.regional("mysqlconfiguration");
    let name = b
        .display_name
        .unwrap_or_else(|| super::core::default_name("mysqlconfiguration", &t));
    let now = t.now;
    let mut m = Meta::new(
        &id,
        "mysqlconfiguration",
        &b.compartment_id,
        &name,
        now,
        "ACTIVE",
    );
    m.freeform_tags = b.freeform_tags.unwrap_or_default();
    m.defined_tags = b.defined_tags.unwrap_or(json!({}));
    t.registry.insert(m);
    t.ext.get_mut::<MysqlState>().configs.insert(
        id.clone(),
        CustomConfig {
            shape: b.shape_name,
            parent: b.parent_configuration_id,
            description: b.description,
            variables,
            time_updated: now,
        },
    );
    configuration_reply(&t, &id)
}

fn configuration_reply(t: &Twin, id: &str) -> ApiResult {
    let (v, etag) =
        configuration_json(t, id, false).ok_or_else(|| ApiError::not_found("configuration", id))?;
    Ok(Reply::json(&v).etag(&etag))
}

/// The custom configuration `id`, ACTIVE; a DEFAULT one is 409 Conflict
/// (OCI manages those), an unknown one 404.
fn live_custom(t: &Twin, id: &str, verb: &str) -> Result<(), ApiError> {
    if default_shape(id).is_some() {
        return Err(ApiError::conflict(format!(
            "configuration {id} is a DEFAULT configuration and cannot be {verb}"
        )));
    }
    let m = t.registry.get_kind(id, "mysqlconfiguration")?;
    if m.lifecycle_state != "ACTIVE" {
        return Err(ApiError::conflict(format!(
            "configuration {id} is {} and cannot be {verb}",
            m.lifecycle_state
        )));
    }
    Ok(())
}

async fn update_configuration(
    State(s): State<Shared>,
    ctx: Ctx,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<UpdateConfiguration>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    live_custom(&t, &id, "updated")?;
    let now = t.now;
    super::core::apply_common(
        &mut t,
        &id,
        "mysqlconfiguration",
        super::core::UpdateCommon {
            display_name: b.display_name,
            freeform_tags: b.freeform_tags,
            defined_tags: b.defined_tags,
        },
    )?;
    if let Some(c) = t.ext.get_mut::<MysqlState>().configs.get_mut(&id) {
        if let Some(d) = b.description {
            c.description = Some(d);
        }
        c.time_updated = now;
    }
    configuration_reply(&t, &id)
}

/// The first DB system (not DELETED) using configuration `id`.
fn config_user(t: &Twin, id: &str) -> Option<String> {
    t.ext.get::<MysqlState>().and_then(|m| {
        m.extras
            .iter()
            .filter(|(_, x)| x.configuration_id == id)
            .map(|(sys, _)| sys)
            .find(|sys| {
                t.registry
                    .get(sys)
                    .is_some_and(|m| m.lifecycle_state != "DELETED")
            })
            .cloned()
    })
}

async fn delete_configuration(
    State(s): State<Shared>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    live_custom(&t, &id, "deleted")?;
    if let Some(sys) = config_user(&t, &id) {
        return Err(ApiError::conflict(format!(
            "configuration {id} is in use by DB system {sys}"
        )));
    }
    t.registry.set_state(&id, "DELETED");
    Ok(Reply::empty())
}

async fn list_configurations(State(s): State<Shared>, ctx: Ctx, p: Params) -> ApiResult {
    let t = s.lock(&ctx);
    let compartment = p.required("compartmentId")?;
    let types = p.all_of("type", &CONFIG_TYPES)?;
    let state = p.one_of("lifecycleState", &["ACTIVE", "DELETED"])?;
    let sort_by = p.one_of(
        "sortBy",
        &["displayName", "shapeName", "timeCreated", "timeUpdated"],
    )?;
    let descending = p.one_of("sortOrder", &["ASC", "DESC"])? == Some("DESC");
    let shape = p.get("shapeName");
    let only = p.get("configurationId");
    let name = p.get("displayName");
    let defaults = SHAPES.iter().map(|s| default_configuration_id(s.name));
    let customs = t
        .registry
        .of_kind("mysqlconfiguration")
        .filter(|m| m.compartment_id == compartment)
        .map(|m| m.id.clone());
    let mut v: Vec<Value> = defaults
        .chain(customs.collect::<Vec<_>>())
        .filter_map(|id| configuration_json(&t, &id, true).map(|(v, _)| v))
        .filter(|c| types.is_empty() || types.iter().any(|ty| c["type"] == *ty))
        .filter(|c| state.is_none_or(|s| c["lifecycleState"] == s))
        .filter(|c| shape.is_none_or(|n| c["shapeName"] == n))
        .filter(|c| only.is_none_or(|i| c["id"] == i))
        .filter(|c| name.is_none_or(|n| c["displayName"] == n))
        .collect();
    if let Some(key) = sort_by {
        // Names and RFC 3339 times both order as text.
        v.sort_by(|a, b| {
            let k = |x: &Value| {
                (
                    x[key].as_str().unwrap_or("").to_string(),
                    x["id"].to_string(),
                )
            };
            k(a).cmp(&k(b))
        });
    }
    if descending {
        v.reverse();
    }
    let (page, next) = paginate(v, &p)?;
    Ok(Reply::page(&page, next))
}

async fn get_configuration(State(s): State<Shared>, ctx: Ctx, Path(id): Path<String>) -> ApiResult {
    let t = s.lock(&ctx);
    configuration_reply(&t, &id)
}
