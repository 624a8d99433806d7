//! ocisim: a deterministic digital twin of Oracle Cloud Infrastructure.
//!
//! Layers, dependencies pointing one way only (see ARCHITECTURE.md):
//! [`kernel`] (virtual time, seeded randomness, event queue and log) →
//! [`model`] (topology, networks, OKE, Kubernetes) → [`sim`] (the world that
//! plays events against the models) → [`scenario`] (files, reports) and the CLI.

pub mod api;
pub mod kernel;
pub mod model;
pub mod scenario;
pub mod sim;
