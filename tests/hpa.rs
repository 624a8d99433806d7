//! HPAs driven through whole scenarios: manifests are checked as the API server
//! would, syncs read the metrics pipeline, and decisions reach the ReplicaSet.

mod common;

use common::Small;
use ocisim::scenario::plan::{LoadOptions, load_text};
use ocisim::scenario::run::run;

fn hpa(behavior: &str, extra_spec: &str) -> String {
    format!(
        "---\napiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {{name: app}}\nspec:\n  scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: app}}\n  minReplicas: 2\n  maxReplicas: 40\n  metrics: [{{type: Resource, resource: {{name: cpu, target: {{type: Utilization, averageUtilization: 50}}}}}}]\n{behavior}{extra_spec}"
    )
}

/// Two pods with 250m limits, idle until a step to 200 rps at 20 ms at 10m: demand
/// jumps from 0 to 4000m, far above the target.
fn scenario(hpa_doc: &str) -> String {
    let load = "load:\n  - {deployment: app, cpu_per_request: 20ms, profile: {kind: step, from: 0, to: 200, at: 10m}}";
    Small {
        replicas: 2,
        duration: "40m",
        extra: load,
        nodes: 3,
        ..Small::default()
    }
    .text()
        + hpa_doc
}

fn first_scale_ups(text: &str) -> Vec<(i32, i32)> {
    let opts = LoadOptions {
        check_invariants: true,
        ..LoadOptions::default()
    };
    let report = run(load_text("t.yaml", text, None, &opts).unwrap_or_else(|e| panic!("{e}"))).0;
    report
        .scaling
        .iter()
        .filter(|r| r.to > r.from)
        .map(|r| (r.from, r.to))
        .collect()
}

/// The HPA with a 10 % target: at 100 % the metric asks for 10x the replicas,
/// so the rate limits decide.
fn greedy(behavior: &str) -> String {
    scenario(&hpa(behavior, "").replace("averageUtilization: 50", "averageUtilization: 10"))
}

#[test]
fn with_behavior_the_default_policies_cap_each_scale_up() {
    // Default scaleUp: max(100 % -> double, +4 pods) per 15 s: 2 -> 6.
    let ups = first_scale_ups(&greedy("  behavior: {}\n"));
    assert_eq!(ups.first(), Some(&(2, 6)), "{ups:?}");
    for (from, to) in &ups {
        assert!(
            *to <= (*from * 2).max(*from + 4),
            "{from} -> {to} exceeds the default policies"
        );
    }
}

#[test]
fn without_behavior_the_older_rule_caps_at_twice_or_four() {
    let ups = first_scale_ups(&greedy(""));
    assert_eq!(ups.first(), Some(&(2, 4)), "max(2 x 2, 4) = 4: {ups:?}");
    for (from, to) in &ups {
        assert!(
            *to <= (*from * 2).max(4),
            "{from} -> {to} exceeds max(2 x current, 4)"
        );
    }
}

#[test]
fn select_policy_disabled_never_scales_up() {
    let b = "  behavior:\n    scaleUp: {selectPolicy: Disabled}\n";
    assert!(first_scale_ups(&scenario(&hpa(b, ""))).is_empty());
}

#[test]
fn manifests_are_checked_like_the_api_server() {
    let cases = [
        (
            hpa("  behavior:\n    scaleUp: {selectPolicy: Sometimes}\n", ""),
            "unknown selectPolicy `Sometimes`",
        ),
        (
            hpa("", "").replace("type: Resource, resource", "type: Pods, pods"),
            "metric type `Pods` is not modelled",
        ),
        (
            hpa("", "").replace("name: app}\n  minReplicas", "name: web}\n  minReplicas"),
            "no Deployment `web` in namespace `default`",
        ),
        (
            hpa("", "").replace("minReplicas: 2", "minReplicas: 50"),
            "need 1 <= minReplicas <= maxReplicas",
        ),
        (
            hpa(
                "  behavior:\n    scaleDown: {policies: [{type: Percent, value: 10, periodSeconds: 3601}]}\n",
                "",
            ),
            "periodSeconds must be 1-1800",
        ),
    ];
    for (doc, message) in cases {
        let err = load_text("t.yaml", &scenario(&doc), None, &LoadOptions::default())
            .err()
            .expect("refused");
        assert!(err.message.contains(message), "{err}");
        assert!(err.line.is_some(), "{err}");
    }
}

#[test]
fn an_idle_target_is_sampled_at_zero_and_scaled_down_after_the_window() {
    // No `load`: metrics-server still reports the pods, idle. The HPA may not
    // scale down before the 300 s stabilization window has passed.
    let text = Small {
        replicas: 6,
        duration: "20m",
        ..Small::default()
    }
    .text()
        + &hpa("  behavior: {}\n", "");
    let report = run(load_text(
        "t.yaml",
        &text,
        None,
        &LoadOptions {
            check_invariants: true,
            ..LoadOptions::default()
        },
    )
    .unwrap())
    .0;
    let downs: Vec<_> = report.scaling.iter().filter(|r| r.to < r.from).collect();
    assert_eq!(downs.len(), 1, "{:?}", report.scaling);
    assert_eq!((downs[0].from, downs[0].to), (6, 2));
    assert!(
        downs[0].at.as_str() >= "00:05:00",
        "held by the window: {}",
        downs[0].at
    );
    assert!(
        downs[0].metrics[0].starts_with("cpu 0%"),
        "{:?}",
        downs[0].metrics
    );
}
