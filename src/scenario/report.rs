//! The run report: one serializable structure, rendered as text or JSON.
//! Everything in it is derived from the run, so the same seed gives the same
//! bytes.

use std::collections::BTreeMap;
use std::fmt::Write;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::sim::World;
use crate::sim::world::ExplainedAttempt;

/// The whole report.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Scenario name.
    pub scenario: String,
    /// Scenario description.
    pub description: Option<String>,
    /// Scenario file.
    pub file: String,
    /// Seed used.
    pub seed: u64,
    /// Command that reproduces the run.
    pub reproduce: String,
    /// Region identifier.
    pub region: String,
    /// AD names.
    pub availability_domains: Vec<String>,
    /// Cluster summary.
    pub cluster: String,
    /// Simulated duration.
    pub duration: String,
    /// False when the event limit stopped the run early.
    pub completed: bool,
    /// Events processed.
    pub events: u64,
    /// Log records appended.
    pub log_records: u64,
    /// Stable hash of the event log.
    pub log_hash: String,
    /// Virtual nodes at the end.
    pub nodes: Vec<NodeRow>,
    /// Subnet use at the end.
    pub subnets: Vec<SubnetRow>,
    /// Timeline actions.
    pub timeline: Vec<TimelineRow>,
    /// Pods per fault domain over time.
    pub samples: Vec<Sample>,
    /// Failures and recovery.
    pub failures: Vec<FailureRow>,
    /// Pods still pending at the end, with the scheduler's reason.
    pub pending_at_end: Vec<PendingRow>,
    /// Creation → binding.
    pub scheduling_latency: LatencySummary,
    /// Binding → Ready.
    pub startup_latency: LatencySummary,
    /// Requests per Deployment under load: served, failed by cause, latency.
    pub traffic: Vec<TrafficRow>,
    /// What the run cost.
    pub cost: CostRow,
    /// HPA decisions that changed a replica count, with their inputs.
    pub scaling: Vec<ScalingRow>,
    /// Rollouts: each ReplicaSet's replicas over time and the completion time.
    pub rollouts: Vec<RolloutRow>,
    /// PodDisruptionBudgets: status over time and at the end.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pdbs: Vec<super::disruption::PdbRow>,
    /// Drains: evictions done and refused, completion or timeout.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub drains: Vec<super::disruption::DrainRow>,
    /// Explained scheduling attempts (`--explain`).
    pub explained: Vec<ExplainedRow>,
    /// Reachability, secrets and the database (left out when the scenario has none).
    #[serde(skip_serializing_if = "super::wiring::WiringReport::is_empty")]
    pub wiring: super::wiring::WiringReport,
    /// Expectation verdicts.
    pub expectations: Vec<ExpectationResult>,
    /// Expectations passed.
    pub passed: usize,
    /// Expectations failed.
    pub failed: usize,
}

/// A virtual node.
#[derive(Debug, Serialize)]
pub struct NodeRow {
    /// Name (its IP).
    pub name: String,
    /// Pool.
    pub pool: String,
    /// AD name.
    pub availability_domain: String,
    /// FD name.
    pub fault_domain: String,
    /// Bound, non-terminating pods.
    pub pods: u32,
    /// Ready at the end.
    pub ready: bool,
}

/// A subnet's address use.
#[derive(Debug, Serialize)]
pub struct SubnetRow {
    /// Name.
    pub name: String,
    /// CIDR.
    pub cidr: String,
    /// Usable addresses.
    pub capacity: u64,
    /// Addresses in use at the end.
    pub used: u64,
}

/// A timeline action.
#[derive(Debug, Serialize)]
pub struct TimelineRow {
    /// When.
    pub at: String,
    /// What.
    pub action: String,
}

/// One sample of every deployment.
#[derive(Debug, Serialize)]
pub struct Sample {
    /// Time in ms.
    pub at_ms: u64,
    /// Time as text.
    pub at: String,
    /// Per deployment.
    pub deployments: Vec<DeploymentSample>,
}

/// One deployment at one sample.
#[derive(Debug, Serialize)]
pub struct DeploymentSample {
    /// Name.
    pub deployment: String,
    /// Desired replicas.
    pub desired: u32,
    /// Ready pods.
    pub ready: u32,
    /// Pending (unbound) pods.
    pub pending: u32,
    /// Bound, non-terminating pods per `AD/FD`.
    pub per_fault_domain: BTreeMap<String, u32>,
    /// Offered requests per second, for a Deployment under load.
    pub offered_rps: Option<f64>,
    /// Average CPU utilization of its Ready pods (usage / request, percent).
    pub cpu_utilization: Option<u32>,
    /// p99 latency of the latest 15 s interval, ms.
    pub p99_ms: Option<u64>,
    /// Failed share of the latest 15 s interval.
    pub error_rate: Option<f64>,
}

/// One failure and its recovery.
#[derive(Debug, Serialize)]
pub struct FailureRow {
    /// Name.
    pub name: String,
    /// What failed.
    pub what: String,
    /// Start.
    pub at: String,
    /// End, if any.
    pub until: Option<String>,
    /// First instant with fewer ready replicas than desired.
    pub impact_at: Option<String>,
    /// Fewest ready replicas (ready/desired, all deployments).
    pub min_ready: Option<String>,
    /// First instant with every deployment fully ready and nothing pending.
    pub recovered_at: Option<String>,
    /// From the failure to recovery, in ms.
    pub recovery_ms: Option<u64>,
}

/// A pod pending at the end.
#[derive(Debug, Serialize)]
pub struct PendingRow {
    /// Pod name.
    pub pod: String,
    /// Deployment.
    pub deployment: String,
    /// Created at.
    pub since: String,
    /// The scheduler's message.
    pub message: String,
}

/// Percentiles of a latency histogram, in ms.
#[derive(Debug, Serialize)]
pub struct LatencySummary {
    /// Samples.
    pub count: u64,
    /// Median.
    pub p50_ms: u64,
    /// 90th percentile.
    pub p90_ms: u64,
    /// 99th percentile.
    pub p99_ms: u64,
    /// Maximum.
    pub max_ms: u64,
}

impl LatencySummary {
    /// Summarizes a histogram.
    pub fn from_histogram(h: &Histogram<u64>) -> Self {
        LatencySummary {
            count: h.len(),
            p50_ms: h.value_at_quantile(0.5),
            p90_ms: h.value_at_quantile(0.9),
            p99_ms: h.value_at_quantile(0.99),
            max_ms: h.max(),
        }
    }
}

/// One Deployment's requests over the whole run.
#[derive(Debug, Serialize)]
pub struct TrafficRow {
    /// The Deployment.
    pub deployment: String,
    /// Requests offered.
    pub offered: u64,
    /// Requests served.
    pub served: u64,
    /// Failed: over the load balancer's bandwidth.
    pub failed_bandwidth: u64,
    /// Failed: sent to a dead backend before health checks caught it.
    pub failed_dead_backend: u64,
    /// Failed: no healthy backend.
    pub failed_no_backend: u64,
    /// Failed: over the pods' capacity or past the timeout.
    pub failed_overload: u64,
    /// Failed: the database had no primary.
    #[serde(skip_serializing_if = "is_zero")]
    pub failed_db_unavailable: u64,
    /// Failed: the network path to the database is closed.
    #[serde(skip_serializing_if = "is_zero")]
    pub failed_db_unreachable: u64,
    /// Failed: wrong or missing database password.
    #[serde(skip_serializing_if = "is_zero")]
    pub failed_db_auth: u64,
    /// Served / offered.
    pub availability: f64,
    /// Latency of served requests.
    pub latency: LatencySummary,
    /// For a load through an ingress controller: the controller, and the
    /// failures (included above) that happened there rather than at the app.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ingress: Option<IngressTier>,
}

/// The ingress-controller tier's part of a load's failures.
#[derive(Debug, Serialize)]
pub struct IngressTier {
    /// The ingress controller Deployment.
    pub controller: String,
    /// Over the load balancer's bandwidth.
    pub failed_bandwidth: u64,
    /// Sent to a dead controller pod before health checks caught it.
    pub failed_dead_backend: u64,
    /// No controller pod in rotation.
    pub failed_no_backend: u64,
    /// Over the controller pods' capacity or past the timeout.
    pub failed_overload: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The bill, in USD (rounded to cents) and resource hours.
#[derive(Debug, Serialize)]
pub struct CostRow {
    /// Enhanced cluster hours.
    pub cluster_usd: f64,
    /// Virtual node hours.
    pub virtual_nodes_usd: f64,
    /// Pod OCPU hours.
    pub pod_ocpu_usd: f64,
    /// Pod memory hours.
    pub pod_memory_usd: f64,
    /// Everything.
    pub total_usd: f64,
    /// OCPU hours consumed by pods.
    pub ocpu_hours: f64,
    /// GB hours consumed by pods.
    pub gb_hours: f64,
}

impl CostRow {
    /// Rounds a bill for the report.
    pub fn from_bill(b: &crate::model::pricing::Bill) -> Self {
        let cents = |v: f64| (v * 100.0).round() / 100.0;
        let tenth = |v: f64| (v * 10.0).round() / 10.0;
        CostRow {
            cluster_usd: cents(b.cluster),
            virtual_nodes_usd: cents(b.virtual_nodes),
            pod_ocpu_usd: cents(b.pod_ocpu),
            pod_memory_usd: cents(b.pod_memory),
            total_usd: cents(b.total()),
            ocpu_hours: tenth(b.ocpu_hours),
            gb_hours: tenth(b.gb_hours),
        }
    }
}

/// One rollout of a Deployment.
#[derive(Debug, Serialize)]
pub struct RolloutRow {
    /// The Deployment.
    pub deployment: String,
    /// `spec.strategy` as resolved, e.g. `RollingUpdate maxSurge 25% maxUnavailable 25%`.
    pub strategy: String,
    /// The image rolled out.
    pub image: String,
    /// The Deployment's ReplicaSets, oldest first.
    pub replica_sets: Vec<String>,
    /// When the template changed.
    pub started: String,
    /// When it completed, if it did.
    pub completed: Option<String>,
    /// How long it took, in ms.
    pub duration_ms: Option<u64>,
    /// Each step: when, `spec.replicas` per ReplicaSet, Ready pods in total.
    pub steps: Vec<(String, Vec<u32>, u32)>,
}

/// One HPA decision that changed the replica count.
#[derive(Debug, Serialize)]
pub struct ScalingRow {
    /// When.
    pub at: String,
    /// The HPA.
    pub hpa: String,
    /// Replicas before.
    pub from: i32,
    /// Replicas after.
    pub to: i32,
    /// Each metric: value against target, ratio, proposal, and the pods it set aside.
    pub metrics: Vec<String>,
    /// What the metrics asked for, then after stabilization.
    pub recommendation: i32,
    /// After the stabilization window.
    pub stabilized: i32,
    /// The bound or policy that capped it, if any.
    pub limited_by: Option<String>,
    /// The controller's event message.
    pub reason: String,
}

impl ScalingRow {
    /// Renders one decision.
    pub fn from_decision(
        hpa: &str,
        at: crate::kernel::SimTime,
        d: &crate::model::kube::hpa::Decision,
    ) -> Self {
        let metrics = d
            .metrics
            .iter()
            .map(|m| {
                let value = match (m.current_utilization, m.current_average) {
                    (Some(u), _) => format!("{u}%"),
                    (None, Some(a)) => format!("{a:.0}"),
                    _ => "-".into(),
                };
                let proposal = match (m.replicas, &m.error) {
                    (Some(r), _) => format!("{r} replicas"),
                    (None, Some(e)) => format!("error: {e}"),
                    _ => "-".into(),
                };
                format!(
                    "{} {value} (ratio {}) -> {proposal}; pods ready {}, unready {}, missing {}, ignored {}",
                    m.resource,
                    m.ratio.map(|r| format!("{r:.2}")).unwrap_or_else(|| "-".into()),
                    m.ready_pods,
                    m.unready_pods,
                    m.missing_pods,
                    m.ignored_pods
                )
            })
            .collect();
        ScalingRow {
            at: at.to_string(),
            hpa: hpa.to_string(),
            from: d.current_replicas,
            to: d.desired_replicas,
            metrics,
            recommendation: d.recommendation,
            stabilized: d.stabilized,
            limited_by: d.limited_by.clone(),
            reason: d.reason.clone(),
        }
    }
}

/// One explained scheduling attempt.
#[derive(Debug, Serialize)]
pub struct ExplainedRow {
    /// When.
    pub at: String,
    /// Pod.
    pub pod: String,
    /// Chosen node or the FitError.
    pub result: String,
    /// Where the node search started and how many feasible nodes it looked for.
    pub search: String,
    /// Nodes filtered out, with plugin and reason.
    pub filtered: Vec<String>,
    /// Feasible nodes with their scores.
    pub scores: Vec<String>,
}

impl ExplainedRow {
    /// Renders an attempt with node names.
    pub fn from_attempt(w: &World, a: &ExplainedAttempt) -> Self {
        let name = |id: crate::model::kube::cluster::NodeId| w.kube.node(id).name.clone();
        let e = &a.explanation;
        ExplainedRow {
            at: a.at.to_string(),
            pod: w.kube.pod(a.pod).name.clone(),
            result: match &a.result {
                Ok(n) => format!("bound to {} (one of {} nodes tied at the best score)", name(*n), e.tied),
                Err(f) => f.to_string(),
            },
            search: format!("started at node index {}, looking for {} feasible nodes", e.start_index, e.feasible_to_find),
            filtered: e.filtered.iter().map(|(n, f)| format!("{}: {} — {}", name(*n), f.plugin, f.reasons.join(", "))).collect(),
            scores: e
                .scores
                .iter()
                .map(|s| {
                    format!(
                        "{}: total {} = TaintToleration {}×3 + NodeAffinity {}×2 + PodTopologySpread {}×2 + NodeResourcesFit {} + BalancedAllocation {}",
                        name(s.node),
                        s.total,
                        s.taint_toleration,
                        s.node_affinity,
                        s.topology_spread,
                        s.resources_fit,
                        s.balanced_allocation
                    )
                })
                .collect(),
        }
    }
}

/// One expectation's verdict.
#[derive(Debug, Serialize)]
pub struct ExpectationResult {
    /// What was expected.
    pub expectation: String,
    /// Verdict.
    pub passed: bool,
    /// Evidence.
    pub detail: String,
}

impl Report {
    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the report serializes") + "\n"
    }

    /// The report as text for a terminal.
    pub fn to_text(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(o, "scenario   {} ({})", self.scenario, self.file);
        if let Some(d) = &self.description {
            let _ = writeln!(o, "           {}", d.trim());
        }
        let _ = writeln!(
            o,
            "seed       {}   reproduce: {}",
            self.seed, self.reproduce
        );
        let _ = writeln!(
            o,
            "region     {} ({})",
            self.region,
            self.availability_domains.join(", ")
        );
        let _ = writeln!(o, "cluster    {}", self.cluster);
        let _ = writeln!(
            o,
            "run        {} simulated, {} events, {} log records, log hash {}{}",
            self.duration,
            self.events,
            self.log_records,
            self.log_hash,
            if self.completed {
                ""
            } else {
                "  (STOPPED at the event limit)"
            }
        );
        let _ = writeln!(o, "\nVirtual nodes");
        let mut by_fd: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
        for n in &self.nodes {
            let state = if n.ready { "" } else { " (NotReady)" };
            by_fd
                .entry((n.availability_domain.clone(), n.fault_domain.clone()))
                .or_default()
                .push(format!("{}{state}", n.name));
        }
        for ((ad, fd), names) in &by_fd {
            let shown = if names.len() > 6 {
                format!("{} ... ({} nodes)", names[..6].join(", "), names.len())
            } else {
                names.join(", ")
            };
            let _ = writeln!(o, "  {ad} {fd}: {shown}");
        }
        let _ = writeln!(o, "\nSubnets (addresses in use at the end)");
        for s in &self.subnets {
            let _ = writeln!(
                o,
                "  {:<16} {:<18} {:>7} / {}",
                s.name, s.cidr, s.used, s.capacity
            );
        }
        let _ = writeln!(o, "\nTimeline");
        for t in &self.timeline {
            let _ = writeln!(o, "  {}  {}", t.at, t.action);
        }
        self.render_samples(&mut o);
        if !self.failures.is_empty() {
            let _ = writeln!(o, "\nFailures");
            for f in &self.failures {
                let until = f
                    .until
                    .as_ref()
                    .map(|u| format!(" until {u}"))
                    .unwrap_or_default();
                let _ = writeln!(o, "  {} — {} at {}{until}", f.name, f.what, f.at);
                match (&f.impact_at, &f.recovered_at) {
                    (None, _) => {
                        let _ = writeln!(o, "    no impact on ready replicas");
                    }
                    (Some(i), None) => {
                        let _ = writeln!(
                            o,
                            "    impact from {i} (fewest ready {}), not recovered by the end",
                            f.min_ready.as_deref().unwrap_or("?")
                        );
                    }
                    (Some(i), Some(r)) => {
                        let took = crate::kernel::SimDuration(f.recovery_ms.unwrap_or(0));
                        let _ = writeln!(
                            o,
                            "    impact from {i} (fewest ready {}), recovered at {r}: {took} after the failure",
                            f.min_ready.as_deref().unwrap_or("?")
                        );
                    }
                }
            }
        }
        if !self.pending_at_end.is_empty() {
            let _ = writeln!(
                o,
                "\nPending pods at the end ({})",
                self.pending_at_end.len()
            );
            let mut by_msg: BTreeMap<(&str, &str), Vec<&str>> = BTreeMap::new();
            for p in &self.pending_at_end {
                by_msg
                    .entry((&p.deployment, &p.message))
                    .or_default()
                    .push(&p.pod);
            }
            for ((dep, msg), pods) in by_msg {
                let shown = if pods.len() > 4 {
                    format!("{} ... ({} pods)", pods[..4].join(", "), pods.len())
                } else {
                    pods.join(", ")
                };
                let _ = writeln!(o, "  {dep}: {shown}\n    {msg}");
            }
        }
        if !self.traffic.is_empty() {
            let _ = writeln!(o, "\nRequests (load balancer to pods)");
            for t in &self.traffic {
                let _ = writeln!(
                    o,
                    "  {}: {} offered, {} served ({:.4} available); failed: {} over LB bandwidth, {} to dead backends, {} with no backend, {} over capacity or timeout",
                    t.deployment,
                    t.offered,
                    t.served,
                    t.availability,
                    t.failed_bandwidth,
                    t.failed_dead_backend,
                    t.failed_no_backend,
                    t.failed_overload
                );
                if t.failed_db_unavailable + t.failed_db_unreachable + t.failed_db_auth > 0 {
                    let _ = writeln!(
                        o,
                        "    database: {} with no primary, {} unreachable, {} wrong or missing password",
                        t.failed_db_unavailable, t.failed_db_unreachable, t.failed_db_auth
                    );
                }
                if let Some(g) = &t.ingress {
                    let _ = writeln!(
                        o,
                        "    through {}; failed there: {} over LB bandwidth, {} to dead backends, {} with no backend, {} over capacity or timeout (the rest failed at the app)",
                        g.controller,
                        g.failed_bandwidth,
                        g.failed_dead_backend,
                        g.failed_no_backend,
                        g.failed_overload
                    );
                }
                let l = &t.latency;
                let _ = writeln!(
                    o,
                    "    latency ms: p50 {} p90 {} p99 {} max {}",
                    l.p50_ms, l.p90_ms, l.p99_ms, l.max_ms
                );
            }
        }
        let c = &self.cost;
        let _ = writeln!(
            o,
            "\nCost (USD, list prices; see README)\n  enhanced cluster {:.2} + virtual nodes {:.2} + pod OCPU {:.2} ({:.1} OCPU-hours) + pod memory {:.2} ({:.1} GB-hours) = {:.2}",
            c.cluster_usd,
            c.virtual_nodes_usd,
            c.pod_ocpu_usd,
            c.ocpu_hours,
            c.pod_memory_usd,
            c.gb_hours,
            c.total_usd
        );
        if !self.scaling.is_empty() {
            let _ = writeln!(o, "\nScaling decisions (HPA)");
            for r in &self.scaling {
                let _ = writeln!(o, "  {}  {}: {} -> {} replicas", r.at, r.hpa, r.from, r.to);
                for m in &r.metrics {
                    let _ = writeln!(o, "      {m}");
                }
                let limit = r
                    .limited_by
                    .as_ref()
                    .map(|l| format!("; limited by {l}"))
                    .unwrap_or_default();
                let _ = writeln!(
                    o,
                    "      recommended {}, stabilized {}{limit}",
                    r.recommendation, r.stabilized
                );
            }
        }
        self.render_rollouts(&mut o);
        super::disruption::render(&self.pdbs, &self.drains, &mut o);
        let _ = writeln!(
            o,
            "\nLatency (ms)          count      p50      p90      p99      max"
        );
        for (name, l) in [
            ("scheduling (create→bind)", &self.scheduling_latency),
            ("startup (bind→Ready)", &self.startup_latency),
        ] {
            let _ = writeln!(
                o,
                "  {name:<24} {:>6} {:>8} {:>8} {:>8} {:>8}",
                l.count, l.p50_ms, l.p90_ms, l.p99_ms, l.max_ms
            );
        }
        for e in &self.explained {
            let _ = writeln!(o, "\nExplain {} at {}: {}", e.pod, e.at, e.result);
            let _ = writeln!(o, "  {}", e.search);
            for f in &e.filtered {
                let _ = writeln!(o, "  filtered  {f}");
            }
            for s in &e.scores {
                let _ = writeln!(o, "  scored    {s}");
            }
        }
        self.wiring.render(&mut o);
        let _ = writeln!(o, "\nExpectations");
        for e in &self.expectations {
            let _ = writeln!(
                o,
                "  {}  {}\n        {}",
                if e.passed { "PASS" } else { "FAIL" },
                e.expectation,
                e.detail
            );
        }
        let _ = writeln!(o, "\n{} passed, {} failed", self.passed, self.failed);
        o
    }

    fn render_rollouts(&self, o: &mut String) {
        if self.rollouts.is_empty() {
            return;
        }
        let _ = writeln!(o, "\nRollouts");
        for r in &self.rollouts {
            let done = match (&r.completed, r.duration_ms) {
                (Some(c), Some(ms)) => format!(
                    "completed at {c} ({} after the start)",
                    crate::kernel::SimDuration::from_ms(ms)
                ),
                _ => "not completed".to_string(),
            };
            let _ = writeln!(
                o,
                "  {} to {} ({}) at {}: {done}",
                r.deployment, r.image, r.strategy, r.started
            );
            let _ = writeln!(
                o,
                "    replicas per ReplicaSet ({}), then Ready pods",
                r.replica_sets.join(", ")
            );
            for (at, sizes, ready) in &r.steps {
                let cells: Vec<String> = sizes.iter().map(u32::to_string).collect();
                let _ = writeln!(o, "    {at}  {}  ready {ready}", cells.join(" / "));
            }
        }
    }

    fn render_samples(&self, o: &mut String) {
        let Some(last) = self.samples.last() else {
            return;
        };
        for d in &last.deployments {
            let cols: Vec<&String> = d.per_fault_domain.keys().collect();
            let zones: Vec<&str> = {
                let mut z: Vec<&str> = cols
                    .iter()
                    .map(|c| c.split('/').next().unwrap_or(""))
                    .collect();
                z.dedup();
                z
            };
            let short = |c: &str| -> String {
                let (zone, fd) = c.split_once('/').unwrap_or(("", c));
                let fd = fd.replace("FAULT-DOMAIN-", "FD-");
                match zones.iter().position(|z| *z == zone) {
                    Some(i) if zones.len() > 1 => format!("AD-{}/{fd}", i + 1),
                    _ => fd,
                }
            };
            let _ = writeln!(
                o,
                "\nPods of {} per fault domain (bound, not terminating; unchanged samples omitted)",
                d.deployment
            );
            if zones.len() > 1 {
                let legend: Vec<String> = zones
                    .iter()
                    .enumerate()
                    .map(|(i, z)| format!("AD-{} = {z}", i + 1))
                    .collect();
                let _ = writeln!(o, "  {}", legend.join(", "));
            }
            let mut header = format!("  {:<12}", "time");
            for c in &cols {
                let _ = write!(header, " {:>9}", short(c));
            }
            let _ = write!(header, " {:>7} {:>7} {:>7}", "ready", "desired", "pending");
            let loaded = d.offered_rps.is_some();
            if loaded {
                let _ = write!(
                    header,
                    " {:>9} {:>5} {:>7} {:>6}",
                    "rps", "cpu%", "p99ms", "err%"
                );
            }
            let _ = writeln!(o, "{header}");
            let mut previous: Option<String> = None;
            for (i, s) in self.samples.iter().enumerate() {
                let Some(ds) = s.deployments.iter().find(|x| x.deployment == d.deployment) else {
                    continue;
                };
                let mut row = String::new();
                for c in &cols {
                    let _ = write!(
                        row,
                        " {:>9}",
                        ds.per_fault_domain.get(*c).copied().unwrap_or(0)
                    );
                }
                let _ = write!(row, " {:>7} {:>7} {:>7}", ds.ready, ds.desired, ds.pending);
                if loaded {
                    let rps = ds
                        .offered_rps
                        .map(|r| format!("{r:.1}"))
                        .unwrap_or_default();
                    let cpu = ds
                        .cpu_utilization
                        .map(|c| c.to_string())
                        .unwrap_or_else(|| "-".into());
                    let p99 = ds
                        .p99_ms
                        .map(|c| c.to_string())
                        .unwrap_or_else(|| "-".into());
                    let err = ds
                        .error_rate
                        .map(|e| format!("{:.2}", e * 100.0))
                        .unwrap_or_else(|| "-".into());
                    let _ = write!(row, " {rps:>9} {cpu:>5} {p99:>7} {err:>6}");
                }
                if previous.as_deref() != Some(row.as_str()) || i + 1 == self.samples.len() {
                    let _ = writeln!(o, "  {:<12}{row}", s.at);
                }
                previous = Some(row);
            }
        }
    }
}
