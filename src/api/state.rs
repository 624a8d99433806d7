//! The API's shared state: one [`Twin`] (the same `World` the scenarios play,
//! the identity model, the API metadata registry, work requests and timers)
//! behind one `std::sync::Mutex`, plus the virtual clock, the journal and the
//! chaos rules around it.
//!
//! The lock is never held across an `.await`: handlers lock, change, render and
//! unlock synchronously. Before a handler sees the twin, the twin is brought to
//! the request's virtual time: timers and World events due by then run in time
//! order, so lifecycle transitions happen inside the deterministic model.

use std::any::{Any, TypeId};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::auth::Verifier;
use super::chaos::Chaos;
use super::journal::Journal;
use super::pipeline::Ctx;
use super::registry::{Meta, Registry};
use super::workreq::WorkRequests;
use crate::kernel::{SeedTree, SimDuration, SimTime};
use crate::model::identity::Identity;
use crate::model::network::{Network, NetworkLimits};
use crate::model::oke::{Oke, OkeLimits};
use crate::model::topology::Topology;
use crate::scenario::plan::{LoadOptions, load_text};
use crate::sim::SimConfig;
use crate::sim::world::{Observer, World};

/// How the server was started; everything needed to rebuild the initial twin.
#[derive(Clone, Debug)]
pub struct Boot {
    /// Master seed.
    pub seed: u64,
    /// Region identifier or key (`us-phoenix-1`, `PHX`); the scenario's wins when `init` is set.
    pub region: String,
    /// The tenancy OCID (also the root compartment's). `None` mints one from the seed.
    pub tenancy_id: Option<String>,
    /// The scenario whose topology the twin starts from: file name and text.
    pub init: Option<(String, String)>,
    /// Virtual seconds per wall second (0 stops the clock: only `/_ocisim/advance` moves it).
    pub time_scale: f64,
    /// Overrides of the duration table.
    pub durations: BTreeMap<String, SimDuration>,
}

impl Default for Boot {
    fn default() -> Boot {
        Boot {
            seed: crate::scenario::plan::DEFAULT_SEED,
            region: "us-ashburn-1".into(),
            tenancy_id: None,
            init: None,
            time_scale: DEFAULT_TIME_SCALE,
            durations: BTreeMap::new(),
        }
    }
}

/// The default speed of the virtual clock: one virtual minute per wall second,
/// so a 5-minute cluster creation finishes in 5 seconds of a waiter's polling.
pub const DEFAULT_TIME_SCALE: f64 = 60.0;

/// The table of how long asynchronous things take, by key
/// (`core.vcn.provision`, `oke.cluster.create`, ...). Callers give the default
/// with the key, so a service adds keys without touching this file; `--durations`
/// and `PUT /_ocisim/durations` override them.
#[derive(Clone, Debug, Default)]
pub struct Durations {
    overrides: BTreeMap<String, SimDuration>,
    used: BTreeMap<String, SimDuration>,
}

impl Durations {
    /// The duration for `key`: the override if any, else `default`.
    pub fn get_or(&mut self, key: &str, default: SimDuration) -> SimDuration {
        self.used.insert(key.to_string(), default);
        self.overrides.get(key).copied().unwrap_or(default)
    }

    /// Sets overrides.
    pub fn set(&mut self, overrides: BTreeMap<String, SimDuration>) {
        self.overrides.extend(overrides);
    }

    /// Every key seen so far with its effective duration, and every override.
    pub fn table(&self) -> BTreeMap<String, SimDuration> {
        let mut t: BTreeMap<String, SimDuration> = self.used.clone();
        t.extend(self.overrides.clone());
        t
    }
}

/// A deferred change of the twin at a virtual instant.
pub type Timer = Box<dyn FnOnce(&mut Twin) + Send>;

/// Per-service state that lives in no model, keyed by type: a service keeps
/// its own struct here (`twin.ext.get_mut::<LbState>()`) without a field in
/// [`Twin`]. Rebuilt empty on reset; restored by replay like everything else.
#[derive(Default)]
pub struct Extensions {
    map: BTreeMap<TypeIdKey, Box<dyn Any + Send>>,
}

/// `TypeId` wrapper so the map stays a `BTreeMap` (iteration order is never used).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct TypeIdKey(TypeId);

impl Extensions {
    /// The service state of type `T`, created with `Default` on first use.
    pub fn get_mut<T: Any + Send + Default>(&mut self) -> &mut T {
        self.map
            .entry(TypeIdKey(TypeId::of::<T>()))
            .or_insert_with(|| Box::new(T::default()))
            .downcast_mut::<T>()
            .expect("the entry of a type holds that type")
    }

    /// The service state of type `T`, if it was ever created.
    pub fn get<T: Any + Send>(&self) -> Option<&T> {
        self.map
            .get(&TypeIdKey(TypeId::of::<T>()))
            .and_then(|b| b.downcast_ref::<T>())
    }
}

/// A cached reply to a request that carried `opc-retry-token`.
#[derive(Clone, Debug)]
pub struct CachedReply {
    /// Hash of method, target and body.
    pub fingerprint: u64,
    /// Status.
    pub status: u16,
    /// Headers worth replaying (etag, opc-work-request-id, ...).
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
    /// Forgotten after this instant (24 h after the first use).
    pub expires: SimTime,
}

/// Everything the API serves, in one place: the same model the scenarios use.
pub struct Twin {
    /// Region, network, OKE, Kubernetes: the scenario world.
    pub world: World,
    /// The tenancy and its compartments.
    pub identity: Identity,
    /// API-only metadata by OCID.
    pub registry: Registry,
    /// Work requests of every service.
    pub work_requests: WorkRequests,
    /// The duration table.
    pub durations: Durations,
    /// Per-service state without a model.
    pub ext: Extensions,
    /// The virtual time the twin is at.
    pub now: SimTime,
    /// Replies by retry token.
    pub retry_tokens: BTreeMap<String, CachedReply>,
    timers: BTreeMap<(SimTime, u64), Timer>,
    timer_seq: u64,
}

/// What a twin starts from, kept by the server so that a reset (and the start
/// of a replay) is a clone instead of reloading the init scenario.
#[derive(Clone)]
pub struct Initial {
    world: World,
    identity: Identity,
    registry: Registry,
    durations: Durations,
    core: Option<super::core::CoreState>,
}

struct Quiet;
impl Observer for Quiet {
    fn observe(&mut self, _: &World, _: SimTime) {}
}

impl Twin {
    /// The initial twin of `boot`: the scenario's world when `init` is set,
    /// else an empty region; a tenancy whose root compartment holds every
    /// object the scenario created.
    pub fn new(boot: &Boot) -> Result<Twin, String> {
        let world = match &boot.init {
            Some((file, text)) => {
                let base = std::path::Path::new(file).parent();
                let opts = LoadOptions {
                    seed: Some(boot.seed),
                    ..LoadOptions::default()
                };
                load_text(file, text, base, &opts)
                    .map_err(|e| e.to_string())?
                    .world
            }
            None => {
                let topology = Topology::new(&boot.region, "Uocm").map_err(|e| e.to_string())?;
                let cfg = SimConfig {
                    seed: boot.seed,
                    ..SimConfig::default()
                };
                World::new(
                    cfg,
                    topology,
                    Network::new(NetworkLimits::default()),
                    Oke::new(OkeLimits::default()),
                )
            }
        };
        let tenancy_id = boot.tenancy_id.clone().unwrap_or_else(|| {
            let stream = SeedTree::new(boot.seed).fork("tenancy");
            crate::model::ocid::OcidMint::new("oc1", "", stream).global("tenancy")
        });
        let identity = Identity::new(&tenancy_id, "ocisim", world.topology.region.key);
        let mut twin = Twin {
            world,
            identity,
            registry: Registry::default(),
            work_requests: WorkRequests::default(),
            durations: Durations::default(),
            ext: Extensions::default(),
            now: SimTime::ZERO,
            retry_tokens: BTreeMap::new(),
            timers: BTreeMap::new(),
            timer_seq: 0,
        };
        twin.durations.set(boot.durations.clone());
        twin.register_scenario_objects();
        Ok(twin)
    }

    /// Gives every network object a scenario created its API metadata, in the
    /// root compartment, AVAILABLE.
    fn register_scenario_objects(&mut self) {
        let root = self.identity.tenancy_id.clone();
        let net = &self.world.network;
        let mut metas = Vec::new();
        for v in &net.vcns {
            metas.push(Meta::new(
                &v.id,
                "vcn",
                &root,
                &v.name,
                SimTime::ZERO,
                "AVAILABLE",
            ));
        }
        let mut parents = Vec::new();
        for s in &net.subnets {
            metas.push(Meta::new(
                &s.id,
                "subnet",
                &root,
                &s.name,
                SimTime::ZERO,
                "AVAILABLE",
            ));
            parents.push((s.id.clone(), net.vcn(s.vcn).id.clone()));
        }
        for g in &net.gateways {
            let kind = match g.kind {
                crate::model::network::GatewayKind::Internet => "internetgateway",
                crate::model::network::GatewayKind::Nat => "natgateway",
                crate::model::network::GatewayKind::Service => "servicegateway",
            };
            metas.push(Meta::new(
                &g.id,
                kind,
                &root,
                &g.name,
                SimTime::ZERO,
                "AVAILABLE",
            ));
        }
        for r in &net.route_tables {
            metas.push(Meta::new(
                &r.id,
                "routetable",
                &root,
                &r.name,
                SimTime::ZERO,
                "AVAILABLE",
            ));
        }
        for l in &net.security_lists {
            metas.push(Meta::new(
                &l.id,
                "securitylist",
                &root,
                &l.name,
                SimTime::ZERO,
                "AVAILABLE",
            ));
        }
        for n in &net.nsgs {
            metas.push(Meta::new(
                &n.id,
                "networksecuritygroup",
                &root,
                &n.name,
                SimTime::ZERO,
                "AVAILABLE",
            ));
        }
        for m in metas {
            self.registry.insert(m);
        }
        for (id, vcn) in parents {
            self.registry.set_parent(&id, &vcn);
        }
        super::core_net::register_scenario_extras(self);
        super::core::register_scenario_defaults(self);
    }

    /// The state of a just-built twin, to start fresh ones from.
    pub fn initial(&self) -> Initial {
        assert!(
            self.timers.is_empty() && self.now == SimTime::ZERO,
            "only a just-built twin is an initial state"
        );
        Initial {
            world: self.world.clone(),
            identity: self.identity.clone(),
            registry: self.registry.clone(),
            durations: self.durations.clone(),
            core: self.ext.get::<super::core::CoreState>().cloned(),
        }
    }

    /// A twin at its initial state.
    pub fn from_initial(i: Initial) -> Twin {
        let mut ext = Extensions::default();
        if let Some(c) = i.core {
            *ext.get_mut::<super::core::CoreState>() = c;
        }
        Twin {
            world: i.world,
            identity: i.identity,
            registry: i.registry,
            work_requests: WorkRequests::default(),
            durations: i.durations,
            ext,
            now: SimTime::ZERO,
            retry_tokens: BTreeMap::new(),
            timers: BTreeMap::new(),
            timer_seq: 0,
        }
    }

    /// Runs `f` at virtual instant `at` (or at once, on the next advance, if
    /// `at` is not in the future). Timers at one instant run in the order set.
    pub fn at(&mut self, at: SimTime, f: impl FnOnce(&mut Twin) + Send + 'static) {
        let at = at.max(self.now);
        self.timer_seq += 1;
        self.timers.insert((at, self.timer_seq), Box::new(f));
    }

    /// Runs `f` after `delay` of virtual time.
    pub fn after(&mut self, delay: SimDuration, f: impl FnOnce(&mut Twin) + Send + 'static) {
        self.at(self.now + delay, f);
    }

    /// Brings the twin to `target`: timers and World events due by then run in
    /// time order (World events first at equal times). Never goes back.
    pub fn advance_to(&mut self, target: SimTime) {
        while let Some(&(at, seq)) = self.timers.keys().next().filter(|k| k.0 <= target) {
            self.world.advance_to(at.max(self.now), &mut Quiet);
            self.now = self.now.max(at);
            let f = self.timers.remove(&(at, seq)).expect("key just read");
            f(self);
        }
        if target > self.now {
            self.world.advance_to(target, &mut Quiet);
            self.now = target;
        }
    }

    /// Plays the World's events due at the current instant (after a caller
    /// scheduled an action "now").
    pub fn settle(&mut self) {
        let now = self.now;
        self.world.advance_to(now, &mut Quiet);
    }

    /// Number of timers still pending (for tests and the control plane).
    pub fn pending_timers(&self) -> usize {
        self.timers.len()
    }
}

/// The virtual clock: virtual time = base + wall time elapsed × scale, plus
/// explicit advances. Monotonic.
pub struct Clock {
    inner: Mutex<ClockInner>,
}

struct ClockInner {
    base_virtual_ms: f64,
    base_wall: std::time::Instant,
    scale: f64,
}

impl Clock {
    /// A clock at `start` running `scale` times faster than the wall clock.
    pub fn new(start: SimTime, scale: f64) -> Clock {
        Clock {
            inner: Mutex::new(ClockInner {
                base_virtual_ms: start.as_ms() as f64,
                base_wall: wall_now(),
                scale,
            }),
        }
    }

    /// The current virtual time.
    pub fn now(&self) -> SimTime {
        let c = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let elapsed = wall_now().duration_since(c.base_wall).as_secs_f64() * 1000.0;
        SimTime((c.base_virtual_ms + elapsed * c.scale) as u64)
    }

    /// Jumps forward by `d`.
    pub fn advance(&self, d: SimDuration) -> SimTime {
        let now = self.now();
        self.set(now + d)
    }

    /// Restarts at `t` (never earlier than now unless resetting).
    pub fn set(&self, t: SimTime) -> SimTime {
        let mut c = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        c.base_virtual_ms = t.as_ms() as f64;
        c.base_wall = wall_now();
        t
    }

    /// The speed.
    pub fn scale(&self) -> f64 {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).scale
    }
}

/// The API layer's one reading of the wall clock: it drives the virtual clock
/// at `--time-scale`. The model never sees it; only the virtual time it maps to.
#[allow(clippy::disallowed_methods)]
fn wall_now() -> std::time::Instant {
    std::time::Instant::now()
}

/// What a request handler gets: the twin behind its lock and the machinery around it.
pub struct ApiState {
    /// The twin.
    twin: Mutex<Twin>,
    /// The twin as it starts (reset and replay begin from a clone).
    initial: Mutex<Initial>,
    /// How it was started.
    pub boot: Boot,
    /// The virtual clock.
    pub clock: Clock,
    /// Serializes mutating requests, so the journal's order is the order of change.
    pub writes: tokio::sync::Mutex<()>,
    /// Accepted mutations, for snapshots and the state file.
    pub journal: Mutex<Journal>,
    /// Chaos rules and their random stream.
    pub chaos: Mutex<Chaos>,
    /// True once start-up seeding is done.
    pub ready: AtomicBool,
    /// Counter behind generated request ids.
    pub request_seq: AtomicU64,
    /// The signature check (`--auth`); `None` accepts everything unchecked.
    pub verifier: Option<Arc<Verifier>>,
}

/// The handle every handler holds.
pub type Shared = Arc<ApiState>;

impl ApiState {
    /// A state for `boot`, with the initial twin built and the clock at zero.
    pub fn new(
        boot: Boot,
        journal: Journal,
        verifier: Option<Verifier>,
    ) -> Result<ApiState, String> {
        let twin = Twin::new(&boot)?;
        Ok(ApiState {
            initial: Mutex::new(twin.initial()),
            twin: Mutex::new(twin),
            clock: Clock::new(SimTime::ZERO, boot.time_scale),
            chaos: Mutex::new(Chaos::new(boot.seed)),
            boot,
            writes: tokio::sync::Mutex::new(()),
            journal: Mutex::new(journal),
            ready: AtomicBool::new(false),
            request_seq: AtomicU64::new(0),
            verifier: verifier.map(Arc::new),
        })
    }

    /// Locks the twin at the request's virtual time (or later, if another
    /// request already moved it on) and records the instant the request acts at.
    pub fn lock(&self, ctx: &Ctx) -> MutexGuard<'_, Twin> {
        let mut t = self.lock_raw();
        let target = ctx.now.max(t.now);
        t.advance_to(target);
        ctx.record_effective(t.now);
        t
    }

    /// Locks the twin without moving time (control plane).
    pub fn lock_raw(&self) -> MutexGuard<'_, Twin> {
        self.twin.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A twin at the server's initial state.
    pub fn fresh_twin(&self) -> Twin {
        let i = self.initial.lock().unwrap_or_else(|p| p.into_inner());
        Twin::from_initial(i.clone())
    }

    /// Replaces the twin (reset and restore).
    pub fn replace_twin(&self, twin: Twin) {
        *self.lock_raw() = twin;
    }

    /// True once start-up seeding finished.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }
}
