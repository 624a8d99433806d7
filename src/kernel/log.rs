//! The append-only event log and its stable hash.
//!
//! Every state change a run makes is appended here as a typed record. The hash
//! is folded as records arrive, over a stable byte encoding each record type
//! defines, so two runs can be compared for determinism without rendering text.

use std::fmt;

use super::time::SimTime;

/// A record type that can be appended to an [`EventLog`].
pub trait Record {
    /// Appends a platform-independent encoding of the record to `out`. Two records
    /// are the same event exactly when their encodings are equal.
    fn stable_bytes(&self, out: &mut Vec<u8>);
}

/// The running hash of a log (FNV-1a over the records' stable encodings).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LogHash(pub u64);

impl fmt::Display for LogHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// An append-only sequence of `(time, record)` with a stable hash.
#[derive(Clone)]
pub struct EventLog<R> {
    records: Vec<(SimTime, R)>,
    hash: u64,
    scratch: Vec<u8>,
    keep_records: bool,
    appended: u64,
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

impl<R: Record> EventLog<R> {
    /// An empty log. With `keep_records` false only the hash and count are kept,
    /// for runs too large to hold every record in memory.
    pub fn new(keep_records: bool) -> Self {
        EventLog {
            records: Vec::new(),
            hash: FNV_OFFSET,
            scratch: Vec::new(),
            keep_records,
            appended: 0,
        }
    }

    /// Appends `record` at time `at`. Times never go backwards.
    pub fn append(&mut self, at: SimTime, record: R) {
        if let Some((last, _)) = self.records.last() {
            assert!(at >= *last, "log records must be appended in time order");
        }
        self.scratch.clear();
        self.scratch.extend_from_slice(&at.0.to_le_bytes());
        record.stable_bytes(&mut self.scratch);
        // Length-prefix each record so that concatenations cannot collide.
        let mut h = self.hash;
        for b in (self.scratch.len() as u64)
            .to_le_bytes()
            .iter()
            .chain(self.scratch.iter())
        {
            h ^= u64::from(*b);
            h = h.wrapping_mul(FNV_PRIME);
        }
        self.hash = h;
        self.appended += 1;
        if self.keep_records {
            self.records.push((at, record));
        }
    }

    /// The hash of everything appended so far.
    pub fn hash(&self) -> LogHash {
        LogHash(self.hash)
    }

    /// How many records were appended (kept or not).
    pub fn len(&self) -> u64 {
        self.appended
    }

    /// True when nothing was appended.
    pub fn is_empty(&self) -> bool {
        self.appended == 0
    }

    /// The kept records, oldest first.
    pub fn records(&self) -> &[(SimTime, R)] {
        &self.records
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct R(u32);
    impl Record for R {
        fn stable_bytes(&self, out: &mut Vec<u8>) {
            out.extend_from_slice(&self.0.to_le_bytes());
        }
    }

    #[test]
    fn hash_depends_on_content_order_and_time_not_on_keeping() {
        let build = |items: &[(u64, u32)], keep| {
            let mut log = EventLog::new(keep);
            for (t, v) in items {
                log.append(SimTime(*t), R(*v));
            }
            log.hash()
        };
        let a = build(&[(1, 1), (2, 2)], true);
        assert_eq!(a, build(&[(1, 1), (2, 2)], false));
        assert_ne!(a, build(&[(1, 2), (2, 1)], true));
        assert_ne!(a, build(&[(1, 1), (3, 2)], true));
    }
}
