//! The scenario format of the reference architecture's wiring, as written:
//! reachability checks (and, with them, the endpoints a flow names). `plan.rs`
//! and `wiring.rs` validate and resolve it.

use serde::Deserialize;

/// `reachable`: a flow and the verdict expected for it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReachableFile {
    /// Who opens the connection.
    pub from: EndpointFile,
    /// Who it is opened to.
    pub to: EndpointFile,
    /// `tcp`, `udp` or `icmp`.
    pub protocol: String,
    /// Destination port (TCP and UDP).
    pub port: Option<u16>,
    /// `allowed` or `denied`.
    pub expect: String,
}

/// One end of a flow: a keyword or subnet name, or a VNIC in a subnet with NSGs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointFile {
    /// `internet`, `internet:<ip>`, `oracle-services`, `pods`, `pods:<pool>`,
    /// `mysql`, `mysql:<db system>`, or a subnet name.
    Named(String),
    /// A VNIC in `subnet`, member of `nsgs`.
    Vnic(VnicFile),
}

/// A VNIC written out.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VnicFile {
    /// Subnet name.
    pub subnet: String,
    /// NSG names.
    #[serde(default)]
    pub nsgs: Vec<String>,
}

impl<'de> Deserialize<'de> for EndpointFile {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = EndpointFile;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an endpoint: internet, oracle-services, pods, mysql, a subnet name, or {subnet, nsgs}")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(EndpointFile::Named(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                VnicFile::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(EndpointFile::Vnic)
            }
        }
        d.deserialize_any(V)
    }
}
