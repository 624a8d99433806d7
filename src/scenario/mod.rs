pub mod analyze;
pub mod file;
pub mod hpa_manifest;
pub mod manifest;
pub mod plan;
pub mod report;
pub mod run;
pub mod source;
