//! The reference architecture's wiring as the world plays it: MySQL DB
//! systems and the Deployments that use them, External Secrets (`eso.rs`) and
//! the Secrets pods need to start.
//!
//! A pod whose container references a missing Secret (or a missing key) by
//! `env`/`envFrom` stays in `CreateContainerConfigError`, as kubelet reports
//! it; one mounting a missing Secret volume stays `ContainerCreating` with a
//! `FailedMount` event. kubelet retries every [`KUBELET_RETRY`]. A pod that
//! starts takes a snapshot of the Secrets it uses: virtual nodes do not
//! propagate Secret updates to running pods (domain.md §3.6), so a rotated
//! value reaches only pods started after the sync.
//!
//! Owns which Deployment connects to which DB system, with what credentials,
//! over which network path, and turns the DB system's state into the view the
//! traffic model needs at each interval: is the read/write endpoint up, is it
//! reachable, and which pods hold a password the database accepts. Failover
//! itself is the MySQL model's (`model::mysql`); this module only forwards
//! domain failures to it and records what happened, in virtual time.

use std::collections::{BTreeMap, BTreeSet};

use super::eso::{Eso, KubeSecret, Provider};
use crate::kernel::{SimDuration, SimTime};
use crate::model::iam::Iam;
use crate::model::identity::Identity;
use crate::model::kube::cluster::{KubeCluster, PodId, RsId};
use crate::model::mysql::{DbSystemId, Domain, Mysql};
use crate::model::topology::FaultDomain;
use crate::model::vault::VaultService;

/// A Deployment that connects to a DB system.
#[derive(Clone, Debug)]
pub struct DbClient {
    /// The Deployment.
    pub deployment: String,
    /// The Kubernetes Secret holding its credentials, and the key of the
    /// password in it; `None`: the app authenticates by other means.
    pub secret: Option<(String, String)>,
    /// The network path from its pods to the endpoint: `Err` names what blocks it.
    pub path: Result<String, String>,
}

/// A DB system of the scenario with the application's view of it.
#[derive(Clone, Debug)]
pub struct Database {
    /// Scenario name.
    pub name: String,
    /// The model's id.
    pub id: DbSystemId,
    /// The password the application user has in the database now.
    pub password: String,
    /// NSGs of the endpoint's VNIC (its subnet is the DB system's).
    pub nsgs: Vec<String>,
    /// Deployments that use it.
    pub clients: Vec<DbClient>,
    /// Periods without a working primary: (from, until; `None` while it lasts).
    pub outages: Vec<(SimTime, Option<SimTime>)>,
}

impl Database {
    /// The share of (`now` − `window`, `now`] without a working primary.
    pub fn outage_share(&self, now: SimTime, window: SimDuration) -> f64 {
        if window == SimDuration::ZERO {
            return 0.0;
        }
        let start = now.as_ms().saturating_sub(window.as_ms());
        let down: u64 = self
            .outages
            .iter()
            .map(|(from, until)| {
                let a = from.as_ms().max(start);
                let b = until.map_or(now.as_ms(), |u| u.as_ms()).min(now.as_ms());
                b.saturating_sub(a)
            })
            .sum();
        (down as f64 / window.as_ms() as f64).min(1.0)
    }
}

/// Something that happened to a DB system, for the report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DbEvent {
    /// When.
    pub at: SimTime,
    /// Which DB system (scenario name).
    pub database: String,
    /// What, in words.
    pub what: String,
}

/// Why a Deployment's requests cannot use its database at one instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DbOutage {
    /// No primary answers (down, or a failover in progress).
    Unavailable,
    /// The network path from the pods to the endpoint is closed.
    Unreachable,
}

/// What the traffic model needs to know about one Deployment's database.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DbView {
    /// Why requests cannot use the database for part of the interval.
    pub outage: Option<DbOutage>,
    /// The share of the interval the outage covers (0 to 1).
    pub outage_share: f64,
    /// Pods whose password the database refuses (wrong or missing).
    pub bad_credentials: BTreeSet<PodId>,
}

/// How long kubelet waits before retrying a pod whose start failed
/// (`workerBackOffPeriod`, 10 s; the virtual kubelet is assumed to match).
pub const KUBELET_RETRY: SimDuration = SimDuration::from_secs(10);

/// A timeline action on the wiring's services.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WiringAction {
    /// Start (`false`) or end (`true`) an outage of a vault.
    VaultAvailable {
        /// Vault OCID.
        vault_id: String,
        /// Whether it answers again.
        available: bool,
    },
    /// Rotate a secret: new content (base64) becomes CURRENT.
    RotateSecret {
        /// Secret OCID.
        secret_id: String,
        /// Base64 content.
        content: String,
    },
    /// Schedule a secret's deletion (inaccessible at once).
    DeleteSecret {
        /// Secret OCID.
        secret_id: String,
    },
    /// Change the application user's password in a DB system.
    SetDbPassword {
        /// Index in [`Wiring::databases`].
        database: usize,
        /// The new password.
        password: String,
    },
}

/// A change to a vault or database made by the timeline, for the report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceEvent {
    /// When.
    pub at: SimTime,
    /// What, in words (with the model's error if it refused).
    pub what: String,
}

/// How a container uses a Secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretUse {
    /// `env[].valueFrom.secretKeyRef`.
    EnvKey,
    /// `envFrom[].secretRef`.
    EnvFrom,
    /// A `secret` volume.
    Volume,
}

/// A Secret a Deployment's pods need to start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretNeed {
    /// Secret name (in the pod's namespace).
    pub secret: String,
    /// The key, for `secretKeyRef`.
    pub key: Option<String>,
    /// How it is used.
    pub via: SecretUse,
    /// `optional: true`: the pod starts without it.
    pub optional: bool,
}

/// A pod that could not start for want of a Secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Waiting {
    /// Since when.
    pub since: SimTime,
    /// `CreateContainerConfigError` or `ContainerCreating`.
    pub reason: &'static str,
    /// kubelet's message.
    pub message: String,
    /// When it started at last, if it did.
    pub started_at: Option<SimTime>,
}

/// The wiring state of a world.
#[derive(Clone, Debug, Default)]
pub struct Wiring {
    /// The MySQL service.
    pub mysql: Mysql,
    /// The External Secrets Operator and the Secrets it writes.
    pub eso: Eso,
    /// Compartments the scenario declares (for IAM locations).
    pub identity: Option<Identity>,
    /// The cluster's OCID (workload principals carry it).
    pub cluster_id: String,
    /// Per Deployment (namespace, name): the Secrets its pods need.
    pub needs: BTreeMap<(String, String), Vec<SecretNeed>>,
    /// Per started pod: the Secrets it started with (name → snapshot).
    pub pod_secrets: BTreeMap<PodId, BTreeMap<String, KubeSecret>>,
    /// Pods that waited for a Secret.
    pub waiting: BTreeMap<PodId, Waiting>,
    /// Timeline changes to vaults and databases.
    pub service_events: Vec<ServiceEvent>,
    /// DB systems declared by the scenario.
    pub databases: Vec<Database>,
    /// DB system history.
    pub db_events: Vec<DbEvent>,
    /// Domains failed by each timeline failure, to recover them.
    failed_domains: BTreeMap<u32, Domain>,
}

impl Wiring {
    /// Nothing wired.
    pub fn new(mysql: Mysql) -> Wiring {
        Wiring {
            mysql,
            ..Wiring::default()
        }
    }

    /// An AD or FD failure (timeline id `failure`) reaches the DB systems.
    pub fn fail_domain(&mut self, failure: u32, domain: Domain, now: SimTime) {
        let before: Vec<bool> = self.primaries_up(now);
        self.mysql.fail_domain(domain, now);
        self.failed_domains.insert(failure, domain);
        self.note_changes(&before, now);
    }

    /// A failure ends.
    pub fn recover(&mut self, failure: u32, now: SimTime) {
        let Some(domain) = self.failed_domains.remove(&failure) else {
            return;
        };
        let before = self.primaries_up(now);
        self.mysql.recover_domain(domain, now);
        self.note_changes(&before, now);
    }

    /// Applies failovers due by `now`; returns true when one happened.
    pub fn settle(&mut self, now: SimTime) -> bool {
        let before = self.primaries_up(now);
        let done = self.mysql.settle(now);
        for f in &done {
            let Some(db) = self
                .databases
                .iter()
                .find(|d| self.mysql.get(d.id).id == f.db_system)
            else {
                continue;
            };
            self.db_events.push(DbEvent {
                at: f.at,
                database: db.name.clone(),
                what: format!(
                    "failover: primary moves from {} to {}",
                    placement(f.from),
                    placement(f.to)
                ),
            });
        }
        self.close_outages(&before, now);
        !done.is_empty()
    }

    /// Addresses held by DB system endpoints (for the world's IP accounting).
    pub fn endpoint_ips(&self) -> u64 {
        self.mysql
            .systems
            .iter()
            .filter(|s| s.lifecycle != crate::model::mysql::DbLifecycle::Deleted)
            .count() as u64
    }

    /// When a controller of the wiring next has work: a failover or a reconcile.
    pub fn next_due(&self) -> Option<SimTime> {
        [self.mysql.next_due(), self.eso.next_due()]
            .into_iter()
            .flatten()
            .min()
    }

    /// Per ExternalSecret: (successful syncs, failed reconciles) so far.
    pub fn reconcile_counts(&self) -> Vec<(u32, u32)> {
        self.eso
            .externals
            .iter()
            .map(|(_, s)| {
                (
                    s.synced_total + u32::from(s.reason == "SecretDeleted"),
                    s.failed_total,
                )
            })
            .collect()
    }

    /// Per DB system: whether its read/write endpoint answers at `now`.
    pub fn primaries_up(&self, now: SimTime) -> Vec<bool> {
        self.databases
            .iter()
            .map(|d| self.mysql.get(d.id).is_available(now))
            .collect()
    }

    /// Opens or closes outage periods where availability changed.
    fn close_outages(&mut self, before: &[bool], now: SimTime) {
        let after = self.primaries_up(now);
        for (i, d) in self.databases.iter_mut().enumerate() {
            match (before[i], after[i]) {
                (true, false) => d.outages.push((now, None)),
                (false, true) => {
                    if let Some(last) = d.outages.last_mut() {
                        last.1 = Some(now);
                    }
                }
                _ => {}
            }
        }
    }

    fn note_changes(&mut self, before: &[bool], now: SimTime) {
        self.close_outages(before, now);
        let after = self.primaries_up(now);
        for (i, d) in self.databases.iter().enumerate() {
            let s = self.mysql.get(d.id);
            let what = match (before[i], after[i]) {
                (true, false) => format!(
                    "primary in {} lost{}",
                    placement(s.primary_domain()),
                    if s.is_highly_available {
                        format!(
                            "; a secondary takes over after {}",
                            self.mysql.cfg.failover_time
                        )
                    } else {
                        "; standalone: down until its domain recovers".to_string()
                    }
                ),
                (false, true) => format!("primary in {} back", placement(s.primary_domain())),
                _ => continue,
            };
            self.db_events.push(DbEvent {
                at: now,
                database: d.name.clone(),
                what,
            });
        }
    }

    /// The value of `key` in the Secret `secret` as pod `pod` started with it.
    pub fn pod_secret_value(&self, pod: PodId, secret: &str, key: &str) -> Option<String> {
        self.pod_secrets
            .get(&pod)?
            .get(secret)?
            .data
            .get(key)
            .cloned()
    }

    /// Whether a pod of `deployment` in `namespace` can start now: `Ok` takes
    /// its snapshot of the Secrets it uses; `Err` records why not (kubelet
    /// retries after [`KUBELET_RETRY`]).
    pub fn admit_start(
        &mut self,
        pod: PodId,
        namespace: &str,
        deployment: &str,
        now: SimTime,
    ) -> Result<(), String> {
        let needs = self
            .needs
            .get(&(namespace.to_string(), deployment.to_string()))
            .cloned()
            .unwrap_or_default();
        let mut snapshot = BTreeMap::new();
        for n in &needs {
            let found = self
                .eso
                .secrets
                .get(&(namespace.to_string(), n.secret.clone()));
            let problem = match (found, &n.key) {
                (None, _) if n.optional => None,
                (None, _) => Some(match n.via {
                    SecretUse::Volume => (
                        "ContainerCreating",
                        format!(
                            "FailedMount: MountVolume.SetUp failed for volume \"{}\" : secret \"{}\" not found",
                            n.secret, n.secret
                        ),
                    ),
                    _ => (
                        "CreateContainerConfigError",
                        format!("secret \"{}\" not found", n.secret),
                    ),
                }),
                (Some(s), Some(k)) if !s.data.contains_key(k) && !n.optional => Some((
                    "CreateContainerConfigError",
                    format!("couldn't find key {k} in Secret {namespace}/{}", n.secret),
                )),
                (Some(s), _) => {
                    snapshot.insert(n.secret.clone(), s.clone());
                    None
                }
            };
            if let Some((reason, message)) = problem {
                let w = self.waiting.entry(pod).or_insert(Waiting {
                    since: now,
                    reason,
                    message: message.clone(),
                    started_at: None,
                });
                w.reason = reason;
                w.message = message.clone();
                return Err(message);
            }
        }
        if let Some(w) = self.waiting.get_mut(&pod) {
            w.started_at = Some(now);
        }
        if !snapshot.is_empty() {
            self.pod_secrets.insert(pod, snapshot);
        }
        Ok(())
    }

    /// Applies a timeline action at `now`.
    pub fn act(&mut self, a: WiringAction, now: SimTime, vault: &mut VaultService) {
        let what = match a {
            WiringAction::VaultAvailable {
                vault_id,
                available,
            } => {
                let name = vault
                    .vault(&vault_id)
                    .map(|v| v.display_name.clone())
                    .unwrap_or_else(|_| vault_id.clone());
                match vault.set_vault_available(&vault_id, available) {
                    Ok(()) if available => format!("vault {name} answers again"),
                    Ok(()) => format!("vault {name} outage: every read fails"),
                    Err(e) => format!("vault {name}: {e}"),
                }
            }
            WiringAction::RotateSecret { secret_id, content } => {
                let name = vault
                    .secret(&secret_id)
                    .map(|s| s.name.clone())
                    .unwrap_or_else(|_| secret_id.clone());
                match vault.rotate_secret(now, &secret_id, content) {
                    Ok(n) => format!("secret {name} rotated: version {n} is CURRENT"),
                    Err(e) => format!("secret {name} rotation refused: {e}"),
                }
            }
            WiringAction::DeleteSecret { secret_id } => {
                let name = vault
                    .secret(&secret_id)
                    .map(|s| s.name.clone())
                    .unwrap_or_else(|_| secret_id.clone());
                match vault.schedule_secret_deletion(now, &secret_id, None) {
                    Ok(_) => format!("secret {name} scheduled for deletion: inaccessible from now"),
                    Err(e) => format!("secret {name} deletion refused: {e}"),
                }
            }
            WiringAction::SetDbPassword { database, password } => {
                let d = &mut self.databases[database];
                d.password = password;
                format!("DB system {}: application password changed", d.name)
            }
        };
        self.service_events.push(ServiceEvent { at: now, what });
    }

    /// Runs the controllers due at `now`: failovers, then External Secrets.
    pub fn tick(&mut self, now: SimTime, vault: &VaultService, iam: &Iam) {
        self.settle(now);
        let Some(tree) = self.identity.as_ref() else {
            return;
        };
        let provider = Provider {
            vault,
            iam,
            tree,
            cluster_id: &self.cluster_id,
        };
        self.eso.reconcile_due(now, &provider);
    }

    /// The database view of every client Deployment at `now`. `password_of`
    /// gives the password a pod started with (`None`: missing).
    pub fn views(
        &self,
        kube: &KubeCluster,
        rs_of: &dyn Fn(&str) -> Option<RsId>,
        password_of: &dyn Fn(PodId, &str, &str) -> Option<String>,
        now: SimTime,
        window: SimDuration,
    ) -> BTreeMap<RsId, DbView> {
        let mut out = BTreeMap::new();
        for d in &self.databases {
            let share = d.outage_share(now, window);
            for c in &d.clients {
                let Some(rs) = rs_of(&c.deployment) else {
                    continue;
                };
                let (outage, outage_share) = if c.path.is_err() {
                    (Some(DbOutage::Unreachable), 1.0)
                } else if share > 0.0 {
                    (Some(DbOutage::Unavailable), share)
                } else {
                    (None, 0.0)
                };
                let mut view = DbView {
                    outage,
                    outage_share,
                    bad_credentials: BTreeSet::new(),
                };
                if let Some((secret, key)) = &c.secret {
                    view.bad_credentials = kube
                        .rs(rs)
                        .active
                        .iter()
                        .copied()
                        .filter(|p| password_of(*p, secret, key).as_deref() != Some(&d.password))
                        .collect();
                }
                out.insert(rs, view);
            }
        }
        out
    }
}

/// `AD-1/FAULT-DOMAIN-2`.
fn placement((ad, fd): (u8, FaultDomain)) -> String {
    format!("AD-{ad}/{fd}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outage_share_is_the_overlap_with_the_interval() {
        let t = |s: u64| SimTime::ZERO + SimDuration::from_secs(s);
        let d = Database {
            name: "db".into(),
            id: DbSystemId(0),
            password: String::new(),
            nsgs: Vec::new(),
            clients: Vec::new(),
            outages: vec![(t(100), Some(t(160))), (t(200), None)],
        };
        let w = SimDuration::from_secs(15);
        assert_eq!(d.outage_share(t(100), w), 0.0);
        assert_eq!(d.outage_share(t(115), w), 1.0);
        assert!((d.outage_share(t(165), w) - 10.0 / 15.0).abs() < 1e-9);
        assert_eq!(d.outage_share(t(190), w), 0.0);
        assert!((d.outage_share(t(205), w) - 5.0 / 15.0).abs() < 1e-9);
        assert_eq!(d.outage_share(t(900), w), 1.0);
    }
}
