//! OCID generation: `ocid1.<resource-type>.<realm>.<region>.<unique-id>`.
//!
//! Unique parts come from the run's own random stream, so identical runs mint
//! identical OCIDs. Tenancy-level resources (tenancy, compartments, policies)
//! carry an empty region part, as OCI's do (`ocid1.tenancy.oc1..aaaa...`).

use crate::kernel::RandomStream;

const BASE32: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";

/// Mints OCIDs for one realm and region from a seeded stream.
#[derive(Clone, Debug)]
pub struct OcidMint {
    realm: String,
    region_key: String,
    stream: RandomStream,
}

impl OcidMint {
    /// A mint for `realm` (e.g. `oc1`) and region key (e.g. `PHX`).
    pub fn new(realm: &str, region_key: &str, stream: RandomStream) -> Self {
        OcidMint {
            realm: realm.to_ascii_lowercase(),
            region_key: region_key.to_ascii_lowercase(),
            stream,
        }
    }

    /// A new regional OCID for `resource_type` (e.g. `vcn`, `subnet`, `cluster`).
    pub fn regional(&mut self, resource_type: &str) -> String {
        let unique = self.unique();
        format!(
            "ocid1.{resource_type}.{}.{}.{unique}",
            self.realm, self.region_key
        )
    }

    /// A new OCID without a region part (tenancy, compartment, policy).
    pub fn global(&mut self, resource_type: &str) -> String {
        let unique = self.unique();
        format!("ocid1.{resource_type}.{}..{unique}", self.realm)
    }

    fn unique(&mut self) -> String {
        // OCI unique parts are 60 lower-case base32 characters starting `aaaaaaaa`.
        let mut s = String::with_capacity(60);
        s.push_str("aaaaaaaa");
        s.push_str(&self.stream.string_from(BASE32, 52));
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::SeedTree;

    #[test]
    fn ocids_have_oci_shape_and_are_reproducible() {
        let mut a = OcidMint::new("OC1", "PHX", SeedTree::new(1).fork("ocid"));
        let mut b = OcidMint::new("oc1", "phx", SeedTree::new(1).fork("ocid"));
        let v = a.regional("vcn");
        assert!(v.starts_with("ocid1.vcn.oc1.phx.aaaaaaaa"));
        assert_eq!(v.len(), "ocid1.vcn.oc1.phx.".len() + 60);
        assert_eq!(v, b.regional("vcn"));
        assert!(
            a.global("tenancy")
                .starts_with("ocid1.tenancy.oc1..aaaaaaaa")
        );
    }
}
