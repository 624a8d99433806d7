//! KMS, Vaults, Secrets and Identity policies through the REST API in
//! process: vault and key lifecycles in virtual time, secret versions and
//! stages, bundles by id, name, number, name and stage, scheduled deletion,
//! the errors, and the IAM guard on reads by workload principals.

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ocisim::api::auth::{AuthMode, KeyStore, Verifier};
use ocisim::api::state::Boot;
use ocisim::api::testing::TestClient;
use serde_json::{Value, json};
use tower::ServiceExt;

fn b64(s: &str) -> String {
    STANDARD.encode(s)
}

fn unb64(v: &Value) -> String {
    String::from_utf8(STANDARD.decode(v.as_str().unwrap()).unwrap()).unwrap()
}

/// An ACTIVE vault and an ENABLED AES key: (vault id, management path prefix, key id).
async fn vault_and_key(c: &TestClient) -> (String, String, String) {
    let r = c
        .send(
            "POST",
            "/20180608/vaults",
            Some(&json!({"compartmentId": c.tenancy(), "displayName": "app-vault", "vaultType": "DEFAULT"})),
            &[("host", "127.0.0.1:12000")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["lifecycleState"], "CREATING");
    let id = r.body["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("ocid1.vault.oc1.phx."));
    let mgmt = r.body["managementEndpoint"].as_str().unwrap().to_string();
    assert_eq!(mgmt, format!("http://127.0.0.1:12000/kms/{id}/management"));
    assert!(
        r.body["wrappingkeyId"]
            .as_str()
            .unwrap()
            .starts_with("ocid1.key.")
    );
    c.advance("30s").await;
    let g = c.get(&format!("/20180608/vaults/{id}")).await;
    assert_eq!(g.body["lifecycleState"], "ACTIVE");
    assert!(g.header("etag").is_some());
    let prefix = format!("/kms/{id}/management");
    let k = c
        .post(
            &format!("{prefix}/20180608/keys"),
            &json!({"compartmentId": c.tenancy(), "displayName": "master", "keyShape": {"algorithm": "AES", "length": 32}}),
        )
        .await;
    assert_eq!(k.status, StatusCode::OK, "{:?}", k.body);
    assert_eq!(k.body["lifecycleState"], "CREATING");
    assert_eq!(k.body["vaultId"], id.as_str());
    assert_eq!(k.body["protectionMode"], "HSM");
    let key = k.body["id"].as_str().unwrap().to_string();
    c.advance("10s").await;
    let k = c.get(&format!("{prefix}/20180608/keys/{key}")).await;
    assert_eq!(k.body["lifecycleState"], "ENABLED");
    assert!(
        k.body["currentKeyVersion"]
            .as_str()
            .unwrap()
            .starts_with("ocid1.keyversion.")
    );
    (id, prefix, key)
}

async fn secret(c: &TestClient, vault: &str, key: &str, name: &str, text: &str) -> String {
    let r = c
        .post(
            "/20180608/secrets",
            &json!({"compartmentId": c.tenancy(), "vaultId": vault, "keyId": key, "secretName": name,
                    "secretContent": {"contentType": "BASE64", "content": b64(text), "name": "v1"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["lifecycleState"], "CREATING");
    assert_eq!(r.body["currentVersionNumber"], 1);
    // Secret responses never carry the content.
    assert!(!r.body.to_string().contains(&b64(text)));
    c.advance("5s").await;
    r.body["id"].as_str().unwrap().to_string()
}

async fn put_content(c: &TestClient, id: &str, text: &str, name: &str, stage: &str) -> Value {
    let r = c
        .put(
            &format!("/20180608/secrets/{id}"),
            &json!({"secretContent": {"contentType": "BASE64", "content": b64(text), "name": name, "stage": stage}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    c.advance("5s").await;
    r.body
}

#[tokio::test]
async fn keys_are_listed_per_vault_and_versioned() {
    let c = TestClient::empty().await;
    let (vault, prefix, key) = vault_and_key(&c).await;
    let list = c
        .get(&format!(
            "{prefix}/20180608/keys?compartmentId={}",
            c.tenancy()
        ))
        .await;
    assert_eq!(list.body.as_array().unwrap().len(), 1);
    assert_eq!(list.body[0]["algorithm"], "AES");
    let v = c
        .post(
            &format!("{prefix}/20180608/keys/{key}/keyVersions"),
            &json!({}),
        )
        .await;
    assert_eq!(v.status, StatusCode::OK, "{:?}", v.body);
    let versions = c
        .get(&format!("{prefix}/20180608/keys/{key}/keyVersions"))
        .await;
    assert_eq!(versions.body.as_array().unwrap().len(), 2);
    let k = c.get(&format!("{prefix}/20180608/keys/{key}")).await;
    assert_eq!(k.body["currentKeyVersion"], v.body["id"]);
    // A key asked through another vault's endpoint does not exist there.
    let other = format!("/kms/ocid1.vault.oc1.phx.other/management/20180608/keys/{key}");
    assert_eq!(c.get(&other).await.code(), "NotAuthorizedOrNotFound");
    // Disable / enable move through DISABLING and ENABLING.
    let d = c
        .post(
            &format!("{prefix}/20180608/keys/{key}/actions/disable"),
            &json!({}),
        )
        .await;
    assert_eq!(d.body["lifecycleState"], "DISABLING");
    c.advance("10s").await;
    let bad = c
        .post(
            "/20180608/secrets",
            &json!({"compartmentId": c.tenancy(), "vaultId": vault, "keyId": key, "secretName": "s",
                    "secretContent": {"contentType": "BASE64", "content": b64("x")}}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.body["message"]
            .as_str()
            .unwrap()
            .starts_with("keyId: key"),
        "{:?}",
        bad.body
    );
    // A bad shape names the field.
    let e = c
        .post(
            &format!("{prefix}/20180608/keys"),
            &json!({"compartmentId": c.tenancy(), "displayName": "k", "keyShape": {"algorithm": "AES", "length": 20}}),
        )
        .await;
    assert_eq!(e.code(), "InvalidParameter");
    assert!(e.body["message"].as_str().unwrap().starts_with("keyShape:"));
}

#[tokio::test]
async fn versions_stages_and_bundles() {
    let c = TestClient::empty().await;
    let (vault, _, key) = vault_and_key(&c).await;
    let id = secret(&c, &vault, &key, "db-password", "hunter2").await;
    let s = put_content(&c, &id, "swordfish", "v2", "CURRENT").await;
    assert_eq!(s["currentVersionNumber"], 2);
    put_content(&c, &id, "staged", "v3", "PENDING").await;

    let versions = c.get(&format!("/20180608/secrets/{id}/versions")).await;
    let stages: Vec<(i64, Value)> = versions
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["versionNumber"].as_i64().unwrap(), v["stages"].clone()))
        .collect();
    assert_eq!(
        stages,
        vec![
            (1, json!(["PREVIOUS"])),
            (2, json!(["CURRENT"])),
            (3, json!(["PENDING", "LATEST"]))
        ]
    );
    let one = c.get(&format!("/20180608/secrets/{id}/version/3")).await;
    assert_eq!(one.body["name"], "v3");
    assert_eq!(one.body["contentType"], "BASE64");

    let bundle = |q: String| {
        let c = &c;
        let id = id.clone();
        async move { c.get(&format!("/20190301/secretbundles/{id}{q}")).await }
    };
    let cur = bundle(String::new()).await;
    assert_eq!(cur.body["secretBundleContent"]["contentType"], "BASE64");
    assert_eq!(
        unb64(&cur.body["secretBundleContent"]["content"]),
        "swordfish"
    );
    assert_eq!(cur.body["stages"], json!(["CURRENT"]));
    assert_eq!(
        unb64(&bundle("?versionNumber=1".into()).await.body["secretBundleContent"]["content"]),
        "hunter2"
    );
    assert_eq!(
        unb64(&bundle("?secretVersionName=v3".into()).await.body["secretBundleContent"]["content"]),
        "staged"
    );
    assert_eq!(
        unb64(&bundle("?stage=PREVIOUS".into()).await.body["secretBundleContent"]["content"]),
        "hunter2"
    );
    assert_eq!(
        unb64(&bundle("?stage=LATEST".into()).await.body["secretBundleContent"]["content"]),
        "staged"
    );
    let two = bundle("?stage=CURRENT&versionNumber=1".into()).await;
    assert_eq!(two.status, StatusCode::BAD_REQUEST);
    let none = bundle("?stage=DEPRECATED".into()).await;
    assert_eq!(none.code(), "NotAuthorizedOrNotFound");
    assert!(
        none.body["message"]
            .as_str()
            .unwrap()
            .contains("has no stage DEPRECATED")
    );

    // By name: a POST with query parameters and no body.
    let by_name = c
        .send(
            "POST",
            &format!("/20190301/secretbundles/actions/getByName?secretName=db-password&vaultId={vault}&stage=PENDING"),
            None,
            &[],
        )
        .await;
    assert_eq!(by_name.status, StatusCode::OK, "{:?}", by_name.body);
    assert_eq!(by_name.body["versionNumber"], 3);
    let missing = c
        .send(
            "POST",
            &format!("/20190301/secretbundles/actions/getByName?vaultId={vault}"),
            None,
            &[],
        )
        .await;
    assert_eq!(missing.code(), "MissingParameter");

    // Promote the pending version.
    let p = c
        .put(
            &format!("/20180608/secrets/{id}"),
            &json!({"currentVersionNumber": 3}),
        )
        .await;
    assert_eq!(p.body["currentVersionNumber"], 3);
    c.advance("5s").await;
    assert_eq!(
        unb64(&bundle(String::new()).await.body["secretBundleContent"]["content"]),
        "staged"
    );
    assert_eq!(
        bundle("?versionNumber=2".into()).await.body["stages"],
        json!(["PREVIOUS"])
    );
    let bv = c
        .get(&format!(
            "/20190301/secretbundles/{id}/versions?sortOrder=DESC"
        ))
        .await;
    assert_eq!(bv.body[0]["versionNumber"], 3);
    assert_eq!(bv.body[0]["stages"], json!(["CURRENT", "LATEST"]));

    // Pagination over versions.
    let page = c
        .get(&format!("/20180608/secrets/{id}/versions?limit=2"))
        .await;
    assert_eq!(page.body.as_array().unwrap().len(), 2);
    let next = page.header("opc-next-page").unwrap().to_string();
    let rest = c
        .get(&format!(
            "/20180608/secrets/{id}/versions?limit=2&page={next}"
        ))
        .await;
    assert_eq!(rest.body.as_array().unwrap().len(), 1);
    assert!(rest.header("opc-next-page").is_none());

    // List and filters.
    let list = c
        .get(&format!(
            "/20180608/secrets?compartmentId={}&name=db-password&vaultId={vault}",
            c.tenancy()
        ))
        .await;
    assert_eq!(list.body.as_array().unwrap().len(), 1);
    assert_eq!(list.body[0]["secretName"], "db-password");
}

#[tokio::test]
async fn scheduled_deletion_hides_the_content_until_cancelled() {
    let c = TestClient::empty().await;
    let (vault, _, key) = vault_and_key(&c).await;
    let id = secret(&c, &vault, &key, "api-key", "k1").await;
    let d = c
        .post(
            &format!("/20180608/secrets/{id}/actions/scheduleDeletion"),
            &json!({"timeOfDeletion": "2026-01-10T00:00:00.000Z"}),
        )
        .await;
    assert!(d.status.is_success(), "{:?}", d.body);
    assert!(d.header("etag").is_some());
    let g = c.get(&format!("/20180608/secrets/{id}")).await;
    assert_eq!(g.body["lifecycleState"], "SCHEDULING_DELETION");
    assert_eq!(g.body["timeOfDeletion"], "2026-01-10T00:00:00.000Z");
    let b = c.get(&format!("/20190301/secretbundles/{id}")).await;
    assert_eq!(b.status, StatusCode::CONFLICT);
    assert!(
        b.body["message"]
            .as_str()
            .unwrap()
            .contains("cannot read its content")
    );
    c.advance("5s").await;
    assert_eq!(
        c.get(&format!("/20180608/secrets/{id}")).await.body["lifecycleState"],
        "PENDING_DELETION"
    );
    let cancel = c
        .post(
            &format!("/20180608/secrets/{id}/actions/cancelDeletion"),
            &json!({}),
        )
        .await;
    assert!(cancel.status.is_success());
    c.advance("5s").await;
    assert_eq!(
        c.get(&format!("/20180608/secrets/{id}")).await.body["lifecycleState"],
        "ACTIVE"
    );
    let b = c.get(&format!("/20190301/secretbundles/{id}")).await;
    assert_eq!(unb64(&b.body["secretBundleContent"]["content"]), "k1");
    // Outside the window.
    let e = c
        .post(
            &format!("/20180608/secrets/{id}/actions/scheduleDeletion"),
            &json!({"timeOfDeletion": "2026-06-10T00:00:00.000Z"}),
        )
        .await;
    assert_eq!(e.code(), "InvalidParameter");
    assert!(
        e.body["message"]
            .as_str()
            .unwrap()
            .starts_with("timeOfDeletion:")
    );
}

#[tokio::test]
async fn errors_name_the_field_and_etags_guard_updates() {
    let c = TestClient::empty().await;
    let (vault, _, key) = vault_and_key(&c).await;
    let base = json!({"compartmentId": c.tenancy(), "vaultId": vault, "keyId": key, "secretName": "x",
                      "secretContent": {"contentType": "BASE64", "content": "not base64!"}});
    let e = c.post("/20180608/secrets", &base).await;
    assert_eq!(e.code(), "InvalidParameter");
    assert!(
        e.body["message"]
            .as_str()
            .unwrap()
            .starts_with("secretContent.content:")
    );
    let mut no_name = base.clone();
    no_name.as_object_mut().unwrap().remove("secretName");
    assert_eq!(
        c.post("/20180608/secrets", &no_name).await.code(),
        "MissingParameter"
    );
    let mut bad_type = base.clone();
    bad_type["secretContent"]["contentType"] = json!("PLAIN");
    let e = c.post("/20180608/secrets", &bad_type).await;
    assert_eq!(e.code(), "InvalidParameter");
    assert!(
        e.body["message"]
            .as_str()
            .unwrap()
            .starts_with("secretContent.contentType"),
        "{:?}",
        e.body
    );
    let mut rot = base.clone();
    rot["secretContent"]["content"] = json!(b64("ok"));
    rot["rotationConfig"] =
        json!({"targetSystemDetails": {"targetSystemType": "ADB", "adbId": "x"}});
    assert!(
        c.post("/20180608/secrets", &rot).await.body["message"]
            .as_str()
            .unwrap()
            .starts_with("rotationConfig")
    );

    let id = secret(&c, &vault, &key, "dup", "a").await;
    let dup = c
        .post(
            "/20180608/secrets",
            &json!({"compartmentId": c.tenancy(), "vaultId": vault, "keyId": key, "secretName": "dup",
                    "secretContent": {"contentType": "BASE64", "content": b64("b")}}),
        )
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    let unknown = c
        .get("/20180608/secrets/ocid1.vaultsecret.oc1.phx.nope")
        .await;
    assert_eq!(unknown.code(), "NotAuthorizedOrNotFound");
    let unknown = c
        .get("/20190301/secretbundles/ocid1.vaultsecret.oc1.phx.nope")
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    // if-match: a stale etag is refused, the current one accepted.
    let etag = c
        .get(&format!("/20180608/secrets/{id}"))
        .await
        .header("etag")
        .unwrap()
        .to_string();
    let r = c
        .send(
            "PUT",
            &format!("/20180608/secrets/{id}"),
            Some(&json!({"description": "d"})),
            &[("if-match", "stale")],
        )
        .await;
    assert_eq!(r.code(), "NoEtagMatch");
    let r = c
        .send(
            "PUT",
            &format!("/20180608/secrets/{id}"),
            Some(&json!({"description": "d"})),
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["description"], "d");
    assert_ne!(r.header("etag").unwrap(), etag);

    // Retry tokens: the same create twice gives the same secret.
    let body = json!({"compartmentId": c.tenancy(), "vaultId": vault, "keyId": key, "secretName": "once",
                      "secretContent": {"contentType": "BASE64", "content": b64("1")}});
    let a = c
        .send(
            "POST",
            "/20180608/secrets",
            Some(&body),
            &[("opc-retry-token", "tok-1")],
        )
        .await;
    let b = c
        .send(
            "POST",
            "/20180608/secrets",
            Some(&body),
            &[("opc-retry-token", "tok-1")],
        )
        .await;
    assert_eq!(a.body["id"], b.body["id"]);

    // Only DEPRECATED versions can be scheduled for deletion.
    put_content(&c, &id, "b", "v2", "CURRENT").await;
    let e = c
        .post(
            &format!("/20180608/secrets/{id}/version/2/actions/scheduleDeletion"),
            &json!({}),
        )
        .await;
    assert_eq!(e.status, StatusCode::CONFLICT);
    assert!(
        e.body["message"]
            .as_str()
            .unwrap()
            .contains("only DEPRECATED versions")
    );
}

#[tokio::test]
async fn vault_deletion_and_policies() {
    let c = TestClient::empty().await;
    let (vault, _, _) = vault_and_key(&c).await;
    let d = c
        .post(
            &format!("/20180608/vaults/{vault}/actions/scheduleDeletion"),
            &json!({}),
        )
        .await;
    assert_eq!(d.body["lifecycleState"], "SCHEDULING_DELETION");
    assert_eq!(d.body["timeOfDeletion"], "2026-01-31T00:00:40.000Z");
    let cancel = c
        .post(
            &format!("/20180608/vaults/{vault}/actions/cancelDeletion"),
            &json!({}),
        )
        .await;
    assert_eq!(cancel.body["lifecycleState"], "CANCELLING_DELETION");

    let bad = c
        .post(
            "/20160918/policies",
            &json!({"compartmentId": c.tenancy(), "name": "p", "description": "d",
                    "statements": ["Allow any-user to read secret-family in tenancy", "Allow any-user to reed secrets in tenancy"]}),
        )
        .await;
    assert_eq!(bad.code(), "InvalidParameter");
    assert_eq!(
        bad.body["message"],
        "statements[1]: policy `p` statement 2: column 19: unknown verb `reed`: use inspect, read, use or manage"
    );
    let p = c
        .post(
            "/20160918/policies",
            &json!({"compartmentId": c.tenancy(), "name": "p", "description": "d",
                    "statements": ["Allow any-user to read secret-family in tenancy"]}),
        )
        .await;
    assert_eq!(p.status, StatusCode::OK, "{:?}", p.body);
    assert_eq!(p.body["lifecycleState"], "ACTIVE");
    let list = c
        .get(&format!("/20160918/policies?compartmentId={}", c.tenancy()))
        .await;
    assert_eq!(list.body.as_array().unwrap().len(), 1);
    let id = p.body["id"].as_str().unwrap();
    assert_eq!(
        c.delete(&format!("/20160918/policies/{id}")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        c.get(&format!("/20160918/policies/{id}")).await.code(),
        "NotAuthorizedOrNotFound"
    );
}

// ---- workload principals -----------------------------------------------------

/// A twin session token (unsigned: permissive mode reads its claims only).
fn session_token(service_account: &str) -> String {
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256"}"#);
    let claims = URL_SAFE_NO_PAD.encode(
        json!({"tenant": "ocid1.tenancy.oc1..t", "cluster_id": "ocid1.cluster.oc1.phx.c1",
               "namespace": "payments", "service_account": service_account})
        .to_string(),
    );
    format!("{header}.{claims}.AAAA")
}

async fn as_workload(
    app: &axum::Router,
    target: &str,
    service_account: &str,
) -> (StatusCode, Value) {
    let auth = format!(
        "Signature algorithm=\"rsa-sha256\",headers=\"date (request-target) host\",keyId=\"ST${}\",signature=\"AAAA\",version=\"1\"",
        session_token(service_account)
    );
    let req = Request::builder()
        .method("GET")
        .uri(target)
        .header("host", "127.0.0.1:12000")
        .header("date", "Fri, 27 Nov 2026 17:54:40 GMT")
        .header("authorization", auth)
        .body(Body::empty())
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn workload_reads_are_decided_by_the_policies() {
    let boot = Boot {
        seed: 1,
        region: "us-phoenix-1".into(),
        time_scale: 0.0,
        ..Boot::default()
    };
    let verifier = Verifier::new(AuthMode::Permissive, KeyStore::new());
    let state = ocisim::api::start(boot, None, Some(verifier))
        .await
        .unwrap();
    let app = ocisim::api::router(state.clone());
    let c = TestClient::from_state(state.clone());
    let (vault, _, key) = vault_and_key(&c).await;
    let id = secret(&c, &vault, &key, "db-password", "hunter2").await;
    let statement = "Allow any-user to read secret-family in tenancy where all {request.principal.type = 'workload', request.principal.namespace = 'payments', request.principal.service_account = 'external-secrets'}";
    let p = c
        .post(
            "/20160918/policies",
            &json!({"compartmentId": c.tenancy(), "name": "eso", "description": "ESO reads secrets", "statements": [statement]}),
        )
        .await;
    assert_eq!(p.status, StatusCode::OK, "{:?}", p.body);

    let target = format!("/20190301/secretbundles/{id}");
    let (status, body) = as_workload(&app, &target, "external-secrets").await;
    assert_eq!(status, StatusCode::OK, "{body:?}");
    assert_eq!(unb64(&body["secretBundleContent"]["content"]), "hunter2");

    let (status, body) = as_workload(&app, &target, "default").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], "NotAuthorizedOrNotFound");
    let msg = body["message"].as_str().unwrap();
    assert!(msg.contains("policy `eso` statement 1"), "{msg}");
    assert!(
        msg.contains("request.principal.service_account = 'external-secrets' is false (request.principal.service_account is 'default')"),
        "{msg}"
    );
    // The Vaults API's reads are guarded too; unsigned (administrator) reads are not.
    let (status, _) = as_workload(&app, &format!("/20180608/secrets/{id}"), "default").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) =
        as_workload(&app, &format!("/20180608/secrets/{id}"), "external-secrets").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(c.get(&target).await.status, StatusCode::OK);
}

#[tokio::test]
async fn vault_outages_and_snapshot_restore() {
    let c = TestClient::empty().await;
    let (vault, prefix, key) = vault_and_key(&c).await;
    let id = secret(&c, &vault, &key, "db-password", "hunter2").await;
    put_content(&c, &id, "swordfish", "v2", "PENDING").await;
    let bundle = format!("/20190301/secretbundles/{id}");

    // A vault outage: reads and key operations fail with 503 until it ends.
    let r = c
        .post(&format!("/_ocisim/outages/vaults/{vault}"), &json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let down = c.get(&bundle).await;
    assert_eq!(
        (down.status, down.code()),
        (StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable")
    );
    let k = c
        .post(
            &format!("{prefix}/20180608/keys/{key}/keyVersions"),
            &json!({}),
        )
        .await;
    assert_eq!(k.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        c.delete(&format!("/_ocisim/outages/vaults/{vault}"))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        unb64(&c.get(&bundle).await.body["secretBundleContent"]["content"]),
        "hunter2"
    );
    let unknown = c
        .post(
            "/_ocisim/outages/vaults/ocid1.vault.oc1.phx.nope",
            &json!({}),
        )
        .await;
    assert_eq!(unknown.code(), "NotAuthorizedOrNotFound");

    // Snapshot, reset, restore: the same vault, key, secret, versions and stages.
    let reads = [
        format!("/20180608/vaults/{vault}"),
        format!("{prefix}/20180608/keys/{key}"),
        format!("/20180608/secrets/{id}"),
        format!("/20180608/secrets/{id}/versions"),
        format!("{bundle}?stage=PENDING"),
    ];
    let mut before = Vec::new();
    for r in &reads {
        before.push(c.get(r).await.body);
    }
    let snap = c.get("/_ocisim/snapshot").await.body;
    c.post("/_ocisim/reset", &json!({})).await;
    assert_eq!(c.get(&bundle).await.status, StatusCode::NOT_FOUND);
    let r = c.post("/_ocisim/restore", &snap).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    for (r, b) in reads.iter().zip(&before) {
        assert_eq!(&c.get(r).await.body, b, "{r}");
    }
}

#[tokio::test]
async fn chaos_rules_reach_keys_and_policies_by_service() {
    let c = TestClient::empty().await;
    let (_, prefix, key) = vault_and_key(&c).await;
    let rules = json!({"rules": [
        {"service": "kms", "operation": "GET", "probability": 1.0, "status": 400, "code": "InvalidParameter", "message": "chaos kms"},
        {"service": "identity", "operation": "GET", "probability": 1.0, "status": 400, "code": "InvalidParameter", "message": "chaos identity"}
    ]});
    assert_eq!(c.put("/_ocisim/chaos", &rules).await.status, StatusCode::OK);
    let k = c.get(&format!("{prefix}/20180608/keys/{key}")).await;
    assert_eq!(k.body["message"], "chaos kms");
    let p = c
        .get(&format!("/20160918/policies?compartmentId={}", c.tenancy()))
        .await;
    assert_eq!(p.body["message"], "chaos identity");
    // Secrets is its own service: untouched.
    let s = c
        .get("/20190301/secretbundles/ocid1.vaultsecret.oc1.phx.nope")
        .await;
    assert_eq!(s.code(), "NotAuthorizedOrNotFound");
}

/// A request refused for one field: 400 InvalidParameter naming it.
async fn refused(c: &TestClient, method: &str, path: &str, body: Value, message: &str) {
    let r = c.send(method, path, Some(&body), &[]).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "InvalidParameter"),
        "{method} {path}: {:?}",
        r.body
    );
    assert_eq!(r.message(), message, "{method} {path}");
}

#[tokio::test]
async fn kms_and_secrets_refuse_fields_the_twin_does_not_keep() {
    let c = TestClient::empty().await;
    let (vault, prefix, key) = vault_and_key(&c).await;
    let t = c.tenancy();
    refused(&c, "POST", &format!("{prefix}/20180608/keys"),
        json!({"compartmentId": t, "displayName": "k", "keyShape": {"algorithm": "AES", "length": 32},
               "isAutoRotationEnabled": true}),
        "isAutoRotationEnabled: not modelled by the twin").await;
    refused(
        &c,
        "PUT",
        &format!("{prefix}/20180608/keys/{key}"),
        json!({"autoKeyRotationDetails": {"rotationIntervalInDays": 60}}),
        "autoKeyRotationDetails: not modelled by the twin",
    )
    .await;
    refused(
        &c,
        "POST",
        "/20180608/vaults",
        json!({"compartmentId": t, "displayName": "v", "vaultType": "DEFAULT",
               "externalKeyManagerMetadata": {"externalVaultEndpointUrl": "https://x"}}),
        "externalKeyManagerMetadata: not modelled by the twin",
    )
    .await;
    // OCI's default (no rotation) changes nothing and is accepted.
    let k = c
        .post(
            &format!("{prefix}/20180608/keys"),
            &json!({"compartmentId": t, "displayName": "k2", "keyShape": {"algorithm": "AES", "length": 32},
                    "isAutoRotationEnabled": false}),
        )
        .await;
    assert_eq!(k.status, StatusCode::OK, "{:?}", k.body);
    // The secret fields the twin does not model, now through the shared check.
    let body = json!({"compartmentId": t, "vaultId": vault, "keyId": key, "secretName": "s",
        "secretContent": {"contentType": "BASE64", "content": b64("x")},
        "rotationConfig": {"rotationInterval": "P30D"}});
    refused(
        &c,
        "POST",
        "/20180608/secrets",
        body,
        "rotationConfig: not modelled by the twin",
    )
    .await;
    refused(&c, "POST", "/20180608/secrets",
        json!({"compartmentId": t, "vaultId": vault, "keyId": key, "secretName": "s",
               "secretContent": {"contentType": "BASE64", "content": b64("x"), "stag": "PENDING"}}),
        "secretContent.stag: not a field of this request (OCI's API has no such property here; check the spelling)").await;
}
