//! The simulation: one world holding every model, driven by the kernel's event
//! queue in virtual time.
//!
//! The world plays the control loops of OKE and Kubernetes (ReplicaSet
//! controller, scheduler, node lifecycle controller, taint-based eviction) and
//! the failures of the timeline. It must never read the wall clock or OS
//! randomness, and every state change it makes is appended to the event log.

pub mod autoscaler;
pub mod config;
pub mod eso;
pub mod log;
pub mod metrics;
pub mod traffic;
pub mod wiring;
pub mod world;

pub use config::{SimConfig, StartupLatency};
pub use world::{Action, FailureScope, Observer, World};
