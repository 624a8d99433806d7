//! Virtual cloud networks: VCNs, subnets and their IP pools, gateways, route
//! tables, security lists and network security groups (domain.md §2).
//!
//! This module owns CIDR validation and address allocation. Gateways, route
//! tables and security rules are stored as model objects; evaluating them for a
//! flow is a later layer's job. Nothing here knows HTTP, JSON or file formats.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use thiserror::Error;

use super::cidr::{CidrError, IpPool, Ipv4Cidr};

/// Index of a VCN in [`Network::vcns`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VcnId(pub u32);
/// Index of a subnet in [`Network::subnets`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SubnetId(pub u32);

/// Service limits of the networking service (domain.md §2, Universal Credits defaults).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkLimits {
    /// VCNs per region (50 UC, 10 PAYG/trial).
    pub vcns_per_region: usize,
    /// IPv4 CIDR blocks per VCN (5).
    pub cidr_blocks_per_vcn: usize,
    /// Subnets per VCN (300).
    pub subnets_per_vcn: usize,
    /// Security lists per subnet (5).
    pub security_lists_per_subnet: usize,
}

impl Default for NetworkLimits {
    fn default() -> Self {
        NetworkLimits {
            vcns_per_region: 50,
            cidr_blocks_per_vcn: 5,
            subnets_per_vcn: 300,
            security_lists_per_subnet: 5,
        }
    }
}

/// Errors the networking model returns; each names the object at fault.
#[derive(Debug, Error, PartialEq, Eq, Clone)]
pub enum NetworkError {
    /// A CIDR string is malformed or has host bits set.
    #[error(transparent)]
    Cidr(#[from] CidrError),
    /// A VCN CIDR block outside /16../30.
    #[error("VCN CIDR block {0} must be between /16 and /30")]
    VcnCidrSize(Ipv4Cidr),
    /// Two blocks of one VCN overlap.
    #[error("VCN CIDR block {new} overlaps block {existing} of the same VCN")]
    VcnCidrOverlap { new: Ipv4Cidr, existing: Ipv4Cidr },
    /// A VCN needs at least one CIDR block.
    #[error("a VCN needs at least one IPv4 CIDR block")]
    NoCidrBlocks,
    /// More blocks than the limit allows.
    #[error("VCN has {count} CIDR blocks, over the limit of {limit}")]
    TooManyCidrBlocks { count: usize, limit: usize },
    /// Region VCN limit reached.
    #[error("the region already has {limit} VCNs (service limit vcn-count)")]
    VcnLimit { limit: usize },
    /// Subnet limit reached for a VCN.
    #[error("VCN {vcn} already has {limit} subnets (service limit)")]
    SubnetLimit { vcn: String, limit: usize },
    /// A subnet CIDR outside every VCN block.
    #[error("subnet CIDR {cidr} is not inside any CIDR block of VCN {vcn} ({blocks})")]
    SubnetOutsideVcn {
        cidr: Ipv4Cidr,
        vcn: String,
        blocks: String,
    },
    /// A subnet CIDR smaller than /30.
    #[error("subnet CIDR {0} is too small: the smallest subnet is /30")]
    SubnetTooSmall(Ipv4Cidr),
    /// Two subnets of a VCN overlap.
    #[error("subnet CIDR {new} overlaps subnet {existing_name} ({existing})")]
    SubnetOverlap {
        new: Ipv4Cidr,
        existing: Ipv4Cidr,
        existing_name: String,
    },
    /// Two objects of one kind share a display name where the twin needs unique names.
    #[error("{kind} name `{name}` is already used in VCN {vcn}")]
    DuplicateName {
        kind: &'static str,
        name: String,
        vcn: String,
    },
    /// A VCN already has its one gateway of that kind.
    #[error("VCN {vcn} already has a {kind} (limit 1 per VCN)")]
    GatewayLimit { kind: &'static str, vcn: String },
    /// A referenced object does not exist.
    #[error("no {kind} named `{name}`")]
    NotFound { kind: &'static str, name: String },
    /// A subnet has no free address left.
    #[error(
        "subnet {subnet} ({cidr}) has no free IP address: all {capacity} usable addresses are in use"
    )]
    SubnetExhausted {
        subnet: String,
        cidr: Ipv4Cidr,
        capacity: u64,
    },
    /// Too many security lists on one subnet.
    #[error("subnet {subnet} names {count} security lists, over the limit of {limit}")]
    TooManySecurityLists {
        subnet: String,
        count: usize,
        limit: usize,
    },
}

/// A virtual cloud network.
#[derive(Clone, Debug)]
pub struct Vcn {
    /// The OCID.
    pub id: String,
    /// Display name (unique within the model).
    pub name: String,
    /// IPv4 CIDR blocks, in the order given.
    pub cidr_blocks: Vec<Ipv4Cidr>,
    /// The subnets created in it.
    pub subnets: Vec<SubnetId>,
}

/// A subnet with its address pool.
#[derive(Clone, Debug)]
pub struct Subnet {
    /// The OCID.
    pub id: String,
    /// Display name (unique within its VCN).
    pub name: String,
    /// The VCN it belongs to.
    pub vcn: VcnId,
    /// Its one IPv4 CIDR block.
    pub cidr: Ipv4Cidr,
    /// `None` for a regional subnet, else the 1-based AD number it is bound to.
    pub availability_domain: Option<u8>,
    /// True when VNICs in it may not have public IPs (a private subnet).
    pub prohibit_public_ip: bool,
    /// Name of the route table it uses, if any.
    pub route_table: Option<String>,
    /// Names of its security lists.
    pub security_lists: Vec<String>,
    /// The address pool.
    pub pool: IpPool,
}

/// The kinds of gateway a VCN can have.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GatewayKind {
    /// Internet gateway.
    Internet,
    /// NAT gateway.
    Nat,
    /// Service gateway (to the Oracle Services Network).
    Service,
}

impl GatewayKind {
    /// The name OCI uses for the kind.
    pub fn label(self) -> &'static str {
        match self {
            GatewayKind::Internet => "internet gateway",
            GatewayKind::Nat => "NAT gateway",
            GatewayKind::Service => "service gateway",
        }
    }
}

/// A gateway of a VCN.
#[derive(Clone, Debug)]
pub struct Gateway {
    /// The OCID.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Its kind.
    pub kind: GatewayKind,
    /// The VCN it belongs to.
    pub vcn: VcnId,
}

/// One route rule: traffic to `destination` goes to the gateway `target`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteRule {
    /// A CIDR such as `0.0.0.0/0`, or a service CIDR label such as `all-phx-services-in-oracle-services-network`.
    pub destination: String,
    /// Name of the target gateway.
    pub target: String,
}

/// A route table.
#[derive(Clone, Debug)]
pub struct RouteTable {
    /// The OCID.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The VCN it belongs to.
    pub vcn: VcnId,
    /// Its rules, in order.
    pub rules: Vec<RouteRule>,
}

/// The direction of a security rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Incoming traffic.
    Ingress,
    /// Outgoing traffic.
    Egress,
}

/// One security rule of a security list or NSG.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecurityRule {
    /// Ingress or egress.
    pub direction: Direction,
    /// Source (ingress) or destination (egress): a CIDR, a service label or an NSG name.
    pub peer: String,
    /// `all`, `tcp`, `udp`, `icmp` or a protocol number.
    pub protocol: String,
    /// Destination port range (inclusive), for TCP and UDP.
    pub ports: Option<(u16, u16)>,
    /// True for a stateless rule.
    pub stateless: bool,
}

/// A security list (applies to every VNIC in the subnets that use it).
#[derive(Clone, Debug)]
pub struct SecurityList {
    /// The OCID.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The VCN it belongs to.
    pub vcn: VcnId,
    /// Its rules.
    pub rules: Vec<SecurityRule>,
}

/// A network security group (applies to the VNICs placed in it).
#[derive(Clone, Debug)]
pub struct Nsg {
    /// The OCID.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The VCN it belongs to.
    pub vcn: VcnId,
    /// Its rules.
    pub rules: Vec<SecurityRule>,
}

/// What a subnet needs to be created.
#[derive(Clone, Debug)]
pub struct SubnetSpec {
    /// Display name.
    pub name: String,
    /// CIDR block.
    pub cidr: Ipv4Cidr,
    /// AD number for an AD-specific subnet, `None` for regional.
    pub availability_domain: Option<u8>,
    /// Private subnet when true.
    pub prohibit_public_ip: bool,
    /// Route table name.
    pub route_table: Option<String>,
    /// Security list names.
    pub security_lists: Vec<String>,
}

/// The networking state of one region.
#[derive(Clone, Debug, Default)]
pub struct Network {
    /// Service limits in force.
    pub limits: NetworkLimits,
    /// VCNs by index.
    pub vcns: Vec<Vcn>,
    /// Subnets by index.
    pub subnets: Vec<Subnet>,
    /// Gateways.
    pub gateways: Vec<Gateway>,
    /// Route tables.
    pub route_tables: Vec<RouteTable>,
    /// Security lists.
    pub security_lists: Vec<SecurityList>,
    /// Network security groups.
    pub nsgs: Vec<Nsg>,
    vcn_by_name: BTreeMap<String, VcnId>,
    subnet_by_name: BTreeMap<String, SubnetId>,
}

impl Network {
    /// An empty network with the given limits.
    pub fn new(limits: NetworkLimits) -> Network {
        Network {
            limits,
            ..Network::default()
        }
    }

    /// Creates a VCN after checking its CIDR blocks (sizes, overlap, count).
    pub fn create_vcn(
        &mut self,
        id: String,
        name: &str,
        cidr_blocks: Vec<Ipv4Cidr>,
    ) -> Result<VcnId, NetworkError> {
        if self.vcns.len() >= self.limits.vcns_per_region {
            return Err(NetworkError::VcnLimit {
                limit: self.limits.vcns_per_region,
            });
        }
        if self.vcn_by_name.contains_key(name) {
            return Err(NetworkError::DuplicateName {
                kind: "VCN",
                name: name.into(),
                vcn: name.into(),
            });
        }
        check_vcn_blocks(&cidr_blocks, self.limits.cidr_blocks_per_vcn)?;
        let vid = VcnId(self.vcns.len() as u32);
        self.vcns.push(Vcn {
            id,
            name: name.to_string(),
            cidr_blocks,
            subnets: Vec::new(),
        });
        self.vcn_by_name.insert(name.to_string(), vid);
        Ok(vid)
    }

    /// Creates a subnet inside `vcn` after checking containment and overlap.
    pub fn create_subnet(
        &mut self,
        vcn: VcnId,
        id: String,
        spec: SubnetSpec,
    ) -> Result<SubnetId, NetworkError> {
        let v = &self.vcns[vcn.0 as usize];
        if v.subnets.len() >= self.limits.subnets_per_vcn {
            return Err(NetworkError::SubnetLimit {
                vcn: v.name.clone(),
                limit: self.limits.subnets_per_vcn,
            });
        }
        if spec.security_lists.len() > self.limits.security_lists_per_subnet {
            return Err(NetworkError::TooManySecurityLists {
                subnet: spec.name.clone(),
                count: spec.security_lists.len(),
                limit: self.limits.security_lists_per_subnet,
            });
        }
        if spec.cidr.prefix() > 30 {
            return Err(NetworkError::SubnetTooSmall(spec.cidr));
        }
        if !v.cidr_blocks.iter().any(|b| b.contains_block(&spec.cidr)) {
            let blocks = v
                .cidr_blocks
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            return Err(NetworkError::SubnetOutsideVcn {
                cidr: spec.cidr,
                vcn: v.name.clone(),
                blocks,
            });
        }
        for sid in &v.subnets {
            let s = &self.subnets[sid.0 as usize];
            if s.name == spec.name {
                return Err(NetworkError::DuplicateName {
                    kind: "subnet",
                    name: spec.name,
                    vcn: v.name.clone(),
                });
            }
            if s.cidr.overlaps(&spec.cidr) {
                return Err(NetworkError::SubnetOverlap {
                    new: spec.cidr,
                    existing: s.cidr,
                    existing_name: s.name.clone(),
                });
            }
        }
        let sid = SubnetId(self.subnets.len() as u32);
        self.subnets.push(Subnet {
            id,
            name: spec.name.clone(),
            vcn,
            cidr: spec.cidr,
            availability_domain: spec.availability_domain,
            prohibit_public_ip: spec.prohibit_public_ip,
            route_table: spec.route_table,
            security_lists: spec.security_lists,
            pool: IpPool::new(spec.cidr),
        });
        self.vcns[vcn.0 as usize].subnets.push(sid);
        self.subnet_by_name.insert(spec.name, sid);
        Ok(sid)
    }

    /// Adds a gateway, at most one of each kind per VCN.
    pub fn create_gateway(
        &mut self,
        vcn: VcnId,
        id: String,
        name: &str,
        kind: GatewayKind,
    ) -> Result<(), NetworkError> {
        if self.gateways.iter().any(|g| g.vcn == vcn && g.kind == kind) {
            return Err(NetworkError::GatewayLimit {
                kind: kind.label(),
                vcn: self.vcns[vcn.0 as usize].name.clone(),
            });
        }
        self.gateways.push(Gateway {
            id,
            name: name.to_string(),
            kind,
            vcn,
        });
        Ok(())
    }

    /// Adds a route table whose targets must name gateways of the same VCN.
    pub fn create_route_table(
        &mut self,
        vcn: VcnId,
        id: String,
        name: &str,
        rules: Vec<RouteRule>,
    ) -> Result<(), NetworkError> {
        for rule in &rules {
            if !self
                .gateways
                .iter()
                .any(|g| g.vcn == vcn && g.name == rule.target)
            {
                return Err(NetworkError::NotFound {
                    kind: "gateway",
                    name: rule.target.clone(),
                });
            }
        }
        self.route_tables.push(RouteTable {
            id,
            name: name.to_string(),
            vcn,
            rules,
        });
        Ok(())
    }

    /// Adds a security list.
    pub fn create_security_list(
        &mut self,
        vcn: VcnId,
        id: String,
        name: &str,
        rules: Vec<SecurityRule>,
    ) {
        self.security_lists.push(SecurityList {
            id,
            name: name.to_string(),
            vcn,
            rules,
        });
    }

    /// Adds a network security group.
    pub fn create_nsg(&mut self, vcn: VcnId, id: String, name: &str, rules: Vec<SecurityRule>) {
        self.nsgs.push(Nsg {
            id,
            name: name.to_string(),
            vcn,
            rules,
        });
    }

    /// Looks a VCN up by display name.
    pub fn vcn_named(&self, name: &str) -> Result<VcnId, NetworkError> {
        self.vcn_by_name
            .get(name)
            .copied()
            .ok_or_else(|| NetworkError::NotFound {
                kind: "VCN",
                name: name.into(),
            })
    }

    /// Looks a subnet up by display name.
    pub fn subnet_named(&self, name: &str) -> Result<SubnetId, NetworkError> {
        self.subnet_by_name
            .get(name)
            .copied()
            .ok_or_else(|| NetworkError::NotFound {
                kind: "subnet",
                name: name.into(),
            })
    }

    /// The subnet with index `id`.
    pub fn subnet(&self, id: SubnetId) -> &Subnet {
        &self.subnets[id.0 as usize]
    }

    /// Allocates the lowest free address of a subnet.
    pub fn allocate_ip(&mut self, subnet: SubnetId) -> Result<u32, NetworkError> {
        let s = &mut self.subnets[subnet.0 as usize];
        s.pool
            .allocate()
            .ok_or_else(|| NetworkError::SubnetExhausted {
                subnet: s.name.clone(),
                cidr: s.cidr,
                capacity: s.pool.capacity(),
            })
    }

    /// Returns an address to its subnet; a double release is a bug and panics.
    pub fn release_ip(&mut self, subnet: SubnetId, addr: u32) {
        self.subnets[subnet.0 as usize].pool.release(addr);
    }

    /// Free addresses left in a subnet.
    pub fn free_ips(&self, subnet: SubnetId) -> u64 {
        self.subnets[subnet.0 as usize].pool.free()
    }
}

/// Checks a VCN's CIDR blocks: at least one, at most `limit`, each /16../30, no overlaps.
pub fn check_vcn_blocks(blocks: &[Ipv4Cidr], limit: usize) -> Result<(), NetworkError> {
    if blocks.is_empty() {
        return Err(NetworkError::NoCidrBlocks);
    }
    if blocks.len() > limit {
        return Err(NetworkError::TooManyCidrBlocks {
            count: blocks.len(),
            limit,
        });
    }
    for (i, b) in blocks.iter().enumerate() {
        if !(16..=30).contains(&b.prefix()) {
            return Err(NetworkError::VcnCidrSize(*b));
        }
        if let Some(existing) = blocks[..i].iter().find(|e| e.overlaps(b)) {
            return Err(NetworkError::VcnCidrOverlap {
                new: *b,
                existing: *existing,
            });
        }
    }
    Ok(())
}

/// Formats an address as dotted quad.
pub fn ip_string(addr: u32) -> String {
    Ipv4Addr::from(addr).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Ipv4Cidr {
        s.parse().unwrap()
    }

    fn subnet(name: &str, cidr: &str) -> SubnetSpec {
        SubnetSpec {
            name: name.into(),
            cidr: c(cidr),
            availability_domain: None,
            prohibit_public_ip: true,
            route_table: None,
            security_lists: vec![],
        }
    }

    #[test]
    fn vcn_blocks_are_checked() {
        let mut n = Network::new(NetworkLimits::default());
        assert_eq!(
            n.create_vcn("v".into(), "a", vec![c("10.0.0.0/8")]),
            Err(NetworkError::VcnCidrSize(c("10.0.0.0/8")))
        );
        assert_eq!(
            n.create_vcn("v".into(), "a", vec![c("10.0.0.0/31")]),
            Err(NetworkError::VcnCidrSize(c("10.0.0.0/31")))
        );
        assert!(matches!(
            n.create_vcn("v".into(), "a", vec![c("10.0.0.0/16"), c("10.0.128.0/17")]),
            Err(NetworkError::VcnCidrOverlap { .. })
        ));
        let six: Vec<_> = (0..6).map(|i| c(&format!("10.{i}.0.0/16"))).collect();
        assert_eq!(
            n.create_vcn("v".into(), "a", six),
            Err(NetworkError::TooManyCidrBlocks { count: 6, limit: 5 })
        );
        assert!(
            n.create_vcn("v".into(), "a", vec![c("10.0.0.0/16"), c("10.1.0.0/16")])
                .is_ok()
        );
    }

    #[test]
    fn subnets_must_fit_and_not_overlap() {
        let mut n = Network::new(NetworkLimits::default());
        let v = n
            .create_vcn("v".into(), "vcn", vec![c("10.0.0.0/16")])
            .unwrap();
        n.create_subnet(v, "s1".into(), subnet("pods", "10.0.0.0/19"))
            .unwrap();
        assert!(matches!(
            n.create_subnet(v, "s2".into(), subnet("x", "10.0.16.0/24")),
            Err(NetworkError::SubnetOverlap { .. })
        ));
        assert!(matches!(
            n.create_subnet(v, "s2".into(), subnet("x", "10.1.0.0/24")),
            Err(NetworkError::SubnetOutsideVcn { .. })
        ));
        assert!(matches!(
            n.create_subnet(v, "s2".into(), subnet("x", "10.0.64.0/31")),
            Err(NetworkError::SubnetTooSmall(_))
        ));
        let lb = n
            .create_subnet(v, "s3".into(), subnet("lb", "10.0.64.0/30"))
            .unwrap();
        assert_eq!(ip_string(n.allocate_ip(lb).unwrap()), "10.0.64.2");
        assert!(matches!(
            n.allocate_ip(lb),
            Err(NetworkError::SubnetExhausted { capacity: 1, .. })
        ));
    }

    #[test]
    fn one_gateway_of_each_kind() {
        let mut n = Network::new(NetworkLimits::default());
        let v = n
            .create_vcn("v".into(), "vcn", vec![c("10.0.0.0/16")])
            .unwrap();
        n.create_gateway(v, "g".into(), "igw", GatewayKind::Internet)
            .unwrap();
        n.create_gateway(v, "g".into(), "nat", GatewayKind::Nat)
            .unwrap();
        assert!(
            n.create_gateway(v, "g".into(), "igw2", GatewayKind::Internet)
                .is_err()
        );
        assert!(
            n.create_route_table(
                v,
                "r".into(),
                "rt",
                vec![RouteRule {
                    destination: "0.0.0.0/0".into(),
                    target: "nope".into()
                }]
            )
            .is_err()
        );
        n.create_route_table(
            v,
            "r".into(),
            "rt",
            vec![RouteRule {
                destination: "0.0.0.0/0".into(),
                target: "nat".into(),
            }],
        )
        .unwrap();
    }
}
