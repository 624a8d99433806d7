//! `autoscaling/v2` HorizontalPodAutoscaler manifests into the model's HPA spec.

use k8s_openapi::api::autoscaling::v2::{HPAScalingRules, HorizontalPodAutoscaler};

use super::manifest::{parse_bytes, parse_cpu_millis};
use super::source::{Document, ScenarioError};
use crate::model::kube::hpa::{
    Behavior, HpaSpec, MetricSpec, MetricTarget, PolicyKind, ResourceName, ScalingPolicy,
    ScalingRules, SelectPolicy, validate,
};

/// An HPA read from a manifest.
#[derive(Clone, Debug)]
pub struct HpaDefinition {
    /// Its name.
    pub name: String,
    /// Its namespace.
    pub namespace: String,
    /// The Deployment it scales.
    pub target: String,
    /// The spec.
    pub spec: HpaSpec,
    /// True when the manifest sets `spec.behavior` (the controller then uses the
    /// behavior path; without it, the older rules apply).
    pub has_behavior: bool,
}

/// Converts a parsed HPA, checking what the API server would refuse.
pub fn hpa_definition(
    doc: &Document,
    h: HorizontalPodAutoscaler,
) -> Result<HpaDefinition, ScenarioError> {
    let (name, namespace) = super::manifest::name_and_namespace(doc, &h.metadata, "an HPA")?;
    let spec = h
        .spec
        .ok_or_else(|| doc.error("spec", "an HPA needs a spec"))?;
    let t = &spec.scale_target_ref;
    if t.kind != "Deployment" {
        return Err(doc.error(
            "spec.scaleTargetRef.kind",
            format!("the twin scales Deployments, not {}", t.kind),
        ));
    }
    let min = spec.min_replicas.unwrap_or(1);
    if min < 1 || spec.max_replicas < min {
        return Err(doc.error("spec.maxReplicas", "need 1 <= minReplicas <= maxReplicas"));
    }
    let mut metrics = Vec::new();
    for (i, m) in spec.metrics.iter().flatten().enumerate() {
        let p = format!("spec.metrics[{i}]");
        let Some(r) = m.resource.as_ref().filter(|_| m.type_ == "Resource") else {
            return Err(doc.error(&format!("{p}.type"), format!("metric type `{}` is not modelled (Resource cpu or memory only; virtual nodes serve only those)", m.type_)));
        };
        let resource = match r.name.as_str() {
            "cpu" => ResourceName::Cpu,
            "memory" => ResourceName::Memory,
            o => {
                return Err(doc.error(
                    &format!("{p}.resource.name"),
                    format!("unknown resource `{o}` (cpu or memory)"),
                ));
            }
        };
        let target = match r.target.type_.as_str() {
            "Utilization" => MetricTarget::Utilization(
                r.target.average_utilization.filter(|u| *u > 0).ok_or_else(|| doc.error(&format!("{p}.resource.target.averageUtilization"), "a Utilization target needs averageUtilization > 0"))?,
            ),
            "AverageValue" => {
                let q = r.target.average_value.as_ref().ok_or_else(|| doc.error(&format!("{p}.resource.target.averageValue"), "an AverageValue target needs averageValue"))?;
                let v = match resource {
                    ResourceName::Cpu => parse_cpu_millis(q).map(|v| v as f64),
                    ResourceName::Memory => parse_bytes(q).map(|v| v as f64),
                }
                .map_err(|e| doc.error(&format!("{p}.resource.target.averageValue"), e))?;
                MetricTarget::AverageValue(v)
            }
            o => return Err(doc.error(&format!("{p}.resource.target.type"), format!("target type `{o}` is not valid for a Resource metric (Utilization or AverageValue)"))),
        };
        metrics.push(MetricSpec { resource, target });
    }
    if metrics.is_empty() {
        // The API server defaults an HPA without metrics to 80 % CPU.
        metrics.push(MetricSpec {
            resource: ResourceName::Cpu,
            target: MetricTarget::Utilization(80),
        });
    }
    let mut behavior = Behavior::default();
    if let Some(b) = &spec.behavior {
        if let Some(up) = &b.scale_up {
            behavior.scale_up = rules(doc, "spec.behavior.scaleUp", up, behavior.scale_up)?;
        }
        if let Some(down) = &b.scale_down {
            behavior.scale_down = rules(doc, "spec.behavior.scaleDown", down, behavior.scale_down)?;
        }
    }
    let hpa_spec = HpaSpec {
        min_replicas: min,
        max_replicas: spec.max_replicas,
        metrics,
        behavior,
    };
    validate(&hpa_spec).map_err(|e| doc.error("spec", e.to_string()))?;
    Ok(HpaDefinition {
        name,
        namespace,
        target: t.name.clone(),
        spec: hpa_spec,
        has_behavior: spec.behavior.is_some(),
    })
}

/// Scaling rules with the API's field-by-field defaulting.
fn rules(
    doc: &Document,
    path: &str,
    r: &HPAScalingRules,
    default: ScalingRules,
) -> Result<ScalingRules, ScenarioError> {
    if r.tolerance.is_some() {
        return Err(doc.error(
            &format!("{path}.tolerance"),
            "the per-HPA tolerance (alpha, HPAConfigurableTolerance) is not modelled",
        ));
    }
    let select_policy = match r.select_policy.as_deref() {
        None => default.select_policy,
        Some("Max") => SelectPolicy::Max,
        Some("Min") => SelectPolicy::Min,
        Some("Disabled") => SelectPolicy::Disabled,
        Some(o) => {
            return Err(doc.error(
                &format!("{path}.selectPolicy"),
                format!("unknown selectPolicy `{o}` (Max, Min or Disabled)"),
            ));
        }
    };
    let policies = match &r.policies {
        None => default.policies,
        Some(list) => list
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let pp = format!("{path}.policies[{i}]");
                let kind = match p.type_.as_str() {
                    "Pods" => PolicyKind::Pods,
                    "Percent" => PolicyKind::Percent,
                    o => {
                        return Err(doc.error(
                            &format!("{pp}.type"),
                            format!("unknown policy type `{o}` (Pods or Percent)"),
                        ));
                    }
                };
                if p.value <= 0 {
                    return Err(doc.error(&format!("{pp}.value"), "value must be greater than 0"));
                }
                if !(1..=1800).contains(&p.period_seconds) {
                    return Err(doc.error(
                        &format!("{pp}.periodSeconds"),
                        "periodSeconds must be 1-1800",
                    ));
                }
                Ok(ScalingPolicy {
                    kind,
                    value: p.value,
                    period_seconds: p.period_seconds,
                })
            })
            .collect::<Result<Vec<_>, _>>()?,
    };
    let window = r
        .stabilization_window_seconds
        .unwrap_or(default.stabilization_window_seconds);
    if !(0..=3600).contains(&window) {
        return Err(doc.error(
            &format!("{path}.stabilizationWindowSeconds"),
            "stabilizationWindowSeconds must be 0-3600",
        ));
    }
    Ok(ScalingRules {
        stabilization_window_seconds: window,
        select_policy,
        policies,
    })
}
