//! The command line as a user meets it: exit codes, help, and errors that
//! name the file, the line and the field for bad scenario files.

use std::path::Path;
use std::process::Command;

fn ocisim(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ocisim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// Writes a scenario into a temporary file and runs `ocisim run` on it.
fn run_text(name: &str, text: &str) -> (i32, String, String) {
    let dir = std::env::temp_dir().join(format!("ocisim-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    ocisim(&["run", path.to_str().unwrap()])
}

const GOOD: &str = include_str!("../scenarios/fd-outage.yaml");

#[test]
fn the_reference_scenario_passes_with_exit_0() {
    let (code, out, _) = ocisim(&["run", "scenarios/reference-architecture.yaml"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("19 passed, 0 failed"), "{out}");
}

#[test]
fn a_failed_expectation_exits_1_and_prints_the_reproducer() {
    let text = GOOD.replace(
        "recovery_time: {failure: fd1-down, max: 8m}",
        "recovery_time: {failure: fd1-down, max: 1m}",
    );
    let (code, out, err) = run_text("fail.yaml", &text);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("FAIL  recovery_time fd1-down <= 1m0s"),
        "{out}"
    );
    assert!(
        err.contains("reproduce with: ocisim run") && err.contains("--seed 7"),
        "{err}"
    );
}

#[test]
fn json_reports_parse() {
    let (code, out, _) = ocisim(&["run", "scenarios/fd-outage.yaml", "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
    assert_eq!(v["scenario"], "fd-outage");
    assert_eq!(v["failures"][0]["name"], "fd1-down");
    assert!(v["failures"][0]["recovery_ms"].as_u64().unwrap() > 350_000);
}

#[test]
fn events_and_explain_show_the_decisions() {
    let (code, out, _) = ocisim(&["run", "scenarios/fd-outage.yaml", "--events"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("Ready=Unknown; tainted node.kubernetes.io/unreachable:NoSchedule"),
        "{out}"
    );
    assert!(out.contains("evicted by the taint manager"), "{out}");
    let pod = out
        .lines()
        .find_map(|l| {
            l.split("pod ")
                .nth(1)
                .and_then(|r| r.split(' ').next())
                .filter(|p| p.starts_with("app-"))
        })
        .expect("a pod name in the events")
        .to_string();
    let (code, out, _) = ocisim(&["run", "scenarios/fd-outage.yaml", "--explain", &pod]);
    assert_eq!(code, 0);
    assert!(out.contains(&format!("Explain {pod} at")), "{out}");
    assert!(
        out.contains("PodTopologySpread") && out.contains("bound to"),
        "{out}"
    );
}

#[test]
fn bad_flags_and_missing_files_exit_2() {
    assert_eq!(ocisim(&["run"]).0, 2);
    assert_eq!(
        ocisim(&["run", "scenarios/fd-outage.yaml", "--seed", "x"]).0,
        2
    );
    let (code, _, err) = ocisim(&["run", "no/such/file.yaml"]);
    assert_eq!(code, 2);
    assert!(err.contains("no/such/file.yaml: cannot read"), "{err}");
    let (code, out, _) = ocisim(&["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("run") && out.contains("check") && out.contains("regions"));
}

/// Each broken file gets exit 2 and a message with file:line, the field and the problem.
#[test]
fn broken_scenarios_name_file_line_and_field() {
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "cidr_blocks: [10.0.0.0/16]",
            "cidr_blocks: [10.0.0.0/8]",
            ":14: field `network.vcns[0].cidr_blocks`",
            "must be between /16 and /30",
        ),
        (
            "{name: nodes-pods, cidr: 10.0.32.0/19, route_table: private-rt}",
            "{name: nodes-pods, cidr: 10.1.32.0/19, route_table: private-rt}",
            ":24: field `network.vcns[0].subnets[0].cidr`",
            "is not inside any CIDR block",
        ),
        (
            "duration: 2h",
            "duration: 2 hours",
            ":8: field `duration`",
            "unknown unit",
        ),
        (
            "fault_domain: FAULT-DOMAIN-1}",
            "fault_domain: FAULT-DOMAIN-4}",
            ":39: field `timeline[0].fault_domain_outage.fault_domain`",
            "unknown fault domain",
        ),
        (
            "    duration: 30m\n",
            "    duration: 30m\n    colour: blue\n",
            ":41: field `timeline[0]",
            "unknown field `colour`",
        ),
        (
            "size: 3",
            "size: three",
            ":31: field `cluster.virtual_node_pools[0].size`",
            "three",
        ),
        (
            "shape: Pod.Standard.E4.Flex",
            "shape: VM.Standard.E4.Flex",
            ":34: field `cluster.virtual_node_pools[0].pod_configuration.shape`",
            "not supported on virtual nodes",
        ),
        (
            "recovery_time: {failure: fd1-down, max: 8m}",
            "recovery_time: {failure: fd9, max: 8m}",
            ":49: field `expect[3].recovery_time.failure`",
            "no failure named `fd9`",
        ),
        (
            "      containers:\n",
            "      initContainers: [{name: migrate, image: x}]\n      containers:\n",
            ":63: field `spec.template.spec`",
            "init container `migrate`",
        ),
        (
            "requests: {cpu: 500m, memory: 1Gi}",
            "requests: {cpu: lots, memory: 1Gi}",
            ":74: field `spec.template.spec.containers[0].resources.requests.cpu`",
            "not a Kubernetes quantity",
        ),
        (
            "kind: Deployment",
            "kind: DaemonSet",
            ":53: field `kind`",
            "DaemonSets are not supported on virtual nodes",
        ),
        (
            "whenUnsatisfiable: ScheduleAnyway",
            "whenUnsatisfiable: Sometimes",
            ":67: field `spec.template.spec.topologySpreadConstraints[0].whenUnsatisfiable`",
            "unknown value `Sometimes`",
        ),
    ];
    for (from, to, location, message) in cases {
        assert!(GOOD.contains(from), "test case does not apply: {from}");
        let (code, out, err) = run_text("broken.yaml", &GOOD.replacen(from, to, 1));
        assert_eq!(code, 2, "{from} -> {to}: exit {code}\n{out}{err}");
        assert!(
            err.contains("broken.yaml") && err.contains(location) && err.contains(message),
            "{from} -> {to}:\n{err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn a_basic_cluster_cannot_have_virtual_nodes() {
    let text = GOOD.replace("  vcn: oke-vcn\n", "  type: basic\n  vcn: oke-vcn\n");
    let (code, _, err) = run_text("basic.yaml", &text);
    assert_eq!(code, 2);
    assert!(
        err.contains("virtual node pools can only be created in enhanced clusters"),
        "{err}"
    );
}

#[test]
fn check_validates_without_running() {
    let (code, out, _) = ocisim(&["check", "scenarios/ad-outage.yaml"]);
    assert_eq!(code, 0);
    assert!(out.contains("ok (9 virtual nodes"), "{out}");
    assert!(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scenarios/ad-outage.yaml")
            .exists()
    );
}

#[test]
fn analyze_runs_every_single_domain_failure_and_names_what_breaks() {
    let (code, out, err) = ocisim(&[
        "analyze",
        "scenarios/reference-architecture.yaml",
        "--at",
        "30m",
        "--for",
        "20m",
        "--json",
    ]);
    assert_eq!(code, 1, "{out}{err}");
    let a: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
    let failures: Vec<&str> = a["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["failure"].as_str().unwrap())
        .collect();
    assert_eq!(
        failures,
        [
            "EU-AMSTERDAM-1-AD-1",
            "EU-AMSTERDAM-1-AD-1/FAULT-DOMAIN-1",
            "EU-AMSTERDAM-1-AD-1/FAULT-DOMAIN-2",
            "EU-AMSTERDAM-1-AD-1/FAULT-DOMAIN-3"
        ]
    );
    // Losing the only AD loses everything; with every zone down nothing is evicted,
    // and the pods come back with the AD.
    assert_eq!(a["cases"][0]["min_ready"], "0/8");
    assert_eq!(a["cases"][0]["recovery"], "20m0s");
    assert_eq!(
        a["worst_capacity"],
        "EU-AMSTERDAM-1-AD-1 (fewest ready 0/8)"
    );
    // The hard FD spread keeps replacements Pending until the FD returns.
    let skew = a["broken"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b[0].as_str().unwrap().starts_with("max_skew app"))
        .unwrap();
    assert_eq!(skew[1].as_array().unwrap().len(), 3, "{skew}");
    // Deterministic, whatever the thread count.
    let (_, again, _) = ocisim(&[
        "analyze",
        "scenarios/reference-architecture.yaml",
        "--at",
        "30m",
        "--for",
        "20m",
        "--json",
        "--threads",
        "1",
    ]);
    assert_eq!(out, again);
    assert_eq!(
        ocisim(&[
            "analyze",
            "scenarios/reference-architecture.yaml",
            "--at",
            "5h"
        ])
        .0,
        2
    );
}
