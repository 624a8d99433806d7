//! Rollouts through whole scenarios: the deployment controller's steps
//! against hand-computed traces, Recreate, and strategy validation.

mod common;

use common::Small;
use ocisim::scenario::plan::{LoadOptions, load_text};
use ocisim::scenario::run::run;

/// `app` with 4 replicas and `strategy` (YAML flow), start-up fixed at 10 s,
/// rolled out to a new image at 5 minutes.
fn rollout_scenario(strategy: &str) -> String {
    Small {
        replicas: 4,
        timeline: "  - {at: 5m, rollout: {deployment: app, image: x:2}}",
        extra: "assumptions: {startup_latency: {distribution: fixed, value: 10s}}",
        ..Small::default()
    }
    .text()
    .replace(
        "  replicas: 4\n",
        &format!("  replicas: 4\n  strategy: {strategy}\n"),
    )
}

#[test]
fn default_rolling_update_of_4_replicas_follows_the_hand_computed_trace() {
    let text = rollout_scenario("{}");
    let report = run(load_text("t.yaml", &text, None, &LoadOptions::default()).unwrap()).0;
    let r = &report.rollouts[0];
    assert_eq!(r.strategy, "RollingUpdate maxSurge 25% maxUnavailable 25%");
    let steps: Vec<(&str, Vec<u32>, u32)> = r
        .steps
        .iter()
        .map(|(t, s, ready)| (t.as_str(), s.clone(), *ready))
        .collect();
    // maxSurge 1 (25 % of 4 up), maxUnavailable 1 (down): at most 5 pods,
    // at least 3 Ready. New pods are Ready 10 s after binding; binds are
    // 20 ms apart.
    assert_eq!(
        steps,
        vec![
            // New ReplicaSet created with the one surge pod (total 5).
            ("00:05:00", vec![4, 1], 4),
            // At once: 5 - 3 available minimum - 1 unavailable new = 1 old
            // pod may go (4 available > 3).
            ("00:05:00", vec![3, 1], 3),
            // Total 4 < 5: the new one grows by 1.
            ("00:05:00", vec![3, 2], 3),
            // The first new pod Ready: 5 - 3 - 1 = 1 old pod goes, then
            // the new one grows again; the same 20 ms later.
            ("00:05:10", vec![2, 2], 3),
            ("00:05:10", vec![2, 3], 3),
            ("00:05:10.020", vec![1, 3], 3),
            ("00:05:10.020", vec![1, 4], 3),
            // The third new pod Ready: the last old pod goes.
            ("00:05:20", vec![0, 4], 3),
        ]
    );
    // The fourth new pod, bound at 5:10.020, is Ready 10 s later.
    assert_eq!(r.completed.as_deref(), Some("00:05:20.020"));
    assert_eq!(r.duration_ms, Some(20_020));
    for (_, sizes, ready) in &r.steps {
        assert!(sizes.iter().sum::<u32>() <= 5, "{sizes:?}");
        assert!(*ready >= 3, "{sizes:?} ready {ready}");
    }
}

#[test]
fn recreate_deletes_every_old_pod_before_creating_new_ones() {
    let text = rollout_scenario("{type: Recreate}");
    let report = run(load_text("t.yaml", &text, None, &LoadOptions::default()).unwrap()).0;
    let r = &report.rollouts[0];
    let steps: Vec<(Vec<u32>, u32)> = r
        .steps
        .iter()
        .map(|(_, s, ready)| (s.clone(), *ready))
        .collect();
    // Created at 0, old scaled to 0 (pods gone at once on virtual nodes), then new to 4.
    assert_eq!(
        steps,
        vec![(vec![4, 0], 4), (vec![0, 0], 0), (vec![0, 4], 0)]
    );
    assert_eq!(r.completed.as_deref(), Some("00:05:10.060"));
}

#[test]
fn both_fenceposts_zero_is_refused_with_the_api_servers_message() {
    let text = rollout_scenario("{rollingUpdate: {maxSurge: 0, maxUnavailable: 0%}}");
    let err = load_text("t.yaml", &text, None, &LoadOptions::default())
        .err()
        .expect("refused");
    assert_eq!(
        err.field.as_deref(),
        Some("spec.strategy.rollingUpdate.maxUnavailable")
    );
    assert!(
        err.message.contains("may not be 0 when `maxSurge` is 0"),
        "{err}"
    );
}

#[test]
fn min_ready_seconds_holds_each_step_until_the_new_pods_are_available() {
    // As the default trace, but a new pod counts as available only 30 s
    // after it turns Ready (`IsPodAvailable`); Ready pods are unchanged.
    let text =
        rollout_scenario("{}").replace("  replicas: 4\n", "  replicas: 4\n  minReadySeconds: 30\n");
    let report = run(load_text("t.yaml", &text, None, &LoadOptions::default()).unwrap()).0;
    let r = &report.rollouts[0];
    let steps: Vec<(&str, Vec<u32>)> = r
        .steps
        .iter()
        .map(|(t, s, _)| (t.as_str(), s.clone()))
        .collect();
    assert_eq!(
        steps,
        vec![
            // 5:00 as without minReadySeconds: surge 1, one old pod down
            // (4 old pods available > 3), the new one to 2.
            ("00:05:00", vec![4, 1]),
            ("00:05:00", vec![3, 1]),
            ("00:05:00", vec![3, 2]),
            // The new pods are Ready at 5:10 and 5:10.020 but available only
            // at 5:40 and 5:40.020: nothing moves at 5:10. Each one
            // available lets one old pod go (5 - 3 - 1 unavailable new) and
            // the new ReplicaSet grow; the two new pods created then are
            // Ready at 5:50(.020) and available at 6:20(.020).
            ("00:05:40", vec![2, 2]),
            ("00:05:40", vec![2, 3]),
            ("00:05:40.020", vec![1, 3]),
            ("00:05:40.020", vec![1, 4]),
            ("00:06:20", vec![0, 4]),
        ]
    );
    // Complete when the fourth new pod is available: 60 s later than the
    // 00:05:20.020 of the default trace.
    assert_eq!(r.completed.as_deref(), Some("00:06:20.020"));
    assert_eq!(r.duration_ms, Some(80_020));
}

#[test]
fn a_negative_min_ready_seconds_is_refused() {
    let text =
        rollout_scenario("{}").replace("  replicas: 4\n", "  replicas: 4\n  minReadySeconds: -1\n");
    let err = load_text("t.yaml", &text, None, &LoadOptions::default())
        .err()
        .expect("refused");
    assert_eq!(err.field.as_deref(), Some("spec.minReadySeconds"));
}
