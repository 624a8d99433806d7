//! Request latency of one pod as an M/M/c queue: Poisson arrivals, exponential
//! service, `c` requests served at once (Erlang C); and, for other
//! service-time distributions, an M/G/c queue by the Allen–Cunneen
//! approximation (see [`MgcQueue`]).
//!
//! Pure functions; the simulation feeds each pod's arrival rate and gets the
//! response-time distribution back. An analytic model rather than per-request
//! simulation keeps a day with 100,000 pods fast and deterministic.

/// Erlang C: the probability that an arriving request waits, with `c` servers
/// and offered load `a = λ/μ` Erlangs. Requires `a < c`.
pub fn erlang_c(c: u32, a: f64) -> f64 {
    assert!(
        c > 0 && a >= 0.0 && a < f64::from(c),
        "Erlang C needs 0 <= a < c"
    );
    if a == 0.0 {
        return 0.0;
    }
    // Erlang B by its stable recurrence, then C from B.
    let mut b = 1.0;
    for k in 1..=c {
        b = a * b / (f64::from(k) + a * b);
    }
    let rho = a / f64::from(c);
    b / (1.0 - rho + rho * b)
}

/// An M/M/c queue in steady state.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MmcQueue {
    /// Servers (requests served concurrently).
    pub c: u32,
    /// Arrival rate, per second.
    pub lambda: f64,
    /// Service rate of one server, per second.
    pub mu: f64,
}

impl MmcQueue {
    /// True when the queue is stable (λ < cμ).
    pub fn stable(&self) -> bool {
        self.lambda < f64::from(self.c) * self.mu
    }

    /// P(response time > t seconds): waiting (exponential with rate cμ−λ, with
    /// probability C) plus exponential service.
    pub fn tail(&self, t: f64) -> f64 {
        assert!(self.stable(), "tail of an unstable queue");
        let pw = erlang_c(self.c, self.lambda / self.mu);
        self.tail_with(pw, t)
    }

    /// [`MmcQueue::tail`] with Erlang C already computed (`pw`), for the many
    /// evaluations of one queue a quantile search makes.
    pub(crate) fn tail_with(&self, pw: f64, t: f64) -> f64 {
        let theta = f64::from(self.c) * self.mu - self.lambda;
        let mu = self.mu;
        let service = (-mu * t).exp();
        let wait_then_serve = if (theta - mu).abs() < 1e-9 * mu {
            (1.0 + mu * t) * service
        } else {
            (theta * service - mu * (-theta * t).exp()) / (theta - mu)
        };
        ((1.0 - pw) * service + pw * wait_then_serve).clamp(0.0, 1.0)
    }

    /// The `q` quantile (0 < q < 1) of the response time, in seconds, by bisection.
    pub fn quantile(&self, q: f64) -> f64 {
        assert!(q > 0.0 && q < 1.0);
        assert!(self.stable(), "quantile of an unstable queue");
        let pw = erlang_c(self.c, self.lambda / self.mu);
        let target = 1.0 - q;
        let (mut lo, mut hi) = (0.0, 1.0 / self.mu);
        while self.tail_with(pw, hi) > target {
            hi *= 2.0;
            if hi > 1e9 {
                return hi;
            }
        }
        for _ in 0..60 {
            let mid = (lo + hi) / 2.0;
            if self.tail_with(pw, mid) > target {
                lo = mid
            } else {
                hi = mid
            }
        }
        hi
    }
}

/// The distribution of one request's service time (its mean is the queue's 1/μ).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ServiceDist {
    /// Exponential (coefficient of variation 1): the exact M/M/c model.
    Exponential,
    /// Every request takes exactly the mean (cv 0).
    Deterministic,
    /// Log-normal with coefficient of variation `cv` (standard deviation / mean).
    LogNormal {
        /// Coefficient of variation, > 0.
        cv: f64,
    },
}

impl ServiceDist {
    /// Squared coefficient of variation cs².
    pub fn cs2(&self) -> f64 {
        match self {
            ServiceDist::Exponential => 1.0,
            ServiceDist::Deterministic => 0.0,
            ServiceDist::LogNormal { cv } => cv * cv,
        }
    }
}

/// An M/G/c queue by the Allen–Cunneen approximation (Allen, *Probability,
/// Statistics, and Queueing Theory*, 2nd ed., 1990, §6; Whitt, "Approximations
/// for the GI/G/m queue", 1993): the probability of waiting is M/M/c's Erlang
/// C, and the mean wait is M/M/c's scaled by (ca² + cs²)/2 with ca² = 1
/// (Poisson arrivals). A waiting request's wait is taken as exponential with
/// that mean, so the response time is that wait plus an independent service
/// time from the distribution. For c = 1 the mean wait is exactly
/// Pollaczek–Khinchine's; with exponential service the model is M/M/c itself.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MgcQueue {
    /// Servers (requests served concurrently).
    pub c: u32,
    /// Arrival rate, per second.
    pub lambda: f64,
    /// Service rate of one server, per second (1 / mean service time).
    pub mu: f64,
    /// Service-time distribution.
    pub service: ServiceDist,
}

/// Grid points of a log-normal response-time distribution.
const GRID: usize = 4096;

impl MgcQueue {
    /// The M/M/c queue with the same rates.
    pub fn mmc(&self) -> MmcQueue {
        MmcQueue {
            c: self.c,
            lambda: self.lambda,
            mu: self.mu,
        }
    }

    /// Mean wait in the queue (before service), seconds.
    pub fn mean_wait(&self) -> f64 {
        let (pw, theta) = self.wait();
        pw / theta
    }

    /// Erlang C and the decay rate of a waiting request's wait, (cμ − λ)
    /// divided by (1 + cs²)/2.
    fn wait(&self) -> (f64, f64) {
        let q = self.mmc();
        assert!(q.stable(), "wait of an unstable queue");
        let pw = erlang_c(self.c, self.lambda / self.mu);
        let theta = f64::from(self.c) * self.mu - self.lambda;
        (pw, theta * 2.0 / (1.0 + self.service.cs2()))
    }

    /// The response-time distribution, computed once for many look-ups.
    pub fn response(&self) -> ResponseTime {
        let (pw, theta) = self.wait();
        let mean = 1.0 / self.mu;
        match self.service {
            ServiceDist::Exponential => ResponseTime::Mmc(self.mmc(), pw),
            ServiceDist::Deterministic => ResponseTime::Deterministic {
                service: mean,
                pw,
                theta,
            },
            ServiceDist::LogNormal { cv } => lognormal_response(mean, cv, pw, theta),
        }
    }
}

/// The response time of an [`MgcQueue`]: P(T > t) and quantiles.
#[derive(Clone, Debug, PartialEq)]
pub enum ResponseTime {
    /// Exact M/M/c, with Erlang C.
    Mmc(MmcQueue, f64),
    /// A constant service plus an exponential wait with probability `pw`.
    Deterministic {
        /// Service time, s.
        service: f64,
        /// Probability of waiting.
        pw: f64,
        /// Decay rate of the wait, 1/s.
        theta: f64,
    },
    /// P(T > t) on a grid of step `step` from 0; beyond it the tail decays as
    /// the wait does (the service's own tail is below 1e-6 there).
    Grid {
        /// Grid step, s.
        step: f64,
        /// P(T > k·step).
        tail: Vec<f64>,
        /// Decay rate of the wait, 1/s.
        theta: f64,
    },
}

impl ResponseTime {
    /// P(response time > t seconds).
    pub fn tail(&self, t: f64) -> f64 {
        match self {
            ResponseTime::Mmc(q, pw) => q.tail_with(*pw, t),
            ResponseTime::Deterministic { service, pw, theta } => {
                if t < *service {
                    1.0
                } else {
                    pw * (-theta * (t - service)).exp()
                }
            }
            ResponseTime::Grid { step, tail, theta } => {
                let x = t.max(0.0) / step;
                let k = x.floor() as usize;
                if k + 1 >= tail.len() {
                    let end = (tail.len() - 1) as f64 * step;
                    tail[tail.len() - 1] * (-theta * (t - end)).exp()
                } else {
                    let f = x - k as f64;
                    tail[k] * (1.0 - f) + tail[k + 1] * f
                }
            }
        }
    }

    /// The `q` quantile (0 < q < 1) of the response time, in seconds.
    pub fn quantile(&self, q: f64) -> f64 {
        assert!(q > 0.0 && q < 1.0);
        let target = 1.0 - q;
        match self {
            ResponseTime::Mmc(m, _) => m.quantile(q),
            ResponseTime::Deterministic { service, pw, theta } => {
                if *pw <= target {
                    *service
                } else {
                    service + (pw / target).ln() / theta
                }
            }
            ResponseTime::Grid { step, tail, theta } => {
                // The tail falls with t: the first grid point at or below the target.
                let k = tail.partition_point(|p| *p > target);
                if k >= tail.len() {
                    let end = (tail.len() - 1) as f64 * step;
                    end + (tail[tail.len() - 1] / target).ln() / theta
                } else if k == 0 {
                    0.0
                } else {
                    let (a, b) = (tail[k - 1], tail[k]);
                    let f = if a > b { (a - target) / (a - b) } else { 1.0 };
                    (k as f64 - 1.0 + f) * step
                }
            }
        }
    }
}

/// Log-normal service (mean `mean`, coefficient of variation `cv`) plus an
/// exponential wait (rate `theta`) with probability `pw`, tabulated:
/// P(T > t) = P(S > t) + pw·∫₀ᵗ f_S(s) e^(−θ(t−s)) ds, the integral by a
/// one-pass recurrence over the grid.
fn lognormal_response(mean: f64, cv: f64, pw: f64, theta: f64) -> ResponseTime {
    let sigma2 = (1.0 + cv * cv).ln();
    let sigma = sigma2.sqrt();
    let m = mean.ln() - sigma2 / 2.0;
    let cdf = |t: f64| {
        if t <= 0.0 {
            0.0
        } else {
            0.5 * erfc(-(t.ln() - m) / (sigma * std::f64::consts::SQRT_2))
        }
    };
    // Service quantile 1 - 1e-6 (z = 4.753), plus the wait's own 1e-6 tail.
    let mut horizon = (m + 4.753 * sigma).exp();
    if pw > 0.0 {
        horizon += (pw * 1e6).ln().max(0.0) / theta;
    }
    let step = horizon / GRID as f64;
    let decay = (-theta * step).exp();
    let half = (-theta * step / 2.0).exp();
    let mut tail = Vec::with_capacity(GRID + 1);
    let (mut g, mut prev) = (0.0, 0.0);
    tail.push(1.0);
    for k in 1..=GRID {
        let f = cdf(k as f64 * step);
        g = g * decay + (f - prev) * half;
        prev = f;
        tail.push(((1.0 - f) + pw * g).clamp(0.0, 1.0));
    }
    ResponseTime::Grid { step, tail, theta }
}

/// The complementary error function (Numerical Recipes' Chebyshev fit,
/// fractional error below 1.2e-7 everywhere).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erlang_c_matches_known_values() {
        // c = 1: C = ρ.
        assert!((erlang_c(1, 0.5) - 0.5).abs() < 1e-12);
        // c = 2, a = 1: C = 1/3.
        assert!((erlang_c(2, 1.0) - 1.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn mm1_response_time_is_exponential() {
        // M/M/1: T ~ Exp(μ − λ); median = ln 2 / (μ − λ).
        let q = MmcQueue {
            c: 1,
            lambda: 5.0,
            mu: 10.0,
        };
        assert!((q.quantile(0.5) - 2f64.ln() / 5.0).abs() < 1e-6);
        assert!((q.tail(0.2) - (-1.0f64).exp()).abs() < 1e-9);
    }

    #[test]
    fn more_servers_never_slower() {
        let one = MmcQueue {
            c: 2,
            lambda: 15.0,
            mu: 10.0,
        }
        .quantile(0.99);
        let more = MmcQueue {
            c: 4,
            lambda: 15.0,
            mu: 10.0,
        }
        .quantile(0.99);
        assert!(more < one);
        // Light load: close to the service time alone.
        let light = MmcQueue {
            c: 8,
            lambda: 0.1,
            mu: 10.0,
        }
        .quantile(0.5);
        assert!((light - 2f64.ln() / 10.0).abs() < 1e-3);
    }

    fn mgc(c: u32, lambda: f64, mu: f64, service: ServiceDist) -> MgcQueue {
        MgcQueue {
            c,
            lambda,
            mu,
            service,
        }
    }

    #[test]
    fn md1_mean_wait_is_pollaczek_khinchine() {
        // M/D/1: Wq = ρ / (2μ(1 − ρ)); λ = 8, μ = 10: 0.8 / (2·10·0.2) = 0.2 s.
        for (lambda, mu) in [(8.0, 10.0), (1.0, 10.0), (45.0, 50.0)] {
            let rho = lambda / mu;
            let q = mgc(1, lambda, mu, ServiceDist::Deterministic);
            let exact = rho / (2.0 * mu * (1.0 - rho));
            assert!((q.mean_wait() - exact).abs() < 1e-9 * exact.max(1.0));
        }
    }

    #[test]
    fn cv_one_is_the_mmc_result() {
        let exp = mgc(4, 30.0, 10.0, ServiceDist::Exponential);
        let ln1 = mgc(4, 30.0, 10.0, ServiceDist::LogNormal { cv: 1.0 });
        let mmc_wait = erlang_c(4, 3.0) / (40.0 - 30.0);
        assert!((exp.mean_wait() - mmc_wait).abs() < 1e-12);
        assert!((ln1.mean_wait() - mmc_wait).abs() < 1e-12);
        // Exponential service is M/M/c exactly, quantiles included.
        let r = exp.response();
        assert_eq!(r.quantile(0.99), exp.mmc().quantile(0.99));
        assert_eq!(r.tail(0.3), exp.mmc().tail(0.3));
    }

    #[test]
    fn deterministic_service_waits_less_than_exponential() {
        for lambda in [5.0, 20.0, 35.0, 39.0] {
            let d = mgc(4, lambda, 10.0, ServiceDist::Deterministic);
            let e = mgc(4, lambda, 10.0, ServiceDist::Exponential);
            let v = mgc(4, lambda, 10.0, ServiceDist::LogNormal { cv: 2.0 });
            assert!(d.mean_wait() < e.mean_wait() && e.mean_wait() < v.mean_wait());
            assert!(d.response().quantile(0.99) < e.response().quantile(0.99));
            assert!(e.response().quantile(0.99) < v.response().quantile(0.99));
        }
    }

    #[test]
    fn lognormal_response_matches_its_parts() {
        // Light load: the response time is the service time; the log-normal's
        // median is mean / sqrt(1 + cv²).
        let q = mgc(8, 0.01, 10.0, ServiceDist::LogNormal { cv: 0.5 });
        let r = q.response();
        let median = 0.1 / 1.25f64.sqrt();
        assert!(
            (r.quantile(0.5) - median).abs() < 1e-3 * median,
            "{}",
            r.quantile(0.5)
        );
        assert!((r.tail(median) - 0.5).abs() < 1e-3);
        // Tail and quantile agree, and the tail falls.
        let q = mgc(2, 15.0, 10.0, ServiceDist::LogNormal { cv: 1.5 });
        let r = q.response();
        for p in [0.5, 0.9, 0.99, 0.9999] {
            let t = r.quantile(p);
            assert!(
                (r.tail(t) - (1.0 - p)).abs() < 1e-4 * (1.0 - p).max(1e-2),
                "{p}"
            );
        }
        assert!(r.tail(0.1) > r.tail(0.2) && r.tail(0.2) > r.tail(10.0));
        // The mean of the tabulated response is the mean wait plus the mean service.
        let (step, n) = (1e-4, 2_000_000);
        let mean: f64 = (0..n).map(|k| r.tail(k as f64 * step) * step).sum();
        assert!((mean - (q.mean_wait() + 0.1)).abs() < 2e-3 * mean, "{mean}");
    }

    #[test]
    fn erfc_known_values() {
        assert!((erfc(0.0) - 1.0).abs() < 1e-7);
        assert!((erfc(1.0) - 0.157_299_207).abs() < 1e-7);
        assert!((erfc(-1.0) - 1.842_700_793).abs() < 1e-7);
    }
}
