//! The scenario's `load:` entries turned into the loads the metrics pipeline
//! serves: straight to a Deployment behind a load balancer, or to an Ingress
//! host and path through the `type: LoadBalancer` Service's load balancer and
//! the ingress controller it fronts (the Service's pods), then the Ingress
//! rule's backend Service to the app's pods.

use std::collections::{BTreeMap, BTreeSet};

use super::super::file::{self, DurationText};
use super::super::manifest::parse_bytes;
use super::super::service_manifest::{LbAnnotations, Routing, ServiceDef, read_routing};
use super::super::source::{Document, ScenarioError};
use super::Builder;
use crate::kernel::SimDuration;
use crate::model::lb::{HealthChecker, MIN_BANDWIDTH_MBPS, Shape};
use crate::model::queueing::ServiceDist;
use crate::sim::World;
use crate::sim::metrics::WorkloadLoad;
use crate::sim::traffic::ServiceModel;
use crate::sim::world::DeploymentSpec;

/// Average request plus response size when none is given, bytes.
const DEFAULT_BYTES_PER_REQUEST: u64 = 10_240;

/// Where one `load` entry's requests go.
struct Target {
    /// The Deployment that serves them in the end.
    deployment: String,
    /// Through this ingress controller Deployment and its load balancer.
    ingress: Option<(String, LbAnnotations)>,
}

/// The queue of one tier: mean service time, distribution, concurrency.
struct Serving<'a> {
    service_time: &'a Option<DurationText>,
    distribution: &'a Option<file::ServiceDistributionFile>,
    concurrency: Option<u32>,
}

impl Builder<'_> {
    pub(super) fn build_loads(
        &self,
        world: &mut World,
        deployments: &BTreeMap<String, DeploymentSpec>,
        manifests: &[Document],
        duration: SimDuration,
    ) -> Result<(), ScenarioError> {
        let routing = read_routing(manifests)?;
        let mut seen = BTreeSet::new();
        // The ingress controller's load, once a load goes through it.
        let mut controller: Option<usize> = None;
        for (i, l) in self.sf.load.iter().enumerate() {
            let p = format!("load[{i}]");
            let target = self.target(&p, l, &routing, deployments)?;
            for (name, field) in std::iter::once((&target.deployment, "deployment"))
                .chain(target.ingress.as_ref().map(|(c, _)| (c, "ingress")))
            {
                if field == "ingress" && controller.is_some() {
                    continue;
                }
                if !seen.insert(name.clone()) {
                    return Err(self.err(
                        &format!("{p}.{field}"),
                        format!("Deployment `{name}` already has a load"),
                    ));
                }
            }
            let cpu = self.dur(&format!("{p}.cpu_per_request"), &l.cpu_per_request)?;
            let memory_per_pod = match &l.memory_per_pod {
                None => None,
                Some(q) => Some(
                    parse_bytes(&k8s_openapi::apimachinery::pkg::api::resource::Quantity(
                        q.clone(),
                    ))
                    .map_err(|e| self.err(&format!("{p}.memory_per_pod"), e))?,
                ),
            };
            let profile = self.profile(&format!("{p}.profile"), &l.profile, duration)?;
            let d = &deployments[&target.deployment];
            let mut service = self.service_model(&p, l, cpu, d)?;
            let Some((ctrl_name, lb)) = &target.ingress else {
                world.add_load(WorkloadLoad::new(
                    target.deployment,
                    profile,
                    cpu.as_ms() as f64,
                    memory_per_pod,
                    service,
                ));
                continue;
            };
            if l.load_balancer.is_some() {
                return Err(self.err(
                    &format!("{p}.load_balancer"),
                    "a load through an ingress gets its load balancer from the `type: LoadBalancer` Service's annotations",
                ));
            }
            // Behind the ingress controller the app's pods are the Service's
            // endpoints: no load balancer, no health checker of its own.
            service.lb_max_rps = None;
            service.health_check = None;
            let ctrl = match controller {
                Some(c) => c,
                None => {
                    let c = self.controller_load(world, ctrl_name, lb, &deployments[ctrl_name])?;
                    controller = Some(c);
                    c
                }
            };
            let mut load = WorkloadLoad::new(
                target.deployment,
                profile,
                cpu.as_ms() as f64,
                memory_per_pod,
                service,
            );
            load.via = Some(ctrl);
            world.add_load(load);
            let idx = world.metrics.loads.len() - 1;
            world.metrics.loads[ctrl].routes.push(idx);
        }
        Ok(())
    }

    /// The Deployment a `load` entry's requests end at, and the ingress
    /// controller they pass through, if any.
    fn target(
        &self,
        p: &str,
        l: &file::LoadFile,
        routing: &Routing,
        deployments: &BTreeMap<String, DeploymentSpec>,
    ) -> Result<Target, ScenarioError> {
        match (&l.deployment, &l.ingress) {
            (Some(d), None) => {
                if !deployments.contains_key(d) {
                    return Err(self.err(
                        &format!("{p}.deployment"),
                        format!("no Deployment named `{d}` among the manifests"),
                    ));
                }
                if l.ingress_controller.is_some() {
                    return Err(self.err(
                        &format!("{p}.ingress_controller"),
                        "`ingress_controller` is for loads sent to an `ingress`",
                    ));
                }
                Ok(Target {
                    deployment: d.clone(),
                    ingress: None,
                })
            }
            (None, Some(t)) => self.ingress_target(p, t, routing, deployments),
            _ => Err(self.err(
                p,
                "a load names either a `deployment` or an `ingress` host and path",
            )),
        }
    }

    fn ingress_target(
        &self,
        p: &str,
        t: &file::IngressTargetFile,
        routing: &Routing,
        deployments: &BTreeMap<String, DeploymentSpec>,
    ) -> Result<Target, ScenarioError> {
        let path = t.path.as_deref().unwrap_or("/");
        if !path.starts_with('/') {
            return Err(self.err(&format!("{p}.ingress.path"), "a path starts with `/`"));
        }
        let host = t.host.as_deref();
        let Some((ing, service)) = routing.route(host, path) else {
            return Err(self.err(
                &format!("{p}.ingress"),
                format!(
                    "no Ingress rule matches host `{}` path `{path}`",
                    host.unwrap_or("(none)")
                ),
            ));
        };
        let svc = routing.service(&ing.namespace, &service).ok_or_else(|| {
            self.err(
                &format!("{p}.ingress"),
                format!(
                    "Ingress `{}` sends it to Service `{}/{service}`, which is not among the manifests",
                    ing.name, ing.namespace
                ),
            )
        })?;
        let deployment = self.selected(&format!("{p}.ingress"), svc, deployments)?;
        let lbs: Vec<&ServiceDef> = routing.load_balancers().collect();
        let lb = match lbs.as_slice() {
            [one] => *one,
            [] => {
                return Err(self.err(
                    &format!("{p}.ingress"),
                    "a load through an ingress needs a Service of `type: LoadBalancer` in front of the ingress controller",
                ));
            }
            many => {
                let names: Vec<String> = many
                    .iter()
                    .map(|s| format!("{}/{}", s.namespace, s.name))
                    .collect();
                return Err(self.err(
                    &format!("{p}.ingress"),
                    format!(
                        "several Services of `type: LoadBalancer` ({}); the twin sends ingress traffic through one",
                        names.join(", ")
                    ),
                ));
            }
        };
        let controller = self.selected(&format!("{p}.ingress"), lb, deployments)?;
        if controller == deployment {
            return Err(self.err(
                &format!("{p}.ingress"),
                format!(
                    "Service `{}` selects the ingress controller itself",
                    svc.name
                ),
            ));
        }
        let annotations = lb.load_balancer.clone().expect("a LoadBalancer Service");
        Ok(Target {
            deployment,
            ingress: Some((controller, annotations)),
        })
    }

    /// The one Deployment whose pods `svc` selects.
    fn selected(
        &self,
        p: &str,
        svc: &ServiceDef,
        deployments: &BTreeMap<String, DeploymentSpec>,
    ) -> Result<String, ScenarioError> {
        let picked: Vec<&String> = deployments
            .iter()
            .filter(|(_, d)| {
                d.namespace == svc.namespace
                    && !svc.selector.is_empty()
                    && svc
                        .selector
                        .iter()
                        .all(|(k, v)| d.template.labels.get(k) == Some(v))
            })
            .map(|(n, _)| n)
            .collect();
        match picked.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(self.err(
                p,
                format!(
                    "Service `{}/{}` selects no Deployment's pods",
                    svc.namespace, svc.name
                ),
            )),
            many => Err(self.err(
                p,
                format!(
                    "Service `{}/{}` selects the pods of several Deployments ({}); the twin models one",
                    svc.namespace,
                    svc.name,
                    many.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                ),
            )),
        }
    }

    /// Adds the ingress controller's own load: its cost and queue from the
    /// `ingress_controller` settings (given once, or the same everywhere),
    /// its load balancer from the Service's annotations. Returns its index.
    fn controller_load(
        &self,
        world: &mut World,
        name: &str,
        lb: &LbAnnotations,
        d: &DeploymentSpec,
    ) -> Result<usize, ScenarioError> {
        let given: Vec<(usize, &file::IngressControllerFile)> = self
            .sf
            .load
            .iter()
            .enumerate()
            .filter_map(|(i, l)| l.ingress_controller.as_ref().map(|c| (i, c)))
            .collect();
        let Some((first, c)) = given.first().copied() else {
            return Err(self.err(
                "load",
                "a load through an ingress needs `ingress_controller` (its CPU per request) on one of the loads",
            ));
        };
        if let Some((other, _)) = given.iter().find(|(_, o)| *o != c) {
            return Err(self.err(
                &format!("load[{other}].ingress_controller"),
                format!(
                    "differs from load[{first}].ingress_controller; the loads share one controller"
                ),
            ));
        }
        let p = format!("load[{first}].ingress_controller");
        let cpu = self.dur(&format!("{p}.cpu_per_request"), &c.cpu_per_request)?;
        let (service_time, distribution, concurrency) = self.serving(
            &p,
            &Serving {
                service_time: &c.service_time,
                distribution: &c.service_distribution,
                concurrency: c.concurrency,
            },
            cpu,
            d,
        )?;
        let service = ServiceModel {
            service_time,
            distribution,
            concurrency,
            timeout: SimDuration::from_secs(30),
            lb_max_rps: Some(
                lb.shape
                    .max_rps(c.bytes_per_request.unwrap_or(DEFAULT_BYTES_PER_REQUEST)),
            ),
            health_check: Some(lb.health_check.clone()),
        };
        world.add_load(WorkloadLoad::new(
            name.to_string(),
            crate::model::load::LoadProfile::Constant { rps: 0.0 },
            cpu.as_ms() as f64,
            None,
            service,
        ));
        Ok(world.metrics.loads.len() - 1)
    }

    /// How the Deployment's pods serve requests, with the documented defaults.
    fn service_model(
        &self,
        p: &str,
        l: &file::LoadFile,
        cpu: SimDuration,
        d: &DeploymentSpec,
    ) -> Result<ServiceModel, ScenarioError> {
        let (service_time, distribution, concurrency) = self.serving(
            p,
            &Serving {
                service_time: &l.service_time,
                distribution: &l.service_distribution,
                concurrency: l.concurrency,
            },
            cpu,
            d,
        )?;
        let timeout = match &l.timeout {
            Some(t) => self.dur(&format!("{p}.timeout"), t)?,
            None => SimDuration::from_secs(30),
        };
        let mut lb_max_rps = None;
        let mut hc = HealthChecker::new("HTTP");
        if let Some(lb) = &l.load_balancer {
            let shape =
                Shape::new("flexible", Some((MIN_BANDWIDTH_MBPS, lb.max_mbps))).map_err(|_| {
                    self.err(
                        &format!("{p}.load_balancer.max_mbps"),
                        "a flexible load balancer's bandwidth is 10 to 8000 Mbps",
                    )
                })?;
            lb_max_rps =
                Some(shape.max_rps(lb.bytes_per_request.unwrap_or(DEFAULT_BYTES_PER_REQUEST)));
            let q = format!("{p}.load_balancer");
            if let Some(i) = &lb.health_check_interval {
                hc.interval = self.dur(&format!("{q}.health_check_interval"), i)?;
            }
            if let Some(t) = &lb.health_check_timeout {
                hc.timeout = self.dur(&format!("{q}.health_check_timeout"), t)?;
            }
            hc.retries = lb.health_check_retries.unwrap_or(hc.retries);
            if let Err(e) = hc.validate() {
                let field = if hc.interval < SimDuration::from_secs(1)
                    || hc.interval > SimDuration::from_secs(1800)
                {
                    "health_check_interval"
                } else if hc.retries == 0 || hc.retries > 10 {
                    "health_check_retries"
                } else {
                    "health_check_timeout"
                };
                return Err(self.err(&format!("{q}.{field}"), e.to_string()));
            }
        }
        Ok(ServiceModel {
            service_time,
            distribution,
            concurrency,
            timeout,
            lb_max_rps,
            health_check: Some(hc),
        })
    }

    /// One tier's queue: the mean service time (default: the CPU time, at
    /// least 1 ms), its distribution, and the concurrency (default 4 per OCPU).
    fn serving(
        &self,
        p: &str,
        s: &Serving,
        cpu: SimDuration,
        d: &DeploymentSpec,
    ) -> Result<(SimDuration, ServiceDist, u32), ScenarioError> {
        let service_time = match s.service_time {
            Some(t) => self.dur(&format!("{p}.service_time"), t)?,
            None => cpu,
        }
        .max(SimDuration::from_ms(1));
        let ocpus = d.template.size.map_or(1, |s| s.ocpus);
        let concurrency = s.concurrency.unwrap_or(4 * ocpus);
        if concurrency == 0 {
            return Err(self.err(
                &format!("{p}.concurrency"),
                "concurrency must be at least 1",
            ));
        }
        let distribution = match s.distribution {
            None => ServiceDist::Exponential,
            Some(d) => self.service_dist(&format!("{p}.service_distribution"), d)?,
        };
        Ok((service_time, distribution, concurrency))
    }

    fn service_dist(
        &self,
        p: &str,
        d: &file::ServiceDistributionFile,
    ) -> Result<ServiceDist, ScenarioError> {
        let no_cv = |dist| match d.cv {
            Some(_) => Err(self.err(
                &format!("{p}.cv"),
                format!(
                    "`cv` is only for kind lognormal ({} has a fixed cv)",
                    d.kind
                ),
            )),
            None => Ok(dist),
        };
        match d.kind.as_str() {
            "exponential" => no_cv(ServiceDist::Exponential),
            "deterministic" => no_cv(ServiceDist::Deterministic),
            "lognormal" => match d.cv {
                Some(cv) if cv.is_finite() && cv > 0.0 && cv <= 10.0 => {
                    Ok(ServiceDist::LogNormal { cv })
                }
                Some(_) => Err(self.err(&format!("{p}.cv"), "cv must be above 0 and at most 10")),
                None => Err(self.err(
                    &format!("{p}.cv"),
                    "a lognormal service time needs `cv` (standard deviation / mean)",
                )),
            },
            other => Err(self.err(
                &format!("{p}.kind"),
                format!(
                    "unknown service distribution `{other}` (exponential, deterministic, lognormal)"
                ),
            )),
        }
    }
}
