//! The cloud models: plain Rust state with `&mut self` methods and typed errors.
//!
//! Models know nothing of HTTP, JSON or scenario files, and never read the wall
//! clock or OS randomness: time and random streams are handed in by the caller.

pub mod artifacts;
pub mod cidr;
pub mod iam;
pub mod identity;
pub mod kube;
pub mod lb;
pub mod load;
pub mod mysql;
pub mod network;
pub mod ocid;
pub mod oke;
pub mod pricing;
pub mod queueing;
pub mod reachability;
pub mod topology;
pub mod vault;
