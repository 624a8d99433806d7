//! Property tests of the reachability evaluator: removing a security rule
//! never opens a path, and a stateful rule admits the response without any
//! rule for the reverse direction (while a stateless one does not).

use proptest::prelude::*;

use ocisim::model::network::{
    Direction, GatewayKind, Network, NetworkLimits, RouteRule, SecurityRule, SubnetId, SubnetSpec,
};
use ocisim::model::reachability::{Check, Endpoint, Flow, Protocol, Reachability};

const PEERS: [&str; 8] = [
    "0.0.0.0/0",
    "10.0.0.0/16",
    "10.0.0.0/24",
    "10.0.1.0/24",
    "10.0.2.0/24",
    "all-ams-services-in-oracle-services-network",
    "nsg-a",
    "nsg-b",
];
const PROTOCOLS: [&str; 4] = ["all", "tcp", "udp", "icmp"];
const PORTS: [Option<(u16, u16)>; 4] =
    [None, Some((443, 443)), Some((3306, 3306)), Some((1, 65535))];

fn rule() -> impl Strategy<Value = SecurityRule> {
    (
        any::<bool>(),
        0..PEERS.len(),
        0..PROTOCOLS.len(),
        0..PORTS.len(),
        any::<bool>(),
    )
        .prop_map(|(ingress, peer, proto, ports, stateless)| SecurityRule {
            direction: if ingress {
                Direction::Ingress
            } else {
                Direction::Egress
            },
            peer: PEERS[peer].into(),
            protocol: PROTOCOLS[proto].into(),
            ports: PORTS[ports],
            stateless,
        })
}

/// Rules of three security lists (one per subnet) and two NSGs, the route
/// rules of the shared route table, and which subnets are public.
#[derive(Clone, Debug)]
struct Shape {
    lists: [Vec<SecurityRule>; 3],
    nsgs: [Vec<SecurityRule>; 2],
    routes: Vec<(usize, usize)>,
    public: [bool; 3],
}

const ROUTE_DESTS: [&str; 3] = [
    "0.0.0.0/0",
    "203.0.113.0/24",
    "all-ams-services-in-oracle-services-network",
];
const GATEWAYS: [&str; 3] = ["igw", "nat", "sgw"];

fn shape() -> impl Strategy<Value = Shape> {
    let list = || prop::collection::vec(rule(), 0..5);
    (
        [list(), list(), list()],
        [list(), list()],
        prop::collection::vec((0..3usize, 0..3usize), 0..4),
        any::<[bool; 3]>(),
    )
        .prop_map(|(lists, nsgs, routes, public)| Shape {
            lists,
            nsgs,
            routes,
            public,
        })
}

fn build(s: &Shape) -> (Network, Vec<SubnetId>) {
    let mut n = Network::new(NetworkLimits::default());
    let v = n
        .create_vcn("v".into(), "vcn", vec!["10.0.0.0/16".parse().unwrap()])
        .unwrap();
    for (name, kind) in GATEWAYS.iter().zip([
        GatewayKind::Internet,
        GatewayKind::Nat,
        GatewayKind::Service,
    ]) {
        n.create_gateway(v, name.to_string(), name, kind).unwrap();
    }
    let routes = s
        .routes
        .iter()
        .map(|(d, g)| RouteRule {
            destination: ROUTE_DESTS[*d].into(),
            target: GATEWAYS[*g].into(),
        })
        .collect();
    n.create_route_table(v, "rt".into(), "rt", routes).unwrap();
    for (i, rules) in s.lists.iter().enumerate() {
        n.create_security_list(v, format!("sl{i}"), &format!("sl{i}"), rules.clone());
    }
    for (i, rules) in s.nsgs.iter().enumerate() {
        let name = ["nsg-a", "nsg-b"][i];
        n.create_nsg(v, name.into(), name, rules.clone());
    }
    let subnets = (0..3)
        .map(|i| {
            n.create_subnet(
                v,
                format!("s{i}"),
                SubnetSpec {
                    name: format!("s{i}"),
                    cidr: format!("10.0.{i}.0/24").parse().unwrap(),
                    availability_domain: None,
                    prohibit_public_ip: !s.public[i],
                    route_table: Some("rt".into()),
                    security_lists: vec![format!("sl{i}")],
                },
            )
            .unwrap()
        })
        .collect();
    (n, subnets)
}

#[derive(Clone, Debug)]
enum End {
    Vnic(usize, [bool; 2]),
    Internet,
    Services,
}

fn end() -> impl Strategy<Value = End> {
    prop_oneof![
        3 => (0..3usize, any::<[bool; 2]>()).prop_map(|(s, n)| End::Vnic(s, n)),
        1 => Just(End::Internet),
        1 => Just(End::Services),
    ]
}

fn endpoint(e: &End, subnets: &[SubnetId]) -> Endpoint {
    match e {
        End::Vnic(s, member) => Endpoint::Vnic {
            subnet: subnets[*s],
            nsgs: ["nsg-a", "nsg-b"]
                .iter()
                .zip(member)
                .filter(|(_, m)| **m)
                .map(|(n, _)| n.to_string())
                .collect(),
            label: format!("vnic in s{s}"),
        },
        End::Internet => Endpoint::Internet(0xCB00_710A),
        End::Services => Endpoint::OracleServices,
    }
}

fn flow() -> impl Strategy<Value = (End, End, usize, u16)> {
    (
        end(),
        end(),
        0..3usize,
        prop_oneof![Just(443u16), Just(3306u16), Just(8080u16)],
    )
}

fn make_flow(f: &(End, End, usize, u16), subnets: &[SubnetId]) -> Flow {
    let protocol = [Protocol::Tcp, Protocol::Udp, Protocol::Icmp][f.2];
    Flow {
        from: endpoint(&f.0, subnets),
        to: endpoint(&f.1, subnets),
        protocol,
        port: (protocol != Protocol::Icmp).then_some(f.3),
    }
}

/// Every way to take one security rule out of a shape. (Route rules are not
/// monotone, in OCI as here: removing a more specific route to a gateway that
/// drops the traffic lets a less specific, working one apply.)
fn removals(s: &Shape) -> Vec<Shape> {
    let mut out = Vec::new();
    for i in 0..3 {
        for j in 0..s.lists[i].len() {
            let mut t = s.clone();
            t.lists[i].remove(j);
            out.push(t);
        }
    }
    for i in 0..2 {
        for j in 0..s.nsgs[i].len() {
            let mut t = s.clone();
            t.nsgs[i].remove(j);
            out.push(t);
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn removing_a_rule_never_adds_a_path(s in shape(), flows in prop::collection::vec(flow(), 1..6)) {
        let (n, subnets) = build(&s);
        let r = Reachability::new(&n, "ams");
        let before: Vec<bool> = flows.iter().map(|f| r.evaluate(&make_flow(f, &subnets)).allowed).collect();
        for t in removals(&s) {
            let (n2, subnets2) = build(&t);
            let r2 = Reachability::new(&n2, "ams");
            for (f, was) in flows.iter().zip(&before) {
                let v = r2.evaluate(&make_flow(f, &subnets2));
                prop_assert!(!v.allowed || *was, "removing a rule opened {f:?}: {v}");
            }
        }
    }

    #[test]
    fn a_stateful_rule_admits_the_return_traffic(
        src in 0..3usize,
        dst in 0..3usize,
        port in 1u16..30000,
        stateless in any::<bool>(),
    ) {
        // Only the forward rules exist: egress at the source, ingress at the destination.
        let mut s = Shape { lists: Default::default(), nsgs: Default::default(), routes: vec![], public: [false; 3] };
        let cidr = |i: usize| format!("10.0.{i}.0/24");
        s.lists[src].push(SecurityRule { direction: Direction::Egress, peer: cidr(dst), protocol: "tcp".into(), ports: Some((port, port)), stateless });
        s.lists[dst].push(SecurityRule { direction: Direction::Ingress, peer: cidr(src), protocol: "tcp".into(), ports: Some((port, port)), stateless });
        let (n, subnets) = build(&s);
        let r = Reachability::new(&n, "ams");
        let v = r.evaluate(&make_flow(&(End::Vnic(src, [false; 2]), End::Vnic(dst, [false; 2]), 0, port), &subnets));
        if stateless {
            // The forward rules' single port never covers the client's ephemeral port.
            prop_assert!(v.denied_by().is_some_and(|d| d.check == Check::Return), "{v}");
        } else {
            prop_assert!(v.allowed, "{v}");
            prop_assert!(v.steps[3].detail.contains("tracks the connection"), "{v}");
        }
    }
}
