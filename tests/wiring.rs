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

const OUTAGE: &str = include_str!("../scenarios/vault-outage-scale-out.yaml");
const ROTATION: &str = include_str!("../scenarios/secret-rotation-pod-replacement.yaml");
const WRONG_SA: &str = include_str!("../scenarios/policy-wrong-service-account.yaml");
const BLOCKED: &str = include_str!("../scenarios/db-port-blocked.yaml");

fn loaded_run(text: &str) -> (ocisim::scenario::report::Report, ocisim::sim::World) {
    run(load_text("t.yaml", text, None, &LoadOptions::default()).unwrap())
}

#[test]
fn a_vault_outage_leaves_the_secret_alone_and_new_pods_start_from_it() {
    let (r, w) = loaded_run(OUTAGE);
    let (spec, st) = &w.wiring.eso.externals[0];
    assert_eq!(spec.name, "db-credentials");
    // Reconciles failed during the outage, with growing backoff, and it synced again after.
    assert!(st.failed_total >= 15, "{st:?}");
    assert_eq!(st.ready, Some(true));
    let fail = &r.wiring.external_secrets[0].events[1];
    assert!(
        fail.starts_with("00:20:00  Ready=False SecretSyncedError")
            && fail.contains("503 ServiceUnavailable"),
        "{fail}"
    );
    // The Secret was written once and never touched during the outage.
    let secret = &w.wiring.eso.secrets[&("app".to_string(), "db-credentials".to_string())];
    assert_eq!(secret.resource_version, 1);
    assert_eq!(secret.data["password"], "Db-Passw0rd!");
    // Twelve pods, six of them started during the outage, all with the cached password.
    assert_eq!(
        r.wiring.secret_versions,
        vec!["app/app: 12 running pod(s): 12 with Secret db-credentials from db-credentials v1"]
    );
    assert!(w.wiring.waiting.is_empty());
    assert_eq!(r.traffic[0].failed_db_auth, 0);
    // The retry after the vault came back is bounded by the 1000 s backoff cap.
    let synced = r.wiring.external_secrets[0].events[2].clone();
    assert!(synced.contains("Ready=True SecretSynced"), "{synced}");
}

#[test]
fn pods_wait_in_create_container_config_error_until_the_secret_exists() {
    // The vault is down from the start: no Secret until it answers at 3m.
    let text = OUTAGE
        .replace(
            "  - at: 20m\n    vault_outage: {vault: app-vault}\n    duration: 1h",
            "  - at: 0s\n    vault_outage: {vault: app-vault}\n    duration: 3m",
        )
        .replace(
            "  - ready_replicas: {deployment: app, min: 12, after: 32m}\n",
            "",
        );
    let (r, w) = loaded_run(&text);
    assert_eq!(w.wiring.waiting.len(), 6, "{:?}", r.wiring.waiting);
    let created =
        w.wiring.eso.secrets[&("app".to_string(), "db-credentials".to_string())].created_at;
    assert!(created.as_ms() >= 180_000, "created at {created}");
    for wt in w.wiring.waiting.values() {
        assert_eq!(wt.reason, "CreateContainerConfigError");
        assert_eq!(wt.message, "secret \"db-credentials\" not found");
        let started = wt.started_at.expect("started once the Secret existed");
        // kubelet retries every 10 s: each pod starts within 10 s of the Secret.
        assert!(
            started >= created && started.as_ms() - created.as_ms() <= 10_000,
            "{started} vs {created}"
        );
    }
    assert!(r.wiring.waiting[0].contains("CreateContainerConfigError since"));
}

#[test]
fn a_secret_volume_waits_in_container_creating_and_a_missing_key_is_named() {
    let volume = OUTAGE
        .replace("          env:\n            - name: DB_PASSWORD\n              valueFrom:\n                secretKeyRef: {name: db-credentials, key: password}\n", "          volumeMounts: [{name: creds, mountPath: /creds}]\n")
        .replace("      containers:\n        - name: app", "      volumes:\n        - name: creds\n          secret: {secretName: db-credentialz}\n      containers:\n        - name: app");
    let (_, w) = loaded_run(&volume);
    let wt = w.wiring.waiting.values().next().expect("pods wait");
    assert_eq!(wt.reason, "ContainerCreating");
    assert!(
        wt.message
            .contains("MountVolume.SetUp failed for volume \"db-credentialz\""),
        "{}",
        wt.message
    );
    assert!(wt.started_at.is_none());
    let key = OUTAGE.replace(
        "secretKeyRef: {name: db-credentials, key: password}",
        "secretKeyRef: {name: db-credentials, key: pass}",
    );
    let (_, w) = loaded_run(&key);
    let wt = w.wiring.waiting.values().next().expect("pods wait");
    assert_eq!(
        wt.message,
        "couldn't find key pass in Secret app/db-credentials"
    );
    // optional: the pod starts without it.
    let optional = OUTAGE.replace(
        "secretKeyRef: {name: db-credentials, key: password}",
        "secretKeyRef: {name: nothing, key: pass, optional: true}",
    );
    let (_, w) = loaded_run(&optional);
    assert!(w.wiring.waiting.is_empty());
}

#[test]
fn a_rotated_secret_reaches_only_pods_started_after_the_sync() {
    let (r, w) = loaded_run(ROTATION);
    assert_eq!(
        r.wiring.secret_versions,
        vec![
            "app/app: 6 running pod(s): 4 with Secret db-credentials from db-credentials v1, 2 with Secret db-credentials from db-credentials v2"
        ]
    );
    let ev = &r.wiring.external_secrets[0].events;
    assert!(
        ev[1].starts_with(
            "00:35:00  Ready=True SecretSynced: wrote Secret db-credentials from db-credentials v2"
        ),
        "{ev:?}"
    );
    // Every v2 pod started after the 35m sync; every v1 pod before it.
    for (pod, snap) in &w.wiring.pod_secrets {
        let p = w.kube.pod(*pod);
        if p.deleted_at.is_some() {
            continue;
        }
        let v2 = snap["db-credentials"].source.ends_with("v2");
        assert_eq!(v2, p.ready_at.unwrap().as_ms() > 35 * 60_000, "{}", p.name);
    }
    // Old pods hold the old password after the database's changed: wrong-password failures.
    assert!(r.traffic[0].failed_db_auth > 0);
    assert_eq!(r.traffic[0].failed_db_unavailable, 0);
}

#[test]
fn a_policy_for_the_wrong_service_account_denies_the_sync_and_says_why() {
    let (r, w) = loaded_run(WRONG_SA);
    let es = &r.wiring.external_secrets[0];
    assert_eq!(es.condition, "Ready=False SecretSyncedError");
    assert!(
        es.message.contains("service account external-secrets")
            && es
                .message
                .contains("request.principal.service_account = 'eso' is false"),
        "{}",
        es.message
    );
    assert!(w.wiring.eso.secrets.is_empty());
    assert_eq!(w.wiring.waiting.len(), 6);
    assert!(w.wiring.waiting.values().all(|x| x.started_at.is_none()));
    assert_eq!(r.traffic[0].served, 0);
    // The right service account: synced, pods start.
    let (r, _) = loaded_run(&WRONG_SA.replace(
        "service_account = 'eso'",
        "service_account = 'external-secrets'",
    ));
    assert_eq!(
        r.wiring.external_secrets[0].condition,
        "Ready=True SecretSynced"
    );
    // A namespace-scoped store in another namespace is a different principal.
    let (r, _) = loaded_run(
        &WRONG_SA
            .replace(
                "service_account = 'eso'",
                "service_account = 'external-secrets'",
            )
            .replace(
                "request.principal.namespace = 'app'",
                "request.principal.namespace = 'prod'",
            ),
    );
    assert!(
        r.wiring.external_secrets[0]
            .message
            .contains("request.principal.namespace = 'prod' is false")
    );
}

#[test]
fn a_deleted_secret_fails_the_sync_with_retain_and_deletes_the_target_with_delete() {
    let text = ROTATION.replace(
        "  - at: 32m\n    rotate_secret: {vault: app-vault, secret: db-credentials, content: '{\"username\": \"app\", \"password\": \"Rotated-Passw0rd!\"}'}",
        "  - at: 32m\n    delete_secret: {vault: app-vault, secret: db-credentials}",
    );
    assert_ne!(text, ROTATION);
    let (r, w) = loaded_run(&text.replace(
        "  - external_secret: {name: db-credentials, namespace: app, ready: true}\n",
        "",
    ));
    assert_eq!(
        r.wiring.external_secrets[0].condition,
        "Ready=False SecretSyncedError"
    );
    assert!(
        r.wiring.external_secrets[0]
            .message
            .contains("404 NotAuthorizedOrNotFound")
    );
    assert!(
        w.wiring
            .eso
            .secrets
            .contains_key(&("app".to_string(), "db-credentials".to_string()))
    );
    let text = text
        .replace(
            "  - external_secret: {name: db-credentials, namespace: app, ready: true}\n",
            "",
        )
        .replace(
            "  target:\n    name: db-credentials\n",
            "  target:\n    name: db-credentials\n    deletionPolicy: Delete\n",
        );
    let (r, w) = loaded_run(&text);
    assert_eq!(
        r.wiring.external_secrets[0].condition,
        "Ready=True SecretDeleted"
    );
    assert!(w.wiring.eso.secrets.is_empty());
    // Replacement pods after the FD outage cannot start without it.
    assert!(w.wiring.waiting.values().any(|x| x.started_at.is_none()));
}

#[test]
fn a_blocked_database_port_fails_every_request_as_unreachable() {
    let r = run_text(BLOCKED);
    assert_eq!(r.traffic[0].served, 0);
    assert!(r.traffic[0].failed_db_unreachable > 200_000);
    assert!(
        r.wiring.databases[0].clients[0]
            .contains("denied at ingress: no ingress rule in security list db-sl admits tcp 3306")
    );
}

#[test]
fn bad_secret_wiring_is_located() {
    let cases = [
        (
            "principalType: Workload",
            "principalType: Robot",
            "spec.provider.oracle.principalType",
            "unknown principalType `Robot`",
        ),
        (
            "      vault: app-vault\n",
            "      vault: other-vault\n",
            "spec.provider.oracle.vault",
            "no vault `other-vault`",
        ),
        (
            "      region: ca-toronto-1\n",
            "      region: us-phoenix-1\n",
            "spec.provider.oracle.region",
            "us-phoenix-1",
        ),
        (
            "  secretStoreRef:\n    name: oci-vault",
            "  secretStoreRef:\n    name: oci-vaultx",
            "spec.secretStoreRef.name",
            "no SecretStore `oci-vaultx`",
        ),
        (
            "        property: password\n",
            "        property: password\n        version: NEWEST\n",
            "spec.data[0].remoteRef.version",
            "not an OCI stage",
        ),
        (
            "  refreshInterval: 5m",
            "  refreshInterval: often",
            "spec.refreshInterval",
            "often",
        ),
        (
            "  target:\n    name: db-credentials\n",
            "  target:\n    name: db-credentials\n    creationPolicy: Always\n",
            "spec.target.creationPolicy",
            "unknown creationPolicy `Always`",
        ),
        (
            "Allow any-user to read",
            "Allow any-user to devour",
            "policies[0].statements[0]",
            "devour",
        ),
        (
            "    compartment: app\n    secrets:",
            "    compartment: ops\n    secrets:",
            "vaults[0].compartment",
            "no compartment `ops`",
        ),
        (
            "rotate_secret: {vault: app-vault, secret: db-credentials,",
            "rotate_secret: {vault: app-vault, secret: db-creds,",
            "timeline[0].rotate_secret.secret",
            "no secret named `db-creds`",
        ),
        (
            "set_mysql_password: {db_system: app-db,",
            "set_mysql_password: {db_system: app-dbx,",
            "timeline[1].set_mysql_password.db_system",
            "no DB system named `app-dbx`",
        ),
    ];
    for (from, to, field, message) in cases {
        assert!(ROTATION.contains(from), "test case does not apply: {from}");
        let err = match load_text(
            "t.yaml",
            &ROTATION.replacen(from, to, 1),
            None,
            &LoadOptions::default(),
        ) {
            Ok(_) => panic!("{from}: expected an error"),
            Err(e) => e.to_string(),
        };
        assert!(
            err.contains("t.yaml:") && err.contains(field) && err.contains(message),
            "{from} -> {to}: {err}"
        );
    }
}

/// The rotation scenario with `spec` lines added to its ExternalSecret.
fn rotation_with(extra_spec: &str, extra_target: &str) -> String {
    let spec = "spec:\n  refreshInterval: 5m\n";
    let target = "  target:\n    name: db-credentials\n";
    assert!(ROTATION.contains(spec) && ROTATION.contains(target));
    ROTATION
        .replacen(spec, &format!("{spec}{extra_spec}"), 1)
        .replacen(target, &format!("{target}{extra_target}"), 1)
}

#[test]
fn created_once_and_on_change_never_pick_up_a_rotation() {
    for policy in ["CreatedOnce", "OnChange"] {
        let text = rotation_with(&format!("  refreshPolicy: {policy}\n"), "");
        let (r, w) = loaded_run(&text);
        let secret = &w.wiring.eso.secrets[&("app".to_string(), "db-credentials".to_string())];
        // Written once, at creation; the rotation at 30m is never synced.
        assert_eq!(secret.resource_version, 1, "{policy}");
        assert!(secret.source.ends_with("v1"), "{policy}: {}", secret.source);
        assert_eq!(
            r.wiring.secret_versions,
            vec!["app/app: 6 running pod(s): 6 with Secret db-credentials from db-credentials v1"],
            "{policy}"
        );
        // The periodic policy (the scenario as shipped) does pick it up.
        assert_ne!(text, ROTATION);
    }
    let (_, w) = loaded_run(ROTATION);
    let secret = &w.wiring.eso.secrets[&("app".to_string(), "db-credentials".to_string())];
    assert!(secret.source.ends_with("v2"), "{}", secret.source);
}

#[test]
fn creation_policy_merge_needs_an_existing_secret_and_none_writes_nothing() {
    let text = rotation_with("", "    creationPolicy: Merge\n");
    let (r, w) = loaded_run(&text);
    let (_, st) = &w.wiring.eso.externals[0];
    assert_eq!(st.ready, Some(false));
    assert!(
        r.wiring.external_secrets[0].events[0]
            .contains("creationPolicy Merge: Secret app/db-credentials does not exist"),
        "{:?}",
        r.wiring.external_secrets[0].events
    );
    assert!(w.wiring.eso.secrets.is_empty());
    assert!(
        w.wiring
            .waiting
            .values()
            .all(|wt| wt.reason == "CreateContainerConfigError" && wt.started_at.is_none()),
        "{:?}",
        r.wiring.waiting
    );
    assert!(!w.wiring.waiting.is_empty());

    let text = rotation_with("", "    creationPolicy: None\n");
    let (_, w) = loaded_run(&text);
    assert!(
        w.wiring.eso.secrets.is_empty(),
        "creationPolicy None writes no Secret"
    );
    assert!(!w.wiring.waiting.is_empty());
}
