//! The 100,000-pod day: wall time, events per second, simulated-to-real ratio
//! and peak memory of `scenarios/scale/100k-pods-day.yaml`, and of the same
//! day with load and an HPA on every Deployment
//! (`scenarios/scale/100k-pods-day-hpa.yaml`).
//!
//! Run with `cargo bench --bench scale` (release build). Targets on a 2-core
//! machine: under 1 s and under 500 MB. The medians are printed and written to
//! `target/bench-scale.md`; `benches/REPORT.md` records measured figures.

use std::path::Path;
use std::time::Instant;

use ocisim::scenario::plan::{LoadOptions, load};
use ocisim::scenario::run::run;

/// Peak resident set size of this process so far, from /proc (Linux).
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// The scenarios: the original no-load day, and the same day with load and an
/// HPA on every Deployment.
const SCENARIOS: [(&str, &str); 2] = [
    ("no load", "scenarios/scale/100k-pods-day.yaml"),
    ("load + HPA", "scenarios/scale/100k-pods-day-hpa.yaml"),
];

fn main() {
    let runs: usize = std::env::var("OCISIM_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let mut report = String::new();
    for (label, file) in SCENARIOS {
        report.push_str(&bench(label, file, runs));
        report.push('\n');
    }
    let peak = peak_rss_mb()
        .map(|m| format!("{m:.0} MB"))
        .unwrap_or_else(|| "n/a".into());
    report.push_str(&format!("peak memory (VmHWM, whole process): {peak}\n"));
    print!("{report}");
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-scale.md");
    let _ = std::fs::write(out, &report);
}

/// Runs `file` `runs` times and renders its figures.
#[allow(clippy::disallowed_methods)] // a benchmark measures wall time
fn bench(label: &str, file: &str, runs: usize) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let mut walls = Vec::new();
    let mut load_walls = Vec::new();
    let mut events = 0;
    let mut hash = String::new();
    let mut simulated_s = 0.0;
    for _ in 0..runs {
        let t0 = Instant::now();
        let loaded = load(&path, &LoadOptions::default()).expect("the scale scenario loads");
        let t1 = Instant::now();
        simulated_s = loaded.duration.as_secs_f64();
        let (report, _) = run(loaded);
        let t2 = Instant::now();
        assert_eq!(report.failed, 0, "the scale scenario's expectations fail");
        if !hash.is_empty() {
            assert_eq!(hash, report.log_hash, "the scale run is not deterministic");
        }
        hash = report.log_hash.clone();
        events = report.events;
        load_walls.push((t1 - t0).as_secs_f64());
        walls.push((t2 - t0).as_secs_f64());
    }
    walls.sort_by(f64::total_cmp);
    load_walls.sort_by(f64::total_cmp);
    let median = walls[walls.len() / 2];
    format!(
        "# 100k-pods-day bench: {label} (`{file}`)\n\n\
         | measure | value |\n|---|---|\n\
         | runs | {runs} |\n\
         | wall time, median (load + run) | {median:.3} s |\n\
         | wall time, min / max | {:.3} s / {:.3} s |\n\
         | of which loading, median | {:.3} s |\n\
         | events | {events} |\n\
         | events per second | {:.0} |\n\
         | simulated-to-real ratio | {:.0}x |\n\
         | log hash | {hash} |\n",
        walls[0],
        walls[walls.len() - 1],
        load_walls[load_walls.len() / 2],
        events as f64 / median,
        simulated_s / median,
    )
}
