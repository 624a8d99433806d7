//! The metrics pipeline: offered load spread over each Deployment's ready pods,
//! the CPU and memory it costs them, and metrics-server's periodic samples.
//!
//! A load can go through an ingress controller: the load balancer's backends
//! are then the controller's pods (a Deployment like any other, with its own
//! queue and CPU), and what they forward is spread over the app's Ready pods
//! (the Service's endpoints). End-to-end latency is the two tiers' added.
//!
//! Assumptions (README): the load balancer spreads requests evenly over its
//! healthy backends (Ready pods, plus dead ones until health checks notice); a
//! pod's CPU usage is its share of the rate times the CPU time per request,
//! capped at its CPU limit (or, without a limit, at its pod size in OCPUs);
//! memory is a fixed working set per pod. metrics-server scrapes every 15 s
//! (`--metric-resolution`) and each sample covers the 15 s before it.

use crate::kernel::{SimDuration, SimTime};
use crate::model::kube::cluster::{KubeCluster, PodId, PodState, RsId};
use crate::model::load::LoadProfile;

use std::collections::BTreeMap;

use super::traffic::{
    Backends, Errors, Outcome, ServiceModel, TrafficTotals, apply_database, apply_health_checks,
    serve,
};
use super::wiring::DbView;
use crate::model::lb::ProbeState;

/// The load offered to one Deployment.
#[derive(Clone, Debug)]
pub struct WorkloadLoad {
    /// The Deployment.
    pub deployment: String,
    /// Its newest ReplicaSet, once applied.
    pub rs: Option<RsId>,
    /// All its ReplicaSets, oldest first: during a rollout the load balancer
    /// spreads requests over the Ready pods of all of them.
    pub rss: Vec<RsId>,
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
    /// Where its live backends stand with the load balancer's health checker.
    pub probe: ProbeState,
    /// For an ingress controller: the loads (indices) whose requests it
    /// carries; its offered rate is theirs summed, its profile unused.
    pub routes: Vec<usize>,
    /// For a load through an ingress controller: the controller's load.
    pub via: Option<usize>,
}

impl WorkloadLoad {
    /// A load with no traffic yet, served directly behind a load balancer.
    pub fn new(
        deployment: String,
        profile: LoadProfile,
        cpu_ms_per_request: f64,
        memory_per_pod: Option<u64>,
        service: ServiceModel,
    ) -> Self {
        WorkloadLoad {
            deployment,
            rs: None,
            rss: Vec::new(),
            profile,
            cpu_ms_per_request,
            memory_per_pod,
            last_per_pod_rps: 0.0,
            service,
            traffic: TrafficTotals::default(),
            probe: ProbeState::default(),
            routes: Vec::new(),
            via: None,
        }
    }
}

/// What an ingress controller did with one interval's requests, for the
/// loads it carries to share out.
#[derive(Clone, Debug)]
struct TierResult {
    /// Requests per second it was offered (all its routes).
    rps: f64,
    /// Share of its requests it forwarded.
    forwarded: f64,
    /// Requests it failed, by cause.
    errors: Errors,
    /// Its latency quantile points, ms.
    quantiles_ms: Vec<f64>,
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

/// What a scrape stamped on one pod: the ReplicaSet's scrape epoch and
/// whether the pod was Ready then (Ready pods report the traffic's CPU,
/// others 0).
#[derive(Clone, Copy, Debug, Default)]
struct Stamp {
    /// 0: never sampled.
    epoch: u32,
    ready: bool,
}

/// The latest scrape of one ReplicaSet.
#[derive(Clone, Copy, Debug, Default)]
struct RsSamples {
    /// Pods stamped with this epoch hold the latest sample.
    epoch: u32,
    /// The pods' state when they were last stamped (see [`Metrics::scrape`]).
    key: Option<ChangeKey>,
    /// Ready pods on live nodes at that time.
    healthy: u32,
    /// Ready pods on live nodes counted by this scrape.
    healthy_now: u32,
    /// The sample of a Ready pod; unready pods read `cpu_m` 0.
    value: Option<PodSample>,
}

/// The version of a ReplicaSet's pods and of the nodes' liveness. While it
/// stays the same, a scrape would sample exactly the same pods in the same
/// readiness, so only the values change.
pub type ChangeKey = (u64, u64);

/// The latest metrics-server sample of each pod, class-compressed: all pods
/// of a ReplicaSet sampled at one scrape share one value, and a pod holds only
/// a stamp. A scrape that finds the ReplicaSet's pods unchanged since the last
/// one updates the shared value and touches no pod.
#[derive(Clone, Debug, Default)]
pub struct SampleStore {
    stamps: Vec<Stamp>,
    by_rs: Vec<RsSamples>,
}

impl SampleStore {
    /// The latest sample of `pod` (a pod of `rs`), if metrics-server holds one.
    /// A pod that left Running may still hold one: readers only ask about
    /// active pods (Pending, Starting or Running), which hold a sample only
    /// while Running.
    pub fn get(&self, pod: PodId, rs: RsId) -> Option<PodSample> {
        let stamp = self.stamps.get(pod.0 as usize)?;
        let latest = self.by_rs.get(rs.0 as usize)?;
        if stamp.epoch == 0 || stamp.epoch != latest.epoch {
            return None;
        }
        let mut sample = latest.value?;
        if !stamp.ready {
            sample.cpu_m = 0.0;
        }
        Some(sample)
    }

    /// The scrape epoch of `rs`: it moves when a scrape stamps its pods anew.
    pub fn epoch(&self, rs: RsId) -> u32 {
        self.by_rs.get(rs.0 as usize).map_or(0, |r| r.epoch)
    }

    /// The samples metrics-server holds now: those of Running pods, by pod.
    pub fn of_running<'a>(
        &'a self,
        kube: &'a KubeCluster,
    ) -> impl Iterator<Item = (PodId, PodSample)> + 'a {
        (0..self.stamps.len()).filter_map(move |i| {
            let pod = &kube.pods[i];
            let sample = self.get(PodId(i as u32), pod.rs)?;
            (pod.state == PodState::Running).then_some((PodId(i as u32), sample))
        })
    }

    fn rs_mut(&mut self, rs: RsId) -> &mut RsSamples {
        let i = rs.0 as usize;
        if i >= self.by_rs.len() {
            self.by_rs.resize(i + 1, RsSamples::default());
        }
        &mut self.by_rs[i]
    }

    fn stamp(&mut self, pod: PodId, stamp: Stamp) {
        let i = pod.0 as usize;
        if i >= self.stamps.len() {
            self.stamps.resize(i + 1, Stamp::default());
        }
        self.stamps[i] = stamp;
    }
}

/// Load and samples of every Deployment under load.
#[derive(Clone, Debug)]
pub struct Metrics {
    /// Loads by Deployment, in scenario order.
    pub loads: Vec<WorkloadLoad>,
    /// The latest sample of each Running pod.
    pub samples: SampleStore,
    /// metrics-server's resolution.
    pub resolution: SimDuration,
}

impl Metrics {
    /// No load yet, 15 s resolution.
    pub fn new(resolution: SimDuration) -> Self {
        Metrics {
            loads: Vec::new(),
            samples: SampleStore::default(),
            resolution,
        }
    }

    /// The load on `rs`, if any.
    pub fn load_of(&self, rs: RsId) -> Option<&WorkloadLoad> {
        self.loads.iter().find(|l| l.rss.contains(&rs))
    }

    /// The rate offered to `load` at `t`: its profile's, or for an ingress
    /// controller the sum of the loads it carries.
    pub fn offered_rps(&self, load: &WorkloadLoad, t: SimTime) -> f64 {
        if load.routes.is_empty() {
            load.profile.rps_at(t)
        } else {
            load.routes
                .iter()
                .map(|r| self.loads[*r].profile.rps_at(t))
                .sum()
        }
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
    /// which nodes are dead and since when; `keys[rs]` is the version of each
    /// ReplicaSet's pods and the nodes (see [`ChangeKey`]).
    /// `idle` lists ReplicaSets that have no load but are watched (HPA targets).
    /// `db` says, per ReplicaSet that uses a database, what its database refuses.
    #[allow(clippy::too_many_arguments)]
    pub fn scrape(
        &mut self,
        kube: &KubeCluster,
        down_since: &[Option<SimTime>],
        keys: &[ChangeKey],
        idle: &[RsId],
        db: &BTreeMap<RsId, DbView>,
        now: SimTime,
    ) {
        let window = self.resolution;
        let any_down = down_since.iter().any(Option::is_some);
        // Ingress controllers first: the loads they carry get what they forward.
        let mut order: Vec<usize> = (0..self.loads.len()).collect();
        order.sort_by_key(|l| self.loads[*l].routes.is_empty());
        let mut tiers: BTreeMap<usize, TierResult> = BTreeMap::new();
        for l in order {
            let Some(rs) = self.loads[l].rs else { continue };
            let rss = self.loads[l].rss.clone();
            let mut backends = Backends {
                healthy: 0,
                dead_in_rotation: 0,
                dead_seconds: 0.0,
            };
            let mut refused = 0u32;
            for r in &rss {
                let key = keys[r.0 as usize];
                let view = db.get(r);
                if let Some(v) = view {
                    refused += ready_with_bad_credentials(kube, *r, down_since, v);
                }
                let cached = self.samples.rs_mut(*r);
                let b = if cached.key == Some(key) && !any_down {
                    // Same pods, all nodes alive: the same healthy backends.
                    Backends {
                        healthy: cached.healthy,
                        dead_in_rotation: 0,
                        dead_seconds: 0.0,
                    }
                } else {
                    let detection = self.loads[l].service.detection();
                    backends_of(kube, *r, down_since, detection, window, now)
                };
                self.samples.rs_mut(*r).healthy_now = b.healthy;
                backends.healthy += b.healthy;
                backends.dead_in_rotation += b.dead_in_rotation;
                backends.dead_seconds += b.dead_seconds;
            }
            let cap = Self::cpu_cap_m(kube, rs);
            // The interval (now - window, now] is served at the rate of its midpoint.
            let mid = SimTime(now.as_ms().saturating_sub(window.as_ms() / 2));
            let offered_rps = self.offered_rps(&self.loads[l], mid);
            let upstream = self.loads[l].via.map(|g| tiers.get(&g).cloned());
            let load = &mut self.loads[l];
            let rps = match &upstream {
                Some(Some(t)) => offered_rps * t.forwarded,
                Some(None) => 0.0,
                None => offered_rps,
            };
            let mut outcome = serve(
                &load.service,
                rps,
                window,
                backends,
                cap,
                load.cpu_ms_per_request,
                now,
            );
            if let Some(hc) = &load.service.health_check {
                apply_health_checks(
                    &mut outcome,
                    hc,
                    &mut load.probe,
                    backends.healthy,
                    window,
                    now,
                );
            }
            if let Some(v) = db.get(&rs) {
                let share = if backends.healthy == 0 {
                    0.0
                } else {
                    f64::from(refused) / f64::from(backends.healthy)
                };
                apply_database(&mut outcome, v.outage, v.outage_share, share);
            }
            if let Some(upstream) = upstream {
                through_ingress(&mut outcome, upstream.as_ref(), offered_rps, window);
            }
            if !load.routes.is_empty() {
                let i = &outcome.interval;
                let forwarded = if i.offered == 0 {
                    1.0
                } else {
                    i.served as f64 / i.offered as f64
                };
                tiers.insert(
                    l,
                    TierResult {
                        rps: offered_rps,
                        forwarded,
                        errors: i.errors,
                        quantiles_ms: outcome.quantiles_ms.clone(),
                    },
                );
            }
            load.last_per_pod_rps = outcome.per_pod_rps;
            load.traffic.add(&outcome);
            let cpu = (outcome.per_pod_rps * load.cpu_ms_per_request).min(cap);
            let memory = load
                .memory_per_pod
                .unwrap_or_else(|| kube.rs(rs).template.memory_request())
                as f64;
            let sample = PodSample {
                timestamp: now,
                window,
                cpu_m: cpu,
                memory,
            };
            // All pods share the newest template's CPU limit (a rollout
            // changes the image only).
            for r in &rss {
                sample_pods(
                    &mut self.samples,
                    kube,
                    *r,
                    sample,
                    down_since,
                    keys[r.0 as usize],
                );
                if !any_down {
                    let latest = self.samples.rs_mut(*r);
                    latest.healthy = latest.healthy_now;
                }
            }
        }
        // Deployments an HPA watches without any load still report: idle pods.
        for rs in idle {
            let sample = PodSample {
                timestamp: now,
                window,
                cpu_m: 0.0,
                memory: kube.rs(*rs).template.memory_request() as f64,
            };
            let key = keys[rs.0 as usize];
            sample_pods(&mut self.samples, kube, *rs, sample, down_since, key);
        }
    }
}

/// Turns the app tier's outcome of a load that came through an ingress
/// controller into the end-to-end one: offered is what the load balancer was
/// offered for this load, the controller's failures are shared out by rate,
/// and each latency point adds the controller's latency at the same quantile
/// (the tiers' delays taken as comonotonic, an upper bound on the sum's
/// quantiles).
fn through_ingress(o: &mut Outcome, tier: Option<&TierResult>, rps: f64, window: SimDuration) {
    let offered = (rps * window.as_secs_f64()).round() as u64;
    let mut ingress = Errors::default();
    match tier {
        Some(t) if t.rps > 0.0 => {
            let share = rps / t.rps;
            let part = |n: u64| (n as f64 * share).round() as u64;
            let e = &t.errors;
            ingress.bandwidth = part(e.bandwidth);
            ingress.dead_backend = part(e.dead_backend);
            ingress.no_backend = part(e.no_backend);
            ingress.overload = part(e.overload);
            add_quantiles(o, &t.quantiles_ms);
        }
        Some(_) => {}
        // The controller has no pods yet: nothing reaches the app.
        None => ingress.no_backend = offered,
    }
    let i = &mut o.interval;
    i.offered = offered;
    i.errors.add(&ingress);
    o.ingress_errors = ingress;
    // Rounding per cause must never serve more than was offered.
    i.served = i.served.min(offered.saturating_sub(i.errors.total()));
}

/// Adds the upstream tier's latency quantiles `q` (ms, at evenly spaced
/// levels) to each latency point at its own level.
fn add_quantiles(o: &mut Outcome, q: &[f64]) {
    if q.is_empty() {
        return;
    }
    let at = |level: f64| q[((level * q.len() as f64) as usize).min(q.len() - 1)];
    let total: u64 = o.latency.iter().map(|(_, n)| n).sum();
    let mut before = 0u64;
    for (ms, n) in &mut o.latency {
        let mid = (before as f64 + *n as f64 / 2.0) / total.max(1) as f64;
        before += *n;
        *ms = (*ms as f64 + at(mid)).round() as u64;
    }
    let i = &mut o.interval;
    i.p50_ms = i.p50_ms.map(|v| v + at(0.5));
    i.p99_ms = i.p99_ms.map(|v| v + at(0.99));
}

/// Ready pods of `rs` on live nodes whose database refuses their credentials.
fn ready_with_bad_credentials(
    kube: &KubeCluster,
    rs: RsId,
    down_since: &[Option<SimTime>],
    view: &DbView,
) -> u32 {
    let mut n = 0;
    for p in &view.bad_credentials {
        let pod = kube.pod(*p);
        let live = pod.node.and_then(|x| down_since[x.0 as usize]).is_none();
        n += u32::from(pod.rs == rs && pod.ready && live && kube.rs(rs).active.contains(p));
    }
    n
}

/// The backends of `rs` in the interval ending `now`: Ready pods on live
/// nodes, and Ready pods on dead nodes that health checks have not caught yet.
fn backends_of(
    kube: &KubeCluster,
    rs: RsId,
    down_since: &[Option<SimTime>],
    detection: SimDuration,
    window: SimDuration,
    now: SimTime,
) -> Backends {
    let mut backends = Backends {
        healthy: 0,
        dead_in_rotation: 0,
        dead_seconds: 0.0,
    };
    let start = SimTime(now.as_ms().saturating_sub(window.as_ms()));
    for p in &kube.rs(rs).active {
        let pod = kube.pod(*p);
        if !pod.ready {
            continue;
        }
        match pod.node.and_then(|n| down_since[n.0 as usize]) {
            None => backends.healthy += 1,
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
    backends
}

/// Fresh samples for the Running pods of `rs` that metrics-server can reach:
/// the traffic's CPU for Ready pods, 0 for the others. When the pods are as
/// at the last scrape (`key` unchanged), the same pods would be stamped the
/// same way, so only the shared value moves.
fn sample_pods(
    samples: &mut SampleStore,
    kube: &KubeCluster,
    rs: RsId,
    sample: PodSample,
    down_since: &[Option<SimTime>],
    key: ChangeKey,
) {
    let latest = samples.rs_mut(rs);
    latest.value = Some(sample);
    if latest.key == Some(key) {
        return;
    }
    latest.key = Some(key);
    latest.epoch += 1;
    let epoch = latest.epoch;
    for p in &kube.rs(rs).active {
        let pod = kube.pod(*p);
        // metrics-server cannot reach a dead node's kubelet.
        let reachable = pod.node.and_then(|n| down_since[n.0 as usize]).is_none();
        if pod.state == PodState::Running && reachable {
            samples.stamp(
                *p,
                Stamp {
                    epoch,
                    ready: pod.ready,
                },
            );
        }
    }
}
