//! Unit tests and proptests of the IAM grammar and evaluator.

use proptest::prelude::*;

use super::parse::{Condition, GroupRef, Location, Op, Subject, SubjectItem, Value};
use super::*;
use crate::kernel::SeedTree;
use crate::model::identity::Identity;

const ROOT: &str = "ocid1.tenancy.oc1..root";
const APP: &str = "ocid1.compartment.oc1..app";
const SECRETS: &str = "ocid1.compartment.oc1..secrets";
const OTHER: &str = "ocid1.compartment.oc1..other";
const CLUSTER: &str = "ocid1.cluster.oc1.iad.aaaaaaaacluster";

/// root ─┬─ app ── secrets
///       └─ other
fn tree() -> Identity {
    let mut id = Identity::new(ROOT, "acme", "IAD");
    for (cid, parent, name) in [
        (APP, ROOT, "app"),
        (SECRETS, APP, "secrets"),
        (OTHER, ROOT, "other"),
    ] {
        id.create(cid.to_string(), parent, name, "test", SimTime::ZERO)
            .unwrap();
        id.activate(cid).unwrap();
    }
    id
}

fn iam() -> Iam {
    Iam::new(
        IamLimits::default(),
        OcidMint::new("oc1", "iad", SeedTree::new(3).fork("iam-ocid")),
    )
}

fn workload(sa: &str) -> Principal {
    Principal::Workload {
        cluster_id: CLUSTER.into(),
        namespace: "payments".into(),
        service_account: sa.into(),
    }
}

fn bundle_read(principal: Principal, compartment: &str, name: &str) -> Request {
    Request {
        principal,
        verb: Verb::Read,
        resource_type: "secret-bundles".into(),
        compartment_id: compartment.into(),
        target: secret_target("ocid1.vault.oc1.iad.v", "ocid1.vaultsecret.oc1.iad.s", name),
    }
}

fn policy(
    iam: &mut Iam,
    tree: &Identity,
    at: &str,
    name: &str,
    statements: &[&str],
) -> Result<String, IamError> {
    iam.create_policy(
        SimTime::ZERO,
        tree,
        PolicySpec {
            compartment_id: at.into(),
            name: name.into(),
            description: "test".into(),
            statements: statements.iter().map(|s| s.to_string()).collect(),
        },
    )
}

const ESO_POLICY: &str = "Allow any-user to read secret-family in compartment app where all {
    request.principal.type = 'workload',
    request.principal.namespace = 'payments',
    request.principal.service_account = 'external-secrets',
    request.principal.cluster_id = 'ocid1.cluster.oc1.iad.aaaaaaaacluster'}";

#[test]
fn the_workload_identity_template_parses() {
    let s = parse_statement(ESO_POLICY).unwrap();
    assert_eq!(s.subject, Subject::AnyUser);
    assert_eq!(s.verb, Verb::Read);
    assert_eq!(s.resource_type, "secret-family");
    assert_eq!(s.location, Location::Path(vec!["app".into()]));
    let Some(Condition::All(items)) = &s.condition else {
        panic!("expected all {{}}: {:?}", s.condition)
    };
    assert_eq!(items.len(), 4);
    assert_eq!(
        items[1],
        Condition::Clause {
            variable: "request.principal.namespace".into(),
            op: Op::Eq,
            value: Value::Literal("payments".into())
        }
    );
}

#[test]
fn keywords_and_subjects_are_case_insensitive() {
    let s = parse_statement("ALLOW Group Admins, dynamic-group ID ocid1.dynamicgroup.oc1..x TO Manage ALL-RESOURCES IN Tenancy").unwrap();
    assert_eq!(
        s.subject,
        Subject::List(vec![
            SubjectItem::Group(GroupRef::Name("Admins".into())),
            SubjectItem::DynamicGroup(GroupRef::Id("ocid1.dynamicgroup.oc1..x".into())),
        ])
    );
    assert_eq!(s.verb, Verb::Manage);
    assert_eq!(s.resource_type, "all-resources");
    assert_eq!(s.location, Location::Tenancy);
    let p = parse_statement("allow any-group to inspect vcns in compartment id ocid1.compartment.oc1..app where target.secret.name = /db-*/").unwrap();
    assert_eq!(p.location, Location::Id(APP.into()));
    assert_eq!(
        p.condition,
        Some(Condition::Clause {
            variable: "target.secret.name".into(),
            op: Op::Eq,
            value: Value::Pattern("db-*".into())
        })
    );
}

#[test]
fn parse_errors_name_the_column() {
    let cases = [
        (
            "Deny any-user to read secrets in tenancy",
            1,
            "only `Allow`",
        ),
        (
            "Allow any-user to reed secrets in tenancy",
            19,
            "unknown verb `reed`",
        ),
        (
            "Allow any-user to read secret-famly in tenancy",
            24,
            "unknown resource-type `secret-famly`",
        ),
        (
            "Allow any-user to read secrets tenancy",
            32,
            "expected `in`, found `tenancy`",
        ),
        (
            "Allow everyone to read secrets in tenancy",
            7,
            "unknown subject `everyone`",
        ),
        (
            "Allow any-user to read secrets in region",
            35,
            "expected `tenancy` or `compartment`",
        ),
        (
            "Allow any-user to read secrets in tenancy where all {request.principal.type = 'workload'",
            89,
            "to close `all {`",
        ),
        (
            "Allow any-user to read secrets in tenancy where request.principal.type = 'workload",
            74,
            "unterminated '",
        ),
        (
            "Allow any-user to read secrets in tenancy where request.principal.type",
            71,
            "expected `=` or `!=`, found the end",
        ),
        (
            "Allow any-user to read secrets in compartment a::b",
            47,
            "empty name",
        ),
        (
            "Allow any-user to read secrets in tenancy extra",
            43,
            "expected `where`",
        ),
        (
            "Allow any-user to read",
            23,
            "expected a resource-type, found the end",
        ),
    ];
    for (text, column, message) in cases {
        let e = parse_statement(text).unwrap_err();
        assert_eq!(e.column, column, "{text}: {e}");
        assert!(e.message.contains(message), "{text}: {e}");
    }
}

#[test]
fn the_right_workload_is_allowed_and_the_wrong_one_denied_with_reasons() {
    let tree = tree();
    let mut iam = iam();
    policy(&mut iam, &tree, ROOT, "eso-reads-secrets", &[ESO_POLICY]).unwrap();
    let ok = iam.evaluate(
        &tree,
        &bundle_read(workload("external-secrets"), SECRETS, "db-password"),
    );
    assert!(ok.is_allowed(), "{}", ok.explain());
    assert!(
        ok.explain()
            .starts_with("allowed by policy `eso-reads-secrets` statement 1")
    );

    let denied = iam.evaluate(
        &tree,
        &bundle_read(workload("default"), SECRETS, "db-password"),
    );
    let Decision::Deny { considered, .. } = &denied else {
        panic!("expected a denial")
    };
    assert_eq!(considered.len(), 1);
    assert_eq!(
        considered[0].reason,
        "request.principal.service_account = 'external-secrets' is false (request.principal.service_account is 'default')"
    );
    let text = denied.explain();
    assert!(text.starts_with(&format!(
        "workload (cluster {CLUSTER}, namespace payments, service account default) to read secret-bundles in compartment app:secrets is not authorized"
    )), "{text}");
    assert!(
        text.contains("policy `eso-reads-secrets` statement 1"),
        "{text}"
    );
}

#[test]
fn every_statement_considered_is_named_with_its_reason() {
    let tree = tree();
    let mut iam = iam();
    policy(
        &mut iam,
        &tree,
        ROOT,
        "mixed",
        &[
            "Allow group Admins to manage all-resources in tenancy",
            "Allow any-user to inspect secrets in tenancy",
            "Allow any-user to read vcns in tenancy",
            "Allow any-user to read secret-family in compartment other",
            "Allow any-user to read secret-bundles in tenancy where request.principal.type = 'user'",
            "Allow any-user to read secret-bundles in tenancy where any {request.principal.namespace = 'web', target.secret.name = /api-*/}",
        ],
    )
    .unwrap();
    let d = iam.evaluate(&tree, &bundle_read(workload("eso"), SECRETS, "db-password"));
    let Decision::Deny { considered, .. } = d else {
        panic!("expected a denial")
    };
    let reasons: Vec<&str> = considered.iter().map(|m| m.reason.as_str()).collect();
    assert_eq!(
        reasons,
        vec![
            &format!(
                "groups and dynamic groups never include a {}: write `any-user` with request.principal conditions",
                workload("eso")
            )[..],
            "verb `inspect` does not include `read`",
            "resource-type `vcns` does not cover `secret-bundles`",
            "compartment app:secrets is not within compartment other",
            "request.principal.type = 'user' is false (request.principal.type is 'workload')",
            "none of any {…} holds: request.principal.namespace = 'web' is false (request.principal.namespace is 'payments'); target.secret.name = /api-*/ is false (target.secret.name is 'db-password')",
        ]
    );
    assert_eq!(
        considered.iter().map(|m| m.index).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5, 6]
    );
}

#[test]
fn compartments_nest_and_policies_resolve_paths_from_where_they_are_attached() {
    let tree = tree();
    let mut iam = iam();
    // Attached to `app`, the path `secrets` means app:secrets.
    policy(
        &mut iam,
        &tree,
        APP,
        "app-local",
        &["Allow any-user to read secret-bundles in compartment secrets"],
    )
    .unwrap();
    assert!(
        iam.evaluate(&tree, &bundle_read(workload("x"), SECRETS, "s"))
            .is_allowed()
    );
    // A child compartment's policy does not reach its parent.
    let d = iam.evaluate(&tree, &bundle_read(workload("x"), APP, "s"));
    assert!(
        d.explain()
            .contains("compartment app is not within compartment app:secrets"),
        "{}",
        d.explain()
    );
    // A parent's policy covers the children.
    let mut iam = super::tests::iam();
    policy(
        &mut iam,
        &tree,
        ROOT,
        "root",
        &["Allow any-user to read secret-bundles in compartment app"],
    )
    .unwrap();
    assert!(
        iam.evaluate(&tree, &bundle_read(workload("x"), SECRETS, "s"))
            .is_allowed()
    );
    assert!(
        !iam.evaluate(&tree, &bundle_read(workload("x"), OTHER, "s"))
            .is_allowed()
    );
    // Full path from the root, matched case-insensitively.
    policy(
        &mut iam,
        &tree,
        ROOT,
        "root-path",
        &["Allow any-user to manage secrets in compartment APP:Secrets"],
    )
    .unwrap();
    let mut manage = bundle_read(workload("x"), SECRETS, "s");
    manage.verb = Verb::Manage;
    manage.resource_type = "secrets".into();
    assert!(iam.evaluate(&tree, &manage).is_allowed());
}

#[test]
fn bad_locations_are_refused_when_the_policy_is_created() {
    let tree = tree();
    let mut iam = iam();
    let e = policy(
        &mut iam,
        &tree,
        APP,
        "p",
        &["Allow any-user to read secrets in compartment nope"],
    )
    .unwrap_err();
    assert_eq!(
        e,
        IamError::Location {
            policy: "p".into(),
            index: 1,
            reason: "no compartment `nope` under compartment app".into()
        }
    );
    let e = policy(
        &mut iam,
        &tree,
        APP,
        "p",
        &["Allow any-user to read secrets in tenancy"],
    )
    .unwrap_err();
    assert!(
        matches!(e, IamError::Location { reason, .. } if reason.contains("only allowed in a policy attached to the tenancy"))
    );
    let e = policy(
        &mut iam,
        &tree,
        APP,
        "p",
        &["Allow any-user to read secrets in compartment id ocid1.compartment.oc1..other"],
    )
    .unwrap_err();
    assert!(matches!(e, IamError::Location { .. }));
    let e = policy(
        &mut iam,
        &tree,
        ROOT,
        "p",
        &[
            "Allow any-user to read secrets in tenancy",
            "Allow any-user to raed secrets in tenancy",
        ],
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "policy `p` statement 2: column 19: unknown verb `raed`: use inspect, read, use or manage"
    );
    policy(
        &mut iam,
        &tree,
        ROOT,
        "p",
        &["Allow any-user to read secrets in tenancy"],
    )
    .unwrap();
    assert_eq!(
        policy(
            &mut iam,
            &tree,
            ROOT,
            "P",
            &["Allow any-user to read secrets in tenancy"]
        )
        .unwrap_err(),
        IamError::DuplicateName("P".into())
    );
    assert_eq!(
        policy(
            &mut iam,
            &tree,
            "ocid1.compartment.oc1..gone",
            "q",
            &["Allow any-user to read secrets in tenancy"]
        )
        .unwrap_err(),
        IamError::CompartmentNotFound("ocid1.compartment.oc1..gone".into())
    );
}

#[test]
fn users_match_through_their_groups() {
    let tree = tree();
    let mut iam = iam();
    policy(
        &mut iam,
        &tree,
        ROOT,
        "admins",
        &["Allow group admins to manage all-resources in tenancy"],
    )
    .unwrap();
    let admin = Principal::User {
        id: "ocid1.user.oc1..a".into(),
        groups: vec![Group {
            id: "ocid1.group.oc1..g".into(),
            name: "Admins".into(),
        }],
    };
    let loner = Principal::User {
        id: "ocid1.user.oc1..b".into(),
        groups: vec![],
    };
    assert!(
        iam.evaluate(&tree, &bundle_read(admin, SECRETS, "s"))
            .is_allowed()
    );
    let d = iam.evaluate(&tree, &bundle_read(loner, SECRETS, "s"));
    assert!(
        d.explain()
            .contains("no group in the subject includes user ocid1.user.oc1..b"),
        "{}",
        d.explain()
    );
}

#[test]
fn undefined_variables_make_a_condition_false_and_patterns_glob() {
    let tree = tree();
    let mut iam = iam();
    policy(&mut iam, &tree, ROOT, "p", &[
        "Allow any-user to read secret-bundles in tenancy where request.principal.cluster_id = 'x'",
        "Allow any-user to read secret-bundles in tenancy where target.secret.name != /DB-*/",
    ]).unwrap();
    let user = Principal::User {
        id: "u".into(),
        groups: vec![],
    };
    let d = iam.evaluate(&tree, &bundle_read(user.clone(), SECRETS, "db-password"));
    let Decision::Deny { considered, .. } = d else {
        panic!()
    };
    assert_eq!(
        considered[0].reason,
        "request.principal.cluster_id = 'x' is false: request.principal.cluster_id is not defined for this request"
    );
    assert_eq!(
        considered[1].reason,
        "target.secret.name != /DB-*/ is false (target.secret.name is 'db-password')"
    );
    assert!(
        iam.evaluate(&tree, &bundle_read(user, SECRETS, "api-key"))
            .is_allowed()
    );
    assert!(eval::glob_matches("a*b*c", "axxbyyc"));
    assert!(!eval::glob_matches("a*b*c", "axxbyy"));
    assert!(eval::glob_matches("*", ""));
    assert!(!eval::glob_matches("ab*ba", "aba"));
}

#[test]
fn no_policies_at_all_says_so() {
    let tree = tree();
    let d = iam().evaluate(&tree, &bundle_read(workload("x"), SECRETS, "s"));
    assert!(
        d.explain()
            .ends_with("is not authorized: no policy statements exist"),
        "{}",
        d.explain()
    );
}

#[test]
fn update_and_delete_policies() {
    let tree = tree();
    let mut iam = iam();
    let id = policy(
        &mut iam,
        &tree,
        ROOT,
        "p",
        &["Allow any-user to inspect secrets in tenancy"],
    )
    .unwrap();
    assert!(id.starts_with("ocid1.policy.oc1.."));
    let req = bundle_read(workload("x"), SECRETS, "s");
    assert!(!iam.evaluate(&tree, &req).is_allowed());
    iam.update_policy(
        &tree,
        &id,
        None,
        Some(vec![
            "Allow any-user to read secret-family in tenancy".into(),
        ]),
    )
    .unwrap();
    assert!(iam.evaluate(&tree, &req).is_allowed());
    assert!(
        iam.update_policy(&tree, &id, None, Some(vec!["nonsense".into()]))
            .is_err()
    );
    assert_eq!(iam.policy(&id).unwrap().statements.len(), 1);
    iam.delete_policy(&id).unwrap();
    assert!(!iam.evaluate(&tree, &req).is_allowed());
    assert_eq!(iam.delete_policy(&id), Err(IamError::PolicyNotFound(id)));
}

// ---- proptest ----------------------------------------------------------------

const SUBJECTS: [&str; 3] = ["any-user", "any-group", "group Admins"];
const TYPES: [&str; 7] = [
    "secret-family",
    "secrets",
    "secret-bundles",
    "key-family",
    "all-resources",
    "vcns",
    "cluster-family",
];
const LOCATIONS: [&str; 5] = [
    "tenancy",
    "compartment app",
    "compartment app:secrets",
    "compartment other",
    "compartment id ocid1.compartment.oc1..app",
];
const CONDITIONS: [&str; 6] = [
    "",
    " where request.principal.type = 'workload'",
    " where request.principal.namespace = 'payments'",
    " where all {request.principal.type = 'workload', request.principal.service_account = 'eso'}",
    " where any {request.principal.service_account = 'eso', target.secret.name = /db-*/}",
    " where target.secret.name != 'db-password'",
];

fn statement_text(subject: usize, verb: usize, ty: usize, loc: usize, cond: usize) -> String {
    format!(
        "Allow {} to {} {} in {}{}",
        SUBJECTS[subject],
        Verb::ALL[verb],
        TYPES[ty],
        LOCATIONS[loc],
        CONDITIONS[cond]
    )
}

fn statement() -> impl Strategy<Value = (usize, usize, usize, usize, usize)> {
    (
        0..SUBJECTS.len(),
        0..4usize,
        0..TYPES.len(),
        0..LOCATIONS.len(),
        0..CONDITIONS.len(),
    )
}

fn request() -> impl Strategy<Value = Request> {
    let principals = prop_oneof![
        Just(workload("eso")),
        Just(workload("default")),
        Just(Principal::User {
            id: "ocid1.user.oc1..u".into(),
            groups: vec![Group {
                id: "g".into(),
                name: "admins".into()
            }]
        }),
    ];
    let types = prop_oneof![
        Just("secrets"),
        Just("secret-bundles"),
        Just("vaults"),
        Just("vcns")
    ];
    let compartments = prop_oneof![Just(ROOT), Just(APP), Just(SECRETS), Just(OTHER)];
    let names = prop_oneof![Just("db-password"), Just("api-key")];
    (principals, 0..4usize, types, compartments, names).prop_map(|(p, v, t, c, n)| {
        let mut r = bundle_read(p, c, n);
        r.verb = Verb::ALL[v];
        r.resource_type = t.to_string();
        r
    })
}

fn allowed(tree: &Identity, texts: &[String], req: &Request) -> bool {
    let parsed: Vec<Statement> = texts.iter().map(|t| parse_statement(t).unwrap()).collect();
    let statements = parsed.iter().enumerate().map(|(i, s)| PolicyStatement {
        policy: "p",
        policy_compartment: ROOT,
        index: i + 1,
        statement: s,
    });
    evaluate(tree, statements, req).is_allowed()
}

proptest! {
    #[test]
    fn adding_a_statement_never_removes_access(
        base in proptest::collection::vec(statement(), 0..6),
        extra in statement(),
        req in request(),
    ) {
        let tree = tree();
        let texts: Vec<String> = base.iter().map(|s| statement_text(s.0, s.1, s.2, s.3, s.4)).collect();
        let mut more = texts.clone();
        more.push(statement_text(extra.0, extra.1, extra.2, extra.3, extra.4));
        if allowed(&tree, &texts, &req) {
            prop_assert!(allowed(&tree, &more, &req));
        }
    }

    #[test]
    fn a_stronger_verb_never_grants_less(
        base in proptest::collection::vec(statement(), 1..6),
        which in 0usize..6,
        req in request(),
    ) {
        let tree = tree();
        let i = which % base.len();
        let texts: Vec<String> = base.iter().map(|s| statement_text(s.0, s.1, s.2, s.3, s.4)).collect();
        let was = allowed(&tree, &texts, &req);
        // Strengthening one statement's verb keeps every access it gave.
        for stronger in base[i].1..4 {
            let mut t = texts.clone();
            let s = base[i];
            t[i] = statement_text(s.0, stronger, s.2, s.3, s.4);
            prop_assert!(!was || allowed(&tree, &t, &req));
        }
        // A request needing a weaker verb is allowed whenever a stronger one is.
        if was {
            for weaker in 0..=Verb::ALL.iter().position(|v| *v == req.verb).unwrap() {
                let mut r = req.clone();
                r.verb = Verb::ALL[weaker];
                prop_assert!(allowed(&tree, &texts, &r));
            }
        }
    }

    #[test]
    fn a_denial_lists_every_statement(base in proptest::collection::vec(statement(), 0..6), req in request()) {
        let tree = tree();
        let parsed: Vec<Statement> = base.iter().map(|s| parse_statement(&statement_text(s.0, s.1, s.2, s.3, s.4)).unwrap()).collect();
        let statements = parsed.iter().enumerate().map(|(i, s)| PolicyStatement { policy: "p", policy_compartment: ROOT, index: i + 1, statement: s });
        if let Decision::Deny { considered, .. } = evaluate(&tree, statements, &req) {
            prop_assert_eq!(considered.iter().map(|m| m.index).collect::<Vec<_>>(), (1..=parsed.len()).collect::<Vec<_>>());
            prop_assert!(considered.iter().all(|m| !m.reason.is_empty()));
        }
    }
}

proptest! {
    #[test]
    fn conditions_print_as_text_that_parses_back(s in statement()) {
        let text = statement_text(s.0, s.1, s.2, s.3, s.4);
        let parsed = parse_statement(&text).unwrap();
        if let Some(c) = &parsed.condition {
            let head = text.split(" where ").next().unwrap();
            let again = parse_statement(&format!("{head} where {c}")).unwrap();
            prop_assert_eq!(again.condition.as_ref(), Some(c));
            prop_assert_eq!(again.location, parsed.location);
        }
    }
}
