//! The scenario file format, as written: every field a user can set, with
//! strings for names, CIDRs and durations. `plan.rs` validates and resolves it.

use std::collections::BTreeMap;

use serde::Deserialize;

/// A duration written as `30s`, `5m`, `1h30m`, `250ms` or a bare number of seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationText(pub String);

impl<'de> Deserialize<'de> for DurationText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = DurationText;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a duration such as 30s, 5m, 1h30m or a number of seconds")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(DurationText(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(DurationText(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(DurationText(format!("{v}s")))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(DurationText(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// The scenario document (the first YAML document of a scenario file).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// Short name used in reports.
    pub name: String,
    /// What the scenario shows.
    #[serde(default)]
    pub description: Option<String>,
    /// Region identifier or key.
    pub region: String,
    /// Tenancy prefix of AD names (default `Uocm`).
    #[serde(default)]
    pub tenancy_prefix: Option<String>,
    /// Simulated time.
    pub duration: DurationText,
    /// Default seed when `--seed` is not given.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Service limit overrides.
    #[serde(default)]
    pub limits: LimitsFile,
    /// Modelling assumption overrides.
    #[serde(default)]
    pub assumptions: AssumptionsFile,
    /// VCNs.
    pub network: NetworkFile,
    /// The OKE cluster.
    pub cluster: ClusterFile,
    /// Extra manifest files (paths relative to the scenario file).
    #[serde(default)]
    pub manifest_files: Vec<String>,
    /// Load offered to Deployments.
    #[serde(default)]
    pub load: Vec<LoadFile>,
    /// Timed actions and failures.
    #[serde(default)]
    pub timeline: Vec<TimelineEntry>,
    /// Expectations checked against the run.
    #[serde(default)]
    pub expect: Vec<ExpectationFile>,
    /// Report settings.
    #[serde(default)]
    pub report: ReportFile,
    /// Price overrides for the cost section.
    #[serde(default)]
    pub prices: PricesFile,
    /// MySQL DB systems and the Deployments that use them.
    #[serde(default)]
    pub mysql: Option<super::wiring_file::MysqlSectionFile>,
    /// Compartment paths under the tenancy (`app`, `app:prod`).
    #[serde(default)]
    pub compartments: Vec<String>,
    /// Vaults and their secrets.
    #[serde(default)]
    pub vaults: Vec<super::wiring_file::VaultFile>,
    /// IAM policies.
    #[serde(default)]
    pub policies: Vec<super::wiring_file::PolicyFile>,
}

/// Price overrides (USD).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PricesFile {
    /// Per enhanced cluster per hour.
    pub enhanced_cluster_hour: Option<f64>,
    /// Per virtual node per hour.
    pub virtual_node_hour: Option<f64>,
    /// Per pod shape: `{ocpu_hour, gb_hour}`.
    #[serde(default)]
    pub shapes: BTreeMap<String, ShapePriceFile>,
}

/// A pod shape's prices.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShapePriceFile {
    /// Per OCPU per hour.
    pub ocpu_hour: f64,
    /// Per GB per hour.
    pub gb_hour: f64,
}

/// Overrides of service limits (defaults: domain.md, Universal Credits).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsFile {
    /// Virtual nodes per region.
    pub virtual_nodes: Option<usize>,
    /// Pods per virtual node.
    pub pods_per_virtual_node: Option<u32>,
    /// Enhanced clusters per region.
    pub enhanced_clusters: Option<usize>,
    /// VCNs per region.
    pub vcns: Option<usize>,
    /// Subnets per VCN.
    pub subnets_per_vcn: Option<usize>,
    /// CIDR blocks per VCN.
    pub cidr_blocks_per_vcn: Option<usize>,
}

/// Overrides of the twin's modelling assumptions.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssumptionsFile {
    /// Pod start-up latency distribution.
    pub startup_latency: Option<StartupFile>,
    /// Virtual time per scheduling cycle.
    pub scheduling_cycle: Option<DurationText>,
    /// `--node-monitor-grace-period`.
    pub node_monitor_grace_period: Option<DurationText>,
    /// `--node-monitor-period`.
    pub node_monitor_period: Option<DurationText>,
    /// `--node-eviction-rate`.
    pub node_eviction_rate: Option<f64>,
    /// `--secondary-node-eviction-rate`.
    pub secondary_node_eviction_rate: Option<f64>,
    /// `--unhealthy-zone-threshold`.
    pub unhealthy_zone_threshold: Option<f64>,
    /// `--large-cluster-size-threshold`.
    pub large_cluster_size_threshold: Option<usize>,
    /// DefaultTolerationSeconds.
    pub default_toleration_seconds: Option<i64>,
    /// Release an evicted pod's IP at once instead of when its node returns.
    pub release_ip_on_eviction: Option<bool>,
    /// What a virtual node reports as allocatable.
    pub virtual_node_allocatable: Option<AllocatableFile>,
    /// `percentageOfNodesToScore` (0 or absent: adaptive).
    pub percentage_of_nodes_to_score: Option<u32>,
    /// How a pool resize removes a virtual node's pods.
    pub virtual_node_removal: Option<NodeRemovalFile>,
}

/// `virtual_node_removal`: `{mode: delete}` or `{mode: drain, eviction_grace, force_delete_after_grace}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeRemovalFile {
    /// `delete` (default) or `drain`.
    pub mode: String,
    /// drain: OKE's eviction grace period (default and maximum 60m).
    pub eviction_grace: Option<DurationText>,
    /// drain: delete the node after the grace period even with pods left (default true).
    pub force_delete_after_grace: Option<bool>,
}

/// A start-up latency distribution.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartupFile {
    /// `fixed`, `uniform` or `lognormal`.
    pub distribution: String,
    /// For `fixed`.
    pub value: Option<DurationText>,
    /// For `uniform`.
    pub min: Option<DurationText>,
    /// For `uniform`.
    pub max: Option<DurationText>,
    /// For `lognormal`.
    pub median: Option<DurationText>,
    /// For `lognormal`.
    pub p99: Option<DurationText>,
}

/// Allocatable resources of a virtual node.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllocatableFile {
    /// CPU quantity.
    pub cpu: Option<String>,
    /// Memory quantity.
    pub memory: Option<String>,
    /// Pod count.
    pub pods: Option<u32>,
}

/// The network section.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkFile {
    /// VCNs.
    pub vcns: Vec<VcnFile>,
}

/// One VCN with everything inside it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VcnFile {
    /// Display name.
    pub name: String,
    /// IPv4 CIDR blocks.
    pub cidr_blocks: Vec<String>,
    /// Gateways.
    #[serde(default)]
    pub gateways: Vec<GatewayFile>,
    /// Route tables.
    #[serde(default)]
    pub route_tables: Vec<RouteTableFile>,
    /// Security lists.
    #[serde(default)]
    pub security_lists: Vec<SecurityGroupFile>,
    /// Network security groups.
    #[serde(default)]
    pub nsgs: Vec<SecurityGroupFile>,
    /// Subnets.
    #[serde(default)]
    pub subnets: Vec<SubnetFile>,
}

/// A gateway.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayFile {
    /// Display name.
    pub name: String,
    /// `internet`, `nat` or `service`.
    pub kind: String,
}

/// A route table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteTableFile {
    /// Display name.
    pub name: String,
    /// Rules.
    #[serde(default)]
    pub rules: Vec<RouteRuleFile>,
}

/// A route rule.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteRuleFile {
    /// Destination CIDR or service label.
    pub destination: String,
    /// Gateway name.
    pub target: String,
}

/// A security list or NSG.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityGroupFile {
    /// Display name.
    pub name: String,
    /// Ingress rules.
    #[serde(default)]
    pub ingress: Vec<SecurityRuleFile>,
    /// Egress rules.
    #[serde(default)]
    pub egress: Vec<SecurityRuleFile>,
}

/// A security rule.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityRuleFile {
    /// Source (ingress): CIDR, service label or NSG name.
    pub source: Option<String>,
    /// Destination (egress).
    pub destination: Option<String>,
    /// `all`, `tcp`, `udp`, `icmp`.
    pub protocol: String,
    /// A port (`3306`) or range (`30000-32767`).
    pub ports: Option<PortsFile>,
    /// Stateless rule.
    #[serde(default)]
    pub stateless: bool,
}

/// A port or a port range.
#[derive(Debug, Clone)]
pub struct PortsFile(pub String);

impl<'de> Deserialize<'de> for PortsFile {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        DurationText::deserialize(d).map(|t| PortsFile(t.0))
    }
}

/// A subnet.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubnetFile {
    /// Display name.
    pub name: String,
    /// CIDR block.
    pub cidr: String,
    /// AD for an AD-specific subnet; absent for regional.
    pub availability_domain: Option<String>,
    /// Public subnet (default private).
    #[serde(default)]
    pub public: bool,
    /// Route table name.
    pub route_table: Option<String>,
    /// Security list names.
    #[serde(default)]
    pub security_lists: Vec<String>,
}

/// The cluster section.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterFile {
    /// Display name.
    pub name: String,
    /// `enhanced` (default) or `basic`.
    #[serde(rename = "type", default)]
    pub cluster_type: Option<String>,
    /// `vcn-native` (default) or `flannel`.
    #[serde(default)]
    pub cni: Option<String>,
    /// Kubernetes version (default v1.34.1).
    #[serde(default)]
    pub kubernetes_version: Option<String>,
    /// VCN name.
    pub vcn: String,
    /// Virtual node pools.
    #[serde(default)]
    pub virtual_node_pools: Vec<PoolFile>,
}

/// A virtual node pool.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolFile {
    /// Display name.
    pub name: String,
    /// Number of virtual nodes.
    pub size: u32,
    /// Placement configurations.
    pub placements: Vec<PlacementFile>,
    /// Pod configuration.
    pub pod_configuration: PodConfigurationFile,
    /// Node labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Node taints.
    #[serde(default)]
    pub taints: Vec<TaintFile>,
}

/// A placement configuration.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlacementFile {
    /// AD name.
    pub availability_domain: String,
    /// FD names (default all three).
    #[serde(default)]
    pub fault_domains: Vec<String>,
    /// Node subnet name.
    pub subnet: String,
}

/// The pod configuration of a pool.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PodConfigurationFile {
    /// Pod shape.
    pub shape: String,
    /// Pod subnet name.
    pub subnet: String,
    /// NSG names.
    #[serde(default)]
    pub nsgs: Vec<String>,
}

/// A node taint.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaintFile {
    /// Key.
    pub key: String,
    /// Value.
    #[serde(default)]
    pub value: String,
    /// Effect.
    pub effect: String,
}

/// One timeline entry: when, and exactly one action.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimelineEntry {
    /// When it happens.
    pub at: DurationText,
    /// Name used by expectations (default: the action and time).
    pub name: Option<String>,
    /// For failures: recover after this long.
    pub duration: Option<DurationText>,
    /// Fault domain outage.
    pub fault_domain_outage: Option<DomainRef>,
    /// Availability domain outage.
    pub ad_outage: Option<DomainRef>,
    /// Loss of one virtual node.
    pub node_failure: Option<NodeRef>,
    /// Scale a deployment.
    pub scale: Option<ScaleFile>,
    /// Apply a deployment manifest (by its name) at this time instead of at 0.
    pub apply: Option<ApplyFile>,
    /// Change a Deployment's image: a rollout by its strategy.
    pub rollout: Option<RolloutFile>,
    /// Take addresses from a subnet.
    pub consume_ips: Option<IpsFile>,
    /// Return addresses taken by `consume_ips`.
    pub release_ips: Option<IpsFile>,
    /// A vault stops answering.
    pub vault_outage: Option<super::wiring_file::VaultRefFile>,
    /// A secret gets a new CURRENT version.
    pub rotate_secret: Option<super::wiring_file::RotateSecretFile>,
    /// A secret is scheduled for deletion.
    pub delete_secret: Option<super::wiring_file::DeleteSecretFile>,
    /// The database password of the application user changes.
    pub set_mysql_password: Option<super::wiring_file::SetPasswordFile>,
    /// `kubectl cordon` of nodes.
    pub cordon: Option<NodesFile>,
    /// `kubectl uncordon` of nodes.
    pub uncordon: Option<NodesFile>,
    /// `kubectl drain` of nodes: cordon, then evict through the Eviction API.
    pub drain: Option<NodesFile>,
}

/// Nodes for cordon, uncordon and drain: one node (by name, or pool and
/// index), every node of an FD (`availability_domain` + `fault_domain`), or
/// of an AD (`availability_domain`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodesFile {
    /// Node name.
    pub node: Option<String>,
    /// Pool name.
    pub pool: Option<String>,
    /// 0-based index of the node in the pool.
    pub index: Option<usize>,
    /// AD name.
    pub availability_domain: Option<String>,
    /// FD name.
    pub fault_domain: Option<String>,
    /// drain only: kubectl's `--timeout`, per node (default: wait forever).
    pub timeout: Option<DurationText>,
}

/// An AD, optionally with an FD.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainRef {
    /// AD name.
    pub availability_domain: String,
    /// FD name (required for an FD outage).
    pub fault_domain: Option<String>,
}

/// One virtual node: by name (its IP) or by pool and index.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeRef {
    /// Node name.
    pub node: Option<String>,
    /// Pool name.
    pub pool: Option<String>,
    /// 0-based index of the node in the pool.
    pub index: Option<usize>,
}

/// A scale action.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScaleFile {
    /// Deployment name.
    pub deployment: String,
    /// New replicas.
    pub replicas: u32,
}

/// A rollout action: a new pod template.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolloutFile {
    /// Deployment name.
    pub deployment: String,
    /// The new container image.
    pub image: String,
}

/// An apply action.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplyFile {
    /// Deployment name.
    pub deployment: String,
}

/// An IP consumption action.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IpsFile {
    /// Subnet name.
    pub subnet: String,
    /// How many addresses.
    pub count: u32,
}

/// One expectation: exactly one kind.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectationFile {
    /// Ready replicas never below `min` in the window.
    pub ready_replicas: Option<ReadyFile>,
    /// At most `max` pods of a deployment in any one domain.
    pub max_pods_per_domain: Option<PerDomainFile>,
    /// Skew between domains at most `max`.
    pub max_skew: Option<PerDomainFile>,
    /// No pod pending longer than `max`.
    pub max_pending: Option<PendingMaxFile>,
    /// Exactly `count` pods pending at a time, optionally with a reason.
    pub pending_pods: Option<PendingCountFile>,
    /// A failure's recovery time.
    pub recovery_time: Option<RecoveryFile>,
    /// Desired replicas (as the HPA or scale actions set them) within bounds.
    pub replicas: Option<ReplicasFile>,
    /// A latency percentile of served requests over a window.
    pub latency: Option<LatencyFile>,
    /// The share of failed requests over a window.
    pub error_rate: Option<ErrorRateFile>,
    /// How long after `after` until `ready` replicas are Ready (time to scale out).
    pub time_to_ready: Option<TimeToReadyFile>,
    /// A flow through the network and the verdict expected for it.
    pub reachable: Option<super::wiring_file::ReachableFile>,
    /// An ExternalSecret's Ready condition at the end.
    pub external_secret: Option<super::wiring_file::ExternalSecretExpectFile>,
    /// A drain completes within `max` of its start.
    pub drain_completes: Option<DrainCompletesFile>,
    /// A drain had at least `min` evictions refused by a budget.
    pub disruptions_blocked: Option<DisruptionsBlockedFile>,
}

/// `drain_completes`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrainCompletesFile {
    /// The drain's timeline name.
    pub drain: String,
    /// Longest allowed time from its start to its completion.
    pub max: DurationText,
}

/// `disruptions_blocked`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisruptionsBlockedFile {
    /// The drain's timeline name.
    pub drain: String,
    /// The budget that refused (default: any).
    pub pdb: Option<String>,
    /// Fewest refused evictions (default 1).
    pub min: Option<u32>,
}

/// `time_to_ready`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeToReadyFile {
    /// Deployment.
    pub deployment: String,
    /// Ready replicas to reach.
    pub ready: u32,
    /// When the clock starts (e.g. the start of a spike).
    pub after: DurationText,
    /// Longest allowed time.
    pub max: DurationText,
}

/// `latency`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyFile {
    /// Deployment under load.
    pub deployment: String,
    /// Percentile, e.g. 99 or 99.9.
    pub percentile: f64,
    /// Highest allowed value.
    pub max: DurationText,
    /// Window start.
    pub after: Option<DurationText>,
    /// Window end.
    pub until: Option<DurationText>,
}

/// `error_rate`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorRateFile {
    /// Deployment under load.
    pub deployment: String,
    /// Highest allowed share of failed requests (0.01 = 1 %).
    pub max: f64,
    /// Window start.
    pub after: Option<DurationText>,
    /// Window end.
    pub until: Option<DurationText>,
}

/// `replicas`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplicasFile {
    /// Deployment.
    pub deployment: String,
    /// Lowest allowed.
    pub min: Option<u32>,
    /// Highest allowed.
    pub max: Option<u32>,
    /// Window start.
    pub after: Option<DurationText>,
    /// Window end.
    pub until: Option<DurationText>,
}

/// `ready_replicas`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadyFile {
    /// Deployment.
    pub deployment: String,
    /// Minimum ready replicas.
    pub min: u32,
    /// Window start (default 0).
    pub after: Option<DurationText>,
    /// Window end (default: end of run).
    pub until: Option<DurationText>,
}

/// `max_pods_per_domain` / `max_skew`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerDomainFile {
    /// Deployment.
    pub deployment: String,
    /// Node label, or `fault-domain`, `zone`, `node`.
    #[serde(default)]
    pub topology_key: Option<String>,
    /// Bound.
    pub max: u32,
    /// Window start.
    pub after: Option<DurationText>,
    /// Window end.
    pub until: Option<DurationText>,
}

/// `max_pending`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PendingMaxFile {
    /// Deployment (default: all).
    pub deployment: Option<String>,
    /// Longest allowed time Pending.
    pub max: DurationText,
}

/// `pending_pods`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PendingCountFile {
    /// Deployment.
    pub deployment: String,
    /// Exact number of pending pods.
    pub count: u32,
    /// When (default: end of run).
    pub at: Option<DurationText>,
    /// Text each pending pod's scheduler message must contain.
    pub reason_contains: Option<String>,
}

/// `recovery_time`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecoveryFile {
    /// Timeline entry name.
    pub failure: String,
    /// Longest allowed time from the failure to full recovery.
    pub max: Option<DurationText>,
    /// Expect the run to end unrecovered instead.
    #[serde(default)]
    pub never: bool,
}

/// Load offered to one Deployment.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadFile {
    /// The Deployment that serves it, behind the load balancer directly.
    pub deployment: Option<String>,
    /// Or the Ingress host and path it is sent to: through the `type:
    /// LoadBalancer` Service's load balancer and ingress controller to the
    /// Ingress rule's backend Service.
    pub ingress: Option<IngressTargetFile>,
    /// How the ingress controller's pods serve requests (required on one of
    /// the loads through it; where given on several, the same).
    pub ingress_controller: Option<IngressControllerFile>,
    /// CPU time one request costs (e.g. `25ms` of one core).
    pub cpu_per_request: DurationText,
    /// Working set per pod (a quantity such as `300Mi`); default: the memory request.
    pub memory_per_pod: Option<String>,
    /// The request rate over time.
    pub profile: ProfileFile,
    /// Mean service time of one request (default: its CPU time).
    pub service_time: Option<DurationText>,
    /// The service time's distribution (default exponential).
    pub service_distribution: Option<ServiceDistributionFile>,
    /// Requests one pod serves at once (default: 4 per OCPU of the pod).
    pub concurrency: Option<u32>,
    /// A request waiting longer fails (default 30s).
    pub timeout: Option<DurationText>,
    /// The OCI load balancer in front (flexible shape).
    pub load_balancer: Option<LoadBalancerFile>,
}

/// Where an ingress-routed load goes: an Ingress host and path.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngressTargetFile {
    /// Request host (default: none, matching only rules without a host).
    pub host: Option<String>,
    /// Request path (default `/`).
    pub path: Option<String>,
}

/// The ingress controller's cost and queue.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct IngressControllerFile {
    /// CPU time one proxied request costs.
    pub cpu_per_request: DurationText,
    /// Mean time a request spends in the controller (default: its CPU time).
    pub service_time: Option<DurationText>,
    /// Requests one controller pod proxies at once (default 4 per OCPU).
    pub concurrency: Option<u32>,
    /// The service time's distribution (default exponential).
    pub service_distribution: Option<ServiceDistributionFile>,
    /// Average bytes per request and response through the load balancer (default 10240).
    pub bytes_per_request: Option<u64>,
}

/// A service-time distribution: `kind` `exponential`, `deterministic` or
/// `lognormal` (with `cv`, the coefficient of variation).
#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ServiceDistributionFile {
    /// `exponential`, `deterministic` or `lognormal`.
    pub kind: String,
    /// lognormal: standard deviation / mean, above 0 and at most 10.
    pub cv: Option<f64>,
}

/// The load balancer in front of a Deployment.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadBalancerFile {
    /// Flexible shape maximum bandwidth, 10-8000 Mbps.
    pub max_mbps: u32,
    /// Average bytes per request and response (default 10240).
    pub bytes_per_request: Option<u64>,
    /// Health check interval (default 10s).
    pub health_check_interval: Option<DurationText>,
    /// Consecutive failures before a backend is taken out, and successes
    /// before it is put back (default 3).
    pub health_check_retries: Option<u32>,
    /// A probe answered later than this fails (default 3s, at most the interval).
    pub health_check_timeout: Option<DurationText>,
}

/// A load profile: `kind` and the fields that kind uses.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileFile {
    /// `constant`, `step`, `ramp`, `diurnal`, `spike` or `trace`.
    pub kind: String,
    /// constant: the rate.
    pub rps: Option<f64>,
    /// step, ramp: the first rate.
    pub from: Option<f64>,
    /// step, ramp: the final rate.
    pub to: Option<f64>,
    /// step, spike: when.
    pub at: Option<DurationText>,
    /// ramp: start.
    pub start: Option<DurationText>,
    /// ramp: end.
    pub end: Option<DurationText>,
    /// diurnal: lowest rate.
    pub min: Option<f64>,
    /// diurnal: highest rate.
    pub max: Option<f64>,
    /// diurnal: period (default 24h).
    pub period: Option<DurationText>,
    /// diurnal: time of the peak (default 14h).
    pub peak_at: Option<DurationText>,
    /// spike: rate outside the spike.
    pub base: Option<f64>,
    /// spike: rate during the spike.
    pub peak: Option<f64>,
    /// spike: length.
    pub duration: Option<DurationText>,
    /// trace: a CSV file (`seconds,rps` per line, header optional), relative to the scenario.
    pub file: Option<String>,
}

/// Report settings.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportFile {
    /// Interval between samples of pods per domain.
    pub sample_every: Option<DurationText>,
}
