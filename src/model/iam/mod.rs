//! IAM policies: storage of Identity policies, the statement grammar and the
//! evaluator that decides a request (domain.md §6, docs/vault-facts.md).
//!
//! - [`parse`]: `Allow <subject> to <verb> <resource-type> in <location>
//!   where <conditions>` with located parse errors;
//! - [`resources`]: resource types and families (`secret-family`, ...);
//! - [`eval`]: the evaluator, which explains a denial statement by statement.
//!
//! The same evaluator serves the External Secrets sync in scenarios and the
//! API's guard on secret reads by workload principals. Compartments come from
//! a [`CompartmentTree`] (the identity model). Nothing here knows HTTP or JSON.

pub mod eval;
pub mod parse;
pub mod resources;

use std::collections::BTreeMap;

use thiserror::Error;

pub use eval::{
    CompartmentTree, Decision, Group, Miss, PolicyStatement, Principal, Request, evaluate,
};
pub use parse::{ParseError, Statement, Verb, parse_statement};

use super::ocid::OcidMint;
use crate::kernel::SimTime;

/// Identity policy limits (UNCONFIRMED defaults: 100 policies, 50 statements each).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IamLimits {
    /// Policies per tenancy.
    pub policies_per_tenancy: usize,
    /// Statements per policy.
    pub statements_per_policy: usize,
}

impl Default for IamLimits {
    fn default() -> Self {
        IamLimits {
            policies_per_tenancy: 100,
            statements_per_policy: 50,
        }
    }
}

/// Errors of the policy store; each names the policy and statement.
#[derive(Debug, Error, PartialEq, Eq, Clone)]
pub enum IamError {
    /// A statement does not parse.
    #[error("policy `{policy}` statement {index}: {error}")]
    Parse {
        /// Policy name.
        policy: String,
        /// 1-based statement index.
        index: usize,
        /// Where and what.
        error: ParseError,
    },
    /// A statement's location names no compartment reachable from the policy's.
    #[error("policy `{policy}` statement {index}: {reason}")]
    Location {
        /// Policy name.
        policy: String,
        /// 1-based statement index.
        index: usize,
        /// Why.
        reason: String,
    },
    /// A policy needs at least one statement.
    #[error("policy `{0}` has no statements")]
    NoStatements(String),
    /// Too many statements in one policy.
    #[error("policy `{policy}` has {count} statements, over the limit of {limit}")]
    TooManyStatements {
        /// Policy name.
        policy: String,
        /// Statements given.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// The tenancy's policy limit is reached.
    #[error("the tenancy already has {0} policies (service limit)")]
    PolicyLimit(usize),
    /// Policy names are unique in the tenancy.
    #[error("a policy named `{0}` already exists")]
    DuplicateName(String),
    /// No policy with this OCID.
    #[error("policy {0} not found")]
    PolicyNotFound(String),
    /// The compartment to attach to does not exist.
    #[error("compartment {0} not found")]
    CompartmentNotFound(String),
}

/// What a new policy needs (`CreatePolicyDetails`).
#[derive(Clone, Debug)]
pub struct PolicySpec {
    /// The compartment the policy is attached to.
    pub compartment_id: String,
    /// Name, unique in the tenancy.
    pub name: String,
    /// Description.
    pub description: String,
    /// Statements as written.
    pub statements: Vec<String>,
}

/// A stored policy.
#[derive(Clone, Debug)]
pub struct Policy {
    /// OCID.
    pub id: String,
    /// The compartment it is attached to.
    pub compartment_id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Parsed statements (each keeps its text).
    pub statements: Vec<Statement>,
    /// Creation time.
    pub time_created: SimTime,
}

/// The tenancy's policies, in creation order.
#[derive(Clone, Debug)]
pub struct Iam {
    /// Limits in force.
    pub limits: IamLimits,
    policies: Vec<Policy>,
    mint: OcidMint,
}

impl Iam {
    /// No policies; OCIDs from `mint` (fork a stream of its own, e.g. `iam-ocid`).
    pub fn new(limits: IamLimits, mint: OcidMint) -> Self {
        Iam {
            limits,
            policies: Vec::new(),
            mint,
        }
    }

    /// Parses, checks and stores a policy; returns its OCID.
    pub fn create_policy(
        &mut self,
        now: SimTime,
        tree: &dyn CompartmentTree,
        spec: PolicySpec,
    ) -> Result<String, IamError> {
        if self.policies.len() >= self.limits.policies_per_tenancy {
            return Err(IamError::PolicyLimit(self.limits.policies_per_tenancy));
        }
        if self
            .policies
            .iter()
            .any(|p| p.name.eq_ignore_ascii_case(&spec.name))
        {
            return Err(IamError::DuplicateName(spec.name));
        }
        if !tree.is_within(&spec.compartment_id, tree.root_id()) {
            return Err(IamError::CompartmentNotFound(spec.compartment_id));
        }
        let statements =
            self.check_statements(tree, &spec.name, &spec.compartment_id, &spec.statements)?;
        let id = self.mint.global("policy");
        self.policies.push(Policy {
            id: id.clone(),
            compartment_id: spec.compartment_id,
            name: spec.name,
            description: spec.description,
            statements,
            time_created: now,
        });
        Ok(id)
    }

    /// Parses every statement and resolves its location from the policy's compartment.
    pub fn check_statements(
        &self,
        tree: &dyn CompartmentTree,
        policy: &str,
        compartment_id: &str,
        texts: &[String],
    ) -> Result<Vec<Statement>, IamError> {
        if texts.is_empty() {
            return Err(IamError::NoStatements(policy.to_string()));
        }
        if texts.len() > self.limits.statements_per_policy {
            return Err(IamError::TooManyStatements {
                policy: policy.to_string(),
                count: texts.len(),
                limit: self.limits.statements_per_policy,
            });
        }
        texts
            .iter()
            .enumerate()
            .map(|(i, text)| {
                let statement = parse_statement(text).map_err(|error| IamError::Parse {
                    policy: policy.to_string(),
                    index: i + 1,
                    error,
                })?;
                eval::resolve_location(tree, compartment_id, &statement.location).map_err(
                    |reason| IamError::Location {
                        policy: policy.to_string(),
                        index: i + 1,
                        reason,
                    },
                )?;
                Ok(statement)
            })
            .collect()
    }

    /// The policy with this OCID.
    pub fn policy(&self, id: &str) -> Result<&Policy, IamError> {
        self.policies
            .iter()
            .find(|p| p.id == id)
            .ok_or_else(|| IamError::PolicyNotFound(id.to_string()))
    }

    /// Every policy, in creation order.
    pub fn policies(&self) -> impl Iterator<Item = &Policy> {
        self.policies.iter()
    }

    /// Replaces a policy's description and/or statements.
    pub fn update_policy(
        &mut self,
        tree: &dyn CompartmentTree,
        id: &str,
        description: Option<String>,
        statements: Option<Vec<String>>,
    ) -> Result<&Policy, IamError> {
        let policy = self.policy(id)?;
        let parsed = match &statements {
            Some(texts) => {
                Some(self.check_statements(tree, &policy.name, &policy.compartment_id, texts)?)
            }
            None => None,
        };
        let policy = self
            .policies
            .iter_mut()
            .find(|p| p.id == id)
            .expect("looked up above");
        if let Some(d) = description {
            policy.description = d;
        }
        if let Some(p) = parsed {
            policy.statements = p;
        }
        Ok(policy)
    }

    /// Deletes a policy.
    pub fn delete_policy(&mut self, id: &str) -> Result<(), IamError> {
        self.policy(id)?;
        self.policies.retain(|p| p.id != id);
        Ok(())
    }

    /// Decides `request` against every statement of every policy.
    pub fn evaluate(&self, tree: &dyn CompartmentTree, request: &Request) -> Decision {
        let statements = self.policies.iter().flat_map(|p| {
            p.statements
                .iter()
                .enumerate()
                .map(move |(i, s)| PolicyStatement {
                    policy: &p.name,
                    policy_compartment: &p.compartment_id,
                    index: i + 1,
                    statement: s,
                })
        });
        evaluate(tree, statements, request)
    }
}

/// The `target.*` variables of a request on a secret (its versions or bundles).
pub fn secret_target(
    vault_id: &str,
    secret_id: &str,
    secret_name: &str,
) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("target.vault.id".to_string(), vault_id.to_string()),
        ("target.secret.id".to_string(), secret_id.to_string()),
        ("target.secret.name".to_string(), secret_name.to_string()),
    ])
}

#[cfg(test)]
mod tests;
