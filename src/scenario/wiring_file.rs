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

/// The `mysql` section: MySQL DB systems and who connects to them.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MysqlSectionFile {
    /// Time from losing the primary to a secondary taking over (default 60s,
    /// an assumption: OCI documents no figure).
    pub failover_time: Option<super::file::DurationText>,
    /// DB systems.
    pub db_systems: Vec<DbSystemFile>,
}

/// One DB system.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DbSystemFile {
    /// Display name.
    pub name: String,
    /// Subnet of the endpoint.
    pub subnet: String,
    /// NSGs of the endpoint's VNIC.
    #[serde(default)]
    pub nsgs: Vec<String>,
    /// Shape (default `MySQL.2`).
    pub shape: Option<String>,
    /// Three instances over FDs or ADs (default false: standalone).
    #[serde(default)]
    pub high_availability: bool,
    /// Preferred primary AD (default: the subnet's, else AD-1).
    pub availability_domain: Option<String>,
    /// Preferred primary FD (default FAULT-DOMAIN-1).
    pub fault_domain: Option<String>,
    /// Listener port (default 3306).
    pub port: Option<u16>,
    /// The application user's password in the database.
    pub password: String,
    /// Deployments that connect to it.
    #[serde(default)]
    pub clients: Vec<DbClientFile>,
}

/// A Deployment that connects to a DB system.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DbClientFile {
    /// Deployment name.
    pub deployment: String,
    /// The Kubernetes Secret with the password (absent: no password check).
    pub secret: Option<String>,
    /// The key of the password in the Secret (default `password`).
    pub key: Option<String>,
}

/// A vault with its secrets (created ACTIVE before the run starts).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaultFile {
    /// Display name (ExternalSecret stores may name the vault by it).
    pub name: String,
    /// Compartment path (`app`, `app:prod`; default: the tenancy).
    pub compartment: Option<String>,
    /// Secrets.
    #[serde(default)]
    pub secrets: Vec<VaultSecretFile>,
}

/// A secret and its first version.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaultSecretFile {
    /// Name, unique in the vault.
    pub name: String,
    /// The content as text (stored base64-encoded, as OCI does).
    pub content: String,
    /// Compartment path (default: the vault's).
    pub compartment: Option<String>,
}

/// An IAM policy.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    /// Name.
    pub name: String,
    /// The compartment it is attached to (default: the tenancy).
    pub compartment: Option<String>,
    /// Statements; `${cluster_id}` stands for the cluster's OCID.
    pub statements: Vec<String>,
}

/// `vault_outage`: a vault stops answering (for `duration`, or to the end).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaultRefFile {
    /// Vault name.
    pub vault: String,
}

/// `rotate_secret`: new content becomes CURRENT.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateSecretFile {
    /// Vault name.
    pub vault: String,
    /// Secret name.
    pub secret: String,
    /// New content as text.
    pub content: String,
}

/// `delete_secret`: scheduled deletion (inaccessible at once).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteSecretFile {
    /// Vault name.
    pub vault: String,
    /// Secret name.
    pub secret: String,
}

/// `set_mysql_password`: the application user's password changes in the database.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetPasswordFile {
    /// DB system name.
    pub db_system: String,
    /// New password.
    pub password: String,
}

/// `external_secret`: an ExternalSecret's Ready condition at the end of the run.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalSecretExpectFile {
    /// Name.
    pub name: String,
    /// Namespace (default `default`).
    pub namespace: Option<String>,
    /// Expected Ready status.
    pub ready: bool,
    /// Text the condition's message must contain.
    pub message_contains: Option<String>,
}
