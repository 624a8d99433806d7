//! Vault secrets management (VaultsClient, `/20180608/secrets…`, oci-api.md
//! §5.5): create, get, list, update (a new version with its stage, or the
//! promotion of an existing one through `currentVersionNumber`), versions
//! (`/secrets/{id}/versions` for the list, `/secrets/{id}/version/{n}` for
//! one), and scheduled deletion of secrets and of single versions.
//!
//! Secret responses never contain the content. Reads by a workload principal
//! are decided by the IAM policies (`read secrets`, `inspect secrets`,
//! `inspect`/`read secret-versions`).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::ApiError;
use super::kms::time_of_deletion;
use super::pipeline::Ctx;
use super::registry::Meta;
use super::state::{Shared, Twin};
use super::vault_wire::{
    TagsIn, around, guard_compartment, guard_secret, meta_mut, metadata_json, stages_json,
    sync_timings,
};
use super::wire::{
    ApiResult, FreeformTags, JsonBody, Params, Reply, Unmodelled, UnmodelledFlag, etag_of,
    paginate, rfc3339, sort_items,
};
use crate::model::iam::Verb;
use crate::model::vault::{
    NewContent, NewVersionStage, Secret, SecretSpec, SecretUpdate, SecretVersion,
};

/// Vaults routes.
pub fn routes(r: Router<Shared>) -> Router<Shared> {
    const S: &str = "/20180608/secrets";
    r.route(S, get(list_secrets).post(create_secret))
        .route(&format!("{S}/{{id}}"), get(get_secret).put(update_secret))
        .route(&format!("{S}/{{id}}/actions/rotate"), post(rotate_secret))
        .route(
            &format!("{S}/{{id}}/actions/cancelRotation"),
            post(cancel_rotation),
        )
        .route(
            &format!("{S}/{{id}}/actions/scheduleDeletion"),
            post(schedule_deletion),
        )
        .route(
            &format!("{S}/{{id}}/actions/cancelDeletion"),
            post(cancel_deletion),
        )
        .route(&format!("{S}/{{id}}/versions"), get(list_versions))
        .route(&format!("{S}/{{id}}/version/{{n}}"), get(get_version))
        .route(
            &format!("{S}/{{id}}/version/{{n}}/actions/scheduleDeletion"),
            post(schedule_version_deletion),
        )
        .route(
            &format!("{S}/{{id}}/version/{{n}}/actions/cancelDeletion"),
            post(cancel_version_deletion),
        )
}

#[derive(Deserialize)]
enum ContentType {
    #[serde(rename = "BASE64")]
    Base64,
}

#[derive(Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum StageIn {
    Current,
    Pending,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ContentIn {
    #[allow(dead_code)]
    content_type: ContentType,
    content: Option<String>,
    name: Option<String>,
    stage: Option<StageIn>,
}

impl ContentIn {
    fn into_model(self) -> Result<NewContent, ApiError> {
        let content = self
            .content
            .ok_or_else(|| ApiError::missing("secretContent.content"))?;
        Ok(NewContent {
            content,
            name: self.name,
            stage: match self.stage {
                Some(StageIn::Pending) => NewVersionStage::Pending,
                _ => NewVersionStage::Current,
            },
        })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateSecret {
    compartment_id: String,
    vault_id: String,
    key_id: String,
    secret_name: String,
    description: Option<String>,
    metadata: Option<Value>,
    secret_content: Option<ContentIn>,
    freeform_tags: Option<FreeformTags>,
    defined_tags: Option<Value>,
    // OCI fields the twin does not model: refused when given.
    _rotation_config: Option<Unmodelled>,
    _replication_config: Option<Unmodelled>,
    _secret_rules: Option<Unmodelled>,
    _secret_generation_context: Option<Unmodelled>,
    _enable_auto_generation: Option<UnmodelledFlag<false>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateSecret {
    current_version_number: Option<i64>,
    description: Option<String>,
    metadata: Option<Value>,
    secret_content: Option<ContentIn>,
    freeform_tags: Option<FreeformTags>,
    defined_tags: Option<Value>,
    // OCI fields the twin does not model: refused when given.
    _rotation_config: Option<Unmodelled>,
    _replication_config: Option<Unmodelled>,
    _secret_rules: Option<Unmodelled>,
    _secret_generation_context: Option<Unmodelled>,
    _enable_auto_generation: Option<UnmodelledFlag<false>>,
}

/// The Secret (or SecretSummary) model and its etag.
fn secret_json(t: &Twin, s: &Secret, summary: bool) -> Result<(Value, String), ApiError> {
    let meta = around(t, &s.id);
    let mut j = json!({
        "id": s.id,
        "compartmentId": s.compartment_id,
        "vaultId": s.vault_id,
        "keyId": s.key_id,
        "secretName": s.name,
        "description": s.description,
        "lifecycleState": s.state(t.now).as_str(),
        "timeCreated": rfc3339(s.time_created),
        "timeOfDeletion": s.time_of_deletion.map(rfc3339),
        "rotationStatus": "NOT_ENABLED",
        "isReplica": false,
        "isAutoGenerationEnabled": false,
        "freeformTags": meta.freeform,
        "definedTags": meta.defined,
    });
    if !summary {
        j["currentVersionNumber"] = json!(s.current_version_number());
        j["metadata"] = metadata_json(&s.metadata);
    }
    Ok((j, meta.etag))
}

fn secret_reply(t: &Twin, id: &str) -> ApiResult {
    let s = t.world.vault.secret(id)?;
    let (j, etag) = secret_json(t, s, false)?;
    Ok(Reply::json(&j).etag(&etag))
}

async fn create_secret(
    State(s): State<Shared>,
    ctx: Ctx,
    JsonBody(b): JsonBody<CreateSecret>,
) -> ApiResult {
    let content = b
        .secret_content
        .ok_or_else(|| ApiError::missing("secretContent"))?
        .into_model()?;
    let mut t = s.lock(&ctx);
    sync_timings(&mut t);
    if !t.identity.exists(&b.compartment_id) {
        return Err(ApiError::not_found("compartment", &b.compartment_id));
    }
    let now = t.now;
    let spec = SecretSpec {
        compartment_id: b.compartment_id.clone(),
        vault_id: b.vault_id,
        key_id: b.key_id,
        name: b.secret_name.clone(),
        description: b.description,
        metadata: b.metadata.map(|m| m.to_string()),
        tags: Default::default(),
        content,
    };
    let id = t.world.vault.create_secret(now, spec)?;
    let state = t.world.vault.secret(&id)?.state(now).as_str();
    let mut meta = Meta::new(
        &id,
        "vaultsecret",
        &b.compartment_id,
        &b.secret_name,
        now,
        state,
    );
    TagsIn::of(b.freeform_tags, b.defined_tags).apply(&mut meta);
    t.registry.insert(meta);
    secret_reply(&t, &id)
}

async fn get_secret(State(s): State<Shared>, ctx: Ctx, Path(id): Path<String>) -> ApiResult {
    let t = s.lock(&ctx);
    let secret = t.world.vault.secret(&id)?;
    guard_secret(&t, &ctx.principal, Verb::Read, "secrets", secret)?;
    secret_reply(&t, &id)
}

const STATES: [&str; 9] = [
    "CREATING",
    "ACTIVE",
    "UPDATING",
    "DELETING",
    "DELETED",
    "SCHEDULING_DELETION",
    "PENDING_DELETION",
    "CANCELLING_DELETION",
    "FAILED",
];

async fn list_secrets(State(s): State<Shared>, ctx: Ctx, p: Params) -> ApiResult {
    let t = s.lock(&ctx);
    let compartment = p.required("compartmentId")?;
    if !t.identity.exists(compartment) {
        return Err(ApiError::not_found("compartment", compartment));
    }
    guard_compartment(&t, &ctx.principal, Verb::Inspect, "secrets", compartment)?;
    let name = p.get("name");
    let vault = p.get("vaultId");
    let state = p.one_of("lifecycleState", &STATES)?;
    let mut rows = Vec::new();
    for secret in t.world.vault.secrets() {
        let keep = secret.compartment_id == compartment
            && name.is_none_or(|n| n == secret.name)
            && vault.is_none_or(|v| v == secret.vault_id)
            && state.is_none_or(|st| st == secret.state(t.now).as_str());
        if keep {
            let (j, _) = secret_json(&t, secret, true)?;
            rows.push((
                secret.time_created,
                secret.name.clone(),
                secret.id.clone(),
                j,
            ));
        }
    }
    sort_items(&mut rows, &p, &["TIMECREATED"], &["NAME"], |r| {
        (r.0, r.1.clone(), r.2.clone())
    })?;
    let (page, next) = paginate(rows.into_iter().map(|r| r.3).collect(), &p)?;
    Ok(Reply::page(&page, next))
}

async fn update_secret(
    State(s): State<Shared>,
    ctx: Ctx,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<UpdateSecret>,
) -> ApiResult {
    let current_version_number = b
        .current_version_number
        .map(|n| {
            u32::try_from(n).ok().filter(|n| *n >= 1).ok_or_else(|| {
                ApiError::invalid(
                    "currentVersionNumber",
                    format!("{n} is not a version number (1 or more)"),
                )
            })
        })
        .transpose()?;
    let content = b.secret_content.map(ContentIn::into_model).transpose()?;
    let mut t = s.lock(&ctx);
    sync_timings(&mut t);
    let now = t.now;
    let update = SecretUpdate {
        description: b.description,
        metadata: b.metadata.map(|m| m.to_string()),
        tags: None,
        content,
        current_version_number,
    };
    let secret = t.world.vault.update_secret(now, &id, update)?;
    let (state, compartment, name) = (
        secret.state(now),
        secret.compartment_id.clone(),
        secret.name.clone(),
    );
    let meta = meta_mut(&mut t, &id, "vaultsecret", &compartment, &name);
    meta.lifecycle_state = state.as_str().to_string();
    meta.version += 1;
    TagsIn::of(b.freeform_tags, b.defined_tags).apply(meta);
    secret_reply(&t, &id)
}

async fn rotate_secret(State(s): State<Shared>, ctx: Ctx, Path(id): Path<String>) -> ApiResult {
    let t = s.lock(&ctx);
    let secret = t.world.vault.secret(&id)?;
    Err(ApiError::invalid(
        "rotationConfig",
        format!(
            "secret `{}` has no rotation configuration (a target system is needed to rotate; the twin models none): create a new version with UpdateSecret instead",
            secret.name
        ),
    ))
}

/// CancelSecretRotation. The twin models no rotation target (a secret's
/// `rotationConfig` is refused at create), so no secret ever has a rotation
/// to cancel: an existing secret gets 400 naming `rotationConfig`, an unknown
/// one 404, as every secret operation does.
async fn cancel_rotation(State(s): State<Shared>, ctx: Ctx, Path(id): Path<String>) -> ApiResult {
    let t = s.lock(&ctx);
    let secret = t.world.vault.secret(&id)?;
    Err(ApiError::invalid(
        "rotationConfig",
        format!(
            "secret `{}` has no rotation in progress or scheduled (rotationStatus NOT_ENABLED): there is nothing to cancel",
            secret.name
        ),
    ))
}

async fn schedule_deletion(
    State(s): State<Shared>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let at = time_of_deletion(&body)?;
    let mut t = s.lock(&ctx);
    sync_timings(&mut t);
    let now = t.now;
    let state = t
        .world
        .vault
        .schedule_secret_deletion(now, &id, at)?
        .state(now);
    t.registry.set_state(&id, state.as_str());
    let etag = around(&t, &id).etag;
    Ok(Reply::empty().etag(&etag))
}

async fn cancel_deletion(State(s): State<Shared>, ctx: Ctx, Path(id): Path<String>) -> ApiResult {
    let mut t = s.lock(&ctx);
    sync_timings(&mut t);
    let now = t.now;
    let state = t.world.vault.cancel_secret_deletion(now, &id)?.state(now);
    t.registry.set_state(&id, state.as_str());
    let etag = around(&t, &id).etag;
    Ok(Reply::empty().etag(&etag))
}

/// SecretVersionSummary / SecretVersion.
fn version_json(s: &Secret, v: &SecretVersion, summary: bool) -> Value {
    let mut j = json!({
        "secretId": s.id,
        "versionNumber": v.number,
        "name": v.name,
        "contentType": "BASE64",
        "stages": stages_json(&s.stages(v.number)),
        "timeCreated": rfc3339(v.time_created),
        "timeOfDeletion": v.time_of_deletion.map(rfc3339),
        "isContentAutoGenerated": false,
    });
    if !summary {
        j["timeOfCurrentVersionExpiry"] = Value::Null;
    }
    j
}

/// The live versions of a secret, sorted by `sortBy=VERSION_NUMBER` and
/// `sortOrder` (ascending by default, an assumption), one page of them.
pub fn version_page<T>(
    versions: Vec<(u32, T)>,
    p: &Params,
) -> Result<(Vec<T>, Option<String>), ApiError> {
    p.one_of("sortBy", &["VERSION_NUMBER"])?;
    let descending = p.one_of("sortOrder", &["ASC", "DESC"])? == Some("DESC");
    let mut versions = versions;
    versions.sort_by_key(|(n, _)| *n);
    if descending {
        versions.reverse();
    }
    paginate(versions.into_iter().map(|(_, v)| v).collect(), p)
}

async fn list_versions(
    State(s): State<Shared>,
    ctx: Ctx,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult {
    let t = s.lock(&ctx);
    let secret = t.world.vault.secret(&id)?;
    guard_secret(&t, &ctx.principal, Verb::Inspect, "secret-versions", secret)?;
    let rows = secret
        .live_versions(t.now)
        .map(|v| (v.number, version_json(secret, v, true)))
        .collect();
    let (page, next) = version_page(rows, &p)?;
    Ok(Reply::page(&page, next))
}

fn version_number(n: &str) -> Result<u32, ApiError> {
    n.parse::<u32>().ok().filter(|n| *n >= 1).ok_or_else(|| {
        ApiError::invalid(
            "secretVersionNumber",
            format!("`{n}` is not a version number (1 or more)"),
        )
    })
}

async fn get_version(
    State(s): State<Shared>,
    ctx: Ctx,
    Path((id, n)): Path<(String, String)>,
) -> ApiResult {
    let n = version_number(&n)?;
    let t = s.lock(&ctx);
    let secret = t.world.vault.secret(&id)?;
    guard_secret(&t, &ctx.principal, Verb::Read, "secret-versions", secret)?;
    let v = secret.select(t.now, &crate::model::vault::VersionSelector::Number(n))?;
    let version = t.registry.get(&id).map_or(1, |m| m.version);
    Ok(Reply::json(&version_json(secret, v, false)).etag(&etag_of(&format!("{id}/{n}"), version)))
}

async fn schedule_version_deletion(
    State(s): State<Shared>,
    ctx: Ctx,
    Path((id, n)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let n = version_number(&n)?;
    let at = time_of_deletion(&body)?;
    let mut t = s.lock(&ctx);
    sync_timings(&mut t);
    let now = t.now;
    t.world.vault.schedule_version_deletion(now, &id, n, at)?;
    t.registry.touch(&id);
    let etag = around(&t, &id).etag;
    Ok(Reply::empty().etag(&etag))
}

async fn cancel_version_deletion(
    State(s): State<Shared>,
    ctx: Ctx,
    Path((id, n)): Path<(String, String)>,
) -> ApiResult {
    let n = version_number(&n)?;
    let mut t = s.lock(&ctx);
    sync_timings(&mut t);
    let now = t.now;
    t.world.vault.cancel_version_deletion(now, &id, n)?;
    t.registry.touch(&id);
    let etag = around(&t, &id).etag;
    Ok(Reply::empty().etag(&etag))
}
