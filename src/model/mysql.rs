//! MySQL HeatWave DB systems: standalone or highly available, their placement
//! over ADs and FDs, their endpoint IP, lifecycle and failover (docs/mysql-facts.md).
//!
//! A standalone DB system is one MySQL instance. A highly available one is three
//! instances: in a multi-AD region with a regional subnet, one per AD; otherwise
//! (1-AD region, or an AD-specific subnet) one per FD of one AD. The primary is
//! the read/write endpoint; its IP never changes, whichever instance is primary.
//!
//! Failover is a pure step in virtual time: [`Mysql::fail_domain`] marks the
//! instances of a failed AD or FD down, and [`Mysql::settle`] promotes a healthy
//! secondary once the configurable failover time has passed
//! ([`MysqlConfig::failover_time`], an UNCONFIRMED assumption: OCI documents
//! automatic promotion, not its duration). The model never reads a clock: the
//! caller passes `now` and schedules [`Mysql::next_due`]. It knows no HTTP/JSON.

use std::collections::BTreeMap;

use thiserror::Error;

use super::network::{Network, NetworkError, SubnetId, ip_string};
use super::topology::{FaultDomain, Topology};
use crate::kernel::{SimDuration, SimTime};

/// The classic MySQL protocol port a DB system listens on by default.
pub const DEFAULT_PORT: u16 = 3306;
/// The X protocol port a DB system listens on by default.
pub const DEFAULT_PORT_X: u16 = 33060;
/// Smallest data storage of a DB system in GB (docs/mysql-facts.md).
pub const MIN_DATA_STORAGE_GB: u32 = 50;
/// Largest data storage of a DB system in GB (128 TB, docs/mysql-facts.md).
pub const MAX_DATA_STORAGE_GB: u32 = 131_072;

/// One DB system shape as `ListShapes` returns it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MysqlShape {
    /// Shape name, e.g. `MySQL.4`.
    pub name: &'static str,
    /// CPU cores (`cpuCoreCount`).
    pub cpu_core_count: u32,
    /// Memory in GB (`memorySizeInGBs`).
    pub memory_gb: u32,
    /// False for shapes that can only run standalone DB systems.
    pub supports_high_availability: bool,
    /// True when a HeatWave cluster can use the shape too.
    pub supports_heatwave_cluster: bool,
}

const fn shape(name: &'static str, cores: u32, mem: u32, ha: bool, hw: bool) -> MysqlShape {
    MysqlShape {
        name,
        cpu_core_count: cores,
        memory_gb: mem,
        supports_high_availability: ha,
        supports_heatwave_cluster: hw,
    }
}

/// The shapes the twin offers (ECPU shapes of the HeatWave service guide;
/// docs/mysql-facts.md). `MySQL.Free` is the Always Free shape and runs
/// standalone only.
pub const SHAPES: &[MysqlShape] = &[
    shape("MySQL.Free", 1, 8, false, false),
    shape("MySQL.2", 2, 16, true, false),
    shape("MySQL.4", 4, 32, true, false),
    shape("MySQL.8", 8, 64, true, false),
    shape("MySQL.16", 16, 128, true, false),
    shape("MySQL.32", 32, 256, true, true),
    shape("MySQL.64", 64, 512, true, true),
    shape("MySQL.HeatWave.VM.Standard", 32, 512, false, true),
];

/// A version family and its versions, newest last (`ListVersions`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VersionFamily {
    /// e.g. `8.4 - LTS`.
    pub family: &'static str,
    /// Versions of the family, oldest first.
    pub versions: &'static [&'static str],
}

/// The versions offered (docs/mysql-facts.md; the exact patch list is UNCONFIRMED).
pub const VERSIONS: &[VersionFamily] = &[
    VersionFamily {
        family: "8.0 - Bug Fix",
        versions: &["8.0.41", "8.0.42", "8.0.43"],
    },
    VersionFamily {
        family: "8.4 - LTS",
        versions: &["8.4.4", "8.4.5", "8.4.6"],
    },
    VersionFamily {
        family: "9 - Innovation",
        versions: &["9.3.1", "9.4.0"],
    },
];

/// The version a DB system gets when the request names none: the newest LTS.
pub const DEFAULT_VERSION: &str = "8.4.6";

/// Modelling assumptions of the MySQL service, all overridable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MysqlConfig {
    /// Time from losing the primary to a secondary taking over the read/write
    /// endpoint. UNCONFIRMED: OCI documents automatic failover, not its
    /// duration; 60 s is the twin's default.
    pub failover_time: SimDuration,
    /// DB systems per region (service limit `mysql-total-count`; UNCONFIRMED default).
    pub db_systems_limit: usize,
}

impl Default for MysqlConfig {
    fn default() -> Self {
        MysqlConfig {
            failover_time: SimDuration::from_secs(60),
            db_systems_limit: 50,
        }
    }
}

/// Errors of the MySQL model; each names the field or object at fault.
#[derive(Debug, Error, PartialEq, Eq, Clone)]
pub enum MysqlError {
    /// The shape is not offered.
    #[error("shapeName `{0}` is not a MySQL shape (see ListShapes: MySQL.2, MySQL.4, ...)")]
    UnknownShape(String),
    /// HA on a shape that only runs standalone.
    #[error("shapeName `{0}` does not support high availability (isHighlyAvailable=true)")]
    ShapeNotHa(String),
    /// The version is not offered.
    #[error("mysqlVersion `{0}` is not an available MySQL version (see ListVersions)")]
    UnknownVersion(String),
    /// Ports must differ and be valid.
    #[error("port {port} and portX {port_x} must be different TCP ports between 1 and 65535")]
    BadPorts { port: u16, port_x: u16 },
    /// Storage outside the allowed range.
    #[error("dataStorageSizeInGBs {0} must be between 50 and 131072")]
    BadStorage(u32),
    /// The admin password breaks the password rules.
    #[error(
        "adminPassword must be 8 to 32 characters with at least one upper-case letter, one lower-case letter, one digit and one special character"
    )]
    WeakPassword,
    /// The admin user name breaks the rules.
    #[error(
        "adminUsername `{0}` must be 1 to 32 characters and not a reserved name (root, mysql.*, administrator, ...)"
    )]
    BadUsername(String),
    /// The requested AD does not match an AD-specific subnet.
    #[error(
        "availabilityDomain {requested} differs from the AD of subnet `{subnet}` ({subnet_ad})"
    )]
    SubnetAdMismatch {
        requested: String,
        subnet: String,
        subnet_ad: String,
    },
    /// A requested IP outside the subnet or taken.
    #[error("ipAddress {ip} is not a free address of subnet `{subnet}` ({cidr})")]
    IpUnavailable {
        ip: String,
        subnet: String,
        cidr: String,
    },
    /// The per-region limit.
    #[error("the region already has {0} MySQL DB systems (service limit)")]
    Limit(usize),
    /// The operation needs another lifecycle state.
    #[error("DB system {id} is {state}; this operation needs it {needed}")]
    WrongState {
        id: String,
        state: &'static str,
        needed: &'static str,
    },
    /// Delete protection is on.
    #[error("DB system {0} has delete protection enabled (deletionPolicy.isDeleteProtected)")]
    DeleteProtected(String),
    /// A network allocation failed.
    #[error(transparent)]
    Network(#[from] NetworkError),
}

/// `lifecycleState` of a DB system.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum DbLifecycle {
    /// Being provisioned.
    Creating,
    /// Running.
    Active,
    /// Stopped.
    Inactive,
    /// Being changed.
    Updating,
    /// Being deleted.
    Deleting,
    /// Gone.
    Deleted,
    /// Provisioning failed.
    Failed,
}

impl DbLifecycle {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            DbLifecycle::Creating => "CREATING",
            DbLifecycle::Active => "ACTIVE",
            DbLifecycle::Inactive => "INACTIVE",
            DbLifecycle::Updating => "UPDATING",
            DbLifecycle::Deleting => "DELETING",
            DbLifecycle::Deleted => "DELETED",
            DbLifecycle::Failed => "FAILED",
        }
    }
}

/// An AD or an FD that fails or recovers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Domain {
    /// A whole availability domain (1-based).
    Availability(u8),
    /// One fault domain of one AD.
    Fault(u8, FaultDomain),
}

impl Domain {
    /// True when an instance at (`ad`, `fd`) is inside this domain.
    pub fn covers(self, ad: u8, fd: FaultDomain) -> bool {
        match self {
            Domain::Availability(a) => a == ad,
            Domain::Fault(a, f) => a == ad && f == fd,
        }
    }
}

/// One MySQL instance of a DB system.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instance {
    /// 1-based AD number.
    pub availability_domain: u8,
    /// Fault domain.
    pub fault_domain: FaultDomain,
    /// Failed domains currently covering the instance.
    pub down_count: u32,
    /// Since when the instance has been healthy (creation or last recovery).
    pub healthy_since: SimTime,
}

impl Instance {
    /// True when no failed domain covers the instance.
    pub fn is_healthy(&self) -> bool {
        self.down_count == 0
    }
}

/// What a create request asks for, already parsed by the caller.
#[derive(Clone, Debug)]
pub struct CreateDbSystem {
    /// `displayName` (OCI generates one when absent; the caller does that).
    pub display_name: String,
    /// `compartmentId`.
    pub compartment_id: String,
    /// `shapeName`.
    pub shape_name: String,
    /// `mysqlVersion`; `None` takes [`DEFAULT_VERSION`].
    pub mysql_version: Option<String>,
    /// `subnetId`, resolved.
    pub subnet: SubnetId,
    /// `isHighlyAvailable`.
    pub is_highly_available: bool,
    /// `availabilityDomain`, resolved to its number; `None` lets the twin pick.
    pub availability_domain: Option<u8>,
    /// `faultDomain`; `None` lets the twin pick.
    pub fault_domain: Option<FaultDomain>,
    /// `ipAddress`; `None` takes the next free address.
    pub ip_address: Option<u32>,
    /// `port` (3306 by default).
    pub port: u16,
    /// `portX` (33060 by default).
    pub port_x: u16,
    /// `hostnameLabel`.
    pub hostname_label: Option<String>,
    /// `dataStorageSizeInGBs`.
    pub data_storage_gb: u32,
    /// `adminUsername`.
    pub admin_username: Option<String>,
    /// `adminPassword` (checked, never stored).
    pub admin_password: Option<String>,
    /// `deletionPolicy.isDeleteProtected`.
    pub delete_protected: bool,
}

/// A DB system.
#[derive(Clone, Debug)]
pub struct DbSystem {
    /// The OCID.
    pub id: String,
    /// `displayName`.
    pub display_name: String,
    /// `compartmentId`.
    pub compartment_id: String,
    /// The shape.
    pub shape: &'static MysqlShape,
    /// `mysqlVersion`.
    pub mysql_version: String,
    /// The subnet of the endpoint.
    pub subnet: SubnetId,
    /// `isHighlyAvailable`.
    pub is_highly_available: bool,
    /// The preferred primary placement (`availabilityDomain`, `faultDomain`).
    pub preferred: (u8, FaultDomain),
    /// The instances; `instances[primary]` serves the read/write endpoint.
    pub instances: Vec<Instance>,
    /// Index of the current primary in `instances`.
    pub primary: usize,
    /// When the primary was lost, while no secondary has taken over.
    pub primary_lost_at: Option<SimTime>,
    /// The read/write endpoint's address (kept across failovers).
    pub ip: u32,
    /// `port`.
    pub port: u16,
    /// `portX`.
    pub port_x: u16,
    /// `hostnameLabel`.
    pub hostname_label: Option<String>,
    /// `dataStorageSizeInGBs`.
    pub data_storage_gb: u32,
    /// `deletionPolicy.isDeleteProtected`.
    pub delete_protected: bool,
    /// `lifecycleState`.
    pub lifecycle: DbLifecycle,
    /// When it was created.
    pub time_created: SimTime,
    /// Failovers so far.
    pub failovers: u32,
}

impl DbSystem {
    /// The current primary instance.
    pub fn primary_instance(&self) -> &Instance {
        &self.instances[self.primary]
    }

    /// The current placement of the primary (`currentPlacement`).
    pub fn primary_domain(&self) -> (u8, FaultDomain) {
        let p = self.primary_instance();
        (p.availability_domain, p.fault_domain)
    }

    /// True when the read/write endpoint answers at `now`: the system is ACTIVE
    /// and its primary is healthy. During a pending failover it is not.
    pub fn is_available(&self, _now: SimTime) -> bool {
        self.lifecycle == DbLifecycle::Active && self.primary_instance().is_healthy()
    }

    /// The endpoint address as text.
    pub fn ip_string(&self) -> String {
        ip_string(self.ip)
    }

    /// The secondary that would take over, and when, if the primary is lost.
    fn failover_candidate(&self, failover_time: SimDuration) -> Option<(usize, SimTime)> {
        let lost = self.primary_lost_at?;
        if !self.is_highly_available {
            return None;
        }
        self.instances
            .iter()
            .enumerate()
            .filter(|(i, inst)| *i != self.primary && inst.is_healthy())
            .map(|(i, inst)| (i, lost.max(inst.healthy_since) + failover_time))
            .min_by_key(|(i, due)| (*due, *i))
    }
}

/// A failover that happened in [`Mysql::settle`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failover {
    /// The DB system's OCID.
    pub db_system: String,
    /// When the new primary took over.
    pub at: SimTime,
    /// The old primary's placement.
    pub from: (u8, FaultDomain),
    /// The new primary's placement.
    pub to: (u8, FaultDomain),
}

/// Index of a DB system in [`Mysql::systems`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct DbSystemId(pub u32);

/// The MySQL service of one region.
#[derive(Clone, Debug, Default)]
pub struct Mysql {
    /// Assumptions in force.
    pub cfg: MysqlConfig,
    /// DB systems by index, deleted ones included.
    pub systems: Vec<DbSystem>,
    by_ocid: BTreeMap<String, DbSystemId>,
    /// Domains down now, with how many outages cover each.
    down: BTreeMap<Domain, u32>,
}

/// Looks a shape up by name.
pub fn shape_named(name: &str) -> Result<&'static MysqlShape, MysqlError> {
    SHAPES
        .iter()
        .find(|s| s.name == name)
        .ok_or_else(|| MysqlError::UnknownShape(name.to_string()))
}

/// True when `v` is an offered version.
pub fn is_known_version(v: &str) -> bool {
    VERSIONS.iter().any(|f| f.versions.contains(&v))
}

/// Checks the admin password rules: 8–32 characters, with an upper-case and a
/// lower-case letter, a digit and a special character (docs/mysql-facts.md).
pub fn check_password(p: &str) -> Result<(), MysqlError> {
    let len_ok = (8..=32).contains(&p.chars().count());
    let has = |f: fn(&char) -> bool| p.chars().any(|c| f(&c));
    let ok = len_ok
        && has(char::is_ascii_uppercase)
        && has(char::is_ascii_lowercase)
        && has(char::is_ascii_digit)
        && has(|c| !c.is_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(MysqlError::WeakPassword)
    }
}

/// Checks the admin user name: 1–32 characters, not a reserved name.
pub fn check_username(u: &str) -> Result<(), MysqlError> {
    const RESERVED: &[&str] = &[
        "administrator",
        "ociadmin",
        "ocirpl",
        "mysql.sys",
        "mysql.session",
        "mysql.infoschema",
        "root",
    ];
    let lower = u.to_ascii_lowercase();
    if u.is_empty() || u.chars().count() > 32 || RESERVED.contains(&lower.as_str()) {
        return Err(MysqlError::BadUsername(u.to_string()));
    }
    Ok(())
}

/// Where the instances go: the primary first, at the preferred placement.
///
/// HA with a regional subnet in a multi-AD region: one instance per AD, the
/// secondaries in the other ADs in number order (FD: FAULT-DOMAIN-1, an
/// assumption). Otherwise HA: the three FDs of one AD, secondaries in FD order.
/// Standalone: the one preferred placement.
pub fn place_instances(
    topology: &Topology,
    subnet_ad: Option<u8>,
    ha: bool,
    preferred: (u8, FaultDomain),
) -> Vec<(u8, FaultDomain)> {
    let mut out = vec![preferred];
    if !ha {
        return out;
    }
    let (ad, fd) = preferred;
    if subnet_ad.is_none() && topology.ads.len() >= 3 {
        out.extend(
            topology
                .ads
                .iter()
                .map(|a| a.number)
                .filter(|n| *n != ad)
                .take(2)
                .map(|n| (n, FaultDomain(1))),
        );
    } else {
        out.extend(FaultDomain::all().filter(|f| *f != fd).map(|f| (ad, f)));
    }
    out
}

impl Mysql {
    /// An empty service with the given assumptions.
    pub fn new(cfg: MysqlConfig) -> Mysql {
        Mysql {
            cfg,
            ..Mysql::default()
        }
    }

    /// Looks a DB system up by OCID (deleted ones included).
    pub fn by_ocid(&self, id: &str) -> Option<DbSystemId> {
        self.by_ocid.get(id).copied()
    }

    /// The DB system at `id`.
    pub fn get(&self, id: DbSystemId) -> &DbSystem {
        &self.systems[id.0 as usize]
    }

    /// Validates a create request, places the instances, takes the endpoint IP
    /// and records the DB system in CREATING.
    pub fn create_db_system(
        &mut self,
        req: CreateDbSystem,
        ocid: String,
        network: &mut Network,
        topology: &Topology,
        now: SimTime,
    ) -> Result<DbSystemId, MysqlError> {
        let shape = self.validate(&req)?;
        let preferred = preferred_placement(&req, network, topology)?;
        let version = req
            .mysql_version
            .clone()
            .unwrap_or_else(|| DEFAULT_VERSION.to_string());
        let subnet_ad = network.subnet(req.subnet).availability_domain;
        let placements = place_instances(topology, subnet_ad, req.is_highly_available, preferred);
        let ip = take_ip(network, req.subnet, req.ip_address)?;
        let instances = placements
            .into_iter()
            .map(|(ad, fd)| Instance {
                availability_domain: ad,
                fault_domain: fd,
                down_count: self.down_count(ad, fd),
                healthy_since: now,
            })
            .collect();
        let id = DbSystemId(self.systems.len() as u32);
        self.by_ocid.insert(ocid.clone(), id);
        self.systems.push(DbSystem {
            id: ocid,
            display_name: req.display_name,
            compartment_id: req.compartment_id,
            shape,
            mysql_version: version,
            subnet: req.subnet,
            is_highly_available: req.is_highly_available,
            preferred,
            instances,
            primary: 0,
            primary_lost_at: None,
            ip,
            port: req.port,
            port_x: req.port_x,
            hostname_label: req.hostname_label,
            data_storage_gb: req.data_storage_gb,
            delete_protected: req.delete_protected,
            lifecycle: DbLifecycle::Creating,
            time_created: now,
            failovers: 0,
        });
        self.note_primary_health(id, now);
        Ok(id)
    }

    fn validate(&self, req: &CreateDbSystem) -> Result<&'static MysqlShape, MysqlError> {
        let live = self
            .systems
            .iter()
            .filter(|s| s.lifecycle != DbLifecycle::Deleted)
            .count();
        if live >= self.cfg.db_systems_limit {
            return Err(MysqlError::Limit(self.cfg.db_systems_limit));
        }
        let shape = shape_named(&req.shape_name)?;
        if req.is_highly_available && !shape.supports_high_availability {
            return Err(MysqlError::ShapeNotHa(req.shape_name.clone()));
        }
        if let Some(v) = req
            .mysql_version
            .as_deref()
            .filter(|v| !is_known_version(v))
        {
            return Err(MysqlError::UnknownVersion(v.to_string()));
        }
        if req.port == 0 || req.port_x == 0 || req.port == req.port_x {
            return Err(MysqlError::BadPorts {
                port: req.port,
                port_x: req.port_x,
            });
        }
        if !(MIN_DATA_STORAGE_GB..=MAX_DATA_STORAGE_GB).contains(&req.data_storage_gb) {
            return Err(MysqlError::BadStorage(req.data_storage_gb));
        }
        if let Some(u) = &req.admin_username {
            check_username(u)?;
        }
        if let Some(p) = &req.admin_password {
            check_password(p)?;
        }
        Ok(shape)
    }

    /// Failed domains covering (`ad`, `fd`) now.
    fn down_count(&self, ad: u8, fd: FaultDomain) -> u32 {
        self.down
            .iter()
            .filter(|(d, _)| d.covers(ad, fd))
            .map(|(_, n)| *n)
            .sum()
    }

    /// Provisioning finished: CREATING → ACTIVE.
    pub fn activate(&mut self, id: DbSystemId) -> Result<(), MysqlError> {
        self.transition(
            id,
            &[DbLifecycle::Creating, DbLifecycle::Updating],
            DbLifecycle::Active,
        )
    }

    /// Starts a delete: → DELETING (refused under delete protection).
    pub fn begin_delete(&mut self, id: DbSystemId) -> Result<(), MysqlError> {
        let s = &self.systems[id.0 as usize];
        if s.delete_protected {
            return Err(MysqlError::DeleteProtected(s.id.clone()));
        }
        self.transition(
            id,
            &[
                DbLifecycle::Active,
                DbLifecycle::Inactive,
                DbLifecycle::Failed,
            ],
            DbLifecycle::Deleting,
        )
    }

    /// Finishes a delete: DELETING → DELETED, releasing the endpoint IP.
    pub fn finish_delete(
        &mut self,
        id: DbSystemId,
        network: &mut Network,
    ) -> Result<(), MysqlError> {
        self.transition(id, &[DbLifecycle::Deleting], DbLifecycle::Deleted)?;
        let s = &self.systems[id.0 as usize];
        network.release_ip(s.subnet, s.ip);
        Ok(())
    }

    /// Stops a running system: ACTIVE → INACTIVE.
    pub fn stop(&mut self, id: DbSystemId) -> Result<(), MysqlError> {
        self.transition(id, &[DbLifecycle::Active], DbLifecycle::Inactive)
    }

    /// Starts a stopped system: INACTIVE → ACTIVE.
    pub fn start(&mut self, id: DbSystemId) -> Result<(), MysqlError> {
        self.transition(id, &[DbLifecycle::Inactive], DbLifecycle::Active)
    }

    fn transition(
        &mut self,
        id: DbSystemId,
        from: &[DbLifecycle],
        to: DbLifecycle,
    ) -> Result<(), MysqlError> {
        let s = &mut self.systems[id.0 as usize];
        if !from.contains(&s.lifecycle) {
            let needed = from.first().map(|l| l.as_str()).unwrap_or("?");
            return Err(MysqlError::WrongState {
                id: s.id.clone(),
                state: s.lifecycle.as_str(),
                needed,
            });
        }
        s.lifecycle = to;
        Ok(())
    }

    /// An AD or FD fails at `now`: its instances go down; a system whose primary
    /// is there loses its read/write endpoint until [`Mysql::settle`] promotes a
    /// secondary (HA) or the domain recovers (standalone).
    pub fn fail_domain(&mut self, domain: Domain, now: SimTime) {
        *self.down.entry(domain).or_default() += 1;
        for i in 0..self.systems.len() {
            for inst in &mut self.systems[i].instances {
                if domain.covers(inst.availability_domain, inst.fault_domain) {
                    inst.down_count += 1;
                }
            }
            self.note_primary_health(DbSystemId(i as u32), now);
        }
    }

    /// A failed AD or FD recovers at `now`. A recovered old primary rejoins as a
    /// secondary if a failover happened; it resumes as primary if none did.
    pub fn recover_domain(&mut self, domain: Domain, now: SimTime) {
        match self.down.get_mut(&domain) {
            Some(n) if *n > 1 => *n -= 1,
            Some(_) => {
                self.down.remove(&domain);
            }
            None => return,
        }
        for i in 0..self.systems.len() {
            for inst in &mut self.systems[i].instances {
                if domain.covers(inst.availability_domain, inst.fault_domain) {
                    assert!(
                        inst.down_count > 0,
                        "recovering an instance that is not down"
                    );
                    inst.down_count -= 1;
                    if inst.down_count == 0 {
                        inst.healthy_since = now;
                    }
                }
            }
            self.note_primary_health(DbSystemId(i as u32), now);
        }
    }

    /// Records when the primary was lost, or clears it when it is healthy again.
    fn note_primary_health(&mut self, id: DbSystemId, now: SimTime) {
        let s = &mut self.systems[id.0 as usize];
        if s.primary_instance().is_healthy() {
            s.primary_lost_at = None;
        } else if s.primary_lost_at.is_none() {
            s.primary_lost_at = Some(now);
        }
    }

    /// The next instant at which [`Mysql::settle`] would promote a secondary.
    pub fn next_due(&self) -> Option<SimTime> {
        self.systems
            .iter()
            .filter(|s| s.lifecycle != DbLifecycle::Deleted)
            .filter_map(|s| s.failover_candidate(self.cfg.failover_time))
            .map(|(_, due)| due)
            .min()
    }

    /// Applies every failover due at or before `now`, in DB system order.
    pub fn settle(&mut self, now: SimTime) -> Vec<Failover> {
        let mut done = Vec::new();
        let failover_time = self.cfg.failover_time;
        for s in &mut self.systems {
            if s.lifecycle == DbLifecycle::Deleted {
                continue;
            }
            let Some((next, due)) = s.failover_candidate(failover_time) else {
                continue;
            };
            if due > now {
                continue;
            }
            let from = s.primary_domain();
            s.primary = next;
            s.primary_lost_at = None;
            s.failovers += 1;
            done.push(Failover {
                db_system: s.id.clone(),
                at: due,
                from,
                to: s.primary_domain(),
            });
        }
        done
    }
}

/// The preferred primary placement: the requested AD (else the subnet's, else
/// AD-1) and FD (else FAULT-DOMAIN-1; OCI picks one, the twin takes the first).
fn preferred_placement(
    req: &CreateDbSystem,
    network: &Network,
    topology: &Topology,
) -> Result<(u8, FaultDomain), MysqlError> {
    let subnet = network.subnet(req.subnet);
    let ad = match (req.availability_domain, subnet.availability_domain) {
        (Some(r), Some(s)) if r != s => {
            let name = |n: u8| topology.ads[usize::from(n) - 1].name.clone();
            return Err(MysqlError::SubnetAdMismatch {
                requested: name(r),
                subnet: subnet.name.clone(),
                subnet_ad: name(s),
            });
        }
        (Some(r), _) => r,
        (None, Some(s)) => s,
        (None, None) => 1,
    };
    Ok((ad, req.fault_domain.unwrap_or(FaultDomain(1))))
}

/// Takes the requested address, or the next free one, from the subnet's pool.
fn take_ip(
    network: &mut Network,
    subnet: SubnetId,
    wanted: Option<u32>,
) -> Result<u32, MysqlError> {
    let Some(addr) = wanted else {
        return Ok(network.allocate_ip(subnet)?);
    };
    let s = &mut network.subnets[subnet.0 as usize];
    if s.pool.allocate_exact(addr) {
        Ok(addr)
    } else {
        Err(MysqlError::IpUnavailable {
            ip: ip_string(addr),
            subnet: s.name.clone(),
            cidr: s.cidr.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::cidr::Ipv4Cidr;
    use crate::model::network::{NetworkLimits, SubnetSpec};

    fn net(subnet_ad: Option<u8>) -> (Network, SubnetId) {
        let mut n = Network::new(NetworkLimits::default());
        let v = n
            .create_vcn(
                "v".into(),
                "vcn",
                vec!["10.0.0.0/16".parse::<Ipv4Cidr>().unwrap()],
            )
            .unwrap();
        let s = n
            .create_subnet(
                v,
                "s".into(),
                SubnetSpec {
                    name: "db".into(),
                    cidr: "10.0.3.0/24".parse().unwrap(),
                    availability_domain: subnet_ad,
                    prohibit_public_ip: true,
                    route_table: None,
                    security_lists: Vec::new(),
                },
            )
            .unwrap();
        (n, s)
    }

    fn req(subnet: SubnetId, ha: bool) -> CreateDbSystem {
        CreateDbSystem {
            display_name: "db".into(),
            compartment_id: "c".into(),
            shape_name: "MySQL.2".into(),
            mysql_version: None,
            subnet,
            is_highly_available: ha,
            availability_domain: None,
            fault_domain: None,
            ip_address: None,
            port: DEFAULT_PORT,
            port_x: DEFAULT_PORT_X,
            hostname_label: None,
            data_storage_gb: 50,
            admin_username: Some("admin".into()),
            admin_password: Some("Sup3r-secret".into()),
            delete_protected: false,
        }
    }

    fn t(s: u64) -> SimTime {
        SimTime(s * 1000)
    }

    fn create(
        region: &str,
        subnet_ad: Option<u8>,
        r: impl FnOnce(SubnetId) -> CreateDbSystem,
    ) -> (Mysql, Network, DbSystemId) {
        let topo = Topology::new(region, "Uocm").unwrap();
        let (mut n, s) = net(subnet_ad);
        let mut m = Mysql::new(MysqlConfig::default());
        let id = m
            .create_db_system(r(s), "ocid1.mysqldbsystem.x".into(), &mut n, &topo, t(0))
            .unwrap();
        m.activate(id).unwrap();
        (m, n, id)
    }

    fn placements(s: &DbSystem) -> Vec<(u8, u8)> {
        s.instances
            .iter()
            .map(|i| (i.availability_domain, i.fault_domain.0))
            .collect()
    }

    #[test]
    fn ha_spreads_over_ads_with_a_regional_subnet_in_a_3ad_region() {
        let (m, n, id) = create("us-ashburn-1", None, |s| CreateDbSystem {
            availability_domain: Some(2),
            ..req(s, true)
        });
        let s = m.get(id);
        assert_eq!(placements(s), [(2, 1), (1, 1), (3, 1)]);
        assert_eq!(s.ip_string(), "10.0.3.2");
        assert_eq!(n.subnet(s.subnet).pool.used(), 1);
        assert_eq!(s.mysql_version, DEFAULT_VERSION);
    }

    #[test]
    fn ha_spreads_over_fds_in_a_1ad_region_or_with_an_ad_subnet() {
        let (m, _, id) = create("ap-tokyo-1", None, |s| CreateDbSystem {
            fault_domain: Some(FaultDomain(2)),
            ..req(s, true)
        });
        assert_eq!(placements(m.get(id)), [(1, 2), (1, 1), (1, 3)]);
        let (m, _, id) = create("us-phoenix-1", Some(3), |s| req(s, true));
        assert_eq!(placements(m.get(id)), [(3, 1), (3, 2), (3, 3)]);
    }

    #[test]
    fn bad_requests_are_refused_with_the_field_named() {
        let topo = Topology::new("us-phoenix-1", "Uocm").unwrap();
        let (mut n, s) = net(Some(1));
        let mut m = Mysql::new(MysqlConfig::default());
        let mut go = |r: CreateDbSystem| m.create_db_system(r, "x".into(), &mut n, &topo, t(0));
        assert_eq!(
            go(CreateDbSystem {
                shape_name: "MySQL.Free".into(),
                ..req(s, true)
            }),
            Err(MysqlError::ShapeNotHa("MySQL.Free".into()))
        );
        assert!(matches!(
            go(CreateDbSystem {
                shape_name: "VM.Standard2.1".into(),
                ..req(s, false)
            }),
            Err(MysqlError::UnknownShape(_))
        ));
        assert!(matches!(
            go(CreateDbSystem {
                availability_domain: Some(2),
                ..req(s, false)
            }),
            Err(MysqlError::SubnetAdMismatch { .. })
        ));
        assert_eq!(
            go(CreateDbSystem {
                admin_password: Some("password".into()),
                ..req(s, false)
            }),
            Err(MysqlError::WeakPassword)
        );
        assert!(matches!(
            go(CreateDbSystem {
                port_x: 3306,
                ..req(s, false)
            }),
            Err(MysqlError::BadPorts { .. })
        ));
        assert!(matches!(
            go(CreateDbSystem {
                mysql_version: Some("5.7.44".into()),
                ..req(s, false)
            }),
            Err(MysqlError::UnknownVersion(_))
        ));
        assert!(matches!(
            go(CreateDbSystem {
                ip_address: Some(u32::from(std::net::Ipv4Addr::new(10, 0, 4, 9))),
                ..req(s, false)
            }),
            Err(MysqlError::IpUnavailable { .. })
        ));
        // Nothing was allocated by the refused requests.
        assert_eq!(n.subnet(s).pool.used(), 0);
    }

    #[test]
    fn ha_fails_over_after_the_failover_time_and_keeps_its_ip() {
        let (mut m, _, id) = create("ap-tokyo-1", None, |s| req(s, true));
        assert!(m.get(id).is_available(t(1)));
        m.fail_domain(Domain::Fault(1, FaultDomain(1)), t(10));
        assert!(!m.get(id).is_available(t(10)));
        assert_eq!(m.next_due(), Some(t(70)));
        assert!(m.settle(t(69)).is_empty());
        assert!(!m.get(id).is_available(t(69)));
        let f = m.settle(t(70));
        assert_eq!(f.len(), 1);
        assert_eq!(
            (f[0].from, f[0].to),
            ((1, FaultDomain(1)), (1, FaultDomain(2)))
        );
        let s = m.get(id);
        assert!(s.is_available(t(70)));
        assert_eq!(s.primary_domain(), (1, FaultDomain(2)));
        assert_eq!(s.ip_string(), "10.0.3.2");
        // The old primary recovers as a secondary: the primary stays put.
        m.recover_domain(Domain::Fault(1, FaultDomain(1)), t(100));
        assert_eq!(m.get(id).primary_domain(), (1, FaultDomain(2)));
        assert_eq!(m.next_due(), None);
    }

    #[test]
    fn a_primary_back_before_the_failover_time_resumes() {
        let (mut m, _, id) = create("ap-tokyo-1", None, |s| req(s, true));
        m.fail_domain(Domain::Availability(1), t(0));
        // Every instance is in AD-1: no candidate at all.
        assert_eq!(m.next_due(), None);
        m.recover_domain(Domain::Availability(1), t(30));
        assert!(m.get(id).is_available(t(30)));
        assert_eq!(m.get(id).failovers, 0);
    }

    #[test]
    fn a_standalone_system_waits_for_recovery() {
        let (mut m, _, id) = create("us-ashburn-1", None, |s| CreateDbSystem {
            availability_domain: Some(3),
            ..req(s, false)
        });
        assert_eq!(placements(m.get(id)), [(3, 1)]);
        m.fail_domain(Domain::Availability(3), t(5));
        assert_eq!(m.next_due(), None);
        assert!(m.settle(t(1000)).is_empty());
        assert!(!m.get(id).is_available(t(1000)));
        m.recover_domain(Domain::Availability(3), t(1200));
        assert!(m.get(id).is_available(t(1200)));
    }

    #[test]
    fn an_ad_outage_in_a_3ad_region_promotes_another_ad() {
        let (mut m, _, id) = create("us-ashburn-1", None, |s| req(s, true));
        m.fail_domain(Domain::Availability(1), t(0));
        m.fail_domain(Domain::Availability(2), t(20));
        // AD-2's instance went down before its turn: AD-3 takes over at 60 s.
        let f = m.settle(t(60));
        assert_eq!(f[0].to, (3, FaultDomain(1)));
        assert!(m.get(id).is_available(t(60)));
    }

    #[test]
    fn lifecycle_and_delete_release_the_ip() {
        let (mut m, mut n, id) = create("ap-tokyo-1", None, |s| CreateDbSystem {
            delete_protected: true,
            ..req(s, false)
        });
        assert_eq!(
            m.begin_delete(id),
            Err(MysqlError::DeleteProtected("ocid1.mysqldbsystem.x".into()))
        );
        m.systems[0].delete_protected = false;
        m.stop(id).unwrap();
        assert!(!m.get(id).is_available(t(1)));
        m.start(id).unwrap();
        m.begin_delete(id).unwrap();
        assert!(matches!(
            m.stop(id),
            Err(MysqlError::WrongState {
                state: "DELETING",
                ..
            })
        ));
        let s = m.get(id).subnet;
        assert_eq!(n.subnet(s).pool.used(), 1);
        m.finish_delete(id, &mut n).unwrap();
        assert_eq!(n.subnet(s).pool.used(), 0);
        assert_eq!(m.get(id).lifecycle, DbLifecycle::Deleted);
    }

    #[test]
    fn instances_created_inside_a_failed_domain_start_down() {
        let topo = Topology::new("ap-tokyo-1", "Uocm").unwrap();
        let (mut n, s) = net(None);
        let mut m = Mysql::new(MysqlConfig::default());
        m.fail_domain(Domain::Fault(1, FaultDomain(1)), t(0));
        let id = m
            .create_db_system(req(s, true), "x".into(), &mut n, &topo, t(5))
            .unwrap();
        m.activate(id).unwrap();
        assert!(!m.get(id).is_available(t(5)));
        assert_eq!(m.next_due(), Some(t(65)));
    }
}
