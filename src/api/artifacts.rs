//! Artifacts: container repositories and the container configuration
//! (`/20160918/container/...`, artifacts host, oci-api.md §5.9).
//!
//! Creation is synchronous (AVAILABLE at once); lists return the
//! `ContainerRepositoryCollection` object, not a bare array. The rules
//! (paths, one name per compartment, one-way immutability) are the
//! container registry model's.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};

use super::core::check_compartment;
use super::error::ApiError;
use super::pipeline::Ctx;
use super::registry::Meta;
use super::state::{Shared, Twin};
use super::wire::{
    ApiResult, FreeformTags, JsonBody, Params, Reply, paginate, rfc3339, sort_items,
};
use crate::model::artifacts::{
    ArtifactsError, Registry as ContainerRegistry, RepoId, RepoLifecycle, Repository,
};

/// The artifacts routes.
pub fn routes(r: Router<Shared>) -> Router<Shared> {
    r.route(
        "/20160918/container/repositories",
        get(list_repos).post(create_repo),
    )
    .route(
        "/20160918/container/repositories/{id}",
        get(get_repo).put(update_repo).delete(delete_repo),
    )
    .route("/20160918/container/configuration", get(get_configuration))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Readme {
    content: String,
    format: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateRepo {
    compartment_id: String,
    display_name: String,
    is_immutable: Option<bool>,
    is_public: Option<bool>,
    readme: Option<Readme>,
    freeform_tags: Option<FreeformTags>,
    defined_tags: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateRepo {
    is_immutable: Option<bool>,
    is_public: Option<bool>,
    readme: Option<Readme>,
    freeform_tags: Option<FreeformTags>,
    defined_tags: Option<Value>,
}

fn repo_error(e: ArtifactsError) -> ApiError {
    match e {
        ArtifactsError::Duplicate { .. } => ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "NotAuthorizedOrResourceAlreadyExists",
            e.to_string(),
        ),
        ArtifactsError::BadPath(_) => ApiError::invalid("displayName", e.to_string()),
        ArtifactsError::StillImmutable(_) => ApiError::invalid("isImmutable", e.to_string()),
        ArtifactsError::NotAvailable { .. } => ApiError::conflict(e.to_string()),
    }
}

fn readme_of(r: Option<Readme>) -> Result<Option<(String, String)>, ApiError> {
    match r {
        Some(r) if r.format == "TEXT_MARKDOWN" || r.format == "TEXT_PLAIN" => {
            Ok(Some((r.content, r.format)))
        }
        Some(r) => Err(ApiError::invalid(
            "readme.format",
            format!("`{}` is not TEXT_MARKDOWN or TEXT_PLAIN", r.format),
        )),
        None => Ok(None),
    }
}

/// The object storage namespace of the tenancy, as OCIR shows it (a stable
/// lower-case string derived from the tenancy OCID; an assumption).
fn namespace(t: &Twin) -> String {
    let id = &t.identity.tenancy_id;
    let tail: String = id
        .chars()
        .rev()
        .filter(char::is_ascii_alphanumeric)
        .take(12)
        .collect();
    format!("ns{tail}")
}

fn registry(t: &Twin) -> &ContainerRegistry {
    &t.world.container_registry
}

fn repo_of(t: &Twin, id: &str) -> Result<RepoId, ApiError> {
    t.registry.get_kind(id, "containerrepo")?;
    registry(t)
        .by_ocid(id)
        .ok_or_else(|| ApiError::not_found("container repository", id))
}

fn repo_json(t: &Twin, m: &Meta, r: &Repository, summary: bool) -> Value {
    let mut v = json!({
        "compartmentId": r.compartment_id,
        "displayName": r.display_name,
        "id": r.id,
        "imageCount": r.image_count,
        "isPublic": r.is_public,
        "layerCount": r.layer_count,
        "layersSizeInBytes": r.layers_size_in_bytes,
        "lifecycleState": r.lifecycle.as_str(),
        "timeCreated": rfc3339(r.time_created),
        "billableSizeInGBs": r.layers_size_in_bytes.div_ceil(1 << 30),
        "namespace": namespace(t),
        "freeformTags": m.freeform_tags,
        "definedTags": m.defined_tags,
        "systemTags": {},
    });
    if !summary {
        v["createdBy"] = json!(r.created_by);
        v["isImmutable"] = json!(r.is_immutable);
        if let Some((content, format)) = &r.readme {
            v["readme"] = json!({"content": content, "format": format});
        }
    }
    v
}

async fn create_repo(
    State(s): State<Shared>,
    ctx: Ctx,
    JsonBody(b): JsonBody<CreateRepo>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    check_compartment(&t, &b.compartment_id)?;
    let readme = readme_of(b.readme)?;
    let id = t.world.mint.global("containerrepo");
    // The signing user when the request was verified; otherwise the tenancy.
    let created_by = match &ctx.principal {
        Some(super::auth::Principal::User { user, .. }) => user.clone(),
        _ => t.identity.tenancy_id.clone(),
    };
    let now = t.now;
    let repo = Repository {
        id: id.clone(),
        compartment_id: b.compartment_id.clone(),
        display_name: b.display_name.clone(),
        is_public: b.is_public.unwrap_or(false),
        is_immutable: b.is_immutable.unwrap_or(false),
        readme,
        created_by,
        lifecycle: RepoLifecycle::Available,
        time_created: now,
        image_count: 0,
        layer_count: 0,
        layers_size_in_bytes: 0,
    };
    let rid = t
        .world
        .container_registry
        .create(repo)
        .map_err(repo_error)?;
    let mut m = Meta::new(
        &id,
        "containerrepo",
        &b.compartment_id,
        &b.display_name,
        now,
        "AVAILABLE",
    );
    m.freeform_tags = b.freeform_tags.unwrap_or_default();
    m.defined_tags = b.defined_tags.unwrap_or(json!({}));
    t.registry.insert(m);
    let m = t.registry.get_kind(&id, "containerrepo")?;
    let r = registry(&t).get(rid);
    Ok(Reply::json(&repo_json(&t, m, r, false)).etag(&m.etag()))
}

async fn get_repo(State(s): State<Shared>, ctx: Ctx, Path(id): Path<String>) -> ApiResult {
    let t = s.lock(&ctx);
    let rid = repo_of(&t, &id)?;
    let r = registry(&t).get(rid);
    if r.lifecycle == RepoLifecycle::Deleted {
        return Err(ApiError::not_found("container repository", &id));
    }
    let m = t.registry.get_kind(&id, "containerrepo")?;
    Ok(Reply::json(&repo_json(&t, m, r, false)).etag(&m.etag()))
}

async fn update_repo(
    State(s): State<Shared>,
    ctx: Ctx,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<UpdateRepo>,
) -> ApiResult {
    let mut t = s.lock(&ctx);
    let rid = repo_of(&t, &id)?;
    let readme = readme_of(b.readme)?;
    t.world
        .container_registry
        .update(rid, b.is_public, b.is_immutable, readme)
        .map_err(repo_error)?;
    {
        let m = t.registry.get_kind_mut(&id, "containerrepo")?;
        if let Some(f) = b.freeform_tags {
            m.freeform_tags = f;
        }
        if let Some(d) = b.defined_tags {
            m.defined_tags = d;
        }
    }
    t.registry.touch(&id);
    let m = t.registry.get_kind(&id, "containerrepo")?;
    let r = registry(&t).get(rid);
    Ok(Reply::json(&repo_json(&t, m, r, false)).etag(&m.etag()))
}

async fn delete_repo(State(s): State<Shared>, ctx: Ctx, Path(id): Path<String>) -> ApiResult {
    let mut t = s.lock(&ctx);
    let rid = repo_of(&t, &id)?;
    if registry(&t).get(rid).lifecycle == RepoLifecycle::Deleted {
        return Err(ApiError::not_found("container repository", &id));
    }
    t.world.container_registry.delete(rid).map_err(repo_error)?;
    t.registry.set_state(&id, "DELETED");
    Ok(Reply::empty())
}

async fn list_repos(State(s): State<Shared>, ctx: Ctx, p: Params) -> ApiResult {
    let t = s.lock(&ctx);
    let c = p.required("compartmentId")?;
    if !t.identity.exists(c) {
        return Err(ApiError::not_found("compartment", c));
    }
    let subtree = p.bool("compartmentIdInSubtree")?.unwrap_or(false);
    let is_public = p.bool("isPublic")?;
    let state = p.one_of("lifecycleState", &["AVAILABLE", "DELETING", "DELETED"])?;
    let name = p.get("displayName");
    let repo_id = p.get("repositoryId");
    let in_scope = |comp: &str| comp == c || (subtree && t.identity.is_within(comp, c));
    let mut items: Vec<(&Meta, &Repository)> = registry(&t)
        .repos
        .iter()
        .filter(|r| in_scope(&r.compartment_id))
        .filter(|r| match state {
            Some(s) => r.lifecycle.as_str() == s,
            None => r.lifecycle != RepoLifecycle::Deleted,
        })
        .filter(|r| name.is_none_or(|n| n == r.display_name))
        .filter(|r| repo_id.is_none_or(|i| i == r.id))
        .filter(|r| is_public.is_none_or(|p| p == r.is_public))
        .filter_map(|r| t.registry.get(&r.id).map(|m| (m, r)))
        .collect();
    sort_items(
        &mut items,
        &p,
        &["TIMECREATED"],
        &["DISPLAYNAME"],
        |(m, _)| m.sort_key(),
    )?;
    let totals = ContainerRegistry::totals(items.iter().map(|(_, r)| *r));
    let ids: Vec<String> = items.iter().map(|(_, r)| r.id.clone()).collect();
    let (page, next) = paginate(items, &p)?;
    let offset = page
        .first()
        .and_then(|(_, r)| ids.iter().position(|i| *i == r.id))
        .unwrap_or(ids.len());
    let remaining = ids.len() - (offset + page.len()).min(ids.len());
    let v: Vec<Value> = page
        .iter()
        .map(|(m, r)| repo_json(&t, m, r, true))
        .collect();
    let body = json!({
        "items": v,
        "repositoryCount": totals.repository_count,
        "imageCount": totals.image_count,
        "layerCount": totals.layer_count,
        "layersSizeInBytes": totals.layers_size_in_bytes,
        "remainingItemsCount": remaining,
    });
    let r = Reply::json(&body);
    Ok(match next {
        Some(n) => r.header("opc-next-page", &n),
        None => r,
    })
}

async fn get_configuration(State(s): State<Shared>, ctx: Ctx, p: Params) -> ApiResult {
    let t = s.lock(&ctx);
    let c = p.required("compartmentId")?;
    if !t.identity.exists(c) {
        return Err(ApiError::not_found("compartment", c));
    }
    let ns = namespace(&t);
    Ok(
        Reply::json(&json!({"isRepositoryCreatedOnFirstPush": false, "namespace": ns}))
            .etag(&super::wire::etag_of(&ns, 1)),
    )
}
