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
    assert_eq!(rows.len(), 7);
    assert!(rows[6].allowed && rows[6].flow == "pods -> mysql tcp :3306");
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

const FAILOVER: &str = include_str!("../scenarios/mysql-failover-fd-outage.yaml");

fn run_text(text: &str) -> ocisim::scenario::report::Report {
    run(load_text("t.yaml", text, None, &LoadOptions::default()).unwrap()).0
}

#[test]
fn mysql_fails_over_after_the_configured_time_and_the_app_errors_only_meanwhile() {
    let r = run_text(FAILOVER);
    let db = &r.wiring.databases[0];
    assert_eq!(db.failovers, 1);
    assert!(
        db.instances[1].contains("FAULT-DOMAIN-2 primary"),
        "{:?}",
        db.instances
    );
    assert_eq!(
        db.events,
        vec![
            "01:00:00  primary in AD-1/FAULT-DOMAIN-1 lost; a secondary takes over after 1m0s",
            "01:01:00  failover: primary moves from AD-1/FAULT-DOMAIN-1 to AD-1/FAULT-DOMAIN-2",
        ]
    );
    let fast = r.traffic[0].failed_db_unavailable;
    assert!(fast > 0);
    // A minute more of failover: a minute more of requests (120 rps, all pods
    // healthy by then) fail for want of a primary.
    let r2 = run_text(&FAILOVER.replace("failover_time: 60s", "failover_time: 120s"));
    assert!(r2.wiring.databases[0].events[1].starts_with("01:02:00  failover"));
    let slow = r2.traffic[0].failed_db_unavailable;
    assert_eq!(slow - fast, 60 * 120, "{fast} vs {slow}");
    // Standalone: no failover; down for the whole outage (30 minutes).
    let r3 = run_text(&FAILOVER.replace("high_availability: true", "high_availability: false"));
    assert_eq!(r3.wiring.databases[0].failovers, 0);
    assert!(
        r3.wiring.databases[0].events[1]
            .starts_with("01:30:00  primary in AD-1/FAULT-DOMAIN-1 back")
    );
    assert!(r3.traffic[0].failed_db_unavailable > 25 * fast);
}

#[test]
fn a_primary_outside_the_failed_domain_keeps_serving() {
    let r = run_text(&FAILOVER.replace(
        "fault_domain: FAULT-DOMAIN-1\n      password",
        "fault_domain: FAULT-DOMAIN-3\n      password",
    ));
    assert_eq!(r.wiring.databases[0].failovers, 0);
    assert_eq!(r.traffic[0].failed_db_unavailable, 0);
    assert!(r.wiring.databases[0].instances[0].contains("FAULT-DOMAIN-3 primary"));
}

#[test]
fn bad_mysql_sections_are_located() {
    let cases = [
        (
            "subnet: db\n      high",
            "subnet: dbx\n      high",
            "mysql.db_systems[0].subnet",
            "no subnet named `dbx`",
        ),
        (
            "password: \"Db-Passw0rd!\"",
            "password: weak",
            "mysql.db_systems[0].password",
            "password",
        ),
        (
            "{deployment: app}",
            "{deployment: web}",
            "mysql.db_systems[0].clients[0].deployment",
            "no Deployment named `web`",
        ),
        (
            "fault_domain: FAULT-DOMAIN-1\n      password",
            "fault_domain: FAULT-DOMAIN-7\n      password",
            "mysql.db_systems[0].fault_domain",
            "fault domain",
        ),
        (
            "failover_time: 60s",
            "failover_time: soon",
            "mysql.failover_time",
            "soon",
        ),
    ];
    for (from, to, field, message) in cases {
        assert!(FAILOVER.contains(from), "{from}");
        let err = match load_text(
            "t.yaml",
            &FAILOVER.replacen(from, to, 1),
            None,
            &LoadOptions::default(),
        ) {
            Ok(_) => panic!("{from}: expected an error"),
            Err(e) => e.to_string(),
        };
        assert!(
            err.contains(field) && err.contains(message) && err.contains("t.yaml:"),
            "{from}: {err}"
        );
    }
}
