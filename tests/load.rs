//! Offered load reaches pods as CPU usage: shared evenly over Ready pods,
//! capped at the CPU limit, sampled by metrics-server every 15 s.

mod common;

use common::Small;
use ocisim::kernel::SimTime;
use ocisim::scenario::plan::{LoadOptions, load_text};
use ocisim::scenario::run::run;

fn with_load(replicas: u32, profile: &str) -> String {
    let load = format!(
        "report: {{sample_every: 15s}}\nload:\n  - {{deployment: app, cpu_per_request: 20ms, profile: {profile}}}"
    );
    Small {
        replicas,
        duration: "20m",
        extra: &load,
        ..Small::default()
    }
    .text()
}

#[test]
fn cpu_follows_the_load_share_and_is_capped_at_the_limit() {
    // 4 pods, limit (= request) 250m each. 40 rps x 20 ms = 800m over 4 pods = 200m = 80 %.
    let text = with_load(4, "{kind: step, from: 40, to: 400, at: 10m}");
    let report = run(load_text("t.yaml", &text, None, &LoadOptions::default()).unwrap()).0;
    let at = |mins: u64| {
        let s = report
            .samples
            .iter()
            .find(|s| s.at_ms == mins * 60_000)
            .expect("sampled");
        (
            s.deployments[0].offered_rps,
            s.deployments[0].cpu_utilization,
        )
    };
    assert_eq!(at(5), (Some(40.0), Some(80)));
    // 400 rps would need 2000m per pod; the 250m limit caps it at 100 %.
    // Overloaded, the pods fail their health checks (no answer within 3 s)
    // and leave rotation for 30 s at a time, idle then: 100 % or 0, never more.
    let after: Vec<u32> = report
        .samples
        .iter()
        .filter(|s| s.at_ms > 10 * 60_000)
        .filter_map(|s| s.deployments[0].cpu_utilization)
        .collect();
    assert!(after.iter().all(|c| *c == 100 || *c == 0), "{after:?}");
    assert!(after.contains(&100) && after.contains(&0), "{after:?}");
    assert_eq!(at(15).0, Some(400.0));
}

#[test]
fn metrics_server_samples_every_15s_only_running_pods() {
    let text = with_load(2, "{kind: constant, rps: 10}");
    let mut loaded = load_text("t.yaml", &text, None, &LoadOptions::default()).unwrap();
    struct Nothing;
    impl ocisim::sim::Observer for Nothing {
        fn observe(&mut self, _: &ocisim::sim::World, _: SimTime) {}
    }
    loaded.world.run(SimTime(10 * 60_000), &mut Nothing);
    let w = &loaded.world;
    assert_eq!(w.metrics.samples.of_running(&w.kube).count(), 2);
    for (_, s) in w.metrics.samples.of_running(&w.kube) {
        assert_eq!(s.timestamp.as_ms() % 15_000, 0);
        assert_eq!(s.cpu_m, 100.0, "10 rps x 20 ms over 2 pods");
        assert_eq!(
            s.memory,
            (256 << 20) as f64,
            "default working set is the memory request"
        );
    }
}

#[test]
fn a_bad_trace_names_the_file_and_line() {
    let dir = std::env::temp_dir().join(format!("ocisim-trace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("rps.csv"), "seconds,rps\n0,10\n60,twenty\n").unwrap();
    let text = with_load(2, "{kind: trace, file: rps.csv}");
    let err = load_text("t.yaml", &text, Some(&dir), &LoadOptions::default())
        .err()
        .expect("refused");
    assert_eq!(err.field.as_deref(), Some("load[0].profile.file"));
    assert!(err.message.contains("rps.csv: line 3"), "{err}");
    std::fs::write(dir.join("rps.csv"), "0,10\n60,20\n").unwrap();
    assert!(load_text("t.yaml", &text, Some(&dir), &LoadOptions::default()).is_ok());
}

/// The load balancer's Service in front of two ingress-nginx pods, an
/// Ingress for shop.example.com and the app's Service; `lb_annotations` are
/// extra annotation lines (indented by 4).
fn ingress_manifests(lb_annotations: &str) -> String {
    format!(
        r#"---
apiVersion: v1
kind: Service
metadata:
  name: ingress-nginx-controller
  namespace: ingress-nginx
  annotations:
    service.beta.kubernetes.io/oci-load-balancer-shape: "flexible"
    service.beta.kubernetes.io/oci-load-balancer-shape-flex-min: "10"
    service.beta.kubernetes.io/oci-load-balancer-shape-flex-max: "100"
{lb_annotations}spec:
  type: LoadBalancer
  selector: {{app.kubernetes.io/name: ingress-nginx}}
  ports: [{{port: 80, targetPort: 80}}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {{name: shop}}
spec:
  rules:
    - host: shop.example.com
      http:
        paths:
          - {{path: /, pathType: Prefix, backend: {{service: {{name: app, port: {{number: 80}}}}}}}}
---
apiVersion: v1
kind: Service
metadata: {{name: app}}
spec:
  selector: {{app: app}}
  ports: [{{port: 80}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: ingress-nginx-controller, namespace: ingress-nginx}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app.kubernetes.io/name: ingress-nginx}}}}
  template:
    metadata: {{labels: {{app.kubernetes.io/name: ingress-nginx}}}}
    spec:
      containers: [{{name: c, image: x, resources: {{limits: {{cpu: 500m, memory: 256Mi}}}}}}]
"#
    )
}

fn ingress_scenario(load: &str, lb_annotations: &str) -> String {
    let extra = format!("load:\n{load}");
    let mut text = Small {
        replicas: 4,
        duration: "10m",
        extra: &extra,
        ..Small::default()
    }
    .text();
    text.push_str(&ingress_manifests(lb_annotations));
    text
}

const SHOP: &str = "  - ingress: {host: shop.example.com, path: /cart}\n    cpu_per_request: 20ms\n    profile: {kind: constant, rps: 40}\n    ingress_controller: {cpu_per_request: 5ms}\n";

#[test]
fn a_load_through_the_ingress_costs_both_tiers_cpu_and_adds_their_latency() {
    let report = run(load_text(
        "t.yaml",
        &ingress_scenario(SHOP, ""),
        None,
        &LoadOptions::default(),
    )
    .unwrap())
    .0;
    let s = report
        .samples
        .iter()
        .find(|s| s.at_ms == 5 * 60_000)
        .unwrap();
    let by_name = |n: &str| s.deployments.iter().find(|d| d.deployment == n).unwrap();
    // App: 40 rps x 20 ms over 4 pods = 200m of 250m. Controller: 40 x 5 ms over 2 = 100m of 500m.
    assert_eq!(by_name("app").cpu_utilization, Some(80));
    assert_eq!(
        by_name("ingress-nginx-controller").cpu_utilization,
        Some(20)
    );
    assert_eq!(by_name("ingress-nginx-controller").offered_rps, Some(40.0));
    let row = |n: &str| report.traffic.iter().find(|t| t.deployment == n).unwrap();
    let shop = row("app");
    assert_eq!(
        shop.ingress.as_ref().unwrap().controller,
        "ingress-nginx-controller"
    );
    assert_eq!(shop.offered, row("ingress-nginx-controller").offered);
    // The same load straight to the app: its latency lacks the controller's.
    let direct = SHOP
        .replace(
            "ingress: {host: shop.example.com, path: /cart}",
            "deployment: app",
        )
        .replace("    ingress_controller: {cpu_per_request: 5ms}\n", "");
    let alone = run(load_text(
        "t.yaml",
        &ingress_scenario(&direct, ""),
        None,
        &LoadOptions::default(),
    )
    .unwrap())
    .0;
    let app_alone = alone
        .traffic
        .iter()
        .find(|t| t.deployment == "app")
        .unwrap();
    assert!(app_alone.ingress.is_none());
    assert!(
        shop.latency.p50_ms > app_alone.latency.p50_ms,
        "{} vs {}",
        shop.latency.p50_ms,
        app_alone.latency.p50_ms
    );
    let text = report.to_text();
    assert!(
        text.contains("through ingress-nginx-controller; failed there: 0 over LB bandwidth"),
        "{text}"
    );
}

#[test]
fn ingress_and_service_mistakes_name_the_field() {
    let err = |load: &str, ann: &str| {
        load_text(
            "t.yaml",
            &ingress_scenario(load, ann),
            None,
            &LoadOptions::default(),
        )
        .err()
        .expect("refused")
    };
    let e = err(&SHOP.replace("shop.example.com", "api.example.com"), "");
    assert_eq!(e.field.as_deref(), Some("load[0].ingress"));
    assert!(
        e.message
            .contains("no Ingress rule matches host `api.example.com`"),
        "{e}"
    );
    let e = err(
        &SHOP.replace("    ingress_controller: {cpu_per_request: 5ms}\n", ""),
        "",
    );
    assert!(e.message.contains("needs `ingress_controller`"), "{e}");
    let e = err(
        SHOP,
        "    service.beta.kubernetes.io/oci-load-balancer-health-check-timeout: \"20000\"\n",
    );
    assert!(e.message.contains("timeoutInMillis"), "{e}");
    assert!(
        e.field
            .as_deref()
            .unwrap()
            .contains("oci-load-balancer-health-check"),
        "{e}"
    );
    let e = err(
        SHOP,
        "    service.beta.kubernetes.io/oci-load-balancer-health-check-retries: \"three\"\n",
    );
    assert!(e.message.contains("not a whole number"), "{e}");
    let e = err(
        &SHOP.replace(
            "cpu_per_request: 20ms\n",
            "cpu_per_request: 20ms\n    service_distribution: {kind: lognormal}\n",
        ),
        "",
    );
    assert_eq!(e.field.as_deref(), Some("load[0].service_distribution.cv"));
    let e = err(&format!("{SHOP}    load_balancer: {{max_mbps: 100}}\n"), "");
    assert_eq!(e.field.as_deref(), Some("load[0].load_balancer"));
    let e = err(
        &SHOP.replace(
            "ingress: {host: shop.example.com, path: /cart}",
            "deployment: app\n    ingress: {path: /}",
        ),
        "",
    );
    assert!(
        e.message.contains("either a `deployment` or an `ingress`"),
        "{e}"
    );
}

#[test]
fn a_health_check_timeout_beyond_the_interval_is_refused() {
    let load = "  - {deployment: app, cpu_per_request: 20ms, profile: {kind: constant, rps: 1}, load_balancer: {max_mbps: 100, health_check_interval: 5s, health_check_timeout: 6s}}\n";
    let text = ingress_scenario(load, "");
    let e = load_text("t.yaml", &text, None, &LoadOptions::default())
        .err()
        .expect("refused");
    assert_eq!(
        e.field.as_deref(),
        Some("load[0].load_balancer.health_check_timeout")
    );
}

/// Requests sent to the pods of a failed node before the health checks take
/// them out: one node of three (one pod of three, 30 rps each) fails at 5m.
fn dead_backend_failures(lb: &str) -> u64 {
    let extra = format!(
        "load:\n  - {{deployment: app, cpu_per_request: 5ms, profile: {{kind: constant, rps: 90}}, load_balancer: {lb}}}"
    );
    let text = Small {
        replicas: 3,
        duration: "10m",
        extra: &extra,
        timeline: "  - at: 5m\n    node_failure: {pool: p, index: 0}",
        ..Small::default()
    }
    .text();
    let report = run(load_text("t.yaml", &text, None, &LoadOptions::default()).unwrap()).0;
    report.traffic[0].failed_dead_backend
}

#[test]
fn a_dead_backend_is_out_after_retries_times_interval() {
    // Default 3 x 10 s: 30 s of the dead pod's 30 rps.
    assert_eq!(dead_backend_failures("{max_mbps: 100}"), 900);
    // 2 x 5 s: 10 s.
    assert_eq!(
        dead_backend_failures(
            "{max_mbps: 100, health_check_interval: 5s, health_check_timeout: 2s, health_check_retries: 2}"
        ),
        300
    );
}
