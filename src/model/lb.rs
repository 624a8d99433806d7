//! Load balancers: flexible or fixed shape, backend sets with their policy and
//! health checker, backends, listeners, and the health roll-up
//! (domain.md §7, oci-api.md §5.7, docs/lb-facts.md).
//!
//! Sub-resources are keyed by name, as in OCI: a backend set or listener by the
//! name given at creation, a backend by `"<ip>:<port>"`. Whether a backend
//! answers its health checks is not decided here: the caller passes what it
//! knows of the address (a Ready pod, a dead node, nothing), and this module
//! turns that into OK/CRITICAL/UNKNOWN with the checker's interval and retries.
//! Nothing here knows HTTP or JSON, or reads a clock.

use std::collections::BTreeMap;

use thiserror::Error;

use super::network::{Network, NetworkError, SubnetId, ip_string};
use crate::kernel::{SimDuration, SimTime};

/// Smallest flexible bandwidth in Mbps (domain.md §7).
pub const MIN_BANDWIDTH_MBPS: u32 = 10;
/// Largest flexible bandwidth in Mbps (domain.md §7).
pub const MAX_BANDWIDTH_MBPS: u32 = 8000;
/// The flexible shape's name.
pub const FLEXIBLE: &str = "flexible";
/// Shape names `ListShapes` returns: the flexible shape and the legacy fixed ones.
pub const SHAPE_NAMES: &[&str] = &[FLEXIBLE, "10Mbps-Micro", "100Mbps", "400Mbps", "8000Mbps"];

/// Health checker defaults (domain.md §7): 10 s interval, 3 s timeout, 3 retries.
pub const DEFAULT_INTERVAL: SimDuration = SimDuration::from_secs(10);
/// Default health check timeout.
pub const DEFAULT_TIMEOUT: SimDuration = SimDuration::from_secs(3);
/// Default retries before a backend changes health.
pub const DEFAULT_RETRIES: u32 = 3;

/// Load balancer service limits (domain.md §7, Universal Credits defaults).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LbLimits {
    /// Load balancers per region (50).
    pub load_balancers: usize,
    /// Total flexible maximum bandwidth over all LBs, in Mbps (5000).
    pub total_bandwidth_mbps: u32,
    /// Listeners per load balancer (16).
    pub listeners_per_lb: usize,
    /// Backend servers per load balancer (512).
    pub backends_per_lb: usize,
}

impl Default for LbLimits {
    fn default() -> Self {
        LbLimits {
            load_balancers: 50,
            total_bandwidth_mbps: 5000,
            listeners_per_lb: 16,
            backends_per_lb: 512,
        }
    }
}

/// Errors of the load balancer model; each names the field or object at fault.
#[derive(Debug, Error, PartialEq, Eq, Clone)]
pub enum LbError {
    /// Unknown shape name.
    #[error(
        "shapeName `{0}` is not a load balancer shape (flexible, 10Mbps-Micro, 100Mbps, 400Mbps, 8000Mbps)"
    )]
    UnknownShape(String),
    /// A flexible shape without its details.
    #[error("shapeDetails is required with the flexible shape")]
    MissingShapeDetails,
    /// Bandwidth out of range or min above max.
    #[error(
        "shapeDetails: minimumBandwidthInMbps {min} and maximumBandwidthInMbps {max} must be between 10 and 8000 with minimum <= maximum"
    )]
    BadBandwidth { min: u32, max: u32 },
    /// Subnet list shape.
    #[error("subnetIds must name one regional subnet or two AD-specific subnets in different ADs")]
    BadSubnets,
    /// A policy name.
    #[error("policy `{0}` is not ROUND_ROBIN, LEAST_CONNECTIONS or IP_HASH")]
    UnknownPolicy(String),
    /// A health checker field.
    #[error("healthChecker.{field}: {message}")]
    BadHealthChecker {
        field: &'static str,
        message: String,
    },
    /// A listener or backend field.
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// A sub-resource name used twice.
    #[error("{kind} `{name}` already exists in load balancer {lb}")]
    Duplicate {
        kind: &'static str,
        name: String,
        lb: String,
    },
    /// A sub-resource that does not exist.
    #[error("{kind} `{name}` does not exist in load balancer {lb}")]
    NotFound {
        kind: &'static str,
        name: String,
        lb: String,
    },
    /// A backend set still used by a listener.
    #[error("backend set `{set}` is the default backend set of listener `{listener}`")]
    InUse { set: String, listener: String },
    /// A service limit.
    #[error("{0} (service limit)")]
    Limit(String),
    /// Wrong lifecycle state.
    #[error("load balancer {id} is {state}; the operation needs it ACTIVE")]
    NotActive { id: String, state: &'static str },
    /// Delete protection.
    #[error("load balancer {0} has delete protection enabled")]
    DeleteProtected(String),
    /// A network allocation failed.
    #[error(transparent)]
    Network(#[from] NetworkError),
}

/// A load balancer shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Shape {
    /// `flexible` with its bandwidth bounds.
    Flexible {
        /// `minimumBandwidthInMbps`.
        min_mbps: u32,
        /// `maximumBandwidthInMbps`.
        max_mbps: u32,
    },
    /// A legacy fixed shape such as `100Mbps`.
    Fixed(&'static str),
}

impl Shape {
    /// Parses `shapeName` and `shapeDetails` (min, max).
    pub fn new(name: &str, details: Option<(u32, u32)>) -> Result<Shape, LbError> {
        if name == FLEXIBLE {
            let (min, max) = details.ok_or(LbError::MissingShapeDetails)?;
            let range = MIN_BANDWIDTH_MBPS..=MAX_BANDWIDTH_MBPS;
            if !range.contains(&min) || !range.contains(&max) || min > max {
                return Err(LbError::BadBandwidth { min, max });
            }
            return Ok(Shape::Flexible {
                min_mbps: min,
                max_mbps: max,
            });
        }
        SHAPE_NAMES
            .iter()
            .find(|s| **s == name)
            .map(|s| Shape::Fixed(s))
            .ok_or_else(|| LbError::UnknownShape(name.to_string()))
    }

    /// The shape's name.
    pub fn name(&self) -> &'static str {
        match self {
            Shape::Flexible { .. } => FLEXIBLE,
            Shape::Fixed(n) => n,
        }
    }

    /// The most bandwidth the shape carries, in Mbps.
    pub fn max_mbps(&self) -> u32 {
        match self {
            Shape::Flexible { max_mbps, .. } => *max_mbps,
            Shape::Fixed(n) => n
                .trim_end_matches("-Micro")
                .trim_end_matches("Mbps")
                .parse()
                .unwrap_or(0),
        }
    }

    /// Requests per second the shape carries at `bytes_per_request`.
    pub fn max_rps(&self, bytes_per_request: u64) -> f64 {
        f64::from(self.max_mbps()) * 1_000_000.0 / 8.0 / bytes_per_request.max(1) as f64
    }
}

/// A backend set's load balancing policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// `ROUND_ROBIN`.
    RoundRobin,
    /// `LEAST_CONNECTIONS`.
    LeastConnections,
    /// `IP_HASH`.
    IpHash,
}

impl Policy {
    /// Parses the wire name.
    pub fn parse(s: &str) -> Result<Policy, LbError> {
        match s {
            "ROUND_ROBIN" => Ok(Policy::RoundRobin),
            "LEAST_CONNECTIONS" => Ok(Policy::LeastConnections),
            "IP_HASH" => Ok(Policy::IpHash),
            other => Err(LbError::UnknownPolicy(other.to_string())),
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::RoundRobin => "ROUND_ROBIN",
            Policy::LeastConnections => "LEAST_CONNECTIONS",
            Policy::IpHash => "IP_HASH",
        }
    }
}

/// A backend set's health checker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthChecker {
    /// `HTTP` or `TCP`.
    pub protocol: String,
    /// Port to probe; 0 means each backend's own port.
    pub port: u16,
    /// HTTP path (required for HTTP).
    pub url_path: Option<String>,
    /// Expected HTTP status.
    pub return_code: u16,
    /// Consecutive results before the health changes, both ways.
    pub retries: u32,
    /// Probe timeout.
    pub timeout: SimDuration,
    /// Time between probes.
    pub interval: SimDuration,
    /// Regex the body must match (`.*` by default).
    pub response_body_regex: String,
}

impl HealthChecker {
    /// A checker with OCI's defaults for `protocol`.
    pub fn new(protocol: &str) -> HealthChecker {
        HealthChecker {
            protocol: protocol.to_string(),
            port: 0,
            url_path: (protocol == "HTTP").then(|| "/".to_string()),
            return_code: 200,
            retries: DEFAULT_RETRIES,
            timeout: DEFAULT_TIMEOUT,
            interval: DEFAULT_INTERVAL,
            response_body_regex: ".*".to_string(),
        }
    }

    /// Checks the fields' ranges.
    pub fn validate(&self) -> Result<(), LbError> {
        let bad = |field, message: &str| {
            Err(LbError::BadHealthChecker {
                field,
                message: message.to_string(),
            })
        };
        if self.protocol != "HTTP" && self.protocol != "TCP" {
            return bad("protocol", "must be HTTP or TCP");
        }
        if self.interval < SimDuration::from_secs(1) || self.interval > SimDuration::from_secs(1800)
        {
            return bad("intervalInMillis", "must be between 1000 and 1800000");
        }
        if self.timeout < SimDuration::from_ms(1) || self.timeout > self.interval {
            return bad(
                "timeoutInMillis",
                "must be positive and at most intervalInMillis",
            );
        }
        if self.retries == 0 || self.retries > 10 {
            return bad("retries", "must be between 1 and 10");
        }
        Ok(())
    }

    /// How long a dead backend stays in rotation: retries × interval.
    pub fn detection_time(&self) -> SimDuration {
        SimDuration(self.interval.as_ms() * u64::from(self.retries))
    }
}

/// A backend server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backend {
    /// IP address as given.
    pub ip_address: String,
    /// Port.
    pub port: u16,
    /// Weight (1 by default).
    pub weight: u32,
    /// Max connections, if limited.
    pub max_connections: Option<u32>,
    /// Backup server.
    pub backup: bool,
    /// Draining.
    pub drain: bool,
    /// Offline.
    pub offline: bool,
    /// When it was added (health is UNKNOWN until the first probe).
    pub added_at: SimTime,
}

impl Backend {
    /// The backend's name: `"<ip>:<port>"`.
    pub fn name(&self) -> String {
        format!("{}:{}", self.ip_address, self.port)
    }
}

/// A backend set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackendSet {
    /// Name.
    pub name: String,
    /// Policy.
    pub policy: Policy,
    /// Backends by name.
    pub backends: BTreeMap<String, Backend>,
    /// Health checker.
    pub health_checker: HealthChecker,
}

/// A listener.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listener {
    /// Name.
    pub name: String,
    /// Default backend set.
    pub default_backend_set: String,
    /// Port.
    pub port: u16,
    /// `HTTP`, `HTTP2`, `TCP` or `GRPC`.
    pub protocol: String,
}

/// `lifecycleState` of a load balancer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LbLifecycle {
    /// Being created.
    Creating,
    /// Running.
    Active,
    /// Creation failed.
    Failed,
    /// Being deleted.
    Deleting,
    /// Gone.
    Deleted,
}

impl LbLifecycle {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            LbLifecycle::Creating => "CREATING",
            LbLifecycle::Active => "ACTIVE",
            LbLifecycle::Failed => "FAILED",
            LbLifecycle::Deleting => "DELETING",
            LbLifecycle::Deleted => "DELETED",
        }
    }
}

/// A load balancer.
#[derive(Clone, Debug)]
pub struct LoadBalancer {
    /// OCID.
    pub id: String,
    /// `displayName`.
    pub display_name: String,
    /// `compartmentId`.
    pub compartment_id: String,
    /// Shape.
    pub shape: Shape,
    /// `isPrivate`.
    pub is_private: bool,
    /// Subnets.
    pub subnets: Vec<SubnetId>,
    /// The address taken from the first subnet.
    pub private_ip: u32,
    /// The public address of a public LB (from 203.0.113.0/24, an assumption).
    pub public_ip: Option<u32>,
    /// `isDeleteProtectionEnabled`.
    pub delete_protected: bool,
    /// Lifecycle.
    pub lifecycle: LbLifecycle,
    /// Backend sets by name.
    pub backend_sets: BTreeMap<String, BackendSet>,
    /// Listeners by name.
    pub listeners: BTreeMap<String, Listener>,
    /// Creation time.
    pub time_created: SimTime,
}

impl LoadBalancer {
    /// The address clients use: public if public, else the private one.
    pub fn ip_string(&self) -> String {
        ip_string(self.public_ip.unwrap_or(self.private_ip))
    }

    fn backend_count(&self) -> usize {
        self.backend_sets.values().map(|s| s.backends.len()).sum()
    }
}

/// What the caller knows of a backend's address now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probe {
    /// It answers, and has since `since`.
    Up {
        /// Since when.
        since: SimTime,
    },
    /// It does not answer, and has not since `since`.
    Down {
        /// Since when.
        since: SimTime,
    },
}

/// Health `status` of a backend, backend set or load balancer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Health {
    /// `OK`.
    Ok,
    /// `WARNING`.
    Warning,
    /// `CRITICAL`.
    Critical,
    /// `UNKNOWN`.
    Unknown,
}

impl Health {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Ok => "OK",
            Health::Warning => "WARNING",
            Health::Critical => "CRITICAL",
            Health::Unknown => "UNKNOWN",
        }
    }
}

/// One backend's health at `now`: UNKNOWN before its first probe; then the
/// probe's state once it has held for `retries` probes, else the opposite one.
/// An offline backend is CRITICAL.
pub fn backend_health(b: &Backend, hc: &HealthChecker, probe: Probe, now: SimTime) -> Health {
    if b.offline {
        return Health::Critical;
    }
    if now < b.added_at + hc.interval {
        return Health::Unknown;
    }
    let (up, since) = match probe {
        Probe::Up { since } => (true, since),
        Probe::Down { since } => (false, since),
    };
    let settled = since <= b.added_at || now >= since + hc.detection_time();
    match (up, settled) {
        (true, true) | (false, false) => Health::Ok,
        (false, true) | (true, false) => Health::Critical,
    }
}

/// A backend set's health from its backends' (OCI's BackendSetHealth rules):
/// UNKNOWN without a listener, without backends, or when more than half are
/// UNKNOWN; OK when all are OK; CRITICAL when fewer than half are OK; else WARNING.
pub fn backend_set_health(health: &[Health], has_listener: bool) -> Health {
    let n = health.len();
    let ok = health.iter().filter(|h| **h == Health::Ok).count();
    let unknown = health.iter().filter(|h| **h == Health::Unknown).count();
    if !has_listener || n == 0 || unknown * 2 > n {
        Health::Unknown
    } else if ok == n {
        Health::Ok
    } else if ok * 2 < n {
        Health::Critical
    } else {
        Health::Warning
    }
}

/// A load balancer's health from its backend sets' (OCI's LoadBalancerHealth
/// rules): UNKNOWN when not ACTIVE or without backend sets; CRITICAL if any set
/// is; WARNING if any set is; UNKNOWN when more than half are; else OK.
pub fn load_balancer_health(active: bool, sets: &[Health]) -> Health {
    let n = sets.len();
    if !active || n == 0 {
        return Health::Unknown;
    }
    if sets.contains(&Health::Critical) {
        Health::Critical
    } else if sets.contains(&Health::Warning) {
        Health::Warning
    } else if sets.iter().filter(|h| **h == Health::Unknown).count() * 2 > n {
        Health::Unknown
    } else if sets.iter().all(|h| *h == Health::Ok) {
        Health::Ok
    } else {
        Health::Warning
    }
}

/// A backend's standing with its health checker, probe by probe: in rotation
/// or out, and how many consecutive probes have contradicted that. `retries`
/// consecutive failures take an in-rotation backend out; the same number of
/// consecutive successes put it back (domain.md §7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProbeState {
    /// Receives traffic.
    pub in_rotation: bool,
    /// Consecutive probes with the opposite result.
    pub streak: u32,
}

impl Default for ProbeState {
    /// A backend that passes its checks.
    fn default() -> Self {
        ProbeState {
            in_rotation: true,
            streak: 0,
        }
    }
}

impl ProbeState {
    /// Records one probe; true when it moved the backend in or out.
    pub fn probe(&mut self, ok: bool, retries: u32) -> bool {
        debug_assert!(retries > 0);
        if ok == self.in_rotation {
            self.streak = 0;
            return false;
        }
        self.streak += 1;
        if self.streak >= retries {
            self.in_rotation = ok;
            self.streak = 0;
            return true;
        }
        false
    }
}

/// Whether a probe of a live backend passes: it answers within `timeout`
/// (its response time given by the caller, `None` when it never answers).
pub fn probe_passes(response: Option<SimDuration>, timeout: SimDuration) -> bool {
    response.is_some_and(|r| r <= timeout)
}

/// The probe times of a checker with period `interval` in (start, end]: the
/// multiples of the interval (probes of one checker share one phase).
pub fn probe_times(interval: SimDuration, start: SimTime, end: SimTime) -> Vec<SimTime> {
    let step = interval.as_ms().max(1);
    let first = (start.as_ms() / step + 1) * step;
    (first..=end.as_ms())
        .step_by(step as usize)
        .map(SimTime)
        .collect()
}

/// What a create request asks for, parsed by the caller.
#[derive(Clone, Debug)]
pub struct CreateLoadBalancer {
    /// `displayName`.
    pub display_name: String,
    /// `compartmentId`.
    pub compartment_id: String,
    /// Shape.
    pub shape: Shape,
    /// `isPrivate`.
    pub is_private: bool,
    /// `subnetIds`, resolved.
    pub subnets: Vec<SubnetId>,
    /// `isDeleteProtectionEnabled`.
    pub delete_protected: bool,
}

/// Index of a load balancer in [`LoadBalancing::lbs`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct LbId(pub u32);

/// The load balancer service of one region.
#[derive(Clone, Debug, Default)]
pub struct LoadBalancing {
    /// Limits.
    pub limits: LbLimits,
    /// Load balancers, deleted ones included.
    pub lbs: Vec<LoadBalancer>,
    by_ocid: BTreeMap<String, LbId>,
}

impl LoadBalancing {
    /// An empty service.
    pub fn new(limits: LbLimits) -> LoadBalancing {
        LoadBalancing {
            limits,
            ..LoadBalancing::default()
        }
    }

    /// Looks a load balancer up by OCID.
    pub fn by_ocid(&self, id: &str) -> Option<LbId> {
        self.by_ocid.get(id).copied()
    }

    /// The load balancer at `id`.
    pub fn get(&self, id: LbId) -> &LoadBalancer {
        &self.lbs[id.0 as usize]
    }

    /// Subnet addresses held by load balancers (one each until deleted).
    pub fn live_addresses(&self) -> u64 {
        self.live().count() as u64
    }

    fn live(&self) -> impl Iterator<Item = &LoadBalancer> {
        self.lbs
            .iter()
            .filter(|l| l.lifecycle != LbLifecycle::Deleted)
    }

    fn check_bandwidth(&self, except: Option<LbId>, shape: &Shape) -> Result<(), LbError> {
        let others: u32 = self
            .lbs
            .iter()
            .enumerate()
            .filter(|(i, l)| l.lifecycle != LbLifecycle::Deleted && Some(LbId(*i as u32)) != except)
            .map(|(_, l)| l.shape.max_mbps())
            .sum();
        if others + shape.max_mbps() > self.limits.total_bandwidth_mbps {
            return Err(LbError::Limit(format!(
                "total load balancer bandwidth would be {} Mbps, over {} Mbps",
                others + shape.max_mbps(),
                self.limits.total_bandwidth_mbps
            )));
        }
        Ok(())
    }

    /// Validates and records a load balancer in CREATING, taking its address.
    pub fn create(
        &mut self,
        req: CreateLoadBalancer,
        ocid: String,
        network: &mut Network,
        now: SimTime,
    ) -> Result<LbId, LbError> {
        if self.live().count() >= self.limits.load_balancers {
            return Err(LbError::Limit(format!(
                "the region already has {} load balancers",
                self.limits.load_balancers
            )));
        }
        check_subnets(&req.subnets, network)?;
        self.check_bandwidth(None, &req.shape)?;
        let private_ip = network.allocate_ip(req.subnets[0])?;
        let id = LbId(self.lbs.len() as u32);
        // Public addresses come from TEST-NET-3 so they are never mistaken for real ones.
        let public_ip = (!req.is_private)
            .then(|| u32::from(std::net::Ipv4Addr::new(203, 0, 113, 0)) + 1 + (id.0 % 254));
        self.by_ocid.insert(ocid.clone(), id);
        self.lbs.push(LoadBalancer {
            id: ocid,
            display_name: req.display_name,
            compartment_id: req.compartment_id,
            shape: req.shape,
            is_private: req.is_private,
            subnets: req.subnets,
            private_ip,
            public_ip,
            delete_protected: req.delete_protected,
            lifecycle: LbLifecycle::Creating,
            backend_sets: BTreeMap::new(),
            listeners: BTreeMap::new(),
            time_created: now,
        });
        Ok(id)
    }

    /// Creation finished: CREATING → ACTIVE.
    pub fn activate(&mut self, id: LbId) {
        let lb = &mut self.lbs[id.0 as usize];
        if lb.lifecycle == LbLifecycle::Creating {
            lb.lifecycle = LbLifecycle::Active;
        }
    }

    /// `NotActive` unless the load balancer is ACTIVE (what every change
    /// after creation needs).
    pub fn check_active(&self, id: LbId) -> Result<(), LbError> {
        let lb = &self.lbs[id.0 as usize];
        if lb.lifecycle != LbLifecycle::Active {
            return Err(LbError::NotActive {
                id: lb.id.clone(),
                state: lb.lifecycle.as_str(),
            });
        }
        Ok(())
    }

    fn active_mut(&mut self, id: LbId) -> Result<&mut LoadBalancer, LbError> {
        self.check_active(id)?;
        Ok(&mut self.lbs[id.0 as usize])
    }

    /// Changes the shape (`updateShape`), checking the bandwidth limit.
    pub fn update_shape(&mut self, id: LbId, shape: Shape) -> Result<(), LbError> {
        self.check_bandwidth(Some(id), &shape)?;
        self.active_mut(id)?.shape = shape;
        Ok(())
    }

    /// Starts a delete: → DELETING.
    pub fn begin_delete(&mut self, id: LbId) -> Result<(), LbError> {
        let lb = &mut self.lbs[id.0 as usize];
        if lb.delete_protected {
            return Err(LbError::DeleteProtected(lb.id.clone()));
        }
        if matches!(lb.lifecycle, LbLifecycle::Deleting | LbLifecycle::Deleted) {
            return Err(LbError::NotActive {
                id: lb.id.clone(),
                state: lb.lifecycle.as_str(),
            });
        }
        lb.lifecycle = LbLifecycle::Deleting;
        Ok(())
    }

    /// Finishes a delete: DELETED, address released.
    pub fn finish_delete(&mut self, id: LbId, network: &mut Network) {
        let lb = &mut self.lbs[id.0 as usize];
        assert_eq!(
            lb.lifecycle,
            LbLifecycle::Deleting,
            "finishing a delete never begun"
        );
        lb.lifecycle = LbLifecycle::Deleted;
        network.release_ip(lb.subnets[0], lb.private_ip);
    }

    /// Adds a backend set with its backends.
    pub fn add_backend_set(&mut self, id: LbId, set: BackendSet) -> Result<(), LbError> {
        set.health_checker.validate()?;
        let limit = self.limits.backends_per_lb;
        let lb = self.active_mut(id)?;
        if lb.backend_sets.contains_key(&set.name) {
            return Err(LbError::Duplicate {
                kind: "backend set",
                name: set.name,
                lb: lb.id.clone(),
            });
        }
        if lb.backend_count() + set.backends.len() > limit {
            return Err(LbError::Limit(format!(
                "a load balancer has at most {limit} backends"
            )));
        }
        lb.backend_sets.insert(set.name.clone(), set);
        Ok(())
    }

    /// Replaces a backend set's policy, health checker and backends.
    pub fn update_backend_set(&mut self, id: LbId, set: BackendSet) -> Result<(), LbError> {
        set.health_checker.validate()?;
        let lb = self.active_mut(id)?;
        let lb_id = lb.id.clone();
        let slot = lb
            .backend_sets
            .get_mut(&set.name)
            .ok_or(LbError::NotFound {
                kind: "backend set",
                name: set.name.clone(),
                lb: lb_id,
            })?;
        *slot = set;
        Ok(())
    }

    /// Removes a backend set no listener uses.
    pub fn remove_backend_set(&mut self, id: LbId, name: &str) -> Result<(), LbError> {
        let lb = self.active_mut(id)?;
        if let Some(l) = lb
            .listeners
            .values()
            .find(|l| l.default_backend_set == name)
        {
            return Err(LbError::InUse {
                set: name.to_string(),
                listener: l.name.clone(),
            });
        }
        lb.backend_sets
            .remove(name)
            .map(|_| ())
            .ok_or(LbError::NotFound {
                kind: "backend set",
                name: name.to_string(),
                lb: lb.id.clone(),
            })
    }

    /// Adds a backend to a set.
    pub fn add_backend(&mut self, id: LbId, set: &str, backend: Backend) -> Result<(), LbError> {
        let limit = self.limits.backends_per_lb;
        let lb = self.active_mut(id)?;
        if lb.backend_count() >= limit {
            return Err(LbError::Limit(format!(
                "a load balancer has at most {limit} backends"
            )));
        }
        let lb_id = lb.id.clone();
        let s = lb.backend_sets.get_mut(set).ok_or(LbError::NotFound {
            kind: "backend set",
            name: set.to_string(),
            lb: lb_id.clone(),
        })?;
        let name = backend.name();
        if s.backends.contains_key(&name) {
            return Err(LbError::Duplicate {
                kind: "backend",
                name,
                lb: lb_id,
            });
        }
        s.backends.insert(name, backend);
        Ok(())
    }

    /// Removes a backend from a set.
    pub fn remove_backend(&mut self, id: LbId, set: &str, backend: &str) -> Result<(), LbError> {
        let lb = self.active_mut(id)?;
        let lb_id = lb.id.clone();
        let not_found = |kind, name: &str| LbError::NotFound {
            kind,
            name: name.to_string(),
            lb: lb_id.clone(),
        };
        let s = lb
            .backend_sets
            .get_mut(set)
            .ok_or_else(|| not_found("backend set", set))?;
        s.backends
            .remove(backend)
            .map(|_| ())
            .ok_or_else(|| not_found("backend", backend))
    }

    /// Adds a listener on an existing backend set.
    pub fn add_listener(&mut self, id: LbId, listener: Listener) -> Result<(), LbError> {
        let limit = self.limits.listeners_per_lb;
        if !["HTTP", "HTTP2", "TCP", "GRPC"].contains(&listener.protocol.as_str()) {
            return Err(LbError::Invalid {
                field: "protocol",
                message: format!("`{}` is not HTTP, HTTP2, TCP or GRPC", listener.protocol),
            });
        }
        if listener.port == 0 {
            return Err(LbError::Invalid {
                field: "port",
                message: "must be between 1 and 65535".into(),
            });
        }
        let lb = self.active_mut(id)?;
        let lb_id = lb.id.clone();
        if !lb.backend_sets.contains_key(&listener.default_backend_set) {
            return Err(LbError::NotFound {
                kind: "backend set",
                name: listener.default_backend_set,
                lb: lb_id,
            });
        }
        if lb.listeners.contains_key(&listener.name) {
            return Err(LbError::Duplicate {
                kind: "listener",
                name: listener.name,
                lb: lb_id,
            });
        }
        if let Some(other) = lb.listeners.values().find(|l| l.port == listener.port) {
            return Err(LbError::Invalid {
                field: "port",
                message: format!(
                    "port {} is already used by listener `{}`",
                    listener.port, other.name
                ),
            });
        }
        if lb.listeners.len() >= limit {
            return Err(LbError::Limit(format!(
                "a load balancer has at most {limit} listeners"
            )));
        }
        lb.listeners.insert(listener.name.clone(), listener);
        Ok(())
    }

    /// Removes a listener.
    pub fn remove_listener(&mut self, id: LbId, name: &str) -> Result<(), LbError> {
        let lb = self.active_mut(id)?;
        lb.listeners
            .remove(name)
            .map(|_| ())
            .ok_or(LbError::NotFound {
                kind: "listener",
                name: name.to_string(),
                lb: lb.id.clone(),
            })
    }
}

/// One regional subnet, or two AD-specific subnets in different ADs.
fn check_subnets(subnets: &[SubnetId], network: &Network) -> Result<(), LbError> {
    let ads: Vec<Option<u8>> = subnets
        .iter()
        .map(|s| network.subnet(*s).availability_domain)
        .collect();
    match ads.as_slice() {
        [None] => Ok(()),
        [Some(a), Some(b)] if a != b => Ok(()),
        _ => Err(LbError::BadSubnets),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::network::{NetworkLimits, SubnetSpec};

    fn t(s: u64) -> SimTime {
        SimTime(s * 1000)
    }

    fn setup() -> (LoadBalancing, Network, LbId) {
        let mut n = Network::new(NetworkLimits::default());
        let v = n
            .create_vcn("v".into(), "vcn", vec!["10.0.0.0/16".parse().unwrap()])
            .unwrap();
        let spec = |name: &str, cidr: &str, ad| SubnetSpec {
            name: name.into(),
            cidr: cidr.parse().unwrap(),
            availability_domain: ad,
            prohibit_public_ip: false,
            route_table: None,
            security_lists: Vec::new(),
        };
        let s = n
            .create_subnet(v, "s".into(), spec("lb", "10.0.2.0/24", None))
            .unwrap();
        n.create_subnet(v, "a1".into(), spec("a1", "10.0.4.0/24", Some(1)))
            .unwrap();
        n.create_subnet(v, "a2".into(), spec("a2", "10.0.5.0/24", Some(2)))
            .unwrap();
        let mut lbs = LoadBalancing::new(LbLimits::default());
        let req = CreateLoadBalancer {
            display_name: "lb".into(),
            compartment_id: "c".into(),
            shape: Shape::new("flexible", Some((10, 100))).unwrap(),
            is_private: false,
            subnets: vec![s],
            delete_protected: false,
        };
        let id = lbs
            .create(req, "ocid1.loadbalancer.x".into(), &mut n, t(0))
            .unwrap();
        (lbs, n, id)
    }

    fn set(name: &str, backends: &[(&str, u16)]) -> BackendSet {
        BackendSet {
            name: name.into(),
            policy: Policy::RoundRobin,
            backends: backends
                .iter()
                .map(|(ip, port)| {
                    let b = Backend {
                        ip_address: ip.to_string(),
                        port: *port,
                        weight: 1,
                        max_connections: None,
                        backup: false,
                        drain: false,
                        offline: false,
                        added_at: t(0),
                    };
                    (b.name(), b)
                })
                .collect(),
            health_checker: HealthChecker::new("HTTP"),
        }
    }

    #[test]
    fn flexible_bandwidth_is_validated() {
        assert!(Shape::new("flexible", Some((10, 8000))).is_ok());
        for (min, max) in [(9, 100), (10, 8001), (200, 100)] {
            assert_eq!(
                Shape::new("flexible", Some((min, max))),
                Err(LbError::BadBandwidth { min, max })
            );
        }
        assert_eq!(
            Shape::new("flexible", None),
            Err(LbError::MissingShapeDetails)
        );
        assert_eq!(Shape::new("100Mbps", None).unwrap().max_mbps(), 100);
        assert_eq!(Shape::new("10Mbps-Micro", None).unwrap().max_mbps(), 10);
        assert!(Shape::new("5Mbps", None).is_err());
        // 100 Mbps at 10 KiB per request is 1220.7 requests per second.
        let rps = Shape::new("flexible", Some((10, 100)))
            .unwrap()
            .max_rps(10_240);
        assert!((rps - 1220.703125).abs() < 1e-9);
    }

    #[test]
    fn health_checker_defaults_are_10s_3s_3() {
        let hc = HealthChecker::new("TCP");
        assert_eq!(
            (hc.interval, hc.timeout, hc.retries),
            (SimDuration::from_secs(10), SimDuration::from_secs(3), 3)
        );
        assert_eq!(hc.detection_time(), SimDuration::from_secs(30));
        assert!(hc.validate().is_ok());
        let bad = HealthChecker {
            timeout: SimDuration::from_secs(11),
            ..hc.clone()
        };
        assert!(matches!(
            bad.validate(),
            Err(LbError::BadHealthChecker {
                field: "timeoutInMillis",
                ..
            })
        ));
        let bad = HealthChecker {
            protocol: "UDP".into(),
            ..hc
        };
        assert!(bad.validate().is_err());
    }

    #[test]
    fn sub_resources_are_keyed_by_name_and_checked() {
        let (mut lbs, mut n, id) = setup();
        assert!(matches!(
            lbs.add_backend_set(id, set("bs", &[])),
            Err(LbError::NotActive { .. })
        ));
        lbs.activate(id);
        lbs.add_backend_set(id, set("bs", &[("10.0.10.5", 8080)]))
            .unwrap();
        assert!(matches!(
            lbs.add_backend_set(id, set("bs", &[])),
            Err(LbError::Duplicate { .. })
        ));
        let lb = lbs.get(id);
        assert!(
            lb.backend_sets["bs"]
                .backends
                .contains_key("10.0.10.5:8080")
        );
        let l = |name: &str, set: &str, port| Listener {
            name: name.into(),
            default_backend_set: set.into(),
            port,
            protocol: "HTTP".into(),
        };
        assert!(matches!(
            lbs.add_listener(id, l("http", "nope", 80)),
            Err(LbError::NotFound { .. })
        ));
        lbs.add_listener(id, l("http", "bs", 80)).unwrap();
        assert!(matches!(
            lbs.add_listener(id, l("again", "bs", 80)),
            Err(LbError::Invalid { field: "port", .. })
        ));
        assert!(matches!(
            lbs.remove_backend_set(id, "bs"),
            Err(LbError::InUse { .. })
        ));
        lbs.remove_listener(id, "http").unwrap();
        lbs.remove_backend_set(id, "bs").unwrap();
        assert_eq!(lbs.get(id).ip_string(), "203.0.113.1");
        assert_eq!(ip_string(lbs.get(id).private_ip), "10.0.2.2");
        lbs.begin_delete(id).unwrap();
        lbs.finish_delete(id, &mut n);
        assert_eq!(n.subnet(SubnetId(0)).pool.used(), 0);
    }

    #[test]
    fn subnets_and_bandwidth_limits() {
        let (mut lbs, mut n, _) = setup();
        let req = |subnets: Vec<SubnetId>, max| CreateLoadBalancer {
            display_name: "x".into(),
            compartment_id: "c".into(),
            shape: Shape::new("flexible", Some((10, max))).unwrap(),
            is_private: true,
            subnets,
            delete_protected: false,
        };
        assert_eq!(
            lbs.create(req(vec![SubnetId(1)], 10), "a".into(), &mut n, t(0))
                .err(),
            Some(LbError::BadSubnets)
        );
        assert_eq!(
            lbs.create(
                req(vec![SubnetId(1), SubnetId(1)], 10),
                "a".into(),
                &mut n,
                t(0)
            )
            .err(),
            Some(LbError::BadSubnets)
        );
        assert!(
            lbs.create(
                req(vec![SubnetId(1), SubnetId(2)], 10),
                "a".into(),
                &mut n,
                t(0)
            )
            .is_ok()
        );
        // 100 + 10 used; 4900 more would pass the 5000 Mbps total.
        assert!(matches!(
            lbs.create(req(vec![SubnetId(0)], 4900), "b".into(), &mut n, t(0)),
            Err(LbError::Limit(_))
        ));
        assert!(
            lbs.update_shape(LbId(0), Shape::new("flexible", Some((10, 4990))).unwrap())
                .is_err()
        );
    }

    #[test]
    fn backend_health_follows_probes_with_the_checker_lag() {
        let hc = HealthChecker::new("HTTP");
        let b = set("bs", &[("10.0.0.9", 80)])
            .backends
            .into_values()
            .next()
            .unwrap();
        let up = Probe::Up { since: t(0) };
        assert_eq!(backend_health(&b, &hc, up, t(5)), Health::Unknown);
        assert_eq!(backend_health(&b, &hc, up, t(10)), Health::Ok);
        let down = Probe::Down { since: t(100) };
        assert_eq!(backend_health(&b, &hc, down, t(129)), Health::Ok);
        assert_eq!(backend_health(&b, &hc, down, t(130)), Health::Critical);
        let back = Probe::Up { since: t(200) };
        assert_eq!(backend_health(&b, &hc, back, t(210)), Health::Critical);
        assert_eq!(backend_health(&b, &hc, back, t(230)), Health::Ok);
        let off = Backend { offline: true, ..b };
        assert_eq!(backend_health(&off, &hc, up, t(500)), Health::Critical);
    }

    #[test]
    fn health_rolls_up_as_oci_documents() {
        use Health::*;
        assert_eq!(backend_set_health(&[Ok, Ok], true), Ok);
        assert_eq!(backend_set_health(&[Ok, Ok], false), Unknown);
        assert_eq!(backend_set_health(&[], true), Unknown);
        assert_eq!(backend_set_health(&[Ok, Critical], true), Warning);
        assert_eq!(
            backend_set_health(&[Ok, Critical, Critical], true),
            Critical
        );
        assert_eq!(backend_set_health(&[Ok, Unknown, Unknown], true), Unknown);
        assert_eq!(load_balancer_health(true, &[Ok, Warning]), Warning);
        assert_eq!(load_balancer_health(true, &[Critical, Warning]), Critical);
        assert_eq!(load_balancer_health(false, &[Ok]), Unknown);
        assert_eq!(load_balancer_health(true, &[]), Unknown);
        assert_eq!(load_balancer_health(true, &[Ok, Unknown, Unknown]), Unknown);
        assert_eq!(load_balancer_health(true, &[Ok, Ok]), Ok);
    }

    #[test]
    fn probes_take_out_after_retries_failures_and_put_back_after_as_many_successes() {
        let mut s = ProbeState::default();
        assert!(!s.probe(false, 3) && !s.probe(false, 3));
        // A success in between resets the count.
        assert!(!s.probe(true, 3));
        assert!(!s.probe(false, 3) && !s.probe(false, 3));
        assert!(s.probe(false, 3) && !s.in_rotation);
        assert!(!s.probe(true, 3) && !s.probe(true, 3));
        assert!(s.probe(true, 3) && s.in_rotation);
        assert!(probe_passes(
            Some(SimDuration::from_secs(3)),
            DEFAULT_TIMEOUT
        ));
        assert!(!probe_passes(
            Some(SimDuration::from_ms(3001)),
            DEFAULT_TIMEOUT
        ));
        assert!(!probe_passes(None, DEFAULT_TIMEOUT));
        assert_eq!(
            probe_times(DEFAULT_INTERVAL, SimTime(15_000), SimTime(30_000)),
            vec![SimTime(20_000), SimTime(30_000)]
        );
        assert!(probe_times(DEFAULT_INTERVAL, SimTime(0), SimTime(9_999)).is_empty());
    }
}
