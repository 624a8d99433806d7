//! The reference architecture's wiring in scenarios: resolving the endpoints
//! of `reachable` checks against the built world, and the report's wiring
//! section (each reachability verdict with the rule that decided it).

use std::fmt::Write;
use std::net::Ipv4Addr;

use serde::Serialize;

use std::collections::BTreeMap;

use super::source::{Document, ScenarioError};
use super::wiring_file::{EndpointFile, MysqlSectionFile, ReachableFile};
use crate::kernel::{SimDuration, SimTime};
use crate::model::mysql::{self, CreateDbSystem, Mysql, MysqlConfig};
use crate::model::reachability::{Endpoint, Flow, Protocol, Reachability};
use crate::model::topology::FaultDomain;
use crate::sim::World;
use crate::sim::wiring::{Database, DbClient};
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
        self.reachability.is_empty() && self.databases.is_empty()
    }

    /// Appends the section's text.
    pub fn render(&self, o: &mut String) {
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
            clients,
            outages: Vec::new(),
        });
    }
    Ok(())
}
