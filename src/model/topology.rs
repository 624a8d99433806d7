//! Realm, region, availability domains and fault domains (domain.md §1).
//!
//! Owns the static region table and the naming rules: tenancy-prefixed AD names
//! as `ListAvailabilityDomains` returns them, the short zone label OKE puts on
//! nodes, and the three fault domains of every AD. Pure data, no state changes.

use std::fmt;

use thiserror::Error;

/// One commercial region as listed in the OCI regions page (domain.md §1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegionInfo {
    /// Region identifier, e.g. `us-phoenix-1`.
    pub name: &'static str,
    /// Three-letter region key, e.g. `PHX`.
    pub key: &'static str,
    /// Realm key in upper case, e.g. `OC1`.
    pub realm: &'static str,
    /// Number of availability domains.
    pub ad_count: u8,
}

const fn r(name: &'static str, key: &'static str, realm: &'static str, ad_count: u8) -> RegionInfo {
    RegionInfo {
        name,
        key,
        realm,
        ad_count,
    }
}

/// The region table: the five 3-AD regions, then the 1-AD regions (domain.md §1.1).
pub const REGIONS: &[RegionInfo] = &[
    r("us-ashburn-1", "IAD", "OC1", 3),
    r("us-phoenix-1", "PHX", "OC1", 3),
    r("us-chicago-1", "ORD", "OC1", 3),
    r("eu-frankfurt-1", "FRA", "OC1", 3),
    r("uk-london-1", "LHR", "OC1", 3),
    r("us-sanjose-1", "SJC", "OC1", 1),
    r("ca-toronto-1", "YYZ", "OC1", 1),
    r("ca-montreal-1", "YUL", "OC1", 1),
    r("sa-saopaulo-1", "GRU", "OC1", 1),
    r("sa-vinhedo-1", "VCP", "OC1", 1),
    r("sa-santiago-1", "SCL", "OC1", 1),
    r("sa-valparaiso-1", "VAP", "OC1", 1),
    r("sa-bogota-1", "BOG", "OC1", 1),
    r("mx-queretaro-1", "QRO", "OC1", 1),
    r("mx-monterrey-1", "MTY", "OC1", 1),
    r("eu-amsterdam-1", "AMS", "OC1", 1),
    r("eu-zurich-1", "ZRH", "OC1", 1),
    r("eu-paris-1", "CDG", "OC1", 1),
    r("eu-marseille-1", "MRS", "OC1", 1),
    r("eu-milan-1", "LIN", "OC1", 1),
    r("eu-madrid-1", "MAD", "OC1", 1),
    r("eu-stockholm-1", "ARN", "OC1", 1),
    r("uk-cardiff-1", "CWL", "OC1", 1),
    r("il-jerusalem-1", "MTZ", "OC1", 1),
    r("me-jeddah-1", "JED", "OC1", 1),
    r("me-dubai-1", "DXB", "OC1", 1),
    r("me-abudhabi-1", "AUH", "OC1", 1),
    r("me-riyadh-1", "RUH", "OC1", 1),
    r("af-johannesburg-1", "JNB", "OC1", 1),
    r("ap-tokyo-1", "NRT", "OC1", 1),
    r("ap-osaka-1", "KIX", "OC1", 1),
    r("ap-sydney-1", "SYD", "OC1", 1),
    r("ap-melbourne-1", "MEL", "OC1", 1),
    r("ap-mumbai-1", "BOM", "OC1", 1),
    r("ap-hyderabad-1", "HYD", "OC1", 1),
    r("ap-singapore-1", "SIN", "OC1", 1),
    r("ap-singapore-2", "XSP", "OC1", 1),
    r("ap-seoul-1", "ICN", "OC1", 1),
    r("ap-chuncheon-1", "YNY", "OC1", 1),
    r("eu-jovanovac-1", "BEG", "OC20", 1),
];

/// Number of fault domains in every availability domain (domain.md §1.3).
pub const FAULT_DOMAINS_PER_AD: u8 = 3;

/// Errors in naming a region, AD or FD.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum TopologyError {
    /// The region identifier is not in the table.
    #[error(
        "unknown region `{0}` (known: us-ashburn-1, us-phoenix-1, uk-london-1, ... see `ocisim regions`)"
    )]
    UnknownRegion(String),
    /// The AD name does not name an AD of this region.
    #[error("region {region} has no availability domain `{name}` (it has {known})")]
    UnknownAvailabilityDomain {
        region: String,
        name: String,
        known: String,
    },
    /// The FD name is not `FAULT-DOMAIN-1..3`.
    #[error(
        "unknown fault domain `{0}` (expected FAULT-DOMAIN-1, FAULT-DOMAIN-2 or FAULT-DOMAIN-3)"
    )]
    UnknownFaultDomain(String),
    /// The tenancy prefix is not 1-8 ASCII letters or digits.
    #[error(
        "tenancy prefix `{0}` must be 1 to 8 ASCII letters or digits (OCI uses four, e.g. `Uocm`)"
    )]
    BadTenancyPrefix(String),
}

/// Looks a region up by identifier (`us-phoenix-1`) or key (`PHX`, any case).
pub fn region(name: &str) -> Result<&'static RegionInfo, TopologyError> {
    REGIONS
        .iter()
        .find(|r| r.name.eq_ignore_ascii_case(name) || r.key.eq_ignore_ascii_case(name))
        .ok_or_else(|| TopologyError::UnknownRegion(name.to_string()))
}

/// The short AD name used as the `topology.kubernetes.io/zone` label and after
/// the tenancy prefix: `PHX-AD-1`, `US-ASHBURN-AD-1`, otherwise `<REGION>-AD-n`
/// (domain.md §1.2).
pub fn zone_label(region: &RegionInfo, ad_number: u8) -> String {
    match region.name {
        "us-phoenix-1" => format!("PHX-AD-{ad_number}"),
        "us-ashburn-1" => format!("US-ASHBURN-AD-{ad_number}"),
        other => format!("{}-AD-{ad_number}", other.to_ascii_uppercase()),
    }
}

/// A fault domain index within its AD: 1, 2 or 3.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FaultDomain(pub u8);

impl FaultDomain {
    /// Parses `FAULT-DOMAIN-n` (any case).
    pub fn parse(name: &str) -> Result<FaultDomain, TopologyError> {
        let upper = name.trim().to_ascii_uppercase();
        upper
            .strip_prefix("FAULT-DOMAIN-")
            .and_then(|n| n.parse::<u8>().ok())
            .filter(|n| (1..=FAULT_DOMAINS_PER_AD).contains(n))
            .map(FaultDomain)
            .ok_or_else(|| TopologyError::UnknownFaultDomain(name.to_string()))
    }

    /// All fault domains of an AD, in order.
    pub fn all() -> impl Iterator<Item = FaultDomain> {
        (1..=FAULT_DOMAINS_PER_AD).map(FaultDomain)
    }
}

impl fmt::Display for FaultDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FAULT-DOMAIN-{}", self.0)
    }
}

/// An availability domain of the modelled region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AvailabilityDomain {
    /// 1-based number within the region.
    pub number: u8,
    /// The tenancy-prefixed name, e.g. `Uocm:PHX-AD-1`.
    pub name: String,
    /// The short name OKE uses as the zone label, e.g. `PHX-AD-1`.
    pub zone_label: String,
}

/// The realm, region and ADs the twin models for one tenancy.
#[derive(Clone, Debug)]
pub struct Topology {
    /// The region.
    pub region: &'static RegionInfo,
    /// The tenancy-specific AD name prefix (e.g. `Uocm`).
    pub tenancy_prefix: String,
    /// The region's ADs in number order.
    pub ads: Vec<AvailabilityDomain>,
}

impl Topology {
    /// The topology of `region_name` as seen by a tenancy whose AD names carry `tenancy_prefix`.
    pub fn new(region_name: &str, tenancy_prefix: &str) -> Result<Topology, TopologyError> {
        let region = region(region_name)?;
        let prefix_ok = !tenancy_prefix.is_empty()
            && tenancy_prefix.len() <= 8
            && tenancy_prefix.bytes().all(|b| b.is_ascii_alphanumeric());
        if !prefix_ok {
            return Err(TopologyError::BadTenancyPrefix(tenancy_prefix.to_string()));
        }
        let ads = (1..=region.ad_count)
            .map(|n| {
                let zone_label = zone_label(region, n);
                AvailabilityDomain {
                    number: n,
                    name: format!("{tenancy_prefix}:{zone_label}"),
                    zone_label,
                }
            })
            .collect();
        Ok(Topology {
            region,
            tenancy_prefix: tenancy_prefix.to_string(),
            ads,
        })
    }

    /// The realm key in lower case, as it appears in OCIDs (`oc1`).
    pub fn realm(&self) -> String {
        self.region.realm.to_ascii_lowercase()
    }

    /// Finds an AD by its full name (`Uocm:PHX-AD-1`), its short name (`PHX-AD-1`)
    /// or its number (`1`, `AD-1`); names match case-insensitively.
    pub fn ad(&self, name: &str) -> Result<&AvailabilityDomain, TopologyError> {
        let n = name.trim();
        let by_number = n
            .to_ascii_uppercase()
            .strip_prefix("AD-")
            .map(str::to_string)
            .unwrap_or_else(|| n.to_string())
            .parse::<u8>()
            .ok();
        self.ads
            .iter()
            .find(|ad| {
                ad.name.eq_ignore_ascii_case(n)
                    || ad.zone_label.eq_ignore_ascii_case(n)
                    || by_number == Some(ad.number)
            })
            .ok_or_else(|| TopologyError::UnknownAvailabilityDomain {
                region: self.region.name.to_string(),
                name: n.to_string(),
                known: self
                    .ads
                    .iter()
                    .map(|a| a.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_regions_have_three_ads() {
        let three: Vec<_> = REGIONS
            .iter()
            .filter(|r| r.ad_count == 3)
            .map(|r| r.key)
            .collect();
        assert_eq!(three, ["IAD", "PHX", "ORD", "FRA", "LHR"]);
        assert_eq!(region("eu-jovanovac-1").unwrap().realm, "OC20");
    }

    #[test]
    fn ad_names_and_zone_labels_follow_oci() {
        let phx = Topology::new("us-phoenix-1", "Uocm").unwrap();
        assert_eq!(phx.ads[0].name, "Uocm:PHX-AD-1");
        assert_eq!(phx.ads[2].zone_label, "PHX-AD-3");
        let iad = Topology::new("IAD", "GMvH").unwrap();
        assert_eq!(iad.ads[1].name, "GMvH:US-ASHBURN-AD-2");
        assert_eq!(iad.ads[1].zone_label, "US-ASHBURN-AD-2");
        let lhr = Topology::new("uk-london-1", "Uocm").unwrap();
        assert_eq!(lhr.ads[0].zone_label, "UK-LONDON-1-AD-1");
        let mel = Topology::new("ap-melbourne-1", "Uocm").unwrap();
        assert_eq!(mel.ads.len(), 1);
        assert_eq!(mel.ads[0].zone_label, "AP-MELBOURNE-1-AD-1");
    }

    #[test]
    fn ads_are_found_by_any_of_their_names() {
        let phx = Topology::new("us-phoenix-1", "Uocm").unwrap();
        assert_eq!(phx.ad("uocm:phx-ad-2").unwrap().number, 2);
        assert_eq!(phx.ad("PHX-AD-3").unwrap().number, 3);
        assert_eq!(phx.ad("AD-1").unwrap().number, 1);
        assert!(matches!(
            phx.ad("PHX-AD-4"),
            Err(TopologyError::UnknownAvailabilityDomain { .. })
        ));
        assert!(Topology::new("us-phoenix-1", "bad prefix").is_err());
        assert!(Topology::new("mars-1", "Uocm").is_err());
    }

    #[test]
    fn fault_domains_parse_and_print() {
        assert_eq!(
            FaultDomain::parse("fault-domain-2").unwrap(),
            FaultDomain(2)
        );
        assert!(FaultDomain::parse("FAULT-DOMAIN-4").is_err());
        assert_eq!(FaultDomain(3).to_string(), "FAULT-DOMAIN-3");
    }
}
