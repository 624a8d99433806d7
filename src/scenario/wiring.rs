//! The reference architecture's wiring in scenarios: resolving the endpoints
//! of `reachable` checks against the built world, and the report's wiring
//! section (each reachability verdict with the rule that decided it).

use std::fmt::Write;
use std::net::Ipv4Addr;

use serde::Serialize;

use std::collections::BTreeMap;

use super::source::{Document, ScenarioError};
use base64::Engine as _;

use super::eso_manifest;
use super::wiring_file::{EndpointFile, MysqlSectionFile, ReachableFile, VaultFile};
use crate::kernel::{SimDuration, SimTime};
use crate::model::iam::PolicySpec;
use crate::model::identity::Identity;
use crate::model::mysql::{self, CreateDbSystem, Mysql, MysqlConfig};
use crate::model::reachability::{Endpoint, Flow, Protocol, Reachability};
use crate::model::topology::FaultDomain;
use crate::model::vault::{
    KeyAlgorithm, KeyShape, KeySpec, NewContent, NewVersionStage, SecretSpec, Tags, VaultSpec,
    VaultTimings, VaultType,
};
use crate::sim::World;
use crate::sim::eso::SecretStore;
use crate::sim::wiring::WiringAction;
use crate::sim::wiring::{Database, DbClient};
use crate::sim::world::Action;
use crate::sim::world::DeploymentSpec;

/// The address `internet` stands for (TEST-NET-3, RFC 5737).
pub const DEFAULT_INTERNET_ADDRESS: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 10);

/// A resolved `reachable` check.
#[derive(Clone, Debug)]
pub struct ReachableCheck {
    /// The flow.
    pub flow: Flow,
    /// True when the scenario expects it to get through.
    pub expect_allowed: bool,
}

/// Resolves a `reachable` expectation at `path`; returns its label and check.
pub fn reachable(
    doc: &Document,
    path: &str,
    r: &ReachableFile,
    world: &World,
) -> Result<(String, ReachableCheck), ScenarioError> {
    let protocol = Protocol::parse(&r.protocol).ok_or_else(|| {
        doc.error(
            &format!("{path}.protocol"),
            format!("unknown protocol `{}` (tcp, udp or icmp)", r.protocol),
        )
    })?;
    let port = match (protocol, r.port) {
        (Protocol::Icmp, Some(_)) => {
            return Err(doc.error(&format!("{path}.port"), "an ICMP flow has no port"));
        }
        (Protocol::Icmp, None) => None,
        (_, None) => {
            return Err(doc.error(
                &format!("{path}.port"),
                format!("a {} flow needs `port`", protocol.name()),
            ));
        }
        (_, Some(0)) => return Err(doc.error(&format!("{path}.port"), "port 0 is not a port")),
        (_, Some(p)) => Some(p),
    };
    let expect_allowed = match r.expect.as_str() {
        "allowed" => true,
        "denied" => false,
        other => {
            return Err(doc.error(
                &format!("{path}.expect"),
                format!("`{other}` is not a verdict (allowed or denied)"),
            ));
        }
    };
    let (from, from_name) = endpoint(doc, &format!("{path}.from"), &r.from, world)?;
    let (to, to_name) = endpoint(doc, &format!("{path}.to"), &r.to, world)?;
    if !matches!(from, Endpoint::Vnic { .. }) && !matches!(to, Endpoint::Vnic { .. }) {
        return Err(doc.error(
            path,
            "one end of a flow must be inside a VCN (pods, mysql, a subnet)",
        ));
    }
    let port_text = port.map(|p| format!(" :{p}")).unwrap_or_default();
    let label = format!(
        "reachable {from_name} -> {to_name} {}{port_text} {}",
        protocol.name(),
        r.expect
    );
    Ok((
        label,
        ReachableCheck {
            flow: Flow {
                from,
                to,
                protocol,
                port,
            },
            expect_allowed,
        },
    ))
}

/// Resolves one endpoint; returns it and its name for labels.
fn endpoint(
    doc: &Document,
    path: &str,
    e: &EndpointFile,
    world: &World,
) -> Result<(Endpoint, String), ScenarioError> {
    let net = &world.network;
    let vnic = |subnet: &str, nsgs: &[String], label: String| {
        let id = net.subnet_named(subnet).map_err(|_| {
            doc.error(
                path,
                format!("no subnet named `{subnet}` (or keyword: internet, oracle-services, pods, mysql)"),
            )
        })?;
        let vcn = net.subnet(id).vcn;
        for n in nsgs {
            if !net.nsgs.iter().any(|g| g.vcn == vcn && &g.name == n) {
                return Err(doc.error(
                    &format!("{path}.nsgs"),
                    format!("no NSG named `{n}` in the subnet's VCN"),
                ));
            }
        }
        Ok(Endpoint::Vnic {
            subnet: id,
            nsgs: nsgs.to_vec(),
            label,
        })
    };
    let name = match e {
        EndpointFile::Vnic(v) => {
            let label = if v.nsgs.is_empty() {
                v.subnet.clone()
            } else {
                format!("{} [{}]", v.subnet, v.nsgs.join(", "))
            };
            return Ok((vnic(&v.subnet, &v.nsgs, label.clone())?, label));
        }
        EndpointFile::Named(n) => n.as_str(),
    };
    let (word, arg) = match name.split_once(':') {
        Some((w, a)) => (w, Some(a)),
        None => (name, None),
    };
    match (word, arg) {
        ("internet", None) => Ok((
            Endpoint::Internet(u32::from(DEFAULT_INTERNET_ADDRESS)),
            "internet".into(),
        )),
        ("internet", Some(ip)) => {
            let a: Ipv4Addr = ip
                .parse()
                .map_err(|_| doc.error(path, format!("`{ip}` is not an IPv4 address")))?;
            if net
                .vcns
                .iter()
                .any(|v| v.cidr_blocks.iter().any(|c| c.contains(u32::from(a))))
            {
                return Err(doc.error(
                    path,
                    format!("{a} is inside a VCN; name the subnet instead"),
                ));
            }
            Ok((Endpoint::Internet(u32::from(a)), name.to_string()))
        }
        ("oracle-services", None) => Ok((Endpoint::OracleServices, name.to_string())),
        ("pods", pool) => {
            let p = match pool {
                None => world.oke.pools.first(),
                Some(pn) => world.oke.pools.iter().find(|p| p.name == pn),
            }
            .ok_or_else(|| match pool {
                None => doc.error(path, "`pods` needs a virtual node pool in the cluster"),
                Some(pn) => doc.error(path, format!("no virtual node pool named `{pn}`")),
            })?;
            let subnet = net.subnet(p.pod_subnet).name.clone();
            let label = format!("pods of {}", p.name);
            Ok((vnic(&subnet, &p.pod_nsgs, label.clone())?, name.to_string()))
        }
        ("mysql", db) => {
            let d = match db {
                None => world.wiring.databases.first(),
                Some(n) => world.wiring.databases.iter().find(|d| d.name == n),
            }
            .ok_or_else(|| match db {
                None => doc.error(path, "`mysql` needs a DB system under `mysql:`"),
                Some(n) => doc.error(path, format!("no DB system named `{n}`")),
            })?;
            let s = world.wiring.mysql.get(d.id);
            let subnet = net.subnet(s.subnet).name.clone();
            let label = format!("MySQL {}", d.name);
            Ok((vnic(&subnet, &d.nsgs, label)?, name.to_string()))
        }
        _ => Ok((vnic(name, &[], name.to_string())?, name.to_string())),
    }
}

/// The report's wiring section.
#[derive(Debug, Default, Serialize)]
pub struct WiringReport {
    /// Reachability verdicts, in expectation order.
    pub reachability: Vec<ReachabilityRow>,
    /// MySQL DB systems at the end, with their history.
    pub databases: Vec<DatabaseRow>,
    /// ExternalSecrets at the end, with their history.
    pub external_secrets: Vec<ExternalSecretRow>,
    /// Per Deployment using Secrets: which pods run with which version.
    pub secret_versions: Vec<String>,
    /// Pods that waited for a Secret, with kubelet's reason.
    pub waiting: Vec<String>,
    /// Timeline changes to vaults, secrets and database passwords.
    pub service_events: Vec<String>,
}

/// An ExternalSecret in the report.
#[derive(Debug, Serialize)]
pub struct ExternalSecretRow {
    /// `namespace/name`.
    pub name: String,
    /// `Ready=True SecretSynced` and the like.
    pub condition: String,
    /// The condition's message.
    pub message: String,
    /// Last successful sync and the versions it read.
    pub synced: String,
    /// Successful syncs and failed reconciles.
    pub counts: String,
    /// What happened, in time order.
    pub events: Vec<String>,
}

/// The External Secrets and secret-version rows of the world.
pub fn secret_rows(
    w: &World,
) -> (
    Vec<ExternalSecretRow>,
    Vec<String>,
    Vec<String>,
    Vec<String>,
) {
    let eso = &w.wiring.eso;
    let externals = eso
        .externals
        .iter()
        .map(|(spec, st)| {
            let name = format!("{}/{}", spec.namespace, spec.name);
            ExternalSecretRow {
                condition: match st.ready {
                    None => "not reconciled".into(),
                    Some(r) => format!("Ready={} {}", if r { "True" } else { "False" }, st.reason),
                },
                message: st.message.clone(),
                synced: match st.refresh_time {
                    Some(t) => format!(
                        "last synced {t} ({})",
                        st.versions
                            .iter()
                            .map(|(k, v)| format!("{k} v{v}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    None => "never synced".into(),
                },
                counts: format!(
                    "{} sync(s), {} failed reconcile(s)",
                    st.synced_total, st.failed_total
                ),
                events: eso
                    .events
                    .iter()
                    .filter(|e| e.external_secret == name)
                    .map(|e| format!("{}  {}", e.at, e.what))
                    .collect(),
                name,
            }
        })
        .collect();
    let mut versions = Vec::new();
    for ((ns, dep), needs) in &w.wiring.needs {
        let Some(d) = w.deployment(dep) else { continue };
        let mut by_version: BTreeMap<String, u32> = BTreeMap::new();
        let mut running = 0;
        for p in &w.kube.rs(d.rs).active {
            let pod = w.kube.pod(*p);
            if pod.state != crate::model::kube::cluster::PodState::Running {
                continue;
            }
            running += 1;
            let label = match w.wiring.pod_secrets.get(p) {
                Some(m) => m
                    .iter()
                    .map(|(n, s)| format!("Secret {n} from {}", s.source))
                    .collect::<Vec<_>>()
                    .join("; "),
                None => format!("no Secret ({} optional or absent)", needs.len()),
            };
            *by_version.entry(label).or_default() += 1;
        }
        let parts: Vec<String> = by_version
            .iter()
            .map(|(l, n)| format!("{n} with {l}"))
            .collect();
        versions.push(format!(
            "{ns}/{dep}: {running} running pod(s): {}",
            if parts.is_empty() {
                "none".into()
            } else {
                parts.join(", ")
            }
        ));
    }
    let waiting = w
        .wiring
        .waiting
        .iter()
        .map(|(p, wt)| {
            let pod = w.kube.pod(*p);
            let end = match wt.started_at {
                Some(t) => format!("started {t}"),
                None if pod.deleted_at.is_some() => "deleted while waiting".into(),
                None => "still waiting at the end".into(),
            };
            format!(
                "{}: {} since {} ({}); {end}",
                pod.name, wt.reason, wt.since, wt.message
            )
        })
        .collect();
    let services = w
        .wiring
        .service_events
        .iter()
        .map(|e| format!("{}  {}", e.at, e.what))
        .collect();
    (externals, versions, waiting, services)
}

/// A DB system in the report.
#[derive(Debug, Serialize)]
pub struct DatabaseRow {
    /// Scenario name.
    pub name: String,
    /// `standalone` or `highly available`.
    pub kind: String,
    /// `ip:port`.
    pub endpoint: String,
    /// Instances at the end: placement, health, the primary marked.
    pub instances: Vec<String>,
    /// Failovers during the run.
    pub failovers: u32,
    /// What happened, in time order.
    pub events: Vec<String>,
    /// Each client Deployment with its network path.
    pub clients: Vec<String>,
}

/// The DB systems of the world for the report.
pub fn database_rows(w: &World) -> Vec<DatabaseRow> {
    w.wiring
        .databases
        .iter()
        .map(|d| {
            let s = w.wiring.mysql.get(d.id);
            DatabaseRow {
                name: d.name.clone(),
                kind: if s.is_highly_available {
                    "highly available"
                } else {
                    "standalone"
                }
                .into(),
                endpoint: format!("{}:{}", s.ip_string(), s.port),
                instances: s
                    .instances
                    .iter()
                    .enumerate()
                    .map(|(i, inst)| {
                        format!(
                            "AD-{}/{}{}{}",
                            inst.availability_domain,
                            inst.fault_domain,
                            if i == s.primary { " primary" } else { "" },
                            if inst.is_healthy() { "" } else { " (down)" }
                        )
                    })
                    .collect(),
                failovers: s.failovers,
                events: w
                    .wiring
                    .db_events
                    .iter()
                    .filter(|e| e.database == d.name)
                    .map(|e| format!("{}  {}", e.at, e.what))
                    .collect(),
                clients: d
                    .clients
                    .iter()
                    .map(|c| {
                        let creds = match &c.secret {
                            Some((s, k)) => format!("password from Secret {s} key {k}"),
                            None => "no password check".into(),
                        };
                        match &c.path {
                            Ok(v) => format!("{}: {creds}; path {v}", c.deployment),
                            Err(v) => format!("{}: {creds}; path {v}", c.deployment),
                        }
                    })
                    .collect(),
            }
        })
        .collect()
}

impl WiringReport {
    /// True when there is nothing to show (the section is then left out).
    pub fn is_empty(&self) -> bool {
        self.reachability.is_empty()
            && self.databases.is_empty()
            && self.external_secrets.is_empty()
            && self.secret_versions.is_empty()
            && self.waiting.is_empty()
            && self.service_events.is_empty()
    }

    /// Appends the section's text.
    pub fn render(&self, o: &mut String) {
        if !self.service_events.is_empty() {
            let _ = writeln!(o, "\nVault and database changes");
            for e in &self.service_events {
                let _ = writeln!(o, "  {e}");
            }
        }
        if !self.external_secrets.is_empty() {
            let _ = writeln!(o, "\nExternal Secrets");
            for e in &self.external_secrets {
                let _ = writeln!(
                    o,
                    "  {}: {}; {}; {}",
                    e.name, e.condition, e.synced, e.counts
                );
                if e.condition.contains("False") {
                    let _ = writeln!(o, "    message: {}", e.message);
                }
                for ev in &e.events {
                    let _ = writeln!(o, "    {ev}");
                }
            }
        }
        if !self.secret_versions.is_empty() || !self.waiting.is_empty() {
            let _ = writeln!(
                o,
                "\nPods and Secrets (virtual nodes do not propagate Secret updates to running pods)"
            );
            for v in &self.secret_versions {
                let _ = writeln!(o, "  {v}");
            }
            for v in &self.waiting {
                let _ = writeln!(o, "  waited: {v}");
            }
        }
        if !self.databases.is_empty() {
            let _ = writeln!(o, "\nMySQL");
            for d in &self.databases {
                let _ = writeln!(
                    o,
                    "  {} ({}, {}): {}; {} failover(s)",
                    d.name,
                    d.kind,
                    d.endpoint,
                    d.instances.join(", "),
                    d.failovers
                );
                for c in &d.clients {
                    let _ = writeln!(o, "    client {c}");
                }
                for e in &d.events {
                    let _ = writeln!(o, "    {e}");
                }
            }
        }
        if !self.reachability.is_empty() {
            let _ = writeln!(o, "\nReachability");
            for r in &self.reachability {
                let _ = writeln!(
                    o,
                    "  {}  {}",
                    if r.allowed { "allowed" } else { "denied " },
                    r.flow
                );
                for s in &r.steps {
                    let _ = writeln!(o, "      {s}");
                }
            }
        }
    }
}

/// One flow's verdict.
#[derive(Debug, Serialize)]
pub struct ReachabilityRow {
    /// The flow in words.
    pub flow: String,
    /// Whether it got through.
    pub allowed: bool,
    /// Each check with the rule that decided it.
    pub steps: Vec<String>,
}

/// Evaluates a check over the world's network.
pub fn evaluate(world: &World, label: &str, c: &ReachableCheck) -> (bool, String, ReachabilityRow) {
    let r = Reachability::new(&world.network, world.topology.region.key);
    let v = r.evaluate(&c.flow);
    let row = ReachabilityRow {
        flow: label
            .trim_start_matches("reachable ")
            .trim_end_matches(" allowed")
            .trim_end_matches(" denied")
            .to_string(),
        allowed: v.allowed,
        steps: v
            .steps
            .iter()
            .map(|s| {
                format!(
                    "{} {}: {}",
                    s.check.name(),
                    if s.passed { "ok" } else { "NO" },
                    s.detail
                )
            })
            .collect(),
    };
    (v.allowed == c.expect_allowed, v.to_string(), row)
}

/// Creates the scenario's DB systems (ACTIVE from the start) and their clients.
pub fn build_mysql(
    doc: &Document,
    section: &MysqlSectionFile,
    world: &mut World,
    deployments: &BTreeMap<String, DeploymentSpec>,
) -> Result<(), ScenarioError> {
    let mut cfg = MysqlConfig::default();
    if let Some(t) = &section.failover_time {
        cfg.failover_time =
            SimDuration::parse(&t.0).map_err(|e| doc.error("mysql.failover_time", e))?;
    }
    world.wiring.mysql = Mysql::new(cfg);
    for (i, f) in section.db_systems.iter().enumerate() {
        let p = format!("mysql.db_systems[{i}]");
        if world.wiring.databases.iter().any(|d| d.name == f.name) {
            return Err(doc.error(
                &format!("{p}.name"),
                format!("a DB system named `{}` already exists", f.name),
            ));
        }
        let subnet = world
            .network
            .subnet_named(&f.subnet)
            .map_err(|e| doc.error(&format!("{p}.subnet"), e.to_string()))?;
        let (db_end, _) = endpoint(
            doc,
            &format!("{p}.nsgs"),
            &EndpointFile::Vnic(super::wiring_file::VnicFile {
                subnet: f.subnet.clone(),
                nsgs: f.nsgs.clone(),
            }),
            world,
        )?;
        let ad = f
            .availability_domain
            .as_ref()
            .map(|a| {
                world
                    .topology
                    .ad(a)
                    .map(|a| a.number)
                    .map_err(|e| doc.error(&format!("{p}.availability_domain"), e.to_string()))
            })
            .transpose()?;
        let fd = f
            .fault_domain
            .as_ref()
            .map(|x| {
                FaultDomain::parse(x)
                    .map_err(|e| doc.error(&format!("{p}.fault_domain"), e.to_string()))
            })
            .transpose()?;
        mysql::check_password(&f.password)
            .map_err(|e| doc.error(&format!("{p}.password"), e.to_string()))?;
        let port = f.port.unwrap_or(mysql::DEFAULT_PORT);
        let req = CreateDbSystem {
            display_name: f.name.clone(),
            compartment_id: "ocid1.tenancy.oc1..scenario".into(),
            shape_name: f.shape.clone().unwrap_or_else(|| "MySQL.2".into()),
            mysql_version: None,
            subnet,
            is_highly_available: f.high_availability,
            availability_domain: ad,
            fault_domain: fd,
            ip_address: None,
            port,
            port_x: mysql::DEFAULT_PORT_X,
            hostname_label: None,
            data_storage_gb: mysql::MIN_DATA_STORAGE_GB,
            admin_username: Some("admin".into()),
            admin_password: Some(f.password.clone()),
            delete_protected: false,
        };
        let ocid = world.mint.regional("mysqldbsystem");
        let w = &mut *world;
        let id = w
            .wiring
            .mysql
            .create_db_system(req, ocid, &mut w.network, &w.topology, SimTime::ZERO)
            .map_err(|e| doc.error(&p, e.to_string()))?;
        w.wiring
            .mysql
            .activate(id)
            .map_err(|e| doc.error(&p, e.to_string()))?;
        let mut clients = Vec::new();
        for (ci, c) in f.clients.iter().enumerate() {
            let cp = format!("{p}.clients[{ci}]");
            if !deployments.contains_key(&c.deployment) {
                return Err(doc.error(
                    &format!("{cp}.deployment"),
                    format!("no Deployment named `{}` among the manifests", c.deployment),
                ));
            }
            if c.key.is_some() && c.secret.is_none() {
                return Err(doc.error(&format!("{cp}.key"), "`key` needs `secret`"));
            }
            let (pods, _) = endpoint(
                doc,
                &format!("{cp}.deployment"),
                &EndpointFile::Named("pods".into()),
                world,
            )?;
            let flow = Flow {
                from: pods,
                to: db_end.clone(),
                protocol: Protocol::Tcp,
                port: Some(port),
            };
            let v = Reachability::new(&world.network, world.topology.region.key).evaluate(&flow);
            clients.push(DbClient {
                deployment: c.deployment.clone(),
                secret: c
                    .secret
                    .clone()
                    .map(|s| (s, c.key.clone().unwrap_or_else(|| "password".into()))),
                path: if v.allowed {
                    Ok(v.to_string())
                } else {
                    Err(v.to_string())
                },
            });
        }
        world.wiring.databases.push(Database {
            name: f.name.clone(),
            id,
            password: f.password.clone(),
            nsgs: f.nsgs.clone(),
            clients,
            outages: Vec::new(),
        });
    }
    Ok(())
}

/// The OCID standing for the scenario's tenancy.
const TENANCY: &str = "ocid1.tenancy.oc1..aaaaaaaascenario";

/// Compartments, vaults, policies, SecretStores, ExternalSecrets and the
/// Secrets each Deployment needs; arms the External Secrets controller.
pub fn build_secrets(
    doc: &Document,
    sf: &crate::scenario::file::ScenarioFile,
    manifests: &[Document],
    world: &mut World,
    deployments: &BTreeMap<String, DeploymentSpec>,
) -> Result<(), ScenarioError> {
    let mut identity = Identity::new(TENANCY, "tenancy", world.topology.region.key);
    for (i, path) in sf.compartments.iter().enumerate() {
        let mut parent = TENANCY.to_string();
        for (depth, part) in path.split(':').enumerate() {
            let existing = identity
                .children(&parent)
                .find(|c| c.name.eq_ignore_ascii_case(part))
                .map(|c| c.id.clone());
            parent = match existing {
                Some(id) => id,
                None => {
                    let id = format!(
                        "ocid1.compartment.oc1..scenario{i}x{depth}{}",
                        part.to_ascii_lowercase()
                    );
                    identity
                        .create(
                            id.clone(),
                            &parent,
                            part,
                            "scenario compartment",
                            SimTime::ZERO,
                        )
                        .map_err(|e| doc.error(&format!("compartments[{i}]"), e.to_string()))?;
                    identity
                        .activate(&id)
                        .map_err(|e| doc.error(&format!("compartments[{i}]"), e.to_string()))?;
                    id
                }
            };
        }
    }
    let compartment = |field: &str, path: &Option<String>| -> Result<String, ScenarioError> {
        match path.as_deref() {
            None | Some("tenancy") => Ok(TENANCY.to_string()),
            Some(p) => identity
                .lookup_path(p)
                .map(|c| c.id.clone())
                .ok_or_else(|| {
                    doc.error(
                        field,
                        format!("no compartment `{p}` (declare it under `compartments:`)"),
                    )
                }),
        }
    };
    let cluster_id = world
        .oke
        .clusters
        .first()
        .map(|c| c.id.clone())
        .unwrap_or_default();
    build_vaults(doc, &sf.vaults, world, &compartment)?;
    for (i, p) in sf.policies.iter().enumerate() {
        let c = compartment(&format!("policies[{i}].compartment"), &p.compartment)?;
        let statements = p
            .statements
            .iter()
            .map(|s| s.replace("${cluster_id}", &cluster_id))
            .collect();
        world
            .iam
            .create_policy(
                SimTime::ZERO,
                &identity,
                PolicySpec {
                    compartment_id: c,
                    name: p.name.clone(),
                    description: String::new(),
                    statements,
                },
            )
            .map_err(|e| {
                let field = match &e {
                    crate::model::iam::IamError::Parse { index, .. }
                    | crate::model::iam::IamError::Location { index, .. } => {
                        format!("policies[{i}].statements[{}]", index - 1)
                    }
                    _ => format!("policies[{i}]"),
                };
                doc.error(&field, e.to_string())
            })?;
    }
    read_eso_manifests(manifests, world, deployments)?;
    world.wiring.identity = Some(identity);
    world.wiring.cluster_id = cluster_id;
    Ok(())
}

/// Resolves a compartment path written at a field to its OCID.
type CompartmentOf<'a> = dyn Fn(&str, &Option<String>) -> Result<String, ScenarioError> + 'a;

fn build_vaults(
    doc: &Document,
    vaults: &[VaultFile],
    world: &mut World,
    compartment: &CompartmentOf,
) -> Result<(), ScenarioError> {
    // Vaults, keys and secrets exist before the run: no CREATING period.
    let timings = world.vault.timings.clone();
    world.vault.timings = VaultTimings {
        vault_create: SimDuration::ZERO,
        key_change: SimDuration::ZERO,
        secret_create: SimDuration::ZERO,
        secret_update: timings.secret_update,
        deletion_change: timings.deletion_change,
    };
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
    for (vi, v) in vaults.iter().enumerate() {
        let p = format!("vaults[{vi}]");
        if world.vault.vaults().any(|x| x.display_name == v.name) {
            return Err(doc.error(
                &format!("{p}.name"),
                format!("a vault named `{}` already exists", v.name),
            ));
        }
        let c = compartment(&format!("{p}.compartment"), &v.compartment)?;
        let vault_id = world.vault.create_vault(
            SimTime::ZERO,
            VaultSpec {
                compartment_id: c.clone(),
                display_name: v.name.clone(),
                vault_type: VaultType::Default,
                tags: Tags::default(),
            },
        );
        let key_id = world
            .vault
            .create_key(
                SimTime::ZERO,
                KeySpec {
                    compartment_id: c.clone(),
                    vault_id: vault_id.clone(),
                    display_name: format!("{}-key", v.name),
                    shape: KeyShape {
                        algorithm: KeyAlgorithm::Aes,
                        length: 32,
                        curve_id: None,
                    },
                    protection_mode: "SOFTWARE".into(),
                    tags: Tags::default(),
                },
            )
            .map_err(|e| doc.error(&p, e.to_string()))?;
        for (si, s) in v.secrets.iter().enumerate() {
            let sc = match &s.compartment {
                None => c.clone(),
                some => compartment(&format!("{p}.secrets[{si}].compartment"), some)?,
            };
            world
                .vault
                .create_secret(
                    SimTime::ZERO,
                    SecretSpec {
                        compartment_id: sc,
                        vault_id: vault_id.clone(),
                        key_id: key_id.clone(),
                        name: s.name.clone(),
                        description: None,
                        metadata: None,
                        tags: Tags::default(),
                        content: NewContent {
                            content: b64(&s.content),
                            name: None,
                            stage: NewVersionStage::Current,
                        },
                    },
                )
                .map_err(|e| doc.error(&format!("{p}.secrets[{si}]"), e.to_string()))?;
        }
    }
    world.vault.timings = timings;
    Ok(())
}

/// SecretStores and ExternalSecrets among the manifests, and each
/// Deployment's Secret references.
fn read_eso_manifests(
    manifests: &[Document],
    world: &mut World,
    deployments: &BTreeMap<String, DeploymentSpec>,
) -> Result<(), ScenarioError> {
    let mut externals = Vec::new();
    for doc in manifests {
        let Some((api, kind)) = eso_manifest::kind_of(doc) else {
            continue;
        };
        match (api.as_str(), kind.as_str()) {
            (_, "SecretStore") if api.starts_with("external-secrets.io/") => {
                let m = eso_manifest::store(doc)?;
                let vault_id = world
                    .vault
                    .vaults()
                    .find(|v| v.id == m.vault || v.display_name == m.vault)
                    .map(|v| v.id.clone())
                    .ok_or_else(|| {
                        doc.error(
                            "spec.provider.oracle.vault",
                            format!(
                                "no vault `{}` (a vault OCID or the name of one under `vaults:`)",
                                m.vault
                            ),
                        )
                    })?;
                if m.region != world.topology.region.name {
                    return Err(doc.error(
                        "spec.provider.oracle.region",
                        format!(
                            "region `{}`: the scenario's vaults are in {}",
                            m.region, world.topology.region.name
                        ),
                    ));
                }
                if world
                    .wiring
                    .eso
                    .stores
                    .iter()
                    .any(|s| s.name == m.name && s.namespace == m.namespace)
                {
                    return Err(doc.error(
                        "metadata.name",
                        format!("SecretStore {}/{} is defined twice", m.namespace, m.name),
                    ));
                }
                world.wiring.eso.stores.push(SecretStore {
                    name: m.name,
                    namespace: m.namespace,
                    vault_id,
                    region: m.region,
                    auth: m.auth,
                });
            }
            (_, "ExternalSecret") if api.starts_with("external-secrets.io/") => {
                externals.push((doc, eso_manifest::external_secret(doc)?));
            }
            ("apps/v1", "Deployment") => {
                let (ns, name, needs) = eso_manifest::secret_needs(doc)?;
                if deployments.contains_key(&name) && !needs.is_empty() {
                    world.wiring.needs.insert((ns, name), needs);
                }
            }
            _ => {}
        }
    }
    for (doc, es) in externals {
        if !world
            .wiring
            .eso
            .stores
            .iter()
            .any(|s| s.name == es.store && s.namespace == es.namespace)
        {
            return Err(doc.error(
                "spec.secretStoreRef.name",
                format!(
                    "no SecretStore `{}` in namespace `{}`",
                    es.store, es.namespace
                ),
            ));
        }
        if world
            .wiring
            .eso
            .externals
            .iter()
            .any(|(e, _)| e.name == es.name && e.namespace == es.namespace)
        {
            return Err(doc.error(
                "metadata.name",
                format!(
                    "ExternalSecret {}/{} is defined twice",
                    es.namespace, es.name
                ),
            ));
        }
        world.wiring.eso.add(es, SimTime::ZERO);
    }
    Ok(())
}

/// A timeline entry on the wiring's services: its label, action and (for a
/// vault outage with `duration`) the action that ends it. `None` for other kinds.
#[allow(clippy::type_complexity)]
pub fn timeline_action(
    doc: &Document,
    p: &str,
    e: &crate::scenario::file::TimelineEntry,
    world: &World,
) -> Result<Option<(String, Action, Option<(String, Action)>)>, ScenarioError> {
    let vault_id = |field: &str, name: &str| -> Result<String, ScenarioError> {
        world
            .vault
            .vaults()
            .find(|v| v.display_name == name)
            .map(|v| v.id.clone())
            .ok_or_else(|| doc.error(field, format!("no vault named `{name}` under `vaults:`")))
    };
    let secret_id = |field: &str, vault: &str, name: &str| -> Result<String, ScenarioError> {
        let v = vault_id(&format!("{field}.vault"), vault)?;
        world
            .vault
            .secret_by_name(SimTime::ZERO, &v, name)
            .map(|s| s.id.clone())
            .map_err(|_| {
                doc.error(
                    &format!("{field}.secret"),
                    format!("no secret named `{name}` in vault `{vault}`"),
                )
            })
    };
    let wrap = |a: WiringAction| Action::Wiring(Box::new(a));
    if let Some(v) = &e.vault_outage {
        let id = vault_id(&format!("{p}.vault_outage.vault"), &v.vault)?;
        return Ok(Some((
            format!("vault outage: {}", v.vault),
            wrap(WiringAction::VaultAvailable {
                vault_id: id.clone(),
                available: false,
            }),
            Some((
                format!("vault {} answers again", v.vault),
                wrap(WiringAction::VaultAvailable {
                    vault_id: id,
                    available: true,
                }),
            )),
        )));
    }
    if let Some(r) = &e.rotate_secret {
        let id = secret_id(&format!("{p}.rotate_secret"), &r.vault, &r.secret)?;
        let content = base64::engine::general_purpose::STANDARD.encode(r.content.as_bytes());
        return Ok(Some((
            format!("rotate secret {}/{}", r.vault, r.secret),
            wrap(WiringAction::RotateSecret {
                secret_id: id,
                content,
            }),
            None,
        )));
    }
    if let Some(d) = &e.delete_secret {
        let id = secret_id(&format!("{p}.delete_secret"), &d.vault, &d.secret)?;
        return Ok(Some((
            format!("schedule deletion of secret {}/{}", d.vault, d.secret),
            wrap(WiringAction::DeleteSecret { secret_id: id }),
            None,
        )));
    }
    if let Some(s) = &e.set_mysql_password {
        let i = world
            .wiring
            .databases
            .iter()
            .position(|d| d.name == s.db_system)
            .ok_or_else(|| {
                doc.error(
                    &format!("{p}.set_mysql_password.db_system"),
                    format!("no DB system named `{}` under `mysql:`", s.db_system),
                )
            })?;
        mysql::check_password(&s.password)
            .map_err(|x| doc.error(&format!("{p}.set_mysql_password.password"), x.to_string()))?;
        return Ok(Some((
            format!("set the application password of DB system {}", s.db_system),
            wrap(WiringAction::SetDbPassword {
                database: i,
                password: s.password.clone(),
            }),
            None,
        )));
    }
    Ok(None)
}

/// A resolved `external_secret` expectation.
#[derive(Clone, Debug)]
pub struct ExternalSecretCheck {
    /// Index in the controller's list.
    pub index: usize,
    /// Expected Ready status.
    pub ready: bool,
    /// Text the message must contain.
    pub message_contains: Option<String>,
}

/// Resolves an `external_secret` expectation.
pub fn external_secret_expectation(
    doc: &Document,
    path: &str,
    x: &super::wiring_file::ExternalSecretExpectFile,
    world: &World,
) -> Result<(String, ExternalSecretCheck), ScenarioError> {
    let ns = x.namespace.clone().unwrap_or_else(|| "default".into());
    let index = world
        .wiring
        .eso
        .externals
        .iter()
        .position(|(e, _)| e.name == x.name && e.namespace == ns)
        .ok_or_else(|| {
            doc.error(
                &format!("{path}.name"),
                format!("no ExternalSecret {ns}/{} among the manifests", x.name),
            )
        })?;
    let label = format!(
        "external_secret {ns}/{} Ready={}{}",
        x.name,
        if x.ready { "True" } else { "False" },
        x.message_contains
            .as_ref()
            .map(|m| format!(" (message contains `{m}`)"))
            .unwrap_or_default()
    );
    Ok((
        label,
        ExternalSecretCheck {
            index,
            ready: x.ready,
            message_contains: x.message_contains.clone(),
        },
    ))
}

/// Checks an `external_secret` expectation at the end of the run.
pub fn check_external_secret(w: &World, c: &ExternalSecretCheck) -> (bool, String) {
    let st = &w.wiring.eso.externals[c.index].1;
    let ok = st.ready == Some(c.ready)
        && c.message_contains
            .as_ref()
            .is_none_or(|m| st.message.contains(m.as_str()));
    let cond = match st.ready {
        None => "not reconciled".to_string(),
        Some(r) => format!("Ready={} {}", if r { "True" } else { "False" }, st.reason),
    };
    (ok, format!("{cond}: {}", st.message))
}
