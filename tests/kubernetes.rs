//! Kubernetes behaviour pinned against the documented semantics
//! (docs/k8s-facts.md): PodTopologySpread details, FitError wording, node
//! lifecycle disruption states, and the labels OKE puts on virtual nodes.

mod common;

use common::{ALL_FDS, Small, pods_per_fd};
use ocisim::model::kube::cluster::{LABEL_FAULT_DOMAIN, LABEL_HOSTNAME, LABEL_REGION, LABEL_ZONE};
use ocisim::scenario::plan::{LoadOptions, Loaded, load_text};
use ocisim::scenario::run::run;
use ocisim::sim::World;

/// The shared small scenario with the given node count, FDs, replicas, pod
/// spec lines, timeline and duration.
fn scenario(
    nodes: u32,
    fds: &str,
    replicas: u32,
    pod_spec: &str,
    timeline: &str,
    duration: &str,
) -> String {
    Small {
        nodes,
        fds,
        replicas,
        pod_spec,
        timeline,
        duration,
        ..Small::default()
    }
    .text()
}

fn load(text: &str) -> Loaded {
    let opts = LoadOptions {
        check_invariants: true,
        ..LoadOptions::default()
    };
    load_text("t.yaml", text, None, &opts).unwrap_or_else(|e| panic!("{e}"))
}

fn run_to_end(text: &str) -> World {
    run(load(text)).1
}

fn pending_messages(w: &World) -> Vec<String> {
    let rs = w.deployment("app").unwrap().rs;
    w.pending_pods(rs)
        .map(|p| w.kube.pod(p).unschedulable_message().unwrap_or_default())
        .collect()
}

const FD_SPREAD: &str = "      topologySpreadConstraints:\n        - {maxSkew: 1, topologyKey: oci.oraclecloud.com/fault-domain, whenUnsatisfiable: DoNotSchedule, labelSelector: {matchLabels: {app: app}}}\n";

#[test]
fn do_not_schedule_spreads_evenly_and_blocks_the_overflow_with_the_schedulers_words() {
    // 2 nodes in FD-1 and FD-2 only, 1 pod per node: the third pod has nowhere to go.
    let text = scenario(
        2,
        "FAULT-DOMAIN-1, FAULT-DOMAIN-2",
        3,
        FD_SPREAD,
        "  []",
        "10m",
    )
    .replace(
        "duration: 10m",
        "duration: 10m\nlimits: {pods_per_virtual_node: 1}",
    );
    let w = run_to_end(&text);
    assert_eq!(pods_per_fd(&w), [1, 1]);
    assert_eq!(
        pending_messages(&w),
        [
            "0/2 nodes are available: 2 Too many pods. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.."
        ]
    );
}

#[test]
fn min_domains_forces_a_global_minimum_of_zero() {
    // Three domains exist but minDomains is 4: the global minimum is 0, so with
    // maxSkew 1 each FD takes one pod and the rest stay Pending.
    let spread = FD_SPREAD.replace("maxSkew: 1,", "maxSkew: 1, minDomains: 4,");
    let w = run_to_end(&scenario(3, ALL_FDS, 5, &spread, "  []", "10m"));
    assert_eq!(pods_per_fd(&w), [1, 1, 1]);
    let msgs = pending_messages(&w);
    assert_eq!(msgs.len(), 2);
    assert!(
        msgs[0].starts_with(
            "0/3 nodes are available: 3 node(s) didn't match pod topology spread constraints."
        ),
        "{}",
        msgs[0]
    );
    // Without minDomains all five fit: [2, 2, 1] in some order.
    let w = run_to_end(&scenario(3, ALL_FDS, 5, FD_SPREAD, "  []", "10m"));
    let mut per = pods_per_fd(&w);
    per.sort();
    assert_eq!(per, [1, 2, 2]);
}

#[test]
fn node_affinity_policy_honor_ignores_excluded_domains() {
    // The pod may only run in FD-1 and FD-2 (nodeSelector-like required affinity).
    // With nodeAffinityPolicy Honor (default) FD-3 does not count, so 4 pods go 2+2.
    // With Ignore, FD-3 counts with 0 pods and holds the global minimum at 0: only 1+1 fit.
    let affinity = "      affinity:\n        nodeAffinity:\n          requiredDuringSchedulingIgnoredDuringExecution:\n            nodeSelectorTerms:\n              - matchExpressions: [{key: oci.oraclecloud.com/fault-domain, operator: In, values: [FAULT-DOMAIN-1, FAULT-DOMAIN-2]}]\n";
    let honor = format!("{affinity}{FD_SPREAD}");
    let w = run_to_end(&scenario(3, ALL_FDS, 4, &honor, "  []", "10m"));
    assert_eq!(pods_per_fd(&w), [2, 2, 0]);
    let ignore = honor.replace("maxSkew: 1,", "maxSkew: 1, nodeAffinityPolicy: Ignore,");
    let w = run_to_end(&scenario(3, ALL_FDS, 4, &ignore, "  []", "10m"));
    assert_eq!(pods_per_fd(&w), [1, 1, 0]);
    let msgs = pending_messages(&w);
    assert_eq!(msgs.len(), 2);
    assert!(
        msgs[0].contains("1 node(s) didn't match Pod's node affinity/selector, 2 node(s) didn't match pod topology spread constraints."),
        "{}",
        msgs[0]
    );
}

#[test]
fn node_taints_policy_honor_unblocks_the_spread_after_an_fd_loss() {
    // The spread-blocks scenario, with nodeTaintsPolicy Honor: the tainted FD no
    // longer counts as a domain, so the replacements fit in FD-2 and FD-3.
    let timeline = "  - {at: 10m, fault_domain_outage: {availability_domain: AD-1, fault_domain: FAULT-DOMAIN-1}}";
    let fds = ALL_FDS;
    let w = run_to_end(&scenario(3, fds, 6, FD_SPREAD, timeline, "30m"));
    assert_eq!(pods_per_fd(&w), [0, 2, 2]);
    assert_eq!(pending_messages(&w).len(), 2);
    let honor = FD_SPREAD.replace("maxSkew: 1,", "maxSkew: 1, nodeTaintsPolicy: Honor,");
    let w = run_to_end(&scenario(3, fds, 6, &honor, timeline, "30m"));
    assert_eq!(pods_per_fd(&w), [0, 3, 3]);
    assert!(pending_messages(&w).is_empty());
}

#[test]
fn fit_error_reasons_sort_as_strings() {
    // kube sorts "<count> <reason>" with sort.Strings: "10 ..." before "2 ...".
    use ocisim::model::kube::scheduler::FitError;
    use std::collections::BTreeMap;
    let e = FitError {
        num_all_nodes: 12,
        reasons: BTreeMap::from([
            ("Too many pods".to_string(), 2),
            ("node(s) had untolerated taint {a: b}".to_string(), 10),
        ]),
        preemption: BTreeMap::from([
            (
                "No preemption victims found for incoming pod".to_string(),
                2,
            ),
            ("Preemption is not helpful for scheduling".to_string(), 10),
        ]),
    };
    assert_eq!(
        e.to_string(),
        "0/12 nodes are available: 10 node(s) had untolerated taint {a: b}, 2 Too many pods. preemption: 0/12 nodes are available: 10 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.."
    );
}

/// The distinct instants (in ms) at which pods were evicted, from the log.
fn eviction_times(w: &World) -> Vec<u64> {
    let times: std::collections::BTreeSet<u64> = w
        .log
        .records()
        .iter()
        .filter(|(_, r)| matches!(r, ocisim::sim::log::LogRecord::PodEvicted(_)))
        .map(|(t, _)| t.as_ms())
        .collect();
    times.into_iter().collect()
}

fn keep_log(text: &str) -> World {
    let opts = LoadOptions {
        keep_log: true,
        check_invariants: true,
        ..LoadOptions::default()
    };
    run(load_text("t.yaml", text, None, &opts).unwrap_or_else(|e| panic!("{e}"))).1
}

#[test]
fn one_fd_of_nine_nodes_is_tainted_one_node_per_10s_and_evicted_300s_later() {
    let timeline = "  - {at: 10m, fault_domain_outage: {availability_domain: AD-1, fault_domain: FAULT-DOMAIN-1}}";
    let w = keep_log(&scenario(9, ALL_FDS, 9, "", timeline, "30m"));
    let distinct = eviction_times(&w);
    assert!(!distinct.is_empty());
    // Failure at 600 s; last lease renewal at 600 s; NotReady at the first 5 s
    // monitor tick after 650 s (655 s); first taint at once, then 10 s apart.
    assert_eq!(distinct[0], 655_000 + 300_000, "{distinct:?}");
    for pair in distinct.windows(2) {
        assert_eq!(pair[1] - pair[0], 10_000, "{distinct:?}");
    }
}

#[test]
fn a_partially_disrupted_small_zone_stops_evicting() {
    // Two FDs of three lost: 6 of 9 nodes not ready (> 2 and >= 55%) in a zone of
    // 9 nodes (<= 50): the rate drops to 0 and no pod is evicted.
    let timeline = "  - {at: 10m, fault_domain_outage: {availability_domain: AD-1, fault_domain: FAULT-DOMAIN-1}}\n  - {at: 10m, fault_domain_outage: {availability_domain: AD-1, fault_domain: FAULT-DOMAIN-2}}";
    let w = keep_log(&scenario(9, ALL_FDS, 9, "", timeline, "1h"));
    assert!(eviction_times(&w).is_empty());
    let rs = w.deployment("app").unwrap().rs;
    assert_eq!(w.ready_by_rs[rs.0 as usize], 3);
    // The same loss with a large-cluster threshold below the zone size evicts at 0.01/s.
    let t = scenario(9, ALL_FDS, 9, "", timeline, "1h").replace(
        "seed: 3",
        "seed: 3\nassumptions: {large_cluster_size_threshold: 5}",
    );
    let distinct = eviction_times(&keep_log(&t));
    assert!(distinct.len() >= 2, "{distinct:?}");
    assert_eq!(
        distinct[1] - distinct[0],
        100_000,
        "one node per 100 s at 0.01/s: {distinct:?}"
    );
}

#[test]
fn when_every_zone_is_down_nothing_is_evicted() {
    // A 1-AD region has one zone: an AD outage fully disrupts every zone, so the
    // controller assumes a control-plane network problem and evicts nothing.
    let timeline = "  - {at: 10m, ad_outage: {availability_domain: AD-1}, duration: 20m}";
    let w = keep_log(&scenario(3, ALL_FDS, 6, "", timeline, "1h"));
    assert!(eviction_times(&w).is_empty());
    let rs = w.deployment("app").unwrap().rs;
    assert_eq!(
        w.ready_by_rs[rs.0 as usize], 6,
        "the pods are back when the AD returns"
    );
}

#[test]
fn virtual_nodes_carry_the_oke_labels() {
    for (region, zone) in [
        ("us-phoenix-1", "PHX-AD-2"),
        ("us-ashburn-1", "US-ASHBURN-AD-2"),
        ("uk-london-1", "UK-LONDON-1-AD-2"),
    ] {
        let text = scenario(1, "FAULT-DOMAIN-3", 1, "", "  []", "1m")
            .replace("region: ca-toronto-1", &format!("region: {region}"))
            .replace("availability_domain: AD-1", "availability_domain: AD-2");
        let l = load(&text);
        let n = &l.world.kube.nodes[0];
        assert_eq!(n.labels[LABEL_ZONE], zone);
        assert_eq!(n.labels[LABEL_FAULT_DOMAIN], "FAULT-DOMAIN-3");
        assert_eq!(n.labels[LABEL_HOSTNAME], n.name);
        assert_eq!(
            n.name, "10.0.0.2",
            "a virtual node is named by its private IP"
        );
        assert_eq!(
            n.labels[LABEL_REGION],
            l.world.topology.region.key.to_ascii_lowercase()
        );
        assert!(l.world.topology.ads[1].name.ends_with(&format!(":{zone}")));
    }
}
