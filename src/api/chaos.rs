//! Chaos rules: by service and operation, with a probability, a request gets
//! an injected error (any code and status, 429 throttling included) and/or
//! added latency. Draws come from the seeded `chaos` stream, so a run with the
//! same seed and the same request sequence injects the same faults. Injected
//! failures never reach a handler, so they never enter the journal.

use serde::{Deserialize, Serialize};

use crate::kernel::{RandomStream, SeedTree};

/// One rule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChaosRule {
    /// Service (`identity`, `core`, `oke`, `kms`, `vaults`, `secrets`, `lb`,
    /// `mysql`, `artifacts`); absent matches every service.
    pub service: Option<String>,
    /// Operation: `METHOD /route/template` as routed
    /// (`POST /20160918/vcns`, `GET /20160918/vcns/{id}`), or just the method
    /// (`POST`); absent matches every operation.
    pub operation: Option<String>,
    /// Probability in [0, 1] that the rule fires on a matching request.
    pub probability: f64,
    /// Status of the injected error (e.g. 429, 500, 503); absent: no error.
    pub status: Option<u16>,
    /// OCI error code of the injected error (default by status).
    pub code: Option<String>,
    /// Message of the injected error.
    pub message: Option<String>,
    /// Added latency in ms (wall time) when the rule fires.
    #[serde(default)]
    pub latency_ms: u64,
}

/// What a firing rule does to one request.
#[derive(Clone, Debug, PartialEq)]
pub struct Effect {
    /// Wall-clock delay before answering.
    pub latency_ms: u64,
    /// The error to answer with, if any: status, code, message.
    pub error: Option<(u16, String, String)>,
}

/// The rules and their random stream.
#[derive(Debug)]
pub struct Chaos {
    /// Rules in the order given; each is drawn for independently.
    pub rules: Vec<ChaosRule>,
    stream: RandomStream,
}

impl Chaos {
    /// No rules; the stream forked from `seed`.
    pub fn new(seed: u64) -> Chaos {
        Chaos {
            rules: Vec::new(),
            stream: SeedTree::new(seed).fork("chaos"),
        }
    }

    /// Checks rules: probabilities in [0, 1], error statuses 400..=599.
    pub fn validate(rules: &[ChaosRule]) -> Result<(), String> {
        for (i, r) in rules.iter().enumerate() {
            if !(0.0..=1.0).contains(&r.probability) {
                return Err(format!(
                    "rules[{i}].probability: {} is not between 0 and 1",
                    r.probability
                ));
            }
            if let Some(s) = r.status
                && !(400..=599).contains(&s)
            {
                return Err(format!(
                    "rules[{i}].status: {s} is not an error status (400-599)"
                ));
            }
        }
        Ok(())
    }

    /// Draws for every matching rule; latencies add up, the first error wins.
    pub fn draw(&mut self, service: &str, method: &str, route: &str) -> Option<Effect> {
        let op = format!("{method} {route}");
        let mut effect: Option<Effect> = None;
        for r in &self.rules {
            let svc_ok = r.service.as_deref().is_none_or(|s| s == service);
            let op_ok = r
                .operation
                .as_deref()
                .is_none_or(|o| o == op || o.eq_ignore_ascii_case(method));
            if !(svc_ok && op_ok) || self.stream.unit() >= r.probability {
                continue;
            }
            let e = effect.get_or_insert(Effect {
                latency_ms: 0,
                error: None,
            });
            e.latency_ms += r.latency_ms;
            if e.error.is_none()
                && let Some(status) = r.status
            {
                let code = r
                    .code
                    .clone()
                    .unwrap_or_else(|| default_code(status).into());
                let message = r
                    .message
                    .clone()
                    .unwrap_or_else(|| format!("injected by an ocisim chaos rule on {op}"));
                e.error = Some((status, code, message));
            }
        }
        effect
    }
}

fn default_code(status: u16) -> &'static str {
    match status {
        429 => "TooManyRequests",
        409 => "IncorrectState",
        500 => "InternalServerError",
        503 => "ServiceUnavailable",
        404 => "NotAuthorizedOrNotFound",
        _ => "InternalServerError",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(p: f64) -> ChaosRule {
        ChaosRule {
            service: Some("core".into()),
            operation: Some("POST /20160918/vcns".into()),
            probability: p,
            status: Some(429),
            code: None,
            message: None,
            latency_ms: 0,
        }
    }

    #[test]
    fn rules_match_service_and_operation_and_draw_reproducibly() {
        let mut a = Chaos::new(7);
        a.rules.push(rule(0.5));
        let mut b = Chaos::new(7);
        b.rules.push(rule(0.5));
        let da: Vec<bool> = (0..64)
            .map(|_| a.draw("core", "POST", "/20160918/vcns").is_some())
            .collect();
        let db: Vec<bool> = (0..64)
            .map(|_| b.draw("core", "POST", "/20160918/vcns").is_some())
            .collect();
        assert_eq!(da, db);
        assert!(da.iter().any(|x| *x) && da.iter().any(|x| !*x));
        assert!(a.draw("identity", "POST", "/20160918/vcns").is_none());
        assert!(a.draw("core", "GET", "/20160918/vcns").is_none());
        let mut c = Chaos::new(1);
        c.rules.push(rule(1.0));
        let e = c.draw("core", "POST", "/20160918/vcns").unwrap();
        assert_eq!(e.error.unwrap().1, "TooManyRequests");
        assert!(Chaos::validate(&[rule(1.5)]).is_err());
    }
}
