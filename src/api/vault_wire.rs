//! Wire pieces shared by the KMS, Vaults and Secrets services: how Vault model
//! errors become OCI errors, tags kept in the registry, RFC 3339 times read
//! back into virtual time, and the IAM guard on secret reads by workload
//! principals (oci-api.md §5.4–5.6, domain.md §6).

use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::Value;

use super::auth::Principal as AuthPrincipal;
use super::error::ApiError;
use super::registry::Meta;
use super::state::Twin;
use super::wire::{EPOCH_DAYS, FreeformTags, etag_of};
use crate::kernel::SimTime;
use crate::model::iam::{self, Decision, Request, Verb};
use crate::model::vault::{Secret, VaultError, VaultTimings};

impl From<VaultError> for ApiError {
    fn from(e: VaultError) -> ApiError {
        use VaultError as V;
        let msg = e.to_string();
        match e {
            V::VaultNotFound(id) => ApiError::not_found("vault", &id),
            V::KeyNotFound(id) => ApiError::not_found("key", &id),
            V::SecretNotFound(id) => ApiError::not_found("secret", &id),
            V::SecretNameNotFound { .. } | V::VersionNotFound { .. } => {
                ApiError::new(StatusCode::NOT_FOUND, "NotAuthorizedOrNotFound", msg)
            }
            V::VaultUnavailable(_) => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable", msg)
            }
            V::KeyInOtherVault { .. } | V::KeyNotEnabled { .. } => ApiError::invalid("keyId", msg),
            V::InvalidKeyShape(_) => ApiError::invalid("keyShape", msg),
            V::InvalidName { what: "secret", .. } => ApiError::invalid("secretName", msg),
            V::InvalidName { .. } => ApiError::invalid("secretContent.name", msg),
            V::InvalidBase64 { .. } | V::ContentTooLarge { .. } => {
                ApiError::invalid("secretContent.content", msg)
            }
            V::DeletionWindow { .. } => ApiError::invalid("timeOfDeletion", msg),
            V::ContentAndPromotion(_) => ApiError::invalid("currentVersionNumber", msg),
            V::VersionLimit { .. } | V::SecretLimit { .. } => ApiError::limit(msg),
            V::VaultNotActive { .. }
            | V::KeyUnusable { .. }
            | V::WrongState { .. }
            | V::SecretWrongState { .. }
            | V::DuplicateSecretName { .. }
            | V::DuplicateVersionName { .. }
            | V::VersionPendingDeletion { .. }
            | V::VersionNotDeprecated { .. }
            | V::VersionNotPendingDeletion { .. } => ApiError::conflict(msg),
        }
    }
}

/// `freeformTags` / `definedTags` as a request carries them.
#[derive(Deserialize, Default, Debug)]
#[serde(rename_all = "camelCase")]
pub struct TagsIn {
    /// `freeformTags`.
    pub freeform_tags: Option<FreeformTags>,
    /// `definedTags`.
    pub defined_tags: Option<Value>,
}

impl TagsIn {
    /// The tags a body gave.
    pub fn of(freeform_tags: Option<FreeformTags>, defined_tags: Option<Value>) -> TagsIn {
        TagsIn {
            freeform_tags,
            defined_tags,
        }
    }

    /// Writes the given tags into the registry entry (absent ones stay).
    pub fn apply(self, meta: &mut Meta) {
        if let Some(f) = self.freeform_tags {
            meta.freeform_tags = f;
        }
        if let Some(d) = self.defined_tags {
            meta.defined_tags = d;
        }
    }
}

/// What the registry shows around a model object: tags and etag. Objects a
/// scenario made (never registered through the API) get empty tags.
pub struct Around {
    /// `freeformTags`.
    pub freeform: Value,
    /// `definedTags`.
    pub defined: Value,
    /// The etag.
    pub etag: String,
}

/// The registry's view of `id`, or empty tags and a first-version etag.
pub fn around(t: &Twin, id: &str) -> Around {
    match t.registry.get(id) {
        Some(m) => Around {
            freeform: serde_json::to_value(&m.freeform_tags).unwrap_or(Value::Null),
            defined: m.defined_tags.clone(),
            etag: m.etag(),
        },
        None => Around {
            freeform: Value::Object(Default::default()),
            defined: Value::Object(Default::default()),
            etag: etag_of(id, 0),
        },
    }
}

/// The registry entry of `id`, created (with `name`, in `compartment`) for
/// objects a scenario made, so API changes to them bump an etag too.
pub fn meta_mut<'a>(
    t: &'a mut Twin,
    id: &str,
    kind: &'static str,
    compartment: &str,
    name: &str,
) -> &'a mut Meta {
    if t.registry.get(id).is_none() {
        let now = t.now;
        t.registry
            .insert(Meta::new(id, kind, compartment, name, now, ""));
    }
    t.registry.get_kind_mut(id, kind).expect("inserted above")
}

/// Sets the Vault model's transition durations from the API's duration table
/// (`kms.vault.create`, `kms.key.change`, `vaults.secret.create`,
/// `vaults.secret.update`, `vaults.deletion.change`), so `--durations`
/// overrides them; the model's defaults are the table's defaults.
pub fn sync_timings(t: &mut Twin) {
    let d = VaultTimings::default();
    let timings = VaultTimings {
        vault_create: t.durations.get_or("kms.vault.create", d.vault_create),
        key_change: t.durations.get_or("kms.key.change", d.key_change),
        secret_create: t.durations.get_or("vaults.secret.create", d.secret_create),
        secret_update: t.durations.get_or("vaults.secret.update", d.secret_update),
        deletion_change: t
            .durations
            .get_or("vaults.deletion.change", d.deletion_change),
    };
    t.world.vault.timings = timings;
}

/// Parses an RFC 3339 timestamp (`2026-01-31T00:00:00.000Z`, any offset)
/// into virtual time; times before virtual zero are refused.
pub fn parse_rfc3339(field: &str, text: &str) -> Result<SimTime, ApiError> {
    let bad = || {
        ApiError::invalid(
            field,
            format!("`{text}` is not an RFC 3339 timestamp like 2026-01-31T00:00:00.000Z"),
        )
    };
    let (date, rest) = text.split_once(['T', 't', ' ']).ok_or_else(bad)?;
    let mut d = date.split('-');
    let (y, m, day) = match (d.next(), d.next(), d.next(), d.next()) {
        (Some(y), Some(m), Some(dd), None) => (
            y.parse::<i64>().map_err(|_| bad())?,
            m.parse::<u32>().map_err(|_| bad())?,
            dd.parse::<u32>().map_err(|_| bad())?,
        ),
        _ => return Err(bad()),
    };
    let (clock, offset_secs) = split_offset(rest).ok_or_else(bad)?;
    let mut c = clock.split(':');
    let (hh, mm, ss) = match (c.next(), c.next(), c.next()) {
        (Some(h), Some(mi), Some(s)) => (h, mi, s),
        _ => return Err(bad()),
    };
    let secs_f: f64 = ss.parse().map_err(|_| bad())?;
    let hh: i64 = hh.parse().map_err(|_| bad())?;
    let mm: i64 = mm.parse().map_err(|_| bad())?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) || hh > 23 || mm > 59 || secs_f >= 61.0 {
        return Err(bad());
    }
    let days = days_from_civil(y, m, day) - EPOCH_DAYS;
    let ms = (days * 86_400 + hh * 3600 + mm * 60 - offset_secs) * 1000
        + (secs_f * 1000.0).round() as i64;
    if ms < 0 {
        return Err(ApiError::invalid(
            field,
            format!("`{text}` is before the twin's epoch"),
        ));
    }
    Ok(SimTime(ms as u64))
}

/// Splits `12:00:00.000Z` / `12:00:00+02:00` into the clock and the offset in seconds.
fn split_offset(rest: &str) -> Option<(&str, i64)> {
    if let Some(clock) = rest.strip_suffix(['Z', 'z']) {
        return Some((clock, 0));
    }
    let i = rest.rfind(['+', '-'])?;
    let (clock, off) = rest.split_at(i);
    let sign = if off.starts_with('-') { -1 } else { 1 };
    let (h, m) = off[1..].split_once(':')?;
    Some((
        clock,
        sign * (h.parse::<i64>().ok()? * 3600 + m.parse::<i64>().ok()? * 60),
    ))
}

/// Howard Hinnant's (year, month, day) → days since 1970-01-01.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The IAM principal of a request, when it is a workload (only workloads are
/// checked against policies; user keys act as administrators, an assumption).
pub fn workload(principal: &Option<AuthPrincipal>) -> Option<iam::Principal> {
    match principal {
        Some(AuthPrincipal::Workload {
            cluster_id,
            namespace,
            service_account,
            ..
        }) => Some(iam::Principal::Workload {
            cluster_id: cluster_id.clone(),
            namespace: namespace.clone(),
            service_account: service_account.clone(),
        }),
        _ => None,
    }
}

/// Decides a workload's access to a secret (`verb` on `resource_type`, e.g.
/// `read secret-bundles`) with the twin's policies; a denial is 404
/// NotAuthorizedOrNotFound carrying the evaluator's explanation.
pub fn guard_secret(
    t: &Twin,
    principal: &Option<AuthPrincipal>,
    verb: Verb,
    resource_type: &str,
    secret: &Secret,
) -> Result<(), ApiError> {
    let Some(p) = workload(principal) else {
        return Ok(());
    };
    let request = Request {
        principal: p,
        verb,
        resource_type: resource_type.to_string(),
        compartment_id: secret.compartment_id.clone(),
        target: iam::secret_target(&secret.vault_id, &secret.id, &secret.name),
    };
    deny_as_404(t.world.iam.evaluate(&t.identity, &request))
}

/// Decides a workload's access to a whole compartment (`inspect secrets` for a list).
pub fn guard_compartment(
    t: &Twin,
    principal: &Option<AuthPrincipal>,
    verb: Verb,
    resource_type: &str,
    compartment_id: &str,
) -> Result<(), ApiError> {
    let Some(p) = workload(principal) else {
        return Ok(());
    };
    let request = Request {
        principal: p,
        verb,
        resource_type: resource_type.to_string(),
        compartment_id: compartment_id.to_string(),
        target: Default::default(),
    };
    deny_as_404(t.world.iam.evaluate(&t.identity, &request))
}

fn deny_as_404(d: Decision) -> Result<(), ApiError> {
    if d.is_allowed() {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "NotAuthorizedOrNotFound",
            format!(
                "Authorization failed or requested resource not found: {}",
                d.explain()
            ),
        ))
    }
}

/// The JSON of an opaque metadata document the model keeps as text.
pub fn metadata_json(text: &Option<String>) -> Value {
    text.as_deref()
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or(Value::Null)
}

/// The `stages` array of a version.
pub fn stages_json(stages: &[crate::model::vault::Stage]) -> Value {
    Value::Array(
        stages
            .iter()
            .map(|s| Value::String(s.as_str().into()))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::wire::rfc3339;

    #[test]
    fn timestamps_round_trip_through_virtual_time() {
        for ms in [0u64, 1, 86_399_999, 30 * 86_400_000 + 123, 400 * 86_400_000] {
            let text = rfc3339(SimTime(ms));
            assert_eq!(parse_rfc3339("t", &text).unwrap(), SimTime(ms), "{text}");
        }
        assert_eq!(
            parse_rfc3339("t", "2026-01-01T02:00:00+02:00").unwrap(),
            SimTime::ZERO
        );
        let e = parse_rfc3339("timeOfDeletion", "tomorrow").unwrap_err();
        assert_eq!(e.code, "InvalidParameter");
        assert!(e.message.starts_with("timeOfDeletion: `tomorrow`"), "{e}");
        assert!(parse_rfc3339("t", "2025-12-31T23:59:59Z").is_err());
    }
}
