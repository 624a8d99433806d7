//! Identity policies (`/20160918/policies`, IdentityClient): create, get,
//! list, update and delete, stored in the IAM model whose evaluator guards
//! secret reads by workload principals. A statement that does not parse is
//! 400 InvalidParameter naming `statements[i]` and the column.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::ApiError;
use super::pipeline::Ctx;
use super::registry::Meta;
use super::state::{Shared, Twin};
use super::vault_wire::TagsIn;
use super::wire::{
    ApiResult, FreeformTags, JsonBody, Params, Reply, paginate, rfc3339, sort_items,
};
use crate::model::iam::{IamError, PolicySpec};

/// Policy routes.
pub fn routes(r: Router<Shared>) -> Router<Shared> {
    r.route("/20160918/policies", get(list_policies).post(create_policy))
        .route(
            "/20160918/policies/{id}",
            get(get_policy).put(update_policy).delete(delete_policy),
        )
}

impl From<IamError> for ApiError {
    fn from(e: IamError) -> ApiError {
        let msg = e.to_string();
        match e {
            IamError::Parse { index, .. } | IamError::Location { index, .. } => {
                ApiError::invalid(&format!("statements[{}]", index - 1), msg)
            }
            IamError::NoStatements(_) => ApiError::missing("statements"),
            IamError::TooManyStatements { .. } | IamError::PolicyLimit(_) => ApiError::limit(msg),
            IamError::DuplicateName(_) => ApiError::new(
                StatusCode::CONFLICT,
                "NotAuthorizedOrResourceAlreadyExists",
                msg,
            ),
            IamError::PolicyNotFound(id) => ApiError::not_found("policy", &id),
            IamError::CompartmentNotFound(id) => ApiError::not_found("compartment", &id),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreatePolicy {
    compartment_id: String,
    name: String,
    statements: Vec<String>,
    description: String,
    version_date: Option<String>,
    freeform_tags: Option<FreeformTags>,
    defined_tags: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdatePolicy {
    description: Option<String>,
    statements: Option<Vec<String>>,
    version_date: Option<String>,
    freeform_tags: Option<FreeformTags>,
    defined_tags: Option<Value>,
}

/// The Policy model and its etag.
fn policy_json(t: &Twin, id: &str) -> Result<(Value, String), ApiError> {
    let p = t.world.iam.policy(id)?;
    let meta = t.registry.get_kind(id, "policy")?;
    let j = json!({
        "id": p.id,
        "compartmentId": p.compartment_id,
        "name": p.name,
        "description": p.description,
        "statements": p.statements.iter().map(|s| s.text.clone()).collect::<Vec<_>>(),
        "timeCreated": rfc3339(p.time_created),
        "lifecycleState": "ACTIVE",
        "versionDate": Value::Null,
        "freeformTags": meta.freeform_tags,
        "definedTags": meta.defined_tags,
    });
    Ok((j, meta.etag()))
}

fn policy_reply(t: &Twin, id: &str) -> ApiResult {
    let (j, etag) = policy_json(t, id)?;
    Ok(Reply::json(&j).etag(&etag))
}

fn refuse_version_date(v: &Option<String>) -> Result<(), ApiError> {
    match v {
        Some(_) => Err(ApiError::invalid(
            "versionDate",
            "not modelled by the twin: policies always use the current verbs and resource types",
        )),
        None => Ok(()),
    }
}

async fn create_policy(
    State(s): State<Shared>,
    ctx: Ctx,
    JsonBody(b): JsonBody<CreatePolicy>,
) -> ApiResult {
    refuse_version_date(&b.version_date)?;
    let mut t = s.lock(&ctx);
    let now = t.now;
    let t = &mut *t;
    let id = t.world.iam.create_policy(
        now,
        &t.identity,
        PolicySpec {
            compartment_id: b.compartment_id.clone(),
            name: b.name.clone(),
            description: b.description,
            statements: b.statements,
        },
    )?;
    let mut meta = Meta::new(&id, "policy", &b.compartment_id, &b.name, now, "ACTIVE");
    TagsIn::of(b.freeform_tags, b.defined_tags).apply(&mut meta);
    t.registry.insert(meta);
    policy_reply(t, &id)
}

async fn get_policy(State(s): State<Shared>, ctx: Ctx, Path(id): Path<String>) -> ApiResult {
    let t = s.lock(&ctx);
    policy_reply(&t, &id)
}

async fn list_policies(State(s): State<Shared>, ctx: Ctx, p: Params) -> ApiResult {
    let t = s.lock(&ctx);
    let compartment = p.required("compartmentId")?;
    if !t.identity.exists(compartment) {
        return Err(ApiError::not_found("compartment", compartment));
    }
    let name = p.get("name");
    p.one_of(
        "lifecycleState",
        &["CREATING", "ACTIVE", "INACTIVE", "DELETING", "DELETED"],
    )?;
    let state = p.get("lifecycleState");
    let mut rows = Vec::new();
    for policy in t.world.iam.policies() {
        let keep = policy.compartment_id == compartment
            && name.is_none_or(|n| n == policy.name)
            && state.is_none_or(|s| s == "ACTIVE");
        if keep {
            let (j, _) = policy_json(&t, &policy.id)?;
            rows.push((
                policy.time_created,
                policy.name.clone(),
                policy.id.clone(),
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

async fn update_policy(
    State(s): State<Shared>,
    ctx: Ctx,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<UpdatePolicy>,
) -> ApiResult {
    refuse_version_date(&b.version_date)?;
    let mut t = s.lock(&ctx);
    let t = &mut *t;
    t.world
        .iam
        .update_policy(&t.identity, &id, b.description, b.statements)?;
    let meta = t.registry.get_kind_mut(&id, "policy")?;
    TagsIn::of(b.freeform_tags, b.defined_tags).apply(meta);
    meta.version += 1;
    policy_reply(t, &id)
}

async fn delete_policy(State(s): State<Shared>, ctx: Ctx, Path(id): Path<String>) -> ApiResult {
    let mut t = s.lock(&ctx);
    t.world.iam.delete_policy(&id)?;
    t.registry.set_state(&id, "DELETED");
    Ok(Reply::empty())
}
