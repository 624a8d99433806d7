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

#[tokio::test]
async fn a_state_file_that_replays_differently_is_refused() {
    let dir = std::env::temp_dir().join(format!("ocisim-diverge-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("state.jsonl");
    let _ = std::fs::remove_file(&file);
    let boot = Boot {
        seed: 9,
        time_scale: 0.0,
        ..Boot::default()
    };
    {
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
        assert_eq!(v.status, StatusCode::OK);
    }
    // As if an older twin had refused the create that this one accepts.
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("\"status\":200"), "{text}");
    std::fs::write(&file, text.replacen("\"status\":200", "\"status\":400", 1)).unwrap();
    let err = ocisim::api::start(boot, Some(&file), None)
        .await
        .err()
        .expect("a diverging replay is refused");
    assert!(
        err.contains(
            "journal entry 0 (POST /20160918/vcns): answered 200 on replay where it answered 400"
        ),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The one item of `list` whose displayName is `name`.
fn named<'a>(list: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    let found: Vec<_> = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["displayName"] == name)
        .collect();
    assert_eq!(found.len(), 1, "one `{name}` in {list}");
    found[0]
}

#[tokio::test]
async fn init_scenario_network_objects_render_like_api_made_ones() {
    let c = TestClient::new(scenario_boot()).await;
    let t = c.tenancy();
    let vcns = c.get(&format!("/20160918/vcns?compartmentId={t}")).await;
    let vcn = vcns.body[0]["id"].as_str().unwrap().to_string();
    let list = |kind: &'static str| {
        let path = format!("/20160918/{kind}?compartmentId={t}&vcnId={vcn}");
        let c = &c;
        async move {
            let r = c.get(&path).await;
            assert_eq!(r.status, StatusCode::OK, "{kind}: {:?}", r.body);
            r.body
        }
    };
    let names = |v: &serde_json::Value| -> Vec<String> {
        let mut n: Vec<String> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["displayName"].as_str().unwrap().to_string())
            .collect();
        n.sort();
        n
    };
    // Every kind lists the scenario's objects under the VCN.
    let igws = list("internetGateways").await;
    let nats = list("natGateways").await;
    let sgws = list("serviceGateways").await;
    let rts = list("routeTables").await;
    let sls = list("securityLists").await;
    let nsgs = list("networkSecurityGroups").await;
    assert_eq!(names(&igws), ["igw"]);
    assert_eq!(names(&nats), ["nat"]);
    assert_eq!(names(&sgws), ["sgw"]);
    // With the VCN's defaults, as OCI makes them with every VCN.
    assert_eq!(
        names(&rts),
        ["Default Route Table for oke-vcn", "private-rt", "public-rt"]
    );
    assert_eq!(
        names(&sls),
        [
            "Default Security List for oke-vcn",
            "api-sl",
            "db-sl",
            "lb-sl",
            "pods-sl"
        ]
    );
    assert_eq!(names(&nsgs), ["app-pods", "mysql"]);
    for x in [&igws, &nats, &sgws, &rts, &sls, &nsgs] {
        for o in x.as_array().unwrap() {
            assert_eq!(o["vcnId"], vcn.as_str(), "{o}");
        }
    }
    let get = |kind: &'static str, id: &serde_json::Value| {
        let path = format!("/20160918/{kind}/{}", id.as_str().unwrap());
        let c = &c;
        async move {
            let r = c.get(&path).await;
            assert_eq!(r.status, StatusCode::OK, "{kind}: {:?}", r.body);
            r.body
        }
    };
    // Gateways carry their kind's required fields.
    let igw = get("internetGateways", &igws[0]["id"]).await;
    assert_eq!(igw["vcnId"], vcn.as_str());
    assert_eq!(igw["isEnabled"], true);
    let nat = get("natGateways", &nats[0]["id"]).await;
    assert_eq!(nat["blockTraffic"], false);
    assert!(nat["natIp"].as_str().unwrap().starts_with("129.80."));
    let sgw = get("serviceGateways", &sgws[0]["id"]).await;
    assert_eq!(sgw["blockTraffic"], false);
    assert_eq!(
        sgw["services"][0]["serviceName"], "All AMS Services In Oracle Services Network",
        "the service the scenario routes to the gateway"
    );
    // Route rules as declared: private-rt sends 0.0.0.0/0 to nat and the
    // services label to sgw.
    let rt = get("routeTables", &named(&rts, "private-rt")["id"]).await;
    assert_eq!(rt["vcnId"], vcn.as_str());
    assert_eq!(
        rt["routeRules"],
        json!([
            {"destination": "0.0.0.0/0", "destinationType": "CIDR_BLOCK",
             "networkEntityId": nats[0]["id"]},
            {"destination": "all-ams-services-in-oracle-services-network",
             "destinationType": "SERVICE_CIDR_BLOCK", "networkEntityId": sgws[0]["id"]},
        ])
    );
    // Security list rules as declared: api-sl.
    let sl = get("securityLists", &named(&sls, "api-sl")["id"]).await;
    assert_eq!(sl["vcnId"], vcn.as_str());
    assert_eq!(
        sl["ingressSecurityRules"],
        json!([
            {"protocol": "6", "source": "0.0.0.0/0", "sourceType": "CIDR_BLOCK", "isStateless": false,
             "tcpOptions": {"destinationPortRange": {"min": 6443, "max": 6443}}},
            {"protocol": "6", "source": "10.0.32.0/19", "sourceType": "CIDR_BLOCK", "isStateless": false,
             "tcpOptions": {"destinationPortRange": {"min": 12250, "max": 12250}}},
        ])
    );
    assert_eq!(
        sl["egressSecurityRules"],
        json!([{"protocol": "all", "destination": "10.0.32.0/19",
                "destinationType": "CIDR_BLOCK", "isStateless": false}])
    );
    let lb = get("securityLists", &named(&sls, "lb-sl")["id"]).await;
    assert_eq!(
        lb["egressSecurityRules"][0]["tcpOptions"]["destinationPortRange"],
        json!({"min": 30000, "max": 32767})
    );
    // NSG rules: mysql admits app-pods (an NSG peer, by OCID) on 3306.
    let app_pods = named(&nsgs, "app-pods")["id"].clone();
    let mysql = named(&nsgs, "mysql")["id"].as_str().unwrap().to_string();
    let nsg = get("networkSecurityGroups", &json!(mysql)).await;
    assert_eq!(nsg["vcnId"], vcn.as_str());
    let rules = c
        .get(&format!(
            "/20160918/networkSecurityGroups/{mysql}/securityRules"
        ))
        .await
        .body;
    assert_eq!(rules.as_array().unwrap().len(), 1, "{rules}");
    let r = &rules[0];
    assert_eq!(r["direction"], "INGRESS");
    assert_eq!(r["protocol"], "6");
    assert_eq!(r["source"], app_pods);
    assert_eq!(r["sourceType"], "NETWORK_SECURITY_GROUP");
    assert_eq!(r["isValid"], true);
    assert_eq!(
        r["tcpOptions"]["destinationPortRange"],
        json!({"min": 3306, "max": 3306})
    );
    assert_eq!(r["id"].as_str().unwrap().len(), 6);
    // Subnets point at the scenario's route table and security list by OCID.
    let subnets = list("subnets").await;
    let db = named(&subnets, "db");
    assert_eq!(db["routeTableId"], named(&rts, "private-rt")["id"]);
    assert_eq!(db["securityListIds"], json!([named(&sls, "db-sl")["id"]]));
    // The shapes are those the handlers accept: writing them back is a no-op.
    let put = c
        .put(
            &format!("/20160918/routeTables/{}", rt["id"].as_str().unwrap()),
            &json!({"routeRules": rt["routeRules"]}),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{:?}", put.body);
    assert_eq!(put.body["routeRules"], rt["routeRules"]);
    let put = c
        .put(
            &format!("/20160918/securityLists/{}", sl["id"].as_str().unwrap()),
            &json!({"ingressSecurityRules": sl["ingressSecurityRules"],
                    "egressSecurityRules": sl["egressSecurityRules"]}),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{:?}", put.body);
    assert_eq!(put.body["ingressSecurityRules"], sl["ingressSecurityRules"]);
    let upd = c
        .post(
            &format!("/20160918/networkSecurityGroups/{mysql}/actions/updateSecurityRules"),
            &json!({"securityRules": [{
                "id": r["id"], "direction": "INGRESS", "protocol": "6",
                "source": r["source"], "sourceType": "NETWORK_SECURITY_GROUP",
                "isStateless": false, "tcpOptions": r["tcpOptions"]}]}),
        )
        .await;
    assert_eq!(upd.status, StatusCode::OK, "{:?}", upd.body);
    // A reset keeps what the scenario's objects show.
    c.post("/_ocisim/reset", &json!({})).await;
    assert_eq!(list("routeTables").await, rts);
    assert_eq!(list("networkSecurityGroups").await, nsgs);
}

#[tokio::test]
async fn init_scenario_vcns_get_oci_defaults_and_subnets_a_route_table() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/hpa-spike.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    let c = TestClient::new(Boot {
        seed: 42,
        init: Some((path.to_string(), text)),
        ..Boot::default()
    })
    .await;
    let t = c.tenancy();
    let vcn = c
        .get(&format!("/20160918/vcns?compartmentId={t}"))
        .await
        .body[0]
        .clone();
    let id = vcn["id"].as_str().unwrap();
    let name = vcn["displayName"].as_str().unwrap();
    let rt = c
        .get(&format!(
            "/20160918/routeTables/{}",
            vcn["defaultRouteTableId"].as_str().unwrap()
        ))
        .await;
    assert_eq!(rt.status, StatusCode::OK, "{:?}", rt.body);
    assert_eq!(
        rt.body["displayName"],
        format!("Default Route Table for {name}")
    );
    assert_eq!(rt.body["lifecycleState"], "AVAILABLE");
    assert_eq!(rt.body["vcnId"], id);
    assert_eq!(rt.body["routeRules"], json!([]));
    let sl = c
        .get(&format!(
            "/20160918/securityLists/{}",
            vcn["defaultSecurityListId"].as_str().unwrap()
        ))
        .await;
    assert_eq!(sl.status, StatusCode::OK, "{:?}", sl.body);
    assert_eq!(sl.body["vcnId"], id);
    let dhcp = c
        .get(&format!(
            "/20160918/dhcps/{}",
            vcn["defaultDhcpOptionsId"].as_str().unwrap()
        ))
        .await;
    assert_eq!(dhcp.status, StatusCode::OK, "{:?}", dhcp.body);
    // hpa-spike's subnets name no route table: they get the default one.
    let subnets = c
        .get(&format!("/20160918/subnets?compartmentId={t}&vcnId={id}"))
        .await
        .body;
    assert!(!subnets.as_array().unwrap().is_empty());
    for s in subnets.as_array().unwrap() {
        assert_eq!(s["routeTableId"], vcn["defaultRouteTableId"], "{s}");
        assert_eq!(s["dhcpOptionsId"], vcn["defaultDhcpOptionsId"], "{s}");
    }
}
