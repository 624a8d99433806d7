//! OKE: enhanced and basic clusters, virtual node pools and where their virtual
//! nodes go (domain.md §3).
//!
//! Owns cluster and pool validation, service limits and the even spread of
//! virtual nodes over the selected ADs and FDs. The Kubernetes side of a node
//! (labels, taints, pods) lives in `model::kube`; this module only decides which
//! nodes exist and where.

pub mod rules;
pub mod sizing;

use std::collections::BTreeMap;

use thiserror::Error;

use super::kube::selector::{Labels, Taint};
use super::network::{Network, NetworkError, SubnetId, VcnId};
use super::topology::{FaultDomain, Topology};
use sizing::PodShape;

/// Index of a cluster in [`Oke::clusters`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClusterId(pub u32);
/// Index of a virtual node pool in [`Oke::pools`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PoolId(pub u32);

/// `BASIC_CLUSTER` or `ENHANCED_CLUSTER`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClusterType {
    /// Basic cluster: free, no virtual nodes.
    Basic,
    /// Enhanced cluster: needed for virtual nodes and workload identity.
    Enhanced,
}

/// The pod networking of a cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CniType {
    /// `OCI_VCN_IP_NATIVE`: pods take IPs from a VCN subnet.
    OciVcnIpNative,
    /// `FLANNEL_OVERLAY`.
    FlannelOverlay,
}

/// OKE service limits (domain.md §3.3, Universal Credits defaults).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OkeLimits {
    /// Enhanced clusters per region (15).
    pub enhanced_clusters: usize,
    /// Basic clusters per region (15).
    pub basic_clusters: usize,
    /// Virtual nodes per region, `virtual-node-count` (9).
    pub virtual_nodes: usize,
    /// Pods per virtual node (500).
    pub pods_per_virtual_node: u32,
    /// NSGs on a pod or node subnet configuration (5).
    pub nsgs_per_configuration: usize,
}

impl Default for OkeLimits {
    fn default() -> Self {
        OkeLimits {
            enhanced_clusters: 15,
            basic_clusters: 15,
            virtual_nodes: 9,
            pods_per_virtual_node: 500,
            nsgs_per_configuration: 5,
        }
    }
}

/// Errors of the OKE model.
#[derive(Debug, Error, PartialEq, Eq, Clone)]
pub enum OkeError {
    /// Virtual node pools need an enhanced cluster.
    #[error(
        "cluster `{0}` is a basic cluster: virtual node pools can only be created in enhanced clusters"
    )]
    NotEnhanced(String),
    /// Virtual nodes need VCN-native pod networking.
    #[error(
        "cluster `{0}` uses flannel overlay networking: virtual nodes support only VCN-native pod networking (OCI_VCN_IP_NATIVE)"
    )]
    NotVcnNative(String),
    /// Kubernetes version too old.
    #[error("cluster `{name}` runs Kubernetes {version}: virtual nodes need 1.25 or later")]
    VersionTooOld { name: String, version: String },
    /// A cluster limit was reached.
    #[error("the region already has {limit} {kind} clusters (service limit)")]
    ClusterLimit { kind: &'static str, limit: usize },
    /// The virtual node limit was reached.
    #[error(
        "creating {requested} virtual nodes would exceed the region's virtual-node-count limit of {limit} ({existing} exist)"
    )]
    VirtualNodeLimit {
        requested: usize,
        existing: usize,
        limit: usize,
    },
    /// The pod subnet is not private.
    #[error("pod subnet `{0}` is public: the pod subnet of virtual nodes must be private")]
    PublicPodSubnet(String),
    /// The pod subnet is AD-specific.
    #[error("pod subnet `{0}` is AD-specific: the pod subnet of virtual nodes must be regional")]
    AdSpecificPodSubnet(String),
    /// A subnet of another VCN.
    #[error("subnet `{subnet}` is not in the cluster's VCN `{vcn}`")]
    SubnetOutsideClusterVcn { subnet: String, vcn: String },
    /// An AD-specific node subnet used in another AD.
    #[error(
        "subnet `{subnet}` belongs to AD-{subnet_ad} but the placement is in AD-{placement_ad}"
    )]
    SubnetAdMismatch {
        subnet: String,
        subnet_ad: u8,
        placement_ad: u8,
    },
    /// A pool without placements.
    #[error("virtual node pool `{0}` has no placement configuration")]
    NoPlacement(String),
    /// Too many NSGs.
    #[error("virtual node pool `{pool}` names {count} NSGs, over the limit of {limit}")]
    TooManyNsgs {
        pool: String,
        count: usize,
        limit: usize,
    },
    /// A name used twice.
    #[error("a {kind} named `{name}` already exists")]
    Duplicate { kind: &'static str, name: String },
    /// A network lookup or allocation failed.
    #[error(transparent)]
    Network(#[from] NetworkError),
}

/// An OKE cluster.
#[derive(Clone, Debug)]
pub struct Cluster {
    /// The OCID.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Basic or enhanced.
    pub cluster_type: ClusterType,
    /// Pod networking.
    pub cni: CniType,
    /// Kubernetes version, e.g. `v1.34.1`.
    pub kubernetes_version: String,
    /// The VCN it lives in.
    pub vcn: VcnId,
}

/// Where a pool puts nodes: one AD, some of its FDs, one node subnet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    /// 1-based AD number.
    pub availability_domain: u8,
    /// Selected FDs; empty means all three.
    pub fault_domains: Vec<FaultDomain>,
    /// The subnet the virtual nodes' VNICs go in.
    pub subnet: SubnetId,
}

/// A virtual node pool.
#[derive(Clone, Debug)]
pub struct VirtualNodePool {
    /// The OCID.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The cluster it belongs to.
    pub cluster: ClusterId,
    /// Placement configurations.
    pub placements: Vec<Placement>,
    /// Pod configuration: the pods' subnet.
    pub pod_subnet: SubnetId,
    /// Pod configuration: NSG names.
    pub pod_nsgs: Vec<String>,
    /// Pod configuration: the shape.
    pub pod_shape: &'static PodShape,
    /// Desired number of virtual nodes.
    pub size: u32,
    /// Labels put on every node (besides the OKE ones).
    pub labels: Labels,
    /// Taints put on every node.
    pub taints: Vec<Taint>,
}

/// One virtual node to create, as decided by the pool's placement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VirtualNodePlan {
    /// 1-based AD number.
    pub availability_domain: u8,
    /// Fault domain.
    pub fault_domain: FaultDomain,
    /// Node subnet (its VNIC's IP comes from here).
    pub subnet: SubnetId,
}

/// The OKE service state of one region.
#[derive(Clone, Debug, Default)]
pub struct Oke {
    /// Limits in force.
    pub limits: OkeLimits,
    /// Clusters by index.
    pub clusters: Vec<Cluster>,
    /// Pools by index.
    pub pools: Vec<VirtualNodePool>,
    /// Virtual nodes that exist, for the region limit.
    pub virtual_node_count: usize,
    by_name: BTreeMap<String, ClusterId>,
}

/// The smallest Kubernetes minor version virtual nodes support.
const MIN_VIRTUAL_NODE_MINOR: u32 = 25;

impl Oke {
    /// An empty service with the given limits.
    pub fn new(limits: OkeLimits) -> Oke {
        Oke {
            limits,
            ..Oke::default()
        }
    }

    /// Creates a cluster, checking the per-type cluster limit.
    pub fn create_cluster(&mut self, cluster: Cluster) -> Result<ClusterId, OkeError> {
        if self.by_name.contains_key(&cluster.name) {
            return Err(OkeError::Duplicate {
                kind: "cluster",
                name: cluster.name,
            });
        }
        let (kind, limit) = match cluster.cluster_type {
            ClusterType::Enhanced => ("enhanced", self.limits.enhanced_clusters),
            ClusterType::Basic => ("basic", self.limits.basic_clusters),
        };
        let existing = self
            .clusters
            .iter()
            .filter(|c| c.cluster_type == cluster.cluster_type)
            .count();
        if existing >= limit {
            return Err(OkeError::ClusterLimit { kind, limit });
        }
        let id = ClusterId(self.clusters.len() as u32);
        self.by_name.insert(cluster.name.clone(), id);
        self.clusters.push(cluster);
        Ok(id)
    }

    /// Looks a cluster up by name.
    pub fn cluster_named(&self, name: &str) -> Option<ClusterId> {
        self.by_name.get(name).copied()
    }

    /// Validates and records a virtual node pool, returning where each of its
    /// nodes goes. Node IPs are allocated by the caller from the plan's subnets.
    pub fn create_virtual_node_pool(
        &mut self,
        pool: VirtualNodePool,
        network: &Network,
        topology: &Topology,
    ) -> Result<(PoolId, Vec<VirtualNodePlan>), OkeError> {
        let cluster = &self.clusters[pool.cluster.0 as usize];
        check_cluster_supports_virtual_nodes(cluster)?;
        if self.pools.iter().any(|p| p.name == pool.name) {
            return Err(OkeError::Duplicate {
                kind: "virtual node pool",
                name: pool.name,
            });
        }
        if pool.placements.is_empty() {
            return Err(OkeError::NoPlacement(pool.name));
        }
        if pool.pod_nsgs.len() > self.limits.nsgs_per_configuration {
            return Err(OkeError::TooManyNsgs {
                pool: pool.name,
                count: pool.pod_nsgs.len(),
                limit: self.limits.nsgs_per_configuration,
            });
        }
        let vcn_name = &network.vcns[cluster.vcn.0 as usize].name;
        let in_vcn = |s: SubnetId| -> Result<(), OkeError> {
            let sub = network.subnet(s);
            if sub.vcn != cluster.vcn {
                return Err(OkeError::SubnetOutsideClusterVcn {
                    subnet: sub.name.clone(),
                    vcn: vcn_name.clone(),
                });
            }
            Ok(())
        };
        let pod_subnet = network.subnet(pool.pod_subnet);
        in_vcn(pool.pod_subnet)?;
        if !pod_subnet.prohibit_public_ip {
            return Err(OkeError::PublicPodSubnet(pod_subnet.name.clone()));
        }
        if pod_subnet.availability_domain.is_some() {
            return Err(OkeError::AdSpecificPodSubnet(pod_subnet.name.clone()));
        }
        for p in &pool.placements {
            in_vcn(p.subnet)?;
            let sub = network.subnet(p.subnet);
            if let Some(ad) = sub
                .availability_domain
                .filter(|ad| *ad != p.availability_domain)
            {
                return Err(OkeError::SubnetAdMismatch {
                    subnet: sub.name.clone(),
                    subnet_ad: ad,
                    placement_ad: p.availability_domain,
                });
            }
            debug_assert!(usize::from(p.availability_domain) <= topology.ads.len());
        }
        let plan = spread_nodes(&pool.placements, pool.size as usize);
        let requested = plan.len();
        if self.virtual_node_count + requested > self.limits.virtual_nodes {
            return Err(OkeError::VirtualNodeLimit {
                requested,
                existing: self.virtual_node_count,
                limit: self.limits.virtual_nodes,
            });
        }
        self.virtual_node_count += requested;
        let id = PoolId(self.pools.len() as u32);
        self.pools.push(pool);
        Ok((id, plan))
    }
}

/// Refuses clusters that cannot host virtual nodes.
pub fn check_cluster_supports_virtual_nodes(c: &Cluster) -> Result<(), OkeError> {
    if c.cluster_type != ClusterType::Enhanced {
        return Err(OkeError::NotEnhanced(c.name.clone()));
    }
    if c.cni != CniType::OciVcnIpNative {
        return Err(OkeError::NotVcnNative(c.name.clone()));
    }
    let minor = c
        .kubernetes_version
        .trim_start_matches('v')
        .split('.')
        .nth(1)
        .and_then(|m| m.parse::<u32>().ok())
        .unwrap_or(0);
    if minor < MIN_VIRTUAL_NODE_MINOR {
        return Err(OkeError::VersionTooOld {
            name: c.name.clone(),
            version: c.kubernetes_version.clone(),
        });
    }
    Ok(())
}

/// Spreads `size` nodes as evenly as possible over the placements' (AD, FD)
/// slots: slots are interleaved so that consecutive nodes change AD first and
/// FD second, then filled round-robin. Any prefix of the result is balanced
/// over ADs (±1) and over FDs within each AD (±1).
pub fn spread_nodes(placements: &[Placement], size: usize) -> Vec<VirtualNodePlan> {
    // Slots per placement, each list in FD order.
    let per_placement: Vec<Vec<VirtualNodePlan>> = placements
        .iter()
        .map(|p| {
            let fds: Vec<FaultDomain> = if p.fault_domains.is_empty() {
                FaultDomain::all().collect()
            } else {
                p.fault_domains.clone()
            };
            fds.into_iter()
                .map(|fd| VirtualNodePlan {
                    availability_domain: p.availability_domain,
                    fault_domain: fd,
                    subnet: p.subnet,
                })
                .collect()
        })
        .collect();
    let mut slots = Vec::new();
    let depth = per_placement.iter().map(Vec::len).max().unwrap_or(0);
    for i in 0..depth {
        for list in &per_placement {
            if let Some(s) = list.get(i) {
                slots.push(s.clone());
            }
        }
    }
    if slots.is_empty() {
        return Vec::new();
    }
    (0..size).map(|i| slots[i % slots.len()].clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placement(ad: u8, fds: &[u8]) -> Placement {
        Placement {
            availability_domain: ad,
            fault_domains: fds.iter().map(|f| FaultDomain(*f)).collect(),
            subnet: SubnetId(0),
        }
    }

    #[test]
    fn nodes_spread_evenly_over_ads_then_fds() {
        let plan = spread_nodes(
            &[placement(1, &[]), placement(2, &[]), placement(3, &[])],
            200,
        );
        let mut per_fd = BTreeMap::new();
        for n in &plan {
            *per_fd
                .entry((n.availability_domain, n.fault_domain))
                .or_insert(0) += 1;
        }
        assert_eq!(per_fd.len(), 9);
        assert!(per_fd.values().all(|c| *c == 22 || *c == 23), "{per_fd:?}");
        // The first three nodes land in three different ADs.
        let first: Vec<u8> = plan[..3].iter().map(|n| n.availability_domain).collect();
        assert_eq!(first, [1, 2, 3]);
    }

    #[test]
    fn selected_fault_domains_only() {
        let plan = spread_nodes(&[placement(1, &[1, 3])], 4);
        let fds: Vec<u8> = plan.iter().map(|n| n.fault_domain.0).collect();
        assert_eq!(fds, [1, 3, 1, 3]);
    }

    #[test]
    fn basic_and_flannel_clusters_are_refused() {
        let mut c = Cluster {
            id: "c".into(),
            name: "c".into(),
            cluster_type: ClusterType::Basic,
            cni: CniType::OciVcnIpNative,
            kubernetes_version: "v1.34.1".into(),
            vcn: VcnId(0),
        };
        assert_eq!(
            check_cluster_supports_virtual_nodes(&c),
            Err(OkeError::NotEnhanced("c".into()))
        );
        c.cluster_type = ClusterType::Enhanced;
        c.cni = CniType::FlannelOverlay;
        assert!(matches!(
            check_cluster_supports_virtual_nodes(&c),
            Err(OkeError::NotVcnNative(_))
        ));
        c.cni = CniType::OciVcnIpNative;
        c.kubernetes_version = "v1.24.1".into();
        assert!(matches!(
            check_cluster_supports_virtual_nodes(&c),
            Err(OkeError::VersionTooOld { .. })
        ));
        c.kubernetes_version = "v1.34.1".into();
        assert!(check_cluster_supports_virtual_nodes(&c).is_ok());
    }
}
