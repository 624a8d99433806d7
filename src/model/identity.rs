//! Identity: the tenancy (the root compartment) and its tree of compartments.
//!
//! Owns the compartment hierarchy and its rules (docs/identity-facts.md):
//! names unique among the children of one parent, at most six levels of
//! nesting below the root, a tenancy-wide compartment limit, the lifecycle
//! CREATING → ACTIVE → DELETING → DELETED (a failed delete goes back to ACTIVE),
//! and deletion only of an empty compartment. It answers the questions the IAM
//! policy evaluator asks: `is_within(child, ancestor)` and lookup by a policy
//! path such as `Network:Prod`.
//!
//! When a transition happens is the caller's business (the API's virtual-time
//! timers); this module only checks that it is allowed. It never reads the wall
//! clock and knows nothing of HTTP or JSON.

use std::collections::BTreeMap;

use thiserror::Error;

use crate::kernel::SimTime;

/// How deep compartments nest below the root: six levels (docs/identity-facts.md).
pub const MAX_COMPARTMENT_DEPTH: usize = 6;

/// The default number of compartments per tenancy (service limit `compartment-count`).
pub const DEFAULT_COMPARTMENT_LIMIT: usize = 1000;

/// The longest compartment name OCI accepts.
pub const MAX_NAME_LEN: usize = 100;

/// Lifecycle state of a compartment, with OCI's names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum CompartmentState {
    /// Just created; clients wait for ACTIVE before using it.
    Creating,
    /// Usable.
    Active,
    /// Deleted in a way that can be undone (not modelled beyond the name).
    Inactive,
    /// A delete work request is running.
    Deleting,
    /// Gone; the name carries a random suffix so it can be reused.
    Deleted,
}

impl CompartmentState {
    /// OCI's spelling (`CREATING`, `ACTIVE`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            CompartmentState::Creating => "CREATING",
            CompartmentState::Active => "ACTIVE",
            CompartmentState::Inactive => "INACTIVE",
            CompartmentState::Deleting => "DELETING",
            CompartmentState::Deleted => "DELETED",
        }
    }
}

/// Errors of the identity model; each names the compartment at fault.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum IdentityError {
    /// No compartment (or tenancy) with that OCID.
    #[error("compartment {0} not found")]
    NotFound(String),
    /// The parent is not ACTIVE (still creating, deleting or deleted).
    #[error("parent compartment {id} is {state}, not ACTIVE")]
    ParentNotActive {
        /// The parent's OCID.
        id: String,
        /// Its state.
        state: &'static str,
    },
    /// A sibling already has the name.
    #[error("a compartment named `{name}` already exists in parent compartment {parent}")]
    DuplicateName {
        /// The name.
        name: String,
        /// The parent's OCID.
        parent: String,
    },
    /// The name breaks OCI's naming rule.
    #[error("invalid compartment name `{name}`: {reason}")]
    InvalidName {
        /// The name as given.
        name: String,
        /// Why.
        reason: &'static str,
    },
    /// The new compartment would be more than six levels below the root.
    #[error(
        "compartment {parent} is already {depth} levels deep: compartments nest at most {MAX_COMPARTMENT_DEPTH} levels below the root"
    )]
    TooDeep {
        /// The parent's OCID.
        parent: String,
        /// The parent's depth (root = 0).
        depth: usize,
    },
    /// The tenancy has reached its compartment limit.
    #[error("the tenancy already has {limit} compartments (service limit compartment-count)")]
    LimitExceeded {
        /// The limit.
        limit: usize,
    },
    /// The root compartment (the tenancy) cannot be changed or deleted this way.
    #[error("{0} is the tenancy (root compartment) and cannot be updated or deleted")]
    Root(String),
    /// Deleting a compartment that still holds something.
    #[error("compartment {id} is not empty: it still contains {what}")]
    NotEmpty {
        /// The compartment's OCID.
        id: String,
        /// What is left, in words.
        what: String,
    },
    /// The compartment is not in a state that allows the operation.
    #[error("compartment {id} is {state}; the operation needs {needed}")]
    WrongState {
        /// The compartment's OCID.
        id: String,
        /// Its state.
        state: &'static str,
        /// The state required.
        needed: &'static str,
    },
}

/// One compartment (the tenancy itself is the root compartment).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Compartment {
    /// Its OCID (the tenancy OCID for the root).
    pub id: String,
    /// The parent's OCID; `None` only for the root.
    pub parent: Option<String>,
    /// Name, unique among the parent's children.
    pub name: String,
    /// Free text, not unique.
    pub description: String,
    /// Lifecycle state.
    pub state: CompartmentState,
    /// When it was created, in virtual time.
    pub time_created: SimTime,
}

/// The tenancy and its compartments.
#[derive(Clone, Debug)]
pub struct Identity {
    /// The tenancy OCID, which is also the root compartment's.
    pub tenancy_id: String,
    /// The tenancy's name.
    pub tenancy_name: String,
    /// The home region's key, e.g. `PHX`.
    pub home_region_key: String,
    /// Compartments per tenancy (limit), the root excluded.
    pub compartment_limit: usize,
    compartments: BTreeMap<String, Compartment>,
    /// Children of each compartment, in creation order.
    children: BTreeMap<String, Vec<String>>,
}

impl Identity {
    /// A tenancy with only its root compartment.
    pub fn new(tenancy_id: &str, tenancy_name: &str, home_region_key: &str) -> Identity {
        let root = Compartment {
            id: tenancy_id.to_string(),
            parent: None,
            name: tenancy_name.to_string(),
            description: format!("root compartment of tenancy {tenancy_name}"),
            state: CompartmentState::Active,
            time_created: SimTime::ZERO,
        };
        let mut compartments = BTreeMap::new();
        compartments.insert(tenancy_id.to_string(), root);
        Identity {
            tenancy_id: tenancy_id.to_string(),
            tenancy_name: tenancy_name.to_string(),
            home_region_key: home_region_key.to_string(),
            compartment_limit: DEFAULT_COMPARTMENT_LIMIT,
            compartments,
            children: BTreeMap::new(),
        }
    }

    /// The compartment (or root) with OCID `id`.
    pub fn get(&self, id: &str) -> Result<&Compartment, IdentityError> {
        self.compartments
            .get(id)
            .ok_or_else(|| IdentityError::NotFound(id.to_string()))
    }

    /// The root compartment.
    pub fn root(&self) -> &Compartment {
        &self.compartments[&self.tenancy_id]
    }

    /// True when `id` names the tenancy or one of its compartments (in any state).
    pub fn exists(&self, id: &str) -> bool {
        self.compartments.contains_key(id)
    }

    /// Every compartment, root included, ordered by OCID.
    pub fn all(&self) -> impl Iterator<Item = &Compartment> {
        self.compartments.values()
    }

    /// The direct children of `id`, in creation order.
    pub fn children(&self, id: &str) -> impl Iterator<Item = &Compartment> {
        self.children
            .get(id)
            .into_iter()
            .flatten()
            .map(|c| &self.compartments[c])
    }

    /// Every descendant of `id` (not `id` itself), depth first in creation order.
    pub fn subtree(&self, id: &str) -> Vec<&Compartment> {
        let mut out = Vec::new();
        let mut stack: Vec<&str> = vec![id];
        while let Some(cur) = stack.pop() {
            let kids: Vec<&Compartment> = self.children(cur).collect();
            for k in kids.iter().rev() {
                stack.push(&k.id);
            }
            out.extend(kids);
        }
        // The stack visits children before grandchildren of the same parent;
        // order the result by creation instead, which callers expect.
        out.sort_by(|a, b| (a.time_created, &a.id).cmp(&(b.time_created, &b.id)));
        out
    }

    /// Depth below the root (root = 0). Unknown ids have no depth.
    pub fn depth(&self, id: &str) -> Option<usize> {
        let mut depth = 0;
        let mut cur = self.compartments.get(id)?;
        while let Some(p) = &cur.parent {
            depth += 1;
            cur = &self.compartments[p];
        }
        Some(depth)
    }

    /// True when `child` is `ancestor` or lies anywhere below it. Unknown ids are
    /// within nothing. Deleted compartments keep their place in the tree.
    pub fn is_within(&self, child: &str, ancestor: &str) -> bool {
        let mut cur = match self.compartments.get(child) {
            Some(c) => c,
            None => return false,
        };
        loop {
            if cur.id == ancestor {
                return true;
            }
            match &cur.parent {
                Some(p) => cur = &self.compartments[p],
                None => return false,
            }
        }
    }

    /// The names from the root's child down to `id`, joined by `:` as IAM
    /// policies write them (`Network:Prod`); the root's own path is empty.
    pub fn path_of(&self, id: &str) -> Option<String> {
        let mut names = Vec::new();
        let mut cur = self.compartments.get(id)?;
        while let Some(p) = &cur.parent {
            names.push(cur.name.as_str());
            cur = &self.compartments[p];
        }
        names.reverse();
        Some(names.join(":"))
    }

    /// Resolves a policy path (`A`, `A:B:C`) from the root to a live compartment.
    /// Names match case-insensitively, as IAM policies do; deleted compartments
    /// (whose names carry a suffix) never match.
    pub fn lookup_path(&self, path: &str) -> Option<&Compartment> {
        let mut cur = self.root();
        for part in path.split(':') {
            let part = part.trim();
            cur = self.children(&cur.id).find(|c| {
                c.state != CompartmentState::Deleted && c.name.eq_ignore_ascii_case(part)
            })?;
        }
        Some(cur)
    }

    /// Number of compartments that count against the limit (not DELETED, root excluded).
    pub fn live_count(&self) -> usize {
        self.compartments
            .values()
            .filter(|c| c.parent.is_some() && c.state != CompartmentState::Deleted)
            .count()
    }

    /// Creates a compartment in CREATING under `parent`.
    pub fn create(
        &mut self,
        id: String,
        parent: &str,
        name: &str,
        description: &str,
        now: SimTime,
    ) -> Result<&Compartment, IdentityError> {
        check_name(name)?;
        let p = self.get(parent)?;
        if p.state != CompartmentState::Active {
            return Err(IdentityError::ParentNotActive {
                id: parent.to_string(),
                state: p.state.as_str(),
            });
        }
        let depth = self.depth(parent).unwrap_or(0);
        if depth >= MAX_COMPARTMENT_DEPTH {
            return Err(IdentityError::TooDeep {
                parent: parent.to_string(),
                depth,
            });
        }
        self.check_sibling_name(parent, name, None)?;
        if self.live_count() >= self.compartment_limit {
            return Err(IdentityError::LimitExceeded {
                limit: self.compartment_limit,
            });
        }
        let c = Compartment {
            id: id.clone(),
            parent: Some(parent.to_string()),
            name: name.to_string(),
            description: description.to_string(),
            state: CompartmentState::Creating,
            time_created: now,
        };
        self.children
            .entry(parent.to_string())
            .or_default()
            .push(id.clone());
        self.compartments.insert(id.clone(), c);
        Ok(&self.compartments[&id])
    }

    /// CREATING → ACTIVE. Any other state is left alone (a no-op), so a late
    /// timer never resurrects a deleted compartment.
    pub fn activate(&mut self, id: &str) -> Result<(), IdentityError> {
        let c = self.get_mut(id)?;
        if c.state == CompartmentState::Creating {
            c.state = CompartmentState::Active;
        }
        Ok(())
    }

    /// Renames and/or redescribes a live compartment (not the root).
    pub fn update(
        &mut self,
        id: &str,
        name: Option<&str>,
        description: Option<&str>,
    ) -> Result<&Compartment, IdentityError> {
        let c = self.get(id)?;
        let Some(parent) = c.parent.clone() else {
            return Err(IdentityError::Root(id.to_string()));
        };
        if matches!(
            c.state,
            CompartmentState::Deleting | CompartmentState::Deleted
        ) {
            return Err(IdentityError::WrongState {
                id: id.to_string(),
                state: c.state.as_str(),
                needed: "ACTIVE",
            });
        }
        if let Some(n) = name {
            check_name(n)?;
            self.check_sibling_name(&parent, n, Some(id))?;
        }
        let c = self.get_mut(id)?;
        if let Some(n) = name {
            c.name = n.to_string();
        }
        if let Some(d) = description {
            c.description = d.to_string();
        }
        Ok(c)
    }

    /// ACTIVE → DELETING, after checking that nothing is left in it:
    /// `resources` counts the other services' live resources in the compartment.
    pub fn begin_delete(&mut self, id: &str, resources: usize) -> Result<(), IdentityError> {
        let c = self.get(id)?;
        if c.parent.is_none() {
            return Err(IdentityError::Root(id.to_string()));
        }
        if c.state != CompartmentState::Active {
            return Err(IdentityError::WrongState {
                id: id.to_string(),
                state: c.state.as_str(),
                needed: "ACTIVE",
            });
        }
        let live_children = self
            .children(id)
            .filter(|k| k.state != CompartmentState::Deleted)
            .count();
        if live_children > 0 || resources > 0 {
            let mut parts = Vec::new();
            if live_children > 0 {
                parts.push(format!("{live_children} compartment(s)"));
            }
            if resources > 0 {
                parts.push(format!("{resources} resource(s)"));
            }
            return Err(IdentityError::NotEmpty {
                id: id.to_string(),
                what: parts.join(" and "),
            });
        }
        self.get_mut(id)?.state = CompartmentState::Deleting;
        Ok(())
    }

    /// DELETING → DELETED; the name gets `.suffix` so the original can be reused.
    pub fn finish_delete(&mut self, id: &str, suffix: &str) -> Result<(), IdentityError> {
        let c = self.get_mut(id)?;
        if c.state != CompartmentState::Deleting {
            return Err(IdentityError::WrongState {
                id: id.to_string(),
                state: c.state.as_str(),
                needed: "DELETING",
            });
        }
        c.state = CompartmentState::Deleted;
        c.name = format!("{}.{suffix}", c.name);
        Ok(())
    }

    /// DELETING → ACTIVE: the delete work request failed.
    pub fn cancel_delete(&mut self, id: &str) -> Result<(), IdentityError> {
        let c = self.get_mut(id)?;
        if c.state == CompartmentState::Deleting {
            c.state = CompartmentState::Active;
        }
        Ok(())
    }

    fn get_mut(&mut self, id: &str) -> Result<&mut Compartment, IdentityError> {
        self.compartments
            .get_mut(id)
            .ok_or_else(|| IdentityError::NotFound(id.to_string()))
    }

    fn check_sibling_name(
        &self,
        parent: &str,
        name: &str,
        except: Option<&str>,
    ) -> Result<(), IdentityError> {
        let clash = self.children(parent).any(|s| {
            Some(s.id.as_str()) != except
                && s.state != CompartmentState::Deleted
                && s.name.eq_ignore_ascii_case(name)
        });
        if clash {
            return Err(IdentityError::DuplicateName {
                name: name.to_string(),
                parent: parent.to_string(),
            });
        }
        Ok(())
    }
}

/// OCI's compartment naming rule: 1 to 100 characters, ASCII letters, digits,
/// periods, hyphens and underscores.
pub fn check_name(name: &str) -> Result<(), IdentityError> {
    let bad = |reason| {
        Err(IdentityError::InvalidName {
            name: name.to_string(),
            reason,
        })
    };
    if name.is_empty() {
        return bad("the name is empty");
    }
    if name.len() > MAX_NAME_LEN {
        return bad("the name is longer than 100 characters");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    {
        return bad("only ASCII letters, digits, periods, hyphens and underscores are allowed");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "ocid1.tenancy.oc1..root";

    fn tree() -> Identity {
        let mut i = Identity::new(T, "acme", "PHX");
        i.create("c1".into(), T, "Network", "", SimTime::ZERO)
            .unwrap();
        i.activate("c1").unwrap();
        i.create("c2".into(), "c1", "Prod", "", SimTime(1)).unwrap();
        i.activate("c2").unwrap();
        i
    }

    #[test]
    fn nesting_paths_and_within() {
        let i = tree();
        assert!(i.is_within("c2", "c1"));
        assert!(i.is_within("c2", T));
        assert!(i.is_within("c1", "c1"));
        assert!(!i.is_within("c1", "c2"));
        assert!(!i.is_within("nope", T));
        assert_eq!(i.path_of("c2").unwrap(), "Network:Prod");
        assert_eq!(i.lookup_path("network:PROD").unwrap().id, "c2");
        assert!(i.lookup_path("Network:Dev").is_none());
        assert_eq!(i.depth("c2"), Some(2));
        let sub: Vec<_> = i.subtree(T).iter().map(|c| c.id.clone()).collect();
        assert_eq!(sub, vec!["c1", "c2"]);
    }

    #[test]
    fn names_are_unique_among_siblings_only() {
        let mut i = tree();
        assert!(matches!(
            i.create("x".into(), T, "network", "", SimTime::ZERO),
            Err(IdentityError::DuplicateName { .. })
        ));
        // The same name under another parent is fine.
        i.create("x".into(), "c2", "Network", "", SimTime::ZERO)
            .unwrap();
        assert!(matches!(
            i.create("y".into(), T, "bad name", "", SimTime::ZERO),
            Err(IdentityError::InvalidName { .. })
        ));
    }

    #[test]
    fn parent_must_be_active_and_depth_is_limited() {
        let mut i = Identity::new(T, "acme", "PHX");
        i.create("a".into(), T, "a", "", SimTime::ZERO).unwrap();
        assert!(matches!(
            i.create("b".into(), "a", "b", "", SimTime::ZERO),
            Err(IdentityError::ParentNotActive { .. })
        ));
        let mut parent = "a".to_string();
        i.activate("a").unwrap();
        for level in 2..=MAX_COMPARTMENT_DEPTH {
            let id = format!("l{level}");
            i.create(id.clone(), &parent, &id, "", SimTime::ZERO)
                .unwrap();
            i.activate(&id).unwrap();
            parent = id;
        }
        assert_eq!(i.depth(&parent), Some(MAX_COMPARTMENT_DEPTH));
        assert!(matches!(
            i.create("deep".into(), &parent, "deep", "", SimTime::ZERO),
            Err(IdentityError::TooDeep { depth: 6, .. })
        ));
    }

    #[test]
    fn delete_needs_an_empty_active_compartment() {
        let mut i = tree();
        assert!(matches!(
            i.begin_delete("c1", 0),
            Err(IdentityError::NotEmpty { .. })
        ));
        assert!(matches!(
            i.begin_delete("c2", 3),
            Err(IdentityError::NotEmpty { .. })
        ));
        assert!(matches!(i.begin_delete(T, 0), Err(IdentityError::Root(_))));
        i.begin_delete("c2", 0).unwrap();
        assert_eq!(i.get("c2").unwrap().state, CompartmentState::Deleting);
        i.finish_delete("c2", "qR5hP2BD").unwrap();
        let c2 = i.get("c2").unwrap();
        assert_eq!(c2.state, CompartmentState::Deleted);
        assert_eq!(c2.name, "Prod.qR5hP2BD");
        // The name is free again, and the parent can now be deleted.
        i.create("c3".into(), "c1", "Prod", "", SimTime::ZERO)
            .unwrap();
        i.activate("c3").unwrap();
        i.begin_delete("c3", 0).unwrap();
        i.cancel_delete("c3").unwrap();
        assert_eq!(i.get("c3").unwrap().state, CompartmentState::Active);
    }

    #[test]
    fn limit_counts_live_compartments() {
        let mut i = Identity::new(T, "acme", "PHX");
        i.compartment_limit = 1;
        i.create("a".into(), T, "a", "", SimTime::ZERO).unwrap();
        assert_eq!(
            i.create("b".into(), T, "b", "", SimTime::ZERO),
            Err(IdentityError::LimitExceeded { limit: 1 })
        );
    }
}
