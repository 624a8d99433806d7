//! Reachability: whether one flow (source, destination, protocol, port) gets
//! through a VCN's routing and virtual firewalls, and which rule decided it.
//!
//! Evaluated over the [`Network`] model, in the order a packet meets them
//! (OCI Networking docs "Security Rules", "Route Tables", "Service Gateway",
//! "NAT Gateway", "Internet Gateway"; domain.md §2, §3.4):
//!
//! 1. **Route.** Subnets of one VCN reach each other through the VCN's local
//!    routing, which needs no rule. Anything else leaves through the source
//!    subnet's route table: the most specific matching rule picks a gateway.
//!    An internet gateway only serves public subnets; a NAT gateway only carries
//!    connections opened from inside; a service gateway only reaches the Oracle
//!    Services Network (OSN). A connection opened from the internet needs an
//!    internet gateway, a public destination subnet and a route back to it.
//! 2. **Egress** at the source VNIC: the union of its subnet's security lists and
//!    its NSGs; one matching egress rule is enough.
//! 3. **Ingress** at the destination VNIC, the same way.
//! 4. **Return.** A stateful rule's connection tracking admits the response; a
//!    stateless one needs a rule for the response in the other direction.
//!
//! The verdict names the rule (or route) that let the flow through at each
//! step, or what was missing at the step that stopped it. This module decides
//! and never mutates; it knows no file format.

use std::fmt;

use super::cidr::Ipv4Cidr;
use super::network::{Direction, GatewayKind, Network, SecurityRule, SubnetId};

/// The client's ephemeral ports a response goes back to (Linux's default
/// `ip_local_port_range`); a stateless rule for return traffic must cover them.
/// An assumption (README): OCI's docs do not fix the client's port range.
pub const EPHEMERAL_PORTS: (u16, u16) = (32768, 60999);

/// One end of a flow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// A VNIC (a pod, a load balancer, a DB system) in a subnet, member of `nsgs`.
    Vnic {
        /// Its subnet; rules match the whole subnet CIDR.
        subnet: SubnetId,
        /// NSG names the VNIC belongs to.
        nsgs: Vec<String>,
        /// What it is, for the report (`pods of app`, `MySQL app-db`).
        label: String,
    },
    /// An address on the public internet.
    Internet(u32),
    /// The Oracle Services Network of the region (Vault, Object Storage, ...).
    OracleServices,
}

/// The IP protocol of a flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// TCP (6).
    Tcp,
    /// UDP (17).
    Udp,
    /// ICMP (1).
    Icmp,
}

impl Protocol {
    /// Reads `tcp`, `udp` or `icmp` (any case).
    pub fn parse(s: &str) -> Option<Protocol> {
        match s.to_ascii_lowercase().as_str() {
            "tcp" | "6" => Some(Protocol::Tcp),
            "udp" | "17" => Some(Protocol::Udp),
            "icmp" | "1" => Some(Protocol::Icmp),
            _ => None,
        }
    }

    /// The IANA protocol number.
    pub fn number(self) -> u8 {
        match self {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
            Protocol::Icmp => 1,
        }
    }

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Icmp => "icmp",
        }
    }
}

/// A flow to evaluate: the first packet goes `from` → `to`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flow {
    /// Who opens the connection.
    pub from: Endpoint,
    /// Who it is opened to.
    pub to: Endpoint,
    /// Protocol.
    pub protocol: Protocol,
    /// Destination port (TCP/UDP); `None` for ICMP.
    pub port: Option<u16>,
}

/// The checks a flow passes through, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// Routing from the source to the destination.
    Route,
    /// Egress rules at the source VNIC.
    Egress,
    /// Ingress rules at the destination VNIC.
    Ingress,
    /// The response back to the source.
    Return,
}

impl Check {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Check::Route => "route",
            Check::Egress => "egress",
            Check::Ingress => "ingress",
            Check::Return => "return",
        }
    }
}

/// The outcome of one check: what let the flow through, or what was missing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// Which check.
    pub check: Check,
    /// Passed or not.
    pub passed: bool,
    /// The rule or route that decided, in words.
    pub detail: String,
}

/// The verdict on a flow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// True when the flow and its response get through.
    pub allowed: bool,
    /// The checks made, up to the first that failed.
    pub steps: Vec<Step>,
}

impl Verdict {
    /// The step that denied the flow, if any.
    pub fn denied_by(&self) -> Option<&Step> {
        self.steps.iter().find(|s| !s.passed)
    }
}

impl fmt::Display for Verdict {
    /// One line: the step that denied the flow, or the rule that admitted it at
    /// the destination (the route, when the destination is outside the VCN).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(s) = self.denied_by() {
            return write!(f, "denied at {}: {}", s.check.name(), s.detail);
        }
        let decisive = self
            .steps
            .iter()
            .find(|s| s.check == Check::Ingress && !s.detail.starts_with("outside"))
            .or_else(|| self.steps.iter().find(|s| s.check == Check::Route));
        match decisive {
            Some(s) => write!(f, "allowed by {}", s.detail),
            None => write!(f, "allowed"),
        }
    }
}

/// The networking state and the region it is in (for service CIDR labels).
pub struct Reachability<'a> {
    /// The network.
    pub network: &'a Network,
    /// The region key in lower case, e.g. `ams`.
    pub region_key: String,
}

/// A rule found to match, with where it lives.
struct RuleMatch {
    detail: String,
    stateless: bool,
}

impl<'a> Reachability<'a> {
    /// Evaluates over `network` in the region with key `region_key` (any case).
    pub fn new(network: &'a Network, region_key: &str) -> Self {
        Reachability {
            network,
            region_key: region_key.to_ascii_lowercase(),
        }
    }

    /// The service CIDR label covering every OCI service of the region.
    pub fn all_services_label(&self) -> String {
        format!(
            "all-{}-services-in-oracle-services-network",
            self.region_key
        )
    }

    /// Evaluates a flow: route, egress, ingress, return; stops at the first failure.
    pub fn evaluate(&self, flow: &Flow) -> Verdict {
        let mut steps = Vec::new();
        let checks: [&dyn Fn() -> Result<String, String>; 4] = [
            &|| self.route(flow),
            &|| self.egress(flow).map(|m| m.detail),
            &|| self.ingress(flow).map(|m| m.detail),
            &|| self.response(flow),
        ];
        let kinds = [Check::Route, Check::Egress, Check::Ingress, Check::Return];
        for (check, run) in kinds.into_iter().zip(checks) {
            let (passed, detail) = match run() {
                Ok(d) => (true, d),
                Err(d) => (false, d),
            };
            steps.push(Step {
                check,
                passed,
                detail,
            });
            if !passed {
                return Verdict {
                    allowed: false,
                    steps,
                };
            }
        }
        Verdict {
            allowed: true,
            steps,
        }
    }

    // ----- routing --------------------------------------------------------

    fn route(&self, flow: &Flow) -> Result<String, String> {
        let net = self.network;
        match (&flow.from, &flow.to) {
            (Endpoint::Vnic { subnet: s, .. }, Endpoint::Vnic { subnet: d, .. }) => {
                let (s, d) = (net.subnet(*s), net.subnet(*d));
                if s.vcn == d.vcn {
                    Ok(format!(
                        "VCN local routing ({} → {}, no rule needed)",
                        s.name, d.name
                    ))
                } else {
                    Err(format!(
                        "no route: subnets {} and {} are in different VCNs and no peering is modelled",
                        s.name, d.name
                    ))
                }
            }
            (Endpoint::Vnic { subnet, .. }, Endpoint::Internet(ip)) => {
                self.route_out(*subnet, &Destination::Internet(*ip))
            }
            (Endpoint::Vnic { subnet, .. }, Endpoint::OracleServices) => {
                self.route_out(*subnet, &Destination::Services)
            }
            (Endpoint::Internet(ip), Endpoint::Vnic { subnet, .. }) => self.route_in(*ip, *subnet),
            (Endpoint::OracleServices, Endpoint::Vnic { .. }) => Err(
                "the Oracle Services Network does not open connections into a VCN (a service gateway only carries connections opened from the VCN)"
                    .into(),
            ),
            _ => Err("no VCN on either end: the twin only evaluates flows that start or end in a VCN".into()),
        }
    }

    /// The route out of `subnet` toward `dest`: the most specific matching rule.
    fn route_out(&self, subnet: SubnetId, dest: &Destination) -> Result<String, String> {
        let net = self.network;
        let s = net.subnet(subnet);
        let Some(rt_name) = &s.route_table else {
            return Err(format!(
                "no route: subnet {} has no route table, so only the VCN is reachable",
                s.name
            ));
        };
        let rt = net
            .route_tables
            .iter()
            .find(|r| r.vcn == s.vcn && &r.name == rt_name)
            .expect("a subnet's route table exists (checked at creation)");
        // Specificity: a service label beats any CIDR (it is narrower than 0.0.0.0/0
        // and the twin knows no narrower OSN ranges); among CIDRs, the longest prefix.
        let mut best: Option<(u8, usize)> = None;
        for (i, rule) in rt.rules.iter().enumerate() {
            let specificity = match (dest, rule.destination.parse::<Ipv4Cidr>()) {
                (Destination::Internet(ip), Ok(c)) if c.contains(*ip) => Some(c.prefix()),
                (Destination::Services, Ok(c)) if c.prefix() == 0 => Some(0),
                (Destination::Services, Err(_)) if self.is_services_label(&rule.destination) => {
                    Some(33)
                }
                _ => None,
            };
            if let Some(p) = specificity
                && best.is_none_or(|(bp, _)| p > bp)
            {
                best = Some((p, i));
            }
        }
        let Some((_, i)) = best else {
            return Err(format!(
                "no route: route table {} has no rule for {}",
                rt.name,
                dest.describe(self)
            ));
        };
        let rule = &rt.rules[i];
        let gw = net
            .gateways
            .iter()
            .find(|g| g.vcn == s.vcn && g.name == rule.target)
            .expect("route targets exist (checked at creation)");
        let via = format!(
            "route table {} rule {} ({} → {} {})",
            rt.name,
            i + 1,
            rule.destination,
            gw.kind.label(),
            gw.name
        );
        match (gw.kind, dest) {
            (GatewayKind::Internet, _) if s.prohibit_public_ip => Err(format!(
                "{via}: subnet {} is private, its VNICs have no public IP, so the internet gateway drops the traffic",
                s.name
            )),
            (GatewayKind::Service, Destination::Internet(_)) => Err(format!(
                "{via}: a service gateway only reaches the Oracle Services Network"
            )),
            _ => Ok(via),
        }
    }

    /// A connection opened from the internet to a VNIC in `subnet`.
    fn route_in(&self, ip: u32, subnet: SubnetId) -> Result<String, String> {
        let net = self.network;
        let s = net.subnet(subnet);
        let Some(igw) = net
            .gateways
            .iter()
            .find(|g| g.vcn == s.vcn && g.kind == GatewayKind::Internet)
        else {
            return Err(format!(
                "no route: the VCN of subnet {} has no internet gateway",
                s.name
            ));
        };
        if s.prohibit_public_ip {
            return Err(format!(
                "no route: subnet {} is private (no public IPs); the internet cannot open connections to it, and a NAT gateway only carries connections opened from inside",
                s.name
            ));
        }
        // The response must route back to the internet gateway.
        match self.route_out(subnet, &Destination::Internet(ip)) {
            Ok(back) if back.contains(&format!("internet gateway {}", igw.name)) => Ok(format!(
                "internet gateway {} into public subnet {}; response via {back}",
                igw.name, s.name
            )),
            Ok(back) => Err(format!(
                "no route back: the response leaves by {back}, not the internet gateway"
            )),
            Err(e) => Err(format!("no route back to the internet: {e}")),
        }
    }

    fn is_services_label(&self, s: &str) -> bool {
        s.eq_ignore_ascii_case(&self.all_services_label())
    }

    // ----- security rules -------------------------------------------------

    /// The first egress rule at the source admitting the flow.
    fn egress(&self, flow: &Flow) -> Result<RuleMatch, String> {
        let Endpoint::Vnic { .. } = &flow.from else {
            return Ok(RuleMatch {
                detail: "outside the VCN: no security rules at the source".into(),
                stateless: false,
            });
        };
        self.find_rule(
            &flow.from,
            Direction::Egress,
            &flow.to,
            flow.protocol,
            flow.port.map(|p| (p, p)),
        )
    }

    /// The first ingress rule at the destination admitting the flow.
    fn ingress(&self, flow: &Flow) -> Result<RuleMatch, String> {
        let Endpoint::Vnic { .. } = &flow.to else {
            return Ok(RuleMatch {
                detail: "outside the VCN: no security rules at the destination".into(),
                stateless: false,
            });
        };
        self.find_rule(
            &flow.to,
            Direction::Ingress,
            &flow.from,
            flow.protocol,
            flow.port.map(|p| (p, p)),
        )
    }

    /// The response: connection tracking of a stateful rule at each VNIC end, or
    /// stateless rules for the reverse direction.
    fn response(&self, flow: &Flow) -> Result<String, String> {
        let mut parts = Vec::new();
        let ports = match flow.protocol {
            Protocol::Icmp => None,
            _ => Some(EPHEMERAL_PORTS),
        };
        // At the destination: the ingress rules' state, or an egress rule back.
        if let Endpoint::Vnic { .. } = &flow.to {
            parts.push(self.one_end_response(
                &flow.to,
                Direction::Ingress,
                Direction::Egress,
                &flow.from,
                flow,
                ports,
            )?);
        }
        if let Endpoint::Vnic { .. } = &flow.from {
            parts.push(self.one_end_response(
                &flow.from,
                Direction::Egress,
                Direction::Ingress,
                &flow.to,
                flow,
                ports,
            )?);
        }
        Ok(parts.join("; "))
    }

    fn one_end_response(
        &self,
        at: &Endpoint,
        forward: Direction,
        back: Direction,
        peer: &Endpoint,
        flow: &Flow,
        ports: Option<(u16, u16)>,
    ) -> Result<String, String> {
        let port = flow.port.map(|p| (p, p));
        let tracked = self
            .matching_rules(at, forward, peer, flow.protocol, port)
            .into_iter()
            .find(|m| !m.stateless);
        if let Some(m) = tracked {
            let rule = m.detail.split(" (").next().unwrap_or(&m.detail).to_string();
            return Ok(format!("{rule} tracks the connection"));
        }
        self.find_rule(at, back, peer, flow.protocol, ports)
            .map(|m| format!("{} admits the response (stateless)", m.detail))
            .map_err(|e| {
                format!(
                    "the {} rule is stateless, so the response needs its own rule: {e}",
                    dir_name(forward)
                )
            })
    }

    /// The first rule of `at`'s security lists and NSGs admitting traffic in
    /// `dir` with `peer`; the error lists what was looked at.
    fn find_rule(
        &self,
        at: &Endpoint,
        dir: Direction,
        peer: &Endpoint,
        protocol: Protocol,
        ports: Option<(u16, u16)>,
    ) -> Result<RuleMatch, String> {
        let mut found = self.matching_rules(at, dir, peer, protocol, ports);
        if !found.is_empty() {
            // Prefer a stateful rule: it is the one that also admits the response.
            let i = found.iter().position(|m| !m.stateless).unwrap_or(0);
            return Ok(found.swap_remove(i));
        }
        let groups = self.groups_of(at);
        let names: Vec<String> = groups
            .iter()
            .map(|(kind, name, _)| format!("{kind} {name}"))
            .collect();
        let what = match ports {
            Some((a, b)) if a == b => format!("{} {a}", protocol.name()),
            Some((a, b)) => format!("{} {a}-{b}", protocol.name()),
            None => protocol.name().to_string(),
        };
        let groups = if names.is_empty() {
            "(no security list or NSG applies)".to_string()
        } else {
            format!("in {}", names.join(", "))
        };
        let prep = match dir {
            Direction::Ingress => "from",
            Direction::Egress => "to",
        };
        Err(format!(
            "no {} rule {groups} admits {what} {prep} {}",
            dir_name(dir),
            peer_name(self.network, peer),
        ))
    }

    /// Every rule of `at`'s groups that admits the traffic.
    fn matching_rules(
        &self,
        at: &Endpoint,
        dir: Direction,
        peer: &Endpoint,
        protocol: Protocol,
        ports: Option<(u16, u16)>,
    ) -> Vec<RuleMatch> {
        let mut out = Vec::new();
        for (kind, name, rules) in self.groups_of(at) {
            let mut n = 0;
            for r in rules.iter().filter(|r| r.direction == dir) {
                n += 1;
                if self.peer_matches(&r.peer, peer)
                    && protocol_matches(&r.protocol, protocol)
                    && ports_cover(r, protocol, ports)
                {
                    out.push(RuleMatch {
                        detail: format!(
                            "{kind} {name} {} rule {n} ({})",
                            dir_name(dir),
                            describe_rule(r)
                        ),
                        stateless: r.stateless,
                    });
                }
            }
        }
        out
    }

    /// The security lists of the endpoint's subnet, then its NSGs.
    fn groups_of(&self, at: &Endpoint) -> Vec<(&'static str, &'a str, &'a [SecurityRule])> {
        let net: &'a Network = self.network;
        let Endpoint::Vnic { subnet, nsgs, .. } = at else {
            return Vec::new();
        };
        let s = net.subnet(*subnet);
        let mut out = Vec::new();
        for name in &s.security_lists {
            if let Some(sl) = net
                .security_lists
                .iter()
                .find(|x| x.vcn == s.vcn && &x.name == name)
            {
                out.push(("security list", sl.name.as_str(), sl.rules.as_slice()));
            }
        }
        for name in nsgs {
            if let Some(g) = net.nsgs.iter().find(|x| x.vcn == s.vcn && &x.name == name) {
                out.push(("NSG", g.name.as_str(), g.rules.as_slice()));
            }
        }
        out
    }

    /// Whether a rule's source/destination names `peer`: a CIDR holding all of
    /// its addresses, the region's service label, or an NSG it belongs to.
    fn peer_matches(&self, rule_peer: &str, peer: &Endpoint) -> bool {
        if let Ok(c) = rule_peer.parse::<Ipv4Cidr>() {
            return match peer {
                Endpoint::Vnic { subnet, .. } => {
                    c.contains_block(&self.network.subnet(*subnet).cidr)
                }
                Endpoint::Internet(ip) => c.contains(*ip),
                // The twin knows no OSN ranges narrower than the whole address space.
                Endpoint::OracleServices => c.prefix() == 0,
            };
        }
        match peer {
            Endpoint::OracleServices => self.is_services_label(rule_peer),
            Endpoint::Vnic { nsgs, .. } => nsgs.iter().any(|n| n == rule_peer),
            Endpoint::Internet(_) => false,
        }
    }
}

/// Where a packet leaving a subnet goes.
enum Destination {
    Internet(u32),
    Services,
}

impl Destination {
    fn describe(&self, r: &Reachability) -> String {
        match self {
            Destination::Internet(ip) => super::network::ip_string(*ip),
            Destination::Services => format!(
                "the Oracle Services Network ({} or 0.0.0.0/0)",
                r.all_services_label()
            ),
        }
    }
}

fn dir_name(d: Direction) -> &'static str {
    match d {
        Direction::Ingress => "ingress",
        Direction::Egress => "egress",
    }
}

fn protocol_matches(rule: &str, p: Protocol) -> bool {
    rule.eq_ignore_ascii_case("all")
        || Protocol::parse(rule) == Some(p)
        || rule.parse::<u8>() == Ok(p.number())
}

/// A rule without ports covers every port; ICMP flows carry no port.
fn ports_cover(r: &SecurityRule, p: Protocol, ports: Option<(u16, u16)>) -> bool {
    match (r.ports, ports) {
        (None, _) => true,
        (Some(_), _) if p == Protocol::Icmp => false,
        (Some(_), None) => false,
        (Some((a, b)), Some((lo, hi))) => a <= lo && hi <= b,
    }
}

/// A rule in words: `10.0.32.0/19 tcp 3306, stateful`.
pub fn describe_rule(r: &SecurityRule) -> String {
    let ports = match r.ports {
        Some((a, b)) if a == b => format!(" {a}"),
        Some((a, b)) => format!(" {a}-{b}"),
        None => String::new(),
    };
    let prep = match r.direction {
        Direction::Ingress => "from",
        Direction::Egress => "to",
    };
    format!(
        "{prep} {} {}{ports}, {}",
        r.peer,
        r.protocol,
        if r.stateless { "stateless" } else { "stateful" }
    )
}

/// An endpoint in words for messages.
pub fn peer_name(net: &Network, e: &Endpoint) -> String {
    match e {
        Endpoint::Vnic { subnet, label, .. } => {
            let s = net.subnet(*subnet);
            format!("{label} (subnet {} {})", s.name, s.cidr)
        }
        Endpoint::Internet(ip) => format!("the internet ({})", super::network::ip_string(*ip)),
        Endpoint::OracleServices => "the Oracle Services Network".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::network::{NetworkLimits, RouteRule, SubnetSpec};

    fn rule(dir: Direction, peer: &str, proto: &str, ports: Option<(u16, u16)>) -> SecurityRule {
        SecurityRule {
            direction: dir,
            peer: peer.into(),
            protocol: proto.into(),
            ports,
            stateless: false,
        }
    }

    /// The reference architecture's VCN (scenarios/reference-architecture.yaml).
    fn reference() -> (Network, [SubnetId; 3]) {
        use Direction::*;
        let mut n = Network::new(NetworkLimits::default());
        let v = n
            .create_vcn("v".into(), "vcn", vec!["10.0.0.0/16".parse().unwrap()])
            .unwrap();
        for (name, kind) in [
            ("igw", GatewayKind::Internet),
            ("nat", GatewayKind::Nat),
            ("sgw", GatewayKind::Service),
        ] {
            n.create_gateway(v, name.into(), name, kind).unwrap();
        }
        let r = |d: &str, t: &str| RouteRule {
            destination: d.into(),
            target: t.into(),
        };
        n.create_route_table(v, "r".into(), "public-rt", vec![r("0.0.0.0/0", "igw")])
            .unwrap();
        n.create_route_table(
            v,
            "r".into(),
            "private-rt",
            vec![
                r("0.0.0.0/0", "nat"),
                r("all-ams-services-in-oracle-services-network", "sgw"),
            ],
        )
        .unwrap();
        let lists = [
            (
                "pods-sl",
                vec![
                    rule(Ingress, "10.0.0.0/16", "all", None),
                    rule(Egress, "0.0.0.0/0", "all", None),
                ],
            ),
            (
                "lb-sl",
                vec![
                    rule(Ingress, "0.0.0.0/0", "tcp", Some((443, 443))),
                    rule(Egress, "10.0.32.0/19", "tcp", Some((30000, 32767))),
                ],
            ),
            (
                "db-sl",
                vec![rule(Ingress, "10.0.32.0/19", "tcp", Some((3306, 3306)))],
            ),
        ];
        for (name, rules) in lists {
            n.create_security_list(v, name.into(), name, rules);
        }
        n.create_nsg(
            v,
            "n".into(),
            "mysql",
            vec![rule(Ingress, "app-pods", "tcp", Some((3306, 3306)))],
        );
        let mut sub = |name: &str, cidr: &str, public: bool, rt: &str, sl: &str| {
            n.create_subnet(
                v,
                name.into(),
                SubnetSpec {
                    name: name.into(),
                    cidr: cidr.parse().unwrap(),
                    availability_domain: None,
                    prohibit_public_ip: !public,
                    route_table: Some(rt.into()),
                    security_lists: vec![sl.into()],
                },
            )
            .unwrap()
        };
        let lb = sub("lb", "10.0.1.0/24", true, "public-rt", "lb-sl");
        let db = sub("db", "10.0.2.0/24", false, "private-rt", "db-sl");
        let pods = sub("pods", "10.0.32.0/19", false, "private-rt", "pods-sl");
        (n, [lb, db, pods])
    }

    fn vnic(subnet: SubnetId, nsgs: &[&str]) -> Endpoint {
        Endpoint::Vnic {
            subnet,
            nsgs: nsgs.iter().map(|s| s.to_string()).collect(),
            label: "x".into(),
        }
    }

    fn tcp(from: Endpoint, to: Endpoint, port: u16) -> Flow {
        Flow {
            from,
            to,
            protocol: Protocol::Tcp,
            port: Some(port),
        }
    }

    const INTERNET: Endpoint = Endpoint::Internet(0xCB00_710A); // 203.0.113.10

    #[test]
    fn pods_reach_mysql_on_3306_by_the_security_list() {
        let (n, [_, db, pods]) = reference();
        let r = Reachability::new(&n, "AMS");
        let v = r.evaluate(&tcp(vnic(pods, &["app-pods"]), vnic(db, &["mysql"]), 3306));
        assert!(v.allowed, "{v}");
        assert!(v.steps[0].detail.contains("VCN local routing"));
        assert!(
            v.steps[1]
                .detail
                .contains("security list pods-sl egress rule 1")
        );
        assert!(
            v.steps[2]
                .detail
                .contains("security list db-sl ingress rule 1")
        );
        assert!(v.steps[3].detail.contains("tracks the connection"));
        // 3307 is not open anywhere.
        let v = r.evaluate(&tcp(vnic(pods, &["app-pods"]), vnic(db, &["mysql"]), 3307));
        let d = v.denied_by().unwrap();
        assert_eq!(d.check, Check::Ingress);
        assert!(
            d.detail.contains("security list db-sl, NSG mysql"),
            "{}",
            d.detail
        );
    }

    #[test]
    fn nsg_rule_naming_an_nsg_admits_only_its_members() {
        let (mut n, [_, db, pods]) = reference();
        n.security_lists[2].rules.clear(); // db-sl no longer opens 3306
        let r = Reachability::new(&n, "ams");
        let v = r.evaluate(&tcp(vnic(pods, &["app-pods"]), vnic(db, &["mysql"]), 3306));
        assert!(v.allowed, "{v}");
        assert!(
            v.steps[2]
                .detail
                .contains("NSG mysql ingress rule 1 (from app-pods tcp 3306")
        );
        let v = r.evaluate(&tcp(vnic(pods, &[]), vnic(db, &["mysql"]), 3306));
        assert_eq!(v.denied_by().unwrap().check, Check::Ingress);
    }

    #[test]
    fn internet_reaches_the_lb_but_not_the_pods() {
        let (n, [lb, _, pods]) = reference();
        let r = Reachability::new(&n, "ams");
        let v = r.evaluate(&tcp(INTERNET, vnic(lb, &[]), 443));
        assert!(v.allowed, "{v}");
        assert!(v.steps[0].detail.contains("internet gateway igw"));
        let v = r.evaluate(&tcp(INTERNET, vnic(pods, &[]), 8080));
        let d = v.denied_by().unwrap();
        assert_eq!(d.check, Check::Route);
        assert!(d.detail.contains("private"), "{}", d.detail);
        let v = r.evaluate(&tcp(INTERNET, vnic(lb, &[]), 80));
        assert_eq!(v.denied_by().unwrap().check, Check::Ingress);
    }

    #[test]
    fn pods_reach_vault_through_the_service_gateway_and_internet_through_nat() {
        let (n, [lb, _, pods]) = reference();
        let r = Reachability::new(&n, "ams");
        let v = r.evaluate(&tcp(vnic(pods, &[]), Endpoint::OracleServices, 443));
        assert!(v.allowed, "{v}");
        assert!(v.steps[0].detail.contains("service gateway sgw"), "{v}");
        let v = r.evaluate(&tcp(vnic(pods, &[]), INTERNET, 443));
        assert!(v.allowed, "{v}");
        assert!(v.steps[0].detail.contains("NAT gateway nat"), "{v}");
        // The LB's security list has no egress to the internet.
        let v = r.evaluate(&tcp(vnic(lb, &[]), INTERNET, 443));
        assert_eq!(v.denied_by().unwrap().check, Check::Egress);
        // Another region's label does not match.
        let r = Reachability::new(&n, "phx");
        let v = r.evaluate(&tcp(vnic(pods, &[]), Endpoint::OracleServices, 443));
        assert!(v.steps[0].detail.contains("NAT gateway"), "{v}");
    }

    #[test]
    fn stateless_rules_need_a_rule_for_the_response() {
        let (mut n, [_, db, pods]) = reference();
        n.security_lists[2].rules[0].stateless = true;
        let r = Reachability::new(&n, "ams");
        let flow = tcp(vnic(pods, &[]), vnic(db, &[]), 3306);
        let v = r.evaluate(&flow);
        let d = v.denied_by().unwrap();
        assert_eq!(d.check, Check::Return, "{v}");
        assert!(d.detail.contains("stateless"), "{}", d.detail);
        n.security_lists[2].rules.push(SecurityRule {
            stateless: true,
            ..rule(Direction::Egress, "10.0.32.0/19", "tcp", None)
        });
        let r = Reachability::new(&n, "ams");
        let v = r.evaluate(&flow);
        assert!(v.allowed, "{v}");
        assert!(
            v.steps[3]
                .detail
                .contains("admits the response (stateless)")
        );
    }

    #[test]
    fn a_private_subnet_cannot_use_the_internet_gateway() {
        let (mut n, [_, _, pods]) = reference();
        n.subnets[pods.0 as usize].route_table = Some("public-rt".into());
        let r = Reachability::new(&n, "ams");
        let v = r.evaluate(&tcp(vnic(pods, &[]), INTERNET, 443));
        let d = v.denied_by().unwrap();
        assert_eq!(d.check, Check::Route);
        assert!(d.detail.contains("drops"), "{}", d.detail);
    }
}
