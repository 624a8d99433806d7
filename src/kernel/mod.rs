//! The deterministic kernel: virtual time, the ordered event queue, seeded
//! random streams and the append-only event log.
//!
//! Everything above this layer moves forward only through [`EventQueue`] and
//! draws randomness only from a [`RandomStream`] forked off the one master seed.
//! The kernel must never read the wall clock, use OS randomness or iterate an
//! unordered collection: two runs with the same seed produce the same log.

pub mod log;
pub mod queue;
pub mod rng;
pub mod time;

pub use log::{EventLog, LogHash};
pub use queue::EventQueue;
pub use rng::{RandomStream, SeedTree};
pub use time::{SimDuration, SimTime};
