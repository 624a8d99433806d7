//! IAM resource types and the families (aggregate resource types) that
//! contain them, for the services the twin models (docs/vault-facts.md).

/// Families and their member types. `all-resources` covers every type.
const FAMILIES: &[(&str, &[&str])] = &[
    // keypolicyreference: "Secret resource-types include only secrets,
    // secret-versions, and secret-bundles"; "key resource-types include only
    // vaults, keys, and key-delegate".
    (
        "secret-family",
        &["secrets", "secret-versions", "secret-bundles"],
    ),
    ("key-family", &["vaults", "keys", "key-delegate"]),
    (
        "virtual-network-family",
        &[
            "vcns",
            "subnets",
            "route-tables",
            "network-security-groups",
            "security-lists",
            "dhcp-options",
            "private-ips",
            "public-ips",
            "internet-gateways",
            "nat-gateways",
            "service-gateways",
            "local-peering-gateways",
            "drgs",
            "drg-attachments",
            "vnics",
            "vnic-attachments",
            "vlans",
        ],
    ),
    // cluster-virtualnode-pools in the family is UNCONFIRMED.
    (
        "cluster-family",
        &[
            "clusters",
            "cluster-node-pools",
            "cluster-virtualnode-pools",
            "cluster-work-requests",
        ],
    ),
    // MySQL policy details: mysql-family.
    (
        "mysql-family",
        &[
            "mysql-instances",
            "mysql-configurations",
            "mysql-backups",
            "mysql-work-requests",
            "mysql-channels",
            "mysql-analytics",
        ],
    ),
    ("object-family", &["buckets", "objects"]),
    (
        "instance-family",
        &[
            "instances",
            "instance-images",
            "volume-attachments",
            "console-histories",
        ],
    ),
];

/// Individual types that belong to no family above.
const LONE_TYPES: &[&str] = &[
    "load-balancers",
    "repos",
    "compartments",
    "policies",
    "groups",
    "dynamic-groups",
    "users",
    "tenancies",
    "tag-namespaces",
    "work-requests",
];

/// The aggregate covering everything.
pub const ALL_RESOURCES: &str = "all-resources";

/// Whether `name` (lower-case) is a type or family the twin knows.
pub fn is_known_resource_type(name: &str) -> bool {
    name == ALL_RESOURCES
        || LONE_TYPES.contains(&name)
        || FAMILIES
            .iter()
            .any(|(family, members)| *family == name || members.contains(&name))
}

/// Whether a statement's resource type (a type, a family or `all-resources`)
/// covers the individual type a request needs.
pub fn covers(statement_type: &str, requested: &str) -> bool {
    statement_type == ALL_RESOURCES
        || statement_type == requested
        || FAMILIES
            .iter()
            .any(|(family, members)| *family == statement_type && members.contains(&requested))
}

/// Every individual resource type (for tests and property generators).
pub fn individual_types() -> Vec<&'static str> {
    let mut out: Vec<&str> = FAMILIES
        .iter()
        .flat_map(|(_, m)| m.iter().copied())
        .collect();
    out.extend_from_slice(LONE_TYPES);
    out
}

/// Every family name (without `all-resources`).
pub fn families() -> Vec<&'static str> {
    FAMILIES.iter().map(|(f, _)| *f).collect()
}
