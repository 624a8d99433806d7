//! OKE, load balancer, MySQL and container registry over the REST API, in
//! process: wire shapes, work requests in virtual time, model errors as 400,
//! node spread over the FDs, FD outages seen through the API.

use axum::http::StatusCode;
mod common;

use common::api::{client, subnet, vcn};
use ocisim::api::testing::TestClient;
use serde_json::{Value, json};

async fn wait_wr(c: &TestClient, path: &str, field: &str) -> Value {
    for _ in 0..100 {
        let r = c.get(path).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        let s = r.body[field].as_str().unwrap().to_string();
        if s == "SUCCEEDED" || s == "FAILED" {
            return r.body;
        }
        c.advance("30s").await;
    }
    panic!("work request {path} never finished");
}

async fn enhanced_cluster(c: &TestClient) -> String {
    let r = c
        .post(
            "/20180222/clusters",
            &json!({
                "name": "prod", "compartmentId": c.tenancy(), "vcnId": vcn(c),
                "kubernetesVersion": "v1.34.1", "type": "ENHANCED_CLUSTER",
                "endpointConfig": {"subnetId": subnet(c, "api"), "isPublicIpEnabled": true},
                "clusterPodNetworkOptions": [{"cniType": "OCI_VCN_IP_NATIVE"}],
                "options": {"serviceLbSubnetIds": [subnet(c, "lb")]},
            }),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    assert_eq!(r.body, Value::Null);
    let wr = r.header("opc-work-request-id").unwrap().to_string();
    assert!(wr.starts_with("ocid1.clustersworkrequest."));
    let w = wait_wr(c, &format!("/20180222/workRequests/{wr}"), "status").await;
    assert_eq!(w["status"], "SUCCEEDED");
    assert_eq!(w["operationType"], "CLUSTER_CREATE");
    assert_eq!(w["resources"][0]["entityType"], "cluster");
    assert_eq!(w["resources"][0]["actionType"], "CREATED");
    w["resources"][0]["identifier"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn oke_cluster_pool_nodes_resize_and_outage() {
    let c = client().await;
    let id = enhanced_cluster(&c).await;
    let g = c.get(&format!("/20180222/clusters/{id}")).await;
    assert_eq!(g.body["lifecycleState"], "ACTIVE");
    assert_eq!(g.body["type"], "ENHANCED_CLUSTER");
    assert_eq!(
        g.body["clusterPodNetworkOptions"][0]["cniType"],
        "OCI_VCN_IP_NATIVE"
    );
    assert_eq!(g.body["endpoints"]["privateEndpoint"], "10.0.0.2:6443");
    assert!(
        g.body["endpoints"]["publicEndpoint"]
            .as_str()
            .unwrap()
            .ends_with(":6443")
    );
    assert!(g.header("etag").is_some());
    // Kubeconfig is YAML naming the endpoint and the token command.
    let k = c
        .post(
            &format!("/20180222/clusters/{id}/kubeconfig/content"),
            &json!({"tokenVersion": "2.0.0", "endpoint": "PRIVATE_ENDPOINT"}),
        )
        .await;
    assert_eq!(k.status, StatusCode::OK);
    assert_eq!(k.header("content-type"), Some("application/x-yaml"));
    let y = k.body.as_str().unwrap();
    assert!(
        y.contains("server: https://10.0.0.2:6443") && y.contains("generate-token"),
        "{y}"
    );
    // A pool over the three FDs of AD-1: five nodes, spread 2/2/1.
    let ad1 = c
        .get(&format!(
            "/20160918/availabilityDomains?compartmentId={}",
            c.tenancy()
        ))
        .await
        .body[0]["name"]
        .as_str()
        .unwrap()
        .to_string();
    let pool_body = |size: u32, shape: &str| {
        json!({
            "compartmentId": c.tenancy(), "clusterId": id, "displayName": "vnp", "size": size,
            "placementConfigurations": [{"availabilityDomain": ad1, "faultDomain": ["FAULT-DOMAIN-1", "FAULT-DOMAIN-2", "FAULT-DOMAIN-3"], "subnetId": subnet(&c, "nodes")}],
            "podConfiguration": {"subnetId": subnet(&c, "pods"), "shape": shape},
            "initialVirtualNodeLabels": [{"key": "tier", "value": "web"}],
            "taints": [{"key": "dedicated", "value": "web", "effect": "NoSchedule"}],
        })
    };
    let bad = c
        .post(
            "/20180222/virtualNodePools",
            &pool_body(5, "VM.Standard.E4.Flex"),
        )
        .await;
    assert_eq!(
        (bad.status, bad.code()),
        (StatusCode::BAD_REQUEST, "InvalidParameter")
    );
    assert!(
        bad.body["message"]
            .as_str()
            .unwrap()
            .contains("podConfiguration.shape")
    );
    let r = c
        .post(
            "/20180222/virtualNodePools",
            &pool_body(5, "Pod.Standard.E4.Flex"),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    let wr = r.header("opc-work-request-id").unwrap().to_string();
    let w = wait_wr(&c, &format!("/20180222/workRequests/{wr}"), "status").await;
    let pool = w["resources"][0]["identifier"]
        .as_str()
        .unwrap()
        .to_string();
    let p = c
        .get(&format!("/20180222/virtualNodePools/{pool}"))
        .await
        .body;
    assert_eq!(
        (p["lifecycleState"].as_str(), p["size"].as_u64()),
        (Some("ACTIVE"), Some(5))
    );
    assert_eq!(p["taints"][0]["effect"], "NoSchedule");
    let nodes = c
        .get(&format!(
            "/20180222/virtualNodePools/{pool}/virtualNodes?limit=2"
        ))
        .await;
    assert!(nodes.header("opc-next-page").is_some());
    let all = c
        .get(&format!("/20180222/virtualNodePools/{pool}/virtualNodes"))
        .await
        .body;
    let fds: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["faultDomain"].as_str().unwrap())
        .collect();
    for fd in ["FAULT-DOMAIN-1", "FAULT-DOMAIN-2", "FAULT-DOMAIN-3"] {
        let n = fds.iter().filter(|f| **f == fd).count();
        assert!(n == 1 || n == 2, "{fds:?}");
    }
    // Resize to 9: 3 per FD.
    let r = c
        .put(
            &format!("/20180222/virtualNodePools/{pool}"),
            &json!({"size": 9}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    let wr = r.header("opc-work-request-id").unwrap().to_string();
    wait_wr(&c, &format!("/20180222/workRequests/{wr}"), "status").await;
    let all = c
        .get(&format!("/20180222/virtualNodePools/{pool}/virtualNodes"))
        .await
        .body;
    assert_eq!(all.as_array().unwrap().len(), 9);
    for fd in ["FAULT-DOMAIN-1", "FAULT-DOMAIN-2", "FAULT-DOMAIN-3"] {
        assert_eq!(
            all.as_array()
                .unwrap()
                .iter()
                .filter(|n| n["faultDomain"] == fd)
                .count(),
            3
        );
    }
    // An FD outage makes that FD's nodes NEEDS_ATTENTION once they are NotReady.
    let o = c
        .post(
            "/_ocisim/outages",
            &json!({"availabilityDomain": ad1, "faultDomain": "FAULT-DOMAIN-2"}),
        )
        .await;
    assert_eq!(o.status, StatusCode::CREATED, "{:?}", o.body);
    c.advance("2m").await;
    let all = c
        .get(&format!("/20180222/virtualNodePools/{pool}/virtualNodes"))
        .await
        .body;
    for n in all.as_array().unwrap() {
        let expect = if n["faultDomain"] == "FAULT-DOMAIN-2" {
            "NEEDS_ATTENTION"
        } else {
            "ACTIVE"
        };
        assert_eq!(n["lifecycleState"], expect, "{n}");
    }
    // Errors and logs need compartmentId.
    let e = c.get(&format!("/20180222/workRequests/{wr}/logs")).await;
    assert_eq!(e.code(), "MissingParameter");
    let l = c
        .get(&format!(
            "/20180222/workRequests/{wr}/logs?compartmentId={}",
            c.tenancy()
        ))
        .await;
    assert!(l.body.as_array().unwrap().len() >= 3);
    // Over the virtual-node limit (30, 1 used by the scenario): refused at once.
    let r = c
        .put(
            &format!("/20180222/virtualNodePools/{pool}"),
            &json!({"size": 40}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "LimitExceeded")
    );
    // Deleting the cluster deletes the pool and frees every node address.
    let d = c.delete(&format!("/20180222/clusters/{id}")).await;
    let wr = d.header("opc-work-request-id").unwrap().to_string();
    wait_wr(&c, &format!("/20180222/workRequests/{wr}"), "status").await;
    assert_eq!(
        c.get(&format!("/20180222/clusters/{id}")).await.body["lifecycleState"],
        "DELETED"
    );
    assert_eq!(
        c.get(&format!("/20180222/virtualNodePools/{pool}"))
            .await
            .body["lifecycleState"],
        "DELETED"
    );
    c.state.lock_raw().world.check_invariants();
}

#[tokio::test]
async fn load_balancer_shapes_sets_listeners_and_health() {
    let c = client().await;
    let lb = json!({
        "compartmentId": c.tenancy(), "displayName": "lb", "shapeName": "flexible",
        "shapeDetails": {"minimumBandwidthInMbps": 10, "maximumBandwidthInMbps": 9000},
        "subnetIds": [subnet(&c, "lb")],
    });
    let r = c.post("/20170115/loadBalancers", &lb).await;
    assert_eq!(r.code(), "InvalidParameter");
    let mut lb = lb;
    lb["shapeDetails"]["maximumBandwidthInMbps"] = json!(100);
    lb["backendSets"] = json!({"web": {"policy": "ROUND_ROBIN", "healthChecker": {"protocol": "HTTP", "urlPath": "/healthz", "port": 8080}, "backends": [{"ipAddress": "10.0.32.77", "port": 8080}]}});
    lb["listeners"] =
        json!({"http": {"defaultBackendSetName": "web", "port": 80, "protocol": "HTTP"}});
    let r = c.post("/20170115/loadBalancers", &lb).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    let wr = r.header("opc-work-request-id").unwrap().to_string();
    let w = wait_wr(
        &c,
        &format!("/20170115/loadBalancerWorkRequests/{wr}"),
        "lifecycleState",
    )
    .await;
    assert_eq!(w["type"], "CreateLoadBalancer");
    assert_eq!(w["errorDetails"], json!([]));
    let id = w["loadBalancerId"].as_str().unwrap().to_string();
    let g = c.get(&format!("/20170115/loadBalancers/{id}")).await.body;
    assert_eq!(g["lifecycleState"], "ACTIVE");
    assert_eq!(g["shapeDetails"]["maximumBandwidthInMbps"], 100);
    assert_eq!(g["ipAddresses"][0]["isPublic"], true);
    assert_eq!(
        g["backendSets"]["web"]["healthChecker"]["intervalInMillis"],
        10000
    );
    assert_eq!(g["backendSets"]["web"]["healthChecker"]["retries"], 3);
    assert_eq!(g["listeners"]["http"]["port"], 80);
    // Nothing holds 10.0.32.77: its checks fail, the set is CRITICAL.
    c.advance("1m").await;
    let h = c
        .get(&format!(
            "/20170115/loadBalancers/{id}/backendSets/web/backends/10.0.32.77:8080/health"
        ))
        .await
        .body;
    assert_eq!(h["status"], "CRITICAL");
    assert_eq!(
        h["healthCheckResults"][0]["healthCheckStatus"],
        "CONNECT_FAILED"
    );
    let sh = c
        .get(&format!(
            "/20170115/loadBalancers/{id}/backendSets/web/health"
        ))
        .await
        .body;
    assert_eq!(sh["criticalStateBackendNames"], json!(["10.0.32.77:8080"]));
    assert_eq!(
        c.get(&format!("/20170115/loadBalancers/{id}/health"))
            .await
            .body["status"],
        "CRITICAL"
    );
    // Shape update within range; then a duplicate listener port fails at once.
    let r = c.put(&format!("/20170115/loadBalancers/{id}/updateShape"), &json!({"shapeName": "flexible", "shapeDetails": {"minimumBandwidthInMbps": 10, "maximumBandwidthInMbps": 400}})).await;
    let wr = r.header("opc-work-request-id").unwrap().to_string();
    wait_wr(
        &c,
        &format!("/20170115/loadBalancerWorkRequests/{wr}"),
        "lifecycleState",
    )
    .await;
    assert_eq!(
        c.get(&format!("/20170115/loadBalancers/{id}")).await.body["shapeDetails"]["maximumBandwidthInMbps"],
        400
    );
    let r = c.post(&format!("/20170115/loadBalancers/{id}/listeners"), &json!({"name": "again", "defaultBackendSetName": "web", "port": 80, "protocol": "HTTP"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);
    let shapes = c
        .get(&format!(
            "/20170115/loadBalancerShapes?compartmentId={}",
            c.tenancy()
        ))
        .await
        .body;
    assert_eq!(shapes[0]["name"], "flexible");
    c.state.lock_raw().world.check_invariants();
}

#[tokio::test]
async fn mysql_ha_create_endpoints_and_failover() {
    let c = client().await;
    let body = json!({
        "compartmentId": c.tenancy(), "displayName": "db", "shapeName": "MySQL.2",
        "subnetId": subnet(&c, "db"), "isHighlyAvailable": true,
        "adminUsername": "admin", "adminPassword": "Sup3r-secret", "dataStorageSizeInGBs": 50,
    });
    let r = c.post("/20190415/dbSystems", &body).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["lifecycleState"], "CREATING");
    assert_eq!(r.body["endpoints"], json!([]));
    let id = r.body["id"].as_str().unwrap().to_string();
    let wr = r.header("opc-work-request-id").unwrap().to_string();
    let w = wait_wr(&c, &format!("/20190415/workRequests/{wr}"), "status").await;
    assert_eq!(w["percentComplete"], 100.0);
    let g = c.get(&format!("/20190415/dbSystems/{id}")).await.body;
    assert_eq!(g["lifecycleState"], "ACTIVE");
    assert_eq!(g["endpoints"][0]["port"], 3306);
    assert_eq!(g["endpoints"][0]["portX"], 33060);
    assert_eq!(g["endpoints"][0]["ipAddress"], "10.0.3.2");
    let ad1 = g["availabilityDomain"].as_str().unwrap().to_string();
    assert_eq!(g["currentPlacement"]["availabilityDomain"], ad1);
    // The primary's AD fails: after the failover time another AD is current.
    c.post("/_ocisim/outages", &json!({"availabilityDomain": ad1}))
        .await;
    c.advance("10s").await;
    let g = c.get(&format!("/20190415/dbSystems/{id}")).await.body;
    assert_eq!(g["endpoints"][0]["status"], "UPDATING");
    c.advance("2m").await;
    let g = c.get(&format!("/20190415/dbSystems/{id}")).await.body;
    assert_ne!(g["currentPlacement"]["availabilityDomain"], ad1);
    assert_eq!(g["endpoints"][0]["status"], "ACTIVE");
    assert_eq!(g["endpoints"][0]["ipAddress"], "10.0.3.2");
    assert!(
        g["lifecycleDetails"]
            .as_str()
            .unwrap()
            .contains("differs from preferred placement")
    );
    // Bad shape and weak password name the field.
    let mut bad = body.clone();
    bad["shapeName"] = json!("MySQL.Free");
    assert!(
        c.post("/20190415/dbSystems", &bad).await.body["message"]
            .as_str()
            .unwrap()
            .starts_with("shapeName")
    );
    let mut bad = body;
    bad["adminPassword"] = json!("password");
    assert!(
        c.post("/20190415/dbSystems", &bad).await.body["message"]
            .as_str()
            .unwrap()
            .starts_with("adminPassword")
    );
    let shapes = c
        .get(&format!("/20190415/shapes?compartmentId={}", c.tenancy()))
        .await
        .body;
    assert!(
        shapes
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == "MySQL.2")
    );
    let v = c
        .get(&format!("/20190415/versions?compartmentId={}", c.tenancy()))
        .await
        .body;
    assert!(!v[0]["versions"].as_array().unwrap().is_empty());
    c.state.lock_raw().world.check_invariants();
}

#[tokio::test]
async fn container_repositories_are_unique_per_compartment() {
    let c = client().await;
    let body = json!({"compartmentId": c.tenancy(), "displayName": "team/app", "isPublic": false});
    let r = c.post("/20160918/container/repositories", &body).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["lifecycleState"], "AVAILABLE");
    assert_eq!(r.body["imageCount"], 0);
    assert!(r.body["namespace"].as_str().unwrap().starts_with("ns"));
    let dup = c.post("/20160918/container/repositories", &body).await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    for n in ["b", "c"] {
        c.post(
            "/20160918/container/repositories",
            &json!({"compartmentId": c.tenancy(), "displayName": n}),
        )
        .await;
    }
    let l = c
        .get(&format!(
            "/20160918/container/repositories?compartmentId={}&limit=2&sortBy=DISPLAYNAME",
            c.tenancy()
        ))
        .await;
    assert_eq!(l.body["items"].as_array().unwrap().len(), 2);
    assert_eq!(l.body["repositoryCount"], 3);
    assert_eq!(l.body["remainingItemsCount"], 1);
    assert!(l.header("opc-next-page").is_some());
    let cfg = c
        .get(&format!(
            "/20160918/container/configuration?compartmentId={}",
            c.tenancy()
        ))
        .await
        .body;
    assert_eq!(cfg["isRepositoryCreatedOnFirstPush"], false);
}

const NOT_MODELLED: &str = "not modelled by the twin";

/// A request refused for one field: 400 InvalidParameter naming its path.
async fn refused(c: &TestClient, method: &str, path: &str, body: Value, field: &str) {
    let r = c.send(method, path, Some(&body), &[]).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "InvalidParameter"),
        "{method} {path}: {:?}",
        r.body
    );
    assert_eq!(
        r.message(),
        format!("{field}: {NOT_MODELLED}"),
        "{method} {path}"
    );
}

#[tokio::test]
async fn services_refuse_fields_the_twin_does_not_keep() {
    let c = client().await;
    let t = c.tenancy();
    // OKE: the cluster, its endpoint, and a pool's nested objects.
    let cluster = json!({
        "name": "p", "compartmentId": t, "vcnId": vcn(&c), "kubernetesVersion": "v1.34.1",
        "endpointConfig": {"subnetId": subnet(&c, "api"), "securityAttributes": {"ns": {"k": "v"}}},
    });
    refused(
        &c,
        "POST",
        "/20180222/clusters",
        cluster,
        "endpointConfig.securityAttributes",
    )
    .await;
    let typo = c
        .post(
            "/20180222/clusters",
            &json!({"name": "p", "compartmentId": t, "vcnId": vcn(&c), "kubernetesVersion": "v1.34.1",
                    "options": {"serviceLbSubnetId": [subnet(&c, "lb")]}}),
        )
        .await;
    assert_eq!(typo.code(), "InvalidParameter");
    assert!(
        typo.message()
            .starts_with("options.serviceLbSubnetId: not a field"),
        "{}",
        typo.message()
    );
    let id = enhanced_cluster(&c).await;
    let g = c.get(&format!("/20180222/clusters/{id}")).await;
    assert_eq!(
        g.body["options"]["serviceLbSubnetIds"],
        json!([subnet(&c, "lb")])
    );
    refused(
        &c,
        "PUT",
        &format!("/20180222/clusters/{id}"),
        json!({"imagePolicyConfig": {"isPolicyEnabled": true}}),
        "imagePolicyConfig",
    )
    .await;
    let pool = json!({
        "compartmentId": t, "clusterId": id, "displayName": "p", "size": 1,
        "placementConfigurations": [{"availabilityDomain": "x", "subnetId": subnet(&c, "nodes")}],
        "podConfiguration": {"subnetId": subnet(&c, "pods"), "shape": "Pod.Standard.E4.Flex"},
        "virtualNodeTags": {"freeformTags": {"a": "b"}},
    });
    refused(
        &c,
        "POST",
        "/20180222/virtualNodePools",
        pool,
        "virtualNodeTags",
    )
    .await;

    // Load balancer: top level, a backend set's nested health checker, a listener.
    let lb = |k: &str, v: Value| {
        let mut b = json!({
            "compartmentId": t, "displayName": "lb", "shapeName": "flexible",
            "shapeDetails": {"minimumBandwidthInMbps": 10, "maximumBandwidthInMbps": 100},
            "subnetIds": [subnet(&c, "lb")],
        });
        b[k] = v;
        b
    };
    refused(
        &c,
        "POST",
        "/20170115/loadBalancers",
        lb("reservedIps", json!([{"id": "ocid1.publicip.oc1..x"}])),
        "reservedIps",
    )
    .await;
    // ipMode: OCI's default IPV4 is what the twin models; IPV6 is refused.
    let v6 = c
        .post("/20170115/loadBalancers", &lb("ipMode", json!("IPV6")))
        .await;
    assert_eq!(
        (v6.status, v6.code(), v6.message().to_string()),
        (
            StatusCode::BAD_REQUEST,
            "InvalidParameter",
            format!("ipMode: {NOT_MODELLED} (only `IPV4`, OCI's default)")
        )
    );
    let v4 = c
        .post("/20170115/loadBalancers", &lb("ipMode", json!("IPV4")))
        .await;
    assert!(v4.status.is_success(), "{:?}", v4.body);
    refused(
        &c,
        "POST",
        "/20170115/loadBalancers",
        lb(
            "backendSets",
            json!({"web": {"policy": "ROUND_ROBIN",
            "healthChecker": {"protocol": "HTTP", "isForcePlainText": true}}}),
        ),
        "backendSets.web.healthChecker.isForcePlainText",
    )
    .await;
    refused(
        &c,
        "POST",
        "/20170115/loadBalancers",
        lb(
            "listeners",
            json!({"http": {"defaultBackendSetName": "web", "port": 80,
            "protocol": "HTTP", "connectionConfiguration": {"idleTimeout": 60}}}),
        ),
        "listeners.http.connectionConfiguration",
    )
    .await;
    refused(
        &c,
        "POST",
        "/20170115/loadBalancers/ocid1.loadbalancer.oc1..x/backendSets",
        json!({"name": "b", "policy": "ROUND_ROBIN", "healthChecker": {"protocol": "TCP"},
               "sessionPersistenceConfiguration": {"cookieName": "*"}}),
        "sessionPersistenceConfiguration",
    )
    .await;
    refused(
        &c,
        "PUT",
        "/20170115/loadBalancers/ocid1.loadbalancer.oc1..x",
        json!({"isRequestIdEnabled": true}),
        "isRequestIdEnabled",
    )
    .await;

    // MySQL: a backup policy the twin does not keep, on create and on update.
    let db = json!({
        "compartmentId": t, "shapeName": "MySQL.2", "subnetId": subnet(&c, "db"),
        "adminUsername": "admin", "adminPassword": "Sup3r-secret",
        "backupPolicy": {"isEnabled": true, "retentionInDays": 7},
    });
    refused(&c, "POST", "/20190415/dbSystems", db, "backupPolicy").await;
    refused(
        &c,
        "PUT",
        "/20190415/dbSystems/ocid1.mysqldbsystem.oc1..x",
        json!({"mysqlVersion": "8.4.0"}),
        "mysqlVersion",
    )
    .await;
    refused(&c, "POST", "/20190415/configurations",
        json!({"compartmentId": t, "shapeName": "MySQL.2", "initVariables": {"lowerCaseTableNames": "CASE_SENSITIVE"}}),
        "initVariables").await;

    // Container registry: a typo in the nested readme.
    let r = c
        .post(
            "/20160918/container/repositories",
            &json!({"compartmentId": t, "displayName": "x/y",
                    "readme": {"content": "hi", "format": "TEXT_PLAIN", "fromat": "x"}}),
        )
        .await;
    assert_eq!(r.code(), "InvalidParameter");
    assert!(
        r.message().starts_with("readme.fromat: not a field"),
        "{}",
        r.message()
    );
}
