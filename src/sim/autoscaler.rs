//! The HPAs of a run: what each one knows, and turning the world into the
//! controller's view of a target's pods at a sync.
//!
//! The arithmetic is `model::kube::hpa`; the world schedules the syncs and
//! applies the decisions.

use crate::kernel::SimTime;
use crate::model::kube::cluster::{KubeCluster, PodState, RsId};
use crate::model::kube::hpa::{Decision, HpaSpec, HpaState, PodMetrics, Sample};

use super::metrics::Metrics;

/// One HorizontalPodAutoscaler and its history.
#[derive(Clone, Debug)]
pub struct HpaRuntime {
    /// Its name.
    pub name: String,
    /// Its namespace.
    pub namespace: String,
    /// The Deployment it scales.
    pub target: String,
    /// The target's ReplicaSet once applied.
    pub rs: Option<RsId>,
    /// The spec.
    pub spec: HpaSpec,
    /// Whether the manifest set `spec.behavior`.
    pub has_behavior: bool,
    /// The controller's memory of recommendations and scale events.
    pub state: HpaState,
    /// Decisions that changed the replica count, with their inputs.
    pub decisions: Vec<(SimTime, Decision)>,
    /// Syncs run so far.
    pub syncs: u64,
}

/// What the controller sees of `rs`'s pods: phase, readiness, start and
/// readiness times, requests and the latest metrics-server sample.
///
/// A bound pod whose containers are still starting is phase Pending (no
/// `last_ready_transition`). The last readiness transition of a Running pod is
/// taken as its first Ready time (the twin does not track later transitions).
pub fn pod_metrics(kube: &KubeCluster, metrics: &Metrics, rs: RsId) -> Vec<PodMetrics> {
    let template = &kube.rs(rs).template;
    let all_have = |f: &dyn Fn(&crate::model::kube::pod::ContainerResources) -> u64| {
        template.containers.iter().all(|c| f(c) > 0)
    };
    let cpu_request_m =
        all_have(&|c| c.effective_cpu_request_m()).then(|| template.cpu_request_m());
    let memory_request =
        all_have(&|c| c.effective_memory_request()).then(|| template.memory_request());
    kube.rs(rs)
        .active
        .iter()
        .map(|p| {
            let pod = kube.pod(*p);
            let running = pod.state == PodState::Running;
            PodMetrics {
                name: pod.name.clone(),
                phase_failed: false,
                deleting: false,
                ready: pod.ready,
                start_time: pod.bound_at.unwrap_or(pod.created_at),
                last_ready_transition: if running {
                    Some(pod.ready_at.or(pod.bound_at).unwrap_or(pod.created_at))
                } else {
                    None
                },
                cpu_request_m,
                memory_request,
                sample: metrics.samples.get(p).map(|s| Sample {
                    timestamp: s.timestamp,
                    window: s.window,
                    cpu_m: s.cpu_m,
                    memory: s.memory,
                }),
            }
        })
        .collect()
}
