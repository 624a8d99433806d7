//! API-only metadata of every resource the API shows, keyed by OCID: kind,
//! compartment, display name, tags, creation time, lifecycle state and the
//! version behind its etag.
//!
//! Semantics (CIDRs, pools, limits, placement) stay in the models; this is what
//! OCI shows around them and the models have no use for.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::error::ApiError;
use super::wire::{FreeformTags, Params, etag_of};
use crate::kernel::SimTime;

/// The metadata of one resource.
#[derive(Clone, Debug)]
pub struct Meta {
    /// Its OCID.
    pub id: String,
    /// Its kind, as its OCID's type part (`vcn`, `subnet`, `compartment`, ...).
    pub kind: &'static str,
    /// The compartment it lives in (never changes: the registry indexes it).
    pub compartment_id: String,
    /// The resource it belongs to for listing (a subnet's or gateway's VCN, a
    /// private IP's subnet), set through [`Registry::set_parent`]; `None` when
    /// none was recorded.
    parent: Option<String>,
    /// Display name.
    pub display_name: String,
    /// `freeformTags`.
    pub freeform_tags: FreeformTags,
    /// `definedTags`, kept as given.
    pub defined_tags: Value,
    /// When it was created.
    pub time_created: SimTime,
    /// `lifecycleState` in OCI's spelling.
    pub lifecycle_state: String,
    /// Bumped by every change; the etag hashes it.
    pub version: u64,
}

impl Meta {
    /// Metadata for a resource created now, in `state`.
    pub fn new(
        id: &str,
        kind: &'static str,
        compartment_id: &str,
        display_name: &str,
        now: SimTime,
        state: &str,
    ) -> Meta {
        Meta {
            id: id.to_string(),
            kind,
            compartment_id: compartment_id.to_string(),
            parent: None,
            display_name: display_name.to_string(),
            freeform_tags: FreeformTags::new(),
            defined_tags: Value::Object(Default::default()),
            time_created: now,
            lifecycle_state: state.to_string(),
            version: 1,
        }
    }

    /// The parent recorded with [`Registry::set_parent`], if any.
    pub fn parent(&self) -> Option<&str> {
        self.parent.as_deref()
    }

    /// The current etag.
    pub fn etag(&self) -> String {
        etag_of(&self.id, self.version)
    }

    /// True when the list filters `displayName` and `lifecycleState` (if given) match.
    pub fn matches(&self, params: &Params) -> bool {
        params
            .get("displayName")
            .is_none_or(|n| n == self.display_name)
            && params
                .get("lifecycleState")
                .is_none_or(|s| s == self.lifecycle_state)
    }

    /// The sort key the list helpers use.
    pub fn sort_key(&self) -> (SimTime, String, String) {
        (
            self.time_created,
            self.display_name.clone(),
            self.id.clone(),
        )
    }
}

/// Every resource's metadata, with indexes so that a list costs what it
/// returns, not what the region holds: OCIDs by kind, by kind and compartment,
/// and by kind and parent. A resource's kind, compartment and parent never
/// change once recorded, so only [`Registry::insert`] and
/// [`Registry::set_parent`] touch the indexes ([`Registry::check_indexes`]
/// recounts them).
#[derive(Clone, Debug, Default)]
pub struct Registry {
    entries: BTreeMap<String, Meta>,
    by_kind: BTreeMap<&'static str, BTreeSet<String>>,
    by_compartment: BTreeMap<(&'static str, String), BTreeSet<String>>,
    by_parent: BTreeMap<(&'static str, String), BTreeSet<String>>,
    /// Per kind, the OCIDs with no parent recorded (a parent filter must
    /// still look at them).
    unparented: BTreeMap<&'static str, BTreeSet<String>>,
}

type Index<K> = BTreeMap<K, BTreeSet<String>>;

fn index_add<K: Ord>(index: &mut Index<K>, key: K, id: &str) {
    index.entry(key).or_default().insert(id.to_string());
}

impl Registry {
    /// Adds a resource (replacing none: OCIDs are unique).
    pub fn insert(&mut self, meta: Meta) {
        let id = meta.id.clone();
        let kind = meta.kind;
        index_add(&mut self.by_kind, kind, &id);
        index_add(
            &mut self.by_compartment,
            (kind, meta.compartment_id.clone()),
            &id,
        );
        match &meta.parent {
            Some(p) => index_add(&mut self.by_parent, (kind, p.clone()), &id),
            None => index_add(&mut self.unparented, kind, &id),
        }
        let prev = self.entries.insert(id, meta);
        assert!(prev.is_none(), "an OCID was minted twice");
    }

    /// Records the resource `id` belongs to for listing (its VCN, or a private
    /// IP's subnet). Set once, right after [`Registry::insert`]; a second call
    /// with another parent, or one for an unknown id, is a bug.
    pub fn set_parent(&mut self, id: &str, parent: &str) {
        let m = self
            .entries
            .get_mut(id)
            .expect("set_parent on a registered OCID");
        match &m.parent {
            Some(p) => assert_eq!(p, parent, "{id} moved to another parent"),
            None => {
                m.parent = Some(parent.to_string());
                if let Some(set) = self.unparented.get_mut(m.kind) {
                    set.remove(id);
                }
                index_add(&mut self.by_parent, (m.kind, parent.to_string()), id);
            }
        }
    }

    /// The resource with this OCID, of any kind.
    pub fn get(&self, id: &str) -> Option<&Meta> {
        self.entries.get(id)
    }

    /// The resource with this OCID if it is of `kind`, else 404 NotAuthorizedOrNotFound.
    pub fn get_kind(&self, id: &str, kind: &'static str) -> Result<&Meta, ApiError> {
        self.entries
            .get(id)
            .filter(|m| m.kind == kind)
            .ok_or_else(|| ApiError::not_found(kind, id))
    }

    /// Mutable access, with the same 404.
    pub fn get_kind_mut(&mut self, id: &str, kind: &'static str) -> Result<&mut Meta, ApiError> {
        self.entries
            .get_mut(id)
            .filter(|m| m.kind == kind)
            .ok_or_else(|| ApiError::not_found(kind, id))
    }

    /// Sets the lifecycle state and bumps the version (no-op for unknown ids).
    pub fn set_state(&mut self, id: &str, state: &str) {
        if let Some(m) = self.entries.get_mut(id) {
            m.lifecycle_state = state.to_string();
            m.version += 1;
        }
    }

    /// Bumps the version after a change (no-op for unknown ids).
    pub fn touch(&mut self, id: &str) {
        if let Some(m) = self.entries.get_mut(id) {
            m.version += 1;
        }
    }

    fn resolve<'a>(&'a self, ids: Option<&'a BTreeSet<String>>) -> impl Iterator<Item = &'a Meta> {
        ids.into_iter()
            .flatten()
            .filter_map(|id| self.entries.get(id))
    }

    /// Every resource of `kind`, ordered by OCID.
    pub fn of_kind(&self, kind: &'static str) -> impl Iterator<Item = &Meta> {
        self.resolve(self.by_kind.get(kind))
    }

    /// Every resource of `kind` in `compartment`, ordered by OCID.
    pub fn in_compartment(
        &self,
        kind: &'static str,
        compartment: &str,
    ) -> impl Iterator<Item = &Meta> {
        self.resolve(self.by_compartment.get(&(kind, compartment.to_string())))
    }

    /// Every resource of `kind` that may belong to `parent`: those recorded
    /// with that parent, then those with no parent recorded (the caller
    /// checks those itself). Ordered by OCID within each part.
    pub fn maybe_in_parent(&self, kind: &'static str, parent: &str) -> impl Iterator<Item = &Meta> {
        self.resolve(self.by_parent.get(&(kind, parent.to_string())))
            .chain(self.resolve(self.unparented.get(kind)))
    }

    /// Live resources in `compartment` (neither TERMINATED nor DELETED), for
    /// the check that a compartment is empty before it is deleted.
    pub fn live_in_compartment(&self, compartment: &str) -> usize {
        self.by_compartment
            .iter()
            .filter(|((kind, c), _)| c == compartment && *kind != "compartment")
            .flat_map(|(_, ids)| self.resolve(Some(ids)))
            .filter(|m| !matches!(m.lifecycle_state.as_str(), "TERMINATED" | "DELETED"))
            .count()
    }

    /// The etag of the resource, if it is known.
    pub fn etag(&self, id: &str) -> Option<String> {
        self.entries.get(id).map(Meta::etag)
    }

    /// Recounts every index from the entries and compares: `Err` names the
    /// first index that disagrees (for tests; cost proportional to the registry).
    pub fn check_indexes(&self) -> Result<(), String> {
        let mut fresh = Registry::default();
        for m in self.entries.values() {
            fresh.insert(m.clone());
        }
        let same = |what: &str, ok: bool| {
            if ok {
                Ok(())
            } else {
                Err(format!(
                    "the registry's index {what} differs from a recount"
                ))
            }
        };
        let non_empty = |i: &Index<&'static str>| -> Index<&'static str> {
            i.iter()
                .filter(|(_, s)| !s.is_empty())
                .map(|(k, s)| (*k, s.clone()))
                .collect()
        };
        same("by kind", fresh.by_kind == self.by_kind)?;
        same(
            "by compartment",
            fresh.by_compartment == self.by_compartment,
        )?;
        same("by parent", fresh.by_parent == self.by_parent)?;
        same(
            "of unparented",
            non_empty(&fresh.unparented) == non_empty(&self.unparented),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(id: &str, kind: &'static str, compartment: &str) -> Meta {
        Meta::new(id, kind, compartment, id, SimTime::ZERO, "AVAILABLE")
    }

    #[test]
    fn lists_by_index_see_only_their_part_and_the_indexes_recount() {
        let mut r = Registry::default();
        for i in 0..6 {
            r.insert(meta(
                &format!("s{i}"),
                "subnet",
                if i < 3 { "c1" } else { "c2" },
            ));
            r.set_parent(&format!("s{i}"), if i % 2 == 0 { "v1" } else { "v2" });
        }
        r.insert(meta("s9", "subnet", "c1"));
        r.insert(meta("v1", "vcn", "c1"));
        let ids = |it: Box<dyn Iterator<Item = &Meta> + '_>| -> Vec<String> {
            it.map(|m| m.id.clone()).collect()
        };
        assert_eq!(ids(Box::new(r.of_kind("subnet"))).len(), 7);
        assert_eq!(
            ids(Box::new(r.in_compartment("subnet", "c1"))),
            ["s0", "s1", "s2", "s9"]
        );
        // The unparented one is offered to the caller's own check.
        assert_eq!(
            ids(Box::new(r.maybe_in_parent("subnet", "v1"))),
            ["s0", "s2", "s4", "s9"]
        );
        // Four subnets and the VCN.
        assert_eq!(r.live_in_compartment("c1"), 5);
        r.set_state("s0", "TERMINATED");
        assert_eq!(r.live_in_compartment("c1"), 4);
        r.check_indexes().unwrap();
        // A parent recorded behind the index's back is caught by the recount.
        r.entries.get_mut("s9").unwrap().parent = Some("v1".into());
        assert!(r.check_indexes().is_err());
    }
}
