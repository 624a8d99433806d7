//! Offered load over virtual time: request rates from the profile shapes a
//! scenario can describe (constant, step, ramp, diurnal, spike, trace).
//!
//! Pure functions of time; the simulation decides how the load reaches pods.

use crate::kernel::{SimDuration, SimTime};

/// A request-rate profile, in requests per second.
#[derive(Clone, Debug, PartialEq)]
pub enum LoadProfile {
    /// The same rate throughout.
    Constant {
        /// Requests per second.
        rps: f64,
    },
    /// `from` until `at`, then `to`.
    Step {
        /// Rate before the step.
        from: f64,
        /// Rate from the step on.
        to: f64,
        /// When the step happens.
        at: SimTime,
    },
    /// `from` until `start`, linear to `to` at `end`, then `to`.
    Ramp {
        /// Starting rate.
        from: f64,
        /// Final rate.
        to: f64,
        /// Ramp start.
        start: SimTime,
        /// Ramp end.
        end: SimTime,
    },
    /// A sinusoid between `min` and `max` with period `period`, peaking at `peak_at`.
    Diurnal {
        /// Lowest rate.
        min: f64,
        /// Highest rate.
        max: f64,
        /// Period (a day by default).
        period: SimDuration,
        /// Time of the first peak.
        peak_at: SimTime,
    },
    /// `base`, with `peak` between `at` and `at + duration`.
    Spike {
        /// Rate outside the spike.
        base: f64,
        /// Rate during the spike.
        peak: f64,
        /// Spike start.
        at: SimTime,
        /// Spike length.
        duration: SimDuration,
    },
    /// A recorded trace: `(time, rps)` points, held constant until the next point
    /// (0 before the first).
    Trace {
        /// Points in time order.
        points: Vec<(SimTime, f64)>,
    },
}

impl LoadProfile {
    /// The offered rate at `t`.
    pub fn rps_at(&self, t: SimTime) -> f64 {
        match self {
            LoadProfile::Constant { rps } => *rps,
            LoadProfile::Step { from, to, at } => {
                if t < *at {
                    *from
                } else {
                    *to
                }
            }
            LoadProfile::Ramp {
                from,
                to,
                start,
                end,
            } => {
                if t <= *start {
                    *from
                } else if t >= *end {
                    *to
                } else {
                    let f = t.since(*start).as_ms() as f64 / end.since(*start).as_ms() as f64;
                    from + (to - from) * f
                }
            }
            LoadProfile::Diurnal {
                min,
                max,
                period,
                peak_at,
            } => {
                let p = period.as_ms().max(1) as f64;
                let phase = (t.as_ms() as f64 - peak_at.as_ms() as f64) / p * std::f64::consts::TAU;
                min + (max - min) * (1.0 + phase.cos()) / 2.0
            }
            LoadProfile::Spike {
                base,
                peak,
                at,
                duration,
            } => {
                if t >= *at && t < *at + *duration {
                    *peak
                } else {
                    *base
                }
            }
            LoadProfile::Trace { points } => match points.partition_point(|(pt, _)| *pt <= t) {
                0 => 0.0,
                i => points[i - 1].1,
            },
        }
    }

    /// Times at which the rate jumps (the simulation re-evaluates pod usage there).
    pub fn breakpoints(&self) -> Vec<SimTime> {
        match self {
            LoadProfile::Constant { .. }
            | LoadProfile::Diurnal { .. }
            | LoadProfile::Ramp { .. } => Vec::new(),
            LoadProfile::Step { at, .. } => vec![*at],
            LoadProfile::Spike { at, duration, .. } => vec![*at, *at + *duration],
            LoadProfile::Trace { points } => points.iter().map(|(t, _)| *t).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(secs: u64) -> SimTime {
        SimTime(secs * 1000)
    }

    #[test]
    fn shapes() {
        assert_eq!(
            LoadProfile::Step {
                from: 1.0,
                to: 5.0,
                at: s(10)
            }
            .rps_at(s(9)),
            1.0
        );
        assert_eq!(
            LoadProfile::Step {
                from: 1.0,
                to: 5.0,
                at: s(10)
            }
            .rps_at(s(10)),
            5.0
        );
        let ramp = LoadProfile::Ramp {
            from: 0.0,
            to: 100.0,
            start: s(0),
            end: s(100),
        };
        assert_eq!(ramp.rps_at(s(25)), 25.0);
        assert_eq!(ramp.rps_at(s(200)), 100.0);
        let d = LoadProfile::Diurnal {
            min: 10.0,
            max: 110.0,
            period: SimDuration::from_secs(86_400),
            peak_at: s(50_400),
        };
        assert!((d.rps_at(s(50_400)) - 110.0).abs() < 1e-9);
        assert!((d.rps_at(s(50_400 - 43_200)) - 10.0).abs() < 1e-9);
        let spike = LoadProfile::Spike {
            base: 1.0,
            peak: 9.0,
            at: s(5),
            duration: SimDuration::from_secs(5),
        };
        assert_eq!(
            (spike.rps_at(s(4)), spike.rps_at(s(5)), spike.rps_at(s(10))),
            (1.0, 9.0, 1.0)
        );
        let trace = LoadProfile::Trace {
            points: vec![(s(10), 3.0), (s(20), 7.0)],
        };
        assert_eq!(
            (trace.rps_at(s(5)), trace.rps_at(s(15)), trace.rps_at(s(25))),
            (0.0, 3.0, 7.0)
        );
    }
}
