//! The topology the in-process API tests boot from, and lookups into it.

use ocisim::api::state::Boot;
use ocisim::api::testing::TestClient;

/// One VCN with API, node, LB, DB and pod subnets, and an OKE cluster with a
/// one-node pool (the scenario `TestClient`s boot from).
pub const SCENARIO: &str = r#"name: api
region: us-ashburn-1
duration: 1h
limits: {virtual_nodes: 30}
network:
  vcns:
    - name: v
      cidr_blocks: [10.0.0.0/16]
      subnets:
        - {name: api, cidr: 10.0.0.0/28, public: true}
        - {name: nodes, cidr: 10.0.1.0/24}
        - {name: lb, cidr: 10.0.2.0/24, public: true}
        - {name: db, cidr: 10.0.3.0/24}
        - {name: pods, cidr: 10.0.32.0/19}
cluster:
  name: seed
  vcn: v
  virtual_node_pools:
    - name: seed
      size: 1
      placements: [{availability_domain: AD-1, subnet: nodes}]
      pod_configuration: {shape: Pod.Standard.E4.Flex, subnet: pods}
timeline: []
"#;

/// A stopped-clock client booted from `text` (seed 1).
pub async fn client_from(text: String) -> TestClient {
    TestClient::new(Boot {
        seed: 1,
        init: Some(("api.yaml".into(), text)),
        ..Boot::default()
    })
    .await
}

/// A client booted from [`SCENARIO`].
pub async fn client() -> TestClient {
    client_from(SCENARIO.to_string()).await
}

/// The OCID of the scenario subnet `name`.
pub fn subnet(c: &TestClient, name: &str) -> String {
    let t = c.state.lock_raw();
    let n = &t.world.network;
    n.subnet(n.subnet_named(name).unwrap()).id.clone()
}

/// The OCID of the scenario's VCN.
pub fn vcn(c: &TestClient) -> String {
    c.state.lock_raw().world.network.vcns[0].id.clone()
}
