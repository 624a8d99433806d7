//! Requests from the offered load to the pods: the load balancer's bandwidth
//! cap and health checks, then each Ready backend as an M/M/c queue whose
//! service rate its CPU limit can throttle. Latency goes into a histogram and
//! every request that is not served is counted with its cause.
//!
//! Evaluated once per metrics interval (15 s) with the rate at its end; within
//! an interval the state is taken as steady.

use hdrhistogram::Histogram;

use crate::kernel::{SimDuration, SimTime};
use crate::model::queueing::MmcQueue;

/// How a Deployment serves requests (one per `load` entry).
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceModel {
    /// Mean service time of one request (exponential).
    pub service_time: SimDuration,
    /// Requests one pod serves at once.
    pub concurrency: u32,
    /// A request waiting longer than this fails.
    pub timeout: SimDuration,
    /// The load balancer's bandwidth cap in requests per second, if any.
    pub lb_max_rps: Option<f64>,
    /// How long the load balancer keeps sending to a dead backend
    /// (health-check retries × interval).
    pub health_check_detection: SimDuration,
}

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
    let (served, p50, p99) = if b.healthy == 0 || per_pod <= 0.0 {
        (0, None, None)
    } else if per_pod >= capacity * 0.999 {
        // Overloaded: the queue grows until requests time out; the pods serve at capacity.
        let served = (capacity * healthy * secs).round() as u64;
        errors.overload = ((per_pod - capacity) * healthy * secs).round() as u64;
        let timeout_ms = m.timeout.as_ms() as f64;
        latency.push((m.timeout.as_ms(), served));
        (served, Some(timeout_ms), Some(timeout_ms))
    } else {
        let q = MmcQueue {
            c: servers,
            lambda: per_pod,
            mu,
        };
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
            if count > 0 {
                latency.push((
                    (q.quantile(quantile).min(timeout_s) * 1000.0).round() as u64,
                    count,
                ));
            }
        }
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
    }
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
        let e = &o.interval.errors;
        self.errors.bandwidth += e.bandwidth;
        self.errors.dead_backend += e.dead_backend;
        self.errors.no_backend += e.no_backend;
        self.errors.overload += e.overload;
        self.errors.db_unavailable += e.db_unavailable;
        self.errors.db_unreachable += e.db_unreachable;
        self.errors.db_auth += e.db_auth;
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
            concurrency: 4,
            timeout: SimDuration::from_secs(30),
            lb_max_rps: None,
            health_check_detection: SimDuration::from_secs(30),
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
}
