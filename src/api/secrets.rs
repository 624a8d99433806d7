//! Secret retrieval (SecretsClient, `/20190301`, oci-api.md §5.6): bundles by
//! secret OCID and by name (a POST with an empty body and query parameters),
//! selected by `versionNumber`, `secretVersionName` or `stage` (at most one;
//! none means CURRENT), and the list of bundle versions. Content comes back as
//! `secretBundleContent {contentType: "BASE64", content}`.
//!
//! A workload principal needs `read secret-bundles` (or a family covering it)
//! on the secret's compartment; a denial is 404 with the evaluator's reasons.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::error::ApiError;
use super::pipeline::Ctx;
use super::state::{Shared, Twin};
use super::vault_wire::{guard_secret, metadata_json, stages_json};
use super::vaults::version_page;
use super::wire::{ApiResult, Params, Reply, etag_of, rfc3339};
use crate::model::iam::Verb;
use crate::model::vault::{Secret, SecretBundle, Stage, VersionSelector};

/// Secrets routes.
pub fn routes(r: Router<Shared>) -> Router<Shared> {
    r.route(
        "/20190301/secretbundles/actions/getByName",
        post(get_by_name),
    )
    .route("/20190301/secretbundles/{id}", get(get_bundle))
    .route(
        "/20190301/secretbundles/{id}/versions",
        get(list_bundle_versions),
    )
}

/// The one selector a request gives (none: CURRENT); two or more is 400.
fn selector(p: &Params) -> Result<VersionSelector, ApiError> {
    let number = p.get("versionNumber");
    let name = p.get("secretVersionName");
    let stage = p.one_of("stage", &Stage::ALL.map(Stage::as_str))?;
    let given = [number.is_some(), name.is_some(), stage.is_some()];
    if given.iter().filter(|g| **g).count() > 1 {
        return Err(ApiError::invalid(
            "versionNumber",
            "give at most one of versionNumber, secretVersionName and stage",
        ));
    }
    if let Some(n) = number {
        let n = n.parse::<u32>().ok().filter(|n| *n >= 1).ok_or_else(|| {
            ApiError::invalid(
                "versionNumber",
                format!("`{n}` is not a version number (1 or more)"),
            )
        })?;
        return Ok(VersionSelector::Number(n));
    }
    if let Some(n) = name {
        return Ok(VersionSelector::Name(n.to_string()));
    }
    Ok(stage
        .and_then(Stage::parse)
        .map_or_else(VersionSelector::default, VersionSelector::Stage))
}

/// The SecretBundle model.
fn bundle_json(b: &SecretBundle) -> Value {
    json!({
        "secretId": b.secret_id,
        "versionNumber": b.version_number,
        "versionName": b.version_name,
        "stages": stages_json(&b.stages),
        "secretBundleContent": {"contentType": "BASE64", "content": b.content},
        "timeCreated": rfc3339(b.time_created),
        "timeOfDeletion": b.time_of_deletion.map(rfc3339),
        "timeOfExpiry": Value::Null,
        "metadata": metadata_json(&b.metadata),
    })
}

fn bundle_reply(t: &Twin, ctx: &Ctx, secret: &Secret, sel: &VersionSelector) -> ApiResult {
    guard_secret(t, &ctx.principal, Verb::Read, "secret-bundles", secret)?;
    let b = t.world.vault.bundle(t.now, &secret.id, sel)?;
    let version = t.registry.get(&secret.id).map_or(1, |m| m.version);
    let etag = etag_of(&format!("{}/{}", secret.id, b.version_number), version);
    Ok(Reply::json(&bundle_json(&b)).etag(&etag))
}

async fn get_bundle(
    State(s): State<Shared>,
    ctx: Ctx,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult {
    let sel = selector(&p)?;
    let t = s.lock(&ctx);
    let secret = t.world.vault.secret(&id)?;
    bundle_reply(&t, &ctx, secret, &sel)
}

async fn get_by_name(State(s): State<Shared>, ctx: Ctx, p: Params) -> ApiResult {
    let name = p.required("secretName")?.to_string();
    let vault = p.required("vaultId")?.to_string();
    let sel = selector(&p)?;
    let t = s.lock(&ctx);
    let secret = t.world.vault.secret_by_name(t.now, &vault, &name)?;
    bundle_reply(&t, &ctx, secret, &sel)
}

async fn list_bundle_versions(
    State(s): State<Shared>,
    ctx: Ctx,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult {
    let t = s.lock(&ctx);
    let secret = t.world.vault.secret(&id)?;
    guard_secret(&t, &ctx.principal, Verb::Read, "secret-bundles", secret)?;
    let rows = secret
        .live_versions(t.now)
        .map(|v| {
            (
                v.number,
                json!({
                    "secretId": secret.id,
                    "versionNumber": v.number,
                    "versionName": v.name,
                    "stages": stages_json(&secret.stages(v.number)),
                    "timeCreated": rfc3339(v.time_created),
                    "timeOfDeletion": v.time_of_deletion.map(rfc3339),
                    "timeOfExpiry": Value::Null,
                }),
            )
        })
        .collect();
    let (page, next) = version_page(rows, &p)?;
    Ok(Reply::page(&page, next))
}
