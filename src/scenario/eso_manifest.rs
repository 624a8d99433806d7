//! External Secrets manifests (`external-secrets.io/v1` SecretStore and
//! ExternalSecret, Oracle provider) read as real YAML, and the Secrets a
//! Deployment's pods reference (env, envFrom, volumes), with located errors.

use k8s_openapi::api::apps::v1::Deployment;
use serde::Deserialize;

use super::source::{Document, ScenarioError};
use crate::kernel::SimDuration;
use crate::model::vault::Stage;
use crate::sim::eso::{
    CreationPolicy, DeletionPolicy, ExternalSecretSpec, RefreshPolicy, RemoteRef, StoreAuth,
};
use crate::sim::wiring::{SecretNeed, SecretUse};

/// ESO's default `refreshInterval`.
pub const DEFAULT_REFRESH: SimDuration = SimDuration::from_secs(3600);

#[derive(Debug, Deserialize)]
struct Meta {
    name: Option<String>,
    namespace: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoreDoc {
    #[serde(rename = "apiVersion")]
    _api_version: String,
    #[serde(rename = "kind")]
    _kind: String,
    metadata: Meta,
    spec: StoreSpec,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoreSpec {
    provider: ProviderSpec,
    #[serde(rename = "refreshInterval")]
    _refresh_interval: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProviderSpec {
    oracle: Option<OracleSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OracleSpec {
    vault: Option<String>,
    region: Option<String>,
    #[serde(rename = "principalType")]
    principal_type: Option<String>,
    #[serde(rename = "serviceAccountRef")]
    service_account_ref: Option<NameRef>,
    auth: Option<serde_json::Value>,
    compartment: Option<String>,
    #[serde(rename = "encryptionKey")]
    _encryption_key: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NameRef {
    name: String,
    namespace: Option<String>,
    kind: Option<String>,
}

/// A SecretStore as read, before its vault is resolved.
#[derive(Debug, Clone)]
pub struct StoreManifest {
    /// Name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// `vault`: an OCID or the name of a scenario vault.
    pub vault: String,
    /// `region`.
    pub region: String,
    /// Authentication.
    pub auth: StoreAuth,
    /// The compartment OCID, for PushSecret (unused by reads).
    pub compartment: Option<String>,
}

/// Reads a SecretStore.
pub fn store(doc: &Document) -> Result<StoreManifest, ScenarioError> {
    let d: StoreDoc = doc.parse()?;
    let name = d
        .metadata
        .name
        .ok_or_else(|| doc.error("metadata.name", "a SecretStore needs a name"))?;
    let namespace = d.metadata.namespace.unwrap_or_else(|| "default".into());
    let o = d.spec.provider.oracle.ok_or_else(|| {
        doc.error(
            "spec.provider",
            "only the oracle provider is modelled (spec.provider.oracle)",
        )
    })?;
    let vault = o
        .vault
        .filter(|v| !v.is_empty())
        .ok_or_else(|| doc.error("spec.provider.oracle.vault", "vault cannot be empty"))?;
    let region = o
        .region
        .filter(|v| !v.is_empty())
        .ok_or_else(|| doc.error("spec.provider.oracle.region", "region cannot be empty"))?;
    let auth = match (o.principal_type.as_deref(), &o.auth) {
        (Some("Workload"), _) => {
            let sa = match o.service_account_ref {
                Some(r) => {
                    if r.namespace.as_ref().is_some_and(|n| *n != namespace) {
                        return Err(doc.error(
                            "spec.provider.oracle.serviceAccountRef.namespace",
                            "a SecretStore's service account must be in the store's namespace",
                        ));
                    }
                    if r.kind.is_some() {
                        return Err(doc.error(
                            "spec.provider.oracle.serviceAccountRef.kind",
                            "serviceAccountRef has no `kind`",
                        ));
                    }
                    r.name
                }
                // Without a serviceAccountRef ESO uses its own service account's token.
                None => "external-secrets".into(),
            };
            StoreAuth::Workload {
                service_account: sa,
            }
        }
        (Some("UserPrincipal"), _) | (None | Some(""), Some(_)) => StoreAuth::User,
        (Some("InstancePrincipal") | None | Some(""), None) => StoreAuth::Instance,
        (Some(other), _) => {
            return Err(doc.error(
                "spec.provider.oracle.principalType",
                format!(
                    "unknown principalType `{other}` (UserPrincipal, InstancePrincipal or Workload)"
                ),
            ));
        }
    };
    Ok(StoreManifest {
        name,
        namespace,
        vault,
        region,
        auth,
        compartment: o.compartment,
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EsDoc {
    #[serde(rename = "apiVersion")]
    _api_version: String,
    #[serde(rename = "kind")]
    _kind: String,
    metadata: Meta,
    spec: EsSpec,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EsSpec {
    #[serde(rename = "refreshInterval")]
    refresh_interval: Option<String>,
    #[serde(rename = "refreshPolicy")]
    refresh_policy: Option<String>,
    #[serde(rename = "secretStoreRef")]
    secret_store_ref: NameRef,
    target: Option<TargetSpec>,
    #[serde(default)]
    data: Vec<DataSpec>,
    #[serde(default, rename = "dataFrom")]
    data_from: Vec<DataFromSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetSpec {
    name: Option<String>,
    #[serde(rename = "creationPolicy")]
    creation_policy: Option<String>,
    #[serde(rename = "deletionPolicy")]
    deletion_policy: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DataSpec {
    #[serde(rename = "secretKey")]
    secret_key: String,
    #[serde(rename = "remoteRef")]
    remote_ref: RemoteRefSpec,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DataFromSpec {
    extract: Option<RemoteRefSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RemoteRefSpec {
    key: String,
    version: Option<String>,
    property: Option<String>,
}

/// Reads an ExternalSecret.
pub fn external_secret(doc: &Document) -> Result<ExternalSecretSpec, ScenarioError> {
    let d: EsDoc = doc.parse()?;
    let name = d
        .metadata
        .name
        .ok_or_else(|| doc.error("metadata.name", "an ExternalSecret needs a name"))?;
    let namespace = d.metadata.namespace.unwrap_or_else(|| "default".into());
    let s = d.spec;
    match s.secret_store_ref.kind.as_deref() {
        None | Some("SecretStore") => {}
        Some(k) => {
            return Err(doc.error(
                "spec.secretStoreRef.kind",
                format!("`{k}`: only namespaced SecretStores are modelled"),
            ));
        }
    }
    let refresh_interval = match &s.refresh_interval {
        None => DEFAULT_REFRESH,
        Some(t) if t == "0" => SimDuration::ZERO,
        Some(t) => {
            SimDuration::parse(t).map_err(|e| doc.error("spec.refreshInterval", e.to_string()))?
        }
    };
    let refresh_policy = match s.refresh_policy.as_deref() {
        None | Some("Periodic") => RefreshPolicy::Periodic,
        Some("CreatedOnce") => RefreshPolicy::CreatedOnce,
        Some("OnChange") => RefreshPolicy::OnChange,
        Some(o) => {
            return Err(doc.error(
                "spec.refreshPolicy",
                format!("unknown refreshPolicy `{o}` (CreatedOnce, Periodic or OnChange)"),
            ));
        }
    };
    let target = s.target.unwrap_or(TargetSpec {
        name: None,
        creation_policy: None,
        deletion_policy: None,
    });
    let creation = match target.creation_policy.as_deref() {
        None | Some("Owner") => CreationPolicy::Owner,
        Some("Orphan") => CreationPolicy::Orphan,
        Some("Merge") => CreationPolicy::Merge,
        Some("None") => CreationPolicy::None,
        Some(o) => {
            return Err(doc.error(
                "spec.target.creationPolicy",
                format!("unknown creationPolicy `{o}` (Owner, Orphan, Merge or None)"),
            ));
        }
    };
    let deletion = match target.deletion_policy.as_deref() {
        None | Some("Retain") => DeletionPolicy::Retain,
        Some("Delete") => DeletionPolicy::Delete,
        Some("Merge") => DeletionPolicy::Merge,
        Some(o) => {
            return Err(doc.error(
                "spec.target.deletionPolicy",
                format!("unknown deletionPolicy `{o}` (Retain, Delete or Merge)"),
            ));
        }
    };
    let remote = |path: &str, r: &RemoteRefSpec| -> Result<RemoteRef, ScenarioError> {
        let stage = match r.version.as_deref() {
            None | Some("") => Stage::Current,
            Some(v) => Stage::parse(v).ok_or_else(|| {
                doc.error(
                    &format!("{path}.version"),
                    format!(
                        "`{v}` is not an OCI stage (CURRENT, PENDING, LATEST, PREVIOUS, DEPRECATED)"
                    ),
                )
            })?,
        };
        Ok(RemoteRef {
            key: r.key.clone(),
            stage,
            property: r.property.clone(),
        })
    };
    let data = s
        .data
        .iter()
        .enumerate()
        .map(|(i, x)| {
            remote(&format!("spec.data[{i}].remoteRef"), &x.remote_ref)
                .map(|r| (x.secret_key.clone(), r))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut data_from = Vec::new();
    for (i, x) in s.data_from.iter().enumerate() {
        let e = x.extract.as_ref().ok_or_else(|| {
            doc.error(
                &format!("spec.dataFrom[{i}]"),
                "only dataFrom.extract is modelled",
            )
        })?;
        data_from.push(remote(&format!("spec.dataFrom[{i}].extract"), e)?);
    }
    if data.is_empty() && data_from.is_empty() {
        return Err(doc.error("spec", "an ExternalSecret needs `data` or `dataFrom`"));
    }
    Ok(ExternalSecretSpec {
        target: target.name.unwrap_or_else(|| name.clone()),
        name,
        namespace,
        store: s.secret_store_ref.name,
        refresh_interval,
        refresh_policy,
        creation,
        deletion,
        data,
        data_from,
    })
}

/// The Secrets a Deployment's pods reference: (namespace, name, needs).
pub fn secret_needs(doc: &Document) -> Result<(String, String, Vec<SecretNeed>), ScenarioError> {
    let d: Deployment = doc.parse()?;
    let name = d.metadata.name.clone().unwrap_or_default();
    let namespace = d
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "default".into());
    let mut out = Vec::new();
    let Some(spec) = d.spec.and_then(|s| s.template.spec) else {
        return Ok((namespace, name, out));
    };
    for c in &spec.containers {
        for e in c.env.iter().flatten() {
            if let Some(r) = e
                .value_from
                .as_ref()
                .and_then(|v| v.secret_key_ref.as_ref())
            {
                out.push(SecretNeed {
                    secret: r.name.clone(),
                    key: Some(r.key.clone()),
                    via: SecretUse::EnvKey,
                    optional: r.optional.unwrap_or(false),
                });
            }
        }
        for e in c.env_from.iter().flatten() {
            if let Some(r) = &e.secret_ref {
                out.push(SecretNeed {
                    secret: r.name.clone(),
                    key: None,
                    via: SecretUse::EnvFrom,
                    optional: r.optional.unwrap_or(false),
                });
            }
        }
    }
    for v in spec.volumes.iter().flatten() {
        if let Some(s) = &v.secret {
            out.push(SecretNeed {
                secret: s.secret_name.clone().unwrap_or_default(),
                key: None,
                via: SecretUse::Volume,
                optional: s.optional.unwrap_or(false),
            });
        }
    }
    Ok((namespace, name, out))
}

/// The `(apiVersion, kind)` of a document, if it has them.
pub fn kind_of(doc: &Document) -> Option<(String, String)> {
    #[derive(Deserialize)]
    struct T {
        #[serde(rename = "apiVersion")]
        api_version: Option<String>,
        kind: Option<String>,
    }
    let t: T = serde_saphyr::from_str(&doc.text).ok()?;
    Some((t.api_version?, t.kind?))
}
