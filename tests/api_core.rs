//! Core networking through the API: subnets, gateways, route tables, security
//! lists, NSG rules, private IPs, dependencies on delete, and concurrent
//! clients (no lost or duplicated writes, unique addresses).

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::http::StatusCode;
use ocisim::api::testing::TestClient;
use serde_json::{Value, json};

struct Net {
    vcn: String,
    c: String,
}

async fn net(c: &TestClient) -> Net {
    let v = c
        .post(
            "/20160918/vcns",
            &json!({"compartmentId": c.tenancy(), "cidrBlock": "10.0.0.0/16", "dnsLabel": "main"}),
        )
        .await;
    Net {
        vcn: v.body["id"].as_str().unwrap().to_string(),
        c: c.tenancy(),
    }
}

async fn subnet(c: &TestClient, n: &Net, cidr: &str) -> Value {
    c.post(
        "/20160918/subnets",
        &json!({"compartmentId": n.c, "vcnId": n.vcn, "cidrBlock": cidr, "dnsLabel": "s",
                "prohibitPublicIpOnVnic": true}),
    )
    .await
    .body
}

#[tokio::test]
async fn subnets_use_the_vcn_defaults_and_the_models_cidr_rules() {
    let c = TestClient::empty().await;
    let n = net(&c).await;
    let vcn = c.get(&format!("/20160918/vcns/{}", n.vcn)).await.body;
    let s = subnet(&c, &n, "10.0.1.0/24").await;
    assert_eq!(s["routeTableId"], vcn["defaultRouteTableId"]);
    assert_eq!(s["securityListIds"], json!([vcn["defaultSecurityListId"]]));
    assert_eq!(s["dhcpOptionsId"], vcn["defaultDhcpOptionsId"]);
    assert_eq!(s["virtualRouterIp"], "10.0.1.1");
    assert_eq!(s["subnetDomainName"], "s.main.oraclevcn.com");
    assert_eq!(s["availabilityDomain"], Value::Null);
    assert!(
        s["virtualRouterMac"]
            .as_str()
            .unwrap()
            .starts_with("00:00:17:")
    );
    let overlap = c
        .post(
            "/20160918/subnets",
            &json!({"compartmentId": n.c, "vcnId": n.vcn, "cidrBlock": "10.0.1.128/25"}),
        )
        .await;
    assert_eq!(overlap.code(), "InvalidParameter");
    assert!(
        overlap.body["message"]
            .as_str()
            .unwrap()
            .starts_with("cidrBlock:")
    );
    assert!(
        overlap.body["message"]
            .as_str()
            .unwrap()
            .contains("overlaps")
    );
    let outside = c
        .post(
            "/20160918/subnets",
            &json!({"compartmentId": n.c, "vcnId": n.vcn, "cidrBlock": "10.9.0.0/24"}),
        )
        .await;
    assert!(
        outside.body["message"]
            .as_str()
            .unwrap()
            .contains("not inside")
    );
    let ad = c
        .post(
            "/20160918/subnets",
            &json!({"compartmentId": n.c, "vcnId": n.vcn, "cidrBlock": "10.0.2.0/24",
                    "availabilityDomain": "Uocm:PHX-AD-2"}),
        )
        .await;
    assert_eq!(ad.body["availabilityDomain"], "Uocm:PHX-AD-2");
    let bad_ad = c
        .post(
            "/20160918/subnets",
            &json!({"compartmentId": n.c, "vcnId": n.vcn, "cidrBlock": "10.0.3.0/24",
                    "availabilityDomain": "PHX-AD-9"}),
        )
        .await;
    assert!(
        bad_ad.body["message"]
            .as_str()
            .unwrap()
            .starts_with("availabilityDomain:")
    );
    let missing_vcn = c
        .post(
            "/20160918/subnets",
            &json!({"compartmentId": n.c, "vcnId": "ocid1.vcn.oc1.phx.none", "cidrBlock": "10.0.4.0/24"}),
        )
        .await;
    assert_eq!(missing_vcn.status, StatusCode::NOT_FOUND);
    // The VCN cannot go while a subnet is in it.
    let d = c.delete(&format!("/20160918/vcns/{}", n.vcn)).await;
    assert_eq!((d.status, d.code()), (StatusCode::CONFLICT, "Conflict"));
    assert!(d.body["message"].as_str().unwrap().contains("2 subnet(s)"));
}

#[tokio::test]
async fn gateways_route_tables_and_security_lists() {
    let c = TestClient::empty().await;
    let n = net(&c).await;
    let igw = c
        .post(
            "/20160918/internetGateways",
            &json!({"compartmentId": n.c, "vcnId": n.vcn, "isEnabled": true, "displayName": "igw"}),
        )
        .await
        .body;
    assert_eq!(igw["isEnabled"], true);
    let igw2 = c
        .post(
            "/20160918/internetGateways",
            &json!({"compartmentId": n.c, "vcnId": n.vcn, "isEnabled": true}),
        )
        .await;
    assert_eq!(igw2.code(), "LimitExceeded");
    let nat = c
        .post(
            "/20160918/natGateways",
            &json!({"compartmentId": n.c, "vcnId": n.vcn}),
        )
        .await
        .body;
    assert!(nat["natIp"].as_str().unwrap().starts_with("129.80."));
    let services = c.get("/20160918/services").await.body;
    assert_eq!(services.as_array().unwrap().len(), 2);
    let all = &services[0];
    assert_eq!(
        all["cidrBlock"],
        "all-phx-services-in-oracle-services-network"
    );
    let sgw = c
        .post(
            "/20160918/serviceGateways",
            &json!({"compartmentId": n.c, "vcnId": n.vcn, "services": [{"serviceId": all["id"]}]}),
        )
        .await
        .body;
    assert_eq!(sgw["services"][0]["serviceName"], all["name"]);
    let sgw_id = sgw["id"].as_str().unwrap();
    let detached = c
        .post(
            &format!("/20160918/serviceGateways/{sgw_id}/actions/detachService"),
            &json!({"serviceId": all["id"]}),
        )
        .await;
    assert_eq!(detached.body["services"], json!([]));
    let attached = c
        .post(
            &format!("/20160918/serviceGateways/{sgw_id}/actions/attachService"),
            &json!({"serviceId": all["id"]}),
        )
        .await;
    assert_eq!(attached.body["services"].as_array().unwrap().len(), 1);
    let rt = c
        .post(
            "/20160918/routeTables",
            &json!({"compartmentId": n.c, "vcnId": n.vcn, "routeRules": [
                {"networkEntityId": nat["id"], "destination": "0.0.0.0/0", "destinationType": "CIDR_BLOCK"},
                {"networkEntityId": sgw_id, "destination": all["cidrBlock"], "destinationType": "SERVICE_CIDR_BLOCK"}
            ]}),
        )
        .await;
    assert_eq!(rt.status, StatusCode::OK, "{:?}", rt.body);
    assert_eq!(rt.body["routeRules"].as_array().unwrap().len(), 2);
    let bad_rt = c
        .post(
            "/20160918/routeTables",
            &json!({"compartmentId": n.c, "vcnId": n.vcn, "routeRules": [
                {"networkEntityId": sgw_id, "destination": "0.0.0.0/0", "destinationType": "CIDR_BLOCK"}]}),
        )
        .await;
    assert!(
        bad_rt.body["message"]
            .as_str()
            .unwrap()
            .starts_with("routeRules[0].destinationType")
    );
    let bad_enum = c
        .post(
            "/20160918/routeTables",
            &json!({"compartmentId": n.c, "vcnId": n.vcn, "routeRules": [
                {"networkEntityId": sgw_id, "destination": "x", "destinationType": "NOPE"}]}),
        )
        .await;
    assert_eq!(bad_enum.code(), "InvalidParameter");
    assert!(
        bad_enum.body["message"]
            .as_str()
            .unwrap()
            .starts_with("routeRules[0].destinationType")
    );
    // A gateway a route rule targets cannot be deleted.
    let d = c
        .delete(&format!(
            "/20160918/natGateways/{}",
            nat["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(d.status, StatusCode::CONFLICT);
    let sl = c
        .post(
            "/20160918/securityLists",
            &json!({"compartmentId": n.c, "vcnId": n.vcn,
                "ingressSecurityRules": [{"protocol": "6", "source": "10.0.0.0/16",
                    "tcpOptions": {"destinationPortRange": {"min": 3306, "max": 3306}}}],
                "egressSecurityRules": [{"protocol": "all", "destination": "0.0.0.0/0"}]}),
        )
        .await;
    assert_eq!(sl.status, StatusCode::OK, "{:?}", sl.body);
    assert_eq!(sl.body["ingressSecurityRules"][0]["isStateless"], false);
    let sl_id = sl.body["id"].as_str().unwrap().to_string();
    let model = c
        .state
        .lock_raw()
        .world
        .network
        .security_list_by_ocid(&sl_id)
        .unwrap()
        .rules
        .clone();
    assert_eq!(model[0].ports, Some((3306, 3306)));
    let bad_ports = c
        .post(
            "/20160918/securityLists",
            &json!({"compartmentId": n.c, "vcnId": n.vcn,
                "ingressSecurityRules": [{"protocol": "6", "source": "10.0.0.0/16",
                    "tcpOptions": {"destinationPortRange": {"min": 0, "max": 70000}}}],
                "egressSecurityRules": []}),
        )
        .await;
    assert!(
        bad_ports.body["message"]
            .as_str()
            .unwrap()
            .starts_with("ingressSecurityRules[0].tcpOptions.destinationPortRange")
    );
    let bad_proto = c
        .post(
            "/20160918/securityLists",
            &json!({"compartmentId": n.c, "vcnId": n.vcn,
                "ingressSecurityRules": [], "egressSecurityRules": [{"protocol": "tcp", "destination": "0.0.0.0/0"}]}),
        )
        .await;
    assert!(
        bad_proto.body["message"]
            .as_str()
            .unwrap()
            .starts_with("egressSecurityRules[0].protocol")
    );
    // A subnet using the list pins it; the default list cannot be deleted at all.
    let s = c
        .post(
            "/20160918/subnets",
            &json!({"compartmentId": n.c, "vcnId": n.vcn, "cidrBlock": "10.0.8.0/24",
                    "securityListIds": [sl_id], "routeTableId": rt.body["id"]}),
        )
        .await;
    assert_eq!(s.body["securityListIds"], json!([sl_id]));
    assert_eq!(
        c.delete(&format!("/20160918/securityLists/{sl_id}"))
            .await
            .status,
        StatusCode::CONFLICT
    );
    let vcn = c.get(&format!("/20160918/vcns/{}", n.vcn)).await.body;
    let d = c
        .delete(&format!(
            "/20160918/securityLists/{}",
            vcn["defaultSecurityListId"].as_str().unwrap()
        ))
        .await;
    assert!(d.body["message"].as_str().unwrap().contains("default"));
}

#[tokio::test]
async fn nsg_security_rules_actions() {
    let c = TestClient::empty().await;
    let n = net(&c).await;
    let nsg = c
        .post(
            "/20160918/networkSecurityGroups",
            &json!({"compartmentId": n.c, "vcnId": n.vcn, "displayName": "db"}),
        )
        .await
        .body;
    let id = nsg["id"].as_str().unwrap();
    assert!(id.starts_with("ocid1.networksecuritygroup."));
    let added = c
        .post(
            &format!("/20160918/networkSecurityGroups/{id}/actions/addSecurityRules"),
            &json!({"securityRules": [
                {"direction": "INGRESS", "protocol": "6", "source": id, "sourceType": "NETWORK_SECURITY_GROUP",
                 "tcpOptions": {"destinationPortRange": {"min": 3306, "max": 3306}}},
                {"direction": "EGRESS", "protocol": "all", "destination": "0.0.0.0/0"}]}),
        )
        .await;
    assert_eq!(added.status, StatusCode::OK, "{:?}", added.body);
    let rules = added.body["securityRules"].as_array().unwrap();
    assert_eq!(rules.len(), 2);
    assert_eq!(rules[0]["isValid"], true);
    let rid = rules[0]["id"].as_str().unwrap().to_string();
    let ingress = c
        .get(&format!(
            "/20160918/networkSecurityGroups/{id}/securityRules?direction=INGRESS"
        ))
        .await;
    assert_eq!(ingress.body.as_array().unwrap().len(), 1);
    let upd = c
        .post(
            &format!("/20160918/networkSecurityGroups/{id}/actions/updateSecurityRules"),
            &json!({"securityRules": [{"id": rid, "direction": "INGRESS", "protocol": "6", "source": "10.0.0.0/16",
                    "tcpOptions": {"destinationPortRange": {"min": 33060, "max": 33060}}}]}),
        )
        .await;
    assert_eq!(
        upd.body["securityRules"][0]["tcpOptions"]["destinationPortRange"]["min"],
        33060
    );
    let model = c
        .state
        .lock_raw()
        .world
        .network
        .nsg_by_ocid(id)
        .unwrap()
        .rules
        .clone();
    assert_eq!(model.len(), 2);
    assert_eq!(model[0].ports, Some((33060, 33060)));
    let rm = c
        .post(
            &format!("/20160918/networkSecurityGroups/{id}/actions/removeSecurityRules"),
            &json!({"securityRuleIds": [rid]}),
        )
        .await;
    assert_eq!(rm.status, StatusCode::NO_CONTENT);
    let all = c
        .get(&format!(
            "/20160918/networkSecurityGroups/{id}/securityRules"
        ))
        .await;
    assert_eq!(all.body.as_array().unwrap().len(), 1);
    let bad = c
        .post(
            &format!("/20160918/networkSecurityGroups/{id}/actions/removeSecurityRules"),
            &json!({"securityRuleIds": ["NOPE"]}),
        )
        .await;
    assert!(
        bad.body["message"]
            .as_str()
            .unwrap()
            .starts_with("securityRuleIds[0]")
    );
    // NSGs list without a compartment.
    let l = c
        .get(&format!("/20160918/networkSecurityGroups?vcnId={}", n.vcn))
        .await;
    assert_eq!(l.body.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn private_ips_come_from_the_subnet_pool() {
    let c = TestClient::empty().await;
    let n = net(&c).await;
    let s = subnet(&c, &n, "10.0.5.0/29").await;
    let sid = s["id"].as_str().unwrap();
    let a = c
        .post("/20160918/privateIps", &json!({"subnetId": sid}))
        .await;
    assert_eq!(a.body["ipAddress"], "10.0.5.2");
    assert_eq!(a.body["lifetime"], "RESERVED");
    let b = c
        .post(
            "/20160918/privateIps",
            &json!({"subnetId": sid, "ipAddress": "10.0.5.6"}),
        )
        .await;
    assert_eq!(b.body["ipAddress"], "10.0.5.6");
    let taken = c
        .post(
            "/20160918/privateIps",
            &json!({"subnetId": sid, "ipAddress": "10.0.5.6"}),
        )
        .await;
    assert!(
        taken.body["message"]
            .as_str()
            .unwrap()
            .contains("already in use"),
        "{:?}",
        taken.body
    );
    let reserved = c
        .post(
            "/20160918/privateIps",
            &json!({"subnetId": sid, "ipAddress": "10.0.5.7"}),
        )
        .await;
    assert!(
        reserved.body["message"]
            .as_str()
            .unwrap()
            .starts_with("ipAddress:")
    );
    let list = c.get(&format!("/20160918/privateIps?subnetId={sid}")).await;
    assert_eq!(list.body.as_array().unwrap().len(), 2);
    // The subnet cannot go while addresses are taken; after deleting them it can.
    assert_eq!(
        c.delete(&format!("/20160918/subnets/{sid}")).await.status,
        StatusCode::CONFLICT
    );
    for ip in [&a.body, &b.body] {
        let r = c
            .delete(&format!(
                "/20160918/privateIps/{}",
                ip["id"].as_str().unwrap()
            ))
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
    }
    assert_eq!(
        c.delete(&format!("/20160918/subnets/{sid}")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        c.get("/20160918/privateIps").await.code(),
        "MissingParameter"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_clients_never_lose_or_duplicate_writes() {
    let c = Arc::new(TestClient::empty().await);
    let n = net(&c).await;
    let s = subnet(&c, &n, "10.0.64.0/24").await;
    let sid = s["id"].as_str().unwrap().to_string();
    // 32 clients × 5 private IPs each, all at once.
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let c = c.clone();
        let sid = sid.clone();
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            for _ in 0..5 {
                let r = c
                    .post("/20160918/privateIps", &json!({"subnetId": sid}))
                    .await;
                assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
                got.push(r.body["ipAddress"].as_str().unwrap().to_string());
            }
            got
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let unique: BTreeSet<&String> = all.iter().collect();
    assert_eq!(all.len(), 160);
    assert_eq!(unique.len(), 160, "an address was handed out twice");
    let listed = c.get(&format!("/20160918/privateIps?subnetId={sid}")).await;
    assert_eq!(
        listed.body.as_array().unwrap().len(),
        160,
        "a write was lost"
    );
    {
        let t = c.state.lock_raw();
        let s = t
            .world
            .network
            .subnet(t.world.network.subnet_by_ocid(&sid).unwrap());
        assert_eq!(s.pool.used(), 160);
    }
    // 40 clients race for 20 subnet CIDRs, two per CIDR: exactly one of each pair wins.
    let mut tasks = Vec::new();
    for i in 0..40 {
        let c = c.clone();
        let body = json!({"compartmentId": n.c, "vcnId": n.vcn, "cidrBlock": format!("10.0.{}.0/24", 100 + i / 2)});
        tasks.push(tokio::spawn(async move {
            c.post("/20160918/subnets", &body).await.status
        }));
    }
    let mut ok = 0;
    for t in tasks {
        if t.await.unwrap() == StatusCode::OK {
            ok += 1;
        }
    }
    assert_eq!(ok, 20);
    let subnets = c
        .get(&format!(
            "/20160918/subnets?compartmentId={}&vcnId={}",
            n.c, n.vcn
        ))
        .await;
    assert_eq!(subnets.body.as_array().unwrap().len(), 21);
}

/// The registry's indexes (by kind, compartment and VCN) equal a recount
/// after creates and deletes of every kind, each indexed parent is the VCN
/// the API shows, and a VCN-filtered list returns exactly that VCN's objects.
#[tokio::test]
async fn list_indexes_equal_a_recount_and_filter_by_vcn() {
    let c = TestClient::empty().await;
    let a = net(&c).await;
    let b = c
        .post(
            "/20160918/vcns",
            &json!({"compartmentId": c.tenancy(), "cidrBlock": "10.1.0.0/16"}),
        )
        .await;
    let b = Net {
        vcn: b.body["id"].as_str().unwrap().to_string(),
        c: c.tenancy(),
    };
    let mut a_subnets = BTreeSet::new();
    for i in 0..5 {
        let s = subnet(&c, &a, &format!("10.0.{i}.0/24")).await;
        a_subnets.insert(s["id"].as_str().unwrap().to_string());
        c.post(
            "/20160918/subnets",
            &json!({"compartmentId": b.c, "vcnId": b.vcn, "cidrBlock": format!("10.1.{i}.0/24")}),
        )
        .await;
    }
    for n in [&a, &b] {
        for (path, body) in [
            ("/20160918/internetGateways", json!({"isEnabled": true})),
            ("/20160918/routeTables", json!({"routeRules": []})),
            (
                "/20160918/securityLists",
                json!({"ingressSecurityRules": [], "egressSecurityRules": []}),
            ),
            ("/20160918/networkSecurityGroups", json!({})),
        ] {
            let mut body = body;
            body["compartmentId"] = json!(n.c);
            body["vcnId"] = json!(n.vcn);
            let r = c.post(path, &body).await;
            assert_eq!(r.status, StatusCode::OK, "{path}: {:?}", r.body);
        }
    }
    let first = a_subnets.iter().next().unwrap().clone();
    let pip = c
        .post("/20160918/privateIps", &json!({"subnetId": first}))
        .await;
    assert_eq!(pip.status, StatusCode::OK, "{:?}", pip.body);
    // A deleted subnet stays listed (TERMINATING) under its VCN.
    let last = a_subnets.iter().last().unwrap().clone();
    assert_eq!(
        c.delete(&format!("/20160918/subnets/{last}")).await.status,
        StatusCode::NO_CONTENT
    );
    let listed = c
        .get(&format!(
            "/20160918/subnets?compartmentId={}&vcnId={}",
            a.c, a.vcn
        ))
        .await;
    let ids: BTreeSet<String> = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, a_subnets);
    for kind in [
        "routeTables",
        "securityLists",
        "networkSecurityGroups",
        "internetGateways",
        "dhcps",
    ] {
        let l = c
            .get(&format!(
                "/20160918/{kind}?compartmentId={}&vcnId={}",
                a.c, a.vcn
            ))
            .await;
        let items = l.body.as_array().unwrap();
        assert!(!items.is_empty(), "{kind}");
        assert!(
            items.iter().all(|x| x["vcnId"] == json!(a.vcn)),
            "{kind}: {items:?}"
        );
    }
    let ips = c
        .get(&format!("/20160918/privateIps?subnetId={first}"))
        .await;
    assert_eq!(ips.body.as_array().unwrap().len(), 1, "{:?}", ips.body);
    let t = c.state.lock_raw();
    t.registry.check_indexes().unwrap();
    for kind in [
        "subnet",
        "routetable",
        "securitylist",
        "networksecuritygroup",
        "internetgateway",
        "dhcpoptions",
    ] {
        for m in t.registry.of_kind(kind) {
            let parent = m
                .parent()
                .unwrap_or_else(|| panic!("{kind} {} has no parent", m.id));
            assert!(parent == a.vcn || parent == b.vcn, "{kind} {}", m.id);
        }
    }
    for m in t.registry.of_kind("privateip") {
        assert_eq!(m.parent(), Some(first.as_str()));
    }
}

/// A request refused for one field: 400 InvalidParameter whose message names
/// the field's JSON path and says why.
async fn refused(c: &TestClient, method: &str, path: &str, body: Value, field: &str, why: &str) {
    let r = c.send(method, path, Some(&body), &[]).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "InvalidParameter"),
        "{method} {path}: {:?}",
        r.body
    );
    assert_eq!(r.message(), format!("{field}: {why}"), "{method} {path}");
}

const NOT_MODELLED: &str = "not modelled by the twin";

#[tokio::test]
async fn core_and_identity_refuse_fields_the_twin_does_not_keep_and_unknown_ones() {
    let c = TestClient::empty().await;
    let n = net(&c).await;
    let vcn = json!({"compartmentId": n.c, "cidrBlock": "10.1.0.0/16"});
    let with = |mut b: Value, k: &str, v: Value| {
        b[k] = v;
        b
    };
    refused(
        &c,
        "POST",
        "/20160918/vcns",
        with(vcn.clone(), "ipv6PrivateCidrBlocks", json!(["fd00::/48"])),
        "ipv6PrivateCidrBlocks",
        NOT_MODELLED,
    )
    .await;
    refused(
        &c,
        "POST",
        "/20160918/vcns",
        with(vcn.clone(), "isZprOnly", json!(true)),
        "isZprOnly",
        NOT_MODELLED,
    )
    .await;
    // A typo is refused too, not dropped; OCI's API has no such property.
    let typo = c
        .post("/20160918/vcns", &with(vcn.clone(), "dnsLabl", json!("x")))
        .await;
    assert_eq!(typo.code(), "InvalidParameter");
    assert!(
        typo.message()
            .starts_with("dnsLabl: not a field of this request"),
        "{}",
        typo.message()
    );
    // OCI's defaults lose nothing and are accepted, as is null.
    let mut ok = with(vcn.clone(), "isZprOnly", json!(false));
    ok["isOracleGuaAllocationEnabled"] = json!(true);
    ok["securityAttributes"] = Value::Null;
    let v = c.post("/20160918/vcns", &ok).await;
    assert_eq!(v.status, StatusCode::OK, "{:?}", v.body);
    let vid = v.body["id"].as_str().unwrap().to_string();
    refused(
        &c,
        "PUT",
        &format!("/20160918/vcns/{vid}"),
        json!({"displayName": "x", "securityAttributes": {"ns": {"k": "v"}}}),
        "securityAttributes",
        NOT_MODELLED,
    )
    .await;

    let s = subnet(&c, &n, "10.0.7.0/24").await;
    let sid = s["id"].as_str().unwrap().to_string();
    refused(
        &c,
        "POST",
        "/20160918/subnets",
        json!({"compartmentId": n.c, "vcnId": n.vcn, "cidrBlock": "10.0.8.0/24",
               "ipv6CidrBlocks": ["fd00:0:0:1::/64"]}),
        "ipv6CidrBlocks",
        NOT_MODELLED,
    )
    .await;
    refused(
        &c,
        "PUT",
        &format!("/20160918/subnets/{sid}"),
        json!({"ipv6CidrBlock": "fd00:0:0:1::/64"}),
        "ipv6CidrBlock",
        NOT_MODELLED,
    )
    .await;
    // Nested objects are checked too, with the path of the field.
    refused(
        &c,
        "POST",
        "/20160918/securityLists",
        json!({"compartmentId": n.c, "vcnId": n.vcn, "egressSecurityRules": [],
               "ingressSecurityRules": [{"protocol": "6", "source": "0.0.0.0/0",
                   "tcpOptions": {"destinationPortRange": {"min": 1, "max": 2, "mx": 3}}}]}),
        "ingressSecurityRules[0].tcpOptions.destinationPortRange.mx",
        "not a field of this request (OCI's API has no such property here; check the spelling)",
    )
    .await;
    refused(
        &c,
        "POST",
        "/20160918/privateIps",
        json!({"subnetId": sid, "routeTableId": "ocid1.routetable.oc1..x"}),
        "routeTableId",
        NOT_MODELLED,
    )
    .await;

    // UpdatePrivateIp keeps the hostname it is given and shows it on GET.
    let ip = c
        .post("/20160918/privateIps", &json!({"subnetId": sid}))
        .await;
    let ipid = ip.body["id"].as_str().unwrap().to_string();
    refused(
        &c,
        "PUT",
        &format!("/20160918/privateIps/{ipid}"),
        json!({"lifetime": "EPHEMERAL"}),
        "lifetime",
        NOT_MODELLED,
    )
    .await;
    let u = c
        .put(
            &format!("/20160918/privateIps/{ipid}"),
            &json!({"hostnameLabel": "db1"}),
        )
        .await;
    assert_eq!(u.status, StatusCode::OK, "{:?}", u.body);
    let g = c.get(&format!("/20160918/privateIps/{ipid}")).await;
    assert_eq!(g.body["hostnameLabel"], "db1");

    refused(
        &c,
        "POST",
        "/20160918/compartments",
        json!({"compartmentId": n.c, "name": "a", "description": "d", "descripton": "typo"}),
        "descripton",
        "not a field of this request (OCI's API has no such property here; check the spelling)",
    )
    .await;
    refused(&c, "POST", "/20160918/dhcps",
        json!({"compartmentId": n.c, "vcnId": n.vcn, "options": [
            {"type": "DomainNameServer", "serverType": "VcnLocalPlusInternet", "customDnsServer": ["1.1.1.1"]}]}),
        "options[0]", "unknown field `customDnsServer`, expected `serverType` or `customDnsServers`").await;
}
