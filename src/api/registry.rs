//! API-only metadata of every resource the API shows, keyed by OCID: kind,
//! compartment, display name, tags, creation time, lifecycle state and the
//! version behind its etag.
//!
//! Semantics (CIDRs, pools, limits, placement) stay in the models; this is what
//! OCI shows around them and the models have no use for.

use std::collections::BTreeMap;

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
    /// The compartment it lives in.
    pub compartment_id: String,
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
            display_name: display_name.to_string(),
            freeform_tags: FreeformTags::new(),
            defined_tags: Value::Object(Default::default()),
            time_created: now,
            lifecycle_state: state.to_string(),
            version: 1,
        }
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

/// Every resource's metadata.
#[derive(Clone, Debug, Default)]
pub struct Registry {
    entries: BTreeMap<String, Meta>,
}

impl Registry {
    /// Adds a resource (replacing none: OCIDs are unique).
    pub fn insert(&mut self, meta: Meta) {
        let prev = self.entries.insert(meta.id.clone(), meta);
        assert!(prev.is_none(), "an OCID was minted twice");
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

    /// Every resource of `kind`, ordered by OCID.
    pub fn of_kind(&self, kind: &'static str) -> impl Iterator<Item = &Meta> {
        self.entries.values().filter(move |m| m.kind == kind)
    }

    /// Live resources in `compartment` (neither TERMINATED nor DELETED), for
    /// the check that a compartment is empty before it is deleted.
    pub fn live_in_compartment(&self, compartment: &str) -> usize {
        self.entries
            .values()
            .filter(|m| m.compartment_id == compartment && m.kind != "compartment")
            .filter(|m| !matches!(m.lifecycle_state.as_str(), "TERMINATED" | "DELETED"))
            .count()
    }

    /// The etag of the resource, if it is known.
    pub fn etag(&self, id: &str) -> Option<String> {
        self.entries.get(id).map(Meta::etag)
    }
}
