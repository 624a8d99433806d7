//! Virtual node pool resizing in the world: nodes added and removed keep the
//! pool balanced over its fault domains, pods on removed nodes are re-created
//! elsewhere, addresses are returned, and nodes created inside a failed FD
//! start down.

mod common;

use std::collections::BTreeMap;

use common::Small;
use ocisim::kernel::SimTime;
use ocisim::model::kube::cluster::{NodeReady, PodState};
use ocisim::model::oke::PoolId;
use ocisim::model::topology::FaultDomain;
use ocisim::scenario::plan::{LoadOptions, load_text};
use ocisim::sim::World;
use ocisim::sim::world::{Action, FailureScope, Observer};

struct Check;
impl Observer for Check {
    fn observe(&mut self, w: &World, _: SimTime) {
        w.check_invariants();
    }
}

fn world(nodes: u32, replicas: u32) -> World {
    let text = Small {
        nodes,
        replicas,
        ..Small::default()
    }
    .text();
    load_text("t.yaml", &text, None, &LoadOptions::default())
        .unwrap()
        .world
}

fn run_to(w: &mut World, secs: u64) {
    w.run(SimTime(secs * 1000), &mut Check);
}

fn nodes_per_fd(w: &World) -> BTreeMap<u8, usize> {
    let mut m = BTreeMap::new();
    for id in w.pool_nodes(PoolId(0)) {
        *m.entry(w.kube.node(id).virtual_node.fault_domain.0)
            .or_insert(0) += 1;
    }
    m
}

fn running(w: &World) -> usize {
    let rs = w.deployment("app").unwrap().rs;
    w.kube
        .rs(rs)
        .active
        .iter()
        .filter(|p| w.kube.pod(**p).state == PodState::Running)
        .count()
}

#[test]
fn growing_and_shrinking_rebalance_over_the_fds_and_move_the_pods() {
    let mut w = world(3, 6);
    run_to(&mut w, 120);
    assert_eq!(running(&w), 6);
    w.resize_virtual_node_pool(PoolId(0), 7).unwrap();
    assert_eq!(nodes_per_fd(&w), BTreeMap::from([(1, 3), (2, 2), (3, 2)]));
    assert_eq!(w.oke.pools[0].size, 7);
    assert_eq!(w.oke.virtual_node_count, 7);
    w.check_invariants();
    run_to(&mut w, 240);
    w.resize_virtual_node_pool(PoolId(0), 2).unwrap();
    let per_fd = nodes_per_fd(&w);
    assert_eq!(per_fd.values().sum::<usize>(), 2);
    assert!(per_fd.values().all(|c| *c == 1), "{per_fd:?}");
    assert_eq!(w.oke.virtual_node_count, 2);
    // Every pod now runs on one of the two remaining nodes.
    run_to(&mut w, 600);
    assert_eq!(running(&w), 6);
    let live = w.pool_nodes(PoolId(0));
    let rs = w.deployment("app").unwrap().rs;
    for p in &w.kube.rs(rs).active {
        assert!(live.contains(&w.kube.pod(*p).node.unwrap()));
    }
    // Removed nodes hold no address: 2 node VNICs + 6 pods in use.
    let used: u64 = w.network.subnets.iter().map(|s| s.pool.used()).sum();
    assert_eq!(used, 8);
}

#[test]
fn the_virtual_node_limit_refuses_a_resize_as_a_whole() {
    let mut w = world(3, 0);
    let err = w.resize_virtual_node_pool(PoolId(0), 10).unwrap_err();
    assert!(
        err.to_string().contains("virtual-node-count limit of 9"),
        "{err}"
    );
    assert_eq!(w.pool_nodes(PoolId(0)).len(), 3);
    w.delete_virtual_node_pool(PoolId(0)).unwrap();
    assert!(w.pool_nodes(PoolId(0)).is_empty());
    assert_eq!(w.oke.virtual_node_count, 0);
    assert!(w.resize_virtual_node_pool(PoolId(0), 1).is_err());
    w.check_invariants();
}

#[test]
fn a_node_added_inside_a_failed_fd_goes_not_ready() {
    let mut w = world(3, 3);
    let fd1 = FailureScope::FaultDomain {
        ad: 1,
        fd: FaultDomain(1),
    };
    w.schedule_action(
        SimTime(10_000),
        "fd1 down".into(),
        Action::Fail {
            scope: fd1,
            failure: 7,
        },
    );
    run_to(&mut w, 20);
    w.resize_virtual_node_pool(PoolId(0), 4).unwrap();
    let newest = *w.pool_nodes(PoolId(0)).last().unwrap();
    assert_eq!(
        w.kube.node(newest).virtual_node.fault_domain,
        FaultDomain(1)
    );
    assert!(w.is_failed(newest));
    run_to(&mut w, 20 + 120);
    assert_eq!(w.kube.node(newest).ready, NodeReady::Unknown);
    w.schedule_action(
        SimTime(200_000),
        "fd1 back".into(),
        Action::Recover { failure: 7 },
    );
    run_to(&mut w, 260);
    assert_eq!(w.kube.node(newest).ready, NodeReady::True);
}

/// Two nodes (FD-1, FD-2), four replicas, start-up 10 s, a budget of
/// maxUnavailable 1, and the given `virtual_node_removal` assumption.
fn guarded(removal: &str) -> World {
    let text = Small {
        nodes: 2,
        fds: "FAULT-DOMAIN-1, FAULT-DOMAIN-2",
        replicas: 4,
        extra: &format!(
            "assumptions: {{startup_latency: {{distribution: fixed, value: 10s}}, virtual_node_removal: {removal}}}"
        ),
        ..Small::default()
    }
    .text()
        + "---\napiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: b}\nspec: {maxUnavailable: 1, selector: {matchLabels: {app: app}}}\n";
    load_text("t.yaml", &text, None, &LoadOptions::default())
        .unwrap_or_else(|e| panic!("{e}"))
        .world
}

/// Ready pods of `app`.
fn ready(w: &World) -> u32 {
    w.ready_of(w.deployment("app").unwrap())
}

#[test]
fn a_drain_mode_scale_down_evicts_through_the_budget_before_deleting_the_node() {
    let mut w = guarded("{mode: drain, eviction_grace: 30m}");
    // The resize comes at exactly 120 s.
    w.advance_to(SimTime(120_000), &mut Check);
    assert_eq!(ready(&w), 4);
    w.resize_virtual_node_pool(PoolId(0), 1).unwrap();
    // The node being removed is out of the pool at once but still exists,
    // cordoned: one pod evicted (1 allowed), the other refused.
    assert_eq!(w.pool_nodes(PoolId(0)).len(), 1);
    let d = w.drains.last().unwrap().clone();
    let leaving = d.nodes[0];
    assert!(w.kube.node(leaving).unschedulable && !w.kube.node(leaving).removed);
    assert_eq!((d.evicted, d.refused.get("b").copied()), (1, Some(1)));
    assert_eq!(ready(&w), 3);
    // The replacement is Ready at 130 s; the retry at 130 s evicts the
    // second pod, and the empty node is deleted.
    run_to(&mut w, 129);
    assert!(!w.kube.node(leaving).removed);
    assert!(ready(&w) >= 3);
    run_to(&mut w, 131);
    assert!(w.kube.node(leaving).removed);
    assert!(matches!(
        w.drains.last().unwrap().outcome,
        Some(ocisim::sim::world::DrainOutcome::Completed(t)) if t.as_ms() == 130_000
    ));
    w.check_invariants();
    run_to(&mut w, 200);
    assert_eq!(ready(&w), 4);
}

#[test]
fn the_default_scale_down_deletes_the_pods_at_once_whatever_the_budget() {
    let mut w = guarded("{mode: delete}");
    run_to(&mut w, 120);
    w.resize_virtual_node_pool(PoolId(0), 1).unwrap();
    assert!(w.drains.is_empty());
    assert_eq!(ready(&w), 2);
    let bad = "assumptions: {virtual_node_removal: {mode: drain, eviction_grace: 2h}}";
    let text = Small {
        extra: bad,
        ..Small::default()
    }
    .text();
    let e = load_text("t.yaml", &text, None, &LoadOptions::default())
        .err()
        .expect("refused");
    assert_eq!(
        e.field.as_deref(),
        Some("assumptions.virtual_node_removal.eviction_grace")
    );
}
