//! The metrics pipeline: offered load spread over each Deployment's ready pods,
//! the CPU and memory it costs them, and metrics-server's periodic samples.
//!
//! Assumptions (README): requests are spread evenly over Ready pods; a pod's
//! CPU usage is its share of the rate times the CPU time per request, capped at
//! its CPU limit (or, without a limit, at its pod size in OCPUs); memory is a
//! fixed working set per pod. metrics-server scrapes every 15 s
//! (`--metric-resolution`) and each sample covers the 15 s before it.

use std::collections::BTreeMap;

use crate::kernel::{SimDuration, SimTime};
use crate::model::kube::cluster::{KubeCluster, PodId, PodState, RsId};
use crate::model::load::LoadProfile;

/// The load offered to one Deployment.
#[derive(Clone, Debug)]
pub struct WorkloadLoad {
    /// The Deployment.
    pub deployment: String,
    /// Its ReplicaSet, once applied.
    pub rs: Option<RsId>,
    /// Offered requests per second over time.
    pub profile: LoadProfile,
    /// CPU time one request costs, in milliseconds of one core.
    pub cpu_ms_per_request: f64,
    /// Working set of each pod in bytes; `None` uses the pod's memory request.
    pub memory_per_pod: Option<u64>,
}

/// One metrics-server sample of a pod.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PodSample {
    /// When it was taken.
    pub timestamp: SimTime,
    /// The window it averages over.
    pub window: SimDuration,
    /// CPU in millicores.
    pub cpu_m: f64,
    /// Memory working set in bytes.
    pub memory: f64,
}

/// Load and samples of every Deployment under load.
#[derive(Clone, Debug)]
pub struct Metrics {
    /// Loads by Deployment, in scenario order.
    pub loads: Vec<WorkloadLoad>,
    /// The latest sample of each running pod.
    pub samples: BTreeMap<PodId, PodSample>,
    /// metrics-server's resolution.
    pub resolution: SimDuration,
}

impl Metrics {
    /// No load yet, 15 s resolution.
    pub fn new(resolution: SimDuration) -> Self {
        Metrics {
            loads: Vec::new(),
            samples: BTreeMap::new(),
            resolution,
        }
    }

    /// The load on `rs`, if any.
    pub fn load_of(&self, rs: RsId) -> Option<&WorkloadLoad> {
        self.loads.iter().find(|l| l.rs == Some(rs))
    }

    /// CPU millicores one Ready pod of `rs` uses at `t`, given how many are Ready.
    pub fn cpu_per_pod(&self, kube: &KubeCluster, rs: RsId, ready: u32, t: SimTime) -> f64 {
        let Some(load) = self.load_of(rs) else {
            return 0.0;
        };
        if ready == 0 {
            return 0.0;
        }
        let template = &kube.rs(rs).template;
        let cap = template
            .containers
            .iter()
            .map(|c| c.cpu_limit_m)
            .sum::<Option<u64>>()
            .or_else(|| template.size.map(|s| u64::from(s.ocpus) * 1000))
            .unwrap_or(u64::MAX) as f64;
        (load.profile.rps_at(t) / f64::from(ready) * load.cpu_ms_per_request).min(cap)
    }

    /// One scrape: a fresh sample for every Running pod of a loaded Deployment.
    pub fn scrape(&mut self, kube: &KubeCluster, ready_by_rs: &[u32], now: SimTime) {
        self.samples
            .retain(|p, _| kube.pod(*p).state == PodState::Running);
        for load in &self.loads {
            let Some(rs) = load.rs else { continue };
            let ready = ready_by_rs[rs.0 as usize];
            let cpu = self.cpu_per_pod(kube, rs, ready, now);
            let memory = load
                .memory_per_pod
                .unwrap_or_else(|| kube.rs(rs).template.memory_request())
                as f64;
            for p in &kube.rs(rs).active {
                let pod = kube.pod(*p);
                if pod.state != PodState::Running {
                    continue;
                }
                // A pod that is running but not Ready (its node is unreachable) serves nothing.
                let cpu_m = if pod.ready { cpu } else { 0.0 };
                self.samples.insert(
                    *p,
                    PodSample {
                        timestamp: now,
                        window: self.resolution,
                        cpu_m,
                        memory,
                    },
                );
            }
        }
    }
}
