//! OKE: enhanced and basic clusters, virtual node pools and where their virtual
//! nodes go (domain.md §3).
//!
//! Owns cluster and pool validation, service limits and the even spread of
//! virtual nodes over the selected ADs and FDs. The Kubernetes side of a node
//! (labels, taints, pods) lives in `model::kube`; this module only decides which
//! nodes exist and where.

pub mod rules;
pub mod sizing;

use std::collections::{BTreeMap, BTreeSet};

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
    /// A cluster that still has virtual node pools cannot be deleted.
    #[error("cluster `{cluster}` still has virtual node pool `{pool}`: delete its pools first")]
    ClusterHasPools { cluster: String, pool: String },
    /// The object was deleted.
    #[error("{kind} `{name}` has been deleted")]
    Deleted { kind: &'static str, name: String },
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
    /// Clusters deleted (their slots stay, so ids never move).
    pub deleted_clusters: BTreeSet<ClusterId>,
    /// Pools deleted.
    pub deleted_pools: BTreeSet<PoolId>,
    /// Kubernetes API endpoint addresses taken from endpoint subnets, by cluster OCID.
    pub endpoint_ips: BTreeMap<String, (SubnetId, u32)>,
    by_name: BTreeMap<String, ClusterId>,
}

/// Kubernetes versions OKE offers for new clusters, oldest first
/// (`GetClusterOptions`; the exact patch list is UNCONFIRMED).
pub const KUBERNETES_VERSIONS: &[&str] = &["v1.31.10", "v1.32.1", "v1.33.1", "v1.34.1"];

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
            .live_clusters()
            .filter(|(_, c)| c.cluster_type == cluster.cluster_type)
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

    /// Checks that `subnet` can hold the pods of a pool of `cluster`: a
    /// private, regional subnet of the cluster's VCN.
    pub fn check_pod_subnet(
        &self,
        cluster: ClusterId,
        subnet: SubnetId,
        network: &Network,
    ) -> Result<(), OkeError> {
        let cluster = &self.clusters[cluster.0 as usize];
        let sub = network.subnet(subnet);
        if sub.vcn != cluster.vcn {
            return Err(OkeError::SubnetOutsideClusterVcn {
                subnet: sub.name.clone(),
                vcn: network.vcns[cluster.vcn.0 as usize].name.clone(),
            });
        }
        if !sub.prohibit_public_ip {
            return Err(OkeError::PublicPodSubnet(sub.name.clone()));
        }
        if sub.availability_domain.is_some() {
            return Err(OkeError::AdSpecificPodSubnet(sub.name.clone()));
        }
        Ok(())
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
        if self.deleted_clusters.contains(&pool.cluster) {
            return Err(OkeError::Deleted {
                kind: "cluster",
                name: cluster.name.clone(),
            });
        }
        check_cluster_supports_virtual_nodes(cluster)?;
        if self
            .live_pools()
            .any(|(_, p)| p.name == pool.name && p.cluster == pool.cluster)
        {
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
        self.check_pod_subnet(pool.cluster, pool.pod_subnet, network)?;
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

impl Oke {
    /// Clusters not deleted, with their ids.
    pub fn live_clusters(&self) -> impl Iterator<Item = (ClusterId, &Cluster)> {
        self.clusters
            .iter()
            .enumerate()
            .map(|(i, c)| (ClusterId(i as u32), c))
            .filter(|(id, _)| !self.deleted_clusters.contains(id))
    }

    /// Pools not deleted, with their ids.
    pub fn live_pools(&self) -> impl Iterator<Item = (PoolId, &VirtualNodePool)> {
        self.pools
            .iter()
            .enumerate()
            .map(|(i, p)| (PoolId(i as u32), p))
            .filter(|(id, _)| !self.deleted_pools.contains(id))
    }

    /// Deletes a cluster that has no live virtual node pool; its name is free again.
    pub fn delete_cluster(&mut self, id: ClusterId) -> Result<(), OkeError> {
        let c = &self.clusters[id.0 as usize];
        if self.deleted_clusters.contains(&id) {
            return Err(OkeError::Deleted {
                kind: "cluster",
                name: c.name.clone(),
            });
        }
        if let Some((_, p)) = self.live_pools().find(|(_, p)| p.cluster == id) {
            return Err(OkeError::ClusterHasPools {
                cluster: c.name.clone(),
                pool: p.name.clone(),
            });
        }
        if self.by_name.get(&c.name) == Some(&id) {
            self.by_name.remove(&c.name);
        }
        self.deleted_clusters.insert(id);
        Ok(())
    }

    /// Plans a resize of `pool` to `size` nodes given where its live nodes are
    /// now (`current`, in node order), checking the virtual-node limit. Nodes
    /// are added to the (AD, FD) slot with the fewest nodes and removed from the
    /// one with the most, so the pool stays balanced (±1) over its slots.
    pub fn plan_resize(
        &self,
        pool: PoolId,
        current: &[(u8, FaultDomain)],
        size: u32,
    ) -> Result<Resize, OkeError> {
        let p = &self.pools[pool.0 as usize];
        if self.deleted_pools.contains(&pool) {
            return Err(OkeError::Deleted {
                kind: "virtual node pool",
                name: p.name.clone(),
            });
        }
        let resize = rebalance(&p.placements, current, size as usize);
        let after = self.virtual_node_count + resize.add.len() - resize.remove.len();
        if !resize.add.is_empty() && after > self.limits.virtual_nodes {
            return Err(OkeError::VirtualNodeLimit {
                requested: resize.add.len(),
                existing: self.virtual_node_count,
                limit: self.limits.virtual_nodes,
            });
        }
        Ok(resize)
    }

    /// Records a resize the caller applied (nodes created and removed).
    pub fn apply_resize(&mut self, pool: PoolId, size: u32, added: usize, removed: usize) {
        assert!(
            self.virtual_node_count + added >= removed,
            "removing nodes that were never counted"
        );
        self.virtual_node_count = self.virtual_node_count + added - removed;
        self.pools[pool.0 as usize].size = size;
    }

    /// Marks a pool deleted once its nodes are gone.
    pub fn delete_pool(&mut self, pool: PoolId) {
        self.deleted_pools.insert(pool);
    }
}

/// Nodes to add and remove in a resize.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resize {
    /// New nodes, in creation order.
    pub add: Vec<VirtualNodePlan>,
    /// Indices into `current` of the nodes to remove.
    pub remove: Vec<usize>,
}

/// The pure rebalancing step behind [`Oke::plan_resize`]: each new node goes
/// to the slot with the fewest nodes (ties: slot order, as [`spread_nodes`]
/// orders them); each removed node comes from the slot with the most (ties: the
/// last slot), newest node first. Nodes outside every slot (a placement that
/// was changed) are removed first.
pub fn rebalance(placements: &[Placement], current: &[(u8, FaultDomain)], size: usize) -> Resize {
    let slots = spread_nodes(placements, spread_slot_count(placements));
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); slots.len()];
    let mut orphans = Vec::new();
    for (i, (ad, fd)) in current.iter().enumerate() {
        match slots
            .iter()
            .position(|s| s.availability_domain == *ad && s.fault_domain == *fd)
        {
            Some(k) => members[k].push(i),
            None => orphans.push(i),
        }
    }
    let mut out = Resize::default();
    let mut count = current.len();
    while count > size {
        if let Some(i) = orphans.pop() {
            out.remove.push(i);
        } else {
            let k = (0..members.len())
                .rev()
                .max_by_key(|k| members[*k].len())
                .expect("nodes to remove are in some slot");
            out.remove
                .push(members[k].pop().expect("the fullest slot has a node"));
        }
        count -= 1;
    }
    while count < size && !slots.is_empty() {
        let k = (0..members.len())
            .min_by_key(|k| members[*k].len())
            .expect("at least one slot");
        out.add.push(slots[k].clone());
        members[k].push(usize::MAX);
        count += 1;
    }
    out
}

/// Number of distinct (AD, FD) slots of the placements.
fn spread_slot_count(placements: &[Placement]) -> usize {
    placements
        .iter()
        .map(|p| {
            if p.fault_domains.is_empty() {
                usize::from(super::topology::FAULT_DOMAINS_PER_AD)
            } else {
                p.fault_domains.len()
            }
        })
        .sum()
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

    fn apply(current: &mut Vec<(u8, FaultDomain)>, r: &Resize) {
        let mut gone = r.remove.clone();
        gone.sort_unstable();
        for i in gone.into_iter().rev() {
            current.remove(i);
        }
        current.extend(
            r.add
                .iter()
                .map(|p| (p.availability_domain, p.fault_domain)),
        );
    }

    fn per_slot(current: &[(u8, FaultDomain)]) -> BTreeMap<(u8, FaultDomain), usize> {
        let mut m = BTreeMap::new();
        for c in current {
            *m.entry(*c).or_insert(0) += 1;
        }
        m
    }

    #[test]
    fn resizing_rebalances_over_the_fault_domains() {
        let pl = [placement(1, &[])];
        let mut cur: Vec<(u8, FaultDomain)> = spread_nodes(&pl, 3)
            .iter()
            .map(|p| (p.availability_domain, p.fault_domain))
            .collect();
        // Grow 3 -> 7: FD-1 gets the extra node.
        let r = rebalance(&pl, &cur, 7);
        assert_eq!(r.remove, Vec::<usize>::new());
        let fds: Vec<u8> = r.add.iter().map(|p| p.fault_domain.0).collect();
        assert_eq!(fds, [1, 2, 3, 1]);
        apply(&mut cur, &r);
        // Shrink 7 -> 4 removes from FD-1 first, then FD-3, FD-2 (fullest, last slot on ties).
        let r = rebalance(&pl, &cur, 4);
        assert_eq!(r.add, Vec::new());
        apply(&mut cur, &r);
        let m = per_slot(&cur);
        assert!(m.values().all(|c| *c == 1 || *c == 2), "{m:?}");
        assert_eq!(m.values().sum::<usize>(), 4);
        // Moving the pool to FD-2 and FD-3 only removes the FD-1 nodes first.
        let moved = [placement(1, &[2, 3])];
        let r = rebalance(&moved, &cur, 2);
        apply(&mut cur, &r);
        assert!(cur.iter().all(|(_, fd)| fd.0 != 1), "{cur:?}");
    }

    #[test]
    fn deleting_a_cluster_needs_its_pools_gone() {
        let mut oke = Oke::new(OkeLimits::default());
        let c = oke
            .create_cluster(Cluster {
                id: "c".into(),
                name: "c".into(),
                cluster_type: ClusterType::Enhanced,
                cni: CniType::OciVcnIpNative,
                kubernetes_version: "v1.34.1".into(),
                vcn: VcnId(0),
            })
            .unwrap();
        oke.pools.push(VirtualNodePool {
            id: "p".into(),
            name: "p".into(),
            cluster: c,
            placements: vec![placement(1, &[])],
            pod_subnet: SubnetId(0),
            pod_nsgs: Vec::new(),
            pod_shape: sizing::pod_shape("Pod.Standard.E4.Flex").unwrap(),
            size: 3,
            labels: Labels::new(),
            taints: Vec::new(),
        });
        oke.virtual_node_count = 3;
        assert!(matches!(
            oke.delete_cluster(c),
            Err(OkeError::ClusterHasPools { .. })
        ));
        let big = oke.plan_resize(PoolId(0), &[(1, FaultDomain(1)); 3], 10);
        assert!(matches!(big, Err(OkeError::VirtualNodeLimit { .. })));
        oke.apply_resize(PoolId(0), 0, 0, 3);
        oke.delete_pool(PoolId(0));
        assert_eq!(oke.virtual_node_count, 0);
        assert!(matches!(
            oke.plan_resize(PoolId(0), &[], 1),
            Err(OkeError::Deleted { .. })
        ));
        oke.delete_cluster(c).unwrap();
        assert_eq!(oke.cluster_named("c"), None);
        assert_eq!(oke.live_clusters().count(), 0);
    }

    proptest::proptest! {
        #[test]
        fn any_resize_sequence_stays_balanced(sizes in proptest::collection::vec(0usize..30, 1..8), two_ads in proptest::bool::ANY) {
            let pl: Vec<Placement> = if two_ads {
                vec![placement(1, &[]), placement(2, &[1, 3])]
            } else {
                vec![placement(1, &[])]
            };
            let mut cur = Vec::new();
            for size in sizes {
                let r = rebalance(&pl, &cur, size);
                apply(&mut cur, &r);
                proptest::prop_assert_eq!(cur.len(), size);
                let m = per_slot(&cur);
                let slots = spread_slot_count(&pl);
                let max = m.values().copied().max().unwrap_or(0);
                let min = if m.len() < slots { 0 } else { m.values().copied().min().unwrap_or(0) };
                proptest::prop_assert!(max - min <= 1, "{:?}", m);
            }
        }
    }
}
