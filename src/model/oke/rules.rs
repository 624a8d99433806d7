//! What virtual nodes refuse (domain.md §3.6).
//!
//! The scenario layer extracts the features of a pod spec that virtual nodes
//! care about into [`PodFeatures`]; [`check_pod`] names every unsupported one.

use std::fmt;

/// The features of a pod spec that virtual nodes restrict.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodFeatures {
    /// `spec.hostNetwork`.
    pub host_network: bool,
    /// `spec.hostPID`.
    pub host_pid: bool,
    /// `spec.hostIPC`.
    pub host_ipc: bool,
    /// Names of init containers.
    pub init_containers: Vec<String>,
    /// Names of ephemeral containers.
    pub ephemeral_containers: Vec<String>,
    /// Containers with `securityContext.privileged: true`.
    pub privileged_containers: Vec<String>,
    /// Containers with `allowPrivilegeEscalation: true`.
    pub privilege_escalation_containers: Vec<String>,
    /// `(container, port)` with a hostPort.
    pub host_ports: Vec<(String, i32)>,
    /// `(container, port)` whose containerPort lies in the NodePort range.
    pub node_port_range_ports: Vec<(String, i32)>,
    /// `(volume name, kind)` of volumes other than emptyDir, configMap, secret, projected.
    pub unsupported_volumes: Vec<(String, String)>,
    /// Number of emptyDir volumes (at most one is supported).
    pub empty_dir_count: usize,
    /// `spec.terminationGracePeriodSeconds` set.
    pub termination_grace_period: bool,
    /// Pod-level security context fields that are not supported (fsGroup, sysctls, ...).
    pub unsupported_pod_security: Vec<String>,
}

/// One reason a pod cannot run on a virtual node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation(pub String);

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Workload kinds virtual nodes cannot run.
pub fn check_workload_kind(kind: &str) -> Option<Violation> {
    (kind == "DaemonSet").then(|| Violation("DaemonSets are not supported on virtual nodes".into()))
}

/// Every reason the pod cannot run on a virtual node; empty when it can.
pub fn check_pod(f: &PodFeatures) -> Vec<Violation> {
    let mut v = Vec::new();
    let mut add = |cond: bool, msg: String| {
        if cond {
            v.push(Violation(msg));
        }
    };
    add(
        f.host_network,
        "hostNetwork is not supported on virtual nodes".into(),
    );
    add(
        f.host_pid,
        "hostPID is not supported on virtual nodes".into(),
    );
    add(
        f.host_ipc,
        "hostIPC is not supported on virtual nodes".into(),
    );
    for c in &f.init_containers {
        add(
            true,
            format!("init container `{c}`: init containers are not supported on virtual nodes"),
        );
    }
    for c in &f.ephemeral_containers {
        add(
            true,
            format!(
                "ephemeral container `{c}`: ephemeral containers are not supported on virtual nodes"
            ),
        );
    }
    for c in &f.privileged_containers {
        add(
            true,
            format!("container `{c}`: privileged containers are not supported on virtual nodes"),
        );
    }
    for c in &f.privilege_escalation_containers {
        add(
            true,
            format!(
                "container `{c}`: allowPrivilegeEscalation: true is not supported on virtual nodes"
            ),
        );
    }
    for (c, p) in &f.host_ports {
        add(
            true,
            format!("container `{c}`: hostPort {p} is not supported on virtual nodes"),
        );
    }
    for (c, p) in &f.node_port_range_ports {
        add(
            true,
            format!(
                "container `{c}`: containerPort {p} is in the NodePort range 30000-32767, which virtual nodes reserve"
            ),
        );
    }
    for (name, kind) in &f.unsupported_volumes {
        add(
            true,
            format!("volume `{name}`: {kind} volumes are not supported on virtual nodes"),
        );
    }
    add(
        f.empty_dir_count > 1,
        format!(
            "{} emptyDir volumes: virtual nodes support at most one per pod",
            f.empty_dir_count
        ),
    );
    add(
        f.termination_grace_period,
        "terminationGracePeriodSeconds is not supported on virtual nodes".into(),
    );
    for field in &f.unsupported_pod_security {
        add(
            true,
            format!("securityContext.{field} is not supported on virtual nodes"),
        );
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_pod_is_fine() {
        assert!(check_pod(&PodFeatures::default()).is_empty());
        assert!(check_workload_kind("Deployment").is_none());
    }

    #[test]
    fn every_unsupported_feature_is_named() {
        let f = PodFeatures {
            host_network: true,
            init_containers: vec!["migrate".into()],
            privileged_containers: vec!["app".into()],
            host_ports: vec![("app".into(), 8080)],
            unsupported_volumes: vec![("data".into(), "hostPath".into())],
            empty_dir_count: 2,
            ..Default::default()
        };
        let msgs: Vec<String> = check_pod(&f).into_iter().map(|v| v.0).collect();
        assert_eq!(msgs.len(), 6);
        assert!(msgs.iter().any(|m| m.contains("init container `migrate`")));
        assert!(msgs.iter().any(|m| m.contains("hostPath volumes")));
        assert_eq!(
            check_workload_kind("DaemonSet").unwrap().0,
            "DaemonSets are not supported on virtual nodes"
        );
    }
}
