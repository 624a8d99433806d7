//! The reference architecture's wiring in scenarios: reachability checks (and
//! their located errors), External Secrets, pods that need the Secret, MySQL.

use ocisim::scenario::plan::{LoadOptions, load_text};
use ocisim::scenario::run::run;

const REFERENCE: &str = include_str!("../scenarios/reference-architecture.yaml");

/// Loads `text` and returns the error's rendering.
fn load_error(text: &str) -> String {
    match load_text("ref.yaml", text, None, &LoadOptions::default()) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

fn replaced(from: &str, to: &str) -> String {
    assert!(REFERENCE.contains(from), "test case does not apply: {from}");
    REFERENCE.replacen(from, to, 1)
}

#[test]
fn bad_reachability_checks_are_located() {
    let line = "  - reachable: {from: internet, to: lb, protocol: tcp, port: 443, expect: allowed}";
    let n = REFERENCE
        .lines()
        .position(|l| l == line)
        .expect("line present")
        + 1;
    let cases = [
        (
            "to: lb,",
            "to: lbx,",
            "field `expect[7].reachable.to`",
            "no subnet named `lbx`",
        ),
        (
            "protocol: tcp, port: 443, expect: allowed}",
            "protocol: sctp, port: 443, expect: allowed}",
            "field `expect[7].reachable.protocol`",
            "unknown protocol `sctp`",
        ),
        (
            "port: 443, expect: allowed}",
            "expect: allowed}",
            "field `expect[7].reachable.port`",
            "needs `port`",
        ),
        (
            "port: 443, expect: allowed}",
            "port: 443, expect: maybe}",
            "field `expect[7].reachable.expect`",
            "`maybe` is not a verdict",
        ),
        (
            "from: internet, to: lb",
            "from: internet, to: internet:8.8.8.8",
            "field `expect[7].reachable`",
            "one end of a flow must be inside a VCN",
        ),
        (
            "from: internet, to: lb",
            "from: internet:10.0.1.7, to: lb",
            "field `expect[7].reachable.from`",
            "inside a VCN",
        ),
    ];
    for (from, to, field, message) in cases {
        let text = REFERENCE.replacen(
            &format!("{line}\n"),
            &format!("{}\n", line.replacen(from, to, 1)),
            1,
        );
        assert_ne!(text, REFERENCE, "{from}");
        let err = load_error(&text);
        assert!(
            err.contains(&format!("ref.yaml:{n}:")) && err.contains(field) && err.contains(message),
            "{from} -> {to}: {err}"
        );
    }
    let err = load_error(&replaced(
        "to: {subnet: db, nsgs: [mysql]}, protocol: tcp, port: 3306, expect: allowed",
        "to: {subnet: db, nsgs: [mysqlx]}, protocol: tcp, port: 3306, expect: allowed",
    ));
    assert!(
        err.contains("expect[6].reachable.to.nsgs") && err.contains("no NSG named `mysqlx`"),
        "{err}"
    );
}

#[test]
fn reachability_verdicts_follow_the_rules_and_name_them() {
    let (report, _) = run(load_text("ref.yaml", REFERENCE, None, &LoadOptions::default()).unwrap());
    let rows = &report.wiring.reachability;
    assert_eq!(rows.len(), 6);
    assert!(rows[0].allowed && rows[0].steps[2].contains("security list db-sl ingress rule 1"));
    assert!(!rows[2].allowed && rows[2].steps[0].contains("private"));
    assert!(rows[3].steps[0].contains("service gateway sgw"));
    // Removing the database rule: the pods no longer reach MySQL, and the check fails.
    let text = replaced(
        "          ingress:\n            - {source: 10.0.32.0/19, protocol: tcp, ports: 3306}\n",
        "          ingress: []\n",
    );
    let (report, _) = run(load_text("ref.yaml", &text, None, &LoadOptions::default()).unwrap());
    let row = &report.wiring.reachability[0];
    // NSGs and security lists are a union: the NSG still admits the pods.
    assert!(
        row.allowed && row.steps[2].contains("NSG mysql ingress rule 1 (from app-pods tcp 3306"),
        "{:?}",
        row.steps
    );
    let text = text.replacen(
        "          ingress:\n            - {source: app-pods, protocol: tcp, ports: 3306}\n",
        "          ingress: []\n",
        1,
    );
    let (report, _) = run(load_text("ref.yaml", &text, None, &LoadOptions::default()).unwrap());
    let row = &report.wiring.reachability[0];
    assert!(!row.allowed);
    assert!(
        row.steps[2].contains("no ingress rule in security list db-sl, NSG mysql admits tcp 3306"),
        "{:?}",
        row.steps
    );
    assert!(!report.expectations[6].passed);
}
