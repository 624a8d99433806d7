//! Helpers shared by the integration tests: a small 1-AD scenario builder and
//! per-fault-domain pod counts.

#![allow(dead_code)] // each test crate uses a subset

pub mod api;

use std::collections::BTreeMap;

use ocisim::model::kube::cluster::{LABEL_FAULT_DOMAIN, PodState};
use ocisim::sim::World;

/// All three fault domains, as a placement's `fault_domains` list.
pub const ALL_FDS: &str = "FAULT-DOMAIN-1, FAULT-DOMAIN-2, FAULT-DOMAIN-3";

/// A small scenario in ca-toronto-1 (1 AD): one pool of virtual nodes over `fds`
/// and one Deployment `app` with `replicas` whose pod spec starts with
/// `pod_spec` (YAML lines indented by 6 spaces).
pub struct Small<'a> {
    pub nodes: u32,
    pub fds: &'a str,
    pub replicas: u32,
    pub pod_spec: &'a str,
    /// Timeline entries (YAML lines indented by 2), or `  []`.
    pub timeline: &'a str,
    pub duration: &'a str,
    pub seed: u64,
    /// Extra top-level YAML (limits, assumptions).
    pub extra: &'a str,
}

impl Default for Small<'_> {
    fn default() -> Self {
        Small {
            nodes: 3,
            fds: ALL_FDS,
            replicas: 3,
            pod_spec: "",
            timeline: "  []",
            duration: "30m",
            seed: 3,
            extra: "",
        }
    }
}

impl Small<'_> {
    /// The scenario text.
    pub fn text(&self) -> String {
        let Small {
            nodes,
            fds,
            replicas,
            pod_spec,
            timeline,
            duration,
            seed,
            extra,
        } = self;
        format!(
            r#"name: t
region: ca-toronto-1
duration: {duration}
seed: {seed}
{extra}
network:
  vcns:
    - name: v
      cidr_blocks: [10.0.0.0/16]
      subnets: [{{name: s, cidr: 10.0.0.0/20}}]
cluster:
  name: c
  vcn: v
  virtual_node_pools:
    - name: p
      size: {nodes}
      placements: [{{availability_domain: AD-1, fault_domains: [{fds}], subnet: s}}]
      pod_configuration: {{shape: Pod.Standard.E4.Flex, subnet: s}}
timeline:
{timeline}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: app}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: app}}}}
  template:
    metadata: {{labels: {{app: app}}}}
    spec:
{pod_spec}      containers: [{{name: app, image: x, resources: {{limits: {{cpu: 250m, memory: 256Mi}}}}}}]
"#
        )
    }
}

/// Bound, non-terminating pods of `app` per fault domain, in FD order (every FD
/// that has nodes appears, with 0 when empty).
pub fn pods_per_fd(w: &World) -> Vec<u32> {
    let rs = w.deployment("app").expect("app is applied").rs;
    let mut counts = BTreeMap::<String, u32>::new();
    for n in &w.kube.nodes {
        counts
            .entry(n.labels[LABEL_FAULT_DOMAIN].clone())
            .or_insert(0);
    }
    for p in &w.kube.rs(rs).active {
        let pod = w.kube.pod(*p);
        if matches!(pod.state, PodState::Starting | PodState::Running) {
            let node = w.kube.node(pod.node.expect("bound"));
            *counts
                .get_mut(&node.labels[LABEL_FAULT_DOMAIN])
                .expect("listed") += 1;
        }
    }
    counts.into_values().collect()
}
