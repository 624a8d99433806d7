//! Every shipped scenario runs against its expected report, passes its own
//! expectations, keeps every invariant after every instant, and is
//! deterministic: the same seed gives byte-identical reports and log hashes.
//!
//! Regenerate the expected reports after an intended change with
//! `OCISIM_BLESS=1 cargo test --test scenarios` and review the diff.

use std::path::{Path, PathBuf};

use ocisim::scenario::plan::{LoadOptions, load};
use ocisim::scenario::report::Report;
use ocisim::scenario::run::run;

fn scenario_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios"))
            .expect("scenarios/ exists")
            .map(|e| e.expect("readable entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .collect();
    files.sort();
    files
}

fn run_file(path: &Path, seed: Option<u64>, check_invariants: bool) -> Report {
    let rel = path
        .strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .unwrap_or(path);
    let opts = LoadOptions {
        seed,
        check_invariants,
        ..LoadOptions::default()
    };
    // Load by the repository-relative path so reports name the file as users do.
    let cwd_file = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    let mut loaded = load(&cwd_file, &opts).unwrap_or_else(|e| panic!("{e}"));
    loaded.file = rel.display().to_string();
    run(loaded).0
}

#[test]
fn shipped_scenarios_match_their_expected_reports_and_pass() {
    let bless = std::env::var_os("OCISIM_BLESS").is_some();
    let mut mismatches = Vec::new();
    for path in scenario_files() {
        let report = run_file(&path, None, true);
        let text = report.to_text();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let expected_path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/expected")
            .join(format!("{name}.txt"));
        if bless {
            std::fs::write(&expected_path, &text).unwrap();
        } else {
            let expected = std::fs::read_to_string(&expected_path).unwrap_or_else(|_| {
                panic!(
                    "missing {}; run with OCISIM_BLESS=1",
                    expected_path.display()
                )
            });
            if expected != text {
                mismatches.push(format!(
                    "{name}: report differs from {} (reproduce: {})",
                    expected_path.display(),
                    report.reproduce
                ));
            }
        }
        assert_eq!(report.failed, 0, "{name}: an expectation failed:\n{text}");
        assert!(
            report.passed > 0,
            "{name}: a shipped scenario must assert something"
        );
        assert!(report.completed, "{name}: stopped at the event limit");
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn same_seed_same_bytes_other_seed_other_log() {
    for path in scenario_files() {
        let a = run_file(&path, Some(1234), false);
        let b = run_file(&path, Some(1234), false);
        assert_eq!(
            a.to_json(),
            b.to_json(),
            "{}: two runs with seed 1234 differ",
            path.display()
        );
        assert_eq!(a.log_hash, b.log_hash);
        let c = run_file(&path, Some(99), false);
        assert_ne!(
            a.log_hash,
            c.log_hash,
            "{}: the seed has no effect on the run",
            path.display()
        );
    }
}

#[test]
fn the_scale_scenario_loads_and_is_sized_as_specified() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/scale/100k-pods-day.yaml");
    let loaded = load(&path, &LoadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let w = &loaded.world;
    assert_eq!(w.kube.nodes.len(), 200);
    assert_eq!(w.topology.ads.len(), 3);
    let mut per_fd = std::collections::BTreeMap::new();
    for n in &w.kube.nodes {
        *per_fd
            .entry((
                n.virtual_node.availability_domain,
                n.virtual_node.fault_domain,
            ))
            .or_insert(0) += 1;
    }
    assert_eq!(per_fd.len(), 9);
    assert!(per_fd.values().all(|c| (22..=23).contains(c)), "{per_fd:?}");
    let pod_capacity: u64 = w
        .network
        .subnets
        .iter()
        .filter(|s| s.name.starts_with("pods"))
        .map(|s| s.pool.capacity())
        .sum();
    assert!(
        pod_capacity > 100_000
            && w.network
                .subnets
                .iter()
                .all(|s| s.pool.capacity() < 100_000)
    );
    assert_eq!(loaded.duration.as_ms(), 24 * 3600 * 1000);
}
