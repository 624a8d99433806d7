//! PodDisruptionBudgets, the Eviction API and kubectl drain through whole
//! scenarios: hand-computed drain traces, the unhealthy-pod policies,
//! timeouts, budgets that taint eviction and rollouts ignore, and the
//! located errors of bad input.

mod common;

use common::Small;
use ocisim::scenario::plan::{LoadOptions, load_text};
use ocisim::scenario::report::Report;
use ocisim::scenario::run::run;
use ocisim::sim::World;
use ocisim::sim::world::DrainOutcome;

const FIXED_10S: &str = "assumptions: {startup_latency: {distribution: fixed, value: 10s}}";

fn pdb(spec: &str) -> String {
    format!(
        "---\napiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {{name: app-pdb}}\nspec:\n  selector: {{matchLabels: {{app: app}}}}\n{spec}"
    )
}

/// Two nodes (FD-1, FD-2), four replicas (two per node), start-up 10 s.
fn two_nodes(timeline: &str, budget: &str) -> String {
    Small {
        nodes: 2,
        fds: "FAULT-DOMAIN-1, FAULT-DOMAIN-2",
        replicas: 4,
        timeline,
        extra: FIXED_10S,
        ..Small::default()
    }
    .text()
        + budget
}

fn play(text: &str) -> (Report, World) {
    let opts = LoadOptions {
        check_invariants: true,
        ..LoadOptions::default()
    };
    run(load_text("t.yaml", text, None, &opts).unwrap_or_else(|e| panic!("{e}")))
}

/// The first node by name, as kubectl would drain it.
fn first_node(w: &World) -> String {
    let mut names: Vec<&str> = w.kube.nodes.iter().map(|n| n.name.as_str()).collect();
    names.sort();
    names[0].to_string()
}

fn min_ready(text: &str) -> u32 {
    let (r, _) = play(text);
    r.samples
        .iter()
        .filter(|s| s.at_ms >= 300_000)
        .map(|s| s.deployments[0].ready)
        .min()
        .unwrap()
}

const DRAIN_FIRST: &str = "  - {at: 5m, name: maint, drain: {pool: p, index: 0}}";

#[test]
fn a_drain_waits_for_the_budget_and_follows_the_hand_computed_trace() {
    let text = two_nodes(DRAIN_FIRST, &pdb("  minAvailable: 3\n"));
    let (r, w) = play(&text);
    let d = &w.drains[0];
    // 5:00: 4 healthy, 3 desired, 1 allowed: the first pod (by name) is
    // evicted and its replacement bound to the other node at once (Ready at
    // 5:10). The second is refused at 5:00 and at 5:05 (3 healthy, 0
    // allowed). At 5:10 the replacement is Ready before kubectl's retry (it
    // was scheduled first): 4 healthy, the second pod goes, and the node is
    // empty.
    assert_eq!(d.evicted, 2);
    assert_eq!(d.refused.get("app-pdb"), Some(&2));
    assert_eq!(
        d.outcome,
        Some(DrainOutcome::Completed(ocisim::kernel::SimTime(310_000)))
    );
    // The drained node stays cordoned, and holds nothing.
    let node = w.kube.node(w.kube.node_named(&first_node(&w)).unwrap());
    assert!(node.unschedulable);
    assert!(node.pods.is_empty());
    let row = &r.drains[0];
    assert_eq!(row.duration_ms, Some(10_000));
    // The budget never went below minAvailable.
    let p = &r.pdbs[0];
    assert_eq!(p.lowest_healthy.as_ref().map(|(h, _)| *h), Some(3));
    let after_start = p.changes.iter().filter(|(t, _)| t.as_str() >= "00:05:00");
    assert!(after_start.clone().count() > 1);
    assert!(
        after_start.clone().all(|(_, s)| s.current_healthy >= 3),
        "{:?}",
        p.changes
    );
    assert_eq!(min_ready(&text), 3);
    let text = r.to_text();
    assert!(
        text.contains("maint from 00:05:00: 2 evicted, 2 refused (2 by app-pdb); completed in 10s"),
        "{text}"
    );
}

#[test]
fn without_a_budget_the_drain_takes_everything_at_once() {
    let text = two_nodes(DRAIN_FIRST, "");
    let (_, w) = play(&text);
    let d = &w.drains[0];
    assert_eq!((d.evicted, d.refused.len()), (2, 0));
    assert_eq!(
        d.outcome,
        Some(DrainOutcome::Completed(ocisim::kernel::SimTime(300_000)))
    );
    // Both pods go at once: Ready drops to 2 until the replacements start.
    assert_eq!(min_ready(&text), 2);
}

#[test]
fn a_budget_of_100_percent_times_the_drain_out_and_the_node_stays_cordoned() {
    let timeline = "  - {at: 5m, name: maint, drain: {pool: p, index: 0, timeout: 62s}}";
    let (r, w) = play(&two_nodes(timeline, &pdb("  minAvailable: 100%\n")));
    let d = &w.drains[0];
    // Retries on the 5 s grid: the first at or after 5:62 is 6:05.
    match &d.outcome {
        Some(DrainOutcome::TimedOut { at, pods_left, .. }) => {
            assert_eq!((at.as_ms(), *pods_left), (365_000, 2));
        }
        o => panic!("{o:?}"),
    }
    // 5:00, 5:05, ..., 6:00: 13 rounds of two refusals.
    assert_eq!(d.refused.get("app-pdb"), Some(&26));
    assert_eq!(d.evicted, 0);
    assert!(
        w.kube
            .node(w.kube.node_named(&first_node(&w)).unwrap())
            .unschedulable
    );
    assert!(r.to_text().contains("timed out at 00:06:05"));
}

#[test]
fn taint_eviction_and_rollouts_ignore_budgets() {
    // A budget that forbids every voluntary disruption.
    let budget = pdb("  minAvailable: 100%\n");
    // The FD outage's pods are still evicted 50 s + 300 s later and replaced.
    let outage = "  - {at: 5m, name: down, fault_domain_outage: {availability_domain: AD-1, fault_domain: FAULT-DOMAIN-1}}";
    let (with, _) = play(&two_nodes(outage, &budget));
    let (without, _) = play(&two_nodes(outage, ""));
    assert_eq!(
        with.failures[0].recovered_at,
        without.failures[0].recovered_at
    );
    assert!(with.failures[0].recovered_at.is_some());
    // A rollout replaces every pod exactly as without the budget.
    let rollout = "  - {at: 5m, rollout: {deployment: app, image: x:2}}";
    let (with, _) = play(&two_nodes(rollout, &budget));
    let (without, _) = play(&two_nodes(rollout, ""));
    assert_eq!(with.rollouts[0].steps, without.rollouts[0].steps);
    assert!(with.rollouts[0].completed.is_some());
}

/// Node 0 stops at 1m: after the 50 s grace its pods are Running but not
/// Ready, and their taint eviction is not due before 6:50. The drain at 3m
/// asks the budget about unhealthy pods.
fn unhealthy(policy: &str) -> String {
    let timeline = "  - {at: 1m, name: down, node_failure: {pool: p, index: 0}, duration: 4m}\n  - {at: 3m, name: maint, drain: {pool: p, index: 0}}";
    two_nodes(timeline, &pdb(&format!("  minAvailable: 3\n{policy}")))
}

#[test]
fn unhealthy_pods_wait_under_if_healthy_budget_and_go_under_always_allow() {
    // IfHealthyBudget: 2 healthy < 3 desired, the application is disrupted:
    // the unready pods are refused until the node is back (5:00) and they are
    // Ready again; then the budget (4 healthy, 1 allowed) lets them go one by one.
    let (_, w) = play(&unhealthy(""));
    let d = &w.drains[0];
    assert!(d.refused["app-pdb"] > 2, "{:?}", d.refused);
    match d.outcome {
        Some(DrainOutcome::Completed(t)) => assert!(t.as_ms() > 300_000, "{t}"),
        ref o => panic!("{o:?}"),
    }
    // AlwaysAllow: both unready pods are evicted at once, uncharged. They
    // stay Terminating on the unreachable node, so kubectl waits (1 s polls)
    // until the node returns at 5:00 and its kubelet finishes the deletion.
    let (_, w) = play(&unhealthy("  unhealthyPodEvictionPolicy: AlwaysAllow\n"));
    let d = &w.drains[0];
    assert_eq!((d.evicted, d.refused.len()), (2, 0));
    match d.outcome {
        Some(DrainOutcome::Completed(t)) => {
            assert!((300_000..=306_000).contains(&t.as_ms()), "{t}")
        }
        ref o => panic!("{o:?}"),
    }
}

#[test]
fn two_budgets_on_one_pod_fail_the_drain_with_the_api_servers_500() {
    let second = pdb("  maxUnavailable: 1\n").replace("name: app-pdb", "name: other");
    let (r, w) = play(&two_nodes(
        DRAIN_FIRST,
        &(pdb("  minAvailable: 1\n") + &second),
    ));
    match &w.drains[0].outcome {
        Some(DrainOutcome::Failed { message, .. }) => assert_eq!(
            message,
            "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."
        ),
        o => panic!("{o:?}"),
    }
    assert!(r.to_text().contains("more than one PodDisruptionBudget"));
}

#[test]
fn cordon_keeps_new_pods_away_until_uncordon() {
    // Cordon both nodes, then scale up: the new pods stay Pending with
    // NodeUnschedulable's reason until the uncordon.
    let timeline = "  - {at: 2m, cordon: {availability_domain: AD-1}}\n  - {at: 3m, scale: {deployment: app, replicas: 6}}\n  - {at: 4m, uncordon: {availability_domain: AD-1, fault_domain: FAULT-DOMAIN-2}}";
    let text = two_nodes(timeline, "") + "" + "";
    let text = text.replace(
        "timeline:\n",
        "expect:\n  - pending_pods: {deployment: app, count: 2, at: 3m30s, reason_contains: \"node(s) were unschedulable\"}\n  - pending_pods: {deployment: app, count: 0, at: 4m30s}\ntimeline:\n",
    );
    let (r, _) = play(&text);
    assert_eq!(r.failed, 0, "{}", r.to_text());
}

#[test]
fn drain_expectations_judge_completion_and_refusals() {
    let expect = "expect:\n  - drain_completes: {drain: maint, max: 10s}\n  - disruptions_blocked: {drain: maint, pdb: app-pdb, min: 2}\n  - drain_completes: {drain: maint, max: 9s}\ntimeline:\n";
    let text = two_nodes(DRAIN_FIRST, &pdb("  minAvailable: 3\n")).replace("timeline:\n", expect);
    let (r, _) = play(&text);
    let verdicts: Vec<(bool, &str)> = r
        .expectations
        .iter()
        .map(|e| (e.passed, e.detail.as_str()))
        .collect();
    assert_eq!(
        verdicts,
        vec![
            (true, "completed in 10s"),
            (true, "2 evictions refused"),
            (false, "completed in 10s")
        ]
    );
    // Without the budget nothing is refused: the expectation would fail.
    let text = two_nodes(DRAIN_FIRST, "").replace(
        "timeline:\n",
        "expect:\n  - disruptions_blocked: {drain: maint}\ntimeline:\n",
    );
    let (r, _) = play(&text);
    assert!(!r.expectations[0].passed);
}

fn load_err(text: &str) -> ocisim::scenario::source::ScenarioError {
    load_text("t.yaml", text, None, &LoadOptions::default())
        .err()
        .expect("refused")
}

#[test]
fn bad_budgets_and_drains_are_refused_where_they_are_written() {
    let e = load_err(&two_nodes(
        "  []",
        &pdb("  minAvailable: 1\n  maxUnavailable: 1\n"),
    ));
    assert_eq!(e.field.as_deref(), Some("spec"));
    assert!(
        e.message
            .contains("minAvailable and maxUnavailable cannot be both set"),
        "{e}"
    );
    let e = load_err(&two_nodes("  []", &pdb("  maxUnavailable: 120%\n")));
    assert_eq!(e.field.as_deref(), Some("spec.maxUnavailable"));
    assert!(e.message.contains("must not be greater than 100%"), "{e}");
    let e = load_err(&two_nodes("  []", &pdb("  minAvailable: lots\n")));
    assert_eq!(e.field.as_deref(), Some("spec.minAvailable"));
    let e = load_err(&two_nodes(
        "  []",
        &pdb("  minAvailable: 1\n  unhealthyPodEvictionPolicy: Sometimes\n"),
    ));
    assert_eq!(e.field.as_deref(), Some("spec.unhealthyPodEvictionPolicy"));
    assert!(
        e.message
            .contains("supported values: \"AlwaysAllow\", \"IfHealthyBudget\""),
        "{e}"
    );
    let e = load_err(&two_nodes(
        "  - {at: 1m, cordon: {pool: p, index: 0, timeout: 1m}}",
        "",
    ));
    assert_eq!(e.field.as_deref(), Some("timeline[0].cordon.timeout"));
    let e = load_err(&two_nodes(
        "  - {at: 1m, drain: {availability_domain: AD-1, node: x}}",
        "",
    ));
    assert_eq!(e.field.as_deref(), Some("timeline[0].drain"));
    let e = load_err(&two_nodes(
        "  - {at: 1m, drain: {availability_domain: AD-7}}",
        "",
    ));
    assert_eq!(
        e.field.as_deref(),
        Some("timeline[0].drain.availability_domain")
    );
    let text = two_nodes(DRAIN_FIRST, "").replace(
        "timeline:\n",
        "expect:\n  - drain_completes: {drain: nope, max: 1m}\ntimeline:\n",
    );
    let e = load_err(&text);
    assert_eq!(e.field.as_deref(), Some("expect[0].drain_completes.drain"));
    assert!(e.message.contains("known: maint"), "{e}");
    let text = two_nodes(DRAIN_FIRST, "").replace(
        "timeline:\n",
        "expect:\n  - disruptions_blocked: {drain: maint, pdb: nope}\ntimeline:\n",
    );
    assert_eq!(
        load_err(&text).field.as_deref(),
        Some("expect[0].disruptions_blocked.pdb")
    );
}

#[test]
fn budgets_count_ready_pods_not_available_ones() {
    // minReadySeconds 60 makes the replacement available only at 6:10, but
    // the disruption controller counts Ready pods (IsPodReady): the drain
    // ends at 5:10 exactly as without it.
    let text = two_nodes(DRAIN_FIRST, &pdb("  minAvailable: 3\n"))
        .replace("  replicas: 4\n", "  replicas: 4\n  minReadySeconds: 60\n");
    let (_, w) = play(&text);
    assert_eq!(w.deployment("app").unwrap().min_ready.as_ms(), 60_000);
    assert_eq!(
        w.drains[0].outcome,
        Some(DrainOutcome::Completed(ocisim::kernel::SimTime(310_000)))
    );
}
