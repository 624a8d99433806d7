//! The HPAs of a run: what each one knows, and turning the world into the
//! controller's view of a target's pods at a sync.
//!
//! The arithmetic is `model::kube::hpa`; the world schedules the syncs and
//! applies the decisions.

use crate::kernel::SimTime;
use crate::model::kube::cluster::{KubeCluster, PodId, PodState, RsId};
use crate::model::kube::hpa::{
    Decision, HpaConfig, HpaSpec, HpaState, PodMetrics, Sample, add_to_classes,
};

use super::metrics::{ChangeKey, Metrics, PodSample};

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
    /// The controller's view of the target at the last sync.
    pub view: ViewCache,
}

/// The controller's view of an HPA's target from its last sync, kept while
/// nothing it was built from has changed.
#[derive(Clone, Debug, Default)]
pub struct ViewCache {
    /// Per ReplicaSet: its pods' [`ChangeKey`] and scrape epoch at build time.
    key: Vec<(RsId, ChangeKey, u32)>,
    /// The entries.
    classes: Vec<PodMetrics>,
    /// One pod of each entry, to read the entry's current sample.
    reps: Vec<(PodId, RsId)>,
}

impl ViewCache {
    /// What the controller sees of the pods of `rss`: phase, readiness, start
    /// and readiness times, requests and the latest metrics-server sample.
    ///
    /// A bound pod whose containers are still starting is phase Pending (no
    /// `last_ready_transition`). The last readiness transition of a Running
    /// pod is taken as its first Ready time (the twin does not track later
    /// transitions).
    ///
    /// Pods the calculator cannot tell apart ([`PodMetrics::settle`]) share
    /// one entry with a count, in order of their first pod: a steady
    /// ReplicaSet of thousands of pods is a handful of entries, and the
    /// decision is the same as over the pods one by one (proptest in
    /// `model::kube::hpa`). When no pod changed and no scrape restamped them
    /// since the last build, the entries are reused and only their samples
    /// are read again: pods of one entry share their stamp, so one pod's
    /// sample is the entry's.
    pub fn view(
        &mut self,
        kube: &KubeCluster,
        metrics: &Metrics,
        rss: &[RsId],
        keys: &[ChangeKey],
        cfg: &HpaConfig,
        now: SimTime,
    ) -> &[PodMetrics] {
        let key: Vec<(RsId, ChangeKey, u32)> = rss
            .iter()
            .map(|rs| (*rs, keys[rs.0 as usize], metrics.samples.epoch(*rs)))
            .collect();
        if key == self.key && !self.classes.is_empty() {
            for (class, (pod, rs)) in self.classes.iter_mut().zip(&self.reps) {
                class.sample = metrics.samples.get(*pod, *rs).map(to_sample);
            }
        } else {
            self.classes.clear();
            self.reps.clear();
            for rs in rss {
                self.add_pods(kube, metrics, *rs, cfg, now);
            }
            self.key = key;
        }
        &self.classes
    }

    /// Adds the pods of `rs` (see [`add_to_classes`]).
    fn add_pods(
        &mut self,
        kube: &KubeCluster,
        metrics: &Metrics,
        rs: RsId,
        cfg: &HpaConfig,
        now: SimTime,
    ) {
        let template = &kube.rs(rs).template;
        let all_have = |f: &dyn Fn(&crate::model::kube::pod::ContainerResources) -> u64| {
            template.containers.iter().all(|c| f(c) > 0)
        };
        let cpu_request_m =
            all_have(&|c| c.effective_cpu_request_m()).then(|| template.cpu_request_m());
        let memory_request =
            all_have(&|c| c.effective_memory_request()).then(|| template.memory_request());
        for p in &kube.rs(rs).active {
            let pod = kube.pod(*p);
            let running = pod.state == PodState::Running;
            let mut view = PodMetrics {
                name: String::new(),
                count: 1,
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
                sample: metrics.samples.get(*p, rs).map(to_sample),
            };
            view.settle(cfg, now);
            if add_to_classes(&mut self.classes, view, || pod.name.clone()) {
                self.reps.push((*p, rs));
            }
        }
    }
}

fn to_sample(s: PodSample) -> Sample {
    Sample {
        timestamp: s.timestamp,
        window: s.window,
        cpu_m: s.cpu_m,
        memory: s.memory,
    }
}

/// What the controller sees of `rs`'s pods, built afresh (see
/// [`ViewCache::view`]).
pub fn pod_metrics(
    kube: &KubeCluster,
    metrics: &Metrics,
    rs: RsId,
    cfg: &HpaConfig,
    now: SimTime,
) -> Vec<PodMetrics> {
    let mut cache = ViewCache::default();
    cache.add_pods(kube, metrics, rs, cfg, now);
    cache.classes
}
