//! Kubernetes networking manifests read for the traffic model: `v1` Services
//! (selector; `type: LoadBalancer` with the OKE load-balancer annotations,
//! docs/lb-facts.md) and `networking.k8s.io/v1` Ingresses (rules: host and
//! path to a backend Service), read with the k8s-openapi types.
//!
//! Only what decides where requests go is kept; ports are read but every
//! port of a Service reaches the same pods, so they do not change the model.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::networking::v1::Ingress;

use super::source::{Document, ScenarioError};
use crate::kernel::SimDuration;
use crate::model::lb::{HealthChecker, Shape};

/// Annotation prefix of the OCI cloud controller manager.
const PREFIX: &str = "service.beta.kubernetes.io/";

/// A `v1` Service.
#[derive(Clone, Debug)]
pub struct ServiceDef {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace` (default `default`).
    pub namespace: String,
    /// `spec.selector`.
    pub selector: BTreeMap<String, String>,
    /// The OCI load balancer, for `type: LoadBalancer`.
    pub load_balancer: Option<LbAnnotations>,
    /// Index of its document among the manifests.
    pub doc: usize,
}

/// What the OKE annotations of a `type: LoadBalancer` Service ask of the OCI
/// load balancer (defaults: shape `100Mbps`, health checker 10 s / 3 s / 3).
#[derive(Clone, Debug, PartialEq)]
pub struct LbAnnotations {
    /// `oci-load-balancer-shape` with `-shape-flex-min` / `-shape-flex-max`.
    pub shape: Shape,
    /// `oci-load-balancer-health-check-interval|timeout|retries`.
    pub health_check: HealthChecker,
}

/// One Ingress path: requests to `host` (any host when `None`) whose path
/// matches `path` go to Service `service`.
#[derive(Clone, Debug, PartialEq)]
pub struct IngressPath {
    /// `rules[].host`.
    pub host: Option<String>,
    /// `paths[].path`.
    pub path: String,
    /// `pathType: Exact` (otherwise a prefix by path elements).
    pub exact: bool,
    /// `backend.service.name`.
    pub service: String,
}

/// A `networking.k8s.io/v1` Ingress.
#[derive(Clone, Debug)]
pub struct IngressDef {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace` (default `default`).
    pub namespace: String,
    /// Its paths, in file order.
    pub paths: Vec<IngressPath>,
    /// `spec.defaultBackend.service.name`.
    pub default_backend: Option<String>,
}

/// The Services and Ingresses among the manifests.
#[derive(Clone, Debug, Default)]
pub struct Routing {
    /// Services, in file order.
    pub services: Vec<ServiceDef>,
    /// Ingresses, in file order.
    pub ingresses: Vec<IngressDef>,
}

/// Reads every Service and Ingress among `manifests`.
pub fn read_routing(manifests: &[Document]) -> Result<Routing, ScenarioError> {
    #[derive(serde::Deserialize)]
    struct Kind {
        #[serde(rename = "apiVersion")]
        api_version: Option<String>,
        kind: Option<String>,
    }
    let mut routing = Routing::default();
    for (i, doc) in manifests.iter().enumerate() {
        let Ok(k) = serde_saphyr::from_str::<Kind>(&doc.text) else {
            continue;
        };
        match (k.api_version.as_deref(), k.kind.as_deref()) {
            (Some("v1"), Some("Service")) => {
                routing.services.push(service_def(doc, i, doc.parse()?)?);
            }
            (Some("networking.k8s.io/v1"), Some("Ingress")) => {
                routing.ingresses.push(ingress_def(doc, doc.parse()?)?);
            }
            _ => {}
        }
    }
    Ok(routing)
}

fn service_def(doc: &Document, i: usize, s: Service) -> Result<ServiceDef, ScenarioError> {
    let (name, namespace) = super::manifest::name_and_namespace(doc, &s.metadata, "a Service")?;
    let spec = s.spec.unwrap_or_default();
    let selector: BTreeMap<String, String> =
        spec.selector.unwrap_or_default().into_iter().collect();
    let load_balancer = if spec.type_.as_deref() == Some("LoadBalancer") {
        let annotations = s.metadata.annotations.unwrap_or_default();
        Some(lb_annotations(doc, &annotations)?)
    } else {
        None
    };
    Ok(ServiceDef {
        name,
        namespace,
        selector,
        load_balancer,
        doc: i,
    })
}

/// The load balancer an OKE Service asks for through its annotations.
fn lb_annotations(
    doc: &Document,
    annotations: &BTreeMap<String, String>,
) -> Result<LbAnnotations, ScenarioError> {
    let get = |key: &str| {
        annotations
            .get(&format!("{PREFIX}{key}"))
            .map(String::as_str)
    };
    let field = |key: &str| format!("metadata.annotations.{PREFIX}{key}");
    let number = |key: &str| -> Result<Option<u32>, ScenarioError> {
        get(key)
            .map(|v| {
                v.trim().parse::<u32>().map_err(|_| {
                    doc.error(
                        &field(key),
                        format!("`{v}` is not a whole number (plain digits, no unit)"),
                    )
                })
            })
            .transpose()
    };
    let shape_name = get("oci-load-balancer-shape").unwrap_or("100Mbps");
    let details = match (
        number("oci-load-balancer-shape-flex-min")?,
        number("oci-load-balancer-shape-flex-max")?,
    ) {
        (Some(min), Some(max)) => Some((min, max)),
        (None, None) => None,
        _ => {
            return Err(doc.error(
                &field("oci-load-balancer-shape-flex-max"),
                "a flexible shape needs both oci-load-balancer-shape-flex-min and -flex-max",
            ));
        }
    };
    let shape = Shape::new(shape_name, details)
        .map_err(|e| doc.error(&field("oci-load-balancer-shape"), e.to_string()))?;
    let mut hc = HealthChecker::new("HTTP");
    if let Some(ms) = number("oci-load-balancer-health-check-interval")? {
        hc.interval = SimDuration::from_ms(u64::from(ms));
    }
    if let Some(ms) = number("oci-load-balancer-health-check-timeout")? {
        hc.timeout = SimDuration::from_ms(u64::from(ms));
    }
    if let Some(n) = number("oci-load-balancer-health-check-retries")? {
        hc.retries = n;
    }
    hc.validate().map_err(|e| {
        doc.error(
            &field("oci-load-balancer-health-check-interval"),
            e.to_string(),
        )
    })?;
    Ok(LbAnnotations {
        shape,
        health_check: hc,
    })
}

fn ingress_def(doc: &Document, ing: Ingress) -> Result<IngressDef, ScenarioError> {
    let (name, namespace) = super::manifest::name_and_namespace(doc, &ing.metadata, "an Ingress")?;
    let spec = ing.spec.unwrap_or_default();
    let backend_name = |b: &k8s_openapi::api::networking::v1::IngressBackend, at: &str| {
        b.service
            .as_ref()
            .map(|s| s.name.clone())
            .ok_or_else(|| doc.error(at, "only Service backends are modelled (not `resource`)"))
    };
    let default_backend = spec
        .default_backend
        .as_ref()
        .map(|b| backend_name(b, "spec.defaultBackend"))
        .transpose()?;
    let mut paths = Vec::new();
    for (r, rule) in spec.rules.unwrap_or_default().iter().enumerate() {
        let Some(http) = &rule.http else { continue };
        for (p, path) in http.paths.iter().enumerate() {
            let at = format!("spec.rules[{r}].http.paths[{p}]");
            let exact = match path.path_type.as_str() {
                "Exact" => true,
                "Prefix" | "ImplementationSpecific" => false,
                other => {
                    return Err(doc.error(
                        &format!("{at}.pathType"),
                        format!(
                            "pathType `{other}` is not Exact, Prefix or ImplementationSpecific"
                        ),
                    ));
                }
            };
            paths.push(IngressPath {
                host: rule.host.clone(),
                path: path.path.clone().unwrap_or_else(|| "/".into()),
                exact,
                service: backend_name(&path.backend, &format!("{at}.backend"))?,
            });
        }
    }
    Ok(IngressDef {
        name,
        namespace,
        paths,
        default_backend,
    })
}

impl IngressPath {
    /// Whether a request for `host` and `path` matches (Ingress semantics: a
    /// `*.` host matches exactly one more label; a prefix matches whole path
    /// elements, `/` matches everything).
    pub fn matches(&self, host: Option<&str>, path: &str) -> bool {
        let host_ok = match (&self.host, host) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(h), Some(want)) => match h.strip_prefix("*.") {
                Some(suffix) => want
                    .split_once('.')
                    .is_some_and(|(first, rest)| !first.is_empty() && rest == suffix),
                None => h == want,
            },
        };
        if !host_ok {
            return false;
        }
        if self.exact {
            return self.path == path;
        }
        let prefix = self.path.trim_end_matches('/');
        prefix.is_empty()
            || path == prefix
            || path
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with('/'))
    }
}

impl Routing {
    /// The backend Service (namespace, name) and the Ingress that route a
    /// request for `host` and `path`: the longest matching path wins, Exact
    /// before Prefix at equal length, then an Ingress's default backend.
    pub fn route(&self, host: Option<&str>, path: &str) -> Option<(&IngressDef, String)> {
        let mut best: Option<(&IngressDef, &IngressPath)> = None;
        for ing in &self.ingresses {
            for p in ing.paths.iter().filter(|p| p.matches(host, path)) {
                let better =
                    best.is_none_or(|(_, b)| (p.path.len(), p.exact) > (b.path.len(), b.exact));
                if better {
                    best = Some((ing, p));
                }
            }
        }
        if let Some((ing, p)) = best {
            return Some((ing, p.service.clone()));
        }
        self.ingresses
            .iter()
            .find_map(|i| i.default_backend.clone().map(|b| (i, b)))
    }

    /// The Service named `name` in `namespace`.
    pub fn service(&self, namespace: &str, name: &str) -> Option<&ServiceDef> {
        self.services
            .iter()
            .find(|s| s.namespace == namespace && s.name == name)
    }

    /// The Services of `type: LoadBalancer`.
    pub fn load_balancers(&self) -> impl Iterator<Item = &ServiceDef> {
        self.services.iter().filter(|s| s.load_balancer.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(host: Option<&str>, path: &str, exact: bool) -> IngressPath {
        IngressPath {
            host: host.map(String::from),
            path: path.into(),
            exact,
            service: "svc".into(),
        }
    }

    #[test]
    fn ingress_paths_match_by_host_and_path_elements() {
        let p = path(Some("shop.example.com"), "/cart", false);
        assert!(p.matches(Some("shop.example.com"), "/cart"));
        assert!(p.matches(Some("shop.example.com"), "/cart/items"));
        assert!(!p.matches(Some("shop.example.com"), "/cartoon"));
        assert!(!p.matches(Some("api.example.com"), "/cart"));
        assert!(!p.matches(None, "/cart"));
        let w = path(Some("*.example.com"), "/", false);
        assert!(w.matches(Some("a.example.com"), "/x"));
        assert!(!w.matches(Some("a.b.example.com"), "/x"));
        assert!(!w.matches(Some("example.com"), "/x"));
        let e = path(None, "/healthz", true);
        assert!(e.matches(Some("any"), "/healthz") && !e.matches(None, "/healthz/x"));
    }

    #[test]
    fn the_longest_path_wins_then_the_default_backend() {
        let mut r = Routing::default();
        let mut a = path(None, "/", false);
        a.service = "web".into();
        let mut b = path(None, "/api", false);
        b.service = "api".into();
        r.ingresses.push(IngressDef {
            name: "i".into(),
            namespace: "default".into(),
            paths: vec![a, b],
            default_backend: None,
        });
        assert_eq!(r.route(None, "/api/v1").unwrap().1, "api");
        assert_eq!(r.route(None, "/shop").unwrap().1, "web");
        r.ingresses[0].paths.clear();
        assert!(r.route(None, "/").is_none());
        r.ingresses[0].default_backend = Some("fallback".into());
        assert_eq!(r.route(None, "/x").unwrap().1, "fallback");
    }
}
