//! The state of one Kubernetes cluster as the control plane sees it: nodes in
//! scheduler order, pods, ReplicaSets, and the per-node counts of pods matching
//! each topology-spread selector.
//!
//! Every mutation goes through a method here so that the derived counters
//! (requested resources, pod counts, selector counts) are updated in one place
//! and asserted in pairs. Nothing here knows about time scheduling or events:
//! the simulation layer decides *when*, this module applies *what*.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::scheduler::FitError;

use super::pod::{InclusionPolicy, PodTemplate, SpreadConstraint, WhenUnsatisfiable};
use super::selector::{LabelSelector, Labels, Taint, TaintEffect};
use crate::kernel::SimTime;
use crate::model::network::SubnetId;
use crate::model::oke::PoolId;
use crate::model::topology::FaultDomain;

/// Index of a node in [`KubeCluster::nodes`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub u32);
/// Index of a pod in [`KubeCluster::pods`] (pods are never reused).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PodId(pub u32);
/// Index of a ReplicaSet in [`KubeCluster::replica_sets`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RsId(pub u32);
/// Index of a registered (namespace, selector) pair in the spread index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SelectorId(pub u32);

/// The node label for the zone.
pub const LABEL_ZONE: &str = "topology.kubernetes.io/zone";
/// The node label for the region.
pub const LABEL_REGION: &str = "topology.kubernetes.io/region";
/// The node label for the host name.
pub const LABEL_HOSTNAME: &str = "kubernetes.io/hostname";
/// The node label OKE sets for the fault domain.
pub const LABEL_FAULT_DOMAIN: &str = "oci.oraclecloud.com/fault-domain";
/// The label a ReplicaSet adds to its pods.
pub const LABEL_POD_TEMPLATE_HASH: &str = "pod-template-hash";

/// The node's Ready condition as the node lifecycle controller sets it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NodeReady {
    /// Ready=True.
    True,
    /// Ready=Unknown: the kubelet stopped posting status.
    Unknown,
}

/// Where a virtual node sits in OCI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VirtualNodeInfo {
    /// The pool it belongs to.
    pub pool: PoolId,
    /// 1-based AD number.
    pub availability_domain: u8,
    /// Fault domain.
    pub fault_domain: FaultDomain,
    /// The subnet the pods on this node take their IPs from.
    pub pod_subnet: SubnetId,
    /// The node's own VNIC address (its name).
    pub ip: u32,
    /// The subnet the node's VNIC address comes from.
    pub node_subnet: SubnetId,
    /// When the node was created.
    pub created_at: SimTime,
}

/// A node.
#[derive(Clone, Debug)]
pub struct Node {
    /// Node name (for a virtual node, its private IP).
    pub name: String,
    /// Labels.
    pub labels: Labels,
    /// Taints, in the order they were added.
    pub taints: Vec<Taint>,
    /// `spec.unschedulable` (cordoned).
    pub unschedulable: bool,
    /// Ready condition.
    pub ready: NodeReady,
    /// Allocatable CPU in millicores.
    pub allocatable_cpu_m: u64,
    /// Allocatable memory in bytes.
    pub allocatable_memory: u64,
    /// Allocatable pod count.
    pub allocatable_pods: u32,
    /// Sum of the effective requests of pods on the node.
    pub requested_cpu_m: u64,
    /// Sum of the memory requests of pods on the node.
    pub requested_memory: u64,
    /// Bumped whenever the requested resources change (for score caches).
    pub resource_version: u64,
    /// Requests with the scheduler's non-zero defaults (100m, 200Mi) for scoring.
    pub nonzero_cpu_m: u64,
    /// Memory counterpart of `nonzero_cpu_m`.
    pub nonzero_memory: u64,
    /// Pods assigned to the node, terminating ones included until they are gone.
    pub pods: Vec<PodId>,
    /// Zone key (region + zone labels) used by the node tree and the lifecycle controller.
    pub zone_key: String,
    /// OCI placement of a virtual node.
    pub virtual_node: VirtualNodeInfo,
    /// True once the node was deleted (its pool shrank or was deleted). The
    /// slot stays so node ids never move; a removed node has no labels, no
    /// pods and is in no scheduling order or topology domain.
    pub removed: bool,
}

/// A pod's lifecycle as the twin tracks it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PodState {
    /// Not yet bound to a node.
    Pending,
    /// Bound; its container instance is starting.
    Starting,
    /// Running; Ready unless its node is unhealthy.
    Running,
    /// Deleted with a grace period not yet over (e.g. evicted from an unreachable node).
    Terminating,
    /// Gone.
    Deleted,
}

/// A pod.
#[derive(Clone, Debug)]
pub struct Pod {
    /// Pod name (`<replicaset>-<5 chars>`).
    pub name: String,
    /// Owning ReplicaSet (its template is the pod's spec).
    pub rs: RsId,
    /// Lifecycle state.
    pub state: PodState,
    /// The Ready condition.
    pub ready: bool,
    /// The node it is bound to.
    pub node: Option<NodeId>,
    /// Its IP, from the node's pod subnet.
    pub ip: Option<u32>,
    /// Creation time.
    pub created_at: SimTime,
    /// Binding time.
    pub bound_at: Option<SimTime>,
    /// First time it became Ready.
    pub ready_at: Option<SimTime>,
    /// When its Ready condition last turned True (None while not Ready): a
    /// pod is available once it has been Ready for `minReadySeconds`.
    pub ready_since: Option<SimTime>,
    /// When it was deleted (deletionTimestamp).
    pub deleted_at: Option<SimTime>,
    /// The scheduler's last verdict while it was unschedulable (shared between
    /// pods that failed on the same cluster state).
    pub unschedulable: Option<Arc<FitError>>,
    /// Scheduling attempts so far.
    pub attempts: u32,
}

impl Pod {
    /// kube-scheduler's FailedScheduling message, if the pod was found unschedulable.
    pub fn unschedulable_message(&self) -> Option<String> {
        self.unschedulable.as_ref().map(|e| e.to_string())
    }
}

/// A ReplicaSet (one per Deployment; rollouts are out of scope here).
#[derive(Clone, Debug)]
pub struct ReplicaSet {
    /// `<deployment>-<pod-template-hash>`.
    pub name: String,
    /// Owning Deployment's name.
    pub deployment: String,
    /// Namespace.
    pub namespace: String,
    /// Desired replicas.
    pub replicas: u32,
    /// The selector.
    pub selector: LabelSelector,
    /// The pod template (labels include pod-template-hash).
    pub template: PodTemplate,
    /// Hard constraints with their selector ids.
    pub hard_spread: Vec<(SpreadConstraint, SelectorId)>,
    /// Soft constraints used in scoring (explicit ScheduleAnyway ones, or the
    /// system defaults when the pod has no constraints at all).
    pub soft_spread: Vec<(SpreadConstraint, SelectorId)>,
    /// True when `soft_spread` came from the system defaults.
    pub soft_spread_is_system_default: bool,
    /// Registered selectors this RS's pods match (for the per-node counts).
    pub matches: Vec<SelectorId>,
    /// Active pods (not terminating, not deleted), in creation order.
    pub active: BTreeSet<PodId>,
    /// Active pods not yet bound to a node.
    pub pending: u32,
}

/// Counts of pods matching each registered selector, per node.
#[derive(Clone, Debug, Default)]
pub struct SpreadIndex {
    keys: Vec<(String, LabelSelector)>,
    by_key: BTreeMap<(String, LabelSelector), SelectorId>,
    /// `counts[selector][node]`: non-terminating pods on the node that match.
    pub counts: Vec<Vec<u32>>,
}

impl SpreadIndex {
    /// The selector registered for (namespace, selector), if any.
    pub fn get(&self, namespace: &str, selector: &LabelSelector) -> Option<SelectorId> {
        self.by_key
            .get(&(namespace.to_string(), selector.clone()))
            .copied()
    }
}

/// Defaults the twin assumes for a virtual node's allocatable resources; OKE
/// does not document them (docs/k8s-facts.md §9, UNCONFIRMED).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeCapacity {
    /// CPU in millicores.
    pub cpu_m: u64,
    /// Memory in bytes.
    pub memory: u64,
    /// Pods (500 per virtual node, domain.md §3.3).
    pub pods: u32,
}

/// The control plane's view of one cluster.
#[derive(Clone, Debug, Default)]
pub struct KubeCluster {
    /// Nodes by id.
    pub nodes: Vec<Node>,
    /// Node ids in NodeTree order (round-robin over zones).
    pub node_order: Vec<NodeId>,
    /// Pods by id (deleted pods stay as tombstones).
    pub pods: Vec<Pod>,
    /// ReplicaSets by id.
    pub replica_sets: Vec<ReplicaSet>,
    /// Selector counts.
    pub spread: SpreadIndex,
    /// Per topology key: each node's domain index (None if the node lacks the key), and the domain names.
    domain_cache: BTreeMap<String, (Vec<Option<u32>>, Vec<String>)>,
    /// The keys of `domain_cache`, in its order.
    domain_keys: Vec<String>,
    /// `domain_totals[selector][key][domain]`: non-terminating matching pods per domain.
    domain_totals: Vec<Vec<Vec<u32>>>,
    zones_in_order: Vec<String>,
    by_node_name: BTreeMap<String, NodeId>,
}

impl KubeCluster {
    /// Adds a node and rebuilds the scheduler's node order.
    pub fn add_node(&mut self, mut node: Node) -> NodeId {
        assert!(
            !self.by_node_name.contains_key(&node.name),
            "node name {} reused",
            node.name
        );
        let id = NodeId(self.nodes.len() as u32);
        node.zone_key = zone_key(&node.labels);
        if !self.zones_in_order.contains(&node.zone_key) {
            self.zones_in_order.push(node.zone_key.clone());
        }
        self.by_node_name.insert(node.name.clone(), id);
        self.nodes.push(node);
        for counts in &mut self.spread.counts {
            counts.push(0);
        }
        self.refresh_domains();
        self.rebuild_node_order();
        id
    }

    /// Looks a node up by name.
    pub fn node_named(&self, name: &str) -> Option<NodeId> {
        self.by_node_name.get(name).copied()
    }

    fn rebuild_node_order(&mut self) {
        // NodeTree.list(): index 0 of every zone in zone order, then index 1, ...
        let per_zone: Vec<Vec<NodeId>> = self
            .zones_in_order
            .iter()
            .map(|z| {
                (0..self.nodes.len())
                    .filter(|i| !self.nodes[*i].removed && &self.nodes[*i].zone_key == z)
                    .map(|i| NodeId(i as u32))
                    .collect()
            })
            .collect();
        let depth = per_zone.iter().map(Vec::len).max().unwrap_or(0);
        self.node_order = (0..depth)
            .flat_map(|i| per_zone.iter().filter_map(move |z| z.get(i).copied()))
            .collect();
    }

    /// Deletes an empty node: it leaves the scheduling order and every
    /// topology domain, and its name can be used again.
    pub fn remove_node(&mut self, id: NodeId) {
        let n = &mut self.nodes[id.0 as usize];
        assert!(
            n.pods.is_empty(),
            "removing node {} that still has pods",
            n.name
        );
        assert!(!n.removed, "removing node {} twice", n.name);
        n.removed = true;
        n.unschedulable = true;
        n.labels.clear();
        n.zone_key.clear();
        let name = n.name.clone();
        self.by_node_name.remove(&name);
        self.refresh_domains();
        self.rebuild_node_order();
    }

    /// The node with id `id`.
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.0 as usize]
    }

    /// The pod with id `id`.
    pub fn pod(&self, id: PodId) -> &Pod {
        &self.pods[id.0 as usize]
    }

    /// The ReplicaSet with id `id`.
    pub fn rs(&self, id: RsId) -> &ReplicaSet {
        &self.replica_sets[id.0 as usize]
    }

    /// Computes the domains of `key` over the current nodes.
    fn compute_domains(&self, key: &str) -> (Vec<Option<u32>>, Vec<String>) {
        let mut names: Vec<String> = Vec::new();
        let mut per_node = Vec::with_capacity(self.nodes.len());
        for n in &self.nodes {
            per_node.push(
                n.labels
                    .get(key)
                    .map(|v| match names.iter().position(|x| x == v) {
                        Some(i) => i as u32,
                        None => {
                            names.push(v.clone());
                            (names.len() - 1) as u32
                        }
                    }),
            );
        }
        (per_node, names)
    }

    /// Recomputes the domain cache for every topology key a ReplicaSet uses.
    fn refresh_domains(&mut self) {
        let keys: BTreeSet<String> = self
            .replica_sets
            .iter()
            .flat_map(|rs| rs.hard_spread.iter().chain(rs.soft_spread.iter()))
            .map(|(c, _)| c.topology_key.clone())
            .collect();
        self.domain_cache = keys
            .into_iter()
            .map(|k| {
                let d = self.compute_domains(&k);
                (k, d)
            })
            .collect();
        self.domain_keys = self.domain_cache.keys().cloned().collect();
        self.rebuild_domain_totals();
    }

    fn rebuild_domain_totals(&mut self) {
        self.domain_totals = self.recount_domain_totals();
    }

    /// Per-domain totals counted afresh from the per-node counts.
    fn recount_domain_totals(&self) -> Vec<Vec<Vec<u32>>> {
        self.spread
            .counts
            .iter()
            .map(|per_node| {
                self.domain_cache
                    .values()
                    .map(|(of_node, names)| {
                        let mut totals = vec![0u32; names.len()];
                        for (d, c) in of_node.iter().zip(per_node) {
                            if let Some(d) = d {
                                totals[*d as usize] += c;
                            }
                        }
                        totals
                    })
                    .collect()
            })
            .collect()
    }

    /// Matching pods per domain of `key` for `selector`, over all nodes.
    pub fn domain_totals(&self, selector: SelectorId, key: &str) -> &[u32] {
        let k = self
            .domain_keys
            .iter()
            .position(|x| x == key)
            .expect("key in use");
        &self.domain_totals[selector.0 as usize][k]
    }

    /// True when every node carries label `key`.
    pub fn all_nodes_have(&self, key: &str) -> bool {
        self.domains_ref(key)
            .0
            .iter()
            .zip(&self.nodes)
            .all(|(d, n)| d.is_some() || n.removed)
    }

    fn add_to_totals(&mut self, rs: RsId, node: NodeId, delta: i64) {
        let matches = &self.replica_sets[rs.0 as usize].matches;
        for s in matches {
            for (k, (of_node, _)) in self.domain_cache.values().enumerate() {
                if let Some(d) = of_node[node.0 as usize] {
                    let t = &mut self.domain_totals[s.0 as usize][k][d as usize];
                    *t = (i64::from(*t) + delta) as u32;
                }
            }
        }
    }

    /// Each node's domain index for `key` (a topology key some ReplicaSet
    /// uses) and the domain names.
    pub fn domains_ref(&self, key: &str) -> &(Vec<Option<u32>>, Vec<String>) {
        self.domain_cache
            .get(key)
            .expect("domains are cached for every topology key in use")
    }

    /// Registers a ReplicaSet: resolves its spread constraints, registers their
    /// selectors and records which registered selectors its pods match.
    pub fn add_replica_set(
        &mut self,
        mut rs: ReplicaSet,
        system_default_spread: &[SpreadConstraint],
    ) -> RsId {
        let id = RsId(self.replica_sets.len() as u32);
        let explicit = rs.template.topology_spread.clone();
        let mut hard = Vec::new();
        let mut soft = Vec::new();
        for mut c in explicit.iter().cloned() {
            c.resolve_match_label_keys(&rs.template.labels);
            let sel = self.register_selector(&rs.namespace, c.selector.clone().unwrap_or_default());
            match c.when_unsatisfiable {
                WhenUnsatisfiable::DoNotSchedule => hard.push((c, sel)),
                WhenUnsatisfiable::ScheduleAnyway => soft.push((c, sel)),
            }
        }
        let system_default = explicit.is_empty();
        if system_default {
            // buildDefaultConstraints: the selector is the owner's selector (DefaultSelector).
            for c in system_default_spread {
                let mut c = c.clone();
                c.selector = Some(rs.selector.clone());
                let sel = self.register_selector(&rs.namespace, rs.selector.clone());
                soft.push((c, sel));
            }
        }
        rs.hard_spread = hard;
        rs.soft_spread = soft;
        rs.soft_spread_is_system_default = system_default;
        rs.matches = Vec::new();
        rs.active = BTreeSet::new();
        rs.pending = 0;
        self.replica_sets.push(rs);
        self.refresh_matches();
        self.refresh_domains();
        id
    }

    fn register_selector(&mut self, namespace: &str, selector: LabelSelector) -> SelectorId {
        let key = (namespace.to_string(), selector);
        if let Some(id) = self.spread.by_key.get(&key) {
            return *id;
        }
        let id = SelectorId(self.spread.keys.len() as u32);
        self.spread.keys.push(key.clone());
        self.spread.by_key.insert(key, id);
        // Count the pods already running that match.
        let mut counts = vec![0u32; self.nodes.len()];
        for p in &self.pods {
            if let (Some(n), true) = (p.node, counts_toward_spread(p.state)) {
                let rs = &self.replica_sets[p.rs.0 as usize];
                if rs.namespace == namespace
                    && self.spread.keys[id.0 as usize]
                        .1
                        .matches(&rs.template.labels)
                {
                    counts[n.0 as usize] += 1;
                }
            }
        }
        self.spread.counts.push(counts);
        self.rebuild_domain_totals();
        id
    }

    fn refresh_matches(&mut self) {
        for rs in &mut self.replica_sets {
            rs.matches = self
                .spread
                .keys
                .iter()
                .enumerate()
                .filter(|(_, (ns, sel))| *ns == rs.namespace && sel.matches(&rs.template.labels))
                .map(|(i, _)| SelectorId(i as u32))
                .collect();
        }
    }

    /// Creates a Pending pod for `rs`.
    pub fn create_pod(&mut self, rs: RsId, name: String, now: SimTime) -> PodId {
        let id = PodId(self.pods.len() as u32);
        self.pods.push(Pod {
            name,
            rs,
            state: PodState::Pending,
            ready: false,
            node: None,
            ip: None,
            created_at: now,
            bound_at: None,
            ready_at: None,
            ready_since: None,
            deleted_at: None,
            unschedulable: None,
            attempts: 0,
        });
        let r = &mut self.replica_sets[rs.0 as usize];
        r.active.insert(id);
        r.pending += 1;
        id
    }

    /// Binds a pending pod to a node with an IP already allocated for it.
    pub fn bind(&mut self, pod: PodId, node: NodeId, ip: u32, now: SimTime) {
        let p = &mut self.pods[pod.0 as usize];
        assert_eq!(
            p.state,
            PodState::Pending,
            "binding a pod that is not pending"
        );
        p.state = PodState::Starting;
        p.node = Some(node);
        p.ip = Some(ip);
        p.bound_at = Some(now);
        p.unschedulable = None;
        let rs = &mut self.replica_sets[p.rs.0 as usize];
        rs.pending -= 1;
        let (cpu, mem) = (rs.template.cpu_request_m(), rs.template.memory_request());
        let (nz_cpu, nz_mem) = nonzero_requests(&rs.template);
        let n = &mut self.nodes[node.0 as usize];
        n.pods.push(pod);
        n.requested_cpu_m += cpu;
        n.resource_version += 1;
        n.requested_memory += mem;
        n.nonzero_cpu_m += nz_cpu;
        n.nonzero_memory += nz_mem;
        for s in &rs.matches {
            self.spread.counts[s.0 as usize][node.0 as usize] += 1;
        }
        let rs_id = self.pods[pod.0 as usize].rs;
        self.add_to_totals(rs_id, node, 1);
    }

    /// Marks a pod deleted-but-not-gone (deletionTimestamp set). It stops
    /// counting for spread and for its ReplicaSet; it keeps its node slot and IP.
    pub fn mark_terminating(&mut self, pod: PodId, now: SimTime) {
        let p = &mut self.pods[pod.0 as usize];
        assert!(
            matches!(p.state, PodState::Starting | PodState::Running),
            "terminating a pod in state {:?}",
            p.state
        );
        p.state = PodState::Terminating;
        p.ready = false;
        p.deleted_at = Some(now);
        let (rs_id, node) = (p.rs, p.node.expect("a starting or running pod has a node"));
        let rs = &mut self.replica_sets[rs_id.0 as usize];
        assert!(rs.active.remove(&pod), "pod missing from its ReplicaSet");
        for s in &rs.matches {
            let c = &mut self.spread.counts[s.0 as usize][node.0 as usize];
            assert!(*c > 0, "spread count underflow");
            *c -= 1;
        }
        self.add_to_totals(rs_id, node, -1);
    }

    /// Removes a pod for good; returns the (subnet, ip) to release, if it had one.
    pub fn remove_pod(&mut self, pod: PodId, now: SimTime) -> Option<(SubnetId, u32)> {
        let state = self.pods[pod.0 as usize].state;
        match state {
            PodState::Deleted => panic!("removing a pod twice"),
            PodState::Starting | PodState::Running => self.mark_terminating(pod, now),
            PodState::Pending => {
                let p = &mut self.pods[pod.0 as usize];
                p.deleted_at = Some(now);
                let rs = &mut self.replica_sets[p.rs.0 as usize];
                assert!(rs.active.remove(&pod), "pod missing from its ReplicaSet");
                rs.pending -= 1;
            }
            PodState::Terminating => {}
        }
        let p = &mut self.pods[pod.0 as usize];
        p.state = PodState::Deleted;
        p.ready = false;
        let node = p.node?;
        let ip = p.ip.take()?;
        let rs = &self.replica_sets[p.rs.0 as usize];
        let (cpu, mem) = (rs.template.cpu_request_m(), rs.template.memory_request());
        let (nz_cpu, nz_mem) = nonzero_requests(&rs.template);
        let n = &mut self.nodes[node.0 as usize];
        remove_one(&mut n.pods, pod);
        n.requested_cpu_m -= cpu;
        n.resource_version += 1;
        n.requested_memory -= mem;
        n.nonzero_cpu_m -= nz_cpu;
        n.nonzero_memory -= nz_mem;
        Some((n.virtual_node.pod_subnet, ip))
    }

    /// Adds a taint unless an identical one is present; true if added.
    pub fn add_taint(&mut self, node: NodeId, taint: Taint) -> bool {
        let n = &mut self.nodes[node.0 as usize];
        if n.taints.contains(&taint) {
            return false;
        }
        n.taints.push(taint);
        true
    }

    /// Removes taints with this key and effect; true if any was removed.
    pub fn remove_taint(&mut self, node: NodeId, key: &str, effect: TaintEffect) -> bool {
        let n = &mut self.nodes[node.0 as usize];
        let before = n.taints.len();
        n.taints.retain(|t| !(t.key == key && t.effect == effect));
        n.taints.len() != before
    }

    /// Checks every derived counter against a recount from scratch (for tests).
    pub fn check_invariants(&self) {
        for (i, n) in self.nodes.iter().enumerate() {
            let mut cpu = 0;
            for p in &n.pods {
                let pod = self.pod(*p);
                assert_eq!(
                    pod.node,
                    Some(NodeId(i as u32)),
                    "pod {} listed on a node it is not bound to",
                    pod.name
                );
                assert_ne!(pod.state, PodState::Deleted);
                cpu += self.rs(pod.rs).template.cpu_request_m();
            }
            assert_eq!(
                cpu, n.requested_cpu_m,
                "requested cpu of node {} drifted",
                n.name
            );
        }
        for (s, (ns, sel)) in self.spread.keys.iter().enumerate() {
            for (i, n) in self.nodes.iter().enumerate() {
                let want = n
                    .pods
                    .iter()
                    .filter(|p| counts_toward_spread(self.pod(**p).state))
                    .filter(|p| {
                        let rs = self.rs(self.pod(**p).rs);
                        &rs.namespace == ns && sel.matches(&rs.template.labels)
                    })
                    .count() as u32;
                assert_eq!(
                    self.spread.counts[s][i], want,
                    "spread count drifted on node {}",
                    n.name
                );
            }
        }
        assert_eq!(
            self.recount_domain_totals(),
            self.domain_totals,
            "per-domain spread totals drifted"
        );
        for rs in &self.replica_sets {
            for p in &rs.active {
                assert!(matches!(
                    self.pod(*p).state,
                    PodState::Pending | PodState::Starting | PodState::Running
                ));
            }
            let pending = rs
                .active
                .iter()
                .filter(|p| self.pod(**p).state == PodState::Pending)
                .count();
            assert_eq!(
                pending as u32, rs.pending,
                "pending count of {} drifted",
                rs.name
            );
        }
    }
}

/// True when a pod in this state counts for topology spread (bound, not terminating).
pub fn counts_toward_spread(state: PodState) -> bool {
    matches!(state, PodState::Starting | PodState::Running)
}

/// Requests with the scheduler's non-zero defaults for containers that request nothing
/// (`DefaultMilliCPURequest` 100m, `DefaultMemoryRequest` 200Mi).
pub fn nonzero_requests(t: &PodTemplate) -> (u64, u64) {
    let cpu = t
        .containers
        .iter()
        .map(|c| match c.effective_cpu_request_m() {
            0 => 100,
            v => v,
        })
        .sum();
    let mem = t
        .containers
        .iter()
        .map(|c| match c.effective_memory_request() {
            0 => 200 << 20,
            v => v,
        })
        .sum();
    (cpu, mem)
}

/// The zone key of a node: region and zone labels, as `GetZoneKey` builds it.
pub fn zone_key(labels: &Labels) -> String {
    let region = labels.get(LABEL_REGION).map(String::as_str).unwrap_or("");
    let zone = labels.get(LABEL_ZONE).map(String::as_str).unwrap_or("");
    if region.is_empty() && zone.is_empty() {
        String::new()
    } else {
        format!("{region}:\u{0}:{zone}")
    }
}

fn remove_one(v: &mut Vec<PodId>, pod: PodId) {
    let i = v
        .iter()
        .position(|p| *p == pod)
        .expect("pod missing from its list");
    v.swap_remove(i);
}

/// The system default spread constraints of PodTopologySpread
/// (`defaultingType: System`): hostname maxSkew 3 and zone maxSkew 5, both ScheduleAnyway.
pub fn system_default_constraints() -> Vec<SpreadConstraint> {
    [(LABEL_HOSTNAME, 3), (LABEL_ZONE, 5)]
        .into_iter()
        .map(|(key, skew)| SpreadConstraint {
            max_skew: skew,
            topology_key: key.to_string(),
            when_unsatisfiable: WhenUnsatisfiable::ScheduleAnyway,
            selector: None,
            min_domains: None,
            node_affinity_policy: InclusionPolicy::Honor,
            node_taints_policy: InclusionPolicy::Ignore,
            match_label_keys: Vec::new(),
        })
        .collect()
}
