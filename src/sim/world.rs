//! The world: models plus the control loops that move them in virtual time.
//!
//! One event at a time, in (time, sequence) order. Each handler applies its
//! state change through the models' methods and appends a log record. After all
//! events of one instant are done, the observer sees the settled state.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use hdrhistogram::Histogram;

use super::autoscaler::HpaRuntime;
use super::config::SimConfig;
use super::log::LogRecord;
use super::metrics::{ChangeKey, Metrics, WorkloadLoad};
use super::wiring::{DbView, Wiring, WiringAction};
use crate::kernel::{EventLog, EventQueue, RandomStream, SeedTree, SimDuration, SimTime};
use crate::model::artifacts::Registry as ContainerRegistry;
use crate::model::iam::{Iam, IamLimits};
use crate::model::kube::cluster::{
    KubeCluster, LABEL_FAULT_DOMAIN, LABEL_HOSTNAME, LABEL_POD_TEMPLATE_HASH, LABEL_REGION,
    LABEL_ZONE, Node, NodeId, NodeReady, PodId, PodState, ReplicaSet, RsId, VirtualNodeInfo,
    system_default_constraints,
};
use crate::model::kube::hpa::{self, HpaSpec, HpaState};
use crate::model::kube::lifecycle::{ZoneState, tainting_rate, zone_state};
use crate::model::kube::pod::{PodTemplate, TAINT_UNREACHABLE};
use crate::model::kube::scheduler::{Explanation, FitError, IpAvailability, Scheduler};
use crate::model::kube::selector::{LabelSelector, Labels, Taint, TaintEffect};
use crate::model::lb::{LbLimits, LoadBalancing};
use crate::model::mysql::Domain;
use crate::model::network::{Network, NetworkError, SubnetId};
use crate::model::ocid::OcidMint;
use crate::model::oke::{Oke, OkeError, PoolId, VirtualNodePlan, VirtualNodePool};
use crate::model::topology::{FaultDomain, Topology};
use crate::model::vault::{VaultLimits, VaultService, VaultTimings};

mod disruption;
mod rollout;
pub use disruption::{DrainOutcome, DrainRuntime, EvictionError, PdbRuntime};
pub use rollout::{RolloutRecord, RolloutState};

/// What a failure takes down.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FailureScope {
    /// One fault domain of one AD.
    FaultDomain {
        /// 1-based AD number.
        ad: u8,
        /// The fault domain.
        fd: FaultDomain,
    },
    /// A whole availability domain.
    AvailabilityDomain {
        /// 1-based AD number.
        ad: u8,
    },
    /// One virtual node, by name.
    Node(String),
}

/// A Deployment to apply.
#[derive(Clone, Debug)]
pub struct DeploymentSpec {
    /// Name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// Desired replicas.
    pub replicas: u32,
    /// `spec.selector`.
    pub selector: LabelSelector,
    /// The pod template (admission defaults not yet applied).
    pub template: PodTemplate,
    /// The pod-template-hash the ReplicaSet gets.
    pub template_hash: String,
    /// `spec.strategy` (validated).
    pub strategy: crate::model::kube::deployment::Strategy,
    /// `spec.minReadySeconds`: a pod is available once Ready this long.
    pub min_ready_seconds: u32,
}

/// Something the timeline does at a point in time.
#[derive(Clone, Debug)]
pub enum Action {
    /// Create a Deployment (and its ReplicaSet).
    ApplyDeployment(Box<DeploymentSpec>),
    /// Change a Deployment's replicas.
    Scale {
        /// Deployment name.
        deployment: String,
        /// New replica count.
        replicas: u32,
    },
    /// Take a scope down; `failure` identifies it for the recovery.
    Fail {
        /// What fails.
        scope: FailureScope,
        /// Failure id.
        failure: u32,
    },
    /// Bring a failure's scope back.
    Recover {
        /// Failure id.
        failure: u32,
    },
    /// Change a Deployment's pod template (its image): a rollout.
    Rollout {
        /// Deployment name.
        deployment: String,
        /// The new image.
        image: String,
    },
    /// Take addresses from a subnet for something outside the cluster.
    ConsumeIps {
        /// The subnet.
        subnet: SubnetId,
        /// How many.
        count: u32,
    },
    /// Give back addresses taken by `ConsumeIps`.
    ReleaseIps {
        /// The subnet.
        subnet: SubnetId,
        /// How many.
        count: u32,
    },
    /// A change to a vault, a secret or a database (`sim/wiring.rs`).
    Wiring(Box<WiringAction>),
    /// `kubectl cordon` (true) or `uncordon` (false) of the nodes of a scope.
    Cordon {
        /// The nodes.
        scope: FailureScope,
        /// Cordon or uncordon.
        cordon: bool,
    },
    /// `kubectl drain` (the drain registered with this index).
    Drain(u32),
}

/// Sees the world after every instant at which something happened.
pub trait Observer {
    /// Called once per instant, after all of its events.
    fn observe(&mut self, world: &World, now: SimTime);
}

/// A deployment as the world tracks it.
#[derive(Clone, Debug)]
pub struct Deployment {
    /// Name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// Its newest ReplicaSet, the one matching its pod template.
    pub rs: RsId,
    /// All its ReplicaSets, oldest first (the last is `rs`).
    pub rss: Vec<RsId>,
    /// `spec.replicas`.
    pub replicas: u32,
    /// `spec.strategy`.
    pub strategy: crate::model::kube::deployment::Strategy,
    /// `spec.minReadySeconds`.
    pub min_ready: SimDuration,
    /// The deployment controller's annotations and the rollouts so far.
    pub rollout: RolloutState,
}

#[derive(Clone, Debug, Default)]
struct NodeSim {
    /// Active failures covering the node.
    down_count: u32,
    /// When its heartbeats stopped.
    down_since: Option<SimTime>,
    /// Bumped whenever the NoExecute taint is added or removed; stale evictions are ignored.
    no_execute_epoch: u64,
    in_taint_queue: bool,
    no_execute_tainted: bool,
}

#[derive(Clone, Debug)]
struct ZoneSim {
    nodes: Vec<NodeId>,
    state: ZoneState,
    rate: f64,
    tokens: f64,
    last_refill: SimTime,
    queue: VecDeque<NodeId>,
    pass_at: Option<SimTime>,
}

#[derive(Clone, Debug)]
enum Ev {
    Action(u32),
    SchedulerCycle,
    PodStarted(PodId),
    MonitorPass,
    TaintingPass(u32),
    Evict { pod: PodId, epoch: u64 },
    BackoffDone(PodId),
    LeftoverFlush,
    Flush,
    MetricsScrape,
    HpaSync(u32),
    Wiring,
    DeploymentSync(u32),
    DrainTick(u32),
    Observe,
}

/// One explained scheduling attempt.
#[derive(Clone, Debug)]
pub struct ExplainedAttempt {
    /// When.
    pub at: SimTime,
    /// Which pod.
    pub pod: PodId,
    /// The verdict: the node or the FitError.
    pub result: Result<NodeId, FitError>,
    /// Filters and scores.
    pub explanation: Explanation,
}

/// The whole simulated region (`Clone`: the API keeps its initial state for
/// a fast reset).
#[derive(Clone)]
pub struct World {
    /// Run settings.
    pub cfg: SimConfig,
    /// Region, ADs, FDs.
    pub topology: Topology,
    /// VCNs, subnets, IP pools.
    pub network: Network,
    /// Clusters and virtual node pools.
    pub oke: Oke,
    /// Vaults, keys and secrets (one model for scenarios and the API).
    pub vault: VaultService,
    /// Identity policies and their evaluator.
    pub iam: Iam,
    /// Load balancers (one model for scenarios and the API).
    pub load_balancers: LoadBalancing,
    /// Container repositories.
    pub container_registry: ContainerRegistry,
    /// The cluster's control-plane state.
    pub kube: KubeCluster,
    /// OCID mint.
    pub mint: OcidMint,
    /// Deployments in creation order.
    pub deployments: Vec<Deployment>,
    /// Timeline actions by index.
    pub actions: Vec<(SimTime, String, Action)>,
    /// The event log.
    pub log: EventLog<LogRecord>,
    /// Creation → binding latency per pod, in ms.
    pub scheduling_latency: Histogram<u64>,
    /// Binding → Ready latency per pod, in ms.
    pub startup_latency: Histogram<u64>,
    /// Attempts explained on request.
    pub explained: Vec<ExplainedAttempt>,
    /// Events processed.
    pub events_processed: u64,
    /// Ready pods per ReplicaSet.
    pub ready_by_rs: Vec<u32>,
    /// Bound, non-terminating pods per ReplicaSet per node.
    pub bound_by_rs_node: Vec<Vec<u32>>,
    /// Offered load and metrics-server samples.
    pub metrics: Metrics,
    /// HorizontalPodAutoscalers.
    pub hpas: Vec<HpaRuntime>,
    /// MySQL, External Secrets and the Secrets pods need (`sim/wiring.rs`).
    pub wiring: Wiring,
    /// PodDisruptionBudgets (`world/disruption.rs`).
    pub pdbs: Vec<PdbRuntime>,
    /// Drains of the timeline (and of pool scale-downs), by index.
    pub drains: Vec<DrainRuntime>,
    /// Nodes a pool resize is draining before it deletes them.
    removing: BTreeSet<NodeId>,
    wiring_armed: BTreeSet<SimTime>,
    /// Per ReplicaSet: bumped whenever one of its pods is created, bound,
    /// started, made (un)ready or removed; with `node_changes`, the
    /// [`ChangeKey`] that lets metrics and HPA views skip unchanged pods.
    pod_changes: Vec<u64>,
    /// Bumped whenever a node goes down or comes back.
    node_changes: u64,
    scheduler: Scheduler,
    queue: EventQueue<Ev>,
    node_sim: Vec<NodeSim>,
    zones: Vec<ZoneSim>,
    zone_of_node: Vec<u32>,
    all_disrupted: bool,
    active_q: VecDeque<PodId>,
    unschedulable: BTreeMap<PodId, SimTime>,
    backing_off: BTreeSet<PodId>,
    cycle_scheduled: bool,
    monitor_scheduled: bool,
    leftover_scheduled: bool,
    flush_scheduled: bool,
    metrics_started: bool,
    version: u64,
    /// Per ReplicaSet: the FitError of its last failed attempt and the cluster
    /// version it was computed at. Pods of one ReplicaSet share their spec, and a
    /// failed attempt changes nothing, so the verdict holds until the version moves.
    equivalence: BTreeMap<RsId, (u64, Arc<FitError>)>,
    names: RandomStream,
    startup_rng: RandomStream,
    pod_names: BTreeSet<(RsId, u32)>,
    failures: BTreeMap<u32, Vec<NodeId>>,
    /// The scope of each active failure, so nodes created during it start down.
    failure_scopes: BTreeMap<u32, FailureScope>,
    external_ips: BTreeMap<SubnetId, Vec<u32>>,
    deployment_by_name: BTreeMap<String, usize>,
    explain: BTreeSet<String>,
}

/// True when a failure of `scope` covers a node at (`ad`, `fd`).
fn scope_covers(scope: &FailureScope, ad: u8, fd: FaultDomain) -> bool {
    match scope {
        FailureScope::FaultDomain { ad: a, fd: f } => *a == ad && *f == fd,
        FailureScope::AvailabilityDomain { ad: a } => *a == ad,
        FailureScope::Node(_) => false,
    }
}

/// A histogram of latencies in ms, from 1 ms to a year, 3 significant figures.
fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 366 * 86_400_000, 3).expect("valid histogram bounds")
}

struct NetIps<'a>(&'a Network);
impl IpAvailability for NetIps<'_> {
    fn free_pod_ips(&self, node: &Node) -> u64 {
        self.0.free_ips(node.virtual_node.pod_subnet)
    }
}

impl World {
    /// An empty world for `topology` with the given models' limits.
    pub fn new(cfg: SimConfig, topology: Topology, network: Network, oke: Oke) -> World {
        let seeds = SeedTree::new(cfg.seed);
        let mint = OcidMint::new(&topology.realm(), topology.region.key, seeds.fork("ocid"));
        let vault_mint = OcidMint::new(
            &topology.realm(),
            topology.region.key,
            seeds.fork("vault-ocid"),
        );
        let iam_mint = OcidMint::new(&topology.realm(), "", seeds.fork("iam-ocid"));
        let explain = cfg.explain_pods.iter().cloned().collect();
        World {
            scheduler: Scheduler::new(cfg.scheduler.clone(), seeds.fork("scheduler")),
            names: seeds.fork("pod-names"),
            startup_rng: seeds.fork("startup"),
            log: EventLog::new(cfg.keep_log),
            cfg,
            topology,
            network,
            oke,
            vault: VaultService::new(
                VaultLimits::default(),
                VaultTimings::default(),
                vault_mint,
                seeds.fork("kms-crypto"),
            ),
            iam: Iam::new(IamLimits::default(), iam_mint),
            load_balancers: LoadBalancing::new(LbLimits::default()),
            container_registry: ContainerRegistry::default(),
            kube: KubeCluster::default(),
            mint,
            deployments: Vec::new(),
            actions: Vec::new(),
            scheduling_latency: latency_histogram(),
            startup_latency: latency_histogram(),
            explained: Vec::new(),
            events_processed: 0,
            ready_by_rs: Vec::new(),
            bound_by_rs_node: Vec::new(),
            metrics: Metrics::new(SimDuration::from_secs(15)),
            hpas: Vec::new(),
            wiring: Wiring::default(),
            pdbs: Vec::new(),
            drains: Vec::new(),
            removing: BTreeSet::new(),
            wiring_armed: BTreeSet::new(),
            pod_changes: Vec::new(),
            node_changes: 0,
            queue: EventQueue::new(),
            node_sim: Vec::new(),
            zones: Vec::new(),
            zone_of_node: Vec::new(),
            all_disrupted: false,
            active_q: VecDeque::new(),
            unschedulable: BTreeMap::new(),
            backing_off: BTreeSet::new(),
            cycle_scheduled: false,
            monitor_scheduled: false,
            leftover_scheduled: false,
            flush_scheduled: false,
            metrics_started: false,
            version: 0,
            equivalence: BTreeMap::new(),
            pod_names: BTreeSet::new(),
            failures: BTreeMap::new(),
            failure_scopes: BTreeMap::new(),
            external_ips: BTreeMap::new(),
            deployment_by_name: BTreeMap::new(),
            explain,
        }
    }

    /// True while a timeline failure covers `node` (its heartbeats stopped).
    pub fn is_failed(&self, node: NodeId) -> bool {
        self.node_sim[node.0 as usize].down_since.is_some()
    }

    /// Since when a timeline failure has covered `node`, if one does.
    pub fn node_down_since(&self, node: NodeId) -> Option<SimTime> {
        self.node_sim[node.0 as usize].down_since
    }

    /// Current virtual time.
    pub fn now(&self) -> SimTime {
        self.queue.now()
    }

    /// Creates a virtual node pool and its nodes (IPs from the placement subnets).
    pub fn create_virtual_node_pool(&mut self, pool: VirtualNodePool) -> Result<PoolId, OkeError> {
        // Check that the node subnets can hold the nodes before committing anything.
        let plan = crate::model::oke::spread_nodes(&pool.placements, pool.size as usize);
        let mut need: BTreeMap<SubnetId, u64> = BTreeMap::new();
        for p in &plan {
            *need.entry(p.subnet).or_default() += 1;
        }
        self.check_subnet_room(&need)?;
        let (pool_id, plan) =
            self.oke
                .create_virtual_node_pool(pool, &self.network, &self.topology)?;
        for p in plan {
            self.add_virtual_node(pool_id, &p)?;
        }
        self.version += 1;
        Ok(pool_id)
    }

    /// Creates one virtual node of `pool` where `p` says, its VNIC address from
    /// the placement subnet, with the pool's labels and taints and OKE's own.
    fn add_virtual_node(
        &mut self,
        pool_id: PoolId,
        p: &VirtualNodePlan,
    ) -> Result<NodeId, OkeError> {
        let pool = &self.oke.pools[pool_id.0 as usize];
        let (labels, taints, pod_subnet) =
            (pool.labels.clone(), pool.taints.clone(), pool.pod_subnet);
        let ip = self.network.allocate_ip(p.subnet)?;
        let name = crate::model::network::ip_string(ip);
        let ad = &self.topology.ads[usize::from(p.availability_domain) - 1];
        let mut node_labels = labels;
        node_labels.insert(LABEL_ZONE.into(), ad.zone_label.clone());
        node_labels.insert(LABEL_FAULT_DOMAIN.into(), p.fault_domain.to_string());
        node_labels.insert(LABEL_HOSTNAME.into(), name.clone());
        node_labels.insert(
            LABEL_REGION.into(),
            self.topology.region.key.to_ascii_lowercase(),
        );
        let cap = &self.cfg.node_capacity;
        let node = Node {
            name,
            labels: node_labels,
            taints,
            unschedulable: false,
            ready: NodeReady::True,
            allocatable_cpu_m: cap.cpu_m,
            allocatable_memory: cap.memory,
            allocatable_pods: cap.pods.min(self.oke.limits.pods_per_virtual_node),
            requested_cpu_m: 0,
            requested_memory: 0,
            resource_version: 0,
            nonzero_cpu_m: 0,
            nonzero_memory: 0,
            pods: Vec::new(),
            zone_key: String::new(),
            virtual_node: VirtualNodeInfo {
                pool: pool_id,
                availability_domain: p.availability_domain,
                fault_domain: p.fault_domain,
                pod_subnet,
                ip,
                node_subnet: p.subnet,
                created_at: self.now(),
            },
            removed: false,
        };
        let id = self.kube.add_node(node);
        // A node created inside a failed domain is down from the start.
        let mut sim = NodeSim::default();
        let covering: Vec<u32> = self
            .failure_scopes
            .iter()
            .filter(|(_, scope)| scope_covers(scope, p.availability_domain, p.fault_domain))
            .map(|(f, _)| *f)
            .collect();
        if !covering.is_empty() {
            sim.down_count = covering.len() as u32;
            sim.down_since = Some(self.now());
            for f in covering {
                self.failures.entry(f).or_default().push(id);
            }
        }
        self.node_sim.push(sim);
        for counts in &mut self.bound_by_rs_node {
            counts.push(0);
        }
        self.assign_zone(id);
        if self.node_sim[id.0 as usize].down_since.is_some() {
            self.arm_monitor();
        }
        Ok(id)
    }

    /// The live nodes of a pool (not removed, not being drained for
    /// removal), in node id order.
    pub fn pool_nodes(&self, pool: PoolId) -> Vec<NodeId> {
        (0..self.kube.nodes.len() as u32)
            .map(NodeId)
            .filter(|id| {
                let n = self.kube.node(*id);
                !n.removed && n.virtual_node.pool == pool && !self.removing.contains(id)
            })
            .collect()
    }

    /// Resizes a virtual node pool, re-balancing over its (AD, FD) slots: new
    /// nodes go to the emptiest slots; removed nodes come from the fullest, their
    /// pods deleted (the ReplicaSets re-create them elsewhere) and their
    /// addresses released. Refused as a whole when the limit or a node subnet
    /// would be exceeded.
    pub fn resize_virtual_node_pool(&mut self, pool: PoolId, size: u32) -> Result<(), OkeError> {
        let nodes = self.pool_nodes(pool);
        let current: Vec<(u8, FaultDomain)> = nodes
            .iter()
            .map(|id| {
                let v = &self.kube.node(*id).virtual_node;
                (v.availability_domain, v.fault_domain)
            })
            .collect();
        let resize = self.oke.plan_resize(pool, &current, size)?;
        let mut need: BTreeMap<SubnetId, u64> = BTreeMap::new();
        for p in &resize.add {
            *need.entry(p.subnet).or_default() += 1;
        }
        self.check_subnet_room(&need)?;
        for i in &resize.remove {
            self.retire_node(nodes[*i]);
        }
        for p in &resize.add {
            self.add_virtual_node(pool, p)?;
        }
        self.oke
            .apply_resize(pool, size, resize.add.len(), resize.remove.len());
        self.version += 1;
        self.request_flush();
        Ok(())
    }

    /// Replaces the labels and taints a pool puts on the virtual nodes it
    /// creates from now on (UpdateVirtualNodePool's `initialVirtualNodeLabels`
    /// and `taints`). Existing nodes keep theirs, as OKE documents for node
    /// pool updates ("the updated values only apply to new nodes"); for
    /// virtual node pools it is an assumption listed in the README.
    pub fn set_pool_node_template(
        &mut self,
        pool: PoolId,
        labels: Option<Labels>,
        taints: Option<Vec<Taint>>,
    ) {
        let p = &mut self.oke.pools[pool.0 as usize];
        if let Some(l) = labels {
            p.labels = l;
        }
        if let Some(t) = taints {
            p.taints = t;
        }
        self.version += 1;
    }

    /// A pool's new pod configuration (UpdateVirtualNodePool's
    /// `podConfiguration`, checked by the caller with `Oke::check_pod_subnet`
    /// and against the NSG limit). The subnet goes to the virtual nodes the
    /// pool creates from now on; nodes that exist keep theirs, as they keep
    /// their labels and taints. `nsgs` (model NSG names) become the pool's pod
    /// NSGs, which the model keeps per pool: pods made from now on are in
    /// them, and so is every pod of the pool judged afterwards (OKE does not
    /// say what happens to running pods' VNICs; an assumption in the README).
    pub fn set_pool_pod_network(&mut self, pool: PoolId, subnet: SubnetId, nsgs: Vec<String>) {
        let p = &mut self.oke.pools[pool.0 as usize];
        assert!(
            nsgs.len() <= self.oke.limits.nsgs_per_configuration,
            "the caller checks the NSG limit"
        );
        p.pod_subnet = subnet;
        p.pod_nsgs = nsgs;
        self.version += 1;
    }

    /// Deletes a virtual node pool: all its nodes go (as in a resize to zero).
    pub fn delete_virtual_node_pool(&mut self, pool: PoolId) -> Result<(), OkeError> {
        self.resize_virtual_node_pool(pool, 0)?;
        self.oke.delete_pool(pool);
        Ok(())
    }

    fn check_subnet_room(&self, need: &BTreeMap<SubnetId, u64>) -> Result<(), OkeError> {
        for (s, n) in need {
            if self.network.free_ips(*s) < *n {
                let sub = self.network.subnet(*s);
                return Err(OkeError::Network(NetworkError::SubnetExhausted {
                    subnet: sub.name.clone(),
                    cidr: sub.cidr,
                    capacity: sub.pool.capacity(),
                }));
            }
        }
        Ok(())
    }

    /// Takes a node out of its pool as `virtual_node_removal` says: at once,
    /// or after a drain through the Eviction API (`world/disruption.rs`).
    fn retire_node(&mut self, id: NodeId) {
        match self.cfg.virtual_node_removal {
            crate::sim::config::NodeRemoval::Drain {
                eviction_grace,
                force_delete_after_grace,
            } if eviction_grace.as_ms() > 0 => {
                self.removing.insert(id);
                self.drain_for_removal(id, eviction_grace, force_delete_after_grace);
            }
            _ => self.remove_virtual_node(id),
        }
    }

    /// Deletes one virtual node: its pods are deleted at once (their
    /// ReplicaSets re-create them), then the node and its VNIC address go.
    fn remove_virtual_node(&mut self, id: NodeId) {
        self.removing.remove(&id);
        let now = self.now();
        let pods = self.kube.node(id).pods.clone();
        let mut owners = BTreeSet::new();
        for pod in pods {
            let p = self.kube.pod(pod);
            owners.insert(p.rs);
            if matches!(p.state, PodState::Starting | PodState::Running) {
                self.unbind_accounting(pod);
                self.kube.mark_terminating(pod, now);
            }
            if let Some((subnet, ip)) = self.kube.remove_pod(pod, now) {
                self.network.release_ip(subnet, ip);
            }
            self.now_log(LogRecord::PodDeleted(pod));
        }
        let v = self.kube.node(id).virtual_node.clone();
        self.kube.remove_node(id);
        self.network.release_ip(v.node_subnet, v.ip);
        for list in self.failures.values_mut() {
            list.retain(|n| *n != id);
        }
        let s = &mut self.node_sim[id.0 as usize];
        s.down_count = 0;
        s.down_since = None;
        for rs in owners {
            self.reconcile(rs);
        }
    }

    fn assign_zone(&mut self, id: NodeId) {
        let key = self.kube.node(id).zone_key.clone();
        let existing =
            (0..self.zones.len()).find(|z| self.kube.node(self.zones[*z].nodes[0]).zone_key == key);
        let z = existing.unwrap_or_else(|| {
            self.zones.push(ZoneSim {
                nodes: Vec::new(),
                state: ZoneState::Initial,
                rate: self.cfg.lifecycle.node_eviction_rate,
                tokens: 1.0,
                last_refill: SimTime::ZERO,
                queue: VecDeque::new(),
                pass_at: None,
            });
            self.zones.len() - 1
        });
        self.zones[z].nodes.push(id);
        self.zone_of_node.push(z as u32);
    }

    /// Adds a timeline action at `at`, labelled for reports.
    pub fn schedule_action(&mut self, at: SimTime, label: String, action: Action) {
        let idx = self.actions.len() as u32;
        self.actions.push((at, label, action));
        self.queue.schedule(at, Ev::Action(idx));
    }

    /// Offers `load` to a Deployment (applied now or later); metrics-server
    /// starts scraping on its resolution grid.
    pub fn add_load(&mut self, load: WorkloadLoad) {
        self.start_metrics();
        for t in load.profile.breakpoints() {
            if t >= self.now() {
                self.queue.schedule(t, Ev::Observe);
            }
        }
        self.metrics.loads.push(load);
    }

    /// Starts metrics-server's scrapes on its resolution grid, once.
    fn start_metrics(&mut self) {
        if !self.metrics_started {
            self.metrics_started = true;
            let first = self.now().next_tick_after(self.metrics.resolution);
            self.queue.schedule(first, Ev::MetricsScrape);
        }
    }

    /// Adds a HorizontalPodAutoscaler on Deployment `target`; it syncs every
    /// `--horizontal-pod-autoscaler-sync-period` from the next tick on.
    pub fn add_hpa(
        &mut self,
        name: String,
        namespace: String,
        target: String,
        spec: HpaSpec,
        has_behavior: bool,
    ) {
        let i = self.hpas.len() as u32;
        let rs = self.deployment(&target).map(|d| d.rs);
        self.hpas.push(HpaRuntime {
            name,
            namespace,
            target,
            rs,
            spec,
            has_behavior,
            state: HpaState::default(),
            decisions: Vec::new(),
            syncs: 0,
            view: Default::default(),
        });
        let first = self.now().next_tick_after(self.cfg.hpa.sync_period);
        self.queue.schedule(first, Ev::HpaSync(i));
        self.start_metrics();
    }

    /// One HPA sync: the controller's view of the target's pods, the decision,
    /// and the new replica count applied through the ReplicaSet controller.
    fn hpa_sync(&mut self, i: usize) {
        let now = self.now();
        self.queue
            .schedule(now + self.cfg.hpa.sync_period, Ev::HpaSync(i as u32));
        let Some(&d) = self.deployment_by_name.get(&self.hpas[i].target) else {
            return; // the target is not applied yet
        };
        // The scale subresource is the Deployment's; its pods are those of
        // every one of its ReplicaSets.
        let rss = self.deployments[d].rss.clone();
        self.hpas[i].rs = Some(self.deployments[d].rs);
        let keys = self.change_keys();
        let current = self.deployments[d].replicas as i32;
        let h = &mut self.hpas[i];
        let pods = h
            .view
            .view(&self.kube, &self.metrics, &rss, &keys, &self.cfg.hpa, now);
        h.syncs += 1;
        let decide = if h.has_behavior {
            hpa::reconcile
        } else {
            hpa::reconcile_without_behavior
        };
        let decision = decide(&h.spec, &self.cfg.hpa, &mut h.state, current, pods, now);
        if decision.desired_replicas != current {
            let desired = decision.desired_replicas.max(0) as u32;
            h.decisions.push((now, decision));
            self.scale_deployment(d, desired);
        }
    }

    /// Makes sure the observer sees the world at `at` even if nothing happens then.
    pub fn schedule_observation(&mut self, at: SimTime) {
        self.queue.schedule(at, Ev::Observe);
    }

    /// The deployment called `name`.
    pub fn deployment(&self, name: &str) -> Option<&Deployment> {
        self.deployment_by_name
            .get(name)
            .map(|i| &self.deployments[*i])
    }

    /// Plays events until virtual time passes `until` or nothing is left.
    /// Returns false when the event limit stopped the run early.
    pub fn run(&mut self, until: SimTime, observer: &mut dyn Observer) -> bool {
        while let Some(t) = self.queue.peek_time() {
            if t > until {
                break;
            }
            while self.queue.peek_time() == Some(t) {
                let (_, ev) = self.queue.pop().expect("peeked");
                self.events_processed += 1;
                if self.events_processed > self.cfg.max_events {
                    return false;
                }
                self.handle(ev);
            }
            if self.cfg.check_invariants {
                self.check_invariants();
            }
            observer.observe(self, t);
        }
        true
    }

    /// Takes an address of `subnet` for something outside the cluster (a
    /// private IP the API creates): exactly `addr`, or the lowest free one. It
    /// counts with the timeline's external addresses in the IP accounting.
    pub fn take_external_ip(
        &mut self,
        subnet: SubnetId,
        addr: Option<u32>,
    ) -> Result<u32, NetworkError> {
        let ip = match addr {
            Some(a) => self.network.allocate_exact_ip(subnet, a).map(|()| a)?,
            None => self.network.allocate_ip(subnet)?,
        };
        self.external_ips.entry(subnet).or_default().push(ip);
        self.version += 1;
        Ok(ip)
    }

    /// Gives back an address taken by [`World::take_external_ip`].
    pub fn release_external_ip(&mut self, subnet: SubnetId, addr: u32) {
        let list = self.external_ips.entry(subnet).or_default();
        let i = list
            .iter()
            .position(|a| *a == addr)
            .expect("only addresses taken as external are released as external");
        list.remove(i);
        self.network.release_ip(subnet, addr);
        self.version += 1;
    }

    /// Plays every event up to `at` and moves the clock to `at`, so that what the
    /// caller does next happens at `at` (the API brings the world to the current
    /// virtual time before each request). Returns false when the event limit
    /// stopped it.
    pub fn advance_to(&mut self, at: SimTime, observer: &mut dyn Observer) -> bool {
        if !self.run(at, observer) {
            return false;
        }
        self.queue.advance_to(at);
        true
    }

    fn handle(&mut self, ev: Ev) {
        match ev {
            Ev::Action(i) => self.run_action(i),
            Ev::SchedulerCycle => self.scheduler_cycle(),
            Ev::PodStarted(p) => self.pod_started(p),
            Ev::MonitorPass => self.monitor_pass(),
            Ev::TaintingPass(z) => self.tainting_pass(z as usize),
            Ev::Evict { pod, epoch } => self.evict(pod, epoch),
            Ev::BackoffDone(p) => {
                if self.backing_off.remove(&p) {
                    self.enqueue_active(p);
                }
            }
            Ev::LeftoverFlush => self.leftover_flush(),
            Ev::Flush => {
                self.flush_scheduled = false;
                self.move_all_to_active();
            }
            Ev::MetricsScrape => {
                let now = self.now();
                let down: Vec<Option<SimTime>> =
                    self.node_sim.iter().map(|n| n.down_since).collect();
                let idle: Vec<RsId> = self
                    .hpas
                    .iter()
                    .filter(|h| h.rs.is_some())
                    .filter_map(|h| self.deployment(&h.target))
                    .flat_map(|d| d.rss.iter().copied())
                    .filter(|rs| self.metrics.load_of(*rs).is_none())
                    .collect();
                let db = self.database_views(now);
                let keys = self.change_keys();
                self.metrics
                    .scrape(&self.kube, &down, &keys, &idle, &db, now);
                self.queue
                    .schedule(now + self.metrics.resolution, Ev::MetricsScrape);
            }
            Ev::HpaSync(i) => self.hpa_sync(i as usize),
            Ev::Wiring => self.wiring_tick(),
            Ev::DeploymentSync(d) => self.sync_deployment(d as usize),
            Ev::DrainTick(d) => self.drain_tick(d as usize),
            Ev::Observe => {}
        }
    }

    /// Notes that a pod of `rs` changed (see `pod_changes`).
    fn touch(&mut self, rs: RsId) {
        self.pod_changes[rs.0 as usize] += 1;
        self.pods_changed_in_rollout(rs);
    }

    /// The [`ChangeKey`] of every ReplicaSet.
    pub fn change_keys(&self) -> Vec<ChangeKey> {
        self.pod_changes
            .iter()
            .map(|c| (*c, self.node_changes))
            .collect()
    }

    fn now_log(&mut self, r: LogRecord) {
        let now = self.queue.now();
        self.log.append(now, r);
    }

    // ----- timeline -------------------------------------------------------

    fn run_action(&mut self, i: u32) {
        self.now_log(LogRecord::Action(i));
        let action = self.actions[i as usize].2.clone();
        match action {
            Action::ApplyDeployment(spec) => self.apply_deployment(*spec),
            Action::Scale {
                deployment,
                replicas,
            } => {
                let d = self.deployment_by_name[&deployment];
                self.scale_deployment(d, replicas);
            }
            Action::Fail { scope, failure } => self.fail(scope, failure),
            Action::Wiring(a) => {
                let now = self.now();
                let up = self.wiring.primaries_up(now);
                self.wiring.act(*a, now, &mut self.vault);
                self.log_wiring_changes(&self.wiring.reconcile_counts(), &up, now);
                // A changed secret is read at the next refresh, not at once.
                self.arm_wiring();
            }
            Action::Recover { failure } => self.recover(failure),
            Action::Cordon { scope, cordon } => self.set_cordoned(&scope, cordon),
            Action::Drain(d) => self.start_drain(d as usize),
            Action::Rollout { deployment, image } => {
                let d = self.deployment_by_name[&deployment];
                self.start_rollout(d, image);
            }
            Action::ConsumeIps { subnet, count } => {
                let mut taken = 0i64;
                for _ in 0..count {
                    match self.network.allocate_ip(subnet) {
                        Ok(ip) => {
                            self.external_ips.entry(subnet).or_default().push(ip);
                            taken += 1;
                        }
                        Err(_) => break,
                    }
                }
                self.now_log(LogRecord::ExternalIps(subnet.0, taken));
                self.version += 1;
            }
            Action::ReleaseIps { subnet, count } => {
                let list = self.external_ips.entry(subnet).or_default();
                let n = (count as usize).min(list.len());
                let freed: Vec<u32> = list.drain(list.len() - n..).collect();
                for ip in freed {
                    self.network.release_ip(subnet, ip);
                }
                self.now_log(LogRecord::ExternalIps(subnet.0, -(n as i64)));
                self.version += 1;
                self.request_flush();
            }
        }
    }

    fn apply_deployment(&mut self, spec: DeploymentSpec) {
        let mut template = spec.template;
        template.add_default_tolerations(self.cfg.lifecycle.default_toleration_seconds);
        template
            .labels
            .insert(LABEL_POD_TEMPLATE_HASH.into(), spec.template_hash.clone());
        let rs = ReplicaSet {
            name: format!("{}-{}", spec.name, spec.template_hash),
            deployment: spec.name.clone(),
            namespace: spec.namespace.clone(),
            replicas: spec.replicas,
            selector: spec.selector,
            template,
            hard_spread: Vec::new(),
            soft_spread: Vec::new(),
            soft_spread_is_system_default: false,
            matches: Vec::new(),
            active: BTreeSet::new(),
            pending: 0,
        };
        let id = self.add_replica_set(rs);
        self.deployment_by_name
            .insert(spec.name.clone(), self.deployments.len());
        let rollout = RolloutState::new(spec.replicas, &spec.strategy);
        self.deployments.push(Deployment {
            name: spec.name,
            namespace: spec.namespace,
            rs: id,
            rss: vec![id],
            replicas: spec.replicas,
            strategy: spec.strategy,
            min_ready: SimDuration::from_secs(u64::from(spec.min_ready_seconds)),
            rollout,
        });
        self.now_log(LogRecord::Scaled(id, spec.replicas));
        self.reconcile(id);
    }

    /// Registers a new ReplicaSet of a Deployment with the world's counters
    /// and the loads offered to the Deployment.
    fn add_replica_set(&mut self, rs: ReplicaSet) -> RsId {
        let deployment = rs.deployment.clone();
        let id = self.kube.add_replica_set(rs, &system_default_constraints());
        self.ready_by_rs.push(0);
        self.pod_changes.push(0);
        self.bound_by_rs_node.push(vec![0; self.kube.nodes.len()]);
        for load in self
            .metrics
            .loads
            .iter_mut()
            .filter(|l| l.deployment == deployment)
        {
            load.rs = Some(id);
            load.rss.push(id);
        }
        id
    }

    // ----- ReplicaSet controller -----------------------------------------

    /// Sets a ReplicaSet's desired replicas (a scale action or the HPA) and
    /// lets the controller converge.
    fn set_replicas(&mut self, rs: RsId, replicas: u32) {
        self.kube.replica_sets[rs.0 as usize].replicas = replicas;
        self.now_log(LogRecord::Scaled(rs, replicas));
        self.reconcile(rs);
    }

    /// Creates or deletes pods until the ReplicaSet's active pods match its replicas.
    fn reconcile(&mut self, rs: RsId) {
        let (want, have) = {
            let r = self.kube.rs(rs);
            (r.replicas as usize, r.active.len())
        };
        for _ in have..want {
            let name = self.fresh_pod_name(rs);
            let now = self.now();
            let pod = self.kube.create_pod(rs, name, now);
            self.touch(rs);
            self.now_log(LogRecord::PodCreated(pod));
            self.enqueue_active(pod);
        }
        if have > want {
            // getPodsToDelete ranks: unassigned < assigned, not ready < ready, newer first.
            let mut victims: Vec<PodId> = self.kube.rs(rs).active.iter().copied().collect();
            victims.sort_by_key(|p| {
                let pod = self.kube.pod(*p);
                (
                    pod.node.is_some() && pod.state != PodState::Pending,
                    pod.ready,
                    std::cmp::Reverse(pod.created_at),
                    *p,
                )
            });
            for p in victims.into_iter().take(have - want) {
                self.delete_pod(p);
            }
        }
    }

    fn fresh_pod_name(&mut self, rs: RsId) -> String {
        // generateName: `<rs-name>-` + 5 characters of utilrand's alphabet.
        const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        loop {
            let suffix = self.names.string_from(ALPHABET, 5);
            // Names are unique per ReplicaSet prefix; remember (rs, suffix) compactly.
            let packed = suffix.bytes().fold(0u32, |acc, b| {
                acc * ALPHABET.len() as u32
                    + ALPHABET
                        .iter()
                        .position(|x| *x == b)
                        .expect("drawn from the alphabet") as u32
            });
            if self.pod_names.insert((rs, packed)) {
                return format!("{}-{suffix}", self.kube.rs(rs).name);
            }
        }
    }

    /// Deletes a pod on a healthy path (scale-down): gone at once, since virtual
    /// nodes do not support a termination grace period.
    fn delete_pod(&mut self, p: PodId) {
        self.unschedulable.remove(&p);
        self.backing_off.remove(&p);
        // A deleted pod left in the active queue is skipped there (see
        // `scheduler_cycle`), so deleting thousands costs no queue scans.
        self.touch(self.kube.pod(p).rs);
        self.unbind_accounting(p);
        let now = self.now();
        if let Some((subnet, ip)) = self.kube.remove_pod(p, now) {
            self.network.release_ip(subnet, ip);
        }
        self.now_log(LogRecord::PodDeleted(p));
        self.version += 1;
        self.request_flush();
    }

    /// Updates the world's per-RS counters for a pod leaving Starting/Running.
    fn unbind_accounting(&mut self, p: PodId) {
        let pod = self.kube.pod(p);
        if !matches!(pod.state, PodState::Starting | PodState::Running) {
            return;
        }
        let (rs, node, ready) = (pod.rs, pod.node.expect("bound"), pod.ready);
        self.bound_by_rs_node[rs.0 as usize][node.0 as usize] -= 1;
        if ready {
            self.ready_by_rs[rs.0 as usize] -= 1;
        }
    }

    // ----- scheduler -----------------------------------------------------

    fn enqueue_active(&mut self, p: PodId) {
        self.active_q.push_back(p);
        if !self.cycle_scheduled {
            self.cycle_scheduled = true;
            let now = self.now();
            self.queue.schedule(now, Ev::SchedulerCycle);
        }
    }

    fn scheduler_cycle(&mut self) {
        self.cycle_scheduled = false;
        self.drop_deleted_at_front();
        let Some(pod) = self.active_q.pop_front() else {
            return;
        };
        if self.kube.pod(pod).state != PodState::Pending {
            return self.continue_cycles();
        }
        let rs = self.kube.pod(pod).rs;
        let explain = self.explain.contains(&self.kube.pod(pod).name);
        let cached = match self.equivalence.get(&rs) {
            Some((v, e)) if *v == self.version && !explain => Some(Arc::clone(e)),
            _ => None,
        };
        let result = match cached {
            Some(e) => Err(e),
            None => {
                let ips = NetIps(&self.network);
                let (result, ex) = self.scheduler.schedule(&self.kube, pod, &ips, explain);
                let result = result.map_err(Arc::new);
                if let Some(explanation) = ex {
                    let at = self.now();
                    self.explained.push(ExplainedAttempt {
                        at,
                        pod,
                        result: result.clone().map_err(|e| (*e).clone()),
                        explanation,
                    });
                }
                result
            }
        };
        self.kube.pods[pod.0 as usize].attempts += 1;
        match result {
            Ok(node) => self.bind(pod, node),
            Err(e) => {
                let same = self
                    .kube
                    .pod(pod)
                    .unschedulable
                    .as_ref()
                    .is_some_and(|old| Arc::ptr_eq(old, &e) || **old == *e);
                if !same {
                    self.kube.pods[pod.0 as usize].unschedulable = Some(e.clone());
                    self.now_log(LogRecord::PodUnschedulable(pod));
                }
                self.equivalence.insert(rs, (self.version, e));
                let now = self.now();
                self.unschedulable.insert(pod, now);
                self.arm_leftover_flush();
            }
        }
        self.continue_cycles();
    }

    /// Pods deleted while queued leave the queue at no cost of a cycle: as if
    /// the deletion had taken them out.
    fn drop_deleted_at_front(&mut self) {
        while self
            .active_q
            .front()
            .is_some_and(|p| self.kube.pod(*p).state == PodState::Deleted)
        {
            self.active_q.pop_front();
        }
    }

    fn continue_cycles(&mut self) {
        self.drop_deleted_at_front();
        if !self.active_q.is_empty() && !self.cycle_scheduled {
            self.cycle_scheduled = true;
            let at = self.now() + self.cfg.scheduling_cycle;
            self.queue.schedule(at, Ev::SchedulerCycle);
        }
    }

    fn bind(&mut self, pod: PodId, node: NodeId) {
        let subnet = self.kube.node(node).virtual_node.pod_subnet;
        let ip = self
            .network
            .allocate_ip(subnet)
            .expect("the scheduler checked for a free IP");
        let now = self.now();
        self.kube.bind(pod, node, ip, now);
        let rs = self.kube.pod(pod).rs;
        self.touch(rs);
        self.bound_by_rs_node[rs.0 as usize][node.0 as usize] += 1;
        self.version += 1;
        self.now_log(LogRecord::PodBound(pod, node, ip));
        let created = self.kube.pod(pod).created_at;
        self.scheduling_latency
            .saturating_record(now.since(created).as_ms());
        if self.is_failed(node) {
            return; // it starts when the node comes back
        }
        let delay = self.cfg.startup.sample(&mut self.startup_rng);
        self.queue.schedule(now + delay, Ev::PodStarted(pod));
    }

    fn pod_started(&mut self, pod: PodId) {
        let p = self.kube.pod(pod);
        if p.state != PodState::Starting {
            return;
        }
        let node = p.node.expect("a starting pod is bound");
        if self.is_failed(node) {
            return; // resumed when the node comes back
        }
        let now = self.now();
        let bound = p.bound_at.expect("bound");
        let rs = p.rs;
        let (ns, dep) = {
            let r = self.kube.rs(rs);
            (r.namespace.clone(), r.deployment.clone())
        };
        if self.wiring.admit_start(pod, &ns, &dep, now).is_err() {
            self.now_log(LogRecord::PodWaitingForSecret(pod));
            // CreateContainerConfigError / FailedMount: kubelet retries.
            let retry = now + super::wiring::KUBELET_RETRY;
            self.queue.schedule(retry, Ev::PodStarted(pod));
            return;
        }
        self.touch(rs);
        let pm = &mut self.kube.pods[pod.0 as usize];
        pm.state = PodState::Running;
        if self.kube.node(node).ready == NodeReady::True {
            self.set_ready(pod, rs, true);
        }
        self.startup_latency
            .saturating_record(now.since(bound).as_ms());
    }

    fn set_ready(&mut self, pod: PodId, rs: RsId, ready: bool) {
        let now = self.now();
        let p = &mut self.kube.pods[pod.0 as usize];
        if p.ready == ready {
            return;
        }
        p.ready = ready;
        if ready {
            p.ready_at.get_or_insert(now);
            p.ready_since = Some(now);
            self.ready_by_rs[rs.0 as usize] += 1;
            self.now_log(LogRecord::PodReady(pod));
            self.sync_when_available(rs);
        } else {
            p.ready_since = None;
            self.ready_by_rs[rs.0 as usize] -= 1;
            self.now_log(LogRecord::PodNotReady(pod));
        }
        self.touch(rs);
    }

    /// Asks for unschedulable pods to be retried once at the end of this
    /// instant, however many cluster events this instant brings.
    fn request_flush(&mut self) {
        if !self.flush_scheduled && !self.unschedulable.is_empty() {
            self.flush_scheduled = true;
            let now = self.now();
            self.queue.schedule(now, Ev::Flush);
        }
    }

    /// Moves every unschedulable pod back to the active queue, or to backoff
    /// while its backoff (1 s doubling to 10 s) has not expired.
    fn move_all_to_active(&mut self) {
        if self.unschedulable.is_empty() {
            return;
        }
        let now = self.now();
        let pods: Vec<(PodId, SimTime)> = std::mem::take(&mut self.unschedulable)
            .into_iter()
            .collect();
        for (p, last_attempt) in pods {
            let attempts = self.kube.pod(p).attempts.max(1);
            let backoff = SimDuration::from_secs(1u64 << (attempts - 1).min(4))
                .min(SimDuration::from_secs(10));
            let expiry = last_attempt + backoff;
            if expiry <= now {
                self.enqueue_active(p);
            } else {
                self.backing_off.insert(p);
                // flushBackoffQCompleted runs every second.
                let at = expiry.floor_to(SimDuration::from_secs(1));
                let at = if at < expiry {
                    at + SimDuration::from_secs(1)
                } else {
                    at
                };
                self.queue.schedule(at, Ev::BackoffDone(p));
            }
        }
    }

    fn arm_leftover_flush(&mut self) {
        if !self.leftover_scheduled {
            self.leftover_scheduled = true;
            let at = self.now().next_tick_after(SimDuration::from_secs(30));
            self.queue.schedule(at, Ev::LeftoverFlush);
        }
    }

    /// flushUnschedulablePodsLeftover: every 30 s, pods unschedulable for over 5 minutes are retried.
    fn leftover_flush(&mut self) {
        self.leftover_scheduled = false;
        let now = self.now();
        let stale: Vec<PodId> = self
            .unschedulable
            .iter()
            .filter(|(_, since)| now.since(**since) > SimDuration::from_secs(300))
            .map(|(p, _)| *p)
            .collect();
        for p in stale {
            self.unschedulable.remove(&p);
            self.enqueue_active(p);
        }
        if !self.unschedulable.is_empty() {
            self.arm_leftover_flush();
        }
    }

    // ----- failures and the node lifecycle controller --------------------

    fn nodes_in(&self, scope: &FailureScope) -> Vec<NodeId> {
        (0..self.kube.nodes.len() as u32)
            .map(NodeId)
            .filter(|id| {
                let n = self.kube.node(*id);
                match scope {
                    FailureScope::FaultDomain { ad, fd } => {
                        n.virtual_node.availability_domain == *ad
                            && n.virtual_node.fault_domain == *fd
                    }
                    FailureScope::AvailabilityDomain { ad } => {
                        n.virtual_node.availability_domain == *ad
                    }
                    FailureScope::Node(name) => &n.name == name,
                }
            })
            .collect()
    }

    fn fail(&mut self, scope: FailureScope, failure: u32) {
        let nodes = self.nodes_in(&scope);
        self.node_changes += 1;
        let now = self.now();
        for id in &nodes {
            let s = &mut self.node_sim[id.0 as usize];
            s.down_count += 1;
            if s.down_count == 1 {
                s.down_since = Some(now);
                self.now_log(LogRecord::NodeDown(*id));
            }
        }
        self.failures.insert(failure, nodes);
        let domain = match scope {
            FailureScope::FaultDomain { ad, fd } => Some(Domain::Fault(ad, fd)),
            FailureScope::AvailabilityDomain { ad } => Some(Domain::Availability(ad)),
            FailureScope::Node(_) => None,
        };
        self.failure_scopes.insert(failure, scope);
        if let Some(d) = domain {
            let up = self.wiring.primaries_up(now);
            self.wiring.fail_domain(failure, d, now);
            self.log_wiring_changes(&self.wiring.reconcile_counts(), &up, now);
            self.arm_wiring();
        }
        self.arm_monitor();
    }

    fn recover(&mut self, failure: u32) {
        let now = self.now();
        let up = self.wiring.primaries_up(now);
        self.wiring.recover(failure, now);
        self.log_wiring_changes(&self.wiring.reconcile_counts(), &up, now);
        self.arm_wiring();
        let nodes = self.failures.remove(&failure).unwrap_or_default();
        self.failure_scopes.remove(&failure);
        self.node_changes += 1;
        for id in nodes {
            let s = &mut self.node_sim[id.0 as usize];
            s.down_count -= 1;
            if s.down_count == 0 {
                s.down_since = None;
                self.now_log(LogRecord::NodeUp(id));
                // Pods whose container instances were still starting carry on now.
                let starting: Vec<PodId> = self
                    .kube
                    .node(id)
                    .pods
                    .iter()
                    .copied()
                    .filter(|p| self.kube.pod(*p).state == PodState::Starting)
                    .collect();
                let now = self.now();
                for p in starting {
                    self.queue.schedule(now, Ev::PodStarted(p));
                }
            }
        }
        self.arm_monitor();
    }

    // ----- wiring (sim/wiring.rs) ------------------------------------------

    /// Arms the wiring's controllers after a scenario set them up.
    pub fn start_wiring(&mut self) {
        self.arm_wiring();
    }

    /// Schedules the wiring's next timer, once per instant.
    /// Call after changing the MySQL model from outside (an API create or
    /// activation), so a failover it now needs gets scheduled.
    pub fn mysql_changed(&mut self) {
        self.arm_wiring();
    }

    fn arm_wiring(&mut self) {
        let now = self.now();
        self.wiring_armed.retain(|t| *t > now);
        if let Some(at) = self.wiring.next_due()
            && self.wiring_armed.insert(at.max(now))
        {
            self.queue.schedule(at.max(now), Ev::Wiring);
        }
    }

    fn wiring_tick(&mut self) {
        let now = self.now();
        let before = self.wiring.reconcile_counts();
        let up = self.wiring.primaries_up(now);
        self.wiring.tick(now, &self.vault, &self.iam);
        self.log_wiring_changes(&before, &up, now);
        self.arm_wiring();
    }

    /// Appends a record for each reconcile and each DB endpoint change.
    fn log_wiring_changes(&mut self, before: &[(u32, u32)], up: &[bool], now: SimTime) {
        let after = self.wiring.reconcile_counts();
        for (i, (b, a)) in before.iter().zip(&after).enumerate() {
            if b != a {
                let (spec, _) = &self.wiring.eso.externals[i];
                let version = self
                    .wiring
                    .eso
                    .secrets
                    .get(&(spec.namespace.clone(), spec.target.clone()))
                    .map_or(0, |s| s.resource_version);
                self.now_log(LogRecord::SecretReconciled(i as u32, a.0 > b.0, version));
            }
        }
        for (i, (b, a)) in up.iter().zip(self.wiring.primaries_up(now)).enumerate() {
            if *b != a {
                self.now_log(LogRecord::DbPrimary(i as u32, a));
            }
        }
    }

    /// What each database-using Deployment's database refuses at `now`.
    fn database_views(&self, now: SimTime) -> BTreeMap<RsId, DbView> {
        if self.wiring.databases.is_empty() {
            return BTreeMap::new();
        }
        let rs_of = |d: &str| self.deployment(d).map(|d| d.rs);
        let password =
            |p: PodId, secret: &str, key: &str| self.wiring.pod_secret_value(p, secret, key);
        let window = self.metrics.resolution;
        self.wiring
            .views(&self.kube, &rs_of, &password, now, window)
    }

    fn arm_monitor(&mut self) {
        if !self.monitor_scheduled {
            self.monitor_scheduled = true;
            let at = self
                .now()
                .next_tick_after(self.cfg.lifecycle.node_monitor_period);
            self.queue.schedule(at, Ev::MonitorPass);
        }
    }

    /// One pass of `monitorNodeHealth`, then zone states and tainting.
    fn monitor_pass(&mut self) {
        self.monitor_scheduled = false;
        let now = self.now();
        let grace = self.cfg.lifecycle.node_monitor_grace_period;
        let renew = self.cfg.lifecycle.lease_renew_interval;
        let mut changed = false;
        for i in 0..self.kube.nodes.len() {
            let id = NodeId(i as u32);
            if self.kube.node(id).removed {
                continue;
            }
            let ready = self.kube.node(id).ready;
            match (self.node_sim[i].down_since, ready) {
                (Some(since), NodeReady::True) => {
                    // The last lease renewal happened on the renew grid at or before the failure.
                    let last_heartbeat = since.floor_to(renew);
                    if now > last_heartbeat + grace {
                        self.node_not_ready(id);
                        changed = true;
                    }
                }
                (None, NodeReady::Unknown) => {
                    self.node_ready_again(id);
                    changed = true;
                }
                _ => {}
            }
        }
        if changed {
            self.version += 1;
            self.request_flush();
        }
        self.update_zones();
        // processTaintBaseEviction: not-ready nodes not yet tainted are (re)queued.
        for i in 0..self.kube.nodes.len() {
            let s = &self.node_sim[i];
            if self.kube.nodes[i].ready == NodeReady::Unknown
                && !self.kube.nodes[i].removed
                && !s.no_execute_tainted
                && !s.in_taint_queue
            {
                self.node_sim[i].in_taint_queue = true;
                let z = self.zone_of_node[i] as usize;
                self.zones[z].queue.push_back(NodeId(i as u32));
            }
        }
        for z in 0..self.zones.len() {
            self.schedule_tainting_pass(z);
        }
        let unsettled = self.node_sim.iter().any(|s| s.down_since.is_some())
            || self
                .kube
                .nodes
                .iter()
                .any(|n| !n.removed && n.ready != NodeReady::True);
        if unsettled {
            self.arm_monitor();
        }
    }

    fn node_not_ready(&mut self, id: NodeId) {
        self.kube.nodes[id.0 as usize].ready = NodeReady::Unknown;
        self.now_log(LogRecord::NodeNotReady(id));
        // TaintNodesByCondition: unreachable:NoSchedule at once, not rate limited.
        self.kube.add_taint(
            id,
            Taint {
                key: TAINT_UNREACHABLE.into(),
                value: String::new(),
                effect: TaintEffect::NoSchedule,
            },
        );
        // MarkPodsNotReady.
        let pods = self.kube.node(id).pods.clone();
        for p in pods {
            let (rs, ready) = (self.kube.pod(p).rs, self.kube.pod(p).ready);
            if ready {
                self.set_ready(p, rs, false);
            }
        }
    }

    fn node_ready_again(&mut self, id: NodeId) {
        self.kube.nodes[id.0 as usize].ready = NodeReady::True;
        self.now_log(LogRecord::NodeReady(id));
        self.kube
            .remove_taint(id, TAINT_UNREACHABLE, TaintEffect::NoSchedule);
        self.untaint_no_execute(id);
        let z = self.zone_of_node[id.0 as usize] as usize;
        self.zones[z].queue.retain(|n| *n != id);
        self.node_sim[id.0 as usize].in_taint_queue = false;
        let pods = self.kube.node(id).pods.clone();
        let now = self.now();
        for p in pods {
            let (rs, state) = (self.kube.pod(p).rs, self.kube.pod(p).state);
            match state {
                PodState::Running => self.set_ready(p, rs, true),
                PodState::Terminating => {
                    // The kubelet is back and finishes the deletion.
                    if let Some((subnet, ip)) = self.kube.remove_pod(p, now) {
                        self.network.release_ip(subnet, ip);
                    }
                    self.now_log(LogRecord::PodDeleted(p));
                }
                _ => {}
            }
        }
    }

    fn untaint_no_execute(&mut self, id: NodeId) {
        let s = &mut self.node_sim[id.0 as usize];
        if s.no_execute_tainted {
            s.no_execute_tainted = false;
            s.no_execute_epoch += 1;
            self.kube
                .remove_taint(id, TAINT_UNREACHABLE, TaintEffect::NoExecute);
            self.now_log(LogRecord::NodeUntainted(id));
        }
    }

    /// `handleDisruption`: zone states, the all-zones-down special case and the tainting rates.
    fn update_zones(&mut self) {
        let thr = self.cfg.lifecycle.unhealthy_zone_threshold;
        let new_states: Vec<ZoneState> = self
            .zones
            .iter()
            .map(|z| {
                let live = z.nodes.iter().filter(|n| !self.kube.node(**n).removed);
                let total = live.clone().count();
                let ready = live
                    .filter(|n| self.kube.node(**n).ready == NodeReady::True)
                    .count();
                zone_state(ready, total - ready, thr)
            })
            .collect();
        let all_full =
            !new_states.is_empty() && new_states.iter().all(|s| *s == ZoneState::FullDisruption);
        let now = self.now();
        if all_full && !self.all_disrupted {
            // Every zone is down: assume a control-plane network problem and stop all evictions.
            self.all_disrupted = true;
            for i in 0..self.kube.nodes.len() {
                self.untaint_no_execute(NodeId(i as u32));
                self.node_sim[i].in_taint_queue = false;
            }
            for z in &mut self.zones {
                z.queue.clear();
                z.rate = 0.0;
            }
        } else if !all_full && self.all_disrupted {
            self.all_disrupted = false;
            for (z, state) in new_states.iter().enumerate() {
                self.set_zone_rate(z, *state, now);
            }
        }
        for (z, state) in new_states.into_iter().enumerate() {
            if self.zones[z].state != state {
                self.zones[z].state = state;
                self.now_log(LogRecord::ZoneState(z as u32, state));
                if !self.all_disrupted {
                    self.set_zone_rate(z, state, now);
                }
            }
        }
    }

    fn set_zone_rate(&mut self, z: usize, state: ZoneState, now: SimTime) {
        let size = self.zones[z].nodes.len();
        let zone = &mut self.zones[z];
        // SwapLimiter installs a fresh token bucket (burst 1, full).
        zone.rate = tainting_rate(state, size, &self.cfg.lifecycle);
        zone.tokens = 1.0;
        zone.last_refill = now;
    }

    fn schedule_tainting_pass(&mut self, z: usize) {
        let zone = &self.zones[z];
        if zone.queue.is_empty() || zone.rate <= 0.0 || zone.pass_at.is_some() {
            return;
        }
        let now = self.now();
        let wait_ms = if zone.tokens >= 1.0 {
            0.0
        } else {
            (1.0 - zone.tokens) / zone.rate * 1000.0
        };
        let ready_at = now + SimDuration::from_ms(wait_ms.ceil() as u64);
        // doNoExecuteTaintingPass runs on a 100 ms period.
        let period = self.cfg.lifecycle.tainting_pass_period;
        let at = if ready_at.floor_to(period) == ready_at {
            ready_at
        } else {
            ready_at.next_tick_after(period)
        };
        self.zones[z].pass_at = Some(at);
        self.queue.schedule(at, Ev::TaintingPass(z as u32));
    }

    fn tainting_pass(&mut self, z: usize) {
        self.zones[z].pass_at = None;
        let now = self.now();
        {
            let zone = &mut self.zones[z];
            let elapsed = now.since(zone.last_refill).as_secs_f64();
            zone.tokens = (zone.tokens + elapsed * zone.rate).min(1.0);
            zone.last_refill = now;
        }
        while self.zones[z].rate > 0.0 && self.zones[z].tokens >= 1.0 - 1e-9 {
            let Some(id) = self.zones[z].queue.pop_front() else {
                break;
            };
            self.node_sim[id.0 as usize].in_taint_queue = false;
            if self.kube.node(id).ready == NodeReady::True {
                continue;
            }
            self.zones[z].tokens -= 1.0;
            self.taint_no_execute(id);
        }
        self.schedule_tainting_pass(z);
    }

    fn taint_no_execute(&mut self, id: NodeId) {
        let taint = Taint {
            key: TAINT_UNREACHABLE.into(),
            value: String::new(),
            effect: TaintEffect::NoExecute,
        };
        self.kube.add_taint(id, taint.clone());
        let s = &mut self.node_sim[id.0 as usize];
        s.no_execute_tainted = true;
        s.no_execute_epoch += 1;
        let epoch = s.no_execute_epoch;
        self.now_log(LogRecord::NodeTainted(id));
        self.version += 1;
        // The taint eviction controller: delete now, after tolerationSeconds, or never.
        let now = self.now();
        for p in self.kube.node(id).pods.clone() {
            let pod = self.kube.pod(p);
            if !matches!(pod.state, PodState::Starting | PodState::Running) {
                continue;
            }
            match self.kube.rs(pod.rs).template.no_execute_grace(&taint) {
                None => self.queue.schedule(now, Ev::Evict { pod: p, epoch }),
                Some(Some(secs)) => self.queue.schedule(
                    now + SimDuration::from_secs(secs as u64),
                    Ev::Evict { pod: p, epoch },
                ),
                Some(None) => {}
            }
        }
    }

    fn evict(&mut self, pod: PodId, epoch: u64) {
        let p = self.kube.pod(pod);
        let Some(node) = p.node else { return };
        if self.node_sim[node.0 as usize].no_execute_epoch != epoch
            || !matches!(p.state, PodState::Starting | PodState::Running)
        {
            return;
        }
        self.terminate_pod(pod, LogRecord::PodEvicted(pod));
    }

    /// Deletes a bound pod whose kubelet cannot confirm it (its node is
    /// unreachable): it stays Terminating, keeping its IP until the node
    /// returns (or gives it back at once with `release_ip_on_eviction`), and
    /// its ReplicaSet replaces it. `record` says who deleted it.
    fn terminate_pod(&mut self, pod: PodId, record: LogRecord) {
        let rs = self.kube.pod(pod).rs;
        self.touch(rs);
        self.unbind_accounting(pod);
        let now = self.now();
        self.kube.mark_terminating(pod, now);
        self.now_log(record);
        if self.cfg.release_ip_on_eviction {
            if let Some((subnet, ip)) = self.kube.remove_pod(pod, now) {
                self.network.release_ip(subnet, ip);
            }
            self.now_log(LogRecord::PodDeleted(pod));
        }
        self.version += 1;
        self.reconcile(rs);
        self.request_flush();
    }

    // ----- queries for reports ------------------------------------------

    /// Number of pods of a ReplicaSet not bound yet.
    pub fn pending_count(&self, rs: RsId) -> u32 {
        self.kube.rs(rs).pending
    }

    /// Pods of a ReplicaSet that are not bound yet.
    pub fn pending_pods(&self, rs: RsId) -> impl Iterator<Item = PodId> + '_ {
        self.kube
            .rs(rs)
            .active
            .iter()
            .copied()
            .filter(|p| self.kube.pod(*p).state == PodState::Pending)
    }

    /// Checks the world's own counters against the models (for tests).
    pub fn check_invariants(&self) {
        self.kube.check_invariants();
        for (r, rs) in self.kube.replica_sets.iter().enumerate() {
            let ready = rs
                .active
                .iter()
                .filter(|p| self.kube.pod(**p).ready)
                .count() as u32;
            assert_eq!(
                ready, self.ready_by_rs[r],
                "ready count of {} drifted",
                rs.name
            );
        }
        let bound: u64 = self.kube.nodes.iter().map(|n| n.pods.len() as u64).sum();
        let external: u64 = self.external_ips.values().map(|v| v.len() as u64).sum();
        let nodes = self.kube.nodes.iter().filter(|n| !n.removed).count() as u64;
        let databases = self.wiring.endpoint_ips();
        let lbs = self.load_balancers.live_addresses();
        let cluster_endpoints = self.oke.endpoint_ips.len() as u64;
        let used: u64 = self.network.subnets.iter().map(|s| s.pool.used()).sum();
        assert_eq!(
            used,
            bound + external + nodes + databases + lbs + cluster_endpoints,
            "IP accounting: used addresses != pods + nodes + external + DB, LB and cluster endpoints"
        );
    }
}
