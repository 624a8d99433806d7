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
    /// An object cannot be deleted while something still uses it.
    #[error("{kind} {name} is still in use: {by}")]
    InUse {
        /// Its kind.
        kind: &'static str,
        /// Its name.
        name: String,
        /// What uses it, in words.
        by: String,
    },
    /// A VCN's default route table, security list or DHCP options go only with the VCN.
    #[error("{kind} {name} is the default of its VCN and is deleted only with the VCN")]
    DefaultObject {
        /// Its kind.
        kind: &'static str,
        /// Its name.
        name: String,
    },
    /// A requested address cannot be taken.
    #[error("address {addr} cannot be assigned in subnet {subnet} ({cidr}): {why}")]
    AddressUnavailable {
        /// The address.
        addr: String,
        /// The subnet.
        subnet: String,
        /// Its CIDR.
        cidr: Ipv4Cidr,
        /// Why (outside, reserved, in use).
        why: &'static str,
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
    /// True once deleted (the index stays, so `VcnId`s remain valid).
    pub deleted: bool,
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
    /// True once deleted (the index stays, so `SubnetId`s remain valid).
    pub deleted: bool,
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
    /// VCN and subnet indexes by OCID (the two never share an OCID), deleted
    /// ones included (the `*_by_ocid` lookups skip those).
    by_ocid: BTreeMap<String, u32>,
    /// DHCP options.
    pub dhcp_options: Vec<DhcpOptions>,
    /// Each VCN's default route table, security list and DHCP options (names).
    defaults: BTreeMap<VcnId, VcnDefaults>,
}

/// A VCN's DHCP options (the DNS settings its subnets hand out).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DhcpOptions {
    /// The OCID.
    pub id: String,
    /// Name (the OCID for API-made objects).
    pub name: String,
    /// The VCN it belongs to.
    pub vcn: VcnId,
    /// `VcnLocalPlusInternet` or `CustomDnsServer`.
    pub server_type: String,
    /// Custom DNS servers (for `CustomDnsServer`).
    pub custom_dns_servers: Vec<String>,
    /// Search domain, e.g. `myvcn.oraclevcn.com`.
    pub search_domain: Option<String>,
}

/// `serverType` values of a `DomainNameServer` option.
pub const DNS_SERVER_TYPES: [&str; 3] = ["VcnLocal", "VcnLocalPlusInternet", "CustomDnsServer"];

/// Custom DNS servers a `CustomDnsServer` option takes at most (OCI docs,
/// DhcpDnsOption: "at least one DNS server of your choice (three maximum)").
pub const MAX_CUSTOM_DNS_SERVERS: usize = 3;

/// Why a set of DHCP options is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DhcpError {
    /// Not one of [`DNS_SERVER_TYPES`].
    #[error("serverType `{0}` is not one of VcnLocal, VcnLocalPlusInternet, CustomDnsServer")]
    ServerType(String),
    /// `CustomDnsServer` with no server or more than three.
    #[error("serverType CustomDnsServer needs 1 to 3 customDnsServers, got {0}")]
    DnsServerCount(usize),
    /// A custom DNS server that is not an IPv4 address.
    #[error("`{0}` is not an IPv4 address")]
    DnsServerAddress(String),
    /// A search domain that is not an RFC 952/1123 host name.
    #[error(
        "`{0}` is not a search domain name (RFC 952 and RFC 1123: labels of letters, digits and hyphens, at most 63 characters each, 253 in all)"
    )]
    SearchDomain(String),
}

impl DhcpOptions {
    /// Checks the DNS option and the search domain against OCI's rules.
    pub fn validate(&self) -> Result<(), DhcpError> {
        if !DNS_SERVER_TYPES.contains(&self.server_type.as_str()) {
            return Err(DhcpError::ServerType(self.server_type.clone()));
        }
        let n = self.custom_dns_servers.len();
        if self.server_type == "CustomDnsServer" && !(1..=MAX_CUSTOM_DNS_SERVERS).contains(&n) {
            return Err(DhcpError::DnsServerCount(n));
        }
        if let Some(bad) = self
            .custom_dns_servers
            .iter()
            .find(|a| a.parse::<std::net::Ipv4Addr>().is_err())
        {
            return Err(DhcpError::DnsServerAddress(bad.clone()));
        }
        match &self.search_domain {
            Some(d) if !is_host_name(d) => Err(DhcpError::SearchDomain(d.clone())),
            _ => Ok(()),
        }
    }
}

/// An RFC 952/1123 host name: dot-separated labels of letters, digits and
/// hyphens, none starting or ending with a hyphen, 1–63 characters each.
fn is_host_name(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

/// The names of the objects OCI creates with every VCN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VcnDefaults {
    /// Default route table.
    pub route_table: String,
    /// Default security list.
    pub security_list: String,
    /// Default DHCP options.
    pub dhcp_options: String,
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
        if self.vcns.iter().filter(|v| !v.deleted).count() >= self.limits.vcns_per_region {
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
            deleted: false,
        });
        self.vcn_by_name.insert(name.to_string(), vid);
        self.by_ocid
            .insert(self.vcns[vid.0 as usize].id.clone(), vid.0);
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
            deleted: false,
        });
        self.by_ocid
            .insert(self.subnets[sid.0 as usize].id.clone(), sid.0);
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

    /// Allocates exactly `addr` in a subnet: it must be inside, not one of the
    /// three reserved addresses, and free.
    pub fn allocate_exact_ip(&mut self, subnet: SubnetId, addr: u32) -> Result<(), NetworkError> {
        let s = &mut self.subnets[subnet.0 as usize];
        let why = if !s.cidr.contains(addr) {
            Some("it is outside the subnet")
        } else if s.pool.is_reserved(addr) {
            Some("the first two and the last address of a subnet are reserved")
        } else if !s.pool.allocate_exact(addr) {
            Some("it is already in use")
        } else {
            None
        };
        match why {
            None => Ok(()),
            Some(why) => Err(NetworkError::AddressUnavailable {
                addr: ip_string(addr),
                subnet: s.name.clone(),
                cidr: s.cidr,
                why,
            }),
        }
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

/// Deletes, lookups by OCID and updates, for the API (which names objects by OCID).
impl Network {
    /// The live VCN with this OCID.
    pub fn vcn_by_ocid(&self, ocid: &str) -> Option<VcnId> {
        let i = *self.by_ocid.get(ocid)?;
        let v = self.vcns.get(i as usize)?;
        (v.id == ocid && !v.deleted).then_some(VcnId(i))
    }

    /// The live subnet with this OCID.
    pub fn subnet_by_ocid(&self, ocid: &str) -> Option<SubnetId> {
        let i = *self.by_ocid.get(ocid)?;
        let s = self.subnets.get(i as usize)?;
        (s.id == ocid && !s.deleted).then_some(SubnetId(i))
    }

    /// The subnet with this OCID, deleted or not (a TERMINATED subnet is
    /// still shown by the API for a while).
    pub fn subnet_record(&self, ocid: &str) -> Option<&Subnet> {
        let i = *self.by_ocid.get(ocid)?;
        self.subnets.get(i as usize).filter(|s| s.id == ocid)
    }

    /// The VCN with this OCID, deleted or not.
    pub fn vcn_record(&self, ocid: &str) -> Option<&Vcn> {
        let i = *self.by_ocid.get(ocid)?;
        self.vcns.get(i as usize).filter(|v| v.id == ocid)
    }

    /// The VCN with index `id`.
    pub fn vcn(&self, id: VcnId) -> &Vcn {
        &self.vcns[id.0 as usize]
    }

    /// The live subnets of a VCN.
    pub fn live_subnets(&self, vcn: VcnId) -> impl Iterator<Item = &Subnet> {
        self.vcns[vcn.0 as usize]
            .subnets
            .iter()
            .map(|s| &self.subnets[s.0 as usize])
            .filter(|s| !s.deleted)
    }

    /// Records a VCN's default route table, security list and DHCP options
    /// (created by the caller with the VCN).
    pub fn set_defaults(&mut self, vcn: VcnId, defaults: VcnDefaults) {
        self.defaults.insert(vcn, defaults);
    }

    /// A VCN's defaults, if recorded.
    pub fn defaults(&self, vcn: VcnId) -> Option<&VcnDefaults> {
        self.defaults.get(&vcn)
    }

    fn is_default(&self, vcn: VcnId, name: &str) -> bool {
        self.defaults.get(&vcn).is_some_and(|d| {
            d.route_table == name || d.security_list == name || d.dhcp_options == name
        })
    }

    /// Adds DHCP options.
    pub fn create_dhcp_options(&mut self, options: DhcpOptions) {
        self.dhcp_options.push(options);
    }

    /// Deletes an empty VCN with its defaults. Anything else still in it
    /// (subnets, gateways, other route tables, security lists, NSGs, DHCP
    /// options) makes it `InUse`.
    pub fn delete_vcn(&mut self, vcn: VcnId) -> Result<(), NetworkError> {
        let mut left = Vec::new();
        let subnets = self.live_subnets(vcn).count();
        if subnets > 0 {
            left.push(format!("{subnets} subnet(s)"));
        }
        let not_default = |name: &str| !self.is_default(vcn, name);
        let count = [
            (
                "gateway(s)",
                self.gateways.iter().filter(|g| g.vcn == vcn).count(),
            ),
            (
                "route table(s)",
                self.route_tables
                    .iter()
                    .filter(|r| r.vcn == vcn && not_default(&r.name))
                    .count(),
            ),
            (
                "security list(s)",
                self.security_lists
                    .iter()
                    .filter(|r| r.vcn == vcn && not_default(&r.name))
                    .count(),
            ),
            (
                "network security group(s)",
                self.nsgs.iter().filter(|r| r.vcn == vcn).count(),
            ),
            (
                "DHCP options",
                self.dhcp_options
                    .iter()
                    .filter(|r| r.vcn == vcn && not_default(&r.name))
                    .count(),
            ),
        ];
        for (what, n) in count {
            if n > 0 {
                left.push(format!("{n} {what}"));
            }
        }
        let v = &self.vcns[vcn.0 as usize];
        if !left.is_empty() {
            return Err(NetworkError::InUse {
                kind: "VCN",
                name: v.name.clone(),
                by: format!("it still contains {}", left.join(", ")),
            });
        }
        let name = v.name.clone();
        self.route_tables.retain(|r| r.vcn != vcn);
        self.security_lists.retain(|r| r.vcn != vcn);
        self.dhcp_options.retain(|r| r.vcn != vcn);
        self.defaults.remove(&vcn);
        self.vcns[vcn.0 as usize].deleted = true;
        self.vcn_by_name.remove(&name);
        Ok(())
    }

    /// Deletes a subnet whose addresses are all free.
    pub fn delete_subnet(&mut self, subnet: SubnetId) -> Result<(), NetworkError> {
        let s = &self.subnets[subnet.0 as usize];
        let used = s.pool.capacity() - s.pool.free();
        if used > 0 {
            return Err(NetworkError::InUse {
                kind: "subnet",
                name: s.name.clone(),
                by: format!("{used} address(es) are still allocated in it"),
            });
        }
        let (name, vcn) = (s.name.clone(), s.vcn);
        self.subnets[subnet.0 as usize].deleted = true;
        self.vcns[vcn.0 as usize].subnets.retain(|x| *x != subnet);
        if self.subnet_by_name.get(&name) == Some(&subnet) {
            self.subnet_by_name.remove(&name);
        }
        Ok(())
    }

    /// Deletes a gateway no route rule targets.
    pub fn delete_gateway(&mut self, ocid: &str) -> Result<(), NetworkError> {
        let i = self.gateway_index(ocid)?;
        let g = &self.gateways[i];
        if let Some(rt) = self
            .route_tables
            .iter()
            .find(|r| r.vcn == g.vcn && r.rules.iter().any(|x| x.target == g.name))
        {
            return Err(NetworkError::InUse {
                kind: g.kind.label(),
                name: g.name.clone(),
                by: format!("route table {} has a rule that targets it", rt.name),
            });
        }
        self.gateways.remove(i);
        Ok(())
    }

    /// Deletes a route table no subnet uses (never a VCN's default).
    pub fn delete_route_table(&mut self, ocid: &str) -> Result<(), NetworkError> {
        let i = self.find(&self.route_tables, ocid, "route table", |r| &r.id)?;
        let (name, vcn) = (self.route_tables[i].name.clone(), self.route_tables[i].vcn);
        self.deletable(vcn, "route table", &name, |s| {
            s.route_table.as_deref() == Some(name.as_str())
        })?;
        self.route_tables.remove(i);
        Ok(())
    }

    /// Deletes a security list no subnet uses (never a VCN's default).
    pub fn delete_security_list(&mut self, ocid: &str) -> Result<(), NetworkError> {
        let i = self.find(&self.security_lists, ocid, "security list", |r| &r.id)?;
        let (name, vcn) = (
            self.security_lists[i].name.clone(),
            self.security_lists[i].vcn,
        );
        self.deletable(vcn, "security list", &name, |s| {
            s.security_lists.contains(&name)
        })?;
        self.security_lists.remove(i);
        Ok(())
    }

    /// Deletes DHCP options no subnet uses (never a VCN's default).
    pub fn delete_dhcp_options(
        &mut self,
        ocid: &str,
        used_by: Option<String>,
    ) -> Result<(), NetworkError> {
        let i = self.find(&self.dhcp_options, ocid, "DHCP options", |r| &r.id)?;
        let (name, vcn) = (self.dhcp_options[i].name.clone(), self.dhcp_options[i].vcn);
        if self.is_default(vcn, &name) {
            return Err(NetworkError::DefaultObject {
                kind: "DHCP options",
                name,
            });
        }
        if let Some(by) = used_by {
            return Err(NetworkError::InUse {
                kind: "DHCP options",
                name,
                by,
            });
        }
        self.dhcp_options.remove(i);
        Ok(())
    }

    /// Replaces the settings of existing DHCP options (same OCID and VCN).
    pub fn update_dhcp_options(&mut self, options: DhcpOptions) -> Result<(), NetworkError> {
        let i = self.find(&self.dhcp_options, &options.id, "DHCP options", |r| &r.id)?;
        assert_eq!(
            self.dhcp_options[i].vcn, options.vcn,
            "DHCP options never move between VCNs"
        );
        self.dhcp_options[i] = options;
        Ok(())
    }

    /// Deletes a network security group that nothing is in. What is in it
    /// (VNICs, which the network model does not keep) is the caller's to
    /// find and pass, in words, as `used_by`; any makes it `InUse`.
    pub fn delete_nsg(&mut self, ocid: &str, used_by: Option<String>) -> Result<(), NetworkError> {
        let i = self.find(&self.nsgs, ocid, "network security group", |r| &r.id)?;
        if let Some(by) = used_by {
            return Err(NetworkError::InUse {
                kind: "network security group",
                name: self.nsgs[i].name.clone(),
                by,
            });
        }
        self.nsgs.remove(i);
        Ok(())
    }

    /// Replaces a route table's rules; every target must be a gateway of its VCN.
    pub fn set_route_rules(
        &mut self,
        ocid: &str,
        rules: Vec<RouteRule>,
    ) -> Result<(), NetworkError> {
        let i = self.find(&self.route_tables, ocid, "route table", |r| &r.id)?;
        let vcn = self.route_tables[i].vcn;
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
        self.route_tables[i].rules = rules;
        Ok(())
    }

    /// Replaces a security list's rules.
    pub fn set_security_list_rules(
        &mut self,
        ocid: &str,
        rules: Vec<SecurityRule>,
    ) -> Result<(), NetworkError> {
        let i = self.find(&self.security_lists, ocid, "security list", |r| &r.id)?;
        self.security_lists[i].rules = rules;
        Ok(())
    }

    /// Replaces an NSG's rules.
    pub fn set_nsg_rules(
        &mut self,
        ocid: &str,
        rules: Vec<SecurityRule>,
    ) -> Result<(), NetworkError> {
        let i = self.find(&self.nsgs, ocid, "network security group", |r| &r.id)?;
        self.nsgs[i].rules = rules;
        Ok(())
    }

    /// The gateway with this OCID.
    pub fn gateway_by_ocid(&self, ocid: &str) -> Option<&Gateway> {
        self.gateways.iter().find(|g| g.id == ocid)
    }

    /// The route table with this OCID.
    pub fn route_table_by_ocid(&self, ocid: &str) -> Option<&RouteTable> {
        self.route_tables.iter().find(|g| g.id == ocid)
    }

    /// The security list with this OCID.
    pub fn security_list_by_ocid(&self, ocid: &str) -> Option<&SecurityList> {
        self.security_lists.iter().find(|g| g.id == ocid)
    }

    /// The NSG with this OCID.
    pub fn nsg_by_ocid(&self, ocid: &str) -> Option<&Nsg> {
        self.nsgs.iter().find(|g| g.id == ocid)
    }

    /// The DHCP options with this OCID.
    pub fn dhcp_options_by_ocid(&self, ocid: &str) -> Option<&DhcpOptions> {
        self.dhcp_options.iter().find(|g| g.id == ocid)
    }

    /// Points a subnet at another route table, security lists or DHCP options.
    pub fn update_subnet(
        &mut self,
        subnet: SubnetId,
        route_table: Option<String>,
        security_lists: Option<Vec<String>>,
    ) -> Result<(), NetworkError> {
        let s = &self.subnets[subnet.0 as usize];
        if let Some(sl) = &security_lists
            && sl.len() > self.limits.security_lists_per_subnet
        {
            return Err(NetworkError::TooManySecurityLists {
                subnet: s.name.clone(),
                count: sl.len(),
                limit: self.limits.security_lists_per_subnet,
            });
        }
        let s = &mut self.subnets[subnet.0 as usize];
        if let Some(rt) = route_table {
            s.route_table = Some(rt);
        }
        if let Some(sl) = security_lists {
            s.security_lists = sl;
        }
        Ok(())
    }

    fn gateway_index(&self, ocid: &str) -> Result<usize, NetworkError> {
        self.find(&self.gateways, ocid, "gateway", |g| &g.id)
    }

    fn find<T>(
        &self,
        items: &[T],
        ocid: &str,
        kind: &'static str,
        id: impl Fn(&T) -> &String,
    ) -> Result<usize, NetworkError> {
        items
            .iter()
            .position(|x| id(x) == ocid)
            .ok_or_else(|| NetworkError::NotFound {
                kind,
                name: ocid.to_string(),
            })
    }

    /// Refuses to delete a VCN default or an object a live subnet uses.
    fn deletable(
        &self,
        vcn: VcnId,
        kind: &'static str,
        name: &str,
        uses: impl Fn(&Subnet) -> bool,
    ) -> Result<(), NetworkError> {
        if self.is_default(vcn, name) {
            return Err(NetworkError::DefaultObject {
                kind,
                name: name.to_string(),
            });
        }
        if let Some(s) = self.live_subnets(vcn).find(|s| uses(s)) {
            return Err(NetworkError::InUse {
                kind,
                name: name.to_string(),
                by: format!("subnet {} uses it", s.name),
            });
        }
        Ok(())
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

    #[test]
    fn deletes_respect_dependencies_and_free_names_and_cidrs() {
        let mut n = Network::new(NetworkLimits {
            vcns_per_region: 1,
            ..NetworkLimits::default()
        });
        let v = n
            .create_vcn("ocid.v".into(), "ocid.v", vec![c("10.0.0.0/16")])
            .unwrap();
        n.create_route_table(v, "ocid.rt".into(), "ocid.rt", vec![])
            .unwrap();
        n.set_defaults(
            v,
            VcnDefaults {
                route_table: "ocid.rt".into(),
                security_list: "ocid.sl".into(),
                dhcp_options: "ocid.dhcp".into(),
            },
        );
        let mut spec = subnet("ocid.s", "10.0.0.0/24");
        spec.route_table = Some("ocid.rt".into());
        let s = n.create_subnet(v, "ocid.s".into(), spec).unwrap();
        assert_eq!(n.subnet_by_ocid("ocid.s"), Some(s));
        assert!(matches!(
            n.delete_route_table("ocid.rt"),
            Err(NetworkError::DefaultObject { .. })
        ));
        assert!(matches!(n.delete_vcn(v), Err(NetworkError::InUse { .. })));
        let ip = n.allocate_ip(s).unwrap();
        assert!(matches!(
            n.delete_subnet(s),
            Err(NetworkError::InUse { .. })
        ));
        n.release_ip(s, ip);
        n.delete_subnet(s).unwrap();
        assert_eq!(n.subnet_by_ocid("ocid.s"), None);
        // The CIDR is free again.
        n.create_subnet(v, "ocid.s2".into(), subnet("ocid.s2", "10.0.0.0/24"))
            .unwrap();
        n.delete_subnet(n.subnet_by_ocid("ocid.s2").unwrap())
            .unwrap();
        n.delete_vcn(v).unwrap();
        assert!(n.route_tables.is_empty());
        assert_eq!(n.vcn_by_ocid("ocid.v"), None);
        // The deleted VCN no longer counts against the limit of one.
        n.create_vcn("ocid.w".into(), "ocid.w", vec![c("10.0.0.0/16")])
            .unwrap();
    }
}
