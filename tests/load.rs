//! Offered load reaches pods as CPU usage: shared evenly over Ready pods,
//! capped at the CPU limit, sampled by metrics-server every 15 s.

mod common;

use common::Small;
use ocisim::kernel::SimTime;
use ocisim::scenario::plan::{LoadOptions, load_text};
use ocisim::scenario::run::run;

fn with_load(replicas: u32, profile: &str) -> String {
    let load = format!("load:\n  - {{deployment: app, cpu_per_request: 20ms, profile: {profile}}}");
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
    assert_eq!(at(15), (Some(400.0), Some(100)));
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
