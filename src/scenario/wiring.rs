//! The reference architecture's wiring in scenarios: resolving the endpoints
//! of `reachable` checks against the built world, and the report's wiring
//! section (each reachability verdict with the rule that decided it).

use std::fmt::Write;
use std::net::Ipv4Addr;

use serde::Serialize;

use super::source::{Document, ScenarioError};
use super::wiring_file::{EndpointFile, ReachableFile};
use crate::model::reachability::{Endpoint, Flow, Protocol, Reachability};
use crate::sim::World;

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
}

impl WiringReport {
    /// True when there is nothing to show (the section is then left out).
    pub fn is_empty(&self) -> bool {
        self.reachability.is_empty()
    }

    /// Appends the section's text.
    pub fn render(&self, o: &mut String) {
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
