//! From a scenario file to a ready-to-run world: validation and resolution of
//! every name, CIDR, duration and manifest, with errors that name the file,
//! line and field.

use std::collections::BTreeMap;
use std::path::Path;

mod loads;

use super::file::{self, DurationText, ScenarioFile};
use super::hpa_manifest::HpaDefinition;
use super::manifest::{Manifest, parse_bytes, parse_cpu_millis, read_manifest};
use super::source::{Document, ScenarioError, split_documents};
use crate::kernel::{SimDuration, SimTime};
use crate::model::cidr::Ipv4Cidr;
use crate::model::kube::cluster::{LABEL_FAULT_DOMAIN, LABEL_HOSTNAME, LABEL_ZONE};
use crate::model::kube::selector::{Taint, TaintEffect};
use crate::model::load::LoadProfile;
use crate::model::network::{
    Direction, GatewayKind, Network, NetworkLimits, RouteRule, SecurityRule, SubnetId, SubnetSpec,
};
use crate::model::oke::sizing::{pod_shape, size_pod};
use crate::model::oke::{
    Cluster, ClusterType, CniType, Oke, OkeLimits, Placement, VirtualNodePool,
};
use crate::model::pricing::{Prices, ShapePrice};
use crate::model::topology::{FaultDomain, Topology};
use crate::sim::world::{Action, DeploymentSpec, FailureScope};
use crate::sim::{SimConfig, StartupLatency, World};

/// Deployments by name, and HPAs with the index of the document they came from.
type ManifestSet = (
    BTreeMap<String, DeploymentSpec>,
    Vec<(usize, HpaDefinition)>,
    Vec<crate::sim::world::PdbRuntime>,
);

/// The largest virtual node pool the twin accepts (a limit against runaway files).
pub const MAX_POOL_SIZE: u32 = 10_000;

/// The default seed of a run without `--seed` or a `seed:` in the file.
pub const DEFAULT_SEED: u64 = 42;

/// Expectations after resolution.
#[derive(Clone, Debug)]
pub enum Expectation {
    /// Ready replicas of `deployment` ≥ `min` at every instant in [after, until].
    ReadyReplicas {
        deployment: String,
        min: u32,
        after: SimTime,
        until: SimTime,
    },
    /// At most `max` bound pods of `deployment` in one domain of `key`.
    MaxPodsPerDomain {
        deployment: String,
        key: String,
        max: u32,
        after: SimTime,
        until: SimTime,
    },
    /// max − min bound pods over the domains of `key` at most `max`.
    MaxSkew {
        deployment: String,
        key: String,
        max: u32,
        after: SimTime,
        until: SimTime,
    },
    /// No pod (of `deployment`, or of any) pending longer than `max`.
    MaxPending {
        deployment: Option<String>,
        max: SimDuration,
    },
    /// Exactly `count` pending pods at `at`, each message containing `reason`.
    PendingPods {
        deployment: String,
        count: u32,
        at: SimTime,
        reason: Option<String>,
    },
    /// The `percentile` of served requests' latency over (after, until] at most `max`.
    Latency {
        deployment: String,
        percentile: f64,
        max: SimDuration,
        after: SimTime,
        until: SimTime,
    },
    /// Failed / offered requests over (after, until] at most `max`.
    ErrorRate {
        deployment: String,
        max: f64,
        after: SimTime,
        until: SimTime,
    },
    /// At least `ready` Ready replicas within `max` of `after`.
    TimeToReady {
        deployment: String,
        ready: u32,
        after: SimTime,
        max: SimDuration,
    },
    /// Desired replicas within [min, max] at every instant in [after, until].
    Replicas {
        deployment: String,
        min: u32,
        max: u32,
        after: SimTime,
        until: SimTime,
    },
    /// The named failure recovers within `max`, or never.
    RecoveryTime {
        failure: String,
        max: Option<SimDuration>,
        never: bool,
    },
    /// A flow gets through the network (or not), as expected.
    Reachable(Box<super::wiring::ReachableCheck>),
    /// An ExternalSecret ends Ready (or not), as expected.
    ExternalSecret(Box<super::wiring::ExternalSecretCheck>),
    /// Drain `drain` (its index) completes within `max` of its start.
    DrainCompletes {
        /// The drain.
        drain: usize,
        /// Longest allowed.
        max: SimDuration,
    },
    /// Drain `drain` had at least `min` evictions refused (by `pdb`, or by any budget).
    DisruptionsBlocked {
        /// The drain.
        drain: usize,
        /// The budget, by name.
        pdb: Option<String>,
        /// Fewest refusals.
        min: u32,
    },
}

/// A failure of the timeline, for recovery tracking.
#[derive(Clone, Debug)]
pub struct FailurePlan {
    /// Its name.
    pub name: String,
    /// When it starts.
    pub at: SimTime,
    /// When it ends, if it does.
    pub until: Option<SimTime>,
    /// What it takes down, in words.
    pub label: String,
}

/// A loaded scenario: the world set up at t=0 and what to check.
pub struct Loaded {
    /// The scenario's name.
    pub name: String,
    /// Its description.
    pub description: Option<String>,
    /// The file it came from.
    pub file: String,
    /// The world, ready to run.
    pub world: World,
    /// Run length.
    pub duration: SimDuration,
    /// Expectations, each with its label.
    pub expectations: Vec<(String, Expectation)>,
    /// Failures in timeline order.
    pub failures: Vec<FailurePlan>,
    /// Interval between samples.
    pub sample_every: SimDuration,
    /// The seed used.
    pub seed: u64,
    /// Prices for the cost section.
    pub prices: Prices,
}

impl Loaded {
    /// Adds a failure of `scope` at `at` (recovering at `until`, if given), as if
    /// the timeline had it; its recovery is tracked like the timeline's own.
    pub fn inject_failure(
        &mut self,
        name: &str,
        scope: FailureScope,
        label: String,
        at: SimTime,
        until: Option<SimTime>,
    ) {
        // Ids from the top of the range never meet the timeline's own (0, 1, ...).
        let id = u32::MAX - self.failures.len() as u32;
        self.world
            .schedule_action(at, label.clone(), Action::Fail { scope, failure: id });
        if let Some(u) = until {
            self.world.schedule_action(
                u,
                format!("recovery from {name}"),
                Action::Recover { failure: id },
            );
        }
        self.failures.push(FailurePlan {
            name: name.to_string(),
            at,
            until,
            label,
        });
    }
}

/// Options a caller can set on top of the file.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// Seed override.
    pub seed: Option<u64>,
    /// Keep every log record.
    pub keep_log: bool,
    /// Pods to explain.
    pub explain_pods: Vec<String>,
    /// Check the world's invariants after every instant (tests).
    pub check_invariants: bool,
}

/// Reads, validates and sets up a scenario file.
pub fn load(path: &Path, opts: &LoadOptions) -> Result<Loaded, ScenarioError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
        file: file.clone(),
        line: None,
        field: None,
        message: format!("cannot read: {e}"),
    })?;
    load_text(&file, &text, path.parent(), opts)
}

/// Like [`load`], from text already read (`base` resolves `manifest_files`).
pub fn load_text(
    file: &str,
    text: &str,
    base: Option<&Path>,
    opts: &LoadOptions,
) -> Result<Loaded, ScenarioError> {
    let docs = split_documents(file, text);
    let Some((head, rest)) = docs.split_first() else {
        return Err(ScenarioError {
            file: file.into(),
            line: None,
            field: None,
            message: "the file is empty".into(),
        });
    };
    let sf: ScenarioFile = head.parse()?;
    let mut manifest_docs: Vec<Document> = rest.to_vec();
    for (i, mf) in sf.manifest_files.iter().enumerate() {
        let p = base.map(|b| b.join(mf)).unwrap_or_else(|| mf.into());
        let t = std::fs::read_to_string(&p).map_err(|e| {
            head.error(
                &format!("manifest_files[{i}]"),
                format!("cannot read {}: {e}", p.display()),
            )
        })?;
        manifest_docs.extend(split_documents(&p.display().to_string(), &t));
    }
    Builder {
        doc: head,
        sf: &sf,
        base,
    }
    .build(&manifest_docs, opts)
}

struct Builder<'a> {
    doc: &'a Document,
    sf: &'a ScenarioFile,
    /// Directory that relative paths in the file are resolved against.
    base: Option<&'a Path>,
}

impl Builder<'_> {
    fn err(&self, path: &str, msg: impl Into<String>) -> ScenarioError {
        self.doc.error(path, msg)
    }

    fn dur(&self, path: &str, d: &DurationText) -> Result<SimDuration, ScenarioError> {
        SimDuration::parse(&d.0).map_err(|e| self.err(path, e))
    }

    fn build(&self, manifests: &[Document], opts: &LoadOptions) -> Result<Loaded, ScenarioError> {
        let sf = self.sf;
        let topology = Topology::new(&sf.region, sf.tenancy_prefix.as_deref().unwrap_or("Uocm"))
            .map_err(|e| {
                self.err(
                    if sf.tenancy_prefix.is_some() {
                        "tenancy_prefix"
                    } else {
                        "region"
                    },
                    e.to_string(),
                )
            })?;
        let duration = self.dur("duration", &sf.duration)?;
        if duration == SimDuration::ZERO {
            return Err(self.err("duration", "duration must be greater than zero"));
        }
        if duration > SimDuration::from_secs(366 * 86_400) {
            return Err(self.err(
                "duration",
                "duration is limited to one year of simulated time",
            ));
        }
        let seed = opts.seed.or(sf.seed).unwrap_or(DEFAULT_SEED);
        let cfg = self.config(seed, opts)?;
        let l = &sf.limits;
        let mut net_limits = NetworkLimits::default();
        net_limits.vcns_per_region = l.vcns.unwrap_or(net_limits.vcns_per_region);
        net_limits.subnets_per_vcn = l.subnets_per_vcn.unwrap_or(net_limits.subnets_per_vcn);
        net_limits.cidr_blocks_per_vcn = l
            .cidr_blocks_per_vcn
            .unwrap_or(net_limits.cidr_blocks_per_vcn);
        let mut oke_limits = OkeLimits::default();
        oke_limits.virtual_nodes = l.virtual_nodes.unwrap_or(oke_limits.virtual_nodes);
        oke_limits.pods_per_virtual_node = l
            .pods_per_virtual_node
            .unwrap_or(oke_limits.pods_per_virtual_node);
        oke_limits.enhanced_clusters = l.enhanced_clusters.unwrap_or(oke_limits.enhanced_clusters);
        let mut world = World::new(
            cfg,
            topology,
            Network::new(net_limits),
            Oke::new(oke_limits),
        );
        self.build_network(&mut world)?;
        let shapes = self.build_cluster(&mut world)?;
        let (deployments, hpas, pdbs) = self.read_manifests(manifests, &shapes)?;
        for p in pdbs {
            world.add_pdb(p);
        }
        super::wiring::build_secrets(self.doc, sf, manifests, &mut world, &deployments)?;
        if let Some(m) = &sf.mysql {
            super::wiring::build_mysql(self.doc, m, &mut world, &deployments)?;
        }
        for (_, h) in hpas {
            world.add_hpa(h.name, h.namespace, h.target, h.spec, h.has_behavior);
        }
        self.build_loads(&mut world, &deployments, manifests, duration)?;
        let failures = self.build_timeline(&mut world, &deployments, duration)?;
        // Controllers start after the timeline's t=0 actions, as if they came up with them.
        world.start_wiring();
        let expectations = self.expectations(&deployments, &failures, duration, &world)?;
        for (_, e) in &expectations {
            match e {
                super::plan::Expectation::ReadyReplicas { after, until, .. }
                | super::plan::Expectation::MaxPodsPerDomain { after, until, .. }
                | super::plan::Expectation::MaxSkew { after, until, .. }
                | super::plan::Expectation::Replicas { after, until, .. } => {
                    world.schedule_observation(*after);
                    world.schedule_observation(*until);
                }
                super::plan::Expectation::PendingPods { at, .. }
                | super::plan::Expectation::TimeToReady { after: at, .. } => {
                    world.schedule_observation(*at)
                }
                _ => {}
            }
        }
        let sample_every = match &sf.report.sample_every {
            Some(d) => {
                let d = self.dur("report.sample_every", d)?;
                if d.as_ms() < 1000 {
                    return Err(self.err("report.sample_every", "sample_every must be at least 1s"));
                }
                d
            }
            None if duration <= SimDuration::from_secs(4 * 3600) => SimDuration::from_secs(300),
            None => SimDuration::from_secs(3600),
        };
        let mut t = SimTime::ZERO;
        while t <= SimTime::ZERO + duration {
            world.schedule_observation(t);
            t = t + sample_every;
        }
        world.schedule_observation(SimTime::ZERO + duration);
        Ok(Loaded {
            name: sf.name.clone(),
            description: sf.description.clone(),
            file: self.doc.file.clone(),
            world,
            duration,
            expectations,
            failures,
            sample_every,
            seed,
            prices: self.prices()?,
        })
    }

    fn prices(&self) -> Result<Prices, ScenarioError> {
        let f = &self.sf.prices;
        let mut p = Prices::default();
        let check = |v: f64, path: &str| -> Result<f64, ScenarioError> {
            if v.is_finite() && v >= 0.0 {
                Ok(v)
            } else {
                Err(self.err(path, "a price must be a non-negative number"))
            }
        };
        if let Some(v) = f.enhanced_cluster_hour {
            p.enhanced_cluster_hour = check(v, "prices.enhanced_cluster_hour")?;
        }
        if let Some(v) = f.virtual_node_hour {
            p.virtual_node_hour = check(v, "prices.virtual_node_hour")?;
        }
        for (name, sp) in &f.shapes {
            let path = format!("prices.shapes.{name}");
            pod_shape(name).map_err(|e| self.err(&path, e.to_string()))?;
            let price = ShapePrice {
                ocpu_hour: check(sp.ocpu_hour, &format!("{path}.ocpu_hour"))?,
                gb_hour: check(sp.gb_hour, &format!("{path}.gb_hour"))?,
            };
            p.shapes.insert(name.clone(), price);
        }
        Ok(p)
    }

    fn config(&self, seed: u64, opts: &LoadOptions) -> Result<SimConfig, ScenarioError> {
        let a = &self.sf.assumptions;
        let mut cfg = SimConfig {
            seed,
            keep_log: opts.keep_log,
            explain_pods: opts.explain_pods.clone(),
            check_invariants: opts.check_invariants,
            ..SimConfig::default()
        };
        if let Some(s) = &a.startup_latency {
            cfg.startup = self.startup(s)?;
        }
        if let Some(d) = &a.scheduling_cycle {
            cfg.scheduling_cycle = self.dur("assumptions.scheduling_cycle", d)?;
        }
        let lc = &mut cfg.lifecycle;
        if let Some(d) = &a.node_monitor_grace_period {
            lc.node_monitor_grace_period = self.dur("assumptions.node_monitor_grace_period", d)?;
        }
        if let Some(d) = &a.node_monitor_period {
            lc.node_monitor_period = self.dur("assumptions.node_monitor_period", d)?;
            if lc.node_monitor_period.as_ms() == 0 {
                return Err(self.err(
                    "assumptions.node_monitor_period",
                    "must be greater than zero",
                ));
            }
        }
        for (v, field, target) in [
            (
                a.node_eviction_rate,
                "node_eviction_rate",
                &mut lc.node_eviction_rate,
            ),
            (
                a.secondary_node_eviction_rate,
                "secondary_node_eviction_rate",
                &mut lc.secondary_node_eviction_rate,
            ),
            (
                a.unhealthy_zone_threshold,
                "unhealthy_zone_threshold",
                &mut lc.unhealthy_zone_threshold,
            ),
        ] {
            if let Some(v) = v {
                if !v.is_finite() || v < 0.0 {
                    return Err(self.err(
                        &format!("assumptions.{field}"),
                        "must be a non-negative number",
                    ));
                }
                *target = v;
            }
        }
        if let Some(v) = a.large_cluster_size_threshold {
            lc.large_cluster_size_threshold = v;
        }
        if let Some(v) = a.default_toleration_seconds {
            lc.default_toleration_seconds = v;
        }
        if let Some(v) = a.release_ip_on_eviction {
            cfg.release_ip_on_eviction = v;
        }
        if let Some(p) = a.percentage_of_nodes_to_score {
            if p > 100 {
                return Err(self.err("assumptions.percentage_of_nodes_to_score", "must be 0-100"));
            }
            cfg.scheduler.percentage_of_nodes_to_score = Some(p);
        }
        if let Some(r) = &a.virtual_node_removal {
            cfg.virtual_node_removal = self.node_removal(r)?;
        }
        if let Some(al) = &a.virtual_node_allocatable {
            let base = "assumptions.virtual_node_allocatable";
            if let Some(c) = &al.cpu {
                cfg.node_capacity.cpu_m = parse_cpu_millis(
                    &k8s_openapi::apimachinery::pkg::api::resource::Quantity(c.clone()),
                )
                .map_err(|e| self.err(&format!("{base}.cpu"), e))?;
            }
            if let Some(m) = &al.memory {
                cfg.node_capacity.memory = parse_bytes(
                    &k8s_openapi::apimachinery::pkg::api::resource::Quantity(m.clone()),
                )
                .map_err(|e| self.err(&format!("{base}.memory"), e))?;
            }
            if let Some(p) = al.pods {
                cfg.node_capacity.pods = p;
            }
        }
        Ok(cfg)
    }

    fn node_removal(
        &self,
        r: &file::NodeRemovalFile,
    ) -> Result<crate::sim::config::NodeRemoval, ScenarioError> {
        use crate::sim::config::NodeRemoval;
        let base = "assumptions.virtual_node_removal";
        match r.mode.as_str() {
            "delete" => {
                if r.eviction_grace.is_some() || r.force_delete_after_grace.is_some() {
                    return Err(self.err(
                        base,
                        "`eviction_grace` and `force_delete_after_grace` apply only to mode: drain",
                    ));
                }
                Ok(NodeRemoval::Delete)
            }
            "drain" => {
                let grace = match &r.eviction_grace {
                    Some(d) => self.dur(&format!("{base}.eviction_grace"), d)?,
                    None => SimDuration::from_secs(3600),
                };
                if grace > SimDuration::from_secs(3600) {
                    return Err(self.err(
                        &format!("{base}.eviction_grace"),
                        "OKE's eviction grace period is at most 60m (PT60M)",
                    ));
                }
                Ok(NodeRemoval::Drain {
                    eviction_grace: grace,
                    force_delete_after_grace: r.force_delete_after_grace.unwrap_or(true),
                })
            }
            o => Err(self.err(
                &format!("{base}.mode"),
                format!("unknown mode `{o}` (delete or drain)"),
            )),
        }
    }

    fn startup(&self, s: &file::StartupFile) -> Result<StartupLatency, ScenarioError> {
        let base = "assumptions.startup_latency";
        let need = |v: &Option<DurationText>, f: &str| -> Result<SimDuration, ScenarioError> {
            let v = v.as_ref().ok_or_else(|| {
                self.err(
                    &format!("{base}.{f}"),
                    format!("`{f}` is required for this distribution"),
                )
            })?;
            self.dur(&format!("{base}.{f}"), v)
        };
        Ok(match s.distribution.as_str() {
            "fixed" => StartupLatency::Fixed(need(&s.value, "value")?),
            "uniform" => {
                let (min, max) = (need(&s.min, "min")?, need(&s.max, "max")?);
                if min > max {
                    return Err(self.err(&format!("{base}.min"), "min must not exceed max"));
                }
                StartupLatency::Uniform { min, max }
            }
            "lognormal" => {
                let (median, p99) = (need(&s.median, "median")?, need(&s.p99, "p99")?);
                if p99 <= median || median.as_ms() == 0 {
                    return Err(self.err(
                        &format!("{base}.p99"),
                        "p99 must be greater than a non-zero median",
                    ));
                }
                StartupLatency::LogNormal { median, p99 }
            }
            other => {
                return Err(self.err(
                    &format!("{base}.distribution"),
                    format!("unknown distribution `{other}` (fixed, uniform or lognormal)"),
                ));
            }
        })
    }

    fn build_network(&self, world: &mut World) -> Result<(), ScenarioError> {
        for (vi, v) in self.sf.network.vcns.iter().enumerate() {
            let vp = format!("network.vcns[{vi}]");
            let blocks = v
                .cidr_blocks
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    c.parse::<Ipv4Cidr>()
                        .map_err(|e| self.err(&format!("{vp}.cidr_blocks[{i}]"), e.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let id = world.mint.regional("vcn");
            let vcn = world
                .network
                .create_vcn(id, &v.name, blocks)
                .map_err(|e| self.err(&format!("{vp}.cidr_blocks"), e.to_string()))?;
            for (gi, g) in v.gateways.iter().enumerate() {
                let (kind, ty) = match g.kind.as_str() {
                    "internet" => (GatewayKind::Internet, "internetgateway"),
                    "nat" => (GatewayKind::Nat, "natgateway"),
                    "service" => (GatewayKind::Service, "servicegateway"),
                    other => {
                        return Err(self.err(
                            &format!("{vp}.gateways[{gi}].kind"),
                            format!("unknown gateway kind `{other}` (internet, nat or service)"),
                        ));
                    }
                };
                let id = world.mint.regional(ty);
                world
                    .network
                    .create_gateway(vcn, id, &g.name, kind)
                    .map_err(|e| self.err(&format!("{vp}.gateways[{gi}]"), e.to_string()))?;
            }
            for (ri, rt) in v.route_tables.iter().enumerate() {
                let rules = rt
                    .rules
                    .iter()
                    .map(|r| RouteRule {
                        destination: r.destination.clone(),
                        target: r.target.clone(),
                    })
                    .collect();
                let id = world.mint.regional("routetable");
                world
                    .network
                    .create_route_table(vcn, id, &rt.name, rules)
                    .map_err(|e| {
                        self.err(&format!("{vp}.route_tables[{ri}].rules"), e.to_string())
                    })?;
            }
            for (si, sl) in v.security_lists.iter().enumerate() {
                let rules = self.security_rules(&format!("{vp}.security_lists[{si}]"), sl)?;
                let id = world.mint.regional("securitylist");
                world.network.create_security_list(vcn, id, &sl.name, rules);
            }
            for (ni, n) in v.nsgs.iter().enumerate() {
                let rules = self.security_rules(&format!("{vp}.nsgs[{ni}]"), n)?;
                let id = world.mint.regional("networksecuritygroup");
                world.network.create_nsg(vcn, id, &n.name, rules);
            }
            for (si, s) in v.subnets.iter().enumerate() {
                let sp = format!("{vp}.subnets[{si}]");
                let cidr = s
                    .cidr
                    .parse::<Ipv4Cidr>()
                    .map_err(|e| self.err(&format!("{sp}.cidr"), e.to_string()))?;
                let ad = match &s.availability_domain {
                    None => None,
                    Some(a) => Some(
                        world
                            .topology
                            .ad(a)
                            .map_err(|e| {
                                self.err(&format!("{sp}.availability_domain"), e.to_string())
                            })?
                            .number,
                    ),
                };
                if let Some(rt) = &s.route_table
                    && !world
                        .network
                        .route_tables
                        .iter()
                        .any(|r| r.vcn == vcn && &r.name == rt)
                {
                    return Err(self.err(
                        &format!("{sp}.route_table"),
                        format!("no route table named `{rt}` in VCN {}", v.name),
                    ));
                }
                for (li, sl) in s.security_lists.iter().enumerate() {
                    if !world
                        .network
                        .security_lists
                        .iter()
                        .any(|x| x.vcn == vcn && &x.name == sl)
                    {
                        return Err(self.err(
                            &format!("{sp}.security_lists[{li}]"),
                            format!("no security list named `{sl}` in VCN {}", v.name),
                        ));
                    }
                }
                let spec = SubnetSpec {
                    name: s.name.clone(),
                    cidr,
                    availability_domain: ad,
                    prohibit_public_ip: !s.public,
                    route_table: s.route_table.clone(),
                    security_lists: s.security_lists.clone(),
                };
                let id = world.mint.regional("subnet");
                world
                    .network
                    .create_subnet(vcn, id, spec)
                    .map_err(|e| self.err(&format!("{sp}.cidr"), e.to_string()))?;
            }
        }
        Ok(())
    }

    fn security_rules(
        &self,
        path: &str,
        g: &file::SecurityGroupFile,
    ) -> Result<Vec<SecurityRule>, ScenarioError> {
        let mut out = Vec::new();
        for (dir, list, field) in [
            (Direction::Ingress, &g.ingress, "ingress"),
            (Direction::Egress, &g.egress, "egress"),
        ] {
            for (i, r) in list.iter().enumerate() {
                let rp = format!("{path}.{field}[{i}]");
                let peer = match dir {
                    Direction::Ingress => r
                        .source
                        .clone()
                        .ok_or_else(|| self.err(&rp, "an ingress rule needs `source`"))?,
                    Direction::Egress => r
                        .destination
                        .clone()
                        .ok_or_else(|| self.err(&rp, "an egress rule needs `destination`"))?,
                };
                if !matches!(r.protocol.as_str(), "all" | "tcp" | "udp" | "icmp")
                    && r.protocol.parse::<u8>().is_err()
                {
                    return Err(self.err(
                        &format!("{rp}.protocol"),
                        format!(
                            "unknown protocol `{}` (all, tcp, udp, icmp or a number)",
                            r.protocol
                        ),
                    ));
                }
                let ports = match &r.ports {
                    None => None,
                    Some(p) => {
                        Some(parse_ports(&p.0).map_err(|e| self.err(&format!("{rp}.ports"), e))?)
                    }
                };
                out.push(SecurityRule {
                    direction: dir,
                    peer,
                    protocol: r.protocol.clone(),
                    ports,
                    stateless: r.stateless,
                });
            }
        }
        Ok(out)
    }

    /// Creates the cluster and its pools; returns the pod shapes in use.
    fn build_cluster(
        &self,
        world: &mut World,
    ) -> Result<Vec<(&'static crate::model::oke::sizing::PodShape, String)>, ScenarioError> {
        let c = &self.sf.cluster;
        let cluster_type = match c.cluster_type.as_deref().unwrap_or("enhanced") {
            "enhanced" => ClusterType::Enhanced,
            "basic" => ClusterType::Basic,
            o => {
                return Err(self.err(
                    "cluster.type",
                    format!("unknown cluster type `{o}` (enhanced or basic)"),
                ));
            }
        };
        let cni = match c.cni.as_deref().unwrap_or("vcn-native") {
            "vcn-native" => CniType::OciVcnIpNative,
            "flannel" => CniType::FlannelOverlay,
            o => {
                return Err(self.err(
                    "cluster.cni",
                    format!("unknown CNI `{o}` (vcn-native or flannel)"),
                ));
            }
        };
        let vcn = world
            .network
            .vcn_named(&c.vcn)
            .map_err(|e| self.err("cluster.vcn", e.to_string()))?;
        let id = world.mint.regional("cluster");
        let cluster = Cluster {
            id,
            name: c.name.clone(),
            cluster_type,
            cni,
            kubernetes_version: c
                .kubernetes_version
                .clone()
                .unwrap_or_else(|| "v1.34.1".into()),
            vcn,
        };
        let cid = world
            .oke
            .create_cluster(cluster)
            .map_err(|e| self.err("cluster", e.to_string()))?;
        if c.virtual_node_pools.is_empty() {
            return Err(self.err(
                "cluster.virtual_node_pools",
                "the cluster needs at least one virtual node pool",
            ));
        }
        let mut shapes = Vec::new();
        for (pi, p) in c.virtual_node_pools.iter().enumerate() {
            let pp = format!("cluster.virtual_node_pools[{pi}]");
            let subnet = |path: &str, name: &str| -> Result<SubnetId, ScenarioError> {
                world
                    .network
                    .subnet_named(name)
                    .map_err(|e| self.err(path, e.to_string()))
            };
            let mut placements = Vec::new();
            for (li, pl) in p.placements.iter().enumerate() {
                let lp = format!("{pp}.placements[{li}]");
                let ad = world
                    .topology
                    .ad(&pl.availability_domain)
                    .map_err(|e| self.err(&format!("{lp}.availability_domain"), e.to_string()))?
                    .number;
                let fds = pl
                    .fault_domains
                    .iter()
                    .enumerate()
                    .map(|(i, f)| {
                        FaultDomain::parse(f).map_err(|e| {
                            self.err(&format!("{lp}.fault_domains[{i}]"), e.to_string())
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                placements.push(Placement {
                    availability_domain: ad,
                    fault_domains: fds,
                    subnet: subnet(&format!("{lp}.subnet"), &pl.subnet)?,
                });
            }
            let shape = pod_shape(&p.pod_configuration.shape)
                .map_err(|e| self.err(&format!("{pp}.pod_configuration.shape"), e.to_string()))?;
            let taints = p
                .taints
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    let effect = TaintEffect::parse(&t.effect).ok_or_else(|| {
                        self.err(
                            &format!("{pp}.taints[{i}].effect"),
                            format!(
                                "unknown effect `{}` (NoSchedule, PreferNoSchedule, NoExecute)",
                                t.effect
                            ),
                        )
                    })?;
                    Ok(Taint {
                        key: t.key.clone(),
                        value: t.value.clone(),
                        effect,
                    })
                })
                .collect::<Result<Vec<_>, ScenarioError>>()?;
            for (ni, n) in p.pod_configuration.nsgs.iter().enumerate() {
                if !world.network.nsgs.iter().any(|x| &x.name == n) {
                    return Err(self.err(
                        &format!("{pp}.pod_configuration.nsgs[{ni}]"),
                        format!("no NSG named `{n}`"),
                    ));
                }
            }
            if p.size > MAX_POOL_SIZE {
                let msg = format!("a pool holds at most {MAX_POOL_SIZE} virtual nodes in the twin");
                return Err(self.err(&format!("{pp}.size"), msg));
            }
            let pool = VirtualNodePool {
                id: world.mint.regional("virtualnodepool"),
                name: p.name.clone(),
                cluster: cid,
                placements,
                pod_subnet: subnet(
                    &format!("{pp}.pod_configuration.subnet"),
                    &p.pod_configuration.subnet,
                )?,
                pod_nsgs: p.pod_configuration.nsgs.clone(),
                pod_shape: shape,
                size: p.size,
                labels: p.labels.clone(),
                taints,
            };
            world
                .create_virtual_node_pool(pool)
                .map_err(|e| self.err(&pp, e.to_string()))?;
            shapes.push((shape, p.name.clone()));
        }
        Ok(shapes)
    }

    /// Reads the manifests: Deployments (sized for every pool's shape) and HPAs
    /// (each naming a Deployment of the same namespace, at most one per Deployment).
    fn read_manifests(
        &self,
        manifests: &[Document],
        shapes: &[(&'static crate::model::oke::sizing::PodShape, String)],
    ) -> Result<ManifestSet, ScenarioError> {
        let mut deployments = BTreeMap::new();
        let mut hpas = Vec::new();
        let mut pdbs: Vec<crate::sim::world::PdbRuntime> = Vec::new();
        for (i, doc) in manifests.iter().enumerate() {
            match read_manifest(doc)? {
                None => {}
                Some(Manifest::Hpa(h)) => hpas.push((i, *h)),
                Some(Manifest::Pdb(p)) => {
                    if pdbs
                        .iter()
                        .any(|q| q.name == p.name && q.namespace == p.namespace)
                    {
                        let msg = format!(
                            "a PodDisruptionBudget named `{}` is already defined in namespace `{}`",
                            p.name, p.namespace
                        );
                        return Err(doc.error("metadata.name", msg));
                    }
                    pdbs.push(*p);
                }
                Some(Manifest::Deployment(spec)) => {
                    let mut spec = *spec;
                    if deployments.contains_key(&spec.name) {
                        let msg = format!("a Deployment named `{}` is already defined", spec.name);
                        return Err(doc.error("metadata.name", msg));
                    }
                    for (shape, pool) in shapes {
                        let size = size_pod(&spec.template.containers, shape).map_err(|e| {
                            doc.error(
                                "spec.template.spec.containers",
                                format!("{e} (pool `{pool}`)"),
                            )
                        })?;
                        spec.template.size.get_or_insert(size);
                    }
                    deployments.insert(spec.name.clone(), spec);
                }
            }
        }
        let mut targeted = std::collections::BTreeSet::new();
        for (i, h) in &hpas {
            let doc = &manifests[*i];
            match deployments.get(&h.target) {
                Some(d) if d.namespace == h.namespace => {}
                _ => {
                    let msg = format!(
                        "no Deployment `{}` in namespace `{}` to scale",
                        h.target, h.namespace
                    );
                    return Err(doc.error("spec.scaleTargetRef.name", msg));
                }
            }
            if !targeted.insert(h.target.clone()) {
                let msg = format!(
                    "Deployment `{}` already has an HPA (two HPAs on one target fight; the controller refuses)",
                    h.target
                );
                return Err(doc.error("spec.scaleTargetRef.name", msg));
            }
        }
        Ok((deployments, hpas, pdbs))
    }

    fn profile(
        &self,
        path: &str,
        f: &file::ProfileFile,
        duration: SimDuration,
    ) -> Result<LoadProfile, ScenarioError> {
        let rate = |v: Option<f64>, field: &str| -> Result<f64, ScenarioError> {
            let v = v.ok_or_else(|| {
                self.err(
                    &format!("{path}.{field}"),
                    format!("a {} profile needs `{field}`", f.kind),
                )
            })?;
            if !v.is_finite() || v < 0.0 {
                return Err(self.err(
                    &format!("{path}.{field}"),
                    "a rate must be a non-negative number",
                ));
            }
            Ok(v)
        };
        let time = |v: &Option<DurationText>,
                    field: &str,
                    default: Option<SimDuration>|
         -> Result<SimTime, ScenarioError> {
            match (v, default) {
                (Some(d), _) => Ok(SimTime::ZERO + self.dur(&format!("{path}.{field}"), d)?),
                (None, Some(d)) => Ok(SimTime::ZERO + d),
                (None, None) => Err(self.err(
                    &format!("{path}.{field}"),
                    format!("a {} profile needs `{field}`", f.kind),
                )),
            }
        };
        Ok(match f.kind.as_str() {
            "constant" => LoadProfile::Constant {
                rps: rate(f.rps, "rps")?,
            },
            "step" => LoadProfile::Step {
                from: rate(f.from, "from")?,
                to: rate(f.to, "to")?,
                at: time(&f.at, "at", None)?,
            },
            "ramp" => {
                let (start, end) = (time(&f.start, "start", None)?, time(&f.end, "end", None)?);
                if end <= start {
                    return Err(self.err(&format!("{path}.end"), "a ramp must end after it starts"));
                }
                LoadProfile::Ramp {
                    from: rate(f.from, "from")?,
                    to: rate(f.to, "to")?,
                    start,
                    end,
                }
            }
            "diurnal" => {
                let period = time(&f.period, "period", Some(SimDuration::from_secs(86_400)))?
                    .since(SimTime::ZERO);
                if period.as_ms() == 0 {
                    return Err(self.err(
                        &format!("{path}.period"),
                        "the period must be greater than zero",
                    ));
                }
                let (min, max) = (rate(f.min, "min")?, rate(f.max, "max")?);
                if min > max {
                    return Err(self.err(&format!("{path}.min"), "min must not exceed max"));
                }
                LoadProfile::Diurnal {
                    min,
                    max,
                    period,
                    peak_at: time(
                        &f.peak_at,
                        "peak_at",
                        Some(SimDuration::from_secs(14 * 3600)),
                    )?,
                }
            }
            "spike" => {
                let d = f.duration.as_ref().ok_or_else(|| {
                    self.err(
                        &format!("{path}.duration"),
                        "a spike profile needs `duration`",
                    )
                })?;
                LoadProfile::Spike {
                    base: rate(f.base, "base")?,
                    peak: rate(f.peak, "peak")?,
                    at: time(&f.at, "at", None)?,
                    duration: self.dur(&format!("{path}.duration"), d)?,
                }
            }
            "trace" => {
                let file = f.file.as_ref().ok_or_else(|| {
                    self.err(&format!("{path}.file"), "a trace profile needs `file`")
                })?;
                let full = self
                    .base
                    .map(|b| b.join(file))
                    .unwrap_or_else(|| file.into());
                let text = std::fs::read_to_string(&full).map_err(|e| {
                    self.err(
                        &format!("{path}.file"),
                        format!("cannot read {}: {e}", full.display()),
                    )
                })?;
                LoadProfile::Trace {
                    points: parse_trace(&text, duration).map_err(|e| {
                        self.err(&format!("{path}.file"), format!("{}: {e}", full.display()))
                    })?,
                }
            }
            other => {
                return Err(self.err(
                    &format!("{path}.kind"),
                    format!(
                        "unknown profile `{other}` (constant, step, ramp, diurnal, spike or trace)"
                    ),
                ));
            }
        })
    }

    fn build_timeline(
        &self,
        world: &mut World,
        deployments: &BTreeMap<String, DeploymentSpec>,
        duration: SimDuration,
    ) -> Result<Vec<FailurePlan>, ScenarioError> {
        let end = SimTime::ZERO + duration;
        let mut applied_later: BTreeMap<&str, SimTime> = BTreeMap::new();
        let mut failures = Vec::new();
        let mut names: BTreeMap<String, usize> = BTreeMap::new();
        for (i, e) in self.sf.timeline.iter().enumerate() {
            let p = format!("timeline[{i}]");
            let at = SimTime::ZERO + self.dur(&format!("{p}.at"), &e.at)?;
            if at > end {
                return Err(self.err(
                    &format!("{p}.at"),
                    format!("at {at} is after the end of the run ({end})"),
                ));
            }
            let kinds = [
                e.fault_domain_outage.is_some(),
                e.ad_outage.is_some(),
                e.node_failure.is_some(),
                e.scale.is_some(),
                e.apply.is_some(),
                e.rollout.is_some(),
                e.consume_ips.is_some(),
                e.release_ips.is_some(),
                e.vault_outage.is_some(),
                e.rotate_secret.is_some(),
                e.delete_secret.is_some(),
                e.set_mysql_password.is_some(),
                e.cordon.is_some(),
                e.uncordon.is_some(),
                e.drain.is_some(),
            ];
            if kinds.iter().filter(|k| **k).count() != 1 {
                return Err(self.err(&p, "each timeline entry needs exactly one of: fault_domain_outage, ad_outage, node_failure, scale, apply, rollout, consume_ips, release_ips, vault_outage, rotate_secret, delete_secret, set_mysql_password, cordon, uncordon, drain"));
            }
            let until = match &e.duration {
                None => None,
                Some(d) => Some(at + self.dur(&format!("{p}.duration"), d)?),
            };
            let is_failure = kinds[0] || kinds[1] || kinds[2];
            if let Some((label, action, end)) =
                super::wiring::timeline_action(self.doc, &p, e, world)?
            {
                world.schedule_action(at, label, action);
                if let (Some(u), Some((l, a))) = (until, end) {
                    world.schedule_action(u, l, a);
                } else if until.is_some() {
                    return Err(self.err(
                        &format!("{p}.duration"),
                        "`duration` applies only to failures and vault outages",
                    ));
                }
                continue;
            }
            if until.is_some() && !is_failure {
                return Err(self.err(
                    &format!("{p}.duration"),
                    "`duration` applies only to failures",
                ));
            }
            if let Some((label, action)) = self.node_action(world, &p, e, i, &mut names)? {
                world.schedule_action(at, label, action);
                continue;
            }
            let (label, action) = if let Some(d) = &e.fault_domain_outage {
                let ad = world.topology.ad(&d.availability_domain).map_err(|x| {
                    self.err(
                        &format!("{p}.fault_domain_outage.availability_domain"),
                        x.to_string(),
                    )
                })?;
                let fd_name = d.fault_domain.as_ref().ok_or_else(|| {
                    self.err(
                        &format!("{p}.fault_domain_outage"),
                        "an FD outage needs `fault_domain`",
                    )
                })?;
                let fd = FaultDomain::parse(fd_name).map_err(|x| {
                    self.err(
                        &format!("{p}.fault_domain_outage.fault_domain"),
                        x.to_string(),
                    )
                })?;
                (
                    format!("fault domain outage {}/{fd}", ad.zone_label),
                    Some(FailureScope::FaultDomain { ad: ad.number, fd }),
                )
            } else if let Some(d) = &e.ad_outage {
                if d.fault_domain.is_some() {
                    return Err(self.err(
                        &format!("{p}.ad_outage.fault_domain"),
                        "an AD outage takes the whole AD; use fault_domain_outage for one FD",
                    ));
                }
                let ad = world.topology.ad(&d.availability_domain).map_err(|x| {
                    self.err(&format!("{p}.ad_outage.availability_domain"), x.to_string())
                })?;
                (
                    format!("availability domain outage {}", ad.zone_label),
                    Some(FailureScope::AvailabilityDomain { ad: ad.number }),
                )
            } else if let Some(n) = &e.node_failure {
                let name = self.node_ref(world, &format!("{p}.node_failure"), n)?;
                (
                    format!("virtual node failure {name}"),
                    Some(FailureScope::Node(name)),
                )
            } else {
                (String::new(), None)
            };
            if let Some(scope) = action {
                let id = failures.len() as u32;
                let name = e
                    .name
                    .clone()
                    .unwrap_or_else(|| format!("failure-{}", id + 1));
                if names.insert(name.clone(), i).is_some() {
                    return Err(self.err(
                        &format!("{p}.name"),
                        format!("timeline name `{name}` is used twice"),
                    ));
                }
                let full = match until {
                    Some(u) => format!("{label} until {u}"),
                    None => label.clone(),
                };
                world.schedule_action(at, full.clone(), Action::Fail { scope, failure: id });
                if let Some(u) = until {
                    if u > end {
                        return Err(self.err(
                            &format!("{p}.duration"),
                            format!("recovery at {u} is after the end of the run ({end})"),
                        ));
                    }
                    world.schedule_action(
                        u,
                        format!("recovery from {name}"),
                        Action::Recover { failure: id },
                    );
                }
                failures.push(FailurePlan {
                    name,
                    at,
                    until,
                    label,
                });
                continue;
            }
            if let Some(s) = &e.scale {
                if !deployments.contains_key(&s.deployment) {
                    return Err(self.err(
                        &format!("{p}.scale.deployment"),
                        format!("no Deployment named `{}` among the manifests", s.deployment),
                    ));
                }
                if let Some(t) = applied_later
                    .get(s.deployment.as_str())
                    .filter(|t| **t > at)
                {
                    return Err(self.err(
                        &format!("{p}.scale"),
                        format!("Deployment `{}` is only applied at {t}", s.deployment),
                    ));
                }
                if s.replicas > super::manifest::MAX_REPLICAS {
                    return Err(self.err(
                        &format!("{p}.scale.replicas"),
                        format!("replicas must be at most {}", super::manifest::MAX_REPLICAS),
                    ));
                }
                world.schedule_action(
                    at,
                    format!("scale {} to {}", s.deployment, s.replicas),
                    Action::Scale {
                        deployment: s.deployment.clone(),
                        replicas: s.replicas,
                    },
                );
            } else if let Some(r) = &e.rollout {
                if !deployments.contains_key(&r.deployment) {
                    return Err(self.err(
                        &format!("{p}.rollout.deployment"),
                        format!("no Deployment named `{}` among the manifests", r.deployment),
                    ));
                }
                if let Some(t) = applied_later
                    .get(r.deployment.as_str())
                    .filter(|t| **t >= at)
                {
                    return Err(self.err(
                        &format!("{p}.rollout"),
                        format!("Deployment `{}` is only applied at {t}", r.deployment),
                    ));
                }
                if r.image.trim().is_empty() {
                    return Err(self.err(&format!("{p}.rollout.image"), "an image is required"));
                }
                world.schedule_action(
                    at,
                    format!("roll out {} to image {}", r.deployment, r.image),
                    Action::Rollout {
                        deployment: r.deployment.clone(),
                        image: r.image.clone(),
                    },
                );
            } else if let Some(a) = &e.apply {
                if !deployments.contains_key(&a.deployment) {
                    return Err(self.err(
                        &format!("{p}.apply.deployment"),
                        format!("no Deployment named `{}` among the manifests", a.deployment),
                    ));
                }
                if applied_later.insert(a.deployment.as_str(), at).is_some() {
                    return Err(self.err(
                        &format!("{p}.apply"),
                        format!("Deployment `{}` is applied twice", a.deployment),
                    ));
                }
            } else if let Some(c) = &e.consume_ips {
                let subnet = world
                    .network
                    .subnet_named(&c.subnet)
                    .map_err(|x| self.err(&format!("{p}.consume_ips.subnet"), x.to_string()))?;
                world.schedule_action(
                    at,
                    format!("consume {} IPs in subnet {}", c.count, c.subnet),
                    Action::ConsumeIps {
                        subnet,
                        count: c.count,
                    },
                );
            } else if let Some(c) = &e.release_ips {
                let subnet = world
                    .network
                    .subnet_named(&c.subnet)
                    .map_err(|x| self.err(&format!("{p}.release_ips.subnet"), x.to_string()))?;
                world.schedule_action(
                    at,
                    format!("release {} IPs in subnet {}", c.count, c.subnet),
                    Action::ReleaseIps {
                        subnet,
                        count: c.count,
                    },
                );
            }
        }
        // Deployments without an `apply` entry are applied at t=0, before anything else at t=0.
        let mut applies: Vec<(SimTime, &DeploymentSpec)> = deployments
            .values()
            .map(|d| {
                (
                    applied_later
                        .get(d.name.as_str())
                        .copied()
                        .unwrap_or(SimTime::ZERO),
                    d,
                )
            })
            .collect();
        applies.sort_by_key(|(t, d)| (*t, d.name.clone()));
        for (t, d) in applies {
            let size = d
                .template
                .size
                .map(|s| {
                    let warn = if s.request_differs_from_limit {
                        "; request != limit, sized by the limit"
                    } else {
                        ""
                    };
                    format!(", each pod {} OCPU / {} GB{warn}", s.ocpus, s.memory_gb)
                })
                .unwrap_or_default();
            let label = format!(
                "apply Deployment {}/{} ({} replicas{size})",
                d.namespace, d.name, d.replicas
            );
            world.schedule_action(t, label, Action::ApplyDeployment(Box::new(d.clone())));
        }
        Ok(failures)
    }

    /// A `cordon`, `uncordon` or `drain` entry, resolved (None for other kinds).
    fn node_action(
        &self,
        world: &mut World,
        p: &str,
        e: &file::TimelineEntry,
        i: usize,
        names: &mut BTreeMap<String, usize>,
    ) -> Result<Option<(String, Action)>, ScenarioError> {
        let (field, n, cordon) = match (&e.cordon, &e.uncordon, &e.drain) {
            (Some(n), _, _) => ("cordon", n, Some(true)),
            (_, Some(n), _) => ("uncordon", n, Some(false)),
            (_, _, Some(n)) => ("drain", n, None),
            _ => return Ok(None),
        };
        let path = format!("{p}.{field}");
        let (scope, what) = self.nodes_scope(world, &path, n)?;
        if let Some(cordon) = cordon {
            if n.timeout.is_some() {
                return Err(self.err(
                    &format!("{path}.timeout"),
                    "`timeout` applies only to drain",
                ));
            }
            return Ok(Some((
                format!("{field} {what}"),
                Action::Cordon { scope, cordon },
            )));
        }
        let timeout = n
            .timeout
            .as_ref()
            .map(|t| self.dur(&format!("{path}.timeout"), t))
            .transpose()?
            .filter(|t| t.as_ms() > 0);
        let name = e
            .name
            .clone()
            .unwrap_or_else(|| format!("drain-{}", world.drains.len() + 1));
        if names.insert(name.clone(), i).is_some() {
            return Err(self.err(
                &format!("{p}.name"),
                format!("timeline name `{name}` is used twice"),
            ));
        }
        let limit = timeout.map_or(String::new(), |t| format!(", timeout {t} per node"));
        let d = world.add_drain(name.clone(), scope, timeout);
        Ok(Some((
            format!("drain {what} ({name}{limit})"),
            Action::Drain(d),
        )))
    }

    /// The nodes a cordon, uncordon or drain names: one node, an FD or an AD.
    fn nodes_scope(
        &self,
        world: &World,
        path: &str,
        n: &file::NodesFile,
    ) -> Result<(FailureScope, String), ScenarioError> {
        if n.node.is_some() || n.pool.is_some() || n.index.is_some() {
            if n.availability_domain.is_some() || n.fault_domain.is_some() {
                return Err(self.err(
                    path,
                    "name either one node (`node`, or `pool` and `index`) or a domain (`availability_domain`, `fault_domain`)",
                ));
            }
            let r = file::NodeRef {
                node: n.node.clone(),
                pool: n.pool.clone(),
                index: n.index,
            };
            let name = self.node_ref(world, path, &r)?;
            return Ok((FailureScope::Node(name.clone()), format!("node {name}")));
        }
        let ad_name = n.availability_domain.as_ref().ok_or_else(|| {
            self.err(
                path,
                "name a node (`node`, or `pool` and `index`) or a domain (`availability_domain`, optionally `fault_domain`)",
            )
        })?;
        let ad = world
            .topology
            .ad(ad_name)
            .map_err(|x| self.err(&format!("{path}.availability_domain"), x.to_string()))?;
        Ok(match &n.fault_domain {
            None => (
                FailureScope::AvailabilityDomain { ad: ad.number },
                format!("every node of {}", ad.zone_label),
            ),
            Some(f) => {
                let fd = FaultDomain::parse(f)
                    .map_err(|x| self.err(&format!("{path}.fault_domain"), x.to_string()))?;
                (
                    FailureScope::FaultDomain { ad: ad.number, fd },
                    format!("every node of {}/{fd}", ad.zone_label),
                )
            }
        })
    }

    fn node_ref(
        &self,
        world: &World,
        path: &str,
        n: &file::NodeRef,
    ) -> Result<String, ScenarioError> {
        match (&n.node, &n.pool, n.index) {
            (Some(name), None, None) => world
                .kube
                .node_named(name)
                .map(|_| name.clone())
                .ok_or_else(|| {
                    self.err(
                        &format!("{path}.node"),
                        format!("no virtual node named `{name}`"),
                    )
                }),
            (None, Some(pool), Some(index)) => {
                let pid = world
                    .oke
                    .pools
                    .iter()
                    .position(|p| &p.name == pool)
                    .ok_or_else(|| {
                        self.err(
                            &format!("{path}.pool"),
                            format!("no virtual node pool named `{pool}`"),
                        )
                    })?;
                let nodes: Vec<&str> = world
                    .kube
                    .nodes
                    .iter()
                    .filter(|x| x.virtual_node.pool.0 as usize == pid)
                    .map(|x| x.name.as_str())
                    .collect();
                nodes.get(index).map(|s| s.to_string()).ok_or_else(|| {
                    self.err(
                        &format!("{path}.index"),
                        format!("pool `{pool}` has {} nodes", nodes.len()),
                    )
                })
            }
            _ => Err(self.err(
                path,
                "name a node either by `node` or by `pool` and `index`",
            )),
        }
    }

    fn expectations(
        &self,
        deployments: &BTreeMap<String, DeploymentSpec>,
        failures: &[FailurePlan],
        duration: SimDuration,
        world: &World,
    ) -> Result<Vec<(String, Expectation)>, ScenarioError> {
        let end = SimTime::ZERO + duration;
        let loaded: std::collections::BTreeSet<&str> = world
            .metrics
            .loads
            .iter()
            .map(|l| l.deployment.as_str())
            .collect();
        let mut out = Vec::new();
        for (i, e) in self.sf.expect.iter().enumerate() {
            let p = format!("expect[{i}]");
            let count = [
                e.ready_replicas.is_some(),
                e.max_pods_per_domain.is_some(),
                e.max_skew.is_some(),
                e.max_pending.is_some(),
                e.pending_pods.is_some(),
                e.recovery_time.is_some(),
                e.replicas.is_some(),
                e.latency.is_some(),
                e.error_rate.is_some(),
                e.time_to_ready.is_some(),
                e.reachable.is_some(),
                e.external_secret.is_some(),
                e.drain_completes.is_some(),
                e.disruptions_blocked.is_some(),
            ]
            .iter()
            .filter(|b| **b)
            .count();
            if count != 1 {
                return Err(self.err(&p, "each expectation needs exactly one of: ready_replicas, max_pods_per_domain, max_skew, max_pending, pending_pods, recovery_time, replicas, latency, error_rate, time_to_ready, reachable, external_secret, drain_completes, disruptions_blocked"));
            }
            let dep = |field: &str, name: &str| -> Result<String, ScenarioError> {
                if deployments.contains_key(name) {
                    Ok(name.to_string())
                } else {
                    Err(self.err(
                        &format!("{p}.{field}.deployment"),
                        format!("no Deployment named `{name}` among the manifests"),
                    ))
                }
            };
            let window = |field: &str,
                          after: &Option<DurationText>,
                          until: &Option<DurationText>|
             -> Result<(SimTime, SimTime), ScenarioError> {
                let a = match after {
                    Some(d) => SimTime::ZERO + self.dur(&format!("{p}.{field}.after"), d)?,
                    None => SimTime::ZERO,
                };
                let u = match until {
                    Some(d) => SimTime::ZERO + self.dur(&format!("{p}.{field}.until"), d)?,
                    None => end,
                };
                if a > u || u > end {
                    return Err(self.err(
                        &format!("{p}.{field}"),
                        format!("window {a}..{u} must lie within the run (0..{end})"),
                    ));
                }
                Ok((a, u))
            };
            let (label, exp) = if let Some(r) = &e.ready_replicas {
                let (after, until) = window("ready_replicas", &r.after, &r.until)?;
                (
                    format!(
                        "ready_replicas {} >= {} from {after} to {until}",
                        r.deployment, r.min
                    ),
                    Expectation::ReadyReplicas {
                        deployment: dep("ready_replicas", &r.deployment)?,
                        min: r.min,
                        after,
                        until,
                    },
                )
            } else if let Some(r) = &e.max_pods_per_domain {
                let (after, until) = window("max_pods_per_domain", &r.after, &r.until)?;
                let key = topology_key(r.topology_key.as_deref());
                (
                    format!(
                        "max_pods_per_domain {} <= {} per {key} from {after} to {until}",
                        r.deployment, r.max
                    ),
                    Expectation::MaxPodsPerDomain {
                        deployment: dep("max_pods_per_domain", &r.deployment)?,
                        key,
                        max: r.max,
                        after,
                        until,
                    },
                )
            } else if let Some(r) = &e.max_skew {
                let (after, until) = window("max_skew", &r.after, &r.until)?;
                let key = topology_key(r.topology_key.as_deref());
                (
                    format!(
                        "max_skew {} <= {} over {key} from {after} to {until}",
                        r.deployment, r.max
                    ),
                    Expectation::MaxSkew {
                        deployment: dep("max_skew", &r.deployment)?,
                        key,
                        max: r.max,
                        after,
                        until,
                    },
                )
            } else if let Some(r) = &e.max_pending {
                let max = self.dur(&format!("{p}.max_pending.max"), &r.max)?;
                let d = r
                    .deployment
                    .as_deref()
                    .map(|d| dep("max_pending", d))
                    .transpose()?;
                (
                    format!(
                        "max_pending {} <= {max}",
                        d.as_deref().unwrap_or("all pods")
                    ),
                    Expectation::MaxPending { deployment: d, max },
                )
            } else if let Some(r) = &e.pending_pods {
                let at = match &r.at {
                    Some(d) => SimTime::ZERO + self.dur(&format!("{p}.pending_pods.at"), d)?,
                    None => end,
                };
                if at > end {
                    return Err(
                        self.err(&format!("{p}.pending_pods.at"), "must lie within the run")
                    );
                }
                let reason = r
                    .reason_contains
                    .as_ref()
                    .map(|s| format!(" with reason containing \"{s}\""))
                    .unwrap_or_default();
                (
                    format!(
                        "pending_pods {} == {} at {at}{reason}",
                        r.deployment, r.count
                    ),
                    Expectation::PendingPods {
                        deployment: dep("pending_pods", &r.deployment)?,
                        count: r.count,
                        at,
                        reason: r.reason_contains.clone(),
                    },
                )
            } else if let Some(r) = &e.latency {
                let (after, until) = window("latency", &r.after, &r.until)?;
                if !(r.percentile > 0.0 && r.percentile < 100.0) {
                    return Err(self.err(
                        &format!("{p}.latency.percentile"),
                        "percentile must be between 0 and 100",
                    ));
                }
                if !loaded.contains(r.deployment.as_str()) {
                    return Err(self.err(
                        &format!("{p}.latency.deployment"),
                        format!("Deployment `{}` has no `load`", r.deployment),
                    ));
                }
                let max = self.dur(&format!("{p}.latency.max"), &r.max)?;
                (
                    format!(
                        "latency {} p{} <= {max} from {after} to {until}",
                        r.deployment, r.percentile
                    ),
                    Expectation::Latency {
                        deployment: dep("latency", &r.deployment)?,
                        percentile: r.percentile,
                        max,
                        after,
                        until,
                    },
                )
            } else if let Some(r) = &e.error_rate {
                let (after, until) = window("error_rate", &r.after, &r.until)?;
                if !(0.0..=1.0).contains(&r.max) {
                    return Err(self.err(
                        &format!("{p}.error_rate.max"),
                        "max is a share between 0 and 1 (0.01 = 1 %)",
                    ));
                }
                if !loaded.contains(r.deployment.as_str()) {
                    return Err(self.err(
                        &format!("{p}.error_rate.deployment"),
                        format!("Deployment `{}` has no `load`", r.deployment),
                    ));
                }
                (
                    format!(
                        "error_rate {} <= {} from {after} to {until}",
                        r.deployment, r.max
                    ),
                    Expectation::ErrorRate {
                        deployment: dep("error_rate", &r.deployment)?,
                        max: r.max,
                        after,
                        until,
                    },
                )
            } else if let Some(r) = &e.time_to_ready {
                let after =
                    SimTime::ZERO + self.dur(&format!("{p}.time_to_ready.after"), &r.after)?;
                if after > end {
                    return Err(self.err(
                        &format!("{p}.time_to_ready.after"),
                        "must lie within the run",
                    ));
                }
                let max = self.dur(&format!("{p}.time_to_ready.max"), &r.max)?;
                (
                    format!(
                        "time_to_ready {} >= {} Ready within {max} of {after}",
                        r.deployment, r.ready
                    ),
                    Expectation::TimeToReady {
                        deployment: dep("time_to_ready", &r.deployment)?,
                        ready: r.ready,
                        after,
                        max,
                    },
                )
            } else if let Some(r) = &e.replicas {
                let (after, until) = window("replicas", &r.after, &r.until)?;
                if r.min.is_none() && r.max.is_none() {
                    return Err(self.err(&format!("{p}.replicas"), "give `min`, `max` or both"));
                }
                let (min, max) = (r.min.unwrap_or(0), r.max.unwrap_or(u32::MAX));
                let bounds = match (r.min, r.max) {
                    (Some(a), Some(b)) => format!("in [{a}, {b}]"),
                    (Some(a), None) => format!(">= {a}"),
                    _ => format!("<= {max}"),
                };
                (
                    format!("replicas {} {bounds} from {after} to {until}", r.deployment),
                    Expectation::Replicas {
                        deployment: dep("replicas", &r.deployment)?,
                        min,
                        max,
                        after,
                        until,
                    },
                )
            } else if let Some(r) = &e.recovery_time {
                if !failures.iter().any(|f| f.name == r.failure) {
                    let known: Vec<&str> = failures.iter().map(|f| f.name.as_str()).collect();
                    return Err(self.err(
                        &format!("{p}.recovery_time.failure"),
                        format!(
                            "no failure named `{}` in the timeline (known: {})",
                            r.failure,
                            known.join(", ")
                        ),
                    ));
                }
                let max = r
                    .max
                    .as_ref()
                    .map(|d| self.dur(&format!("{p}.recovery_time.max"), d))
                    .transpose()?;
                if max.is_none() && !r.never {
                    return Err(
                        self.err(&format!("{p}.recovery_time"), "give `max` or `never: true`")
                    );
                }
                let label = match max {
                    Some(m) => format!("recovery_time {} <= {m}", r.failure),
                    None => format!("recovery_time {} never", r.failure),
                };
                (
                    label,
                    Expectation::RecoveryTime {
                        failure: r.failure.clone(),
                        max,
                        never: r.never,
                    },
                )
            } else if let Some(r) = &e.reachable {
                let (label, check) =
                    super::wiring::reachable(self.doc, &format!("{p}.reachable"), r, world)?;
                (label, Expectation::Reachable(Box::new(check)))
            } else if let Some(x) = &e.drain_completes {
                super::disruption::drain_completes(
                    self.doc,
                    &format!("{p}.drain_completes"),
                    x,
                    world,
                )?
            } else if let Some(x) = &e.disruptions_blocked {
                super::disruption::disruptions_blocked(
                    self.doc,
                    &format!("{p}.disruptions_blocked"),
                    x,
                    world,
                )?
            } else if let Some(x) = &e.external_secret {
                let (label, check) = super::wiring::external_secret_expectation(
                    self.doc,
                    &format!("{p}.external_secret"),
                    x,
                    world,
                )?;
                (label, Expectation::ExternalSecret(Box::new(check)))
            } else {
                unreachable!("exactly one kind was checked above")
            };
            out.push((label, exp));
        }
        Ok(out)
    }
}

/// Parses a CSV trace of `seconds,rps` lines (a header line is allowed).
fn parse_trace(text: &str, duration: SimDuration) -> Result<Vec<(SimTime, f64)>, String> {
    let mut points: Vec<(SimTime, f64)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (t, r) = line
            .split_once(',')
            .ok_or_else(|| format!("line {}: expected `seconds,rps`", i + 1))?;
        let (Ok(t), Ok(r)) = (t.trim().parse::<f64>(), r.trim().parse::<f64>()) else {
            if points.is_empty() && i == 0 {
                continue; // a header
            }
            return Err(format!("line {}: `{line}` is not `seconds,rps`", i + 1));
        };
        if !(t.is_finite() && r.is_finite()) || t < 0.0 || r < 0.0 {
            return Err(format!(
                "line {}: time and rate must be non-negative",
                i + 1
            ));
        }
        let at = SimTime((t * 1000.0).round() as u64);
        if points.last().is_some_and(|(p, _)| *p >= at) {
            return Err(format!("line {}: times must increase", i + 1));
        }
        if at > SimTime::ZERO + duration {
            break;
        }
        points.push((at, r));
    }
    if points.is_empty() {
        return Err("the trace has no points".into());
    }
    Ok(points)
}

/// Resolves the topology-key shorthands `fault-domain`, `zone` and `node`.
pub fn topology_key(k: Option<&str>) -> String {
    match k.unwrap_or("fault-domain") {
        "fault-domain" => LABEL_FAULT_DOMAIN.into(),
        "zone" => LABEL_ZONE.into(),
        "node" | "hostname" => LABEL_HOSTNAME.into(),
        other => other.into(),
    }
}

fn parse_ports(s: &str) -> Result<(u16, u16), String> {
    let bad = || format!("`{s}` is not a port or a range like 30000-32767");
    let (a, b) = match s.split_once('-') {
        Some((a, b)) => (
            a.trim().parse::<u16>().map_err(|_| bad())?,
            b.trim().parse::<u16>().map_err(|_| bad())?,
        ),
        None => {
            let p = s.trim().parse::<u16>().map_err(|_| bad())?;
            (p, p)
        }
    };
    if a == 0 || a > b {
        return Err(bad());
    }
    Ok((a, b))
}
