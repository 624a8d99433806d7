//! kube-scheduler's placement of one pod: filter, then score, then pick
//! (docs/k8s-facts.md §1–4, Kubernetes v1.34 semantics).
//!
//! Filter plugins run per node in the default order (NodeUnschedulable,
//! TaintToleration, NodeAffinity, NodeResourcesFit, PodTopologySpread) plus the
//! twin's pod-subnet IP check, stopping at the first failure; the search stops
//! once `numFeasibleNodesToFind` nodes passed, starting where the previous cycle
//! stopped. Scores are TaintToleration×3, NodeAffinity×2, PodTopologySpread×2,
//! NodeResourcesFit (LeastAllocated)×1 and BalancedAllocation×1; ties are broken
//! by reservoir sampling from the scheduler's own random stream.
//!
//! This module decides; it never mutates the cluster (the caller binds).

use std::collections::BTreeMap;
use std::fmt;

use super::cluster::{KubeCluster, LABEL_HOSTNAME, Node, NodeId, PodId, ReplicaSet};
use super::pod::{InclusionPolicy, SpreadConstraint, TAINT_UNSCHEDULABLE};
use super::selector::{Taint, TaintEffect, first_untolerated};
use crate::kernel::RandomStream;

/// The largest normalized score of one plugin.
pub const MAX_NODE_SCORE: i64 = 100;
/// minFeasibleNodesToFind.
const MIN_FEASIBLE_NODES_TO_FIND: usize = 100;
/// minFeasibleNodesPercentageToFind.
const MIN_FEASIBLE_PERCENTAGE: usize = 5;

/// Whether preemption could help on a node that failed a filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureCode {
    /// `Unschedulable`: removing pods might help.
    Unschedulable,
    /// `UnschedulableAndUnresolvable`: preemption cannot help.
    Unresolvable,
}

/// Why one node was filtered out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeFailure {
    /// The plugin that rejected it.
    pub plugin: &'static str,
    /// Its reasons (NodeResourcesFit may give several).
    pub reasons: Vec<String>,
    /// Status code.
    pub code: FailureCode,
}

/// kube-scheduler's FitError: no node fits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FitError {
    /// Nodes in the snapshot.
    pub num_all_nodes: usize,
    /// Reason → node count.
    pub reasons: BTreeMap<String, usize>,
    /// Preemption reasons → node count (all pods share priority 0, so no victims exist).
    pub preemption: BTreeMap<String, usize>,
}

impl FitError {
    fn histogram(m: &BTreeMap<String, usize>) -> String {
        // sort.Strings over "<count> <reason>": lexicographic on the whole string.
        let mut parts: Vec<String> = m.iter().map(|(r, c)| format!("{c} {r}")).collect();
        parts.sort();
        parts.join(", ")
    }
}

impl fmt::Display for FitError {
    /// `0/9 nodes are available: 3 node(s) had untolerated taint {...}, 6 node(s) didn't match
    /// pod topology spread constraints. preemption: 0/9 nodes are available: 3 Preemption is not
    /// helpful for scheduling, 6 No preemption victims found for incoming pod..`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.num_all_nodes == 0 {
            // ErrNoNodesAvailable: the scheduler fails before any plugin runs.
            return f.write_str("no nodes available to schedule pods");
        }
        write!(f, "0/{} nodes are available:", self.num_all_nodes)?;
        if !self.reasons.is_empty() {
            write!(f, " {}.", Self::histogram(&self.reasons))?;
        }
        write!(
            f,
            " preemption: 0/{} nodes are available: {}..",
            self.num_all_nodes,
            Self::histogram(&self.preemption)
        )
    }
}

/// Per-plugin normalized scores of one node and its weighted total.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeScore {
    /// The node.
    pub node: NodeId,
    /// TaintToleration (weight 3).
    pub taint_toleration: i64,
    /// NodeAffinity (weight 2).
    pub node_affinity: i64,
    /// PodTopologySpread (weight 2).
    pub topology_spread: i64,
    /// NodeResourcesFit LeastAllocated (weight 1).
    pub resources_fit: i64,
    /// NodeResourcesBalancedAllocation (weight 1).
    pub balanced_allocation: i64,
    /// Weighted sum.
    pub total: i64,
}

/// Everything that decided one scheduling attempt.
#[derive(Clone, Debug, Default)]
pub struct Explanation {
    /// Index in node order where the search started.
    pub start_index: usize,
    /// How many feasible nodes the scheduler looked for.
    pub feasible_to_find: usize,
    /// Nodes removed by a filter.
    pub filtered: Vec<(NodeId, NodeFailure)>,
    /// Feasible nodes with their scores (empty when only one was feasible).
    pub scores: Vec<NodeScore>,
    /// The chosen node, if any.
    pub chosen: Option<NodeId>,
    /// How many nodes tied at the top score.
    pub tied: usize,
}

/// Scheduler settings.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct SchedulerConfig {
    /// `percentageOfNodesToScore`; `None` is the adaptive default.
    pub percentage_of_nodes_to_score: Option<u32>,
}

/// The scheduler's own state across cycles.
#[derive(Clone, Debug)]
pub struct Scheduler {
    config: SchedulerConfig,
    next_start: usize,
    rng: RandomStream,
    /// `[rs][node]`: the node's resource version and its NodeResourcesFit and
    /// BalancedAllocation scores for that ReplicaSet's pods. Both depend only on
    /// the node's requested resources and the pod's, so they are reused until
    /// something binds to or leaves the node.
    resource_scores: Vec<Vec<Option<(u64, i64, i64)>>>,
}

/// The pod-subnet check the twin adds: a virtual node can place a pod only if
/// its pod subnet has a free address (domain.md §3.4: behaviour UNCONFIRMED).
pub const REASON_NO_POD_IP: &str = "node(s) had no free IP address in the pod subnet";

/// What the scheduler needs to know about IP availability.
pub trait IpAvailability {
    /// Free addresses in the pod subnet of `node`.
    fn free_pod_ips(&self, node: &Node) -> u64;
}

/// Counts per domain of one hard constraint (PreFilter state).
struct HardState {
    /// Matching pods per domain index; `None` for domains with no eligible node.
    counts: Vec<Option<u32>>,
    min_match: u32,
    self_match: u32,
}

impl Scheduler {
    /// A scheduler with its own random stream for tie-breaking.
    pub fn new(config: SchedulerConfig, rng: RandomStream) -> Self {
        Scheduler {
            config,
            next_start: 0,
            rng,
            resource_scores: Vec::new(),
        }
    }

    /// `numFeasibleNodesToFind`.
    pub fn feasible_nodes_to_find(&self, num_all_nodes: usize) -> usize {
        if num_all_nodes < MIN_FEASIBLE_NODES_TO_FIND {
            return num_all_nodes;
        }
        let pct = match self.config.percentage_of_nodes_to_score {
            Some(p) if p > 0 => (p as usize).min(100),
            _ => (50usize.saturating_sub(num_all_nodes / 125)).max(MIN_FEASIBLE_PERCENTAGE),
        };
        (num_all_nodes * pct / 100).max(MIN_FEASIBLE_NODES_TO_FIND)
    }

    /// Runs one scheduling cycle for `pod`: the chosen node, or the FitError.
    /// With `explain`, also returns every filter verdict and score.
    pub fn schedule(
        &mut self,
        cluster: &KubeCluster,
        pod: PodId,
        ips: &dyn IpAvailability,
        explain: bool,
    ) -> (Result<NodeId, FitError>, Option<Explanation>) {
        let rs = cluster.rs(cluster.pod(pod).rs);
        let n = cluster.node_order.len();
        let mut ex = explain.then(Explanation::default);
        if n == 0 {
            let e = FitError {
                num_all_nodes: 0,
                reasons: BTreeMap::new(),
                preemption: BTreeMap::new(),
            };
            return (Err(e), ex);
        }
        let cycle = Cycle::new(cluster, rs);
        let to_find = self.feasible_nodes_to_find(n);
        let start = self.next_start;
        if let Some(e) = ex.as_mut() {
            e.start_index = start;
            e.feasible_to_find = to_find;
        }
        let mut feasible: Vec<NodeId> = Vec::with_capacity(to_find.min(n));
        // Failures are kept cheap (a Copy verdict); they become messages only
        // when no node fits or the attempt is explained.
        let mut failures: Vec<(NodeId, Fail)> = Vec::new();
        // Walk the node order from `start`, wrapping once (no modulo per node).
        let order = cluster.node_order[start..]
            .iter()
            .chain(&cluster.node_order[..start]);
        for &id in order {
            if feasible.len() >= to_find {
                break;
            }
            match cycle.filter(id, ips) {
                None => feasible.push(id),
                Some(f) => failures.push((id, f)),
            }
        }
        self.next_start = (start + feasible.len() + failures.len()) % n;
        let describe = |failures: &[(NodeId, Fail)]| -> Vec<(NodeId, NodeFailure)> {
            failures
                .iter()
                .map(|(id, f)| (*id, f.describe(cluster.node(*id))))
                .collect()
        };
        if feasible.is_empty() {
            let err = fit_error(cluster, n, &failures);
            if let Some(e) = ex.as_mut() {
                e.filtered = describe(&failures);
            }
            return (Err(err), ex);
        }
        let chosen = if feasible.len() == 1 {
            // "When only one node after predicate, just use it."
            if let Some(e) = ex.as_mut() {
                e.tied = 1;
            }
            feasible[0]
        } else {
            let rs_index = cluster.pod(pod).rs.0 as usize;
            if self.resource_scores.len() <= rs_index {
                self.resource_scores.resize(rs_index + 1, Vec::new());
            }
            let cache = &mut self.resource_scores[rs_index];
            cache.resize(cluster.nodes.len(), None);
            let scores = score_nodes(&cycle, &feasible, cache);
            let best = scores
                .iter()
                .map(|s| s.total)
                .max()
                .expect("feasible is not empty");
            let mut pick = None;
            let mut tied = 0u64;
            for s in scores.iter().filter(|s| s.total == best) {
                tied += 1;
                if self.rng.below(tied) == 0 {
                    pick = Some(s.node);
                }
            }
            if let Some(e) = ex.as_mut() {
                e.scores = scores;
                e.tied = tied as usize;
            }
            pick.expect("at least one node has the best score")
        };
        if let Some(e) = ex.as_mut() {
            e.filtered = describe(&failures);
            e.chosen = Some(chosen);
        }
        (Ok(chosen), ex)
    }
}

/// Why a node failed a filter, as a cheap value; [`Fail::describe`] gives kube's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fail {
    Unschedulable,
    /// Index of the untolerated taint in the node's taints.
    Taint(usize),
    NodeAffinity,
    Resources {
        pods: bool,
        cpu: bool,
        memory: bool,
    },
    SpreadMissingLabel,
    SpreadSkew,
    NoPodIp,
}

impl Fail {
    /// A small number distinguishing the variants without data.
    fn rank(self) -> u8 {
        match self {
            Fail::Unschedulable => 0,
            Fail::Taint(_) => 1,
            Fail::NodeAffinity => 2,
            Fail::Resources { .. } => 3,
            Fail::SpreadMissingLabel => 4,
            Fail::SpreadSkew => 5,
            Fail::NoPodIp => 6,
        }
    }

    fn describe(self, node: &Node) -> NodeFailure {
        let one = |plugin, r: &str, code| NodeFailure {
            plugin,
            reasons: vec![r.to_string()],
            code,
        };
        match self {
            Fail::Unschedulable => one(
                "NodeUnschedulable",
                "node(s) were unschedulable",
                FailureCode::Unresolvable,
            ),
            Fail::Taint(i) => {
                let t = &node.taints[i];
                let r = format!("node(s) had untolerated taint {{{}: {}}}", t.key, t.value);
                one("TaintToleration", &r, FailureCode::Unresolvable)
            }
            Fail::NodeAffinity => one(
                "NodeAffinity",
                "node(s) didn't match Pod's node affinity/selector",
                FailureCode::Unresolvable,
            ),
            Fail::Resources { pods, cpu, memory } => {
                let reasons = [
                    (pods, "Too many pods"),
                    (cpu, "Insufficient cpu"),
                    (memory, "Insufficient memory"),
                ]
                .into_iter()
                .filter(|(b, _)| *b)
                .map(|(_, r)| r.to_string())
                .collect();
                NodeFailure {
                    plugin: "NodeResourcesFit",
                    reasons,
                    code: FailureCode::Unschedulable,
                }
            }
            Fail::SpreadMissingLabel => one(
                "PodTopologySpread",
                "node(s) didn't match pod topology spread constraints (missing required label)",
                FailureCode::Unresolvable,
            ),
            Fail::SpreadSkew => one(
                "PodTopologySpread",
                "node(s) didn't match pod topology spread constraints",
                FailureCode::Unschedulable,
            ),
            Fail::NoPodIp => one("VcnPodIp", REASON_NO_POD_IP, FailureCode::Unresolvable),
        }
    }
}

/// Everything one scheduling cycle computes once for its pod.
struct Cycle<'a> {
    cluster: &'a KubeCluster,
    rs: &'a ReplicaSet,
    hard: Vec<HardState>,
    /// Per hard constraint: each node's domain.
    hard_domains: Vec<&'a [Option<u32>]>,
    cpu_m: u64,
    memory: u64,
    /// False when the pod has no nodeSelector and no required node affinity.
    selects_nodes: bool,
}

impl<'a> Cycle<'a> {
    fn new(cluster: &'a KubeCluster, rs: &'a ReplicaSet) -> Self {
        let t = &rs.template;
        let selects_nodes = !t.node_selector.is_empty() || !t.required_node_affinity.is_empty();
        Cycle {
            cluster,
            rs,
            hard: pre_filter_spread(cluster, rs, selects_nodes),
            hard_domains: rs
                .hard_spread
                .iter()
                .map(|(c, _)| cluster.domains_ref(&c.topology_key).0.as_slice())
                .collect(),
            cpu_m: t.cpu_request_m(),
            memory: t.memory_request(),
            selects_nodes,
        }
    }

    /// Runs the filter plugins on one node, in kube-scheduler's order; `None` when it passes.
    fn filter(&self, id: NodeId, ips: &dyn IpAvailability) -> Option<Fail> {
        let node = self.cluster.node(id);
        let t = &self.rs.template;
        // NodeUnschedulable
        if node.unschedulable {
            let cordon = Taint {
                key: TAINT_UNSCHEDULABLE.into(),
                value: String::new(),
                effect: TaintEffect::NoSchedule,
            };
            if !t.tolerations.iter().any(|tol| tol.tolerates(&cordon)) {
                return Some(Fail::Unschedulable);
            }
        }
        // TaintToleration: the first untolerated NoSchedule/NoExecute taint.
        if !node.taints.is_empty() {
            let effects = [TaintEffect::NoSchedule, TaintEffect::NoExecute];
            if let Some(taint) = first_untolerated(&node.taints, &t.tolerations, &effects) {
                let i = node
                    .taints
                    .iter()
                    .position(|x| std::ptr::eq(x, taint))
                    .expect("taint of this node");
                return Some(Fail::Taint(i));
            }
        }
        // NodeAffinity (nodeSelector and required terms)
        if !matches_selection(self.rs, self.selects_nodes, node) {
            return Some(Fail::NodeAffinity);
        }
        // NodeResourcesFit
        let pods = node.pods.len() as u64 + 1 > u64::from(node.allocatable_pods);
        let cpu = self.cpu_m > 0
            && self.cpu_m > node.allocatable_cpu_m.saturating_sub(node.requested_cpu_m);
        let memory = self.memory > 0
            && self.memory
                > node
                    .allocatable_memory
                    .saturating_sub(node.requested_memory);
        if pods || cpu || memory {
            return Some(Fail::Resources { pods, cpu, memory });
        }
        // PodTopologySpread
        for (((c, _), state), domains) in self
            .rs
            .hard_spread
            .iter()
            .zip(&self.hard)
            .zip(&self.hard_domains)
        {
            let Some(dom) = domains[id.0 as usize] else {
                return Some(Fail::SpreadMissingLabel);
            };
            let match_num = state.counts[dom as usize].unwrap_or(0);
            let skew =
                i64::from(match_num) + i64::from(state.self_match) - i64::from(state.min_match);
            if skew > i64::from(c.max_skew) {
                return Some(Fail::SpreadSkew);
            }
        }
        // The twin's VCN-native IP check.
        if ips.free_pod_ips(node) == 0 {
            return Some(Fail::NoPodIp);
        }
        None
    }
}

/// True when the node matches the pod's nodeSelector and required node affinity.
fn matches_selection(rs: &ReplicaSet, selects_nodes: bool, node: &Node) -> bool {
    !selects_nodes || rs.template.matches_node_selection(&node.name, &node.labels)
}

/// True when no node can fail the constraint's inclusion policies.
fn includes_every_node(c: &SpreadConstraint, selects_nodes: bool) -> bool {
    (c.node_affinity_policy == InclusionPolicy::Ignore || !selects_nodes)
        && c.node_taints_policy == InclusionPolicy::Ignore
}

/// True when `node` passes a constraint's node inclusion policies.
fn included(rs: &ReplicaSet, selects_nodes: bool, c: &SpreadConstraint, node: &Node) -> bool {
    (c.node_affinity_policy == InclusionPolicy::Ignore
        || matches_selection(rs, selects_nodes, node))
        && (c.node_taints_policy == InclusionPolicy::Ignore
            || tolerates_all_schedule_taints(rs, node))
}

fn tolerates_all_schedule_taints(rs: &ReplicaSet, node: &Node) -> bool {
    first_untolerated(
        &node.taints,
        &rs.template.tolerations,
        &[TaintEffect::NoSchedule, TaintEffect::NoExecute],
    )
    .is_none()
}

/// Per node: true when it has every topology key of `constraints`.
fn all_keys_mask(
    cluster: &KubeCluster,
    constraints: &[(SpreadConstraint, super::cluster::SelectorId)],
) -> Vec<bool> {
    let mut mask = vec![true; cluster.nodes.len()];
    for (c, _) in constraints {
        let (per_node, _) = cluster.domains_ref(&c.topology_key);
        for (m, d) in mask.iter_mut().zip(per_node) {
            *m &= d.is_some();
        }
    }
    mask
}

/// PodTopologySpread PreFilter: matching pods per domain over eligible nodes and the global minimum.
fn pre_filter_spread(
    cluster: &KubeCluster,
    rs: &ReplicaSet,
    selects_nodes: bool,
) -> Vec<HardState> {
    let every_node_has_keys = rs
        .hard_spread
        .iter()
        .all(|(c, _)| cluster.all_nodes_have(&c.topology_key));
    let has_all_keys = if every_node_has_keys {
        Vec::new()
    } else {
        all_keys_mask(cluster, &rs.hard_spread)
    };
    rs.hard_spread
        .iter()
        .map(|(c, sel)| {
            let counts = if every_node_has_keys && includes_every_node(c, selects_nodes) {
                // Every node is eligible: the per-domain totals are the counts.
                cluster
                    .domain_totals(*sel, &c.topology_key)
                    .iter()
                    .map(|t| Some(*t))
                    .collect()
            } else {
                let (per_node, names) = cluster.domains_ref(&c.topology_key);
                let mut counts: Vec<Option<u32>> = vec![None; names.len()];
                for (i, node) in cluster.nodes.iter().enumerate() {
                    let Some(dom) = per_node[i] else { continue };
                    if (every_node_has_keys || has_all_keys[i])
                        && included(rs, selects_nodes, c, node)
                    {
                        *counts[dom as usize].get_or_insert(0) +=
                            cluster.spread.counts[sel.0 as usize][i];
                    }
                }
                counts
            };
            let present = counts.iter().flatten().count();
            // The global minimum is 0 while fewer domains than minDomains are eligible.
            let min_domains = c.min_domains.unwrap_or(1) as usize;
            let min_match = if present < min_domains {
                0
            } else {
                counts.iter().flatten().copied().min().unwrap_or(0)
            };
            let self_match = u32::from(c.selects(&rs.template.labels));
            HardState {
                counts,
                min_match,
                self_match,
            }
        })
        .collect()
}

fn fit_error(cluster: &KubeCluster, num_all_nodes: usize, failures: &[(NodeId, Fail)]) -> FitError {
    // Count distinct verdicts first (taints by key and value), then word each once.
    // Key: (variant, taint key, taint value, resource flags) -> (a sample verdict, its node, count).
    type VerdictKey<'a> = (u8, &'a str, &'a str, [bool; 3]);
    let mut verdicts: BTreeMap<VerdictKey<'_>, (Fail, NodeId, usize)> = BTreeMap::new();
    for (id, f) in failures {
        let key = match *f {
            Fail::Taint(i) => {
                let t = &cluster.node(*id).taints[i];
                (1, t.key.as_str(), t.value.as_str(), [false; 3])
            }
            Fail::Resources { pods, cpu, memory } => (2, "", "", [pods, cpu, memory]),
            other => (3 + other.rank(), "", "", [false; 3]),
        };
        verdicts.entry(key).or_insert((*f, *id, 0)).2 += 1;
    }
    let mut reasons = BTreeMap::new();
    let mut preemption = BTreeMap::new();
    for (f, id, count) in verdicts.into_values() {
        let d = f.describe(cluster.node(id));
        for r in d.reasons {
            *reasons.entry(r).or_insert(0) += count;
        }
        let p = match d.code {
            // Every pod has priority 0, so a dry run finds no lower-priority victim.
            FailureCode::Unschedulable => "No preemption victims found for incoming pod",
            FailureCode::Unresolvable => "Preemption is not helpful for scheduling",
        };
        *preemption.entry(p.to_string()).or_insert(0) += count;
    }
    FitError {
        num_all_nodes,
        reasons,
        preemption,
    }
}

/// Go's `math.Round` for the non-negative scores of PodTopologySpread, without
/// the software `round` the baseline x86-64 target falls back to.
fn round_half_away(x: f64) -> i64 {
    debug_assert!((0.0..9.0e15).contains(&x));
    let i = x as i64;
    if x - i as f64 >= 0.5 { i + 1 } else { i }
}

/// `DefaultNormalizeScore`: scale to 0..100 by the maximum; reversed when asked.
fn default_normalize(raw: &[i64], reverse: bool) -> Vec<i64> {
    let max = raw.iter().copied().max().unwrap_or(0);
    if max == 0 {
        return raw
            .iter()
            .map(|_| if reverse { MAX_NODE_SCORE } else { 0 })
            .collect();
    }
    raw.iter()
        .map(|s| {
            let v = MAX_NODE_SCORE * s / max;
            if reverse { MAX_NODE_SCORE - v } else { v }
        })
        .collect()
}

fn score_nodes(
    cycle: &Cycle<'_>,
    feasible: &[NodeId],
    resource_cache: &mut [Option<(u64, i64, i64)>],
) -> Vec<NodeScore> {
    let (cluster, rs) = (cycle.cluster, cycle.rs);
    let t = &rs.template;
    // TaintToleration: untolerated PreferNoSchedule taints (only effect-less or PreferNoSchedule tolerations count).
    let prefer_tols: Vec<&crate::model::kube::selector::Toleration> = t
        .tolerations
        .iter()
        .filter(|tol| {
            tol.effect
                .is_none_or(|e| e == TaintEffect::PreferNoSchedule)
        })
        .collect();
    // Most clusters have no PreferNoSchedule taints and most pods no preferred
    // terms: then every node scores the same and the per-node loops are skipped.
    let any_prefer_taint = feasible.iter().any(|id| {
        cluster
            .node(*id)
            .taints
            .iter()
            .any(|tt| tt.effect == TaintEffect::PreferNoSchedule)
    });
    let taint = if any_prefer_taint {
        let taint_raw: Vec<i64> = feasible
            .iter()
            .map(|id| {
                let node = cluster.node(*id);
                node.taints
                    .iter()
                    .filter(|tt| {
                        tt.effect == TaintEffect::PreferNoSchedule
                            && !prefer_tols.iter().any(|tol| tol.tolerates(tt))
                    })
                    .count() as i64
            })
            .collect();
        default_normalize(&taint_raw, true)
    } else {
        vec![MAX_NODE_SCORE; feasible.len()]
    };
    // NodeAffinity: sum of the weights of matching preferred terms.
    let affinity = if t.preferred_node_affinity.is_empty() {
        vec![0; feasible.len()]
    } else {
        let affinity_raw: Vec<i64> = feasible
            .iter()
            .map(|id| {
                let node = cluster.node(*id);
                t.preferred_node_affinity
                    .iter()
                    .filter(|(_, term)| term.matches(&node.name, &node.labels))
                    .map(|(w, _)| i64::from(*w))
                    .sum()
            })
            .collect();
        default_normalize(&affinity_raw, false)
    };
    let spread = score_spread(cycle, feasible);
    let (pod_nz_cpu, pod_nz_mem) = super::cluster::nonzero_requests(t);
    let (pod_cpu, pod_mem) = (t.cpu_request_m(), t.memory_request());
    let best_effort = pod_cpu == 0 && pod_mem == 0;
    feasible
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let node = cluster.node(*id);
            let (fit, balanced) = match resource_cache[id.0 as usize] {
                Some((v, fit, balanced)) if v == node.resource_version => (fit, balanced),
                _ => {
                    let (fit, balanced) = resource_scores(
                        node,
                        (pod_nz_cpu, pod_nz_mem),
                        (pod_cpu, pod_mem),
                        best_effort,
                    );
                    resource_cache[id.0 as usize] = Some((node.resource_version, fit, balanced));
                    (fit, balanced)
                }
            };
            let total = 3 * taint[i] + 2 * affinity[i] + 2 * spread[i] + fit + balanced;
            NodeScore {
                node: *id,
                taint_toleration: taint[i],
                node_affinity: affinity[i],
                topology_spread: spread[i],
                resources_fit: fit,
                balanced_allocation: balanced,
                total,
            }
        })
        .collect()
}

/// NodeResourcesFit (LeastAllocated, with the scheduler's non-zero request
/// defaults) and NodeResourcesBalancedAllocation (actual requests) of one node.
fn resource_scores(
    node: &Node,
    pod_nonzero: (u64, u64),
    pod: (u64, u64),
    best_effort: bool,
) -> (i64, i64) {
    let (pod_nz_cpu, pod_nz_mem) = pod_nonzero;
    let (pod_cpu, pod_mem) = pod;
    let least = |req: u64, cap: u64| -> i64 {
        if cap == 0 || req > cap {
            0
        } else {
            ((cap - req) * 100 / cap) as i64
        }
    };
    let fit = (least(node.nonzero_cpu_m + pod_nz_cpu, node.allocatable_cpu_m)
        + least(node.nonzero_memory + pod_nz_mem, node.allocatable_memory))
        / 2;
    let balanced = if best_effort {
        0
    } else {
        let frac = |req: u64, cap: u64| {
            if cap == 0 {
                1.0
            } else {
                (req as f64 / cap as f64).min(1.0)
            }
        };
        let fc = frac(node.requested_cpu_m + pod_cpu, node.allocatable_cpu_m);
        let fm = frac(node.requested_memory + pod_mem, node.allocatable_memory);
        ((1.0 - (fc - fm).abs() / 2.0) * 100.0) as i64
    };
    (fit, balanced)
}

/// PodTopologySpread PreScore + Score + NormalizeScore over the feasible nodes.
fn score_spread(cycle: &Cycle<'_>, feasible: &[NodeId]) -> Vec<i64> {
    let (cluster, rs) = (cycle.cluster, cycle.rs);
    let soft = &rs.soft_spread;
    if soft.is_empty() {
        return vec![0; feasible.len()];
    }
    let require_all = !rs.soft_spread_is_system_default;
    let has_all_keys = if require_all {
        all_keys_mask(cluster, soft)
    } else {
        vec![true; cluster.nodes.len()]
    };
    let ignored: Vec<bool> = feasible
        .iter()
        .map(|id| require_all && !has_all_keys[id.0 as usize])
        .collect();
    let considered = ignored.iter().filter(|i| !**i).count();
    // Per constraint: each node's domain, domain counts (non-hostname) and the normalizing weight.
    type PerConstraint<'a> = (&'a [Option<u32>], Option<Vec<Option<u32>>>, f64);
    let per_constraint: Vec<PerConstraint<'_>> = soft
        .iter()
        .map(|(c, sel)| {
            let (per_node, names) = cluster.domains_ref(&c.topology_key);
            if c.topology_key == LABEL_HOSTNAME {
                return (per_node.as_slice(), None, ((considered + 2) as f64).ln());
            }
            let mut counts: Vec<Option<u32>> = vec![None; names.len()];
            for (id, ign) in feasible.iter().zip(&ignored) {
                if let (false, Some(d)) = (*ign, per_node[id.0 as usize]) {
                    counts[d as usize].get_or_insert(0);
                }
            }
            let size = counts.iter().flatten().count();
            let all_keys = !require_all
                || soft
                    .iter()
                    .all(|(c, _)| cluster.all_nodes_have(&c.topology_key));
            if all_keys && includes_every_node(c, cycle.selects_nodes) {
                // Every node counts: take the per-domain totals for the domains in play.
                let totals = cluster.domain_totals(*sel, &c.topology_key);
                for (slot, t) in counts.iter_mut().zip(totals) {
                    if let Some(v) = slot {
                        *v = *t;
                    }
                }
                return (per_node.as_slice(), Some(counts), ((size + 2) as f64).ln());
            }
            for (i, node) in cluster.nodes.iter().enumerate() {
                let Some(d) = per_node[i] else { continue };
                if counts[d as usize].is_none()
                    || (require_all && !has_all_keys[i])
                    || !included(rs, cycle.selects_nodes, c, node)
                {
                    continue;
                }
                *counts[d as usize].as_mut().expect("checked above") +=
                    cluster.spread.counts[sel.0 as usize][i];
            }
            (per_node.as_slice(), Some(counts), ((size + 2) as f64).ln())
        })
        .collect();
    let raw: Vec<Option<i64>> = feasible
        .iter()
        .zip(&ignored)
        .map(|(id, ign)| {
            if *ign {
                return None;
            }
            let mut score = 0.0;
            for ((c, sel), (per_node, counts, w)) in soft.iter().zip(&per_constraint) {
                let cnt = match counts {
                    None if per_node[id.0 as usize].is_none() => continue,
                    None => cluster.spread.counts[sel.0 as usize][id.0 as usize],
                    Some(counts) => match per_node[id.0 as usize] {
                        Some(d) => counts[d as usize].unwrap_or(0),
                        None => continue,
                    },
                };
                score += f64::from(cnt) * w + f64::from(c.max_skew.saturating_sub(1));
            }
            Some(round_half_away(score))
        })
        .collect();
    let (min, max) = raw
        .iter()
        .flatten()
        .fold((i64::MAX, 0i64), |(lo, hi), s| (lo.min(*s), hi.max(*s)));
    let min = if min == i64::MAX { 0 } else { min };
    raw.iter()
        .map(|s| match s {
            None => 0,
            Some(_) if max == 0 => MAX_NODE_SCORE,
            Some(s) => MAX_NODE_SCORE * (max + min - s) / max,
        })
        .collect()
}
