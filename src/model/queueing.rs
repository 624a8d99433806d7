//! Request latency of one pod as an M/M/c queue: Poisson arrivals, exponential
//! service, `c` requests served at once (Erlang C).
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
    fn tail_with(&self, pw: f64, t: f64) -> f64 {
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
}
