//! Requests from the offered load to the pods: the load balancer's bandwidth
//! cap and health checks, then each Ready backend as an M/M/c queue (M/G/c
//! for other service-time distributions) whose service rate its CPU limit can throttle. Latency goes into a histogram and
//! every request that is not served is counted with its cause.
//!
//! Evaluated once per metrics interval (15 s) with the rate at its end; within
//! an interval the state is taken as steady.

use hdrhistogram::Histogram;

use crate::kernel::{SimDuration, SimTime};
use crate::model::lb::{HealthChecker, ProbeState, probe_passes, probe_times};
use crate::model::queueing::{MgcQueue, ServiceDist};

/// How a Deployment serves requests (one per `load` entry).
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceModel {
    /// Mean service time of one request.
    pub service_time: SimDuration,
    /// Its distribution (exponential: M/M/c; others: M/G/c by Allen–Cunneen).
    pub distribution: ServiceDist,
    /// Requests one pod serves at once.
    pub concurrency: u32,
    /// A request waiting longer than this fails.
    pub timeout: SimDuration,
    /// The load balancer's bandwidth cap in requests per second, if any.
    pub lb_max_rps: Option<f64>,
    /// The load balancer's health checker, when a load balancer sends to these
    /// pods; `None` when an ingress controller does (it follows the Service's
    /// endpoints: a pod is sent requests while it is Ready).
    pub health_check: Option<HealthChecker>,
}

impl ServiceModel {
    /// How long requests keep going to a backend on a dead node: the health
    /// checker's retries × interval, or, without one, until the node
    /// controller marks the pod NotReady.
    pub fn detection(&self) -> SimDuration {
        self.health_check
            .as_ref()
            .map_or(UNTIL_NOT_READY, HealthChecker::detection_time)
    }
}

/// Longer than any run: a dead pod stays an endpoint until it is marked NotReady.
pub const UNTIL_NOT_READY: SimDuration = SimDuration::from_secs(100 * 366 * 86_400);

/// Why requests were not served.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Errors {
    /// Over the load balancer's bandwidth.
    pub bandwidth: u64,
    /// Sent to a backend that had died but still passed its health checks.
    pub dead_backend: u64,
    /// No healthy backend at all.
    pub no_backend: u64,
    /// Over the pods' capacity: queued past the timeout.
    pub overload: u64,
    /// The database had no primary (down, or failing over).
    pub db_unavailable: u64,
    /// The network path from the pods to the database is closed.
    pub db_unreachable: u64,
    /// The pod's database password was wrong or missing.
    pub db_auth: u64,
}

impl Errors {
    /// Adds `other`'s counts, cause by cause.
    pub fn add(&mut self, other: &Errors) {
        self.bandwidth += other.bandwidth;
        self.dead_backend += other.dead_backend;
        self.no_backend += other.no_backend;
        self.overload += other.overload;
        self.db_unavailable += other.db_unavailable;
        self.db_unreachable += other.db_unreachable;
        self.db_auth += other.db_auth;
    }

    /// All of them.
    pub fn total(&self) -> u64 {
        self.bandwidth
            + self.dead_backend
            + self.no_backend
            + self.overload
            + self.db_unavailable
            + self.db_unreachable
            + self.db_auth
    }
}

/// Requests the pods served but the database refused: the share
/// `outage_share` of the interval fails by the outage's cause, and of the rest
/// the share `bad_share` (pods with a wrong or missing password) fails
/// authentication. Latency samples shrink with them.
pub fn apply_database(
    o: &mut Outcome,
    outage: Option<super::wiring::DbOutage>,
    outage_share: f64,
    bad_share: f64,
) {
    use super::wiring::DbOutage;
    let i = &mut o.interval;
    let up = if outage.is_some() {
        (1.0 - outage_share).clamp(0.0, 1.0)
    } else {
        1.0
    };
    let reached = (i.served as f64 * up).round() as u64;
    let lost = i.served - reached;
    match outage {
        Some(DbOutage::Unavailable) => i.errors.db_unavailable += lost,
        Some(DbOutage::Unreachable) => i.errors.db_unreachable += lost,
        None => {}
    }
    let kept = (reached as f64 * (1.0 - bad_share.clamp(0.0, 1.0))).round() as u64;
    i.errors.db_auth += reached - kept;
    scale_samples(o, kept);
}

/// One interval's traffic for one Deployment.
#[derive(Clone, Debug, PartialEq)]
pub struct Interval {
    /// End of the interval.
    pub at: SimTime,
    /// Requests offered.
    pub offered: u64,
    /// Requests served.
    pub served: u64,
    /// Requests failed, by cause.
    pub errors: Errors,
    /// Served requests' latency percentiles in ms (p50, p99), if any were served.
    pub p50_ms: Option<f64>,
    /// 99th percentile.
    pub p99_ms: Option<f64>,
}

/// What the load balancer sees of a Deployment's pods at one instant.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Backends {
    /// Ready pods on live nodes.
    pub healthy: u32,
    /// Ready pods on dead nodes that still pass health checks.
    pub dead_in_rotation: u32,
    /// Seconds of this interval during which dead pods were in rotation, summed
    /// over those pods (their share of requests in that time fails).
    pub dead_seconds: f64,
}

/// The outcome of one interval plus the per-pod arrival rate (for CPU metrics).
pub struct Outcome {
    /// Traffic accounting.
    pub interval: Interval,
    /// Requests per second reaching each healthy backend.
    pub per_pod_rps: f64,
    /// Latency samples `(ms, count)` to record.
    pub latency: Vec<(u64, u64)>,
    /// Response time of the live backends at evenly spaced quantile levels
    /// (ms; a single value, the timeout, when overloaded), for adding tiers.
    pub quantiles_ms: Vec<f64>,
    /// The median response time of a live backend: what one health probe
    /// waits. `None` when none answers in time (overloaded or none).
    pub probe_response: Option<SimDuration>,
    /// For a load through an ingress controller: the part of
    /// `interval.errors` that failed at the controller.
    pub ingress_errors: Errors,
}

/// Quantile points used to record an interval's latency distribution.
const LATENCY_POINTS: u32 = 40;

/// Serves one interval of `rps` offered over `window` with `b` backends, each
/// with CPU `cpu_cap_m` and `cpu_ms_per_request`.
pub fn serve(
    m: &ServiceModel,
    rps: f64,
    window: SimDuration,
    b: Backends,
    cpu_cap_m: f64,
    cpu_ms_per_request: f64,
    at: SimTime,
) -> Outcome {
    let secs = window.as_secs_f64();
    let offered = (rps * secs).round() as u64;
    let mut errors = Errors::default();
    let admitted_rps = m.lb_max_rps.map_or(rps, |cap| rps.min(cap));
    errors.bandwidth = ((rps - admitted_rps) * secs).round() as u64;
    let backends = b.healthy + b.dead_in_rotation;
    if backends == 0 {
        errors.no_backend = offered - errors.bandwidth;
        return Outcome {
            interval: Interval {
                at,
                offered,
                served: 0,
                errors,
                p50_ms: None,
                p99_ms: None,
            },
            per_pod_rps: 0.0,
            latency: Vec::new(),
            quantiles_ms: Vec::new(),
            probe_response: None,
            ingress_errors: Errors::default(),
        };
    }
    let per_pod = admitted_rps / f64::from(backends);
    errors.dead_backend =
        ((per_pod * b.dead_seconds).round() as u64).min(offered - errors.bandwidth);
    // One request runs on at most one core, or on the pod's CPU limit if that is
    // smaller; the limit also caps how many requests progress at once.
    let cap_cores = cpu_cap_m / 1000.0;
    let cpu_s = cpu_ms_per_request / 1000.0;
    let service_s = (m.service_time.as_secs_f64()).max(if cap_cores > 0.0 {
        cpu_s / cap_cores.min(1.0)
    } else {
        f64::INFINITY
    });
    let cpu_rate = if cpu_s > 0.0 {
        cap_cores / cpu_s
    } else {
        f64::INFINITY
    };
    let servers = if cpu_rate.is_finite() {
        ((cpu_rate * service_s).ceil().min(f64::from(u32::MAX)) as u32).clamp(1, m.concurrency)
    } else {
        m.concurrency
    };
    let capacity = (f64::from(servers) / service_s).min(cpu_rate);
    let mu = capacity / f64::from(servers);
    let healthy = f64::from(b.healthy);
    let mut latency = Vec::new();
    let mut quantiles_ms = Vec::new();
    let mut probe_response = None;
    let (served, p50, p99) = if b.healthy == 0 {
        (0, None, None)
    } else if per_pod <= 0.0 {
        // Idle: a probe is served at once.
        probe_response = Some(m.service_time);
        (0, None, None)
    } else if per_pod >= capacity * 0.999 {
        // Overloaded: the queue grows until requests time out; the pods serve at capacity.
        let served = (capacity * healthy * secs).round() as u64;
        errors.overload = ((per_pod - capacity) * healthy * secs).round() as u64;
        let timeout_ms = m.timeout.as_ms() as f64;
        latency.push((m.timeout.as_ms(), served));
        quantiles_ms.push(timeout_ms);
        (served, Some(timeout_ms), Some(timeout_ms))
    } else {
        let q = MgcQueue {
            c: servers,
            lambda: per_pod,
            mu,
            service: m.distribution,
        }
        .response();
        let n = (per_pod * healthy * secs).round() as u64;
        let timeout_s = m.timeout.as_secs_f64();
        // Requests waiting past the timeout fail too.
        let late = q.tail(timeout_s);
        errors.overload = (n as f64 * late).round() as u64;
        let ok = n - errors.overload.min(n);
        for i in 0..LATENCY_POINTS {
            let quantile = (f64::from(i) + 0.5) / f64::from(LATENCY_POINTS);
            let count = ok / u64::from(LATENCY_POINTS)
                + u64::from(u64::from(i) < ok % u64::from(LATENCY_POINTS));
            let ms = q.quantile(quantile).min(timeout_s) * 1000.0;
            quantiles_ms.push(ms);
            if count > 0 {
                latency.push((ms.round() as u64, count));
            }
        }
        probe_response = Some(SimDuration::from_ms(
            (q.quantile(0.5) * 1000.0).ceil().min(u64::MAX as f64 / 4.0) as u64,
        ));
        (
            ok,
            Some(q.quantile(0.5) * 1000.0),
            Some(q.quantile(0.99).min(timeout_s) * 1000.0),
        )
    };
    // Rounding per cause must never serve more than was offered.
    let served = served.min(offered.saturating_sub(errors.total()));
    Outcome {
        interval: Interval {
            at,
            offered,
            served,
            errors,
            p50_ms: p50,
            p99_ms: p99,
        },
        per_pod_rps: per_pod,
        latency,
        quantiles_ms,
        probe_response,
        ingress_errors: Errors::default(),
    }
}

/// Runs the health checker's probes of the live backends over the window
/// ending `now` and moves the part of the window they spent out of rotation
/// to `no_backend`. Probes of one checker share a phase, and live backends
/// share the load evenly, so they pass or fail together: a probe passes when
/// the backends' median response time is within the timeout (an overloaded
/// backend fails); out of rotation they are idle and pass. Returns the share
/// of the window spent in rotation. With no live backend (`live` 0) there is
/// nothing to probe: backends that come up later start in rotation.
pub fn apply_health_checks(
    o: &mut Outcome,
    hc: &HealthChecker,
    state: &mut ProbeState,
    live: u32,
    window: SimDuration,
    now: SimTime,
) -> f64 {
    if live == 0 {
        *state = ProbeState::default();
        return 1.0;
    }
    let start = SimTime(now.as_ms().saturating_sub(window.as_ms()));
    let loaded_ok = probe_passes(o.probe_response, hc.timeout);
    let mut in_ms = 0u64;
    let mut from = start;
    for t in probe_times(hc.interval, start, now) {
        if state.in_rotation {
            in_ms += t.since(from).as_ms();
        }
        from = t;
        let ok = if state.in_rotation { loaded_ok } else { true };
        state.probe(ok, hc.retries);
    }
    if state.in_rotation {
        in_ms += now.since(from).as_ms();
    }
    let share = in_ms as f64 / window.as_ms().max(1) as f64;
    if share < 1.0 {
        take_out(o, share);
    }
    share
}

/// Keeps the share `kept` of what the live backends served or failed to
/// serve; the rest found no backend in rotation.
fn take_out(o: &mut Outcome, kept: f64) {
    let i = &mut o.interval;
    let served = (i.served as f64 * kept).round() as u64;
    let overload = (i.errors.overload as f64 * kept).round() as u64;
    i.errors.no_backend += (i.served - served) + (i.errors.overload - overload);
    i.errors.overload = overload;
    scale_samples(o, served);
    o.per_pod_rps *= kept;
}

/// Sets the served count to `kept` (at most the current one) and shrinks the
/// latency samples in proportion.
fn scale_samples(o: &mut Outcome, kept: u64) {
    let i = &mut o.interval;
    let keep = if i.served == 0 {
        0.0
    } else {
        kept as f64 / i.served as f64
    };
    i.served = kept;
    if kept == 0 {
        i.p50_ms = None;
        i.p99_ms = None;
    }
    // Cumulative rounding keeps the samples' total at round(total × keep).
    let mut before = 0u64;
    let mut after_prev = 0u64;
    for (_, n) in &mut o.latency {
        before += *n;
        let after = (before as f64 * keep).round() as u64;
        *n = after - after_prev;
        after_prev = after;
    }
    o.latency.retain(|(_, n)| *n > 0);
}

/// A Deployment's traffic over the whole run.
#[derive(Clone, Debug)]
pub struct TrafficTotals {
    /// Requests offered.
    pub offered: u64,
    /// Requests served.
    pub served: u64,
    /// Failures by cause.
    pub errors: Errors,
    /// The part of `errors` that failed at an ingress controller (loads
    /// through one).
    pub ingress_errors: Errors,
    /// Latency of served requests, ms.
    pub latency: Histogram<u64>,
    /// The latest interval.
    pub last: Option<Interval>,
    /// The latest interval's latency samples `(ms, count)`.
    pub last_latency: Vec<(u64, u64)>,
}

impl Default for TrafficTotals {
    fn default() -> Self {
        TrafficTotals {
            offered: 0,
            served: 0,
            errors: Errors::default(),
            ingress_errors: Errors::default(),
            latency: Histogram::new_with_bounds(1, 3_600_000, 3).expect("valid bounds"),
            last: None,
            last_latency: Vec::new(),
        }
    }
}

impl TrafficTotals {
    /// Adds one interval.
    pub fn add(&mut self, o: &Outcome) {
        self.offered += o.interval.offered;
        self.served += o.interval.served;
        self.errors.add(&o.interval.errors);
        self.ingress_errors.add(&o.ingress_errors);
        for (ms, n) in &o.latency {
            self.latency.saturating_record_n((*ms).max(1), *n);
        }
        self.last = Some(o.interval.clone());
        self.last_latency.clone_from(&o.latency);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> ServiceModel {
        ServiceModel {
            service_time: SimDuration::from_ms(50),
            distribution: ServiceDist::Exponential,
            concurrency: 4,
            timeout: SimDuration::from_secs(30),
            lb_max_rps: None,
            health_check: Some(HealthChecker::new("HTTP")),
        }
    }

    #[test]
    fn light_load_is_served_at_about_the_service_time() {
        let o = serve(
            &model(),
            10.0,
            SimDuration::from_secs(15),
            Backends {
                healthy: 2,
                dead_in_rotation: 0,
                dead_seconds: 0.0,
            },
            1000.0,
            10.0,
            SimTime(15_000),
        );
        assert_eq!((o.interval.offered, o.interval.errors.total()), (150, 0));
        assert_eq!(o.interval.served, 150);
        let p50 = o.interval.p50_ms.unwrap();
        assert!((p50 - 50.0 * 2f64.ln()).abs() < 1.0, "{p50}");
    }

    #[test]
    fn overload_fails_the_excess_and_cpu_throttles_capacity() {
        // 2 pods, 4 x 20/s = 80/s each nominal, but 250m CPU at 10 ms per request caps at 25/s.
        let o = serve(
            &model(),
            100.0,
            SimDuration::from_secs(10),
            Backends {
                healthy: 2,
                dead_in_rotation: 0,
                dead_seconds: 0.0,
            },
            250.0,
            10.0,
            SimTime(10_000),
        );
        assert_eq!(o.interval.offered, 1000);
        assert_eq!(o.interval.served, 500);
        assert_eq!(o.interval.errors.overload, 500);
    }

    #[test]
    fn dead_backends_in_rotation_and_the_bandwidth_cap_fail_their_share() {
        let mut m = model();
        m.lb_max_rps = Some(60.0);
        let o = serve(
            &m,
            80.0,
            SimDuration::from_secs(10),
            Backends {
                healthy: 2,
                dead_in_rotation: 1,
                dead_seconds: 10.0,
            },
            1000.0,
            1.0,
            SimTime(10_000),
        );
        assert_eq!(o.interval.errors.bandwidth, 200);
        assert_eq!(o.interval.errors.dead_backend, 200);
        assert_eq!(o.interval.served, 400);
    }

    #[test]
    fn the_database_turns_served_requests_into_errors_by_cause() {
        use crate::sim::wiring::DbOutage;
        let b = Backends {
            healthy: 4,
            dead_in_rotation: 0,
            dead_seconds: 0.0,
        };
        let fresh = || {
            serve(
                &model(),
                20.0,
                SimDuration::from_secs(15),
                b,
                1000.0,
                10.0,
                SimTime(15_000),
            )
        };
        let mut o = fresh();
        assert_eq!(o.interval.served, 300);
        apply_database(&mut o, Some(DbOutage::Unavailable), 1.0 / 3.0, 0.25);
        let e = o.interval.errors;
        assert_eq!(
            (e.db_unavailable, e.db_auth, o.interval.served),
            (100, 50, 150)
        );
        assert_eq!(o.latency.iter().map(|(_, n)| n).sum::<u64>(), 150);
        assert_eq!(o.interval.offered, o.interval.served + e.total());
        let mut o = fresh();
        apply_database(&mut o, Some(DbOutage::Unreachable), 1.0, 0.0);
        assert_eq!(
            (o.interval.errors.db_unreachable, o.interval.served),
            (300, 0)
        );
        assert!(o.latency.is_empty() && o.interval.p99_ms.is_none());
        let mut o = fresh();
        apply_database(&mut o, None, 0.0, 0.0);
        assert_eq!(o.interval.served, 300);
    }

    /// `n` Ready pods on live nodes.
    fn live(n: u32) -> Backends {
        Backends {
            healthy: n,
            dead_in_rotation: 0,
            dead_seconds: 0.0,
        }
    }

    /// One 15 s interval of `rps` over two healthy pods at 250m, 10 ms per
    /// request (capacity 25 rps each), ending at `at_s`, with the health checker.
    fn checked(rps: f64, at_s: u64, state: &mut ProbeState) -> (Outcome, f64) {
        let m = model();
        let mut o = serve(
            &m,
            rps,
            SimDuration::from_secs(15),
            live(2),
            250.0,
            10.0,
            SimTime(at_s * 1000),
        );
        let hc = m.health_check.as_ref().unwrap();
        let share = apply_health_checks(
            &mut o,
            hc,
            state,
            2,
            SimDuration::from_secs(15),
            SimTime(at_s * 1000),
        );
        (o, share)
    }

    #[test]
    fn an_overloaded_backend_fails_its_probes_by_the_timeout_and_returns_when_load_falls() {
        let mut state = ProbeState::default();
        // Light load: probes answer within 3 s, all in rotation.
        let (o, share) = checked(20.0, 15, &mut state);
        assert_eq!((share, o.interval.errors.no_backend), (1.0, 0));
        assert!(o.probe_response.unwrap() < SimDuration::from_secs(3));
        // Overload (100 rps against 50): probes at 20 s and 30 s fail, the
        // third at 40 s takes the pods out; out of rotation they idle.
        let (o, share) = checked(100.0, 30, &mut state);
        assert!(o.probe_response.is_none());
        assert_eq!((share, state.in_rotation, state.streak), (1.0, true, 2));
        let (o, share) = checked(100.0, 45, &mut state);
        assert!(!state.in_rotation);
        assert!((share - 10.0 / 15.0).abs() < 1e-9);
        assert_eq!(o.interval.offered, 1500);
        assert!(
            o.interval.errors.no_backend >= 500,
            "{:?}",
            o.interval.errors
        );
        // Still out: idle pods pass their probes at 50 s and 60 s.
        let (o, share) = checked(100.0, 60, &mut state);
        assert_eq!((share, o.interval.served), (0.0, 0));
        assert_eq!(o.interval.errors.no_backend, 1500);
        assert_eq!(o.per_pod_rps, 0.0, "no traffic, no CPU");
        // The third pass at 70 s puts them back: 30 s (3 x 10 s) after going out.
        let (_, share) = checked(20.0, 75, &mut state);
        assert!(state.in_rotation);
        assert!((share - 5.0 / 15.0).abs() < 1e-9);
        let (o, share) = checked(20.0, 90, &mut state);
        assert_eq!((share, o.interval.errors.total()), (1.0, 0));
    }

    #[test]
    fn a_longer_timeout_keeps_a_slow_backend_in() {
        // 2.4 rps per pod against one 400 ms request at a time (2.5/s): stable,
        // but the median response is 6.9 s, past the default 3 s timeout.
        let mut m = model();
        m.service_time = SimDuration::from_ms(400);
        m.concurrency = 1;
        let o = serve(
            &m,
            4.8,
            SimDuration::from_secs(15),
            live(2),
            1000.0,
            10.0,
            SimTime(15_000),
        );
        let median = o.probe_response.unwrap();
        // M/M/1: median = ln 2 / (mu - lambda) = 0.693 / 0.1.
        assert!((median.as_secs_f64() - 6.93).abs() < 0.05, "{median:?}");
        assert!(!probe_passes(Some(median), SimDuration::from_secs(3)));
        assert!(probe_passes(Some(median), SimDuration::from_secs(10)));
    }

    #[test]
    fn no_live_backend_leaves_nothing_to_probe() {
        let m = model();
        let mut state = ProbeState {
            in_rotation: false,
            streak: 1,
        };
        let mut o = serve(
            &m,
            10.0,
            SimDuration::from_secs(15),
            live(0),
            1000.0,
            10.0,
            SimTime(15_000),
        );
        let hc = m.health_check.as_ref().unwrap();
        let share = apply_health_checks(
            &mut o,
            hc,
            &mut state,
            0,
            SimDuration::from_secs(15),
            SimTime(15_000),
        );
        assert_eq!((share, state), (1.0, ProbeState::default()));
        assert_eq!(o.interval.errors.no_backend, 150);
    }

    #[test]
    fn deterministic_service_queues_less_than_exponential_in_serve() {
        let mut m = model();
        let b = live(2);
        let run = |m: &ServiceModel| {
            serve(
                m,
                120.0,
                SimDuration::from_secs(15),
                b,
                1000.0,
                10.0,
                SimTime(15_000),
            )
        };
        let exp = run(&m);
        m.distribution = ServiceDist::Deterministic;
        let det = run(&m);
        m.distribution = ServiceDist::LogNormal { cv: 3.0 };
        let wide = run(&m);
        let p99 = |o: &Outcome| o.interval.p99_ms.unwrap();
        assert!(p99(&det) < p99(&exp) && p99(&exp) < p99(&wide));
        assert_eq!(det.interval.served, 1800);
    }
}
