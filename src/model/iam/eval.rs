//! Policy evaluation: does any statement allow this request, and if none does,
//! why each statement considered did not match.
//!
//! A statement matches when its subject includes the principal, its verb is at
//! least the one needed, its resource type covers the requested type, its
//! location contains the target compartment, and its conditions hold. The
//! checks run in that order and the first failing one is the reason given.
//! Values compare case-insensitively; a condition on a variable the request
//! does not define is false (OCI declines such requests).

use std::collections::BTreeMap;
use std::fmt;

use super::parse::{
    Condition, GroupRef, Location, Op, Statement, Subject, SubjectItem, Value, Verb,
};
use super::resources::covers;

/// The compartment tree the evaluator needs; [`crate::model::identity::Identity`]
/// implements it.
pub trait CompartmentTree {
    /// The root compartment's (the tenancy's) OCID.
    fn root_id(&self) -> &str;
    /// The live child of `parent` named `name` (case-insensitive).
    fn child_named(&self, parent: &str, name: &str) -> Option<&str>;
    /// True when `child` is `ancestor` or below it.
    fn is_within(&self, child: &str, ancestor: &str) -> bool;
    /// A compartment's display path for explanations (`A:B`, or `tenancy`).
    fn describe(&self, id: &str) -> String;
}

impl CompartmentTree for crate::model::identity::Identity {
    fn root_id(&self) -> &str {
        &self.root().id
    }

    fn child_named(&self, parent: &str, name: &str) -> Option<&str> {
        self.children(parent)
            .find(|c| {
                c.state != crate::model::identity::CompartmentState::Deleted
                    && c.name.eq_ignore_ascii_case(name)
            })
            .map(|c| c.id.as_str())
    }

    fn is_within(&self, child: &str, ancestor: &str) -> bool {
        crate::model::identity::Identity::is_within(self, child, ancestor)
    }

    fn describe(&self, id: &str) -> String {
        match self.path_of(id) {
            Some(p) if p.is_empty() => "tenancy".to_string(),
            Some(p) => format!("compartment {p}"),
            None => format!("compartment {id}"),
        }
    }
}

/// A group a user belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// OCID.
    pub id: String,
    /// Name.
    pub name: String,
}

/// Who is asking.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    /// A user with its groups.
    User {
        /// User OCID.
        id: String,
        /// Groups the user is in.
        groups: Vec<Group>,
    },
    /// An OKE workload (domain.md §6): matched only by `any-user` plus conditions.
    Workload {
        /// Cluster OCID.
        cluster_id: String,
        /// Kubernetes namespace.
        namespace: String,
        /// Kubernetes service account.
        service_account: String,
    },
}

impl Principal {
    /// The `request.*` variables this principal defines.
    pub fn variables(&self) -> BTreeMap<String, String> {
        let mut v = BTreeMap::new();
        match self {
            Principal::User { id, .. } => {
                v.insert("request.principal.type".into(), "user".into());
                v.insert("request.principal.id".into(), id.clone());
                v.insert("request.user.id".into(), id.clone());
            }
            Principal::Workload {
                cluster_id,
                namespace,
                service_account,
            } => {
                v.insert("request.principal.type".into(), "workload".into());
                v.insert("request.principal.cluster_id".into(), cluster_id.clone());
                v.insert("request.principal.namespace".into(), namespace.clone());
                v.insert(
                    "request.principal.service_account".into(),
                    service_account.clone(),
                );
            }
        }
        v
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Principal::User { id, .. } => write!(f, "user {id}"),
            Principal::Workload {
                cluster_id,
                namespace,
                service_account,
            } => write!(
                f,
                "workload (cluster {cluster_id}, namespace {namespace}, service account {service_account})"
            ),
        }
    }
}

/// What is being asked.
#[derive(Clone, Debug)]
pub struct Request {
    /// Who asks.
    pub principal: Principal,
    /// The verb the operation needs (e.g. `read` for GetSecretBundle).
    pub verb: Verb,
    /// The individual resource type (e.g. `secret-bundles`).
    pub resource_type: String,
    /// The target resource's compartment OCID.
    pub compartment_id: String,
    /// `target.*` variables (e.g. `target.secret.name`), keys lower-case.
    pub target: BTreeMap<String, String>,
}

/// A statement with the policy that holds it, as the evaluator sees it.
#[derive(Clone, Copy, Debug)]
pub struct PolicyStatement<'a> {
    /// Policy name.
    pub policy: &'a str,
    /// The compartment the policy is attached to.
    pub policy_compartment: &'a str,
    /// 1-based index in the policy.
    pub index: usize,
    /// The statement.
    pub statement: &'a Statement,
}

/// Why one statement did not match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Miss {
    /// Policy name.
    pub policy: String,
    /// 1-based index in the policy.
    pub index: usize,
    /// Statement text.
    pub text: String,
    /// Why it did not match.
    pub reason: String,
}

/// The outcome of an evaluation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Allowed by this statement.
    Allow {
        /// Policy name.
        policy: String,
        /// 1-based index in the policy.
        index: usize,
        /// Statement text.
        text: String,
    },
    /// No statement matched; every statement considered, with its reason.
    Deny {
        /// The request, in words.
        request: String,
        /// Each statement and why it did not match.
        considered: Vec<Miss>,
    },
}

impl Decision {
    /// True for [`Decision::Allow`].
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allow { .. })
    }

    /// The explanation: which statement allowed, or every statement and why not.
    pub fn explain(&self) -> String {
        match self {
            Decision::Allow {
                policy,
                index,
                text,
            } => {
                format!("allowed by policy `{policy}` statement {index}: {text}")
            }
            Decision::Deny {
                request,
                considered,
            } if considered.is_empty() => {
                format!("{request} is not authorized: no policy statements exist")
            }
            Decision::Deny {
                request,
                considered,
            } => {
                let lines: Vec<String> = considered
                    .iter()
                    .map(|m| {
                        format!(
                            "policy `{}` statement {} ({}): {}",
                            m.policy, m.index, m.text, m.reason
                        )
                    })
                    .collect();
                format!(
                    "{request} is not authorized; statements considered: {}",
                    lines.join("; ")
                )
            }
        }
    }
}

/// Evaluates `request` against `statements`.
pub fn evaluate<'a>(
    tree: &dyn CompartmentTree,
    statements: impl IntoIterator<Item = PolicyStatement<'a>>,
    request: &Request,
) -> Decision {
    let mut vars = request.principal.variables();
    vars.extend(request.target.clone());
    vars.insert(
        "target.compartment.id".into(),
        request.compartment_id.clone(),
    );
    let mut considered = Vec::new();
    for ps in statements {
        match why_not(tree, &ps, request, &vars) {
            None => {
                return Decision::Allow {
                    policy: ps.policy.to_string(),
                    index: ps.index,
                    text: ps.statement.text.clone(),
                };
            }
            Some(reason) => considered.push(Miss {
                policy: ps.policy.to_string(),
                index: ps.index,
                text: ps.statement.text.clone(),
                reason,
            }),
        }
    }
    Decision::Deny {
        request: format!(
            "{} to {} {} in {}",
            request.principal,
            request.verb,
            request.resource_type,
            tree.describe(&request.compartment_id)
        ),
        considered,
    }
}

/// None when the statement allows the request, else the first reason it does not.
fn why_not(
    tree: &dyn CompartmentTree,
    ps: &PolicyStatement<'_>,
    request: &Request,
    vars: &BTreeMap<String, String>,
) -> Option<String> {
    let s = ps.statement;
    if let Some(r) = subject_miss(&s.subject, &request.principal) {
        return Some(r);
    }
    if s.verb < request.verb {
        return Some(format!(
            "verb `{}` does not include `{}`",
            s.verb, request.verb
        ));
    }
    if !covers(&s.resource_type, &request.resource_type) {
        return Some(format!(
            "resource-type `{}` does not cover `{}`",
            s.resource_type, request.resource_type
        ));
    }
    if let Some(r) = location_miss(tree, ps, &request.compartment_id) {
        return Some(r);
    }
    s.condition.as_ref().and_then(|c| condition_miss(c, vars))
}

fn subject_miss(subject: &Subject, principal: &Principal) -> Option<String> {
    match (subject, principal) {
        (Subject::AnyUser, _) => None,
        (Subject::AnyGroup, Principal::User { groups, .. }) if !groups.is_empty() => None,
        (Subject::AnyGroup, _) => Some(format!("subject any-group does not include {principal}")),
        (Subject::List(items), Principal::User { groups, .. }) => {
            let hit = items.iter().any(|item| match item {
                SubjectItem::Group(g) => groups.iter().any(|m| group_matches(g, m)),
                SubjectItem::DynamicGroup(_) => false,
            });
            (!hit).then(|| format!("no group in the subject includes {principal}"))
        }
        (Subject::List(_), Principal::Workload { .. }) => Some(format!(
            "groups and dynamic groups never include a {principal}: write `any-user` with request.principal conditions"
        )),
    }
}

fn group_matches(reference: &GroupRef, group: &Group) -> bool {
    match reference {
        GroupRef::Name(n) => n.eq_ignore_ascii_case(&group.name),
        GroupRef::Id(id) => id.eq_ignore_ascii_case(&group.id),
    }
}

/// Resolves the statement's location from the policy's compartment; None if
/// it contains the target compartment.
fn location_miss(
    tree: &dyn CompartmentTree,
    ps: &PolicyStatement<'_>,
    target: &str,
) -> Option<String> {
    let resolved = match resolve_location(tree, ps.policy_compartment, &ps.statement.location) {
        Ok(id) => id,
        Err(reason) => return Some(reason),
    };
    if tree.is_within(target, &resolved) {
        None
    } else {
        Some(format!(
            "{} is not within {}",
            tree.describe(target),
            tree.describe(&resolved)
        ))
    }
}

/// The compartment OCID a location names, relative to the policy's compartment.
pub fn resolve_location(
    tree: &dyn CompartmentTree,
    policy_compartment: &str,
    location: &Location,
) -> Result<String, String> {
    match location {
        Location::Tenancy if policy_compartment == tree.root_id() => {
            Ok(policy_compartment.to_string())
        }
        Location::Tenancy => Err(format!(
            "`in tenancy` is only allowed in a policy attached to the tenancy, not to {}",
            tree.describe(policy_compartment)
        )),
        Location::Id(id) if tree.is_within(id, policy_compartment) => Ok(id.clone()),
        Location::Id(id) => Err(format!(
            "compartment {id} is not {} or below it",
            tree.describe(policy_compartment)
        )),
        Location::Path(parts) => {
            let mut cur = policy_compartment.to_string();
            for part in parts {
                cur = tree
                    .child_named(&cur, part)
                    .map(str::to_string)
                    .ok_or_else(|| {
                        format!("no compartment `{part}` under {}", tree.describe(&cur))
                    })?;
            }
            Ok(cur)
        }
    }
}

fn condition_miss(c: &Condition, vars: &BTreeMap<String, String>) -> Option<String> {
    match c {
        Condition::Clause {
            variable,
            op,
            value,
        } => clause_miss(variable, *op, value, vars),
        Condition::All(items) => items.iter().find_map(|i| condition_miss(i, vars)),
        Condition::Any(items) => {
            let misses: Vec<String> = items
                .iter()
                .map(|i| condition_miss(i, vars))
                .collect::<Option<_>>()?;
            Some(format!("none of any {{…}} holds: {}", misses.join("; ")))
        }
    }
}

fn clause_miss(
    variable: &str,
    op: Op,
    value: &Value,
    vars: &BTreeMap<String, String>,
) -> Option<String> {
    let shown = Condition::Clause {
        variable: variable.to_string(),
        op,
        value: value.clone(),
    };
    let Some(actual) = vars.get(variable) else {
        return Some(format!(
            "{shown} is false: {variable} is not defined for this request"
        ));
    };
    let equal = match value {
        Value::Literal(v) => v.eq_ignore_ascii_case(actual),
        Value::Pattern(p) => glob_matches(&p.to_ascii_lowercase(), &actual.to_ascii_lowercase()),
    };
    let holds = equal == (op == Op::Eq);
    (!holds).then(|| format!("{shown} is false ({variable} is '{actual}')"))
}

/// `*` matches any run of characters; everything else literally.
pub fn glob_matches(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}
