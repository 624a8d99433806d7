//! OCI Vault: vaults, master encryption keys (with key versions) and secrets
//! with versions and rotation stages (domain.md §5.1, docs/vault-facts.md).
//!
//! This module owns the secret stage rules: which version is CURRENT, PENDING,
//! PREVIOUS, LATEST or DEPRECATED after a create, an update, a rotation or a
//! promotion, which versions may be scheduled for deletion, and what a bundle
//! read returns. Stages are derived from three pointers held per secret
//! (`current`, `pending`, `previous`) plus the newest version number, so
//! "exactly one CURRENT" and "LATEST is the newest" hold by construction.
//!
//! Lifecycle states move in virtual time only: each resource keeps a
//! [`Lifecycle`] timeline of (time, state) steps and the state at `now` is read
//! from it, so there are no timers inside the model. Secret content is kept as
//! the base64 text the API carries. Nothing here knows HTTP or JSON.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use thiserror::Error;

use super::ocid::OcidMint;
use crate::kernel::{SimDuration, SimTime};

/// Milliseconds in one day, for the deletion windows.
const DAY: SimDuration = SimDuration::from_secs(86_400);

/// Service limits of Vault (domain.md §5.1, Universal Credits defaults).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VaultLimits {
    /// Secret versions per secret that are not scheduled for deletion (30).
    pub versions_in_use_per_secret: usize,
    /// Secret versions per secret that are pending deletion (30); with the
    /// previous limit, the documented 60 versions per secret.
    pub versions_pending_deletion_per_secret: usize,
    /// Largest decoded secret bundle, in bytes (25 KB, docs/vault-facts.md).
    pub max_bundle_bytes: usize,
    /// Secrets per tenancy (5000).
    pub secrets_per_tenancy: usize,
}

impl Default for VaultLimits {
    fn default() -> Self {
        VaultLimits {
            versions_in_use_per_secret: 30,
            versions_pending_deletion_per_secret: 30,
            max_bundle_bytes: 25 * 1024,
            secrets_per_tenancy: 5000,
        }
    }
}

/// How long each asynchronous transition takes in virtual time. OCI publishes
/// none of these: every value is an assumption (README assumptions table).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VaultTimings {
    /// Vault CREATING → ACTIVE.
    pub vault_create: SimDuration,
    /// Key CREATING → ENABLED, and ENABLING/DISABLING.
    pub key_change: SimDuration,
    /// Secret CREATING → ACTIVE.
    pub secret_create: SimDuration,
    /// Secret UPDATING → ACTIVE after a new version or a promotion.
    pub secret_update: SimDuration,
    /// SCHEDULING_DELETION → PENDING_DELETION and CANCELLING_DELETION → ACTIVE.
    pub deletion_change: SimDuration,
}

impl Default for VaultTimings {
    fn default() -> Self {
        VaultTimings {
            vault_create: SimDuration::from_secs(20),
            key_change: SimDuration::from_secs(5),
            secret_create: SimDuration::from_secs(2),
            secret_update: SimDuration::from_secs(1),
            deletion_change: SimDuration::from_secs(1),
        }
    }
}

/// A state timeline: the state at `t` is the last step at or before `t`.
///
/// Operations replace the steps after `now` with their own, so a cancelled
/// deletion never fires.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lifecycle<S> {
    steps: Vec<(SimTime, S)>,
}

impl<S: Copy + Eq + fmt::Debug> Lifecycle<S> {
    /// Starts in `first` at `now`, then follows `then` (times must not decrease).
    pub fn new(now: SimTime, first: S, then: &[(SimTime, S)]) -> Self {
        let mut l = Lifecycle {
            steps: vec![(now, first)],
        };
        l.steps.extend_from_slice(then);
        l.assert_ordered();
        l
    }

    /// The state at `t`.
    pub fn at(&self, t: SimTime) -> S {
        let idx = self.steps.partition_point(|(at, _)| *at <= t);
        // The first step is at creation time; asking before it means a bug.
        assert!(idx > 0, "state asked at {t} before creation");
        self.steps[idx - 1].1
    }

    /// Drops the steps after `now` and appends `steps` (which start at `now` or later).
    pub fn replan(&mut self, now: SimTime, steps: &[(SimTime, S)]) {
        self.steps.retain(|(at, _)| *at <= now);
        self.steps.extend_from_slice(steps);
        self.assert_ordered();
    }

    /// When the timeline reaches `state` (the first step in it at or after `from`).
    pub fn when(&self, state: S, from: SimTime) -> Option<SimTime> {
        self.steps
            .iter()
            .find(|(at, s)| *s == state && *at >= from)
            .map(|(at, _)| *at)
    }

    fn assert_ordered(&self) {
        assert!(
            self.steps.windows(2).all(|w| w[0].0 <= w[1].0),
            "lifecycle steps out of order: {:?}",
            self.steps
        );
    }
}

/// A vault's type (`vaultType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum VaultType {
    /// Shared partition.
    Default,
    /// Dedicated partition.
    VirtualPrivate,
    /// Keys held by an external key manager.
    External,
}

impl VaultType {
    /// The API's name (`DEFAULT`, `VIRTUAL_PRIVATE`, `EXTERNAL`).
    pub fn as_str(self) -> &'static str {
        match self {
            VaultType::Default => "DEFAULT",
            VaultType::VirtualPrivate => "VIRTUAL_PRIVATE",
            VaultType::External => "EXTERNAL",
        }
    }
}

/// A vault's lifecycle state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum VaultState {
    /// Being created.
    Creating,
    /// Usable.
    Active,
    /// Deletion requested, moving to PENDING_DELETION.
    SchedulingDeletion,
    /// Waiting for its time of deletion.
    PendingDeletion,
    /// Deletion being cancelled, moving back to ACTIVE.
    CancellingDeletion,
    /// Gone.
    Deleted,
}

impl VaultState {
    /// The API's name.
    pub fn as_str(self) -> &'static str {
        match self {
            VaultState::Creating => "CREATING",
            VaultState::Active => "ACTIVE",
            VaultState::SchedulingDeletion => "SCHEDULING_DELETION",
            VaultState::PendingDeletion => "PENDING_DELETION",
            VaultState::CancellingDeletion => "CANCELLING_DELETION",
            VaultState::Deleted => "DELETED",
        }
    }
}

/// A key's lifecycle state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum KeyState {
    /// Being created.
    Creating,
    /// Being enabled.
    Enabling,
    /// Usable for encryption.
    Enabled,
    /// Being disabled.
    Disabling,
    /// Not usable.
    Disabled,
    /// Deletion requested.
    SchedulingDeletion,
    /// Waiting for its time of deletion.
    PendingDeletion,
    /// Deletion being cancelled.
    CancellingDeletion,
    /// Gone.
    Deleted,
}

impl KeyState {
    /// The API's name.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Creating => "CREATING",
            KeyState::Enabling => "ENABLING",
            KeyState::Enabled => "ENABLED",
            KeyState::Disabling => "DISABLING",
            KeyState::Disabled => "DISABLED",
            KeyState::SchedulingDeletion => "SCHEDULING_DELETION",
            KeyState::PendingDeletion => "PENDING_DELETION",
            KeyState::CancellingDeletion => "CANCELLING_DELETION",
            KeyState::Deleted => "DELETED",
        }
    }
}

/// A secret's lifecycle state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SecretState {
    /// Being created.
    Creating,
    /// Usable.
    Active,
    /// A new version or a promotion is being applied; still readable.
    Updating,
    /// Deletion requested; already inaccessible.
    SchedulingDeletion,
    /// Waiting for its time of deletion; inaccessible.
    PendingDeletion,
    /// Deletion being cancelled.
    CancellingDeletion,
    /// Gone.
    Deleted,
}

impl SecretState {
    /// The API's name.
    pub fn as_str(self) -> &'static str {
        match self {
            SecretState::Creating => "CREATING",
            SecretState::Active => "ACTIVE",
            SecretState::Updating => "UPDATING",
            SecretState::SchedulingDeletion => "SCHEDULING_DELETION",
            SecretState::PendingDeletion => "PENDING_DELETION",
            SecretState::CancellingDeletion => "CANCELLING_DELETION",
            SecretState::Deleted => "DELETED",
        }
    }

    /// Whether a scheduled deletion is in force (the secret is inaccessible).
    pub fn is_deleting(self) -> bool {
        matches!(
            self,
            SecretState::SchedulingDeletion | SecretState::PendingDeletion | SecretState::Deleted
        )
    }
}

/// A secret version's rotation stage (domain.md §5.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// In use.
    Current,
    /// Staged, not yet rotated into use.
    Pending,
    /// The most recently created version.
    Latest,
    /// The version most recently CURRENT before the last rotation.
    Previous,
    /// None of CURRENT, PENDING or PREVIOUS.
    Deprecated,
}

impl Stage {
    /// Every stage, in the order OCI lists them.
    pub const ALL: [Stage; 5] = [
        Stage::Current,
        Stage::Pending,
        Stage::Latest,
        Stage::Previous,
        Stage::Deprecated,
    ];

    /// The API's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Current => "CURRENT",
            Stage::Pending => "PENDING",
            Stage::Latest => "LATEST",
            Stage::Previous => "PREVIOUS",
            Stage::Deprecated => "DEPRECATED",
        }
    }

    /// Parses a stage name, ignoring case.
    pub fn parse(text: &str) -> Option<Stage> {
        Stage::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(text))
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The stage a new version is given (`secretContent.stage`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NewVersionStage {
    /// Becomes CURRENT at once (the default).
    #[default]
    Current,
    /// Staged as PENDING; a later promotion makes it CURRENT.
    Pending,
}

/// Which version of a secret a read wants (`versionNumber`, `secretVersionName`
/// or `stage`; none means CURRENT).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VersionSelector {
    /// By version number (from 1).
    Number(u32),
    /// By version name.
    Name(String),
    /// By stage. Several DEPRECATED versions: the newest is returned.
    Stage(Stage),
}

impl Default for VersionSelector {
    fn default() -> Self {
        VersionSelector::Stage(Stage::Current)
    }
}

impl fmt::Display for VersionSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VersionSelector::Number(n) => write!(f, "version number {n}"),
            VersionSelector::Name(n) => write!(f, "version name `{n}`"),
            VersionSelector::Stage(s) => write!(f, "stage {s}"),
        }
    }
}

/// Freeform and defined tags, echoed back as given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tags {
    /// `freeformTags`: key → value.
    pub freeform: BTreeMap<String, String>,
    /// `definedTags`: namespace → key → value.
    pub defined: BTreeMap<String, BTreeMap<String, String>>,
}

/// Errors of the Vault model; each names the vault, key, secret or version.
#[derive(Debug, Error, PartialEq, Eq, Clone)]
pub enum VaultError {
    /// No vault with this OCID.
    #[error("vault {0} not found")]
    VaultNotFound(String),
    /// No key with this OCID.
    #[error("key {0} not found")]
    KeyNotFound(String),
    /// No secret with this OCID.
    #[error("secret {0} not found")]
    SecretNotFound(String),
    /// No secret of this name in the vault.
    #[error("no secret named `{name}` in vault {vault}")]
    SecretNameNotFound {
        /// The vault searched.
        vault: String,
        /// The name asked for.
        name: String,
    },
    /// The secret has no version matching the selector.
    #[error("secret `{secret}` ({id}) has no {selector}")]
    VersionNotFound {
        /// Secret name.
        secret: String,
        /// Secret OCID.
        id: String,
        /// What was asked for.
        selector: String,
    },
    /// The vault is not ACTIVE.
    #[error("vault {vault} is {state}, not ACTIVE")]
    VaultNotActive {
        /// Vault OCID.
        vault: String,
        /// Its state.
        state: &'static str,
    },
    /// The vault is unreachable (an outage injected by a scenario).
    #[error("vault {0} is unavailable")]
    VaultUnavailable(String),
    /// The key is not ENABLED.
    #[error("key {key} is {state}, not ENABLED")]
    KeyNotEnabled {
        /// Key OCID.
        key: String,
        /// Its state.
        state: &'static str,
    },
    /// The secret's key cannot decrypt it now.
    #[error("secret `{secret}` cannot be decrypted: its key {key} is {state}, not ENABLED")]
    KeyUnusable {
        /// Secret name.
        secret: String,
        /// Key OCID.
        key: String,
        /// The key's state.
        state: &'static str,
    },
    /// The key belongs to another vault.
    #[error("key {key} belongs to vault {key_vault}, not to vault {vault}")]
    KeyInOtherVault {
        /// Key OCID.
        key: String,
        /// The key's vault.
        key_vault: String,
        /// The vault asked for.
        vault: String,
    },
    /// A key shape OCI does not offer.
    #[error("invalid key shape: {0}")]
    InvalidKeyShape(String),
    /// A secret or version name is empty, too long or has characters OCI refuses.
    #[error("invalid {what} name `{name}`: use 1-255 letters, digits, `-`, `_` or `.`")]
    InvalidName {
        /// `secret` or `secret version`.
        what: &'static str,
        /// The name.
        name: String,
    },
    /// A second live secret with the same name in one vault.
    #[error("vault {vault} already has a secret named `{name}`")]
    DuplicateSecretName {
        /// Vault OCID.
        vault: String,
        /// The name.
        name: String,
    },
    /// Two versions of one secret with the same name.
    #[error("secret `{secret}` already has a version named `{name}`")]
    DuplicateVersionName {
        /// Secret name.
        secret: String,
        /// The version name.
        name: String,
    },
    /// Content that is not base64.
    #[error("content of secret `{secret}` is not valid base64: {detail}")]
    InvalidBase64 {
        /// Secret name.
        secret: String,
        /// The decoder's complaint.
        detail: String,
    },
    /// Content over the bundle size limit.
    #[error("content of secret `{secret}` is {bytes} bytes, over the limit of {limit} bytes")]
    ContentTooLarge {
        /// Secret name.
        secret: String,
        /// Decoded size.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// The secret's state does not allow the operation.
    #[error("secret `{secret}` ({id}) is {state}: cannot {operation}")]
    SecretWrongState {
        /// Secret name.
        secret: String,
        /// Secret OCID.
        id: String,
        /// Its state.
        state: &'static str,
        /// What was attempted.
        operation: &'static str,
    },
    /// A resource whose state does not allow the operation (vault or key).
    #[error("{kind} {id} is {state}: cannot {operation}")]
    WrongState {
        /// `vault` or `key`.
        kind: &'static str,
        /// OCID.
        id: String,
        /// Its state.
        state: &'static str,
        /// What was attempted.
        operation: &'static str,
    },
    /// A version scheduled for deletion cannot be read or promoted.
    #[error("version {version} of secret `{secret}` is scheduled for deletion")]
    VersionPendingDeletion {
        /// Secret name.
        secret: String,
        /// Version number.
        version: u32,
    },
    /// Only DEPRECATED versions may be scheduled for deletion.
    #[error(
        "version {version} of secret `{secret}` is {stages}: only DEPRECATED versions can be scheduled for deletion"
    )]
    VersionNotDeprecated {
        /// Secret name.
        secret: String,
        /// Version number.
        version: u32,
        /// Its stages, comma-separated.
        stages: String,
    },
    /// The version is not scheduled for deletion (cancel of nothing).
    #[error("version {version} of secret `{secret}` is not scheduled for deletion")]
    VersionNotPendingDeletion {
        /// Secret name.
        secret: String,
        /// Version number.
        version: u32,
    },
    /// The per-secret version limit is reached.
    #[error("secret `{secret}` already has {count} {what} versions (limit {limit})")]
    VersionLimit {
        /// Secret name.
        secret: String,
        /// `in-use` or `pending-deletion`.
        what: &'static str,
        /// Versions counted.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// The tenancy's secret limit is reached.
    #[error("the tenancy already has {limit} secrets (service limit)")]
    SecretLimit {
        /// The limit.
        limit: usize,
    },
    /// A time of deletion outside the allowed window.
    #[error("time of deletion for {what} must be {min_days} to {max_days} days from now")]
    DeletionWindow {
        /// What is being deleted (names it).
        what: String,
        /// Earliest, in days.
        min_days: u64,
        /// Latest, in days.
        max_days: u64,
    },
    /// An update both adds content and promotes a version.
    #[error("secret `{0}`: an update gives either new content or currentVersionNumber, not both")]
    ContentAndPromotion(String),
}

/// What a new vault needs (`CreateVaultDetails`).
#[derive(Clone, Debug)]
pub struct VaultSpec {
    /// Compartment OCID.
    pub compartment_id: String,
    /// Display name.
    pub display_name: String,
    /// Vault type.
    pub vault_type: VaultType,
    /// Tags.
    pub tags: Tags,
}

/// A vault.
#[derive(Clone, Debug)]
pub struct Vault {
    /// OCID.
    pub id: String,
    /// Compartment OCID.
    pub compartment_id: String,
    /// Display name.
    pub display_name: String,
    /// Vault type.
    pub vault_type: VaultType,
    /// OCID of the vault's internal wrapping key.
    pub wrapping_key_id: String,
    /// Tags.
    pub tags: Tags,
    /// Creation time.
    pub time_created: SimTime,
    /// Scheduled deletion time, while a deletion is in force.
    pub time_of_deletion: Option<SimTime>,
    /// Whether the vault answers (false during an injected outage).
    pub available: bool,
    /// State timeline.
    pub lifecycle: Lifecycle<VaultState>,
}

impl Vault {
    /// State at `now`.
    pub fn state(&self, now: SimTime) -> VaultState {
        self.lifecycle.at(now)
    }
}

/// A key's shape (`keyShape`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyShape {
    /// `AES`, `RSA` or `ECDSA`.
    pub algorithm: KeyAlgorithm,
    /// Length in bytes (AES 16/24/32, RSA 256/384/512, ECDSA 32/48/66).
    pub length: u32,
    /// ECDSA curve (`NIST_P256`, ...).
    pub curve_id: Option<String>,
}

/// A key algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyAlgorithm {
    /// Symmetric.
    Aes,
    /// RSA.
    Rsa,
    /// Elliptic curve.
    Ecdsa,
}

impl KeyAlgorithm {
    /// The API's name.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyAlgorithm::Aes => "AES",
            KeyAlgorithm::Rsa => "RSA",
            KeyAlgorithm::Ecdsa => "ECDSA",
        }
    }
}

impl KeyShape {
    /// Checks algorithm, length and curve against what KMS offers (oci-api.md §5.4).
    pub fn validate(&self) -> Result<(), VaultError> {
        let (lengths, curves): (&[u32], &[&str]) = match self.algorithm {
            KeyAlgorithm::Aes => (&[16, 24, 32], &[]),
            KeyAlgorithm::Rsa => (&[256, 384, 512], &[]),
            KeyAlgorithm::Ecdsa => (&[32, 48, 66], &["NIST_P256", "NIST_P384", "NIST_P521"]),
        };
        let alg = self.algorithm.as_str();
        if !lengths.contains(&self.length) {
            return Err(VaultError::InvalidKeyShape(format!(
                "{alg} keys have length {lengths:?} bytes, not {}",
                self.length
            )));
        }
        match (&self.curve_id, curves.is_empty()) {
            (Some(c), true) => Err(VaultError::InvalidKeyShape(format!(
                "{alg} keys take no curveId (got {c})"
            ))),
            (Some(c), false) if !curves.contains(&c.as_str()) => {
                Err(VaultError::InvalidKeyShape(format!("unknown curveId {c}")))
            }
            _ => Ok(()),
        }
    }
}

/// What a new key needs (`CreateKeyDetails`).
#[derive(Clone, Debug)]
pub struct KeySpec {
    /// Compartment OCID.
    pub compartment_id: String,
    /// The vault whose management endpoint received the request.
    pub vault_id: String,
    /// Display name.
    pub display_name: String,
    /// Shape.
    pub shape: KeyShape,
    /// `HSM` (default), `SOFTWARE` or `EXTERNAL`.
    pub protection_mode: String,
    /// Tags.
    pub tags: Tags,
}

/// One version of a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyVersion {
    /// OCID.
    pub id: String,
    /// Creation time.
    pub time_created: SimTime,
}

/// A master encryption key.
#[derive(Clone, Debug)]
pub struct Key {
    /// OCID.
    pub id: String,
    /// Compartment OCID.
    pub compartment_id: String,
    /// Vault OCID.
    pub vault_id: String,
    /// Display name.
    pub display_name: String,
    /// Shape.
    pub shape: KeyShape,
    /// Protection mode.
    pub protection_mode: String,
    /// Tags.
    pub tags: Tags,
    /// Creation time.
    pub time_created: SimTime,
    /// Versions, oldest first; the last is current.
    pub versions: Vec<KeyVersion>,
    /// Scheduled deletion time, while a deletion is in force.
    pub time_of_deletion: Option<SimTime>,
    /// State timeline.
    pub lifecycle: Lifecycle<KeyState>,
}

impl Key {
    /// State at `now`.
    pub fn state(&self, now: SimTime) -> KeyState {
        self.lifecycle.at(now)
    }

    /// The current key version.
    pub fn current_version(&self) -> &KeyVersion {
        self.versions.last().expect("a key always has a version")
    }
}

/// New content for a secret (`secretContent`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewContent {
    /// Base64 content.
    pub content: String,
    /// Optional version name, unique within the secret.
    pub name: Option<String>,
    /// CURRENT (default) or PENDING.
    pub stage: NewVersionStage,
}

/// What a new secret needs (`CreateSecretDetails`).
#[derive(Clone, Debug)]
pub struct SecretSpec {
    /// Compartment OCID.
    pub compartment_id: String,
    /// Vault OCID.
    pub vault_id: String,
    /// Key OCID (an ENABLED key of that vault).
    pub key_id: String,
    /// Secret name, unique per vault.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Opaque metadata document, echoed back as given.
    pub metadata: Option<String>,
    /// Tags.
    pub tags: Tags,
    /// The first version's content. It is CURRENT and LATEST whatever stage is asked.
    pub content: NewContent,
}

/// A change to a secret (`UpdateSecretDetails`); `None` leaves a field alone.
#[derive(Clone, Debug, Default)]
pub struct SecretUpdate {
    /// New description.
    pub description: Option<String>,
    /// New metadata.
    pub metadata: Option<String>,
    /// New tags.
    pub tags: Option<Tags>,
    /// A new version.
    pub content: Option<NewContent>,
    /// Promote this existing version to CURRENT.
    pub current_version_number: Option<u32>,
}

/// One version of a secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretVersion {
    /// Version number, from 1.
    pub number: u32,
    /// Optional name.
    pub name: Option<String>,
    /// Base64 content.
    pub content: String,
    /// Creation time.
    pub time_created: SimTime,
    /// When the version is (or was) deleted, if scheduled.
    pub time_of_deletion: Option<SimTime>,
}

impl SecretVersion {
    /// Scheduled for deletion and not yet deleted at `now`.
    pub fn is_pending_deletion(&self, now: SimTime) -> bool {
        self.time_of_deletion.is_some_and(|t| now < t)
    }

    /// Deleted at `now`.
    pub fn is_deleted(&self, now: SimTime) -> bool {
        self.time_of_deletion.is_some_and(|t| now >= t)
    }
}

/// A secret with its versions.
#[derive(Clone, Debug)]
pub struct Secret {
    /// OCID.
    pub id: String,
    /// Compartment OCID.
    pub compartment_id: String,
    /// Vault OCID.
    pub vault_id: String,
    /// Key OCID.
    pub key_id: String,
    /// Name, unique per vault.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Opaque metadata document.
    pub metadata: Option<String>,
    /// Tags.
    pub tags: Tags,
    /// Creation time.
    pub time_created: SimTime,
    /// Scheduled deletion time, while a deletion is in force.
    pub time_of_deletion: Option<SimTime>,
    /// Versions by number.
    pub versions: BTreeMap<u32, SecretVersion>,
    /// The CURRENT version.
    current: u32,
    /// The PENDING version, if any.
    pending: Option<u32>,
    /// The PREVIOUS version, if any.
    previous: Option<u32>,
    /// State timeline.
    pub lifecycle: Lifecycle<SecretState>,
}

impl Secret {
    /// State at `now`.
    pub fn state(&self, now: SimTime) -> SecretState {
        self.lifecycle.at(now)
    }

    /// The CURRENT version's number (`currentVersionNumber`).
    pub fn current_version_number(&self) -> u32 {
        self.current
    }

    /// The newest version's number (LATEST).
    pub fn latest_version_number(&self) -> u32 {
        *self
            .versions
            .keys()
            .next_back()
            .expect("a secret always has a version")
    }

    /// The stages of version `n`, in OCI's order; empty for an unknown version.
    pub fn stages(&self, n: u32) -> Vec<Stage> {
        if !self.versions.contains_key(&n) {
            return Vec::new();
        }
        let mut out = Vec::with_capacity(2);
        if n == self.current {
            out.push(Stage::Current);
        }
        if self.pending == Some(n) {
            out.push(Stage::Pending);
        }
        if n == self.latest_version_number() {
            out.push(Stage::Latest);
        }
        if self.previous == Some(n) {
            out.push(Stage::Previous);
        }
        if n != self.current && self.pending != Some(n) && self.previous != Some(n) {
            out.push(Stage::Deprecated);
        }
        out
    }

    /// Versions not deleted at `now`, oldest first.
    pub fn live_versions(&self, now: SimTime) -> impl Iterator<Item = &SecretVersion> {
        self.versions.values().filter(move |v| !v.is_deleted(now))
    }

    /// Finds the version a selector names (deleted versions never match).
    pub fn select(
        &self,
        now: SimTime,
        selector: &VersionSelector,
    ) -> Result<&SecretVersion, VaultError> {
        let mut live = self.versions.values().rev().filter(|v| !v.is_deleted(now));
        let found = match selector {
            VersionSelector::Number(n) => live.find(|v| v.number == *n),
            VersionSelector::Name(name) => live.find(|v| v.name.as_deref() == Some(name.as_str())),
            VersionSelector::Stage(stage) => live.find(|v| self.stages(v.number).contains(stage)),
        };
        found.ok_or_else(|| VaultError::VersionNotFound {
            secret: self.name.clone(),
            id: self.id.clone(),
            selector: selector.to_string(),
        })
    }

    fn count_versions(&self, now: SimTime) -> (usize, usize) {
        let pending = self
            .versions
            .values()
            .filter(|v| v.is_pending_deletion(now))
            .count();
        let in_use = self
            .versions
            .values()
            .filter(|v| v.time_of_deletion.is_none())
            .count();
        (in_use, pending)
    }

    fn wrong_state(&self, now: SimTime, operation: &'static str) -> VaultError {
        VaultError::SecretWrongState {
            secret: self.name.clone(),
            id: self.id.clone(),
            state: self.state(now).as_str(),
            operation,
        }
    }

    /// Makes `n` CURRENT: the old CURRENT becomes PREVIOUS, the old PREVIOUS
    /// loses its stage, and `n` stops being PENDING.
    fn promote(&mut self, n: u32) {
        if n == self.current {
            return;
        }
        self.previous = Some(self.current);
        self.current = n;
        if self.pending == Some(n) {
            self.pending = None;
        }
    }
}

/// A secret bundle: one version with its content (`SecretBundle`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretBundle {
    /// Secret OCID.
    pub secret_id: String,
    /// Version number.
    pub version_number: u32,
    /// Version name.
    pub version_name: Option<String>,
    /// Stages of the version.
    pub stages: Vec<Stage>,
    /// Base64 content.
    pub content: String,
    /// Version creation time.
    pub time_created: SimTime,
    /// Version deletion time, if scheduled.
    pub time_of_deletion: Option<SimTime>,
    /// The secret's metadata.
    pub metadata: Option<String>,
}

/// The Vault service of one region: vaults, keys and secrets by OCID.
#[derive(Clone, Debug)]
pub struct VaultService {
    /// Limits in force.
    pub limits: VaultLimits,
    /// Transition durations in force.
    pub timings: VaultTimings,
    vaults: BTreeMap<String, Vault>,
    keys: BTreeMap<String, Key>,
    secrets: BTreeMap<String, Secret>,
    mint: OcidMint,
    material: crypto::KeyMaterial,
}

impl VaultService {
    /// An empty service minting OCIDs from `mint` and drawing key material
    /// and nonces from `crypto` (fork a stream of its own for each, e.g.
    /// `vault-ocid` and `kms-crypto`, so they never shift other components'
    /// draws).
    pub fn new(
        limits: VaultLimits,
        timings: VaultTimings,
        mint: OcidMint,
        crypto: crate::kernel::RandomStream,
    ) -> Self {
        VaultService {
            limits,
            timings,
            vaults: BTreeMap::new(),
            keys: BTreeMap::new(),
            secrets: BTreeMap::new(),
            mint,
            material: crypto::KeyMaterial::new(crypto),
        }
    }

    // ---- vaults -------------------------------------------------------------

    /// Creates a vault: CREATING now, ACTIVE after `timings.vault_create`.
    pub fn create_vault(&mut self, now: SimTime, spec: VaultSpec) -> String {
        let id = self.mint.regional("vault");
        let wrapping_key_id = self.mint.regional("key");
        let active_at = now + self.timings.vault_create;
        let vault = Vault {
            id: id.clone(),
            compartment_id: spec.compartment_id,
            display_name: spec.display_name,
            vault_type: spec.vault_type,
            wrapping_key_id,
            tags: spec.tags,
            time_created: now,
            time_of_deletion: None,
            available: true,
            lifecycle: Lifecycle::new(
                now,
                VaultState::Creating,
                &[(active_at, VaultState::Active)],
            ),
        };
        self.vaults.insert(id.clone(), vault);
        id
    }

    /// The vault with this OCID.
    pub fn vault(&self, id: &str) -> Result<&Vault, VaultError> {
        self.vaults
            .get(id)
            .ok_or_else(|| VaultError::VaultNotFound(id.to_string()))
    }

    /// Every vault, by OCID.
    pub fn vaults(&self) -> impl Iterator<Item = &Vault> {
        self.vaults.values()
    }

    /// Renames or retags a vault.
    pub fn update_vault(
        &mut self,
        id: &str,
        display_name: Option<String>,
        tags: Option<Tags>,
    ) -> Result<&Vault, VaultError> {
        let vault = self.vault_mut(id)?;
        if let Some(name) = display_name {
            vault.display_name = name;
        }
        if let Some(tags) = tags {
            vault.tags = tags;
        }
        Ok(vault)
    }

    /// Schedules a vault's deletion 7–30 days ahead (default 30).
    pub fn schedule_vault_deletion(
        &mut self,
        now: SimTime,
        id: &str,
        time_of_deletion: Option<SimTime>,
    ) -> Result<&Vault, VaultError> {
        let step = self.timings.deletion_change;
        let vault = self.vault_mut(id)?;
        let state = vault.state(now);
        if state != VaultState::Active {
            return Err(wrong_state(
                "vault",
                id,
                state.as_str(),
                "schedule deletion",
            ));
        }
        let at = deletion_time(now, time_of_deletion, 7, 30, || format!("vault {id}"))?;
        vault.time_of_deletion = Some(at);
        vault.lifecycle.replan(
            now,
            &[
                (now, VaultState::SchedulingDeletion),
                (now + step, VaultState::PendingDeletion),
                (at.max(now + step), VaultState::Deleted),
            ],
        );
        Ok(vault)
    }

    /// Cancels a vault's scheduled deletion.
    pub fn cancel_vault_deletion(&mut self, now: SimTime, id: &str) -> Result<&Vault, VaultError> {
        let step = self.timings.deletion_change;
        let vault = self.vault_mut(id)?;
        let state = vault.state(now);
        if !matches!(
            state,
            VaultState::SchedulingDeletion | VaultState::PendingDeletion
        ) {
            return Err(wrong_state("vault", id, state.as_str(), "cancel deletion"));
        }
        vault.time_of_deletion = None;
        vault.lifecycle.replan(
            now,
            &[
                (now, VaultState::CancellingDeletion),
                (now + step, VaultState::Active),
            ],
        );
        Ok(vault)
    }

    /// Starts or ends an outage of one vault: while it lasts, every key and
    /// secret operation on it fails with [`VaultError::VaultUnavailable`].
    pub fn set_vault_available(&mut self, id: &str, available: bool) -> Result<(), VaultError> {
        self.vault_mut(id)?.available = available;
        Ok(())
    }

    fn vault_mut(&mut self, id: &str) -> Result<&mut Vault, VaultError> {
        self.vaults
            .get_mut(id)
            .ok_or_else(|| VaultError::VaultNotFound(id.to_string()))
    }

    /// The vault, checked to be reachable and ACTIVE at `now`.
    fn usable_vault(&self, now: SimTime, id: &str) -> Result<&Vault, VaultError> {
        let vault = self.vault(id)?;
        if !vault.available {
            return Err(VaultError::VaultUnavailable(id.to_string()));
        }
        let state = vault.state(now);
        if state != VaultState::Active {
            return Err(VaultError::VaultNotActive {
                vault: id.to_string(),
                state: state.as_str(),
            });
        }
        Ok(vault)
    }

    /// The vault, checked to be reachable (whatever its state).
    fn reachable_vault(&self, id: &str) -> Result<&Vault, VaultError> {
        let vault = self.vault(id)?;
        if !vault.available {
            return Err(VaultError::VaultUnavailable(id.to_string()));
        }
        Ok(vault)
    }

    // ---- keys ---------------------------------------------------------------

    /// Creates a key in an ACTIVE vault: CREATING, then ENABLED.
    pub fn create_key(&mut self, now: SimTime, spec: KeySpec) -> Result<String, VaultError> {
        self.usable_vault(now, &spec.vault_id)?;
        spec.shape.validate()?;
        let id = self.mint.regional("key");
        let version = KeyVersion {
            id: self.mint.regional("keyversion"),
            time_created: now,
        };
        let enabled_at = now + self.timings.key_change;
        let key = Key {
            id: id.clone(),
            compartment_id: spec.compartment_id,
            vault_id: spec.vault_id,
            display_name: spec.display_name,
            shape: spec.shape,
            protection_mode: spec.protection_mode,
            tags: spec.tags,
            time_created: now,
            versions: vec![version],
            time_of_deletion: None,
            lifecycle: Lifecycle::new(now, KeyState::Creating, &[(enabled_at, KeyState::Enabled)]),
        };
        self.keys.insert(id.clone(), key);
        Ok(id)
    }

    /// The key with this OCID.
    pub fn key(&self, id: &str) -> Result<&Key, VaultError> {
        self.keys
            .get(id)
            .ok_or_else(|| VaultError::KeyNotFound(id.to_string()))
    }

    /// Every key, by OCID.
    pub fn keys(&self) -> impl Iterator<Item = &Key> {
        self.keys.values()
    }

    /// Renames or retags a key.
    pub fn update_key(
        &mut self,
        id: &str,
        display_name: Option<String>,
        tags: Option<Tags>,
    ) -> Result<&Key, VaultError> {
        let key = self.live_key_mut(id)?;
        if let Some(name) = display_name {
            key.display_name = name;
        }
        if let Some(tags) = tags {
            key.tags = tags;
        }
        Ok(key)
    }

    /// Enables a DISABLED key (ENABLING, then ENABLED).
    pub fn enable_key(&mut self, now: SimTime, id: &str) -> Result<&Key, VaultError> {
        self.switch_key(
            now,
            id,
            KeyState::Disabled,
            KeyState::Enabling,
            KeyState::Enabled,
            "enable",
        )
    }

    /// Disables an ENABLED key (DISABLING, then DISABLED).
    pub fn disable_key(&mut self, now: SimTime, id: &str) -> Result<&Key, VaultError> {
        self.switch_key(
            now,
            id,
            KeyState::Enabled,
            KeyState::Disabling,
            KeyState::Disabled,
            "disable",
        )
    }

    fn switch_key(
        &mut self,
        now: SimTime,
        id: &str,
        from: KeyState,
        via: KeyState,
        to: KeyState,
        operation: &'static str,
    ) -> Result<&Key, VaultError> {
        let step = self.timings.key_change;
        let key = self.live_key_mut(id)?;
        let state = key.state(now);
        if state != from {
            return Err(wrong_state("key", id, state.as_str(), operation));
        }
        key.lifecycle.replan(now, &[(now, via), (now + step, to)]);
        Ok(key)
    }

    /// Adds a key version that becomes the key's current version.
    pub fn rotate_key(&mut self, now: SimTime, id: &str) -> Result<&KeyVersion, VaultError> {
        let version_id = self.mint.regional("keyversion");
        let key = self.live_key_mut(id)?;
        let state = key.state(now);
        if state != KeyState::Enabled {
            return Err(wrong_state(
                "key",
                id,
                state.as_str(),
                "create a key version",
            ));
        }
        key.versions.push(KeyVersion {
            id: version_id,
            time_created: now,
        });
        Ok(key.current_version())
    }

    /// Schedules a key's deletion 7–30 days ahead (default 30).
    pub fn schedule_key_deletion(
        &mut self,
        now: SimTime,
        id: &str,
        time_of_deletion: Option<SimTime>,
    ) -> Result<&Key, VaultError> {
        let step = self.timings.deletion_change;
        let key = self.live_key_mut(id)?;
        let state = key.state(now);
        if !matches!(state, KeyState::Enabled | KeyState::Disabled) {
            return Err(wrong_state("key", id, state.as_str(), "schedule deletion"));
        }
        let at = deletion_time(now, time_of_deletion, 7, 30, || format!("key {id}"))?;
        key.time_of_deletion = Some(at);
        key.lifecycle.replan(
            now,
            &[
                (now, KeyState::SchedulingDeletion),
                (now + step, KeyState::PendingDeletion),
                (at.max(now + step), KeyState::Deleted),
            ],
        );
        Ok(key)
    }

    /// Cancels a key's scheduled deletion; the key returns ENABLED.
    pub fn cancel_key_deletion(&mut self, now: SimTime, id: &str) -> Result<&Key, VaultError> {
        let step = self.timings.deletion_change;
        let key = self.live_key_mut(id)?;
        let state = key.state(now);
        if !matches!(
            state,
            KeyState::SchedulingDeletion | KeyState::PendingDeletion
        ) {
            return Err(wrong_state("key", id, state.as_str(), "cancel deletion"));
        }
        key.time_of_deletion = None;
        key.lifecycle.replan(
            now,
            &[
                (now, KeyState::CancellingDeletion),
                (now + step, KeyState::Enabled),
            ],
        );
        Ok(key)
    }

    /// A key whose vault is reachable.
    fn live_key_mut(&mut self, id: &str) -> Result<&mut Key, VaultError> {
        let vault_id = self.key(id)?.vault_id.clone();
        self.reachable_vault(&vault_id)?;
        Ok(self.keys.get_mut(id).expect("key looked up above"))
    }

    // ---- secrets ------------------------------------------------------------

    /// Creates a secret whose version 1 is CURRENT and LATEST (domain.md §5.1:
    /// the first version always is, so a PENDING stage asked for is ignored).
    pub fn create_secret(&mut self, now: SimTime, spec: SecretSpec) -> Result<String, VaultError> {
        self.check_new_secret(now, &spec)?;
        let id = self.mint.regional("vaultsecret");
        let version = SecretVersion {
            number: 1,
            name: spec.content.name,
            content: spec.content.content,
            time_created: now,
            time_of_deletion: None,
        };
        let active_at = now + self.timings.secret_create;
        let secret = Secret {
            id: id.clone(),
            compartment_id: spec.compartment_id,
            vault_id: spec.vault_id,
            key_id: spec.key_id,
            name: spec.name,
            description: spec.description,
            metadata: spec.metadata,
            tags: spec.tags,
            time_created: now,
            time_of_deletion: None,
            versions: BTreeMap::from([(1, version)]),
            current: 1,
            pending: None,
            previous: None,
            lifecycle: Lifecycle::new(
                now,
                SecretState::Creating,
                &[(active_at, SecretState::Active)],
            ),
        };
        self.secrets.insert(id.clone(), secret);
        Ok(id)
    }

    fn check_new_secret(&self, now: SimTime, spec: &SecretSpec) -> Result<(), VaultError> {
        check_secret_name(&spec.name)?;
        check_version_name(&spec.content.name)?;
        self.usable_vault(now, &spec.vault_id)?;
        self.check_key_for(now, &spec.key_id, &spec.vault_id)?;
        self.check_content(&spec.name, &spec.content.content)?;
        let live = self
            .secrets
            .values()
            .filter(|s| s.state(now) != SecretState::Deleted);
        if live.clone().count() >= self.limits.secrets_per_tenancy {
            return Err(VaultError::SecretLimit {
                limit: self.limits.secrets_per_tenancy,
            });
        }
        if live
            .into_iter()
            .any(|s| s.vault_id == spec.vault_id && s.name == spec.name)
        {
            return Err(VaultError::DuplicateSecretName {
                vault: spec.vault_id.clone(),
                name: spec.name.clone(),
            });
        }
        Ok(())
    }

    fn check_key_for(&self, now: SimTime, key_id: &str, vault_id: &str) -> Result<(), VaultError> {
        let key = self.key(key_id)?;
        if key.vault_id != vault_id {
            return Err(VaultError::KeyInOtherVault {
                key: key_id.to_string(),
                key_vault: key.vault_id.clone(),
                vault: vault_id.to_string(),
            });
        }
        let state = key.state(now);
        if state != KeyState::Enabled {
            return Err(VaultError::KeyNotEnabled {
                key: key_id.to_string(),
                state: state.as_str(),
            });
        }
        Ok(())
    }

    fn check_content(&self, secret: &str, content: &str) -> Result<(), VaultError> {
        let bytes = decode_base64(content).map_err(|detail| VaultError::InvalidBase64 {
            secret: secret.to_string(),
            detail,
        })?;
        if bytes.len() > self.limits.max_bundle_bytes {
            return Err(VaultError::ContentTooLarge {
                secret: secret.to_string(),
                bytes: bytes.len(),
                limit: self.limits.max_bundle_bytes,
            });
        }
        Ok(())
    }

    /// The secret with this OCID.
    pub fn secret(&self, id: &str) -> Result<&Secret, VaultError> {
        self.secrets
            .get(id)
            .ok_or_else(|| VaultError::SecretNotFound(id.to_string()))
    }

    /// The live (not DELETED) secret of this name in a vault.
    pub fn secret_by_name(
        &self,
        now: SimTime,
        vault_id: &str,
        name: &str,
    ) -> Result<&Secret, VaultError> {
        self.vault(vault_id)?;
        self.secrets
            .values()
            .find(|s| {
                s.vault_id == vault_id && s.name == name && s.state(now) != SecretState::Deleted
            })
            .ok_or_else(|| VaultError::SecretNameNotFound {
                vault: vault_id.to_string(),
                name: name.to_string(),
            })
    }

    /// Every secret, by OCID.
    pub fn secrets(&self) -> impl Iterator<Item = &Secret> {
        self.secrets.values()
    }

    /// Applies an update: metadata changes, then either a new version (CURRENT
    /// by default, or PENDING) or the promotion of an existing version.
    ///
    /// New CURRENT version: the old CURRENT becomes PREVIOUS, the old PREVIOUS
    /// becomes DEPRECATED, a PENDING version stays PENDING. New PENDING
    /// version: CURRENT and PREVIOUS stay, an older PENDING becomes DEPRECATED
    /// (one PENDING at a time; an assumption). Promotion: the promoted version
    /// becomes CURRENT (and stops being PENDING), the old CURRENT becomes
    /// PREVIOUS. LATEST always marks the newest version.
    pub fn update_secret(
        &mut self,
        now: SimTime,
        id: &str,
        update: SecretUpdate,
    ) -> Result<&Secret, VaultError> {
        let secret = self.secret(id)?;
        self.reachable_vault(&secret.vault_id)?;
        let state = secret.state(now);
        if !matches!(state, SecretState::Active | SecretState::Updating) {
            return Err(secret.wrong_state(now, "update"));
        }
        if update.content.is_some() && update.current_version_number.is_some() {
            return Err(VaultError::ContentAndPromotion(secret.name.clone()));
        }
        if let Some(content) = &update.content {
            self.check_new_version(now, secret, content)?;
        }
        if let Some(n) = update.current_version_number {
            check_promotable(now, secret, n)?;
        }
        let changes_versions = update.content.is_some() || update.current_version_number.is_some();
        let updated_at = now + self.timings.secret_update;
        let secret = self.secrets.get_mut(id).expect("secret looked up above");
        apply_update(now, secret, update);
        if changes_versions {
            secret.lifecycle.replan(
                now,
                &[
                    (now, SecretState::Updating),
                    (updated_at, SecretState::Active),
                ],
            );
        }
        Ok(secret)
    }

    /// Rotates a secret by hand: adds `content` as a PENDING version, then
    /// promotes it, as OCI's rotation does; the stages end as for an update
    /// with CURRENT content.
    pub fn rotate_secret(
        &mut self,
        now: SimTime,
        id: &str,
        content: String,
    ) -> Result<u32, VaultError> {
        let staged = NewContent {
            content,
            name: None,
            stage: NewVersionStage::Pending,
        };
        self.update_secret(
            now,
            id,
            SecretUpdate {
                content: Some(staged),
                ..Default::default()
            },
        )?;
        let n = self.secret(id)?.latest_version_number();
        let secret = self.secrets.get_mut(id).expect("secret updated above");
        secret.promote(n);
        Ok(n)
    }

    fn check_new_version(
        &self,
        now: SimTime,
        secret: &Secret,
        content: &NewContent,
    ) -> Result<(), VaultError> {
        self.check_content(&secret.name, &content.content)?;
        check_version_name(&content.name)?;
        if let Some(name) = &content.name
            && secret
                .live_versions(now)
                .any(|v| v.name.as_ref() == Some(name))
        {
            return Err(VaultError::DuplicateVersionName {
                secret: secret.name.clone(),
                name: name.clone(),
            });
        }
        let (in_use, _) = secret.count_versions(now);
        if in_use >= self.limits.versions_in_use_per_secret {
            return Err(VaultError::VersionLimit {
                secret: secret.name.clone(),
                what: "in-use",
                count: in_use,
                limit: self.limits.versions_in_use_per_secret,
            });
        }
        Ok(())
    }

    /// The bundle a selector names. The vault must be reachable, the secret
    /// ACTIVE or UPDATING (a secret scheduled for deletion is inaccessible at
    /// once), and the version live.
    pub fn bundle(
        &self,
        now: SimTime,
        id: &str,
        selector: &VersionSelector,
    ) -> Result<SecretBundle, VaultError> {
        let secret = self.secret(id)?;
        self.bundle_of(now, secret, selector)
    }

    /// A secret's content can be decrypted only while its vault is not being
    /// deleted and its key is ENABLED (assumptions: OCI documents that a
    /// disabled key cannot decrypt, not how the Secrets API reports it).
    fn check_decryptable(&self, now: SimTime, secret: &Secret) -> Result<(), VaultError> {
        let vault_state = self.vault(&secret.vault_id)?.state(now);
        if matches!(
            vault_state,
            VaultState::SchedulingDeletion | VaultState::PendingDeletion | VaultState::Deleted
        ) {
            return Err(VaultError::VaultNotActive {
                vault: secret.vault_id.clone(),
                state: vault_state.as_str(),
            });
        }
        let key_state = self.key(&secret.key_id)?.state(now);
        if key_state != KeyState::Enabled {
            return Err(VaultError::KeyUnusable {
                secret: secret.name.clone(),
                key: secret.key_id.clone(),
                state: key_state.as_str(),
            });
        }
        Ok(())
    }

    /// The bundle of the secret named `name` in `vault_id`.
    pub fn bundle_by_name(
        &self,
        now: SimTime,
        vault_id: &str,
        name: &str,
        selector: &VersionSelector,
    ) -> Result<SecretBundle, VaultError> {
        self.reachable_vault(vault_id)?;
        let secret = self.secret_by_name(now, vault_id, name)?;
        self.bundle_of(now, secret, selector)
    }

    fn bundle_of(
        &self,
        now: SimTime,
        secret: &Secret,
        selector: &VersionSelector,
    ) -> Result<SecretBundle, VaultError> {
        self.reachable_vault(&secret.vault_id)?;
        if !matches!(
            secret.state(now),
            SecretState::Active | SecretState::Updating
        ) {
            return Err(secret.wrong_state(now, "read its content"));
        }
        self.check_decryptable(now, secret)?;
        let version = secret.select(now, selector)?;
        if version.is_pending_deletion(now) {
            return Err(VaultError::VersionPendingDeletion {
                secret: secret.name.clone(),
                version: version.number,
            });
        }
        Ok(SecretBundle {
            secret_id: secret.id.clone(),
            version_number: version.number,
            version_name: version.name.clone(),
            stages: secret.stages(version.number),
            content: version.content.clone(),
            time_created: version.time_created,
            time_of_deletion: version.time_of_deletion,
            metadata: secret.metadata.clone(),
        })
    }

    /// Schedules a secret's deletion 1–30 days ahead (default 30). The secret
    /// is inaccessible from now on.
    pub fn schedule_secret_deletion(
        &mut self,
        now: SimTime,
        id: &str,
        time_of_deletion: Option<SimTime>,
    ) -> Result<&Secret, VaultError> {
        let step = self.timings.deletion_change;
        let secret = self.secret(id)?;
        self.reachable_vault(&secret.vault_id)?;
        if !matches!(
            secret.state(now),
            SecretState::Active | SecretState::Updating
        ) {
            return Err(secret.wrong_state(now, "schedule deletion"));
        }
        let at = deletion_time(now, time_of_deletion, 1, 30, || {
            format!("secret `{}`", secret.name)
        })?;
        let secret = self.secrets.get_mut(id).expect("secret looked up above");
        secret.time_of_deletion = Some(at);
        secret.lifecycle.replan(
            now,
            &[
                (now, SecretState::SchedulingDeletion),
                (now + step, SecretState::PendingDeletion),
                (at.max(now + step), SecretState::Deleted),
            ],
        );
        Ok(secret)
    }

    /// Cancels a secret's scheduled deletion (CANCELLING_DELETION, then ACTIVE).
    pub fn cancel_secret_deletion(
        &mut self,
        now: SimTime,
        id: &str,
    ) -> Result<&Secret, VaultError> {
        let step = self.timings.deletion_change;
        let secret = self.secret(id)?;
        self.reachable_vault(&secret.vault_id)?;
        if !matches!(
            secret.state(now),
            SecretState::SchedulingDeletion | SecretState::PendingDeletion
        ) {
            return Err(secret.wrong_state(now, "cancel deletion"));
        }
        let secret = self.secrets.get_mut(id).expect("secret looked up above");
        secret.time_of_deletion = None;
        secret.lifecycle.replan(
            now,
            &[
                (now, SecretState::CancellingDeletion),
                (now + step, SecretState::Active),
            ],
        );
        Ok(secret)
    }

    /// Schedules one DEPRECATED version's deletion 1–30 days ahead (default 30).
    pub fn schedule_version_deletion(
        &mut self,
        now: SimTime,
        id: &str,
        number: u32,
        time_of_deletion: Option<SimTime>,
    ) -> Result<&SecretVersion, VaultError> {
        let secret = self.secret(id)?;
        self.reachable_vault(&secret.vault_id)?;
        if !matches!(
            secret.state(now),
            SecretState::Active | SecretState::Updating
        ) {
            return Err(secret.wrong_state(now, "schedule a version's deletion"));
        }
        let version = secret.select(now, &VersionSelector::Number(number))?;
        check_version_deletable(now, secret, version)?;
        let (_, pending) = secret.count_versions(now);
        if pending >= self.limits.versions_pending_deletion_per_secret {
            return Err(VaultError::VersionLimit {
                secret: secret.name.clone(),
                what: "pending-deletion",
                count: pending,
                limit: self.limits.versions_pending_deletion_per_secret,
            });
        }
        let what = || format!("version {number} of secret `{}`", secret.name);
        let at = deletion_time(now, time_of_deletion, 1, 30, what)?;
        let secret = self.secrets.get_mut(id).expect("secret looked up above");
        let version = secret
            .versions
            .get_mut(&number)
            .expect("version selected above");
        version.time_of_deletion = Some(at);
        Ok(version)
    }

    /// Cancels one version's scheduled deletion.
    pub fn cancel_version_deletion(
        &mut self,
        now: SimTime,
        id: &str,
        number: u32,
    ) -> Result<&SecretVersion, VaultError> {
        let secret = self.secret(id)?;
        self.reachable_vault(&secret.vault_id)?;
        let version = secret.select(now, &VersionSelector::Number(number))?;
        if !version.is_pending_deletion(now) {
            return Err(VaultError::VersionNotPendingDeletion {
                secret: secret.name.clone(),
                version: number,
            });
        }
        let secret = self.secrets.get_mut(id).expect("secret looked up above");
        let version = secret
            .versions
            .get_mut(&number)
            .expect("version selected above");
        version.time_of_deletion = None;
        Ok(version)
    }
}

/// Applies a checked update to a secret (fields, then versions and stages).
fn apply_update(now: SimTime, secret: &mut Secret, update: SecretUpdate) {
    if let Some(d) = update.description {
        secret.description = Some(d);
    }
    if let Some(m) = update.metadata {
        secret.metadata = Some(m);
    }
    if let Some(t) = update.tags {
        secret.tags = t;
    }
    if let Some(content) = update.content {
        let n = secret.latest_version_number() + 1;
        secret.versions.insert(
            n,
            SecretVersion {
                number: n,
                name: content.name,
                content: content.content,
                time_created: now,
                time_of_deletion: None,
            },
        );
        match content.stage {
            NewVersionStage::Current => secret.promote(n),
            NewVersionStage::Pending => secret.pending = Some(n),
        }
    }
    if let Some(n) = update.current_version_number {
        secret.promote(n);
    }
}

fn check_promotable(now: SimTime, secret: &Secret, n: u32) -> Result<(), VaultError> {
    let version = secret.select(now, &VersionSelector::Number(n))?;
    if version.is_pending_deletion(now) {
        return Err(VaultError::VersionPendingDeletion {
            secret: secret.name.clone(),
            version: n,
        });
    }
    Ok(())
}

fn check_version_deletable(
    now: SimTime,
    secret: &Secret,
    version: &SecretVersion,
) -> Result<(), VaultError> {
    if version.is_pending_deletion(now) {
        return Err(VaultError::VersionPendingDeletion {
            secret: secret.name.clone(),
            version: version.number,
        });
    }
    // "Only versions marked DEPRECATED": a version also marked LATEST is kept,
    // so LATEST always names a live version (an assumption).
    let stages = secret.stages(version.number);
    if stages != [Stage::Deprecated] {
        let names: Vec<&str> = stages.iter().map(|s| s.as_str()).collect();
        return Err(VaultError::VersionNotDeprecated {
            secret: secret.name.clone(),
            version: version.number,
            stages: names.join(", "),
        });
    }
    Ok(())
}

fn wrong_state(
    kind: &'static str,
    id: &str,
    state: &'static str,
    operation: &'static str,
) -> VaultError {
    VaultError::WrongState {
        kind,
        id: id.to_string(),
        state,
        operation,
    }
}

/// The deletion time asked for (default: the window's maximum), checked to lie
/// `min_days` to `max_days` after `now`.
fn deletion_time(
    now: SimTime,
    asked: Option<SimTime>,
    min_days: u64,
    max_days: u64,
    what: impl FnOnce() -> String,
) -> Result<SimTime, VaultError> {
    let earliest = SimTime(now.0 + min_days * DAY.0);
    let latest = SimTime(now.0 + max_days * DAY.0);
    let at = asked.unwrap_or(latest);
    if at < earliest || at > latest {
        return Err(VaultError::DeletionWindow {
            what: what(),
            min_days,
            max_days,
        });
    }
    Ok(at)
}

/// Secret and version names: letters, digits, `-`, `_` and `.` (SDK model
/// docs); 1–255 characters (the length bound is UNCONFIRMED).
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

fn check_secret_name(name: &str) -> Result<(), VaultError> {
    if valid_name(name) {
        Ok(())
    } else {
        Err(VaultError::InvalidName {
            what: "secret",
            name: name.to_string(),
        })
    }
}

fn check_version_name(name: &Option<String>) -> Result<(), VaultError> {
    match name {
        Some(n) if !valid_name(n) => Err(VaultError::InvalidName {
            what: "secret version",
            name: n.clone(),
        }),
        _ => Ok(()),
    }
}

/// Decodes standard base64 (with padding), as the Vault API carries content.
pub fn decode_base64(text: &str) -> Result<Vec<u8>, String> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| e.to_string())
}

/// Encodes bytes as standard base64 (with padding).
pub fn encode_base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub mod crypto;

#[cfg(test)]
mod tests;
