//! Operations issue 3 added to the REST API, in process: OKE work-request
//! cancellation, DHCP options CRUD, the VNICs of an NSG (and its delete
//! refused while something is in it), load balancer NSG updates, KMS crypto, MySQL
//! configurations and virtual node pool labels and taints reaching the
//! World. Every reply is checked against the state it should leave.

use axum::http::StatusCode;
mod common;

use common::api::{SCENARIO, client, client_from, subnet, vcn};
use ocisim::api::testing::TestClient;
use serde_json::{Value, json};

fn ok(r: &ocisim::api::testing::TestReply, status: StatusCode) {
    assert_eq!(r.status, status, "{:?}", r.body);
}

// ------------------------------------------------------------------ OKE cancel

fn cluster_body(c: &TestClient, name: &str) -> Value {
    json!({
        "name": name, "compartmentId": c.tenancy(), "vcnId": vcn(c),
        "kubernetesVersion": "v1.33.1",
        "endpointConfig": {"subnetId": subnet(c, "api")},
        "clusterPodNetworkOptions": [{"cniType": "OCI_VCN_IP_NATIVE"}],
    })
}

#[tokio::test]
async fn oke_work_request_cancel_before_it_starts() {
    let c = client().await;
    let r = c.post("/20180222/clusters", &cluster_body(&c, "a")).await;
    ok(&r, StatusCode::ACCEPTED);
    let wr = r.header("opc-work-request-id").unwrap().to_string();
    let path = format!("/20180222/workRequests/{wr}");
    let cluster = c.get(&path).await.body["resources"][0]["identifier"]
        .as_str()
        .unwrap()
        .to_string();
    // Not started yet: the cancel is taken, CANCELING at once.
    ok(&c.delete(&path).await, StatusCode::NO_CONTENT);
    let w = c.get(&path).await.body;
    assert_eq!(w["status"], "CANCELING");
    assert_eq!(w["resources"][0]["actionType"], "IN_PROGRESS");
    // A second cancel finds it no longer ACCEPTED: 409 Conflict.
    let again = c.delete(&path).await;
    ok(&again, StatusCode::CONFLICT);
    assert_eq!(again.code(), "Conflict");
    c.advance("2s").await;
    let w = c.get(&path).await.body;
    assert_eq!(w["status"], "CANCELED");
    assert_eq!(w["resources"][0]["actionType"], "CANCELED_CREATE");
    assert!(w["timeFinished"].is_string());
    // Long past the create's duration: never applied, the cluster FAILED.
    c.advance("30m").await;
    assert_eq!(c.get(&path).await.body["status"], "CANCELED");
    let g = c.get(&format!("/20180222/clusters/{cluster}")).await;
    assert_eq!(g.body["lifecycleState"], "FAILED");
    let logs = c
        .get(&format!("{path}/logs?compartmentId={}", c.tenancy()))
        .await
        .body;
    let messages: Vec<&str> = logs
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        messages,
        [
            "CLUSTER_CREATE accepted",
            "CLUSTER_CREATE canceling",
            "CLUSTER_CREATE canceled"
        ]
    );
    let listed = c
        .get(&format!(
            "/20180222/workRequests?compartmentId={}&status=CANCELED",
            c.tenancy()
        ))
        .await;
    assert_eq!(listed.body.as_array().unwrap().len(), 1);
    assert_eq!(listed.body[0]["id"], wr.as_str());
}

#[tokio::test]
async fn oke_cancel_of_update_leaves_model_unchanged_and_finished_is_conflict() {
    let c = client().await;
    let r = c.post("/20180222/clusters", &cluster_body(&c, "b")).await;
    let wr = r.header("opc-work-request-id").unwrap().to_string();
    let path = format!("/20180222/workRequests/{wr}");
    c.advance("10m").await;
    let w = c.get(&path).await.body;
    assert_eq!(w["status"], "SUCCEEDED");
    let id = w["resources"][0]["identifier"]
        .as_str()
        .unwrap()
        .to_string();
    // Finished: 409 Conflict (not IncorrectState, which the SDK retries).
    let late = c.delete(&path).await;
    ok(&late, StatusCode::CONFLICT);
    assert_eq!(late.code(), "Conflict");
    assert!(late.body["message"].as_str().unwrap().contains("SUCCEEDED"));
    // An upgrade canceled before it starts never changes the version.
    let u = c
        .put(
            &format!("/20180222/clusters/{id}"),
            &json!({"kubernetesVersion": "v1.34.1"}),
        )
        .await;
    ok(&u, StatusCode::ACCEPTED);
    let uwr = u.header("opc-work-request-id").unwrap().to_string();
    let before = c.get(&format!("/20180222/clusters/{id}")).await.body;
    assert_eq!(before["lifecycleState"], "UPDATING");
    ok(
        &c.delete(&format!("/20180222/workRequests/{uwr}")).await,
        StatusCode::NO_CONTENT,
    );
    c.advance("10m").await;
    let w = c.get(&format!("/20180222/workRequests/{uwr}")).await.body;
    assert_eq!(w["status"], "CANCELED");
    assert_eq!(w["resources"][0]["actionType"], "CANCELED_UPDATE");
    let after = c.get(&format!("/20180222/clusters/{id}")).await.body;
    assert_eq!(after["lifecycleState"], "ACTIVE");
    assert_eq!(after["kubernetesVersion"], before["kubernetesVersion"]);
    // Started (IN_PROGRESS) is past cancelling too; unknown is 404.
    let d = c.delete(&format!("/20180222/clusters/{id}")).await;
    let dwr = d.header("opc-work-request-id").unwrap().to_string();
    c.advance("2s").await;
    let dp = format!("/20180222/workRequests/{dwr}");
    assert_eq!(c.get(&dp).await.body["status"], "IN_PROGRESS");
    ok(&c.delete(&dp).await, StatusCode::CONFLICT);
    let none = c
        .delete("/20180222/workRequests/ocid1.clustersworkrequest.oc1.iad.nothing")
        .await;
    ok(&none, StatusCode::NOT_FOUND);
}

// ------------------------------------------------------------------ DHCP options

async fn api_vcn(c: &TestClient) -> Value {
    let r = c
        .post(
            "/20160918/vcns",
            &json!({"compartmentId": c.tenancy(), "cidrBlock": "172.16.0.0/16", "dnsLabel": "net"}),
        )
        .await;
    ok(&r, StatusCode::OK);
    r.body
}

#[tokio::test]
async fn dhcp_options_create_update_delete_with_the_model_rules() {
    let c = client().await;
    let v = api_vcn(&c).await;
    let vcn_id = v["id"].as_str().unwrap();
    let body = json!({
        "compartmentId": c.tenancy(), "vcnId": vcn_id, "displayName": "custom",
        "options": [
            {"type": "DomainNameServer", "serverType": "CustomDnsServer", "customDnsServers": ["10.0.0.53", "10.0.1.53"]},
            {"type": "SearchDomain", "searchDomainNames": ["corp.example.com"]},
        ],
    });
    let r = c.post("/20160918/dhcps", &body).await;
    ok(&r, StatusCode::OK);
    let id = r.body["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("ocid1.dhcpoptions."));
    assert_eq!(r.body["lifecycleState"], "PROVISIONING");
    assert_eq!(r.body["vcnId"], vcn_id);
    assert_eq!(r.body["options"][0]["serverType"], "CustomDnsServer");
    assert_eq!(
        r.body["options"][0]["customDnsServers"],
        json!(["10.0.0.53", "10.0.1.53"])
    );
    assert_eq!(
        r.body["options"][1]["searchDomainNames"],
        json!(["corp.example.com"])
    );
    {
        let t = c.state.lock_raw();
        let d = t.world.network.dhcp_options_by_ocid(&id).unwrap();
        assert_eq!(d.custom_dns_servers, ["10.0.0.53", "10.0.1.53"]);
        assert_eq!(d.search_domain.as_deref(), Some("corp.example.com"));
    }
    c.advance("2s").await;
    let listed = c
        .get(&format!(
            "/20160918/dhcps?compartmentId={}&vcnId={vcn_id}&sortBy=DISPLAYNAME",
            c.tenancy()
        ))
        .await;
    let names: Vec<&str> = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["displayName"].as_str().unwrap())
        .collect();
    // Names sort case-insensitively: "custom" before "Default ...".
    assert_eq!(
        names,
        ["custom", "Default DHCP Options for vcn20260101000000"]
    );
    // Validation: each rule of DhcpDnsOption / DhcpSearchDomainOption.
    for (options, field) in [
        (
            json!([{"type": "DomainNameServer", "serverType": "CustomDnsServer", "customDnsServers": []}]),
            "customDnsServers",
        ),
        (
            json!([{"type": "DomainNameServer", "serverType": "CustomDnsServer",
                 "customDnsServers": ["1.1.1.1", "1.0.0.1", "8.8.8.8", "8.8.4.4"]}]),
            "customDnsServers",
        ),
        (
            json!([{"type": "DomainNameServer", "serverType": "CustomDnsServer", "customDnsServers": ["dns.example"]}]),
            "customDnsServers",
        ),
        (
            json!([{"type": "DomainNameServer", "serverType": "Bind9"}]),
            "serverType",
        ),
        (
            json!([{"type": "DomainNameServer", "serverType": "VcnLocalPlusInternet"},
                {"type": "SearchDomain", "searchDomainNames": []}]),
            "searchDomainNames",
        ),
        (
            json!([{"type": "DomainNameServer", "serverType": "VcnLocalPlusInternet"},
                {"type": "SearchDomain", "searchDomainNames": ["-bad-.example"]}]),
            "searchDomainNames",
        ),
        (
            json!([{"type": "SearchDomain", "searchDomainNames": ["a.example"]}]),
            "options",
        ),
        (
            json!([{"type": "DomainNameServer", "serverType": "VcnLocalPlusInternet"},
                {"type": "DomainNameServer", "serverType": "VcnLocalPlusInternet"}]),
            "options[1]",
        ),
        (
            json!([{"type": "Router", "serverType": "VcnLocalPlusInternet"}]),
            "options",
        ),
    ] {
        let mut b = body.clone();
        b["options"] = options;
        let e = c.post("/20160918/dhcps", &b).await;
        ok(&e, StatusCode::BAD_REQUEST);
        assert!(
            e.body["message"].as_str().unwrap().contains(field),
            "{field}: {:?}",
            e.body
        );
    }
    // Update: the model takes the new resolver, the name changes.
    let u = c
        .put(
            &format!("/20160918/dhcps/{id}"),
            &json!({"displayName": "resolver", "domainNameType": "VCN_DOMAIN",
                    "options": [{"type": "DomainNameServer", "serverType": "VcnLocalPlusInternet"}]}),
        )
        .await;
    ok(&u, StatusCode::OK);
    assert_eq!(u.body["displayName"], "resolver");
    assert_eq!(u.body["domainNameType"], "VCN_DOMAIN");
    assert_eq!(u.body["options"].as_array().unwrap().len(), 1);
    {
        let t = c.state.lock_raw();
        let d = t.world.network.dhcp_options_by_ocid(&id).unwrap();
        assert_eq!(d.server_type, "VcnLocalPlusInternet");
        assert!(d.custom_dns_servers.is_empty() && d.search_domain.is_none());
    }
    // In use by a subnet: 409 Conflict until the subnet is gone.
    let s = c
        .post(
            "/20160918/subnets",
            &json!({"compartmentId": c.tenancy(), "vcnId": vcn_id, "cidrBlock": "172.16.1.0/24", "dhcpOptionsId": id}),
        )
        .await;
    ok(&s, StatusCode::OK);
    let busy = c.delete(&format!("/20160918/dhcps/{id}")).await;
    ok(&busy, StatusCode::CONFLICT);
    assert_eq!(busy.code(), "Conflict");
    assert!(busy.body["message"].as_str().unwrap().contains("in use"));
    // The VCN's default options go only with the VCN.
    let default = v["defaultDhcpOptionsId"].as_str().unwrap();
    let d = c.delete(&format!("/20160918/dhcps/{default}")).await;
    ok(&d, StatusCode::CONFLICT);
    assert!(d.body["message"].as_str().unwrap().contains("default"));
    ok(
        &c.delete(&format!(
            "/20160918/subnets/{}",
            s.body["id"].as_str().unwrap()
        ))
        .await,
        StatusCode::NO_CONTENT,
    );
    ok(
        &c.delete(&format!("/20160918/dhcps/{id}")).await,
        StatusCode::NO_CONTENT,
    );
    assert!(
        c.state
            .lock_raw()
            .world
            .network
            .dhcp_options_by_ocid(&id)
            .is_none()
    );
    assert_eq!(
        c.get(&format!("/20160918/dhcps/{id}")).await.body["lifecycleState"],
        "TERMINATING"
    );
    c.advance("2s").await;
    assert_eq!(
        c.get(&format!("/20160918/dhcps/{id}")).await.body["lifecycleState"],
        "TERMINATED"
    );
    ok(
        &c.delete("/20160918/dhcps/ocid1.dhcpoptions.oc1.iad.none")
            .await,
        StatusCode::NOT_FOUND,
    );
}

// ------------------------------------------------------------------ KMS crypto

async fn kms_vault(c: &TestClient) -> (String, String, String) {
    let r = c
        .send(
            "POST",
            "/20180608/vaults",
            Some(
                &json!({"compartmentId": c.tenancy(), "displayName": "v", "vaultType": "DEFAULT"}),
            ),
            &[("host", "127.0.0.1:12000")],
        )
        .await;
    ok(&r, StatusCode::OK);
    let id = r.body["id"].as_str().unwrap().to_string();
    let crypto = r.body["cryptoEndpoint"].as_str().unwrap().to_string();
    assert_eq!(crypto, format!("http://127.0.0.1:12000/kms/{id}/crypto"));
    c.advance("30s").await;
    (
        id.clone(),
        format!("/kms/{id}/management/20180608/keys"),
        format!("/kms/{id}/crypto/20180608"),
    )
}

async fn kms_key(c: &TestClient, keys: &str, name: &str, algorithm: &str, length: u32) -> String {
    let k = c
        .post(
            keys,
            &json!({"compartmentId": c.tenancy(), "displayName": name,
                    "keyShape": {"algorithm": algorithm, "length": length}}),
        )
        .await;
    ok(&k, StatusCode::OK);
    k.body["id"].as_str().unwrap().to_string()
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn unb64(v: &Value) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(v.as_str().unwrap())
        .unwrap()
}

#[tokio::test]
async fn kms_encrypt_decrypt_round_trip_and_refusals() {
    let c = client().await;
    let (_, keys, crypto) = kms_vault(&c).await;
    let a = kms_key(&c, &keys, "a", "AES", 32).await;
    let b = kms_key(&c, &keys, "b", "AES", 16).await;
    let rsa = kms_key(&c, &keys, "r", "RSA", 256).await;
    c.advance("10s").await;
    let ctx = json!({"app": "orders"});
    let e = c
        .post(
            &format!("{crypto}/encrypt"),
            &json!({"keyId": a, "plaintext": b64(b"card 4111"), "associatedData": ctx}),
        )
        .await;
    ok(&e, StatusCode::OK);
    assert_eq!(e.body["keyId"], a.as_str());
    assert_eq!(e.body["encryptionAlgorithm"], "AES_256_GCM");
    let current = c.get(&format!("{keys}/{a}")).await.body["currentKeyVersion"].clone();
    assert_eq!(e.body["keyVersionId"], current);
    let ct = e.body["ciphertext"].as_str().unwrap().to_string();
    assert!(
        !unb64(&e.body["ciphertext"])
            .windows(9)
            .any(|w| w == b"card 4111")
    );
    // Round trip, with the checksum of the plaintext (CRC-32).
    let d = c
        .post(
            &format!("{crypto}/decrypt"),
            &json!({"keyId": a, "ciphertext": ct, "associatedData": ctx}),
        )
        .await;
    ok(&d, StatusCode::OK);
    assert_eq!(unb64(&d.body["plaintext"]), b"card 4111");
    assert_eq!(d.body["keyVersionId"], current);
    assert!(
        d.body["plaintextChecksum"]
            .as_str()
            .unwrap()
            .parse::<u32>()
            .is_ok()
    );
    // The same plaintext twice gives two ciphertexts (fresh nonces).
    let e2 = c
        .post(
            &format!("{crypto}/encrypt"),
            &json!({"keyId": a, "plaintext": b64(b"card 4111"), "associatedData": ctx}),
        )
        .await;
    assert_ne!(e2.body["ciphertext"], e.body["ciphertext"]);
    // Another key, other associated data, a tampered ciphertext: 400 ciphertext.
    let mut tampered = unb64(&e.body["ciphertext"]);
    let last = tampered.len() - 1;
    tampered[last] ^= 0x80;
    for body in [
        json!({"keyId": b, "ciphertext": ct, "associatedData": ctx}),
        json!({"keyId": a, "ciphertext": ct, "associatedData": {"app": "billing"}}),
        json!({"keyId": a, "ciphertext": ct}),
        json!({"keyId": a, "ciphertext": b64(&tampered), "associatedData": ctx}),
    ] {
        let r = c.post(&format!("{crypto}/decrypt"), &body).await;
        ok(&r, StatusCode::BAD_REQUEST);
        assert_eq!(r.code(), "InvalidParameter");
        assert!(
            r.body["message"]
                .as_str()
                .unwrap()
                .starts_with("ciphertext:"),
            "{:?}",
            r.body
        );
    }
    // Not base64, an RSA key, an RSA algorithm, an unknown key, too large.
    for (body, field) in [
        (json!({"keyId": a, "plaintext": "%%%"}), "plaintext"),
        (json!({"keyId": rsa, "plaintext": b64(b"x")}), "keyId"),
        (
            json!({"keyId": a, "plaintext": b64(b"x"), "encryptionAlgorithm": "RSA_OAEP_SHA_256"}),
            "encryptionAlgorithm",
        ),
        (
            json!({"keyId": a, "plaintext": b64(&[7; 4097])}),
            "plaintext",
        ),
        (
            json!({"keyId": a, "plaintext": b64(b"x"), "keyVersionId": "ocid1.keyversion.oc1.phx.x"}),
            "keyVersionId",
        ),
    ] {
        let r = c.post(&format!("{crypto}/encrypt"), &body).await;
        ok(&r, StatusCode::BAD_REQUEST);
        assert!(
            r.body["message"].as_str().unwrap().starts_with(field),
            "{field}: {:?}",
            r.body
        );
    }
    let r = c
        .post(
            &format!("{crypto}/encrypt"),
            &json!({"keyId": "ocid1.key.oc1.phx.none", "plaintext": b64(b"x")}),
        )
        .await;
    ok(&r, StatusCode::NOT_FOUND);
    // After a rotation the old ciphertext still opens, new ones use the new version.
    let v2 = c.post(&format!("{keys}/{a}/keyVersions"), &json!({})).await;
    ok(&v2, StatusCode::OK);
    let d = c
        .post(
            &format!("{crypto}/decrypt"),
            &json!({"keyId": a, "ciphertext": ct, "associatedData": ctx}),
        )
        .await;
    ok(&d, StatusCode::OK);
    assert_eq!(d.body["keyVersionId"], current);
    let e3 = c
        .post(
            &format!("{crypto}/encrypt"),
            &json!({"keyId": a, "plaintext": b64(b"y")}),
        )
        .await;
    assert_eq!(e3.body["keyVersionId"], v2.body["id"]);
    // A disabled key is refused both ways.
    ok(
        &c.post(&format!("{keys}/{a}/actions/disable"), &json!({}))
            .await,
        StatusCode::OK,
    );
    c.advance("10s").await;
    let r = c
        .post(
            &format!("{crypto}/encrypt"),
            &json!({"keyId": a, "plaintext": b64(b"x")}),
        )
        .await;
    ok(&r, StatusCode::BAD_REQUEST);
    assert!(
        r.body["message"].as_str().unwrap().contains("DISABLED"),
        "{:?}",
        r.body
    );
    let r = c
        .post(
            &format!("{crypto}/decrypt"),
            &json!({"keyId": a, "ciphertext": ct, "associatedData": ctx}),
        )
        .await;
    ok(&r, StatusCode::BAD_REQUEST);
    assert!(r.body["message"].as_str().unwrap().contains("DISABLED"));
}

#[tokio::test]
async fn kms_generate_data_encryption_key() {
    let c = client().await;
    let (_, keys, crypto) = kms_vault(&c).await;
    let a = kms_key(&c, &keys, "a", "AES", 32).await;
    c.advance("10s").await;
    let g = c
        .post(
            &format!("{crypto}/generateDataEncryptionKey"),
            &json!({"keyId": a, "includePlaintextKey": true, "keyShape": {"algorithm": "AES", "length": 32}}),
        )
        .await;
    ok(&g, StatusCode::OK);
    let dek = unb64(&g.body["plaintext"]);
    assert_eq!(dek.len(), 32);
    assert!(g.body["plaintextChecksum"].is_string());
    // The wrapped key decrypts to the plaintext key.
    let d = c
        .post(
            &format!("{crypto}/decrypt"),
            &json!({"keyId": a, "ciphertext": g.body["ciphertext"]}),
        )
        .await;
    ok(&d, StatusCode::OK);
    assert_eq!(unb64(&d.body["plaintext"]), dek);
    assert_eq!(d.body["plaintextChecksum"], g.body["plaintextChecksum"]);
    // Without the plaintext key; bad shapes.
    let g = c
        .post(
            &format!("{crypto}/generateDataEncryptionKey"),
            &json!({"keyId": a, "includePlaintextKey": false, "keyShape": {"algorithm": "AES", "length": 16}}),
        )
        .await;
    ok(&g, StatusCode::OK);
    assert!(g.body.get("plaintext").is_none() && g.body["ciphertext"].is_string());
    for (shape, field) in [
        (json!({"algorithm": "AES", "length": 20}), "keyShape.length"),
        (
            json!({"algorithm": "RSA", "length": 256}),
            "keyShape.algorithm",
        ),
    ] {
        let r = c
            .post(
                &format!("{crypto}/generateDataEncryptionKey"),
                &json!({"keyId": a, "includePlaintextKey": true, "keyShape": shape}),
            )
            .await;
        ok(&r, StatusCode::BAD_REQUEST);
        assert!(r.body["message"].as_str().unwrap().starts_with(field));
    }
}

// ------------------------------------------------------------------ NSG VNICs

async fn wait_lb(c: &TestClient, wr: &str) -> Value {
    c.advance("10m").await;
    let w = c
        .get(&format!("/20170115/loadBalancerWorkRequests/{wr}"))
        .await
        .body;
    assert_eq!(w["lifecycleState"], "SUCCEEDED", "{w:?}");
    w
}

async fn api_cluster(c: &TestClient) -> String {
    let mut body = cluster_body(c, "k");
    body["type"] = json!("ENHANCED_CLUSTER");
    let r = c.post("/20180222/clusters", &body).await;
    ok(&r, StatusCode::ACCEPTED);
    let wr = r.header("opc-work-request-id").unwrap().to_string();
    c.advance("10m").await;
    let w = c.get(&format!("/20180222/workRequests/{wr}")).await.body;
    assert_eq!(w["status"], "SUCCEEDED");
    w["resources"][0]["identifier"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn ad1(c: &TestClient) -> String {
    c.get(&format!(
        "/20160918/availabilityDomains?compartmentId={}",
        c.tenancy()
    ))
    .await
    .body[0]["name"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Creates a pool of `size` nodes over AD-1's FDs and waits for it.
async fn api_pool(c: &TestClient, cluster: &str, size: u32, extra: Value) -> String {
    let mut body = json!({
        "compartmentId": c.tenancy(), "clusterId": cluster, "displayName": "vnp", "size": size,
        "placementConfigurations": [{"availabilityDomain": ad1(c).await,
            "faultDomain": ["FAULT-DOMAIN-1", "FAULT-DOMAIN-2", "FAULT-DOMAIN-3"], "subnetId": subnet(c, "nodes")}],
        "podConfiguration": {"subnetId": subnet(c, "pods"), "shape": "Pod.Standard.E4.Flex"},
    });
    ocisim::api::core::merge(&mut body, &extra);
    let r = c.post("/20180222/virtualNodePools", &body).await;
    ok(&r, StatusCode::ACCEPTED);
    let wr = r.header("opc-work-request-id").unwrap().to_string();
    c.advance("10m").await;
    let w = c.get(&format!("/20180222/workRequests/{wr}")).await.body;
    assert_eq!(w["status"], "SUCCEEDED", "{w:?}");
    w["resources"][0]["identifier"]
        .as_str()
        .unwrap()
        .to_string()
}

fn ids(v: &Value, field: &str) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x[field].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn nsg_vnics_list_load_balancer_and_virtual_node_vnics() {
    let c = client().await;
    let nsg = c
        .post(
            "/20160918/networkSecurityGroups",
            &json!({"compartmentId": c.tenancy(), "vcnId": vcn(&c), "displayName": "web"}),
        )
        .await;
    ok(&nsg, StatusCode::OK);
    let nsg = nsg.body["id"].as_str().unwrap().to_string();
    let path = format!("/20160918/networkSecurityGroups/{nsg}/vnics");
    assert_eq!(c.get(&path).await.body, json!([]));
    // A load balancer in the NSG: its VNIC joins once it is ACTIVE.
    let r = c
        .post(
            "/20170115/loadBalancers",
            &json!({"compartmentId": c.tenancy(), "displayName": "lb", "shapeName": "flexible",
                    "shapeDetails": {"minimumBandwidthInMbps": 10, "maximumBandwidthInMbps": 100},
                    "subnetIds": [subnet(&c, "lb")], "networkSecurityGroupIds": [nsg]}),
        )
        .await;
    ok(&r, StatusCode::ACCEPTED);
    let w = wait_lb(&c, r.header("opc-work-request-id").unwrap()).await;
    let lb = w["loadBalancerId"].as_str().unwrap().to_string();
    let l = c.get(&path).await;
    ok(&l, StatusCode::OK);
    assert_eq!(ids(&l.body, "resourceId"), std::slice::from_ref(&lb));
    let vnic = l.body[0]["vnicId"].as_str().unwrap().to_string();
    assert!(vnic.starts_with("ocid1.vnic."));
    assert!(l.body[0]["timeAssociated"].is_string());
    let v = c.get(&format!("/20160918/vnics/{vnic}")).await;
    ok(&v, StatusCode::OK);
    assert_eq!(v.body["nsgIds"], json!([nsg]));
    assert_eq!(v.body["subnetId"], subnet(&c, "lb"));
    let lb_ip = {
        let t = c.state.lock_raw();
        let l = t.world.load_balancers.by_ocid(&lb).unwrap();
        ocisim::model::network::ip_string(t.world.load_balancers.get(l).private_ip)
    };
    assert_eq!(v.body["privateIp"], lb_ip);
    // A pool of two virtual nodes in the NSG: two more VNICs, later in time.
    let cluster = api_cluster(&c).await;
    let pool = api_pool(&c, &cluster, 2, json!({"nsgIds": [nsg]})).await;
    let nodes = c
        .get(&format!(
            "/20180222/virtualNodePools/{pool}/virtualNodes?compartmentId={}",
            c.tenancy()
        ))
        .await
        .body;
    let mut node_ids = ids(&nodes, "id");
    node_ids.sort();
    let asc = c
        .get(&format!("{path}?sortBy=TIMEASSOCIATED&sortOrder=ASC"))
        .await;
    let parents = ids(&asc.body, "resourceId");
    assert_eq!(parents.len(), 3);
    assert_eq!(parents[0], lb);
    let mut from_nodes = parents[1..].to_vec();
    from_nodes.sort();
    assert_eq!(from_nodes, node_ids);
    // Default order is newest first; pages of one follow opc-next-page.
    let desc = c.get(&path).await;
    assert_eq!(ids(&desc.body, "resourceId").last().unwrap(), &lb);
    let mut seen = Vec::new();
    let mut page: Option<String> = None;
    loop {
        let q = match &page {
            Some(p) => format!("{path}?sortOrder=ASC&limit=1&page={p}"),
            None => format!("{path}?sortOrder=ASC&limit=1"),
        };
        let r = c.get(&q).await;
        ok(&r, StatusCode::OK);
        seen.extend(ids(&r.body, "resourceId"));
        match r.header("opc-next-page") {
            Some(p) => page = Some(p.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, parents);
    ok(
        &c.get(&format!("{path}?sortBy=DISPLAYNAME")).await,
        StatusCode::BAD_REQUEST,
    );
    ok(
        &c.get("/20160918/networkSecurityGroups/ocid1.networksecuritygroup.oc1.iad.none/vnics")
            .await,
        StatusCode::NOT_FOUND,
    );
    // The load balancer deleted: its VNIC leaves the NSG and is TERMINATED.
    let d = c.delete(&format!("/20170115/loadBalancers/{lb}")).await;
    ok(&d, StatusCode::ACCEPTED);
    wait_lb(&c, d.header("opc-work-request-id").unwrap()).await;
    let after = c.get(&path).await;
    assert!(!ids(&after.body, "resourceId").contains(&lb));
    assert_eq!(after.body.as_array().unwrap().len(), 2);
    assert_eq!(
        c.get(&format!("/20160918/vnics/{vnic}")).await.body["lifecycleState"],
        "TERMINATED"
    );
}

// ------------------------------------------------------------------ pool labels and taints

/// The same topology with two Deployments that select `tier: gold`: `gold`
/// tolerates `dedicated=gold:NoSchedule`, `plain` does not.
fn scheduling_scenario() -> String {
    format!("{SCENARIO}{DEPLOYMENTS}")
}

const DEPLOYMENTS: &str = r#"---
apiVersion: apps/v1
kind: Deployment
metadata: {name: gold}
spec:
  replicas: 2
  selector: {matchLabels: {app: gold}}
  template:
    metadata: {labels: {app: gold}}
    spec:
      nodeSelector: {tier: gold}
      tolerations: [{key: dedicated, operator: Equal, value: gold, effect: NoSchedule}]
      containers: [{name: app, image: x, resources: {limits: {cpu: 250m, memory: 256Mi}}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: plain}
spec:
  replicas: 1
  selector: {matchLabels: {app: plain}}
  template:
    metadata: {labels: {app: plain}}
    spec:
      nodeSelector: {tier: gold}
      containers: [{name: app, image: x, resources: {limits: {cpu: 250m, memory: 256Mi}}}]
"#;

/// The node names of `deployment`'s bound pods, and its pending pods' messages.
fn placement(c: &TestClient, deployment: &str) -> (Vec<String>, Vec<String>) {
    use ocisim::model::kube::cluster::PodState;
    let t = c.state.lock_raw();
    let w = &t.world;
    let rs = w.deployment(deployment).unwrap().rs;
    let mut bound: Vec<String> = w
        .kube
        .rs(rs)
        .active
        .iter()
        .map(|p| w.kube.pod(*p))
        .filter(|p| matches!(p.state, PodState::Starting | PodState::Running))
        .map(|p| w.kube.node(p.node.unwrap()).name.clone())
        .collect();
    bound.sort();
    let pending = w
        .pending_pods(rs)
        .map(|p| w.kube.pod(p).unschedulable_message().unwrap_or_default())
        .collect();
    (bound, pending)
}

#[tokio::test]
async fn pool_label_and_taint_updates_reach_new_nodes_and_the_scheduler() {
    let c = client_from(scheduling_scenario()).await;
    let cluster = api_cluster(&c).await;
    let pool = api_pool(&c, &cluster, 1, json!({})).await;
    // Nothing is labelled tier=gold yet: every pod is Pending.
    assert_eq!(placement(&c, "gold").0.len(), 0);
    assert_eq!(placement(&c, "plain").1.len(), 1);
    let u = c
        .put(
            &format!("/20180222/virtualNodePools/{pool}"),
            &json!({"size": 2,
                    "initialVirtualNodeLabels": [{"key": "tier", "value": "gold"}],
                    "taints": [{"key": "dedicated", "value": "gold", "effect": "NoSchedule"}]}),
        )
        .await;
    ok(&u, StatusCode::ACCEPTED);
    // Not applied before the work request completes.
    let g = c
        .get(&format!("/20180222/virtualNodePools/{pool}"))
        .await
        .body;
    assert_eq!(g["initialVirtualNodeLabels"], json!([]));
    c.advance("10m").await;
    let g = c
        .get(&format!("/20180222/virtualNodePools/{pool}"))
        .await
        .body;
    assert_eq!(g["lifecycleState"], "ACTIVE");
    assert_eq!(g["initialVirtualNodeLabels"][0]["key"], "tier");
    assert_eq!(g["taints"][0]["effect"], "NoSchedule");
    // The node the update added carries both; the existing one keeps its own
    // (the README assumption: updated values apply to new nodes only).
    let (old, new) = {
        let t = c.state.lock_raw();
        let w = &t.world;
        let pid = w.oke.pools.iter().position(|p| p.size == 2).unwrap();
        let nodes = w.pool_nodes(ocisim::model::oke::PoolId(pid as u32));
        assert_eq!(nodes.len(), 2);
        let first = w.kube.node(nodes[0]);
        let second = w.kube.node(nodes[1]);
        assert!(!first.labels.contains_key("tier") && first.taints.is_empty());
        assert_eq!(second.labels["tier"], "gold");
        assert_eq!(second.taints.len(), 1);
        assert_eq!(second.taints[0].key, "dedicated");
        (first.name.clone(), second.name.clone())
    };
    c.advance("5m").await;
    // nodeSelector matches the new node and the toleration lets gold in ...
    let (gold, pending) = placement(&c, "gold");
    assert_eq!(gold, [new.clone(), new.clone()]);
    assert!(pending.is_empty());
    assert!(!gold.contains(&old));
    // ... while plain, with no toleration, stays Pending on the taint.
    let (plain, pending) = placement(&c, "plain");
    assert!(plain.is_empty());
    assert_eq!(pending.len(), 1);
    assert!(pending[0].contains("untolerated taint"), "{}", pending[0]);
}

// ------------------------------------------------------------------ MySQL configurations

#[tokio::test]
async fn mysql_custom_configurations_and_db_systems_using_them() {
    let c = client().await;
    let cfgs = "/20190415/configurations";
    let default = c
        .get(&format!(
            "{cfgs}?compartmentId={}&shapeName=MySQL.2",
            c.tenancy()
        ))
        .await
        .body[0]
        .clone();
    assert_eq!(default["type"], "DEFAULT");
    let default_id = default["id"].as_str().unwrap().to_string();
    // A parent for MySQL.2, then a child that supersedes one variable.
    let parent = c
        .post(
            cfgs,
            &json!({"compartmentId": c.tenancy(), "shapeName": "MySQL.2", "displayName": "base",
                    "variables": {"maxConnections": 500, "sqlRequirePrimaryKey": true}}),
        )
        .await;
    ok(&parent, StatusCode::OK);
    assert_eq!(parent.body["type"], "CUSTOM");
    assert_eq!(parent.body["lifecycleState"], "ACTIVE");
    let parent_id = parent.body["id"].as_str().unwrap().to_string();
    assert!(parent_id.starts_with("ocid1.mysqlconfiguration."));
    let child = c
        .post(
            cfgs,
            &json!({"compartmentId": c.tenancy(), "shapeName": "MySQL.2", "displayName": "app",
                    "parentConfigurationId": parent_id, "variables": {"maxConnections": 800}}),
        )
        .await;
    ok(&child, StatusCode::OK);
    let child_id = child.body["id"].as_str().unwrap().to_string();
    assert_eq!(child.body["parentConfigurationId"], parent_id.as_str());
    assert_eq!(
        child.body["variables"],
        json!({"maxConnections": 800, "sqlRequirePrimaryKey": true})
    );
    let g = c.get(&format!("{cfgs}/{child_id}")).await;
    ok(&g, StatusCode::OK);
    assert_eq!(g.body, child.body);
    // Errors: unknown shape, a parent of another shape, bad variables.
    for (body, field) in [
        (
            json!({"compartmentId": c.tenancy(), "shapeName": "MySQL.3"}),
            "shapeName",
        ),
        (
            json!({"compartmentId": c.tenancy(), "shapeName": "MySQL.4", "parentConfigurationId": parent_id}),
            "parentConfigurationId",
        ),
        (
            json!({"compartmentId": c.tenancy(), "shapeName": "MySQL.2", "variables": {"maxConnections": [1]}}),
            "variables.maxConnections",
        ),
    ] {
        let e = c.post(cfgs, &body).await;
        ok(&e, StatusCode::BAD_REQUEST);
        assert!(
            e.body["message"].as_str().unwrap().starts_with(field),
            "{field}: {:?}",
            e.body
        );
    }
    // Lists: CUSTOM only, sorted by name.
    let l = c
        .get(&format!(
            "{cfgs}?compartmentId={}&type=CUSTOM&sortBy=displayName",
            c.tenancy()
        ))
        .await;
    assert_eq!(ids(&l.body, "displayName"), ["app", "base"]);
    assert!(l.body[0].get("variables").is_none());
    // Update renames; a DEFAULT configuration cannot be changed.
    let u = c
        .put(
            &format!("{cfgs}/{child_id}"),
            &json!({"displayName": "app-v2", "description": "tuned"}),
        )
        .await;
    ok(&u, StatusCode::OK);
    assert_eq!(u.body["displayName"], "app-v2");
    assert_eq!(u.body["description"], "tuned");
    ok(
        &c.put(
            &format!("{cfgs}/{default_id}"),
            &json!({"displayName": "x"}),
        )
        .await,
        StatusCode::CONFLICT,
    );
    ok(
        &c.delete(&format!("{cfgs}/{default_id}")).await,
        StatusCode::CONFLICT,
    );
    // DB systems: the configuration must exist and match the shape.
    let db = |shape: &str, cfg: &str| {
        json!({"compartmentId": c.tenancy(), "displayName": "db", "shapeName": shape,
               "subnetId": subnet(&c, "db"), "configurationId": cfg,
               "adminUsername": "admin", "adminPassword": "Sup3r-secret", "dataStorageSizeInGBs": 50})
    };
    let e = c
        .post("/20190415/dbSystems", &db("MySQL.4", &child_id))
        .await;
    ok(&e, StatusCode::BAD_REQUEST);
    assert!(
        e.body["message"]
            .as_str()
            .unwrap()
            .contains("is for shape MySQL.2, not MySQL.4")
    );
    let e = c
        .post(
            "/20190415/dbSystems",
            &db("MySQL.2", "ocid1.mysqlconfiguration.oc1.iad.none"),
        )
        .await;
    ok(&e, StatusCode::BAD_REQUEST);
    assert!(
        e.body["message"]
            .as_str()
            .unwrap()
            .starts_with("configurationId")
    );
    let r = c
        .post("/20190415/dbSystems", &db("MySQL.2", &child_id))
        .await;
    ok(&r, StatusCode::OK);
    assert_eq!(r.body["configurationId"], child_id.as_str());
    let sys = r.body["id"].as_str().unwrap().to_string();
    // In use: 409 until the DB system is deleted; then DELETED, and no new
    // DB system can use it.
    let busy = c.delete(&format!("{cfgs}/{child_id}")).await;
    ok(&busy, StatusCode::CONFLICT);
    assert!(busy.body["message"].as_str().unwrap().contains(&sys));
    c.advance("15m").await;
    ok(
        &c.delete(&format!("/20190415/dbSystems/{sys}")).await,
        StatusCode::ACCEPTED,
    );
    c.advance("5m").await;
    ok(
        &c.delete(&format!("{cfgs}/{child_id}")).await,
        StatusCode::NO_CONTENT,
    );
    assert_eq!(
        c.get(&format!("{cfgs}/{child_id}")).await.body["lifecycleState"],
        "DELETED"
    );
    let deleted = c
        .get(&format!(
            "{cfgs}?compartmentId={}&lifecycleState=DELETED",
            c.tenancy()
        ))
        .await;
    assert_eq!(ids(&deleted.body, "id"), std::slice::from_ref(&child_id));
    let e = c
        .post("/20190415/dbSystems", &db("MySQL.2", &child_id))
        .await;
    ok(&e, StatusCode::BAD_REQUEST);
    assert!(e.body["message"].as_str().unwrap().contains("DELETED"));
    ok(
        &c.delete(&format!("{cfgs}/{child_id}")).await,
        StatusCode::CONFLICT,
    );
}

// ------------------------------------------------ endpoint config, NSG checks

async fn api_nsg(c: &TestClient, vcn_id: &str, name: &str) -> String {
    let r = c
        .post(
            "/20160918/networkSecurityGroups",
            &json!({"compartmentId": c.tenancy(), "vcnId": vcn_id, "displayName": name}),
        )
        .await;
    ok(&r, StatusCode::OK);
    r.body["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn cluster_endpoint_config_update_applies_nsgs_and_public_ip_when_done() {
    let c = client().await;
    let nsg = api_nsg(&c, &vcn(&c), "api").await;
    let cluster = api_cluster(&c).await;
    let path = format!("/20180222/clusters/{cluster}/actions/updateEndpointConfig");
    // An NSG that does not exist is named by its element; nothing changes.
    let bad = c
        .post(
            &path,
            &json!({"nsgIds": ["ocid1.networksecuritygroup.oc1..nope"]}),
        )
        .await;
    ok(&bad, StatusCode::BAD_REQUEST);
    assert!(bad.message().contains("nsgIds[0]"), "{}", bad.message());
    let g = c.get(&format!("/20180222/clusters/{cluster}")).await.body;
    assert_eq!(g["lifecycleState"], "ACTIVE");
    assert_eq!(g["endpointConfig"]["nsgIds"], json!([]));
    assert!(g["endpoints"].get("publicEndpoint").is_none());
    // Accepted: UPDATING with a work request; applied when it completes.
    let r = c
        .post(&path, &json!({"nsgIds": [nsg], "isPublicIpEnabled": true}))
        .await;
    ok(&r, StatusCode::ACCEPTED);
    let wr = r.header("opc-work-request-id").unwrap().to_string();
    let g = c.get(&format!("/20180222/clusters/{cluster}")).await.body;
    assert_eq!(g["lifecycleState"], "UPDATING");
    assert_eq!(g["endpointConfig"]["nsgIds"], json!([]));
    // A second update while UPDATING is a conflict.
    ok(&c.post(&path, &json!({})).await, StatusCode::CONFLICT);
    c.advance("10m").await;
    let w = c.get(&format!("/20180222/workRequests/{wr}")).await.body;
    assert_eq!(w["status"], "SUCCEEDED");
    assert_eq!(w["operationType"], "CLUSTER_UPDATE");
    let g = c.get(&format!("/20180222/clusters/{cluster}")).await.body;
    assert_eq!(g["lifecycleState"], "ACTIVE");
    assert_eq!(g["endpointConfig"]["nsgIds"], json!([nsg]));
    assert_eq!(g["endpointConfig"]["isPublicIpEnabled"], true);
    assert!(g["endpoints"]["publicEndpoint"].is_string());
}

#[tokio::test]
async fn cluster_endpoint_config_update_needs_a_public_subnet_for_a_public_ip() {
    let c = client().await;
    let mut body = cluster_body(&c, "private");
    body["endpointConfig"]["subnetId"] = json!(subnet(&c, "nodes"));
    let r = c.post("/20180222/clusters", &body).await;
    ok(&r, StatusCode::ACCEPTED);
    c.advance("10m").await;
    let wr = r.header("opc-work-request-id").unwrap().to_string();
    let w = c.get(&format!("/20180222/workRequests/{wr}")).await.body;
    let cluster = w["resources"][0]["identifier"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/20180222/clusters/{cluster}/actions/updateEndpointConfig");
    let r = c.post(&path, &json!({"isPublicIpEnabled": true})).await;
    ok(&r, StatusCode::BAD_REQUEST);
    assert!(
        r.message().starts_with("isPublicIpEnabled"),
        "{}",
        r.message()
    );
    // A cluster without a VCN-native endpoint has no endpoint to update.
    let mut body = cluster_body(&c, "legacy");
    body.as_object_mut().unwrap().remove("endpointConfig");
    let r = c.post("/20180222/clusters", &body).await;
    ok(&r, StatusCode::ACCEPTED);
    c.advance("10m").await;
    let wr = r.header("opc-work-request-id").unwrap().to_string();
    let w = c.get(&format!("/20180222/workRequests/{wr}")).await.body;
    let legacy = w["resources"][0]["identifier"]
        .as_str()
        .unwrap()
        .to_string();
    let r = c
        .post(
            &format!("/20180222/clusters/{legacy}/actions/updateEndpointConfig"),
            &json!({"nsgIds": []}),
        )
        .await;
    ok(&r, StatusCode::BAD_REQUEST);
    assert!(
        r.message().contains("no VCN-native endpoint"),
        "{}",
        r.message()
    );
}

#[tokio::test]
async fn nsg_ids_must_exist_be_in_the_vcn_and_number_at_most_five() {
    let c = client().await;
    let other = c
        .post(
            "/20160918/vcns",
            &json!({"compartmentId": c.tenancy(), "cidrBlock": "10.9.0.0/16", "displayName": "other"}),
        )
        .await;
    ok(&other, StatusCode::OK);
    let foreign = api_nsg(&c, other.body["id"].as_str().unwrap(), "far").await;
    let lb = |nsgs: Value| {
        json!({"compartmentId": c.tenancy(), "displayName": "lb", "shapeName": "flexible",
               "shapeDetails": {"minimumBandwidthInMbps": 10, "maximumBandwidthInMbps": 100},
               "subnetIds": [subnet(&c, "lb")], "networkSecurityGroupIds": nsgs})
    };
    let r = c
        .post("/20170115/loadBalancers", &lb(json!([foreign])))
        .await;
    ok(&r, StatusCode::BAD_REQUEST);
    assert!(
        r.message().starts_with("networkSecurityGroupIds[0]") && r.message().contains("not in"),
        "{}",
        r.message()
    );
    let mut six = Vec::new();
    for i in 0..6 {
        six.push(api_nsg(&c, &vcn(&c), &format!("n{i}")).await);
    }
    let r = c.post("/20170115/loadBalancers", &lb(json!(six))).await;
    ok(&r, StatusCode::BAD_REQUEST);
    assert!(r.message().contains("at most 5"), "{}", r.message());
    let r = c
        .post("/20170115/loadBalancers", &lb(json!([six[0], six[0]])))
        .await;
    ok(&r, StatusCode::BAD_REQUEST);
    assert!(
        r.message().starts_with("networkSecurityGroupIds[1]"),
        "{}",
        r.message()
    );
    // Nothing was created by the refused requests.
    let l = c
        .get(&format!(
            "/20170115/loadBalancers?compartmentId={}",
            c.tenancy()
        ))
        .await;
    assert_eq!(l.body, json!([]));
    // The same check guards MySQL and the OKE pools.
    let r = c
        .post(
            "/20190415/dbSystems",
            &json!({"compartmentId": c.tenancy(), "shapeName": "MySQL.2", "subnetId": subnet(&c, "db"),
                    "adminUsername": "admin", "adminPassword": "Sup3r-secret!",
                    "nsgIds": ["ocid1.networksecuritygroup.oc1..gone"]}),
        )
        .await;
    ok(&r, StatusCode::BAD_REQUEST);
    assert!(r.message().starts_with("nsgIds[0]"), "{}", r.message());
    let cluster = api_cluster(&c).await;
    let r = c
        .post(
            "/20180222/virtualNodePools",
            &json!({"compartmentId": c.tenancy(), "clusterId": cluster, "displayName": "p", "size": 1,
                    "placementConfigurations": [{"availabilityDomain": ad1(&c).await,
                        "faultDomain": ["FAULT-DOMAIN-1"], "subnetId": subnet(&c, "nodes")}],
                    "podConfiguration": {"subnetId": subnet(&c, "pods"), "shape": "Pod.Standard.E4.Flex",
                        "nsgIds": [foreign]}}),
        )
        .await;
    ok(&r, StatusCode::BAD_REQUEST);
    assert!(
        r.message().starts_with("podConfiguration.nsgIds[0]"),
        "{}",
        r.message()
    );
}

#[tokio::test]
async fn pool_update_takes_nsgs_and_pod_subnet_but_not_a_new_pod_shape() {
    let c = client().await;
    let nsg = api_nsg(&c, &vcn(&c), "pods").await;
    let cluster = api_cluster(&c).await;
    let pool = api_pool(&c, &cluster, 1, json!({})).await;
    let path = format!("/20180222/virtualNodePools/{pool}");
    let pc = |shape: &str, sub: &str| json!({"podConfiguration": {"subnetId": subnet(&c, sub), "shape": shape, "nsgIds": [nsg]}});
    let r = c.put(&path, &pc("Pod.Standard.E3.Flex", "pods")).await;
    ok(&r, StatusCode::BAD_REQUEST);
    assert!(
        r.message().contains("cannot be updated in place"),
        "{}",
        r.message()
    );
    // A public subnet cannot hold pods.
    let r = c.put(&path, &pc("Pod.Standard.E4.Flex", "lb")).await;
    ok(&r, StatusCode::BAD_REQUEST);
    assert!(
        r.message().starts_with("podConfiguration.subnetId"),
        "{}",
        r.message()
    );
    let mut body = pc("Pod.Standard.E4.Flex", "db");
    body["nsgIds"] = json!([nsg]);
    let r = c.put(&path, &body).await;
    ok(&r, StatusCode::ACCEPTED);
    c.advance("10m").await;
    let g = c.get(&path).await.body;
    assert_eq!(g["lifecycleState"], "ACTIVE");
    assert_eq!(g["nsgIds"], json!([nsg]));
    assert_eq!(g["podConfiguration"]["nsgIds"], json!([nsg]));
    assert_eq!(g["podConfiguration"]["shape"], "Pod.Standard.E4.Flex");
    assert_eq!(g["podConfiguration"]["subnetId"], subnet(&c, "db"));
    // The model pool takes the new pod subnet (for the nodes it makes next).
    let t = c.state.lock_raw();
    let names: Vec<&str> = t
        .world
        .oke
        .pools
        .iter()
        .map(|p| t.world.network.subnet(p.pod_subnet).name.as_str())
        .collect();
    assert_eq!(names, ["pods", "db"], "the seed pool keeps its subnet");
}

#[tokio::test]
async fn cancel_secret_rotation_is_an_operation_not_a_missing_route() {
    let c = client().await;
    let r = c
        .post(
            "/20180608/secrets/ocid1.vaultsecret.oc1..nope/actions/cancelRotation",
            &json!({}),
        )
        .await;
    ok(&r, StatusCode::NOT_FOUND);
    assert!(
        !r.message().contains("no operation answers"),
        "{}",
        r.message()
    );
}

// ------------------------------------------------ NSGs in use, LB NSG updates

/// Creates a load balancer in the LB subnet with `nsgs` and waits until it
/// is ACTIVE. Returns its OCID.
async fn api_lb(c: &TestClient, nsgs: Value) -> String {
    let r = c
        .post(
            "/20170115/loadBalancers",
            &json!({"compartmentId": c.tenancy(), "displayName": "lb", "shapeName": "flexible",
                    "shapeDetails": {"minimumBandwidthInMbps": 10, "maximumBandwidthInMbps": 100},
                    "subnetIds": [subnet(c, "lb")], "networkSecurityGroupIds": nsgs}),
        )
        .await;
    ok(&r, StatusCode::ACCEPTED);
    let w = wait_lb(c, r.header("opc-work-request-id").unwrap()).await;
    w["loadBalancerId"].as_str().unwrap().to_string()
}

/// The VNIC ids ListNetworkSecurityGroupVnics gives for `nsg`.
async fn nsg_vnics(c: &TestClient, nsg: &str) -> Vec<String> {
    let r = c
        .get(&format!("/20160918/networkSecurityGroups/{nsg}/vnics"))
        .await;
    ok(&r, StatusCode::OK);
    ids(&r.body, "vnicId")
}

#[tokio::test]
async fn an_nsg_with_a_vnic_in_it_is_not_deleted_until_the_vnic_leaves() {
    let c = client().await;
    let nsg = api_nsg(&c, &vcn(&c), "web").await;
    let lb = api_lb(&c, json!([nsg])).await;
    let vnic = nsg_vnics(&c, &nsg).await.pop().unwrap();
    let path = format!("/20160918/networkSecurityGroups/{nsg}");
    let d = c.delete(&path).await;
    ok(&d, StatusCode::CONFLICT);
    // Conflict, never IncorrectState (which the SDK retries for minutes),
    // naming the NSG, the VNIC and the load balancer it belongs to.
    assert_eq!(d.code(), "Conflict");
    for part in [&nsg, &vnic, &lb] {
        assert!(d.message().contains(part.as_str()), "{}", d.message());
    }
    let g = c.get(&path).await;
    ok(&g, StatusCode::OK);
    assert_eq!(g.body["lifecycleState"], "AVAILABLE");
    assert!(c.state.lock_raw().world.network.nsg_by_ocid(&nsg).is_some());
    // The load balancer leaves the NSG: the delete goes through.
    let u = c
        .put(
            &format!("/20170115/loadBalancers/{lb}/networkSecurityGroups"),
            &json!({"networkSecurityGroupIds": []}),
        )
        .await;
    ok(&u, StatusCode::ACCEPTED);
    wait_lb(&c, u.header("opc-work-request-id").unwrap()).await;
    assert!(nsg_vnics(&c, &nsg).await.is_empty());
    ok(&c.delete(&path).await, StatusCode::NO_CONTENT);
    assert!(c.state.lock_raw().world.network.nsg_by_ocid(&nsg).is_none());
}

#[tokio::test]
async fn lb_update_network_security_groups_moves_its_vnic_when_done() {
    let c = client().await;
    let (a, b, gone) = (
        api_nsg(&c, &vcn(&c), "a").await,
        api_nsg(&c, &vcn(&c), "b").await,
        api_nsg(&c, &vcn(&c), "gone").await,
    );
    let lb = api_lb(&c, json!([a])).await;
    let vnic = nsg_vnics(&c, &a).await.pop().unwrap();
    let path = format!("/20170115/loadBalancers/{lb}/networkSecurityGroups");
    // Refused at once: an unknown NSG, a repeat, a missing load balancer.
    let r = c
        .put(
            &path,
            &json!({"networkSecurityGroupIds": ["ocid1.networksecuritygroup.oc1..nope"]}),
        )
        .await;
    ok(&r, StatusCode::BAD_REQUEST);
    assert!(
        r.message().starts_with("networkSecurityGroupIds[0]"),
        "{}",
        r.message()
    );
    let r = c
        .put(&path, &json!({"networkSecurityGroupIds": [b, b]}))
        .await;
    ok(&r, StatusCode::BAD_REQUEST);
    assert!(r.message().contains("[1]"), "{}", r.message());
    ok(
        &c.put(
            "/20170115/loadBalancers/ocid1.loadbalancer.oc1..none/networkSecurityGroups",
            &json!({"networkSecurityGroupIds": []}),
        )
        .await,
        StatusCode::NOT_FOUND,
    );
    // if-match against the load balancer's etag.
    let etag = c
        .get(&format!("/20170115/loadBalancers/{lb}"))
        .await
        .header("etag")
        .unwrap()
        .to_string();
    let body = json!({"networkSecurityGroupIds": [b]});
    ok(
        &c.send("PUT", &path, Some(&body), &[("if-match", "stale")])
            .await,
        StatusCode::PRECONDITION_FAILED,
    );
    let u = c
        .send(
            "PUT",
            &path,
            Some(&body),
            &[("if-match", &etag), ("opc-retry-token", "nsg-1")],
        )
        .await;
    ok(&u, StatusCode::ACCEPTED);
    let wr = u.header("opc-work-request-id").unwrap().to_string();
    // The same retry token replays the same work request.
    let again = c
        .send("PUT", &path, Some(&body), &[("opc-retry-token", "nsg-1")])
        .await;
    assert_eq!(again.header("opc-work-request-id"), Some(wr.as_str()));
    // Nothing moves before the work request completes.
    let g = c.get(&format!("/20170115/loadBalancers/{lb}")).await.body;
    assert_eq!(g["networkSecurityGroupIds"], json!([a]));
    let w = wait_lb(&c, &wr).await;
    assert_eq!(w["type"], "UpdateNetworkSecurityGroups");
    assert_eq!(w["loadBalancerId"], lb);
    let g = c.get(&format!("/20170115/loadBalancers/{lb}")).await;
    assert_eq!(g.body["networkSecurityGroupIds"], json!([b]));
    assert_ne!(g.header("etag"), Some(etag.as_str()));
    let v = c.get(&format!("/20160918/vnics/{vnic}")).await.body;
    assert_eq!(v["nsgIds"], json!([b]));
    assert!(nsg_vnics(&c, &a).await.is_empty());
    assert_eq!(nsg_vnics(&c, &b).await, std::slice::from_ref(&vnic));
    // An NSG deleted while the update waits fails the work request; the
    // load balancer keeps what it had.
    let u = c
        .put(&path, &json!({"networkSecurityGroupIds": [b, gone]}))
        .await;
    ok(&u, StatusCode::ACCEPTED);
    ok(
        &c.delete(&format!("/20160918/networkSecurityGroups/{gone}"))
            .await,
        StatusCode::NO_CONTENT,
    );
    c.advance("10m").await;
    let w = c
        .get(&format!(
            "/20170115/loadBalancerWorkRequests/{}",
            u.header("opc-work-request-id").unwrap()
        ))
        .await
        .body;
    assert_eq!(w["lifecycleState"], "FAILED", "{w:?}");
    assert!(
        w["errorDetails"][0]["message"]
            .as_str()
            .unwrap()
            .contains(&gone),
        "{w:?}"
    );
    let g = c.get(&format!("/20170115/loadBalancers/{lb}")).await.body;
    assert_eq!(g["networkSecurityGroupIds"], json!([b]));
    assert_eq!(
        c.get(&format!("/20160918/vnics/{vnic}")).await.body["nsgIds"],
        json!([b])
    );
}

/// A pool in the cluster whose nodes carry `tier=gold` and the `dedicated`
/// taint (so the scenario's `gold` pods land there), with pod NSGs `nsgs`.
async fn gold_pool(c: &TestClient, cluster: &str, nsgs: Value) -> String {
    api_pool(
        c,
        cluster,
        1,
        json!({"initialVirtualNodeLabels": [{"key": "tier", "value": "gold"}],
               "taints": [{"key": "dedicated", "value": "gold", "effect": "NoSchedule"}],
               "podConfiguration": {"subnetId": subnet(c, "pods"), "shape": "Pod.Standard.E4.Flex",
                                    "nsgIds": nsgs}}),
    )
    .await
}

#[tokio::test]
async fn pod_nsgs_hold_an_nsg_while_pods_run_and_follow_pool_updates() {
    let c = client_from(scheduling_scenario()).await;
    let (old, new) = (
        api_nsg(&c, &vcn(&c), "old").await,
        api_nsg(&c, &vcn(&c), "new").await,
    );
    let cluster = api_cluster(&c).await;
    let pool = gold_pool(&c, &cluster, json!([old])).await;
    c.advance("5m").await;
    assert_eq!(placement(&c, "gold").0.len(), 2);
    let pod_nsgs = |c: &TestClient| {
        let t = c.state.lock_raw();
        let p = t.world.oke.pools.iter().find(|p| p.id == pool).unwrap();
        p.pod_nsgs.clone()
    };
    assert_eq!(pod_nsgs(&c), std::slice::from_ref(&old));
    // The pods' VNICs are in `old` (the twin has no pod VNICs, the pool's pod
    // NSGs stand for them): the delete is refused, naming the pool.
    let d = c
        .delete(&format!("/20160918/networkSecurityGroups/{old}"))
        .await;
    ok(&d, StatusCode::CONFLICT);
    assert_eq!(d.code(), "Conflict");
    assert!(d.message().contains(&old), "{}", d.message());
    assert!(d.message().contains(&pool), "{}", d.message());
    assert!(
        d.message().contains("podConfiguration.nsgIds"),
        "{}",
        d.message()
    );
    // The pool moves its pods to `new`: the model follows when the update
    // completes, and `old` is free.
    let u = c
        .put(
            &format!("/20180222/virtualNodePools/{pool}"),
            &json!({"podConfiguration": {"subnetId": subnet(&c, "pods"),
                    "shape": "Pod.Standard.E4.Flex", "nsgIds": [new]}}),
        )
        .await;
    ok(&u, StatusCode::ACCEPTED);
    assert_eq!(
        pod_nsgs(&c),
        std::slice::from_ref(&old),
        "not before the work request"
    );
    c.advance("10m").await;
    assert_eq!(pod_nsgs(&c), std::slice::from_ref(&new));
    ok(
        &c.delete(&format!("/20160918/networkSecurityGroups/{old}"))
            .await,
        StatusCode::NO_CONTENT,
    );
    let d = c
        .delete(&format!("/20160918/networkSecurityGroups/{new}"))
        .await;
    ok(&d, StatusCode::CONFLICT);
    // A pool that names an NSG but has no pods keeps nothing in it.
    let idle = api_nsg(&c, &vcn(&c), "idle").await;
    api_pool(
        &c,
        &cluster,
        0,
        json!({"nsgIds": [idle], "podConfiguration": {"subnetId": subnet(&c, "pods"),
               "shape": "Pod.Standard.E4.Flex", "nsgIds": [idle]}}),
    )
    .await;
    ok(
        &c.delete(&format!("/20160918/networkSecurityGroups/{idle}"))
            .await,
        StatusCode::NO_CONTENT,
    );
}
