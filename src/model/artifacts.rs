//! Container repositories of the OCI Container Registry (oci-api.md §5.9).
//!
//! A repository's `displayName` is its path (`team/app`) and is unique per
//! compartment. Repositories are created AVAILABLE (creation is synchronous);
//! images are not pushed through the twin, so the counts stay zero until an
//! image model exists. Nothing here knows HTTP or JSON.

use std::collections::BTreeMap;

use thiserror::Error;

use crate::kernel::SimTime;

/// Longest repository path OCIR accepts (docs/artifacts-facts.md).
pub const MAX_PATH_LEN: usize = 255;

/// Errors of the registry model.
#[derive(Debug, Error, PartialEq, Eq, Clone)]
pub enum ArtifactsError {
    /// The path is empty, too long or has a bad character or segment.
    #[error(
        "displayName `{0}` is not a valid repository path: lower-case letters, digits and . _ - separated by single /, 1 to 255 characters, each segment starting with a letter or digit"
    )]
    BadPath(String),
    /// Another live repository of the compartment has the path.
    #[error("a repository named `{name}` already exists in compartment {compartment}")]
    Duplicate { name: String, compartment: String },
    /// An immutable repository cannot be made mutable.
    #[error("repository {0} is immutable; isImmutable cannot be set back to false")]
    StillImmutable(String),
    /// The repository is being deleted or gone.
    #[error("repository {id} is {state}")]
    NotAvailable { id: String, state: &'static str },
}

/// `lifecycleState` of a repository.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RepoLifecycle {
    /// Usable.
    Available,
    /// Being deleted.
    Deleting,
    /// Gone.
    Deleted,
}

impl RepoLifecycle {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            RepoLifecycle::Available => "AVAILABLE",
            RepoLifecycle::Deleting => "DELETING",
            RepoLifecycle::Deleted => "DELETED",
        }
    }
}

/// A container repository.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Repository {
    /// OCID.
    pub id: String,
    /// Compartment.
    pub compartment_id: String,
    /// The path.
    pub display_name: String,
    /// `isPublic`.
    pub is_public: bool,
    /// `isImmutable`.
    pub is_immutable: bool,
    /// Readme (content, format).
    pub readme: Option<(String, String)>,
    /// Who created it (the caller's user OCID).
    pub created_by: String,
    /// Lifecycle.
    pub lifecycle: RepoLifecycle,
    /// Creation time.
    pub time_created: SimTime,
    /// Images in it.
    pub image_count: u64,
    /// Layers in it.
    pub layer_count: u64,
    /// Bytes of its layers.
    pub layers_size_in_bytes: u64,
}

/// Index of a repository in [`Registry::repos`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RepoId(pub u32);

/// Totals over a set of repositories, as `ContainerRepositoryCollection` reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Repositories.
    pub repository_count: u64,
    /// Images.
    pub image_count: u64,
    /// Layers.
    pub layer_count: u64,
    /// Layer bytes.
    pub layers_size_in_bytes: u64,
}

/// The registry of one region.
#[derive(Clone, Debug, Default)]
pub struct Registry {
    /// Repositories, deleted ones included.
    pub repos: Vec<Repository>,
    by_ocid: BTreeMap<String, RepoId>,
}

/// Checks a repository path: lower-case letters, digits, `.`, `_`, `-`,
/// segments separated by single `/`, each starting with a letter or digit.
pub fn check_path(path: &str) -> Result<(), ArtifactsError> {
    let segment_ok = |s: &str| {
        s.chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
    };
    if path.is_empty() || path.len() > MAX_PATH_LEN || !path.split('/').all(segment_ok) {
        return Err(ArtifactsError::BadPath(path.to_string()));
    }
    Ok(())
}

impl Registry {
    /// Looks a repository up by OCID.
    pub fn by_ocid(&self, id: &str) -> Option<RepoId> {
        self.by_ocid.get(id).copied()
    }

    /// The repository at `id`.
    pub fn get(&self, id: RepoId) -> &Repository {
        &self.repos[id.0 as usize]
    }

    /// Creates a repository, AVAILABLE at once.
    pub fn create(&mut self, repo: Repository) -> Result<RepoId, ArtifactsError> {
        check_path(&repo.display_name)?;
        let taken = self.repos.iter().any(|r| {
            r.lifecycle != RepoLifecycle::Deleted
                && r.compartment_id == repo.compartment_id
                && r.display_name == repo.display_name
        });
        if taken {
            return Err(ArtifactsError::Duplicate {
                name: repo.display_name,
                compartment: repo.compartment_id,
            });
        }
        let id = RepoId(self.repos.len() as u32);
        self.by_ocid.insert(repo.id.clone(), id);
        self.repos.push(Repository {
            lifecycle: RepoLifecycle::Available,
            ..repo
        });
        Ok(id)
    }

    /// Updates the mutable fields; an immutable repository stays immutable.
    pub fn update(
        &mut self,
        id: RepoId,
        is_public: Option<bool>,
        is_immutable: Option<bool>,
        readme: Option<(String, String)>,
    ) -> Result<(), ArtifactsError> {
        let r = self.available_mut(id)?;
        if r.is_immutable && is_immutable == Some(false) {
            return Err(ArtifactsError::StillImmutable(r.id.clone()));
        }
        if let Some(p) = is_public {
            r.is_public = p;
        }
        if let Some(i) = is_immutable {
            r.is_immutable = i;
        }
        if readme.is_some() {
            r.readme = readme;
        }
        Ok(())
    }

    /// Deletes a repository (synchronously: DELETED at once).
    pub fn delete(&mut self, id: RepoId) -> Result<(), ArtifactsError> {
        self.available_mut(id)?.lifecycle = RepoLifecycle::Deleted;
        Ok(())
    }

    fn available_mut(&mut self, id: RepoId) -> Result<&mut Repository, ArtifactsError> {
        let r = &mut self.repos[id.0 as usize];
        if r.lifecycle != RepoLifecycle::Available {
            return Err(ArtifactsError::NotAvailable {
                id: r.id.clone(),
                state: r.lifecycle.as_str(),
            });
        }
        Ok(r)
    }

    /// Totals over `repos`.
    pub fn totals<'a>(repos: impl Iterator<Item = &'a Repository>) -> Totals {
        repos.fold(Totals::default(), |t, r| Totals {
            repository_count: t.repository_count + 1,
            image_count: t.image_count + r.image_count,
            layer_count: t.layer_count + r.layer_count,
            layers_size_in_bytes: t.layers_size_in_bytes + r.layers_size_in_bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo(id: &str, comp: &str, name: &str) -> Repository {
        Repository {
            id: id.into(),
            compartment_id: comp.into(),
            display_name: name.into(),
            is_public: false,
            is_immutable: false,
            readme: None,
            created_by: "ocid1.user.oc1..u".into(),
            lifecycle: RepoLifecycle::Deleting,
            time_created: SimTime::ZERO,
            image_count: 0,
            layer_count: 0,
            layers_size_in_bytes: 0,
        }
    }

    #[test]
    fn paths_are_validated() {
        for good in ["app", "team/app", "a.b_c-d/e2", "0x"] {
            assert!(check_path(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "App",
            "team//app",
            "/app",
            "app/",
            "-app",
            "a b",
            &"a".repeat(256),
        ] {
            assert!(check_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_are_unique_per_compartment_until_deleted() {
        let mut r = Registry::default();
        let a = r.create(repo("r1", "c1", "team/app")).unwrap();
        assert_eq!(r.get(a).lifecycle, RepoLifecycle::Available);
        assert!(matches!(
            r.create(repo("r2", "c1", "team/app")),
            Err(ArtifactsError::Duplicate { .. })
        ));
        assert!(r.create(repo("r3", "c2", "team/app")).is_ok());
        r.delete(a).unwrap();
        assert!(r.create(repo("r4", "c1", "team/app")).is_ok());
        assert!(matches!(
            r.delete(a),
            Err(ArtifactsError::NotAvailable {
                state: "DELETED",
                ..
            })
        ));
        assert_eq!(r.by_ocid("r4"), Some(RepoId(2)));
        assert_eq!(r.by_ocid("r2"), None);
    }

    #[test]
    fn immutability_is_one_way_and_totals_add_up() {
        let mut r = Registry::default();
        let a = r.create(repo("r1", "c1", "app")).unwrap();
        r.update(
            a,
            Some(true),
            Some(true),
            Some(("# hi".into(), "TEXT_MARKDOWN".into())),
        )
        .unwrap();
        assert!(r.get(a).is_public && r.get(a).is_immutable);
        assert_eq!(
            r.update(a, None, Some(false), None),
            Err(ArtifactsError::StillImmutable("r1".into()))
        );
        r.repos[0].image_count = 2;
        r.repos[0].layers_size_in_bytes = 100;
        r.create(repo("r2", "c1", "b")).unwrap();
        let t = Registry::totals(r.repos.iter());
        assert_eq!(
            (t.repository_count, t.image_count, t.layers_size_in_bytes),
            (2, 2, 100)
        );
    }
}
