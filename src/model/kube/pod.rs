//! Pod templates as the scheduler and controllers see them: resources,
//! node selection, tolerations and topology spread constraints.
//!
//! These are the model's own types, converted from Kubernetes manifests by the
//! scenario layer. Defaulting that the API server applies at admission
//! (DefaultTolerationSeconds, request-from-limit) happens here, once per template.

use super::selector::{
    LabelSelector, Labels, NodeSelectorTerm, Operator, Requirement, TaintEffect, Toleration,
};

/// Resource requests and limits of one container; CPU in millicores, memory in bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContainerResources {
    /// Container name.
    pub name: String,
    /// `resources.requests.cpu`.
    pub cpu_request_m: Option<u64>,
    /// `resources.limits.cpu`.
    pub cpu_limit_m: Option<u64>,
    /// `resources.requests.memory`.
    pub memory_request: Option<u64>,
    /// `resources.limits.memory`.
    pub memory_limit: Option<u64>,
}

impl ContainerResources {
    /// The CPU request after API defaulting: a container with only a limit gets
    /// the limit as its request.
    pub fn effective_cpu_request_m(&self) -> u64 {
        self.cpu_request_m.or(self.cpu_limit_m).unwrap_or(0)
    }

    /// The memory request after API defaulting.
    pub fn effective_memory_request(&self) -> u64 {
        self.memory_request.or(self.memory_limit).unwrap_or(0)
    }
}

/// `whenUnsatisfiable` of a topology spread constraint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WhenUnsatisfiable {
    /// A hard constraint (filter).
    DoNotSchedule,
    /// A soft constraint (score).
    ScheduleAnyway,
}

/// `nodeAffinityPolicy` / `nodeTaintsPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InclusionPolicy {
    /// Take the pod's node affinity or tolerations into account when counting domains.
    Honor,
    /// Count every node that has the topology key.
    Ignore,
}

/// A resolved topology spread constraint (matchLabelKeys already folded into the selector).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SpreadConstraint {
    /// `maxSkew` (> 0).
    pub max_skew: u32,
    /// `topologyKey`.
    pub topology_key: String,
    /// `whenUnsatisfiable`.
    pub when_unsatisfiable: WhenUnsatisfiable,
    /// `labelSelector` (a nil selector matches nothing, an empty one everything).
    pub selector: Option<LabelSelector>,
    /// `minDomains`; `None` behaves as 1.
    pub min_domains: Option<u32>,
    /// `nodeAffinityPolicy`, default Honor.
    pub node_affinity_policy: InclusionPolicy,
    /// `nodeTaintsPolicy`, default Ignore.
    pub node_taints_policy: InclusionPolicy,
    /// `matchLabelKeys` as written (kept for reports).
    pub match_label_keys: Vec<String>,
}

impl SpreadConstraint {
    /// True when a pod with `labels` counts toward this constraint.
    pub fn selects(&self, labels: &Labels) -> bool {
        self.selector.as_ref().is_some_and(|s| s.matches(labels))
    }

    /// Folds `matchLabelKeys` into the selector using the pod's own label values,
    /// as the API server does since v1.27 (keys absent from the pod are ignored).
    pub fn resolve_match_label_keys(&mut self, pod_labels: &Labels) {
        if self.match_label_keys.is_empty() {
            return;
        }
        let sel = self.selector.get_or_insert_with(LabelSelector::default);
        for key in &self.match_label_keys {
            if let Some(v) = pod_labels.get(key) {
                sel.match_expressions.push(Requirement {
                    key: key.clone(),
                    operator: Operator::In,
                    values: vec![v.clone()],
                });
            }
        }
    }
}

/// A pod specification shared by all pods of one ReplicaSet.
#[derive(Clone, Debug, Default)]
pub struct PodTemplate {
    /// Namespace of the pods.
    pub namespace: String,
    /// Pod labels (including `pod-template-hash` once owned by a ReplicaSet).
    pub labels: Labels,
    /// App containers.
    pub containers: Vec<ContainerResources>,
    /// `spec.nodeSelector`.
    pub node_selector: Labels,
    /// `requiredDuringSchedulingIgnoredDuringExecution` terms (ORed); empty means none.
    pub required_node_affinity: Vec<NodeSelectorTerm>,
    /// `preferredDuringSchedulingIgnoredDuringExecution` (weight, term).
    pub preferred_node_affinity: Vec<(i32, NodeSelectorTerm)>,
    /// Tolerations, including those added at admission.
    pub tolerations: Vec<Toleration>,
    /// Topology spread constraints as written in the pod spec.
    pub topology_spread: Vec<SpreadConstraint>,
    /// `spec.serviceAccountName` (default `default`).
    pub service_account: String,
    /// Pod shape sizing, filled by the OKE model when the template is admitted.
    pub size: Option<crate::model::oke::sizing::PodSize>,
}

/// The taint keys the node controller uses for unhealthy nodes.
pub const TAINT_NOT_READY: &str = "node.kubernetes.io/not-ready";
/// The taint key for nodes whose status is Unknown.
pub const TAINT_UNREACHABLE: &str = "node.kubernetes.io/unreachable";
/// The taint key for cordoned nodes.
pub const TAINT_UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";

impl PodTemplate {
    /// Total CPU request in millicores (sum over app containers, after defaulting).
    pub fn cpu_request_m(&self) -> u64 {
        self.containers
            .iter()
            .map(ContainerResources::effective_cpu_request_m)
            .sum()
    }

    /// Total memory request in bytes.
    pub fn memory_request(&self) -> u64 {
        self.containers
            .iter()
            .map(ContainerResources::effective_memory_request)
            .sum()
    }

    /// True when the node matches `nodeSelector` and the required node affinity.
    pub fn matches_node_selection(&self, node_name: &str, node_labels: &Labels) -> bool {
        self.node_selector
            .iter()
            .all(|(k, v)| node_labels.get(k) == Some(v))
            && (self.required_node_affinity.is_empty()
                || self
                    .required_node_affinity
                    .iter()
                    .any(|t| t.matches(node_name, node_labels)))
    }

    /// Applies the DefaultTolerationSeconds admission plugin: unless the pod
    /// already tolerates them, add `not-ready` and `unreachable` NoExecute
    /// tolerations for `seconds` (300 by default).
    pub fn add_default_tolerations(&mut self, seconds: i64) {
        for key in [TAINT_NOT_READY, TAINT_UNREACHABLE] {
            let probe = super::selector::Taint {
                key: key.into(),
                value: String::new(),
                effect: TaintEffect::NoExecute,
            };
            if !self.tolerations.iter().any(|t| t.tolerates(&probe)) {
                self.tolerations.push(Toleration {
                    key: key.into(),
                    exists: true,
                    value: String::new(),
                    effect: Some(TaintEffect::NoExecute),
                    toleration_seconds: Some(seconds),
                });
            }
        }
    }

    /// How long a pod may stay on a node with this NoExecute taint:
    /// `Some(None)` forever, `Some(Some(s))` for `s` seconds, `None` not at all.
    pub fn no_execute_grace(&self, taint: &super::selector::Taint) -> Option<Option<i64>> {
        let matching: Vec<&Toleration> = self
            .tolerations
            .iter()
            .filter(|t| t.tolerates(taint))
            .collect();
        if matching.is_empty() {
            return None;
        }
        // The shortest finite toleration wins; any unlimited one only if no finite one exists
        // (taint manager `getMinTolerationTime`).
        let finite = matching.iter().filter_map(|t| t.toleration_seconds).min();
        Some(finite.map(|s| s.max(0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::kube::selector::Taint;

    #[test]
    fn default_tolerations_are_added_once() {
        let mut t = PodTemplate::default();
        t.add_default_tolerations(300);
        t.add_default_tolerations(300);
        assert_eq!(t.tolerations.len(), 2);
        let taint = Taint {
            key: TAINT_UNREACHABLE.into(),
            value: String::new(),
            effect: TaintEffect::NoExecute,
        };
        assert_eq!(t.no_execute_grace(&taint), Some(Some(300)));
    }

    #[test]
    fn a_pod_that_tolerates_forever_is_left_alone() {
        let mut t = PodTemplate::default();
        t.tolerations.push(Toleration {
            key: String::new(),
            exists: true,
            value: String::new(),
            effect: None,
            toleration_seconds: None,
        });
        t.add_default_tolerations(300);
        assert_eq!(t.tolerations.len(), 1);
        let taint = Taint {
            key: TAINT_UNREACHABLE.into(),
            value: String::new(),
            effect: TaintEffect::NoExecute,
        };
        assert_eq!(t.no_execute_grace(&taint), Some(None));
    }

    #[test]
    fn requests_default_to_limits() {
        let c = ContainerResources {
            cpu_limit_m: Some(500),
            memory_request: Some(10),
            memory_limit: Some(20),
            ..Default::default()
        };
        let t = PodTemplate {
            containers: vec![c.clone(), c],
            ..Default::default()
        };
        assert_eq!(t.cpu_request_m(), 1000);
        assert_eq!(t.memory_request(), 20);
    }
}
