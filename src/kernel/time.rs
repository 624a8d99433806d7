//! Virtual time: milliseconds since the start of a run.
//!
//! Time is an integer so that ordering and hashing are exact; nothing here knows
//! the wall clock.

use std::fmt;
use std::ops::{Add, Sub};

/// A point in virtual time, in milliseconds since the run started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimTime(pub u64);

/// A span of virtual time in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimDuration(pub u64);

impl SimTime {
    /// The start of every run.
    pub const ZERO: SimTime = SimTime(0);

    /// Milliseconds since the start.
    pub fn as_ms(self) -> u64 {
        self.0
    }

    /// Time elapsed since `earlier`, saturating at zero.
    pub fn since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }

    /// The first multiple of `period` strictly after `self` (for periodic controllers).
    pub fn next_tick_after(self, period: SimDuration) -> SimTime {
        assert!(period.0 > 0, "a periodic tick needs a non-zero period");
        SimTime((self.0 / period.0 + 1) * period.0)
    }

    /// The last multiple of `period` at or before `self`.
    pub fn floor_to(self, period: SimDuration) -> SimTime {
        assert!(period.0 > 0, "a periodic tick needs a non-zero period");
        SimTime(self.0 / period.0 * period.0)
    }
}

impl SimDuration {
    /// No time at all.
    pub const ZERO: SimDuration = SimDuration(0);

    /// A duration of whole seconds.
    pub const fn from_secs(s: u64) -> Self {
        SimDuration(s * 1000)
    }

    /// A duration of milliseconds.
    pub const fn from_ms(ms: u64) -> Self {
        SimDuration(ms)
    }

    /// Milliseconds in this duration.
    pub fn as_ms(self) -> u64 {
        self.0
    }

    /// Seconds as a float, for rates and reports.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }

    /// Parses `300`, `300ms`, `50s`, `5m`, `2h`, `1d` or compound forms like `1h30m`.
    /// A bare number means seconds.
    pub fn parse(text: &str) -> Result<SimDuration, String> {
        let t = text.trim();
        if t.is_empty() {
            return Err("empty duration".into());
        }
        if let Ok(secs) = t.parse::<u64>() {
            return secs
                .checked_mul(1000)
                .map(SimDuration)
                .ok_or_else(|| format!("duration `{t}` is too large"));
        }
        let mut total: u64 = 0;
        let mut digits = String::new();
        let mut chars = t.chars().peekable();
        while let Some(c) = chars.next() {
            if c.is_ascii_digit() || c == '.' {
                digits.push(c);
                continue;
            }
            let unit_ms: f64 = match c {
                'm' if chars.peek() == Some(&'s') => {
                    chars.next();
                    1.0
                }
                's' => 1_000.0,
                'm' => 60_000.0,
                'h' => 3_600_000.0,
                'd' => 86_400_000.0,
                _ => {
                    return Err(format!(
                        "duration `{t}` has unknown unit `{c}` (use ms, s, m, h, d)"
                    ));
                }
            };
            let n: f64 = digits
                .parse()
                .map_err(|_| format!("duration `{t}` needs a number before each unit"))?;
            digits.clear();
            let add = (n * unit_ms).round();
            if !add.is_finite() || !(0.0..=1e15).contains(&add) {
                return Err(format!("duration `{t}` is out of range"));
            }
            total = total.saturating_add(add as u64);
        }
        if !digits.is_empty() {
            return Err(format!("duration `{t}` ends in a number without a unit"));
        }
        Ok(SimDuration(total))
    }
}

impl Add<SimDuration> for SimTime {
    type Output = SimTime;
    fn add(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }
}

impl Add for SimDuration {
    type Output = SimDuration;
    fn add(self, d: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_add(d.0))
    }
}

impl Sub for SimTime {
    type Output = SimDuration;
    fn sub(self, other: SimTime) -> SimDuration {
        self.since(other)
    }
}

impl fmt::Display for SimTime {
    /// `HH:MM:SS` with `.mmm` only when the time is not on a whole second;
    /// days roll into the hour count.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0 % 1000;
        let s = self.0 / 1000;
        write!(f, "{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)?;
        if ms != 0 {
            write!(f, ".{ms:03}")?;
        }
        Ok(())
    }
}

impl fmt::Display for SimDuration {
    /// Compact human form: `850ms`, `42s`, `5m12s`, `2h0m5s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0;
        if ms < 1000 {
            return write!(f, "{ms}ms");
        }
        let secs = ms / 1000;
        let frac = ms % 1000;
        let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
        if h > 0 {
            write!(f, "{h}h{m}m{s}s")
        } else if m > 0 {
            write!(f, "{m}m{s}s")
        } else if frac == 0 {
            write!(f, "{s}s")
        } else {
            write!(f, "{s}.{:03}s", frac)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_durations() {
        assert_eq!(
            SimDuration::parse("300").unwrap(),
            SimDuration::from_secs(300)
        );
        assert_eq!(SimDuration::parse("250ms").unwrap(), SimDuration(250));
        assert_eq!(
            SimDuration::parse("1h30m").unwrap(),
            SimDuration::from_secs(5400)
        );
        assert_eq!(SimDuration::parse("1.5s").unwrap(), SimDuration(1500));
        assert!(SimDuration::parse("5x").is_err());
        assert!(SimDuration::parse("5m3").is_err());
    }

    #[test]
    fn formats_times_and_durations() {
        assert_eq!(SimTime(3_723_004).to_string(), "01:02:03.004");
        assert_eq!(SimTime(90_000).to_string(), "00:01:30");
        assert_eq!(SimDuration(312_000).to_string(), "5m12s");
        assert_eq!(SimDuration(1_500).to_string(), "1.500s");
    }

    #[test]
    fn ticks() {
        let p = SimDuration::from_secs(5);
        assert_eq!(SimTime(5_000).next_tick_after(p), SimTime(10_000));
        assert_eq!(SimTime(7_300).next_tick_after(p), SimTime(10_000));
        assert_eq!(SimTime(7_300).floor_to(p), SimTime(5_000));
    }
}
