//! The External Secrets Operator's Oracle provider as the world plays it:
//! `SecretStore`s, `ExternalSecret`s and the Kubernetes Secrets they write
//! (domain.md §5.2, §5.3, §6).
//!
//! One reconcile of an ExternalSecret: for each remote reference, authorise
//! `read secret-bundles` for the store's workload principal (cluster,
//! namespace, service account) with the IAM evaluator, then read
//! `GetSecretBundleByName(vault, key, stage)` from the Vault model, decode it,
//! pick `property` (or extract every key of a JSON object), and write the
//! target Secret as `creationPolicy` says. Any failure marks the
//! ExternalSecret Ready=False with reason `SecretSyncedError`, leaves the
//! existing Secret untouched, and requeues with controller-runtime's default
//! per-item backoff (5 ms doubling to 1000 s). A success requeues after
//! `refreshInterval` (Periodic), or never (CreatedOnce, OnChange, or `0s`).
//!
//! Time only moves through the caller: `next_due` says when to call
//! `reconcile_due` again. Nothing here knows files or JSON beyond the secret
//! content a provider returns.

use std::collections::BTreeMap;

use base64::Engine as _;

use crate::kernel::{SimDuration, SimTime};
use crate::model::iam::{CompartmentTree, Iam, Principal, Request, Verb, secret_target};
use crate::model::vault::{Stage, VaultService, VersionSelector};

/// controller-runtime's default per-item backoff: the first retry.
pub const BACKOFF_BASE: SimDuration = SimDuration::from_ms(5);
/// controller-runtime's default per-item backoff: the cap.
pub const BACKOFF_MAX: SimDuration = SimDuration::from_secs(1000);

/// How the store authenticates (`spec.provider.oracle.principalType`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreAuth {
    /// OKE workload identity as `service_account` of the store's namespace.
    Workload {
        /// The service account (`serviceAccountRef.name`, or ESO's own).
        service_account: String,
    },
    /// Instance principal (not available to virtual-node pods; always denied).
    Instance,
    /// A user's API key (`auth`); the twin models no users, so always denied.
    User,
}

/// A `SecretStore` with the Oracle provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretStore {
    /// Name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// Vault OCID.
    pub vault_id: String,
    /// Region identifier.
    pub region: String,
    /// How it authenticates.
    pub auth: StoreAuth,
}

/// `spec.refreshPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefreshPolicy {
    /// Every `refreshInterval` (the default behaviour).
    Periodic,
    /// Once, when the Secret is created.
    CreatedOnce,
    /// Only when the ExternalSecret's spec changes.
    OnChange,
}

/// `spec.target.creationPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CreationPolicy {
    /// Create and own the Secret (default).
    Owner,
    /// Create it without an owner reference.
    Orphan,
    /// Only merge into an existing Secret.
    Merge,
    /// Never write.
    None,
}

/// `spec.target.deletionPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeletionPolicy {
    /// Keep the Secret when the provider secret is gone (default); that is an error.
    Retain,
    /// Delete the Secret when the provider secret is gone.
    Delete,
    /// Remove only the provider's keys.
    Merge,
}

/// `remoteRef`: which secret, which stage, which property.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteRef {
    /// The OCI secret's name (`key`).
    pub key: String,
    /// The OCI stage (`version`; empty means CURRENT).
    pub stage: Stage,
    /// A JSON path into the content (`property`).
    pub property: Option<String>,
}

/// What an ExternalSecret asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExternalSecretSpec {
    /// Name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// The SecretStore's name (same namespace).
    pub store: String,
    /// `refreshInterval` (`0s`: fetch once).
    pub refresh_interval: SimDuration,
    /// `refreshPolicy`.
    pub refresh_policy: RefreshPolicy,
    /// Target Secret name (default: the ExternalSecret's name).
    pub target: String,
    /// `creationPolicy`.
    pub creation: CreationPolicy,
    /// `deletionPolicy`.
    pub deletion: DeletionPolicy,
    /// `data`: Secret key ← remote reference.
    pub data: Vec<(String, RemoteRef)>,
    /// `dataFrom[].extract`: every key of a JSON object.
    pub data_from: Vec<RemoteRef>,
}

/// The Ready condition and what the controller remembers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExternalSecretStatus {
    /// `Ready` condition status (`None` before the first reconcile).
    pub ready: Option<bool>,
    /// Its reason: `SecretSynced`, `SecretSyncedError`, `SecretDeleted`.
    pub reason: String,
    /// Its message (the provider's or the IAM evaluator's explanation).
    pub message: String,
    /// `status.refreshTime`: the last successful sync.
    pub refresh_time: Option<SimTime>,
    /// Failed reconciles in a row (the backoff exponent).
    pub failures: u32,
    /// Failed reconciles in total.
    pub failed_total: u32,
    /// Successful syncs in total.
    pub synced_total: u32,
    /// When the controller reconciles it next.
    pub next: Option<SimTime>,
    /// Vault versions last synced, per secret name.
    pub versions: BTreeMap<String, u32>,
}

/// A Kubernetes Secret written by the controller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KubeSecret {
    /// Key → value (decoded).
    pub data: BTreeMap<String, String>,
    /// Where it came from: `db-credentials v2`.
    pub source: String,
    /// Bumped on every write (resourceVersion).
    pub resource_version: u64,
    /// When it was created.
    pub created_at: SimTime,
}

/// Something the controller did, for the report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EsoEvent {
    /// When.
    pub at: SimTime,
    /// The ExternalSecret (`namespace/name`).
    pub external_secret: String,
    /// What happened.
    pub what: String,
}

/// The services a reconcile reads.
pub struct Provider<'a> {
    /// The Vault service.
    pub vault: &'a VaultService,
    /// IAM policies.
    pub iam: &'a Iam,
    /// The compartment tree.
    pub tree: &'a dyn CompartmentTree,
    /// The cluster's OCID (workload principals carry it).
    pub cluster_id: &'a str,
}

/// The controller's state.
#[derive(Clone, Debug, Default)]
pub struct Eso {
    /// SecretStores.
    pub stores: Vec<SecretStore>,
    /// ExternalSecrets with their status.
    pub externals: Vec<(ExternalSecretSpec, ExternalSecretStatus)>,
    /// Secrets by (namespace, name).
    pub secrets: BTreeMap<(String, String), KubeSecret>,
    /// What happened: first sync, each change of content or condition.
    pub events: Vec<EsoEvent>,
    writes: u64,
}

impl Eso {
    /// Adds an ExternalSecret to be reconciled at `at`.
    pub fn add(&mut self, spec: ExternalSecretSpec, at: SimTime) {
        let status = ExternalSecretStatus {
            next: Some(at),
            ..Default::default()
        };
        self.externals.push((spec, status));
    }

    /// The earliest pending reconcile.
    pub fn next_due(&self) -> Option<SimTime> {
        self.externals.iter().filter_map(|(_, s)| s.next).min()
    }

    /// Reconciles every ExternalSecret due at `now`; returns true when a
    /// Secret was created, changed or deleted.
    pub fn reconcile_due(&mut self, now: SimTime, p: &Provider) -> bool {
        let mut changed = false;
        for i in 0..self.externals.len() {
            if self.externals[i].1.next.is_some_and(|t| t <= now) {
                changed |= self.reconcile(i, now, p);
            }
        }
        changed
    }

    fn reconcile(&mut self, i: usize, now: SimTime, p: &Provider) -> bool {
        let spec = self.externals[i].0.clone();
        let store = self
            .stores
            .iter()
            .find(|s| s.name == spec.store && s.namespace == spec.namespace)
            .cloned()
            .expect("the store is checked when the scenario loads");
        match fetch(&spec, &store, now, p) {
            Ok(Fetched::Data(data, versions)) => self.write(i, data, versions, now),
            Ok(Fetched::Gone(msg)) => self.delete_target(i, msg, now),
            Err(msg) => {
                self.fail(i, msg, now);
                false
            }
        }
    }

    /// Writes the target Secret as the creation policy says; marks Ready.
    fn write(
        &mut self,
        i: usize,
        data: BTreeMap<String, String>,
        versions: BTreeMap<String, u32>,
        now: SimTime,
    ) -> bool {
        let (spec, _) = &self.externals[i];
        let key = (spec.namespace.clone(), spec.target.clone());
        let source = versions
            .iter()
            .map(|(n, v)| format!("{n} v{v}"))
            .collect::<Vec<_>>()
            .join(", ");
        let existing = self.secrets.get(&key);
        let outcome = match (spec.creation, existing) {
            (CreationPolicy::None, _) => Ok(false),
            (CreationPolicy::Merge, None) => Err(format!(
                "creationPolicy Merge: Secret {}/{} does not exist",
                key.0, key.1
            )),
            (_, Some(s)) if s.data == data => Ok(false),
            (policy, old) => {
                let mut merged = match (policy, old) {
                    (CreationPolicy::Merge, Some(o)) => o.data.clone(),
                    _ => BTreeMap::new(),
                };
                merged.extend(data);
                self.writes += 1;
                let created_at = old.map_or(now, |o| o.created_at);
                self.secrets.insert(
                    key.clone(),
                    KubeSecret {
                        data: merged,
                        source: source.clone(),
                        resource_version: self.writes,
                        created_at,
                    },
                );
                Ok(true)
            }
        };
        let wrote = match outcome {
            Ok(w) => w,
            Err(msg) => {
                self.fail(i, msg, now);
                return false;
            }
        };
        let (spec, st) = &mut self.externals[i];
        let first = st.ready != Some(true);
        st.ready = Some(true);
        st.reason = "SecretSynced".into();
        st.message = "secret synced".into();
        st.refresh_time = Some(now);
        st.failures = 0;
        st.synced_total += 1;
        st.versions = versions;
        st.next = match spec.refresh_policy {
            RefreshPolicy::Periodic if spec.refresh_interval > SimDuration::ZERO => {
                Some(now + spec.refresh_interval)
            }
            _ => None,
        };
        if first || wrote {
            let what = if wrote {
                format!(
                    "Ready=True SecretSynced: wrote Secret {} from {source}",
                    spec.target
                )
            } else {
                format!("Ready=True SecretSynced ({source}, Secret unchanged)")
            };
            let name = format!("{}/{}", spec.namespace, spec.name);
            self.events.push(EsoEvent {
                at: now,
                external_secret: name,
                what,
            });
        }
        wrote
    }

    /// The provider secret is gone and deletionPolicy is Delete.
    fn delete_target(&mut self, i: usize, msg: String, now: SimTime) -> bool {
        let (spec, st) = &mut self.externals[i];
        let removed = self
            .secrets
            .remove(&(spec.namespace.clone(), spec.target.clone()))
            .is_some();
        st.ready = Some(true);
        st.reason = "SecretDeleted".into();
        st.message = msg.clone();
        st.failures = 0;
        st.next = match spec.refresh_policy {
            RefreshPolicy::Periodic if spec.refresh_interval > SimDuration::ZERO => {
                Some(now + spec.refresh_interval)
            }
            _ => None,
        };
        if removed {
            self.events.push(EsoEvent {
                at: now,
                external_secret: format!("{}/{}", spec.namespace, spec.name),
                what: format!(
                    "Secret {} deleted (deletionPolicy Delete): {msg}",
                    spec.target
                ),
            });
        }
        removed
    }

    /// markAsFailed: Ready=False, SecretSyncedError; the Secret is left as it is.
    fn fail(&mut self, i: usize, msg: String, now: SimTime) {
        let (spec, st) = &mut self.externals[i];
        let changed = st.ready != Some(false) || st.message != msg;
        st.ready = Some(false);
        st.reason = "SecretSyncedError".into();
        st.failures += 1;
        st.failed_total += 1;
        st.next = Some(now + backoff(st.failures));
        if changed {
            st.message = msg.clone();
            self.events.push(EsoEvent {
                at: now,
                external_secret: format!("{}/{}", spec.namespace, spec.name),
                what: format!(
                    "Ready=False SecretSyncedError (Warning UpdateFailed): {msg}; the Secret is left as it is; retrying with backoff"
                ),
            });
        }
    }
}

/// The delay before retry `failures` (1-based): 5 ms × 2^(n−1), at most 1000 s.
pub fn backoff(failures: u32) -> SimDuration {
    let exp = failures.saturating_sub(1).min(30);
    let ms = BACKOFF_BASE.as_ms().saturating_mul(1u64 << exp);
    SimDuration::from_ms(ms.min(BACKOFF_MAX.as_ms()))
}

/// What a fetch found.
enum Fetched {
    /// Secret data and the Vault versions it came from.
    Data(BTreeMap<String, String>, BTreeMap<String, u32>),
    /// The provider secret is gone and the deletion policy deletes the target.
    Gone(String),
}

/// Authorises and reads every remote reference of `spec`.
fn fetch(
    spec: &ExternalSecretSpec,
    store: &SecretStore,
    now: SimTime,
    p: &Provider,
) -> Result<Fetched, String> {
    let mut data = BTreeMap::new();
    let mut versions = BTreeMap::new();
    let refs = spec
        .data
        .iter()
        .map(|(k, r)| (Some(k.as_str()), r))
        .chain(spec.data_from.iter().map(|r| (None, r)));
    for (secret_key, r) in refs {
        let (content, version) = match read(store, r, now, p) {
            Ok(x) => x,
            Err(ReadError::NotFound(msg)) if spec.deletion != DeletionPolicy::Retain => {
                return Ok(Fetched::Gone(msg));
            }
            Err(ReadError::NotFound(msg) | ReadError::Other(msg)) => return Err(msg),
        };
        versions.insert(r.key.clone(), version);
        match secret_key {
            Some(k) => {
                let v = match &r.property {
                    Some(path) => property(&content, path)
                        .ok_or_else(|| format!("key {} has no property `{path}`", r.key))?,
                    None => content,
                };
                data.insert(k.to_string(), v);
            }
            None => data.extend(extract(&content).ok_or_else(|| {
                format!(
                    "dataFrom.extract: the content of {} is not a JSON object",
                    r.key
                )
            })?),
        }
    }
    Ok(Fetched::Data(data, versions))
}

enum ReadError {
    /// The provider says NotAuthorizedOrNotFound because the secret is missing.
    NotFound(String),
    /// Anything else (outage, IAM denial, bad content).
    Other(String),
}

/// One `GetSecretBundleByName`, authorised for the store's principal.
fn read(
    store: &SecretStore,
    r: &RemoteRef,
    now: SimTime,
    p: &Provider,
) -> Result<(String, u32), ReadError> {
    let principal = match &store.auth {
        StoreAuth::Workload { service_account } => Principal::Workload {
            cluster_id: p.cluster_id.to_string(),
            namespace: store.namespace.clone(),
            service_account: service_account.clone(),
        },
        StoreAuth::Instance => {
            return Err(ReadError::Other(
                "instance principal: pods on virtual nodes have no instance principal; use principalType Workload".into(),
            ));
        }
        StoreAuth::User => {
            return Err(ReadError::Other(
                "user principal: the twin models no users or API keys; use principalType Workload"
                    .into(),
            ));
        }
    };
    let secret = match p.vault.secret_by_name(now, &store.vault_id, &r.key) {
        Ok(s) => s,
        Err(e) => {
            return Err(ReadError::NotFound(format!(
                "GetSecretBundleByName: 404 NotAuthorizedOrNotFound: {e}"
            )));
        }
    };
    let request = Request {
        principal,
        verb: Verb::Read,
        resource_type: "secret-bundles".into(),
        compartment_id: secret.compartment_id.clone(),
        target: secret_target(&store.vault_id, &secret.id, &secret.name),
    };
    let decision = p.iam.evaluate(p.tree, &request);
    if !decision.is_allowed() {
        return Err(ReadError::Other(format!(
            "GetSecretBundleByName: 404 NotAuthorizedOrNotFound: {}",
            decision.explain()
        )));
    }
    let bundle = p
        .vault
        .bundle_by_name(
            now,
            &store.vault_id,
            &r.key,
            &VersionSelector::Stage(r.stage),
        )
        .map_err(|e| {
            let status = match e {
                crate::model::vault::VaultError::VaultUnavailable(_) => "503 ServiceUnavailable",
                _ => "404 NotAuthorizedOrNotFound",
            };
            let msg = format!("GetSecretBundleByName: {status}: {e}");
            if status.starts_with("404") {
                ReadError::NotFound(msg)
            } else {
                ReadError::Other(msg)
            }
        })?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(bundle.content.as_bytes())
        .map_err(|e| ReadError::Other(format!("secret {}: content is not base64: {e}", r.key)))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| ReadError::Other(format!("secret {}: content is not UTF-8", r.key)))?;
    Ok((text, bundle.version_number))
}

/// A gjson-style dotted path into a JSON document; strings come out bare,
/// other values as JSON text.
pub fn property(content: &str, path: &str) -> Option<String> {
    let mut v: serde_json::Value = serde_json::from_str(content).ok()?;
    for part in path.split('.') {
        v = match v {
            serde_json::Value::Object(mut m) => m.remove(part)?,
            serde_json::Value::Array(mut a) => {
                let i: usize = part.parse().ok()?;
                if i >= a.len() {
                    return None;
                }
                a.swap_remove(i)
            }
            _ => return None,
        };
    }
    Some(match v {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    })
}

/// `dataFrom.extract`: every top-level key of a JSON object.
pub fn extract(content: &str) -> Option<BTreeMap<String, String>> {
    let v: serde_json::Value = serde_json::from_str(content).ok()?;
    let serde_json::Value::Object(m) = v else {
        return None;
    };
    Some(
        m.into_iter()
            .map(|(k, v)| {
                let s = match v {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                };
                (k, s)
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_5ms_to_1000s() {
        assert_eq!(backoff(1), SimDuration::from_ms(5));
        assert_eq!(backoff(2), SimDuration::from_ms(10));
        assert_eq!(backoff(10), SimDuration::from_ms(5 * 512));
        assert_eq!(backoff(18), SimDuration::from_ms(655_360));
        assert_eq!(backoff(19), BACKOFF_MAX);
        assert_eq!(backoff(500), BACKOFF_MAX);
    }

    #[test]
    fn properties_and_extraction_follow_json() {
        let c = r#"{"username":"app","password":"pw","port":3306,"nested":{"a":"b"}}"#;
        assert_eq!(property(c, "password").as_deref(), Some("pw"));
        assert_eq!(property(c, "port").as_deref(), Some("3306"));
        assert_eq!(property(c, "nested.a").as_deref(), Some("b"));
        assert_eq!(property(c, "missing"), None);
        assert_eq!(property("not json", "x"), None);
        let m = extract(c).unwrap();
        assert_eq!(m.len(), 4);
        assert_eq!(m["username"], "app");
        assert_eq!(extract("[1,2]"), None);
    }
}
