//! Kubernetes manifests: `apps/v1` Deployments read with the ecosystem's
//! Kubernetes types and converted into the model's pod templates, with the
//! virtual-node rules checked on the way.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;

use super::hpa_manifest::{HpaDefinition, hpa_definition};
use k8s_openapi::api::core::v1::{
    Affinity, PodSpec, ResourceRequirements, TopologySpreadConstraint,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector as K8sSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::Deserialize;

use super::source::{Document, ScenarioError};
use crate::model::kube::deployment::{IntOrPercent, Strategy};
use crate::model::kube::pod::{
    ContainerResources, InclusionPolicy, PodTemplate, SpreadConstraint, WhenUnsatisfiable,
};
use crate::model::kube::selector::{
    LabelSelector, NodeSelectorTerm, Operator, Requirement, TaintEffect, Toleration,
};
use crate::model::oke::rules::{PodFeatures, check_pod, check_workload_kind};
use crate::sim::world::DeploymentSpec;

/// The most replicas one Deployment may ask for (a limit against runaway files).
pub const MAX_REPLICAS: u32 = 1_000_000;

/// The `apiVersion` and `kind` of a manifest, read first to pick the type.
#[derive(Debug, Deserialize)]
struct TypeMeta {
    #[serde(rename = "apiVersion")]
    api_version: Option<String>,
    kind: Option<String>,
}

/// A manifest the twin acts on.
#[derive(Clone, Debug)]
pub enum Manifest {
    /// An `apps/v1` Deployment.
    Deployment(Box<DeploymentSpec>),
    /// An `autoscaling/v2` HorizontalPodAutoscaler.
    Hpa(Box<HpaDefinition>),
    /// A `policy/v1` PodDisruptionBudget.
    Pdb(Box<crate::sim::world::PdbRuntime>),
}

/// Reads one manifest document. `None` for kinds the twin accepts but does not model.
pub fn read_manifest(doc: &Document) -> Result<Option<Manifest>, ScenarioError> {
    let meta: TypeMeta = serde_saphyr::from_str(&doc.text).map_err(|e| {
        doc.error(
            "",
            format!(
                "not a Kubernetes manifest: {}",
                e.to_string().lines().next().unwrap_or("")
            ),
        )
    })?;
    let kind = meta
        .kind
        .ok_or_else(|| doc.error("kind", "a Kubernetes manifest needs `kind`"))?;
    let api = meta.api_version.unwrap_or_default();
    if let Some(v) = check_workload_kind(&kind) {
        return Err(doc.error("kind", v.to_string()));
    }
    match (api.as_str(), kind.as_str()) {
        ("apps/v1", "Deployment") => {
            let d: Deployment = doc.parse()?;
            deployment_spec(doc, d).map(|d| Some(Manifest::Deployment(Box::new(d))))
        }
        ("autoscaling/v2", "HorizontalPodAutoscaler") => {
            let h: HorizontalPodAutoscaler = doc.parse()?;
            hpa_definition(doc, h).map(|h| Some(Manifest::Hpa(Box::new(h))))
        }
        ("policy/v1", "PodDisruptionBudget") => {
            let p: PodDisruptionBudget = doc.parse()?;
            super::pdb_manifest::pdb_definition(doc, p).map(|p| Some(Manifest::Pdb(Box::new(p))))
        }
        ("v1", "Namespace") | ("v1", "ServiceAccount") | ("v1", "ConfigMap") => Ok(None),
        // Read by `service_manifest.rs` (where requests go).
        ("v1", "Service") | ("networking.k8s.io/v1", "Ingress") => Ok(None),
        // Read by `wiring.rs` (the External Secrets controller's objects).
        ("external-secrets.io/v1" | "external-secrets.io/v1beta1", "SecretStore" | "ExternalSecret") => {
            Ok(None)
        }
        _ => Err(doc.error(
            "kind",
            format!("{api} {kind} is not modelled yet (supported: apps/v1 Deployment; autoscaling/v2 HorizontalPodAutoscaler; policy/v1 PodDisruptionBudget; v1 Namespace, ServiceAccount, ConfigMap, Service; networking.k8s.io/v1 Ingress; external-secrets.io/v1 SecretStore, ExternalSecret)"),
        )),
    }
}

/// A manifest's name (required; the error names `what`, e.g. "a Service") and
/// namespace (`default` when unset), as the API server reads them.
pub(super) fn name_and_namespace(
    doc: &Document,
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    what: &str,
) -> Result<(String, String), ScenarioError> {
    let name = meta
        .name
        .clone()
        .ok_or_else(|| doc.error("metadata.name", format!("{what} needs a name")))?;
    let namespace = meta.namespace.clone().unwrap_or_else(|| "default".into());
    Ok((name, namespace))
}

fn deployment_spec(doc: &Document, d: Deployment) -> Result<DeploymentSpec, ScenarioError> {
    let (name, namespace) = super::manifest::name_and_namespace(doc, &d.metadata, "a Deployment")?;
    let spec = d
        .spec
        .ok_or_else(|| doc.error("spec", "a Deployment needs a spec"))?;
    let replicas = spec.replicas.unwrap_or(1);
    if !(0..=MAX_REPLICAS as i32).contains(&replicas) {
        return Err(doc.error(
            "spec.replicas",
            format!("replicas must be between 0 and {MAX_REPLICAS}"),
        ));
    }
    let selector = label_selector(doc, "spec.selector", &spec.selector)?;
    let tmpl_meta = spec.template.metadata.clone().unwrap_or_default();
    let labels: BTreeMap<String, String> =
        tmpl_meta.labels.unwrap_or_default().into_iter().collect();
    if selector.match_labels.is_empty() && selector.match_expressions.is_empty() {
        return Err(doc.error("spec.selector", "a Deployment's selector must not be empty"));
    }
    if !selector.matches(&labels) {
        return Err(doc.error(
            "spec.template.metadata.labels",
            "`selector` does not match template `labels` (the API server rejects this)",
        ));
    }
    let pod = spec
        .template
        .spec
        .clone()
        .ok_or_else(|| doc.error("spec.template.spec", "a pod template needs a spec"))?;
    let violations = check_pod(&features(&pod));
    if !violations.is_empty() {
        let list: Vec<String> = violations.iter().map(ToString::to_string).collect();
        return Err(doc.error(
            "spec.template.spec",
            format!("cannot run on virtual nodes: {}", list.join("; ")),
        ));
    }
    let template = pod_template(doc, &namespace, labels, &pod)?;
    let strategy = deployment_strategy(doc, spec.strategy.as_ref())?;
    let min_ready_seconds = spec.min_ready_seconds.unwrap_or(0);
    if min_ready_seconds < 0 {
        return Err(doc.error("spec.minReadySeconds", "must be greater than or equal to 0"));
    }
    // A stable stand-in for kube's pod-template-hash: FNV-1a of the template's JSON,
    // encoded with the same 27-character alphabet as SafeEncodeString.
    let json = serde_json::to_vec(&spec.template).expect("k8s types serialize");
    let template_hash = safe_encode(crate::kernel::rng::fnv1a64(&json) as u32);
    Ok(DeploymentSpec {
        name,
        namespace,
        replicas: replicas as u32,
        selector,
        template,
        template_hash,
        strategy,
        min_ready_seconds: min_ready_seconds as u32,
    })
}

/// `spec.strategy` with the API server's defaults (RollingUpdate, 25 % /
/// 25 %) and validation.
fn deployment_strategy(
    doc: &Document,
    s: Option<&k8s_openapi::api::apps::v1::DeploymentStrategy>,
) -> Result<Strategy, ScenarioError> {
    let kind = s
        .and_then(|s| s.type_.as_deref())
        .unwrap_or("RollingUpdate");
    let rolling = s.and_then(|s| s.rolling_update.as_ref());
    let strategy = match kind {
        "Recreate" => {
            if rolling.is_some() {
                return Err(doc.error(
                    "spec.strategy.rollingUpdate",
                    "may not be specified when strategy `type` is 'Recreate'",
                ));
            }
            Strategy::Recreate
        }
        "RollingUpdate" => {
            let field =
                |v: Option<&IntOrString>, name: &str| -> Result<IntOrPercent, ScenarioError> {
                    match v {
                        None => Ok(IntOrPercent::Percent(25)),
                        Some(v) => {
                            int_or_percent(doc, &format!("spec.strategy.rollingUpdate.{name}"), v)
                        }
                    }
                };
            Strategy::RollingUpdate {
                max_surge: field(rolling.and_then(|r| r.max_surge.as_ref()), "maxSurge")?,
                max_unavailable: field(
                    rolling.and_then(|r| r.max_unavailable.as_ref()),
                    "maxUnavailable",
                )?,
            }
        }
        other => {
            return Err(doc.error(
                "spec.strategy.type",
                format!("Unsupported value: \"{other}\": supported values: \"Recreate\", \"RollingUpdate\""),
            ));
        }
    };
    strategy.validate().map_err(|e| {
        let msg = e.to_string();
        let (field, message) = msg.split_once(": ").unwrap_or(("spec.strategy", &msg));
        doc.error(field, message.to_string())
    })?;
    Ok(strategy)
}

/// An `IntOrString` that must be a count or a percentage (`5`, `'20%'`).
pub(super) fn int_or_percent(
    doc: &Document,
    path: &str,
    v: &IntOrString,
) -> Result<IntOrPercent, ScenarioError> {
    match v {
        IntOrString::Int(i) => Ok(IntOrPercent::Int(*i)),
        IntOrString::String(t) => t
            .strip_suffix('%')
            .and_then(|p| p.parse().ok())
            .map(IntOrPercent::Percent)
            .ok_or_else(|| {
                doc.error(
                    path,
                    format!("`{t}`: must be an integer or percentage (e.g. '5%')"),
                )
            }),
    }
}

fn safe_encode(v: u32) -> String {
    const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    v.to_string()
        .bytes()
        .map(|c| ALPHANUMS[usize::from(c) % ALPHANUMS.len()] as char)
        .collect()
}

fn features(p: &PodSpec) -> PodFeatures {
    let containers = &p.containers;
    let mut f = PodFeatures {
        host_network: p.host_network.unwrap_or(false),
        host_pid: p.host_pid.unwrap_or(false),
        host_ipc: p.host_ipc.unwrap_or(false),
        init_containers: p
            .init_containers
            .iter()
            .flatten()
            .map(|c| c.name.clone())
            .collect(),
        ephemeral_containers: p
            .ephemeral_containers
            .iter()
            .flatten()
            .map(|c| c.name.clone())
            .collect(),
        termination_grace_period: p.termination_grace_period_seconds.is_some(),
        ..Default::default()
    };
    for c in containers {
        let sc = c.security_context.as_ref();
        if sc.and_then(|s| s.privileged).unwrap_or(false) {
            f.privileged_containers.push(c.name.clone());
        }
        if sc
            .and_then(|s| s.allow_privilege_escalation)
            .unwrap_or(false)
        {
            f.privilege_escalation_containers.push(c.name.clone());
        }
        for port in c.ports.iter().flatten() {
            if let Some(hp) = port.host_port {
                f.host_ports.push((c.name.clone(), hp));
            }
            if (30000..=32767).contains(&port.container_port) {
                f.node_port_range_ports
                    .push((c.name.clone(), port.container_port));
            }
        }
    }
    for v in p.volumes.iter().flatten() {
        let kind = if v.empty_dir.is_some() {
            f.empty_dir_count += 1;
            None
        } else if v.config_map.is_some() || v.secret.is_some() || v.projected.is_some() {
            None
        } else if v.host_path.is_some() {
            Some("hostPath")
        } else if v.persistent_volume_claim.is_some() {
            Some("persistentVolumeClaim")
        } else if v.nfs.is_some() {
            Some("nfs")
        } else if v.iscsi.is_some() {
            Some("iscsi")
        } else if v.cephfs.is_some() {
            Some("cephfs")
        } else if v.downward_api.is_some() {
            None
        } else {
            Some("this kind of")
        };
        if let Some(k) = kind {
            f.unsupported_volumes.push((v.name.clone(), k.to_string()));
        }
    }
    if let Some(sc) = &p.security_context {
        for (set, name) in [
            (sc.fs_group.is_some(), "fsGroup"),
            (sc.fs_group_change_policy.is_some(), "fsGroupChangePolicy"),
            (sc.supplemental_groups.is_some(), "supplementalGroups"),
            (sc.se_linux_options.is_some(), "seLinuxOptions"),
            (sc.sysctls.is_some(), "sysctls"),
            (sc.seccomp_profile.is_some(), "seccompProfile"),
        ] {
            if set {
                f.unsupported_pod_security.push(name.to_string());
            }
        }
    }
    f
}

fn pod_template(
    doc: &Document,
    namespace: &str,
    labels: BTreeMap<String, String>,
    p: &PodSpec,
) -> Result<PodTemplate, ScenarioError> {
    let base = "spec.template.spec";
    let containers = p
        .containers
        .iter()
        .enumerate()
        .map(|(i, c)| {
            container_resources(
                doc,
                &format!("{base}.containers[{i}].resources"),
                &c.name,
                c.resources.as_ref(),
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    if containers.is_empty() {
        return Err(doc.error(
            &format!("{base}.containers"),
            "a pod needs at least one container",
        ));
    }
    let (required, preferred) = node_affinity(doc, base, p.affinity.as_ref())?;
    let tolerations = p
        .tolerations
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, t)| {
            let path = format!("{base}.tolerations[{i}]");
            let effect = match t.effect.as_deref() {
                None | Some("") => None,
                Some(e) => Some(TaintEffect::parse(e).ok_or_else(|| {
                    doc.error(
                        &format!("{path}.effect"),
                        format!("unknown taint effect `{e}`"),
                    )
                })?),
            };
            let exists = match t.operator.as_deref() {
                None | Some("Equal") => false,
                Some("Exists") => true,
                Some(o) => {
                    return Err(doc.error(
                        &format!("{path}.operator"),
                        format!("unknown toleration operator `{o}` (Equal or Exists)"),
                    ));
                }
            };
            Ok(Toleration {
                key: t.key.clone().unwrap_or_default(),
                exists,
                value: t.value.clone().unwrap_or_default(),
                effect,
                toleration_seconds: t.toleration_seconds,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let topology_spread = p
        .topology_spread_constraints
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, c)| spread_constraint(doc, &format!("{base}.topologySpreadConstraints[{i}]"), c))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(PodTemplate {
        namespace: namespace.to_string(),
        labels,
        containers,
        node_selector: p
            .node_selector
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect(),
        required_node_affinity: required,
        preferred_node_affinity: preferred,
        tolerations,
        topology_spread,
        service_account: p
            .service_account_name
            .clone()
            .unwrap_or_else(|| "default".into()),
        size: None,
    })
}

fn container_resources(
    doc: &Document,
    path: &str,
    name: &str,
    r: Option<&ResourceRequirements>,
) -> Result<ContainerResources, ScenarioError> {
    let get = |which: &str, res: &str| -> Result<Option<u64>, ScenarioError> {
        let map = r.and_then(|r| {
            if which == "requests" {
                r.requests.as_ref()
            } else {
                r.limits.as_ref()
            }
        });
        match map.and_then(|m| m.get(res)) {
            None => Ok(None),
            Some(q) => {
                let p = format!("{path}.{which}.{res}");
                let parsed = if res == "cpu" {
                    parse_cpu_millis(q)
                } else {
                    parse_bytes(q)
                };
                parsed.map(Some).map_err(|e| doc.error(&p, e))
            }
        }
    };
    Ok(ContainerResources {
        name: name.to_string(),
        cpu_request_m: get("requests", "cpu")?,
        cpu_limit_m: get("limits", "cpu")?,
        memory_request: get("requests", "memory")?,
        memory_limit: get("limits", "memory")?,
    })
}

/// Parses a Kubernetes quantity into a float of base units.
fn quantity_value(q: &str) -> Result<f64, String> {
    let s = q.trim();
    let bad = || format!("`{q}` is not a Kubernetes quantity (e.g. 500m, 2, 512Mi, 1Gi)");
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(s.len());
    let (num, suffix) = s.split_at(split);
    let n: f64 = num.parse().map_err(|_| bad())?;
    let mult = match suffix {
        "" => 1.0,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "Ki" => 1024.0,
        "Mi" => 1024.0f64.powi(2),
        "Gi" => 1024.0f64.powi(3),
        "Ti" => 1024.0f64.powi(4),
        "Pi" => 1024.0f64.powi(5),
        e if e.starts_with(['e', 'E']) => 10f64.powi(e[1..].parse::<i32>().map_err(|_| bad())?),
        _ => return Err(bad()),
    };
    let v = n * mult;
    if !v.is_finite() || v < 0.0 {
        return Err(format!("`{q}` must be a non-negative quantity"));
    }
    Ok(v)
}

/// CPU quantity in millicores (rounded up, as Kubernetes does for sub-milli values).
pub fn parse_cpu_millis(q: &Quantity) -> Result<u64, String> {
    quantity_value(&q.0).map(|v| (v * 1000.0 - 1e-9).ceil().max(0.0) as u64)
}

/// Memory quantity in bytes.
pub fn parse_bytes(q: &Quantity) -> Result<u64, String> {
    quantity_value(&q.0).map(|v| v.ceil() as u64)
}

/// A `metav1.LabelSelector` with the API's operators checked.
pub(super) fn label_selector(
    doc: &Document,
    path: &str,
    s: &K8sSelector,
) -> Result<LabelSelector, ScenarioError> {
    let match_expressions = s
        .match_expressions
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, e)| {
            let op = Operator::parse(&e.operator)
                .filter(|o| {
                    matches!(
                        o,
                        Operator::In | Operator::NotIn | Operator::Exists | Operator::DoesNotExist
                    )
                })
                .ok_or_else(|| {
                    doc.error(
                        &format!("{path}.matchExpressions[{i}].operator"),
                        format!("unknown operator `{}`", e.operator),
                    )
                })?;
            Ok(Requirement {
                key: e.key.clone(),
                operator: op,
                values: e.values.clone().unwrap_or_default(),
            })
        })
        .collect::<Result<Vec<_>, ScenarioError>>()?;
    Ok(LabelSelector {
        match_labels: s
            .match_labels
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect(),
        match_expressions,
    })
}

type Affinities = (Vec<NodeSelectorTerm>, Vec<(i32, NodeSelectorTerm)>);

fn node_affinity(
    doc: &Document,
    base: &str,
    a: Option<&Affinity>,
) -> Result<Affinities, ScenarioError> {
    let Some(na) = a.and_then(|a| a.node_affinity.as_ref()) else {
        return Ok((Vec::new(), Vec::new()));
    };
    let path = format!("{base}.affinity.nodeAffinity");
    let term = |p: &str,
                t: &k8s_openapi::api::core::v1::NodeSelectorTerm|
     -> Result<NodeSelectorTerm, ScenarioError> {
        let reqs = |list: &Option<Vec<k8s_openapi::api::core::v1::NodeSelectorRequirement>>,
                    field: &str| {
            list.iter()
                .flatten()
                .enumerate()
                .map(|(i, r)| {
                    let op = Operator::parse(&r.operator).ok_or_else(|| {
                        doc.error(
                            &format!("{p}.{field}[{i}].operator"),
                            format!("unknown operator `{}`", r.operator),
                        )
                    })?;
                    Ok(Requirement {
                        key: r.key.clone(),
                        operator: op,
                        values: r.values.clone().unwrap_or_default(),
                    })
                })
                .collect::<Result<Vec<_>, ScenarioError>>()
        };
        Ok(NodeSelectorTerm {
            match_expressions: reqs(&t.match_expressions, "matchExpressions")?,
            match_fields: reqs(&t.match_fields, "matchFields")?,
        })
    };
    let required = match &na.required_during_scheduling_ignored_during_execution {
        None => Vec::new(),
        Some(ns) => ns
            .node_selector_terms
            .iter()
            .enumerate()
            .map(|(i, t)| term(&format!("{path}.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[{i}]"), t))
            .collect::<Result<_, _>>()?,
    };
    let preferred = na
        .preferred_during_scheduling_ignored_during_execution
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, p)| {
            let pp = format!("{path}.preferredDuringSchedulingIgnoredDuringExecution[{i}]");
            if !(1..=100).contains(&p.weight) {
                return Err(doc.error(&format!("{pp}.weight"), "weight must be in 1-100"));
            }
            Ok((p.weight, term(&format!("{pp}.preference"), &p.preference)?))
        })
        .collect::<Result<_, _>>()?;
    Ok((required, preferred))
}

fn spread_constraint(
    doc: &Document,
    path: &str,
    c: &TopologySpreadConstraint,
) -> Result<SpreadConstraint, ScenarioError> {
    if c.max_skew <= 0 {
        return Err(doc.error(&format!("{path}.maxSkew"), "maxSkew must be greater than 0"));
    }
    let when = match c.when_unsatisfiable.as_str() {
        "DoNotSchedule" => WhenUnsatisfiable::DoNotSchedule,
        "ScheduleAnyway" => WhenUnsatisfiable::ScheduleAnyway,
        other => {
            return Err(doc.error(
                &format!("{path}.whenUnsatisfiable"),
                format!("unknown value `{other}` (DoNotSchedule or ScheduleAnyway)"),
            ));
        }
    };
    let policy = |v: &Option<String>, field: &str, default: InclusionPolicy| match v.as_deref() {
        None => Ok(default),
        Some("Honor") => Ok(InclusionPolicy::Honor),
        Some("Ignore") => Ok(InclusionPolicy::Ignore),
        Some(o) => Err(doc.error(
            &format!("{path}.{field}"),
            format!("unknown policy `{o}` (Honor or Ignore)"),
        )),
    };
    if let Some(m) = c.min_domains {
        if m <= 0 {
            return Err(doc.error(
                &format!("{path}.minDomains"),
                "minDomains must be greater than 0",
            ));
        }
        if when != WhenUnsatisfiable::DoNotSchedule {
            return Err(doc.error(
                &format!("{path}.minDomains"),
                "minDomains can only be used with whenUnsatisfiable: DoNotSchedule",
            ));
        }
    }
    if c.topology_key.is_empty() {
        return Err(doc.error(
            &format!("{path}.topologyKey"),
            "topologyKey must not be empty",
        ));
    }
    let selector = c
        .label_selector
        .as_ref()
        .map(|s| label_selector(doc, &format!("{path}.labelSelector"), s))
        .transpose()?;
    Ok(SpreadConstraint {
        max_skew: c.max_skew as u32,
        topology_key: c.topology_key.clone(),
        when_unsatisfiable: when,
        selector,
        min_domains: c.min_domains.map(|m| m as u32),
        node_affinity_policy: policy(
            &c.node_affinity_policy,
            "nodeAffinityPolicy",
            InclusionPolicy::Honor,
        )?,
        node_taints_policy: policy(
            &c.node_taints_policy,
            "nodeTaintsPolicy",
            InclusionPolicy::Ignore,
        )?,
        match_label_keys: c.match_label_keys.clone().unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        assert_eq!(parse_cpu_millis(&Quantity("500m".into())), Ok(500));
        assert_eq!(parse_cpu_millis(&Quantity("2".into())), Ok(2000));
        assert_eq!(parse_cpu_millis(&Quantity("0.25".into())), Ok(250));
        assert_eq!(parse_bytes(&Quantity("512Mi".into())), Ok(512 << 20));
        assert_eq!(parse_bytes(&Quantity("1G".into())), Ok(1_000_000_000));
        assert_eq!(parse_bytes(&Quantity("1e3".into())), Ok(1000));
        assert!(parse_bytes(&Quantity("lots".into())).is_err());
    }
}
