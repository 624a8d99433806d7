//! The REST API in process: the pipeline (request ids, errors, retry tokens,
//! if-match, pagination, journal), identity and VCNs, work requests in
//! virtual time, and snapshot/restore.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use ocisim::api::testing::TestClient;
use serde_json::{Value, json};

async fn vcn(c: &TestClient, cidr: &str, name: &str) -> Value {
    let r = c
        .post(
            "/20160918/vcns",
            &json!({"compartmentId": c.tenancy(), "cidrBlock": cidr, "displayName": name, "dnsLabel": "v"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    r.body
}

#[tokio::test]
async fn vcn_lifecycle_defaults_and_delete() {
    let c = TestClient::empty().await;
    let v = vcn(&c, "10.0.0.0/16", "main").await;
    assert_eq!(v["lifecycleState"], "PROVISIONING");
    assert_eq!(v["vcnDomainName"], "v.oraclevcn.com");
    let id = v["id"].as_str().unwrap();
    assert!(id.starts_with("ocid1.vcn.oc1.phx."));
    c.advance("2s").await;
    let g = c.get(&format!("/20160918/vcns/{id}")).await;
    assert_eq!(g.body["lifecycleState"], "AVAILABLE");
    assert!(g.header("etag").is_some());
    // The three defaults exist and are listed with the VCN's compartment.
    let sl = c
        .get(&format!(
            "/20160918/dhcps?compartmentId={}&vcnId={id}",
            c.tenancy()
        ))
        .await;
    assert_eq!(sl.body.as_array().unwrap().len(), 1);
    assert_eq!(sl.body[0]["id"], v["defaultDhcpOptionsId"]);
    assert_eq!(sl.body[0]["displayName"], "Default DHCP Options for main");
    // Delete: TERMINATING, then TERMINATED; the CIDR and the limit are free again.
    let d = c.delete(&format!("/20160918/vcns/{id}")).await;
    assert_eq!(d.status, StatusCode::NO_CONTENT);
    assert_eq!(
        c.get(&format!("/20160918/vcns/{id}")).await.body["lifecycleState"],
        "TERMINATING"
    );
    c.advance("2s").await;
    assert_eq!(
        c.get(&format!("/20160918/vcns/{id}")).await.body["lifecycleState"],
        "TERMINATED"
    );
    assert!(c.state.lock_raw().world.network.vcn_by_ocid(id).is_none());
}

#[tokio::test]
async fn errors_name_the_field_and_use_oci_codes() {
    let c = TestClient::empty().await;
    let r = c.get("/20160918/nothing").await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "NotFound"));
    assert!(r.header("opc-request-id").is_some());
    let r = c.get("/20160918/vcns/ocid1.vcn.oc1.phx.nope").await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::NOT_FOUND, "NotAuthorizedOrNotFound")
    );
    let r = c.get("/20160918/vcns").await;
    assert_eq!(r.code(), "MissingParameter");
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("compartmentId")
    );
    let r = c
        .post(
            "/20160918/vcns",
            &json!({"compartmentId": c.tenancy(), "cidrBlock": 7}),
        )
        .await;
    assert_eq!(r.code(), "InvalidParameter");
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .starts_with("cidrBlock:")
    );
    let r = c
        .post(
            "/20160918/vcns",
            &json!({"compartmentId": c.tenancy(), "cidrBlock": "10.0.0.0/33"}),
        )
        .await;
    assert_eq!(r.code(), "InvalidParameter");
    let raw = Request::builder()
        .method("POST")
        .uri("/20160918/vcns")
        .body(Body::from("{\"compartmentId\": "))
        .unwrap();
    assert_eq!(c.send_raw(raw).await.code(), "CannotParseRequest");
    let big = "x".repeat(2 << 20);
    let raw = Request::builder()
        .method("POST")
        .uri("/20160918/vcns")
        .body(Body::from(big))
        .unwrap();
    assert_eq!(c.send_raw(raw).await.status, StatusCode::PAYLOAD_TOO_LARGE);
    let r = c.send("PATCH", "/20160918/vcns", None, &[]).await;
    assert_eq!(r.code(), "MethodNotAllowed");
    // A CIDR overlap between two blocks of one VCN.
    let r = c
        .post(
            "/20160918/vcns",
            &json!({"compartmentId": c.tenancy(), "cidrBlocks": ["10.0.0.0/16", "10.0.128.0/17"]}),
        )
        .await;
    assert_eq!(r.code(), "InvalidParameter");
    assert!(r.body["message"].as_str().unwrap().contains("overlaps"));
}

#[tokio::test]
async fn retry_tokens_and_if_match() {
    let c = TestClient::empty().await;
    let body = json!({"compartmentId": c.tenancy(), "cidrBlock": "10.0.0.0/16"});
    let a = c
        .send(
            "POST",
            "/20160918/vcns",
            Some(&body),
            &[("opc-retry-token", "t1")],
        )
        .await;
    let b = c
        .send(
            "POST",
            "/20160918/vcns",
            Some(&body),
            &[("opc-retry-token", "t1")],
        )
        .await;
    assert_eq!(a.body["id"], b.body["id"]);
    let other = json!({"compartmentId": c.tenancy(), "cidrBlock": "10.1.0.0/16"});
    let x = c
        .send(
            "POST",
            "/20160918/vcns",
            Some(&other),
            &[("opc-retry-token", "t1")],
        )
        .await;
    assert_eq!(
        (x.status, x.code()),
        (StatusCode::CONFLICT, "InvalidatedRetryToken")
    );
    let list = c
        .get(&format!("/20160918/vcns?compartmentId={}", c.tenancy()))
        .await;
    assert_eq!(list.body.as_array().unwrap().len(), 1, "no duplicate VCN");
    let id = a.body["id"].as_str().unwrap();
    let etag = a.header("etag").unwrap().to_string();
    let upd = json!({"displayName": "renamed"});
    let bad = c
        .send(
            "PUT",
            &format!("/20160918/vcns/{id}"),
            Some(&upd),
            &[("if-match", "zzz")],
        )
        .await;
    assert_eq!(
        (bad.status, bad.code()),
        (StatusCode::PRECONDITION_FAILED, "NoEtagMatch")
    );
    let ok = c
        .send(
            "PUT",
            &format!("/20160918/vcns/{id}"),
            Some(&upd),
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(ok.body["displayName"], "renamed");
    assert_ne!(ok.header("etag").unwrap(), etag);
}

#[tokio::test]
async fn pages_follow_opc_next_page_and_sort() {
    let c = TestClient::empty().await;
    for i in 0..5 {
        vcn(&c, &format!("10.{i}.0.0/16"), &format!("n{i}")).await;
        c.advance("1s").await;
    }
    let mut names = Vec::new();
    let mut page: Option<String> = None;
    let mut calls = 0;
    loop {
        let mut path = format!(
            "/20160918/vcns?compartmentId={}&limit=2&sortBy=DISPLAYNAME",
            c.tenancy()
        );
        if let Some(p) = &page {
            path.push_str(&format!("&page={p}"));
        }
        let r = c.get(&path).await;
        calls += 1;
        for v in r.body.as_array().unwrap() {
            names.push(v["displayName"].as_str().unwrap().to_string());
        }
        match r.header("opc-next-page") {
            Some(p) => page = Some(p.to_string()),
            None => break,
        }
    }
    assert_eq!(calls, 3);
    assert_eq!(names, ["n0", "n1", "n2", "n3", "n4"]);
    // TIMECREATED sorts newest first by default.
    let r = c
        .get(&format!(
            "/20160918/vcns?compartmentId={}&sortBy=TIMECREATED",
            c.tenancy()
        ))
        .await;
    assert_eq!(r.body[0]["displayName"], "n4");
    let r = c
        .get(&format!(
            "/20160918/vcns?compartmentId={}&sortBy=SIZE",
            c.tenancy()
        ))
        .await;
    assert_eq!(r.code(), "InvalidParameter");
}

#[tokio::test]
async fn compartments_nest_and_delete_through_a_work_request() {
    let c = TestClient::empty().await;
    let root = c.tenancy();
    let a = c
        .post(
            "/20160918/compartments",
            &json!({"compartmentId": root, "name": "net", "description": "n"}),
        )
        .await;
    assert_eq!(a.body["lifecycleState"], "CREATING");
    let a_id = a.body["id"].as_str().unwrap().to_string();
    // A child of a CREATING compartment is refused.
    let early = c
        .post(
            "/20160918/compartments",
            &json!({"compartmentId": a_id, "name": "prod", "description": ""}),
        )
        .await;
    assert_eq!(early.status, StatusCode::CONFLICT);
    c.advance("1m").await;
    let b = c
        .post(
            "/20160918/compartments",
            &json!({"compartmentId": a_id, "name": "prod", "description": ""}),
        )
        .await;
    let b_id = b.body["id"].as_str().unwrap().to_string();
    c.advance("1m").await;
    let children = c
        .get(&format!("/20160918/compartments?compartmentId={root}"))
        .await;
    assert_eq!(children.body.as_array().unwrap().len(), 1);
    let all = c
        .get(&format!(
            "/20160918/compartments?compartmentId={root}&compartmentIdInSubtree=true&accessLevel=ANY"
        ))
        .await;
    assert_eq!(all.body.as_array().unwrap().len(), 2);
    // Not empty: it has a child.
    let r = c.delete(&format!("/20160918/compartments/{a_id}")).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = c.delete(&format!("/20160918/compartments/{b_id}")).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let wr = r.header("opc-work-request-id").unwrap().to_string();
    let w = c.get(&format!("/20160918/workRequests/{wr}")).await;
    assert_eq!(w.body["status"], "ACCEPTED");
    assert_eq!(w.body["operationType"], "DELETE_COMPARTMENT");
    c.advance("30s").await;
    let w = c.get(&format!("/20160918/workRequests/{wr}")).await;
    assert_eq!(w.body["status"], "IN_PROGRESS");
    assert_eq!(w.body["resources"][0]["actionType"], "IN_PROGRESS");
    let pct = w.body["percentComplete"].as_f64().unwrap();
    assert!(pct > 0.0 && pct < 100.0, "{pct}");
    c.advance("5m").await;
    let w = c.get(&format!("/20160918/workRequests/{wr}")).await;
    assert_eq!(w.body["status"], "SUCCEEDED");
    assert_eq!(w.body["resources"][0]["actionType"], "DELETED");
    let g = c.get(&format!("/20160918/compartments/{b_id}")).await;
    assert_eq!(g.body["lifecycleState"], "DELETED");
    assert!(g.body["name"].as_str().unwrap().starts_with("prod."));
    // Unknown work requests are 404 on the shared route.
    let r = c
        .get("/20160918/workRequests/ocid1.coreservicesworkrequest.oc1.phx.x")
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn snapshot_reset_restore_round_trip() {
    let c = TestClient::empty().await;
    vcn(&c, "10.0.0.0/16", "a").await;
    c.advance("10s").await;
    vcn(&c, "10.1.0.0/16", "b").await;
    let list_path = format!("/20160918/vcns?compartmentId={}", c.tenancy());
    let before = c.get(&list_path).await.body;
    let snap = c.get("/_ocisim/snapshot").await.body;
    assert_eq!(snap["entries"].as_array().unwrap().len(), 3);
    let r = c.post("/_ocisim/reset", &json!({})).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(c.get(&list_path).await.body, json!([]));
    let r = c.post("/_ocisim/restore", &snap).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(c.get(&list_path).await.body, before);
}
