//! KMS (oci-api.md §5.4): vaults on the regional KmsVaultClient paths
//! (`/20180608/vaults…`, base path `/`), and keys with their key versions on
//! each vault's management endpoint.
//!
//! A vault's `managementEndpoint` is `http://<this host>/kms/<vault OCID>/management`
//! (and `cryptoEndpoint` `…/crypto`): the SDK and CLI use it as the endpoint
//! with base path `/` and keep the prefix (oci-api.md §5.4 notes), so a key
//! request names its vault in the path, as the real per-vault hosts do.
//! Lifecycle states are the Vault model's, read at the request's virtual time.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::ApiError;
use super::pipeline::Ctx;
use super::registry::Meta;
use super::state::{Shared, Twin};
use super::vault_wire::{TagsIn, around, meta_mut, parse_rfc3339, sync_timings};
use super::wire::{
    ApiResult, FreeformTags, JsonBody, Params, Reply, Unmodelled, UnmodelledFlag, paginate,
    parse_json, rfc3339, sort_items,
};
use crate::model::vault::{KeyAlgorithm, KeyShape, KeySpec, VaultSpec, VaultType};

/// KMS routes: vaults at the root, keys under each vault's management endpoint.
pub fn routes(r: Router<Shared>) -> Router<Shared> {
    const KEYS: &str = "/kms/{vault}/management/20180608/keys";
    r.route("/20180608/vaults", get(list_vaults).post(create_vault))
        .route("/20180608/vaults/{id}", get(get_vault).put(update_vault))
        .route(
            "/20180608/vaults/{id}/actions/scheduleDeletion",
            post(schedule_vault_deletion),
        )
        .route(
            "/20180608/vaults/{id}/actions/cancelDeletion",
            post(cancel_vault_deletion),
        )
        .route(
            "/_ocisim/outages/vaults/{id}",
            post(start_vault_outage).delete(end_vault_outage),
        )
        .route(KEYS, get(list_keys).post(create_key))
        .route(&format!("{KEYS}/{{key}}"), get(get_key).put(update_key))
        .route(&format!("{KEYS}/{{key}}/actions/enable"), post(enable_key))
        .route(
            &format!("{KEYS}/{{key}}/actions/disable"),
            post(disable_key),
        )
        .route(
            &format!("{KEYS}/{{key}}/actions/scheduleDeletion"),
            post(schedule_key_deletion),
        )
        .route(
            &format!("{KEYS}/{{key}}/actions/cancelDeletion"),
            post(cancel_key_deletion),
        )
        .route(
            &format!("{KEYS}/{{key}}/keyVersions"),
            get(list_key_versions).post(create_key_version),
        )
        .route(
            &format!("{KEYS}/{{key}}/keyVersions/{{version}}"),
            get(get_key_version),
        )
}

/// `http://<host>` of the request, which the vault endpoints point back at.
fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty())
        .unwrap_or("127.0.0.1");
    format!("http://{host}")
}

fn check_compartment(t: &Twin, id: &str) -> Result<(), ApiError> {
    if t.identity.exists(id) {
        Ok(())
    } else {
        Err(ApiError::not_found("compartment", id))
    }
}

// ---- vaults -----------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum VaultTypeIn {
    VirtualPrivate,
    Default,
    External,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateVault {
    compartment_id: String,
    display_name: String,
    vault_type: VaultTypeIn,
    freeform_tags: Option<FreeformTags>,
    defined_tags: Option<Value>,
    // OCI fields the twin does not model: refused when given.
    _external_key_manager_metadata: Option<Unmodelled>,
}

/// The Vault (or, with `summary`, VaultSummary) model, and its etag.
fn vault_json(t: &Twin, id: &str, base: &str, summary: bool) -> Result<(Value, String), ApiError> {
    let v = t.world.vault.vault(id)?;
    let meta = around(t, id);
    let mut j = json!({
        "id": v.id,
        "compartmentId": v.compartment_id,
        "displayName": v.display_name,
        "vaultType": v.vault_type.as_str(),
        "lifecycleState": v.state(t.now).as_str(),
        "managementEndpoint": format!("{base}/kms/{}/management", v.id),
        "cryptoEndpoint": format!("{base}/kms/{}/crypto", v.id),
        "timeCreated": rfc3339(v.time_created),
        "freeformTags": meta.freeform,
        "definedTags": meta.defined,
    });
    if !summary {
        j["wrappingkeyId"] = json!(v.wrapping_key_id);
        j["timeOfDeletion"] = json!(v.time_of_deletion.map(rfc3339));
        j["isPrimary"] = json!(true);
        j["isVaultReplicable"] = json!(false);
    }
    Ok((j, meta.etag))
}

fn vault_reply(t: &Twin, id: &str, headers: &HeaderMap) -> ApiResult {
    let (j, etag) = vault_json(t, id, &base_url(headers), false)?;
    Ok(Reply::json(&j).etag(&etag))
}

async fn create_vault(
    State(s): State<Shared>,
    ctx: Ctx,
    headers: HeaderMap,
    JsonBody(b): JsonBody<CreateVault>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    sync_timings(&mut t);
    check_compartment(&t, &b.compartment_id)?;
    let vault_type = match b.vault_type {
        VaultTypeIn::Default => VaultType::Default,
        VaultTypeIn::VirtualPrivate => VaultType::VirtualPrivate,
        VaultTypeIn::External => VaultType::External,
    };
    let now = t.now;
    let id = t.world.vault.create_vault(
        now,
        VaultSpec {
            compartment_id: b.compartment_id.clone(),
            display_name: b.display_name.clone(),
            vault_type,
            tags: Default::default(),
        },
    );
    let state = t.world.vault.vault(&id)?.state(now).as_str();
    let mut meta = Meta::new(&id, "vault", &b.compartment_id, &b.display_name, now, state);
    TagsIn::of(b.freeform_tags, b.defined_tags).apply(&mut meta);
    t.registry.insert(meta);
    vault_reply(&t, &id, &headers)
}

async fn get_vault(
    State(s): State<Shared>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult {
    let t = s.lock(&ctx);
    vault_reply(&t, &id, &headers)
}

async fn list_vaults(
    State(s): State<Shared>,
    ctx: Ctx,
    headers: HeaderMap,
    p: Params,
) -> ApiResult {
    let t = s.lock(&ctx);
    let compartment = p.required("compartmentId")?;
    check_compartment(&t, compartment)?;
    let base = base_url(&headers);
    let mut rows = Vec::new();
    for v in t
        .world
        .vault
        .vaults()
        .filter(|v| v.compartment_id == compartment)
    {
        let (j, _) = vault_json(&t, &v.id, &base, true)?;
        rows.push((v.time_created, v.display_name.clone(), v.id.clone(), j));
    }
    sort_items(&mut rows, &p, &["TIMECREATED"], &["DISPLAYNAME"], |r| {
        (r.0, r.1.clone(), r.2.clone())
    })?;
    let (page, next) = paginate(rows.into_iter().map(|r| r.3).collect(), &p)?;
    Ok(Reply::page(&page, next))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateNamed {
    display_name: Option<String>,
    freeform_tags: Option<FreeformTags>,
    defined_tags: Option<Value>,
    // UpdateKeyDetails fields the twin does not model: refused when given.
    _is_auto_rotation_enabled: Option<UnmodelledFlag<false>>,
    _auto_key_rotation_details: Option<Unmodelled>,
}

async fn update_vault(
    State(s): State<Shared>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<UpdateNamed>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    sync_timings(&mut t);
    let v = t
        .world
        .vault
        .update_vault(&id, b.display_name.clone(), None)?;
    let (compartment, name) = (v.compartment_id.clone(), v.display_name.clone());
    let meta = meta_mut(&mut t, &id, "vault", &compartment, &name);
    if let Some(n) = b.display_name {
        meta.display_name = n;
    }
    TagsIn::of(b.freeform_tags, b.defined_tags).apply(meta);
    meta.version += 1;
    vault_reply(&t, &id, &headers)
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ScheduleDeletion {
    time_of_deletion: Option<String>,
}

/// The optional `timeOfDeletion` of a schedule-deletion body (which may be empty).
pub fn time_of_deletion(body: &[u8]) -> Result<Option<crate::kernel::SimTime>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let b: ScheduleDeletion = parse_json(body)?;
    b.time_of_deletion
        .map(|t| parse_rfc3339("timeOfDeletion", &t))
        .transpose()
}

async fn schedule_vault_deletion(
    State(s): State<Shared>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult {
    let at = time_of_deletion(&body)?;
    let mut t = s.lock(&ctx);
    sync_timings(&mut t);
    let now = t.now;
    let state = t
        .world
        .vault
        .schedule_vault_deletion(now, &id, at)?
        .state(now);
    t.registry.set_state(&id, state.as_str());
    vault_reply(&t, &id, &headers)
}

async fn cancel_vault_deletion(
    State(s): State<Shared>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    sync_timings(&mut t);
    let now = t.now;
    let state = t.world.vault.cancel_vault_deletion(now, &id)?.state(now);
    t.registry.set_state(&id, state.as_str());
    vault_reply(&t, &id, &headers)
}

/// Control plane: the vault stops answering (every key and secret operation
/// on it, bundle reads included, is 503 ServiceUnavailable) until the outage
/// is deleted. Journaled like the other outages.
async fn start_vault_outage(
    State(s): State<Shared>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    t.world.vault.set_vault_available(&id, false)?;
    Ok(Reply::json(&json!({"vaultId": id, "available": false})))
}

async fn end_vault_outage(State(s): State<Shared>, ctx: Ctx, Path(id): Path<String>) -> ApiResult {
    let mut t = s.lock(&ctx);
    t.world.vault.set_vault_available(&id, true)?;
    Ok(Reply::json(&json!({"vaultId": id, "available": true})))
}

// ---- keys -------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum AlgorithmIn {
    Aes,
    Rsa,
    Ecdsa,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeyShapeIn {
    algorithm: AlgorithmIn,
    length: u32,
    curve_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum ProtectionIn {
    Hsm,
    Software,
    External,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateKey {
    compartment_id: String,
    display_name: String,
    key_shape: KeyShapeIn,
    protection_mode: Option<ProtectionIn>,
    freeform_tags: Option<FreeformTags>,
    defined_tags: Option<Value>,
    // OCI fields the twin does not model: refused when given.
    _is_auto_rotation_enabled: Option<UnmodelledFlag<false>>,
    _auto_key_rotation_details: Option<Unmodelled>,
    _external_key_reference: Option<Unmodelled>,
}

/// The Key (or KeySummary) model and its etag; 404 unless the key is in `vault`.
fn key_json(t: &Twin, vault: &str, id: &str, summary: bool) -> Result<(Value, String), ApiError> {
    let k = t.world.vault.key(id)?;
    if k.vault_id != vault {
        return Err(ApiError::not_found("key", id));
    }
    let meta = around(t, id);
    let mut j = json!({
        "id": k.id,
        "compartmentId": k.compartment_id,
        "displayName": k.display_name,
        "vaultId": k.vault_id,
        "protectionMode": k.protection_mode,
        "lifecycleState": k.state(t.now).as_str(),
        "timeCreated": rfc3339(k.time_created),
        "isAutoRotationEnabled": false,
        "freeformTags": meta.freeform,
        "definedTags": meta.defined,
    });
    if summary {
        j["algorithm"] = json!(k.shape.algorithm.as_str());
    } else {
        let mut shape = json!({"algorithm": k.shape.algorithm.as_str(), "length": k.shape.length});
        if let Some(c) = &k.shape.curve_id {
            shape["curveId"] = json!(c);
        }
        j["keyShape"] = shape;
        j["currentKeyVersion"] = json!(k.current_version().id);
        j["timeOfDeletion"] = json!(k.time_of_deletion.map(rfc3339));
        j["isPrimary"] = json!(true);
    }
    Ok((j, meta.etag))
}

fn key_reply(t: &Twin, vault: &str, id: &str) -> ApiResult {
    let (j, etag) = key_json(t, vault, id, false)?;
    Ok(Reply::json(&j).etag(&etag))
}

async fn create_key(
    State(s): State<Shared>,
    ctx: Ctx,
    Path(vault): Path<String>,
    JsonBody(b): JsonBody<CreateKey>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    sync_timings(&mut t);
    check_compartment(&t, &b.compartment_id)?;
    let algorithm = match b.key_shape.algorithm {
        AlgorithmIn::Aes => KeyAlgorithm::Aes,
        AlgorithmIn::Rsa => KeyAlgorithm::Rsa,
        AlgorithmIn::Ecdsa => KeyAlgorithm::Ecdsa,
    };
    let protection_mode = match b.protection_mode {
        None | Some(ProtectionIn::Hsm) => "HSM",
        Some(ProtectionIn::Software) => "SOFTWARE",
        Some(ProtectionIn::External) => "EXTERNAL",
    };
    let now = t.now;
    let id = t.world.vault.create_key(
        now,
        KeySpec {
            compartment_id: b.compartment_id.clone(),
            vault_id: vault.clone(),
            display_name: b.display_name.clone(),
            shape: KeyShape {
                algorithm,
                length: b.key_shape.length,
                curve_id: b.key_shape.curve_id,
            },
            protection_mode: protection_mode.to_string(),
            tags: Default::default(),
        },
    )?;
    let state = t.world.vault.key(&id)?.state(now).as_str();
    let mut meta = Meta::new(&id, "key", &b.compartment_id, &b.display_name, now, state);
    TagsIn::of(b.freeform_tags, b.defined_tags).apply(&mut meta);
    t.registry.insert(meta);
    key_reply(&t, &vault, &id)
}

async fn get_key(
    State(s): State<Shared>,
    ctx: Ctx,
    Path((vault, id)): Path<(String, String)>,
) -> ApiResult {
    let t = s.lock(&ctx);
    key_reply(&t, &vault, &id)
}

async fn list_keys(
    State(s): State<Shared>,
    ctx: Ctx,
    Path(vault): Path<String>,
    p: Params,
) -> ApiResult {
    let t = s.lock(&ctx);
    let compartment = p.required("compartmentId")?;
    check_compartment(&t, compartment)?;
    t.world.vault.vault(&vault)?;
    let protection = p.one_of("protectionMode", &["HSM", "SOFTWARE", "EXTERNAL"])?;
    let algorithm = p.one_of("algorithm", &["AES", "RSA", "ECDSA"])?;
    let length = p.int("length")?;
    let curve = p.one_of("curveId", &["NIST_P256", "NIST_P384", "NIST_P521"])?;
    let mut rows = Vec::new();
    for k in t.world.vault.keys() {
        let keep = k.vault_id == vault
            && k.compartment_id == compartment
            && protection.is_none_or(|m| m == k.protection_mode)
            && algorithm.is_none_or(|a| a == k.shape.algorithm.as_str())
            && length.is_none_or(|l| l == i64::from(k.shape.length))
            && curve.is_none_or(|c| k.shape.curve_id.as_deref() == Some(c));
        if keep {
            let (j, _) = key_json(&t, &vault, &k.id, true)?;
            rows.push((k.time_created, k.display_name.clone(), k.id.clone(), j));
        }
    }
    sort_items(&mut rows, &p, &["TIMECREATED"], &["DISPLAYNAME"], |r| {
        (r.0, r.1.clone(), r.2.clone())
    })?;
    let (page, next) = paginate(rows.into_iter().map(|r| r.3).collect(), &p)?;
    Ok(Reply::page(&page, next))
}

async fn update_key(
    State(s): State<Shared>,
    ctx: Ctx,
    Path((vault, id)): Path<(String, String)>,
    JsonBody(b): JsonBody<UpdateNamed>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    sync_timings(&mut t);
    key_json(&t, &vault, &id, true)?;
    let k = t
        .world
        .vault
        .update_key(&id, b.display_name.clone(), None)?;
    let (compartment, name) = (k.compartment_id.clone(), k.display_name.clone());
    let meta = meta_mut(&mut t, &id, "key", &compartment, &name);
    if let Some(n) = b.display_name {
        meta.display_name = n;
    }
    TagsIn::of(b.freeform_tags, b.defined_tags).apply(meta);
    meta.version += 1;
    key_reply(&t, &vault, &id)
}

/// A key action that changes its state: enable, disable, schedule or cancel deletion.
fn key_action(
    s: &Shared,
    ctx: &Ctx,
    vault: &str,
    id: &str,
    act: impl FnOnce(
        &mut crate::model::vault::VaultService,
        crate::kernel::SimTime,
    ) -> Result<(), crate::model::vault::VaultError>,
) -> ApiResult {
    let mut t = s.lock(ctx);
    sync_timings(&mut t);
    key_json(&t, vault, id, true)?;
    let now = t.now;
    act(&mut t.world.vault, now)?;
    let state = t.world.vault.key(id)?.state(now).as_str();
    t.registry.set_state(id, state);
    key_reply(&t, vault, id)
}

async fn enable_key(
    State(s): State<Shared>,
    ctx: Ctx,
    Path((vault, id)): Path<(String, String)>,
) -> ApiResult {
    key_action(&s, &ctx, &vault, &id, |v, now| {
        v.enable_key(now, &id).map(|_| ())
    })
}

async fn disable_key(
    State(s): State<Shared>,
    ctx: Ctx,
    Path((vault, id)): Path<(String, String)>,
) -> ApiResult {
    key_action(&s, &ctx, &vault, &id, |v, now| {
        v.disable_key(now, &id).map(|_| ())
    })
}

async fn schedule_key_deletion(
    State(s): State<Shared>,
    ctx: Ctx,
    Path((vault, id)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> ApiResult {
    let at = time_of_deletion(&body)?;
    key_action(&s, &ctx, &vault, &id, |v, now| {
        v.schedule_key_deletion(now, &id, at).map(|_| ())
    })
}

async fn cancel_key_deletion(
    State(s): State<Shared>,
    ctx: Ctx,
    Path((vault, id)): Path<(String, String)>,
) -> ApiResult {
    key_action(&s, &ctx, &vault, &id, |v, now| {
        v.cancel_key_deletion(now, &id).map(|_| ())
    })
}

fn key_version_json(t: &Twin, key_id: &str, version_id: &str) -> Result<Value, ApiError> {
    let k = t.world.vault.key(key_id)?;
    let v = k
        .versions
        .iter()
        .find(|v| v.id == version_id)
        .ok_or_else(|| ApiError::not_found("keyVersion", version_id))?;
    let state = match k.state(t.now).as_str() {
        "CREATING" => "CREATING",
        "DELETED" => "DELETED",
        _ => "ENABLED",
    };
    Ok(json!({
        "id": v.id,
        "keyId": k.id,
        "compartmentId": k.compartment_id,
        "vaultId": k.vault_id,
        "lifecycleState": state,
        "origin": "INTERNAL",
        "timeCreated": rfc3339(v.time_created),
        "isAutoRotated": false,
    }))
}

async fn list_key_versions(
    State(s): State<Shared>,
    ctx: Ctx,
    Path((vault, id)): Path<(String, String)>,
    p: Params,
) -> ApiResult {
    let t = s.lock(&ctx);
    key_json(&t, &vault, &id, true)?;
    let k = t.world.vault.key(&id)?;
    let mut rows = Vec::new();
    for v in &k.versions {
        rows.push((
            v.time_created,
            v.id.clone(),
            v.id.clone(),
            key_version_json(&t, &id, &v.id)?,
        ));
    }
    sort_items(&mut rows, &p, &["TIMECREATED"], &["DISPLAYNAME"], |r| {
        (r.0, r.1.clone(), r.2.clone())
    })?;
    let (page, next) = paginate(rows.into_iter().map(|r| r.3).collect(), &p)?;
    Ok(Reply::page(&page, next))
}

async fn create_key_version(
    State(s): State<Shared>,
    ctx: Ctx,
    Path((vault, id)): Path<(String, String)>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    sync_timings(&mut t);
    key_json(&t, &vault, &id, true)?;
    let now = t.now;
    let version = t.world.vault.rotate_key(now, &id)?.id.clone();
    t.registry.touch(&id);
    Ok(Reply::json(&key_version_json(&t, &id, &version)?))
}

async fn get_key_version(
    State(s): State<Shared>,
    ctx: Ctx,
    Path((vault, id, version)): Path<(String, String, String)>,
) -> ApiResult {
    let t = s.lock(&ctx);
    key_json(&t, &vault, &id, true)?;
    Ok(Reply::json(&key_version_json(&t, &id, &version)?))
}
