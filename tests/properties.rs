//! Property tests: IP pools never hand an address out twice, never a reserved
//! one, never outside the subnet, and balance after any sequence of operations;
//! DoNotSchedule placements never exceed maxSkew.

use std::collections::BTreeSet;

use proptest::prelude::*;

mod common;

use ocisim::kernel::SimTime;
use ocisim::model::cidr::{IpPool, Ipv4Cidr};
use ocisim::model::network::{Network, NetworkLimits, SubnetSpec};
use ocisim::scenario::plan::{LoadOptions, load_text};
use ocisim::sim::{Observer, World};

#[derive(Clone, Debug)]
enum Op {
    Allocate,
    /// Release the n-th currently allocated address (modulo their count).
    Release(usize),
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(
        prop_oneof![3 => Just(Op::Allocate), 2 => any::<usize>().prop_map(Op::Release)],
        0..400,
    )
}

proptest! {
    #[test]
    fn an_ip_is_never_handed_out_twice_never_reserved_always_inside(prefix in 22u8..=30, block in 0u32..64, ops in ops()) {
        let cidr = Ipv4Cidr::new((10 << 24) | (block << 10), prefix).unwrap();
        let mut pool = IpPool::new(cidr);
        let mut model: BTreeSet<u32> = BTreeSet::new();
        for op in ops {
            match op {
                Op::Allocate => match pool.allocate() {
                    Some(ip) => {
                        prop_assert!(cidr.contains(ip), "{ip} outside {cidr}");
                        prop_assert!(!pool.is_reserved(ip));
                        let off = ip - cidr.first();
                        prop_assert!(off >= 2 && u64::from(off) < cidr.size() - 1, "reserved offset {off}");
                        prop_assert!(model.insert(ip), "{ip} handed out twice");
                    }
                    None => prop_assert_eq!(model.len() as u64, pool.capacity(), "refused while addresses were free"),
                },
                Op::Release(n) => {
                    if let Some(ip) = model.iter().nth(n % model.len().max(1)).copied() {
                        model.remove(&ip);
                        pool.release(ip);
                    }
                }
            }
            prop_assert_eq!(pool.used(), model.len() as u64);
            prop_assert_eq!(pool.used() + pool.free(), pool.capacity());
            prop_assert_eq!(pool.capacity(), cidr.size() - 3);
        }
    }

    #[test]
    fn network_accounting_balances_across_subnets(ops in prop::collection::vec((0usize..3, any::<bool>(), any::<usize>()), 0..300)) {
        let mut net = Network::new(NetworkLimits::default());
        let vcn = net.create_vcn("v".into(), "vcn", vec!["10.0.0.0/16".parse().unwrap()]).unwrap();
        let subnets: Vec<_> = ["10.0.0.0/28", "10.0.1.0/27", "10.0.2.0/30"]
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let spec = SubnetSpec { name: format!("s{i}"), cidr: c.parse().unwrap(), availability_domain: None, prohibit_public_ip: true, route_table: None, security_lists: vec![] };
                net.create_subnet(vcn, format!("id{i}"), spec).unwrap()
            })
            .collect();
        let mut held: Vec<Vec<u32>> = vec![Vec::new(); 3];
        for (s, alloc, n) in ops {
            if alloc {
                match net.allocate_ip(subnets[s]) {
                    Ok(ip) => held[s].push(ip),
                    Err(_) => prop_assert_eq!(net.free_ips(subnets[s]), 0),
                }
            } else if !held[s].is_empty() {
                let idx = n % held[s].len();
                let ip = held[s].swap_remove(idx);
                net.release_ip(subnets[s], ip);
            }
            for (i, sid) in subnets.iter().enumerate() {
                let sub = net.subnet(*sid);
                prop_assert_eq!(sub.pool.used(), held[i].len() as u64);
            }
        }
    }
}

/// Checks after every instant that the Deployment's bound pods respect maxSkew
/// over the fault domains (every FD has nodes, so every FD is a domain).
struct SkewCheck {
    max_skew: u32,
    worst: u32,
}

impl Observer for SkewCheck {
    fn observe(&mut self, w: &World, _now: SimTime) {
        w.check_invariants();
        let per_fd = common::pods_per_fd(w);
        let skew = per_fd.iter().max().unwrap() - per_fd.iter().min().unwrap();
        self.worst = self.worst.max(skew);
        assert!(
            skew <= self.max_skew,
            "skew {skew} > maxSkew {}: {per_fd:?}",
            self.max_skew
        );
    }
}

fn spread_scenario(
    nodes: u32,
    pods_per_node: u32,
    replicas: u32,
    max_skew: u32,
    fds: &[u8],
    seed: u64,
) -> String {
    let fd_list: Vec<String> = fds.iter().map(|f| format!("FAULT-DOMAIN-{f}")).collect();
    let spread = format!(
        "      topologySpreadConstraints:\n        - {{maxSkew: {max_skew}, topologyKey: oci.oraclecloud.com/fault-domain, whenUnsatisfiable: DoNotSchedule, labelSelector: {{matchLabels: {{app: app}}}}}}\n"
    );
    let limits = format!("limits: {{pods_per_virtual_node: {pods_per_node}}}");
    common::Small {
        nodes,
        fds: &fd_list.join(", "),
        replicas,
        pod_spec: &spread,
        duration: "10m",
        seed,
        extra: &limits,
        ..common::Small::default()
    }
    .text()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    #[test]
    fn do_not_schedule_placements_never_exceed_max_skew(
        nodes in 1u32..=9,
        pods_per_node in 1u32..=6,
        replicas in 0u32..=40,
        max_skew in 1u32..=3,
        fds in prop::sample::subsequence(vec![1u8, 2, 3], 1..=3),
        seed in any::<u64>(),
    ) {
        let text = spread_scenario(nodes, pods_per_node, replicas, max_skew, &fds, seed);
        let mut loaded = load_text("prop.yaml", &text, None, &LoadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        let mut check = SkewCheck { max_skew, worst: 0 };
        let end = SimTime(loaded.duration.as_ms());
        prop_assert!(loaded.world.run(end, &mut check));
        // Every replica is either placed or pending; none is lost.
        let rs = loaded.world.deployment("app").unwrap().rs;
        prop_assert_eq!(loaded.world.kube.rs(rs).active.len() as u32, replicas);
        // The first replica always fits (skew 1 against a global minimum of 0), so the check saw placements.
        let bound = replicas - loaded.world.pending_count(rs);
        prop_assert!(replicas == 0 || bound > 0);
        prop_assert!(bound <= nodes * pods_per_node);
    }
}
