//! The Kubernetes side of an OKE cluster: nodes, pods, ReplicaSets, the
//! scheduler and the node lifecycle rules.

pub mod cluster;
pub mod deployment;
pub mod disruption;
pub mod hpa;
pub mod lifecycle;
pub mod pod;
pub mod scheduler;
pub mod selector;
