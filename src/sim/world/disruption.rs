//! Voluntary disruption in the world: PodDisruptionBudgets as the disruption
//! controller sees them, the Eviction API, and `kubectl cordon` /
//! `uncordon` / `drain` of a node, an FD or an AD.
//!
//! The arithmetic is `model::kube::disruption`. This module counts what the
//! controller counts (pods a budget's selector lists, their Deployments'
//! scale, Ready pods), answers evictions, and plays kubectl's drain loop:
//! cordon every selected node first, then drain them one at a time in name
//! order; every pod of a node is evicted at once, a refused (429) eviction is
//! retried every 5 s, and the drain stops when a node's timeout passes.
//!
//! Only this path asks a budget. Taint-based eviction (`World::evict`) and
//! the deployment controller delete pods without one, as Kubernetes does.

use super::{Ev, FailureScope, World};
use crate::kernel::{SimDuration, SimTime};
use crate::model::kube::cluster::{NodeId, PodId, PodState};
use crate::model::kube::disruption::{
    self, MULTIPLE_BUDGETS, PdbSpec, PdbStatus, PodPhase, PodsView, Verdict,
};
use crate::model::kube::selector::LabelSelector;
use crate::sim::log::LogRecord;
use std::collections::{BTreeMap, BTreeSet};

/// kubectl drain's wait between two attempts at a refused eviction
/// (`evictPods`: "will retry after 5s").
pub const EVICTION_RETRY: SimDuration = SimDuration::from_secs(5);

/// kubectl drain's poll for evicted pods to be gone (`waitForDelete`, 1 s).
pub const DELETE_POLL: SimDuration = SimDuration::from_secs(1);

/// A PodDisruptionBudget.
#[derive(Clone, Debug)]
pub struct PdbRuntime {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`.
    pub namespace: String,
    /// `spec.selector`; `None` (null) selects no pod, an empty one every pod
    /// of the namespace (policy/v1).
    pub selector: Option<LabelSelector>,
    /// minAvailable / maxUnavailable and the unhealthy-pod policy.
    pub spec: PdbSpec,
}

/// How a drain ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DrainOutcome {
    /// Every pod of every node was evicted and is gone.
    Completed(SimTime),
    /// A node's `--timeout` passed with pods left: kubectl aborts.
    TimedOut {
        /// When kubectl gave up.
        at: SimTime,
        /// The node being drained.
        node: String,
        /// Pods of that node still there.
        pods_left: u32,
    },
    /// An eviction failed with an error kubectl does not retry.
    Failed {
        /// When.
        at: SimTime,
        /// The pod.
        pod: String,
        /// The API's message.
        message: String,
    },
}

/// One `kubectl drain` and its progress.
#[derive(Clone, Debug)]
pub struct DrainRuntime {
    /// The timeline entry's name.
    pub name: String,
    /// What it drains.
    pub scope: FailureScope,
    /// kubectl's `--timeout` per node (`None`: 0s, wait forever).
    pub timeout: Option<SimDuration>,
    /// When it started (`None` until its action runs).
    pub started: Option<SimTime>,
    /// The nodes, in the order kubectl drains them (by name).
    pub nodes: Vec<NodeId>,
    /// Index in `nodes` of the node being drained.
    current: usize,
    /// When the current node's drain began (its timeout counts from here).
    node_started: SimTime,
    /// Pods of the current node whose eviction was not accepted yet.
    to_evict: Vec<PodId>,
    /// Evicted pods still on the node (terminating on an unreachable node).
    to_vanish: Vec<PodId>,
    /// Per node: (name, when its drain began, when it ended).
    pub node_times: Vec<(String, SimTime, Option<SimTime>)>,
    /// Evictions the API accepted.
    pub evicted: u32,
    /// Refused evictions (429) by budget name.
    pub refused: BTreeMap<String, u32>,
    /// How it ended, once it did.
    pub outcome: Option<DrainOutcome>,
    /// For a pool scale-down: the node to delete when the drain ends, and
    /// whether to delete it after a timeout too.
    remove_after: Option<(NodeId, bool)>,
}

impl DrainRuntime {
    /// Refused evictions over all budgets.
    pub fn total_refused(&self) -> u32 {
        self.refused.values().sum()
    }
}

/// Why the Eviction API did not delete a pod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EvictionError {
    /// 429: the budget (by index) allows no disruption now.
    TooManyRequests {
        /// The budget.
        pdb: usize,
        /// The 429's cause.
        cause: String,
    },
    /// 500: more than one budget selects the pod.
    MultipleBudgets,
}

impl World {
    /// Adds a PodDisruptionBudget; the disruption controller counts it from now on.
    pub fn add_pdb(&mut self, pdb: PdbRuntime) {
        self.pdbs.push(pdb);
    }

    /// Registers a drain to be started by an `Action::Drain` with its index.
    pub fn add_drain(
        &mut self,
        name: String,
        scope: FailureScope,
        timeout: Option<SimDuration>,
    ) -> u32 {
        self.drains.push(DrainRuntime {
            name,
            scope,
            timeout,
            started: None,
            nodes: Vec::new(),
            current: 0,
            node_started: SimTime::ZERO,
            to_evict: Vec::new(),
            to_vanish: Vec::new(),
            node_times: Vec::new(),
            evicted: 0,
            refused: BTreeMap::new(),
            outcome: None,
            remove_after: None,
        });
        (self.drains.len() - 1) as u32
    }

    /// What the disruption controller counts for budget `i` now.
    pub fn pdb_pods(&self, i: usize) -> PodsView {
        let pdb = &self.pdbs[i];
        let Some(sel) = &pdb.selector else {
            return PodsView::default();
        };
        let matched: BTreeSet<usize> = (0..self.kube.replica_sets.len())
            .filter(|r| {
                let rs = &self.kube.replica_sets[*r];
                rs.namespace == pdb.namespace && sel.matches(&rs.template.labels)
            })
            .collect();
        let mut view = PodsView::default();
        let mut owners = BTreeSet::new();
        for &r in &matched {
            let rs = &self.kube.replica_sets[r];
            let terminating = self.terminating_of(r);
            let listed = rs.active.len() as i32 + terminating;
            view.listed += listed;
            view.healthy += self.ready_by_rs[r] as i32;
            if listed > 0 {
                owners.insert(rs.deployment.clone());
            }
        }
        view.scale = owners
            .iter()
            .filter_map(|d| self.deployment(d))
            .map(|d| d.replicas as i32)
            .sum();
        view
    }

    /// Terminating pods of ReplicaSet `r` (they still exist for the pod lister).
    fn terminating_of(&self, r: usize) -> i32 {
        self.kube
            .nodes
            .iter()
            .flat_map(|n| n.pods.iter())
            .filter(|p| {
                let pod = self.kube.pod(**p);
                pod.rs.0 as usize == r && pod.state == PodState::Terminating
            })
            .count() as i32
    }

    /// Budget `i`'s status as the disruption controller computes it now.
    pub fn pdb_status(&self, i: usize) -> PdbStatus {
        disruption::status(&self.pdbs[i].spec, &self.pdb_pods(i))
    }

    /// The budgets that select `pod` (same namespace, selector matches its labels).
    fn pdbs_of(&self, pod: PodId) -> Vec<usize> {
        let rs = self.kube.rs(self.kube.pod(pod).rs);
        (0..self.pdbs.len())
            .filter(|i| {
                let b = &self.pdbs[*i];
                b.namespace == rs.namespace
                    && b.selector
                        .as_ref()
                        .is_some_and(|s| s.matches(&rs.template.labels))
            })
            .collect()
    }

    /// `POST .../pods/{pod}/eviction`: deletes the pod unless its budget
    /// forbids it. The disruption controller's status is taken as current at
    /// every request (no informer lag).
    pub fn evict_through_api(&mut self, pod: PodId) -> Result<(), EvictionError> {
        let p = self.kube.pod(pod);
        let phase = match p.state {
            PodState::Deleted => return Ok(()),
            PodState::Pending | PodState::Starting => PodPhase::Pending,
            PodState::Running => PodPhase::Running { ready: p.ready },
            PodState::Terminating => PodPhase::Terminating,
        };
        if matches!(phase, PodPhase::Running { .. }) {
            let pdbs = self.pdbs_of(pod);
            if pdbs.len() > 1 {
                return Err(EvictionError::MultipleBudgets);
            }
            if let Some(&i) = pdbs.first() {
                let mut status = self.pdb_status(i);
                let b = &self.pdbs[i];
                if let Verdict::TooManyRequests { cause, .. } =
                    disruption::evict(&b.name, &b.spec, &mut status, phase)
                {
                    return Err(EvictionError::TooManyRequests { pdb: i, cause });
                }
            }
        }
        self.delete_evicted(pod);
        Ok(())
    }

    /// Deletes a pod the Eviction API let go: gone at once on a live virtual
    /// node (no termination grace period), Terminating until the node returns
    /// on an unreachable one. Its ReplicaSet replaces it.
    fn delete_evicted(&mut self, pod: PodId) {
        let p = self.kube.pod(pod);
        let rs = p.rs;
        match p.state {
            PodState::Deleted | PodState::Terminating => return,
            PodState::Starting | PodState::Running if p.node.is_some_and(|n| self.is_failed(n)) => {
                self.terminate_pod(pod, LogRecord::PodEvictedByApi(pod));
                return;
            }
            _ => {}
        }
        self.now_log(LogRecord::PodEvictedByApi(pod));
        self.delete_pod(pod);
        self.reconcile(rs);
    }

    /// `kubectl cordon` (`true`) or `uncordon` of every live node in `scope`.
    pub(super) fn set_cordoned(&mut self, scope: &FailureScope, cordoned: bool) {
        for id in self.nodes_in(scope) {
            self.set_unschedulable(id, cordoned);
        }
    }

    fn set_unschedulable(&mut self, id: NodeId, cordoned: bool) {
        let n = &mut self.kube.nodes[id.0 as usize];
        if n.removed || n.unschedulable == cordoned {
            return;
        }
        n.unschedulable = cordoned;
        self.now_log(LogRecord::NodeCordoned(id, cordoned));
        self.version += 1;
        if !cordoned {
            // A node update moves unschedulable pods back to the active queue.
            self.request_flush();
        }
    }

    /// Starts drain `d`: cordon every node of its scope, then drain the first.
    pub(super) fn start_drain(&mut self, d: usize) {
        let now = self.now();
        let scope = self.drains[d].scope.clone();
        let mut nodes: Vec<NodeId> = self
            .nodes_in(&scope)
            .into_iter()
            .filter(|n| !self.kube.node(*n).removed)
            .collect();
        // kubectl lists nodes by name, as the API server returns them.
        nodes.sort_by(|a, b| self.kube.node(*a).name.cmp(&self.kube.node(*b).name));
        for id in &nodes {
            self.set_unschedulable(*id, true);
        }
        let drain = &mut self.drains[d];
        drain.started = Some(now);
        drain.nodes = nodes;
        drain.current = 0;
        self.begin_node(d);
        self.drain_tick(d);
    }

    /// Lists the pods of the drain's current node (kubectl's
    /// `GetPodsForDeletion`: every pod bound to it, by namespace and name).
    fn begin_node(&mut self, d: usize) {
        let now = self.now();
        let Some(&id) = self.drains[d].nodes.get(self.drains[d].current) else {
            return;
        };
        let mut pods: Vec<PodId> = self.kube.node(id).pods.clone();
        pods.sort_by(|a, b| {
            let (pa, pb) = (self.kube.pod(*a), self.kube.pod(*b));
            let (ra, rb) = (self.kube.rs(pa.rs), self.kube.rs(pb.rs));
            (&ra.namespace, &pa.name).cmp(&(&rb.namespace, &pb.name))
        });
        let name = self.kube.node(id).name.clone();
        let drain = &mut self.drains[d];
        drain.node_started = now;
        drain.to_evict = pods;
        drain.to_vanish.clear();
        drain.node_times.push((name, now, None));
    }

    /// Drains `node` for a pool scale-down (`NodeRemoval::Drain`): OKE's
    /// eviction grace period is the drain's timeout; the node is deleted when
    /// it is empty, or at the timeout if `force`.
    pub(super) fn drain_for_removal(&mut self, node: NodeId, grace: SimDuration, force: bool) {
        let name = self.kube.node(node).name.clone();
        let d = self.add_drain(
            format!("scale-down of {name}"),
            FailureScope::Node(name),
            Some(grace),
        ) as usize;
        self.drains[d].remove_after = Some((node, force));
        self.start_drain(d);
    }

    /// One round of the drain, then what follows its end.
    pub(super) fn drain_tick(&mut self, d: usize) {
        self.drain_rounds(d);
        if self.drains[d].outcome.is_none() {
            return;
        }
        let Some((node, force)) = self.drains[d].remove_after.take() else {
            return;
        };
        let done = matches!(self.drains[d].outcome, Some(DrainOutcome::Completed(_)));
        if (done || force) && !self.kube.node(node).removed {
            self.remove_virtual_node(node);
            self.version += 1;
            self.request_flush();
        }
    }

    /// The drain's eviction goroutines (they all retry on the same 5 s
    /// grid), then the next node or the next round.
    fn drain_rounds(&mut self, d: usize) {
        loop {
            if self.drains[d].outcome.is_some() {
                return;
            }
            let now = self.now();
            if self.drains[d].current >= self.drains[d].nodes.len() {
                self.drains[d].outcome = Some(DrainOutcome::Completed(now));
                return;
            }
            if self.drain_timed_out(d, now) {
                return;
            }
            self.evict_round(d);
            if self.drains[d].outcome.is_some() {
                return;
            }
            let drain = &mut self.drains[d];
            drain
                .to_vanish
                .retain(|p| self.kube.pods[p.0 as usize].state != PodState::Deleted);
            if !drain.to_evict.is_empty() {
                self.queue
                    .schedule(now + EVICTION_RETRY, Ev::DrainTick(d as u32));
                return;
            }
            if !drain.to_vanish.is_empty() {
                self.queue
                    .schedule(now + DELETE_POLL, Ev::DrainTick(d as u32));
                return;
            }
            // This node is empty: on to the next, at once.
            let last = drain.node_times.last_mut().expect("a node was begun");
            last.2 = Some(now);
            drain.current += 1;
            self.begin_node(d);
        }
    }

    /// True (and the drain ended) when the current node's timeout has passed.
    fn drain_timed_out(&mut self, d: usize, now: SimTime) -> bool {
        let drain = &self.drains[d];
        let Some(t) = drain.timeout else {
            return false;
        };
        if now < drain.node_started + t {
            return false;
        }
        let node = self.kube.node(drain.nodes[drain.current]).name.clone();
        let pods_left = (drain.to_evict.len() + drain.to_vanish.len()) as u32;
        self.drains[d].outcome = Some(DrainOutcome::TimedOut {
            at: now,
            node,
            pods_left,
        });
        true
    }

    /// Asks the Eviction API for every pod still to evict, in order.
    fn evict_round(&mut self, d: usize) {
        let pods = std::mem::take(&mut self.drains[d].to_evict);
        let mut left = Vec::new();
        for pod in pods {
            match self.evict_through_api(pod) {
                Ok(()) => {
                    let drain = &mut self.drains[d];
                    drain.evicted += 1;
                    if self.kube.pods[pod.0 as usize].state != PodState::Deleted {
                        drain.to_vanish.push(pod);
                    }
                }
                Err(EvictionError::TooManyRequests { pdb, .. }) => {
                    let name = self.pdbs[pdb].name.clone();
                    self.now_log(LogRecord::EvictionRefused(pod, pdb as u32));
                    *self.drains[d].refused.entry(name).or_default() += 1;
                    left.push(pod);
                }
                Err(EvictionError::MultipleBudgets) => {
                    let now = self.now();
                    self.drains[d].outcome = Some(DrainOutcome::Failed {
                        at: now,
                        pod: self.kube.pod(pod).name.clone(),
                        message: MULTIPLE_BUDGETS.to_string(),
                    });
                    return;
                }
            }
        }
        self.drains[d].to_evict = left;
    }
}
