//! The control plane: start-up from a scenario, FD outages in the World,
//! chaos rules, the duration table, and the state file surviving a restart.

use axum::http::StatusCode;
use ocisim::api::state::Boot;
use ocisim::api::testing::TestClient;
use ocisim::model::kube::cluster::NodeReady;
use serde_json::json;

fn scenario_boot() -> Boot {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/reference-architecture.yaml"
    );
    let text = std::fs::read_to_string(path).unwrap();
    Boot {
        seed: 42,
        init: Some((path.to_string(), text)),
        ..Boot::default()
    }
}

#[tokio::test]
async fn init_scenario_objects_are_visible_and_an_fd_outage_reaches_the_nodes() {
    let c = TestClient::new(scenario_boot()).await;
    let vcns = c
        .get(&format!("/20160918/vcns?compartmentId={}", c.tenancy()))
        .await;
    assert_eq!(vcns.body[0]["displayName"], "oke-vcn");
    assert_eq!(vcns.body[0]["lifecycleState"], "AVAILABLE");
    let ads = c
        .get(&format!(
            "/20160918/availabilityDomains?compartmentId={}",
            c.tenancy()
        ))
        .await;
    assert_eq!(
        ads.body.as_array().unwrap().len(),
        1,
        "eu-amsterdam-1 has one AD"
    );
    let ready_in_fd1 = |c: &TestClient| {
        let t = c.state.lock_raw();
        t.world
            .kube
            .nodes
            .iter()
            .filter(|n| n.virtual_node.fault_domain.0 == 1 && !n.removed)
            .map(|n| n.ready == NodeReady::True)
            .collect::<Vec<_>>()
    };
    assert!(!ready_in_fd1(&c).is_empty());
    assert!(ready_in_fd1(&c).iter().all(|r| *r));
    let o = c
        .post(
            "/_ocisim/outages",
            &json!({"availabilityDomain": "1", "faultDomain": "FAULT-DOMAIN-1"}),
        )
        .await;
    assert_eq!(o.status, StatusCode::CREATED, "{:?}", o.body);
    let id = o.body["id"].as_u64().unwrap();
    c.advance("2m").await;
    assert!(
        ready_in_fd1(&c).iter().all(|r| !*r),
        "FD-1 nodes go NotReady"
    );
    let bad = c
        .post("/_ocisim/outages", &json!({"availabilityDomain": "7"}))
        .await;
    assert!(
        bad.body["message"]
            .as_str()
            .unwrap()
            .starts_with("availabilityDomain:")
    );
    let r = c.delete(&format!("/_ocisim/outages/{id}")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    c.advance("2m").await;
    assert!(ready_in_fd1(&c).iter().all(|r| *r), "FD-1 nodes recover");
    // A reset goes back to the scenario's initial state (a clone, not a reload).
    c.post(
        "/_ocisim/outages",
        &json!({"availabilityDomain": "1", "faultDomain": "FAULT-DOMAIN-2"}),
    )
    .await;
    c.post(
        "/20160918/vcns",
        &json!({"compartmentId": c.tenancy(), "cidrBlock": "10.1.0.0/16"}),
    )
    .await;
    assert_eq!(
        c.post("/_ocisim/reset", &json!({})).await.status,
        StatusCode::OK
    );
    let after = c
        .get(&format!("/20160918/vcns?compartmentId={}", c.tenancy()))
        .await;
    assert_eq!(after.body, vcns.body);
    assert_eq!(c.get("/_ocisim/outages").await.body, json!([]));
    assert_eq!(c.state.lock_raw().now.as_ms(), 0);
}

#[tokio::test]
async fn chaos_rules_inject_errors_from_the_seeded_stream() {
    let c = TestClient::empty().await;
    let r = c
        .put(
            "/_ocisim/chaos",
            &json!({"rules": [{"service": "core", "operation": "POST /20160918/vcns",
                               "probability": 1.0, "status": 429}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let body = json!({"compartmentId": c.tenancy(), "cidrBlock": "10.0.0.0/16"});
    let hit = c.post("/20160918/vcns", &body).await;
    assert_eq!(
        (hit.status, hit.code()),
        (StatusCode::TOO_MANY_REQUESTS, "TooManyRequests")
    );
    // Other operations pass, and the injected failure changed nothing.
    let list = c
        .get(&format!("/20160918/vcns?compartmentId={}", c.tenancy()))
        .await;
    assert_eq!(list.body, json!([]));
    let bad = c
        .put(
            "/_ocisim/chaos",
            &json!({"rules": [{"probability": 2.0, "status": 500}]}),
        )
        .await;
    assert!(
        bad.body["message"]
            .as_str()
            .unwrap()
            .contains("probability")
    );
    assert_eq!(
        c.delete("/_ocisim/chaos").await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(c.post("/20160918/vcns", &body).await.status, StatusCode::OK);
}

#[tokio::test]
async fn the_duration_table_drives_lifecycles() {
    let c = TestClient::empty().await;
    let r = c
        .put(
            "/_ocisim/durations",
            &json!({"identity.compartment.create": "1h"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let made = c
        .post(
            "/20160918/compartments",
            &json!({"compartmentId": c.tenancy(), "name": "slow", "description": ""}),
        )
        .await;
    let id = made.body["id"].as_str().unwrap().to_string();
    c.advance("59m").await;
    let g = c.get(&format!("/20160918/compartments/{id}")).await;
    assert_eq!(g.body["lifecycleState"], "CREATING");
    c.advance("2m").await;
    let g = c.get(&format!("/20160918/compartments/{id}")).await;
    assert_eq!(g.body["lifecycleState"], "ACTIVE");
    let table = c.get("/_ocisim/durations").await;
    assert_eq!(table.body["identity.compartment.create"], "1h0m0s");
    let bad = c.put("/_ocisim/durations", &json!({"x": "soon"})).await;
    assert_eq!(bad.code(), "InvalidParameter");
}

#[tokio::test]
async fn a_restart_resumes_from_the_state_file() {
    let dir = std::env::temp_dir().join(format!("ocisim-state-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("state.jsonl");
    let _ = std::fs::remove_file(&file);
    let boot = Boot {
        seed: 9,
        time_scale: 0.0,
        ..Boot::default()
    };
    let before = {
        let s = ocisim::api::start(boot.clone(), Some(&file), None)
            .await
            .unwrap();
        let c = TestClient::from_state(s);
        let v = c
            .post(
                "/20160918/vcns",
                &json!({"compartmentId": c.tenancy(), "cidrBlock": "10.0.0.0/16"}),
            )
            .await;
        let vid = v.body["id"].as_str().unwrap().to_string();
        c.post(
            "/20160918/subnets",
            &json!({"compartmentId": c.tenancy(), "vcnId": vid, "cidrBlock": "10.0.1.0/24"}),
        )
        .await;
        c.advance("1h").await;
        c.get(&format!("/20160918/subnets?compartmentId={}", c.tenancy()))
            .await
            .body
    };
    // A new process on the same file: same objects, same OCIDs, same time.
    let s = ocisim::api::start(boot, Some(&file), None).await.unwrap();
    let c = TestClient::from_state(s);
    let after = c
        .get(&format!("/20160918/subnets?compartmentId={}", c.tenancy()))
        .await
        .body;
    assert_eq!(before, after);
    assert_eq!(after[0]["lifecycleState"], "AVAILABLE");
    let t = c.get("/_ocisim/time").await;
    assert_eq!(t.body["virtualMs"], 3_600_000);
    // The next OCID continues the sequence instead of repeating one.
    let v2 = c
        .post(
            "/20160918/vcns",
            &json!({"compartmentId": c.tenancy(), "cidrBlock": "10.1.0.0/16"}),
        )
        .await;
    assert_eq!(v2.status, StatusCode::OK);
    let all = c
        .get(&format!("/20160918/vcns?compartmentId={}", c.tenancy()))
        .await;
    assert_eq!(all.body.as_array().unwrap().len(), 2);
    let _ = std::fs::remove_dir_all(&dir);
}
