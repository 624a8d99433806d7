//! The metrics pipeline: offered load spread over each Deployment's ready pods,
//! the CPU and memory it costs them, and metrics-server's periodic samples.
//!
//! Assumptions (README): the load balancer spreads requests evenly over its
//! healthy backends (Ready pods, plus dead ones until health checks notice); a
//! pod's CPU usage is its share of the rate times the CPU time per request,
//! capped at its CPU limit (or, without a limit, at its pod size in OCPUs);
//! memory is a fixed working set per pod. metrics-server scrapes every 15 s
//! (`--metric-resolution`) and each sample covers the 15 s before it.

use std::collections::BTreeMap;

use crate::kernel::{SimDuration, SimTime};
use crate::model::kube::cluster::{KubeCluster, PodId, PodState, RsId};
use crate::model::load::LoadProfile;

use super::traffic::{Backends, ServiceModel, TrafficTotals, apply_database, serve};
use super::wiring::DbView;

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
    /// Requests per second each healthy backend received in the latest interval.
    pub last_per_pod_rps: f64,
    /// How its pods serve requests.
    pub service: ServiceModel,
    /// Requests, failures and latency so far.
    pub traffic: TrafficTotals,
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

    /// The CPU limit of one pod of `rs` in millicores: its containers' limits,
    /// or its pod size in OCPUs when a container has none.
    pub fn cpu_cap_m(kube: &KubeCluster, rs: RsId) -> f64 {
        let template = &kube.rs(rs).template;
        template
            .containers
            .iter()
            .map(|c| c.cpu_limit_m)
            .sum::<Option<u64>>()
            .or_else(|| template.size.map(|s| u64::from(s.ocpus) * 1000))
            .unwrap_or(u64::MAX) as f64
    }

    /// CPU millicores one healthy pod of `rs` used in the latest interval.
    pub fn cpu_per_pod(&self, kube: &KubeCluster, rs: RsId) -> f64 {
        let Some(load) = self.load_of(rs) else {
            return 0.0;
        };
        (load.last_per_pod_rps * load.cpu_ms_per_request).min(Self::cpu_cap_m(kube, rs))
    }

    /// One scrape: serve the interval's traffic, then take a fresh sample of
    /// every Running pod metrics-server can reach. `down_since[node]` tells
    /// which nodes are dead and since when.
    /// `idle` lists ReplicaSets that have no load but are watched (HPA targets).
    /// `db` says, per ReplicaSet that uses a database, what its database refuses.
    pub fn scrape(
        &mut self,
        kube: &KubeCluster,
        down_since: &[Option<SimTime>],
        idle: &[RsId],
        db: &BTreeMap<RsId, DbView>,
        now: SimTime,
    ) {
        self.samples
            .retain(|p, _| kube.pod(*p).state == PodState::Running);
        let window = self.resolution;
        for load in &mut self.loads {
            let Some(rs) = load.rs else { continue };
            let detection = load.service.health_check_detection;
            let mut backends = Backends {
                healthy: 0,
                dead_in_rotation: 0,
                dead_seconds: 0.0,
            };
            let view = db.get(&rs);
            let mut refused = 0u32;
            let start = SimTime(now.as_ms().saturating_sub(window.as_ms()));
            for p in &kube.rs(rs).active {
                let pod = kube.pod(*p);
                if !pod.ready {
                    continue;
                }
                match pod.node.and_then(|n| down_since[n.0 as usize]) {
                    None => {
                        backends.healthy += 1;
                        refused += u32::from(view.is_some_and(|v| v.bad_credentials.contains(p)));
                    }
                    // Dead, but still passing health checks for part of this interval:
                    // its share of the requests fails for that part.
                    Some(since) if since + detection > start => {
                        backends.dead_in_rotation += 1;
                        let out_at = (since + detection).min(now);
                        backends.dead_seconds += out_at.since(since.max(start)).as_secs_f64();
                    }
                    Some(_) => {}
                }
            }
            let cap = Self::cpu_cap_m(kube, rs);
            // The interval (now - window, now] is served at the rate of its midpoint.
            let mid = SimTime(now.as_ms().saturating_sub(window.as_ms() / 2));
            let mut outcome = serve(
                &load.service,
                load.profile.rps_at(mid),
                window,
                backends,
                cap,
                load.cpu_ms_per_request,
                now,
            );
            if let Some(v) = view {
                let share = if backends.healthy == 0 {
                    0.0
                } else {
                    f64::from(refused) / f64::from(backends.healthy)
                };
                apply_database(&mut outcome, v.outage, v.outage_share, share);
            }
            load.last_per_pod_rps = outcome.per_pod_rps;
            load.traffic.add(&outcome);
            let cpu = (outcome.per_pod_rps * load.cpu_ms_per_request).min(cap);
            let memory = load
                .memory_per_pod
                .unwrap_or_else(|| kube.rs(rs).template.memory_request())
                as f64;
            sample_pods(
                &mut self.samples,
                kube,
                rs,
                cpu,
                memory,
                down_since,
                now,
                window,
            );
        }
        // Deployments an HPA watches without any load still report: idle pods.
        for rs in idle {
            let memory = kube.rs(*rs).template.memory_request() as f64;
            sample_pods(
                &mut self.samples,
                kube,
                *rs,
                0.0,
                memory,
                down_since,
                now,
                window,
            );
        }
    }
}

/// Fresh samples for the Running pods of `rs` that metrics-server can reach:
/// `cpu_m` for Ready pods (which receive traffic), 0 for the others.
#[allow(clippy::too_many_arguments)]
fn sample_pods(
    samples: &mut BTreeMap<PodId, PodSample>,
    kube: &KubeCluster,
    rs: RsId,
    cpu: f64,
    memory: f64,
    down_since: &[Option<SimTime>],
    now: SimTime,
    window: SimDuration,
) {
    for p in &kube.rs(rs).active {
        let pod = kube.pod(*p);
        if pod.state != PodState::Running {
            continue;
        }
        if pod.node.and_then(|n| down_since[n.0 as usize]).is_some() {
            // metrics-server cannot reach a dead node's kubelet.
            samples.remove(p);
            continue;
        }
        let cpu_m = if pod.ready { cpu } else { 0.0 };
        samples.insert(
            *p,
            PodSample {
                timestamp: now,
                window,
                cpu_m,
                memory,
            },
        );
    }
}
