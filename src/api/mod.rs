//! The fake OCI REST API (`ocisim serve`).
pub mod auth;
