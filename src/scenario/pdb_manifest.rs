//! `policy/v1` PodDisruptionBudget manifests into the world's budgets, with
//! the API server's validation (`ValidatePodDisruptionBudgetSpec`).

use k8s_openapi::api::policy::v1::PodDisruptionBudget;

use super::manifest::{int_or_percent, label_selector};
use super::source::{Document, ScenarioError};
use crate::model::kube::disruption::{PdbSpec, PdbSpecError, UnhealthyPodEvictionPolicy};
use crate::sim::world::PdbRuntime;

/// Converts a parsed budget, refusing what the API server refuses.
pub fn pdb_definition(doc: &Document, p: PodDisruptionBudget) -> Result<PdbRuntime, ScenarioError> {
    let (name, namespace) =
        super::manifest::name_and_namespace(doc, &p.metadata, "a PodDisruptionBudget")?;
    let spec = p.spec.unwrap_or_default();
    let min = spec
        .min_available
        .as_ref()
        .map(|v| int_or_percent(doc, "spec.minAvailable", v))
        .transpose()?;
    let max = spec
        .max_unavailable
        .as_ref()
        .map(|v| int_or_percent(doc, "spec.maxUnavailable", v))
        .transpose()?;
    let policy = match spec.unhealthy_pod_eviction_policy.as_deref() {
        None | Some("IfHealthyBudget") => UnhealthyPodEvictionPolicy::IfHealthyBudget,
        Some("AlwaysAllow") => UnhealthyPodEvictionPolicy::AlwaysAllow,
        Some(o) => {
            return Err(doc.error(
                "spec.unhealthyPodEvictionPolicy",
                format!("Unsupported value: \"{o}\": supported values: \"AlwaysAllow\", \"IfHealthyBudget\""),
            ));
        }
    };
    let spec_checked = PdbSpec::new(min, max, policy).map_err(|e| {
        let field = match e {
            PdbSpecError::BothSet => "spec",
            PdbSpecError::Negative(f) | PdbSpecError::Over100(f) => {
                if f == "minAvailable" {
                    "spec.minAvailable"
                } else {
                    "spec.maxUnavailable"
                }
            }
        };
        let msg = e.to_string();
        let message = msg
            .split_once(": ")
            .map_or(msg.as_str(), |(_, m)| m)
            .to_string();
        doc.error(field, message)
    })?;
    // policy/v1: a null selector selects no pod, an empty one every pod of
    // the namespace.
    let selector = spec
        .selector
        .as_ref()
        .map(|s| label_selector(doc, "spec.selector", s))
        .transpose()?;
    Ok(PdbRuntime {
        name,
        namespace,
        selector,
        spec: spec_checked,
    })
}
