//! Unit tests and proptests of the Vault model.

use proptest::prelude::*;

use super::*;
use crate::kernel::SeedTree;

const T0: SimTime = SimTime(0);

fn service() -> VaultService {
    let mint = OcidMint::new("oc1", "iad", SeedTree::new(7).fork("vault-ocid"));
    let crypto = SeedTree::new(7).fork("kms-crypto");
    VaultService::new(
        VaultLimits::default(),
        VaultTimings::default(),
        mint,
        crypto,
    )
}

fn b64(text: &str) -> String {
    encode_base64(text.as_bytes())
}

fn content(text: &str) -> NewContent {
    NewContent {
        content: b64(text),
        name: None,
        stage: NewVersionStage::Current,
    }
}

fn named(text: &str, name: &str, stage: NewVersionStage) -> NewContent {
    NewContent {
        content: b64(text),
        name: Some(name.to_string()),
        stage,
    }
}

/// A service with an ACTIVE vault and an ENABLED key, at the returned time.
fn ready() -> (VaultService, String, String, SimTime) {
    let mut s = service();
    let vault = s.create_vault(
        T0,
        VaultSpec {
            compartment_id: "ocid1.compartment.oc1..app".into(),
            display_name: "app-vault".into(),
            vault_type: VaultType::Default,
            tags: Tags::default(),
        },
    );
    let t = T0 + s.timings.vault_create;
    let key = s
        .create_key(
            t,
            KeySpec {
                compartment_id: "ocid1.compartment.oc1..app".into(),
                vault_id: vault.clone(),
                display_name: "master".into(),
                shape: KeyShape {
                    algorithm: KeyAlgorithm::Aes,
                    length: 32,
                    curve_id: None,
                },
                protection_mode: "HSM".into(),
                tags: Tags::default(),
            },
        )
        .unwrap();
    let t = t + s.timings.key_change;
    (s, vault, key, t)
}

fn secret_spec(vault: &str, key: &str, name: &str, text: &str) -> SecretSpec {
    SecretSpec {
        compartment_id: "ocid1.compartment.oc1..app".into(),
        vault_id: vault.into(),
        key_id: key.into(),
        name: name.into(),
        description: None,
        metadata: None,
        tags: Tags::default(),
        content: content(text),
    }
}

/// A service with an ACTIVE secret `db-password` ("v1"); returns its id and a time.
fn with_secret() -> (VaultService, String, String, SimTime) {
    let (mut s, vault, key, t) = ready();
    let id = s
        .create_secret(t, secret_spec(&vault, &key, "db-password", "v1"))
        .unwrap();
    let t = t + s.timings.secret_create;
    (s, vault, id, t)
}

fn stages_of(s: &VaultService, id: &str) -> Vec<(u32, Vec<Stage>)> {
    let secret = s.secret(id).unwrap();
    secret
        .versions
        .keys()
        .map(|n| (*n, secret.stages(*n)))
        .collect()
}

fn update_with(s: &mut VaultService, t: SimTime, id: &str, c: NewContent) {
    s.update_secret(
        t,
        id,
        SecretUpdate {
            content: Some(c),
            ..Default::default()
        },
    )
    .unwrap();
}

fn promote(s: &mut VaultService, t: SimTime, id: &str, n: u32) -> Result<(), VaultError> {
    s.update_secret(
        t,
        id,
        SecretUpdate {
            current_version_number: Some(n),
            ..Default::default()
        },
    )
    .map(|_| ())
}

fn read(
    s: &VaultService,
    t: SimTime,
    id: &str,
    sel: VersionSelector,
) -> Result<String, VaultError> {
    s.bundle(t, id, &sel)
        .map(|b| String::from_utf8(decode_base64(&b.content).unwrap()).unwrap())
}

use Stage::*;

#[test]
fn vault_and_key_move_through_their_lifecycle_in_virtual_time() {
    let mut s = service();
    let vault = s.create_vault(
        T0,
        VaultSpec {
            compartment_id: "c".into(),
            display_name: "v".into(),
            vault_type: VaultType::VirtualPrivate,
            tags: Tags::default(),
        },
    );
    assert!(vault.starts_with("ocid1.vault.oc1.iad."));
    let v = s.vault(&vault).unwrap();
    assert_eq!(v.state(T0), VaultState::Creating);
    assert_eq!(v.state(SimTime(19_999)), VaultState::Creating);
    assert_eq!(v.state(SimTime(20_000)), VaultState::Active);
    assert!(v.wrapping_key_id.starts_with("ocid1.key."));

    // A key cannot be created in a vault still CREATING.
    let spec = KeySpec {
        compartment_id: "c".into(),
        vault_id: vault.clone(),
        display_name: "k".into(),
        shape: KeyShape {
            algorithm: KeyAlgorithm::Aes,
            length: 32,
            curve_id: None,
        },
        protection_mode: "HSM".into(),
        tags: Tags::default(),
    };
    let err = s.create_key(T0, spec.clone()).unwrap_err();
    assert_eq!(
        err,
        VaultError::VaultNotActive {
            vault: vault.clone(),
            state: "CREATING"
        }
    );
    let t = SimTime(20_000);
    let key = s.create_key(t, spec).unwrap();
    assert_eq!(s.key(&key).unwrap().state(t), KeyState::Creating);
    let t = t + s.timings.key_change;
    assert_eq!(s.key(&key).unwrap().state(t), KeyState::Enabled);

    // Key versions: rotation adds a current version.
    let first = s.key(&key).unwrap().current_version().id.clone();
    let second = s.rotate_key(t, &key).unwrap().id.clone();
    assert_ne!(first, second);
    assert_eq!(s.key(&key).unwrap().versions.len(), 2);
    assert_eq!(s.key(&key).unwrap().current_version().id, second);

    // Disable, enable.
    s.disable_key(t, &key).unwrap();
    assert_eq!(s.key(&key).unwrap().state(t), KeyState::Disabling);
    let t = t + s.timings.key_change;
    assert_eq!(s.key(&key).unwrap().state(t), KeyState::Disabled);
    assert!(matches!(
        s.disable_key(t, &key),
        Err(VaultError::WrongState {
            state: "DISABLED",
            ..
        })
    ));
    s.enable_key(t, &key).unwrap();
    let t = t + s.timings.key_change;
    assert_eq!(s.key(&key).unwrap().state(t), KeyState::Enabled);
}

#[test]
fn key_shapes_are_checked() {
    let bad = KeyShape {
        algorithm: KeyAlgorithm::Aes,
        length: 20,
        curve_id: None,
    };
    assert!(matches!(bad.validate(), Err(VaultError::InvalidKeyShape(m)) if m.contains("20")));
    let ec = KeyShape {
        algorithm: KeyAlgorithm::Ecdsa,
        length: 32,
        curve_id: Some("NIST_P256".into()),
    };
    assert_eq!(ec.validate(), Ok(()));
    let rsa_curve = KeyShape {
        algorithm: KeyAlgorithm::Rsa,
        length: 256,
        curve_id: Some("NIST_P256".into()),
    };
    assert!(rsa_curve.validate().is_err());
}

#[test]
fn first_version_is_current_and_latest_even_if_pending_was_asked() {
    let (mut s, vault, key, t) = ready();
    let mut spec = secret_spec(&vault, &key, "api-token", "one");
    spec.content.stage = NewVersionStage::Pending;
    let id = s.create_secret(t, spec).unwrap();
    assert!(id.starts_with("ocid1.vaultsecret.oc1.iad."));
    assert_eq!(stages_of(&s, &id), vec![(1, vec![Current, Latest])]);
    assert_eq!(s.secret(&id).unwrap().state(t), SecretState::Creating);
    // Not readable until ACTIVE.
    assert!(matches!(
        read(&s, t, &id, VersionSelector::default()),
        Err(VaultError::SecretWrongState {
            state: "CREATING",
            ..
        })
    ));
    let t = t + s.timings.secret_create;
    assert_eq!(read(&s, t, &id, VersionSelector::default()).unwrap(), "one");
}

#[test]
fn new_current_versions_shift_current_to_previous_then_deprecated() {
    let (mut s, _, id, t) = with_secret();
    update_with(&mut s, t, &id, content("v2"));
    assert_eq!(
        stages_of(&s, &id),
        vec![(1, vec![Previous]), (2, vec![Current, Latest])]
    );
    assert_eq!(s.secret(&id).unwrap().state(t), SecretState::Updating);
    assert_eq!(
        s.secret(&id).unwrap().state(t + s.timings.secret_update),
        SecretState::Active
    );
    update_with(&mut s, t, &id, content("v3"));
    assert_eq!(
        stages_of(&s, &id),
        vec![
            (1, vec![Deprecated]),
            (2, vec![Previous]),
            (3, vec![Current, Latest])
        ]
    );
    assert_eq!(s.secret(&id).unwrap().current_version_number(), 3);
    assert_eq!(read(&s, t, &id, VersionSelector::default()).unwrap(), "v3");
    assert_eq!(
        read(&s, t, &id, VersionSelector::Stage(Previous)).unwrap(),
        "v2"
    );
    assert_eq!(
        read(&s, t, &id, VersionSelector::Stage(Deprecated)).unwrap(),
        "v1"
    );
    assert_eq!(read(&s, t, &id, VersionSelector::Number(1)).unwrap(), "v1");
}

#[test]
fn pending_version_waits_for_promotion() {
    let (mut s, _, id, t) = with_secret();
    update_with(
        &mut s,
        t,
        &id,
        named("v2", "rotation-2", NewVersionStage::Pending),
    );
    assert_eq!(
        stages_of(&s, &id),
        vec![(1, vec![Current]), (2, vec![Pending, Latest])]
    );
    // Readers of CURRENT still get v1; PENDING and LATEST name v2.
    assert_eq!(read(&s, t, &id, VersionSelector::default()).unwrap(), "v1");
    assert_eq!(
        read(&s, t, &id, VersionSelector::Stage(Pending)).unwrap(),
        "v2"
    );
    assert_eq!(
        read(&s, t, &id, VersionSelector::Stage(Latest)).unwrap(),
        "v2"
    );
    assert_eq!(
        read(&s, t, &id, VersionSelector::Name("rotation-2".into())).unwrap(),
        "v2"
    );
    // No PREVIOUS yet.
    assert_eq!(
        read(&s, t, &id, VersionSelector::Stage(Previous)).unwrap_err(),
        VaultError::VersionNotFound {
            secret: "db-password".into(),
            id: id.clone(),
            selector: "stage PREVIOUS".into()
        }
    );
    promote(&mut s, t, &id, 2).unwrap();
    assert_eq!(
        stages_of(&s, &id),
        vec![(1, vec![Previous]), (2, vec![Current, Latest])]
    );
    assert_eq!(read(&s, t, &id, VersionSelector::default()).unwrap(), "v2");
}

#[test]
fn a_second_pending_version_replaces_the_first() {
    let (mut s, _, id, t) = with_secret();
    update_with(&mut s, t, &id, named("v2", "a", NewVersionStage::Pending));
    update_with(&mut s, t, &id, named("v3", "b", NewVersionStage::Pending));
    assert_eq!(
        stages_of(&s, &id),
        vec![
            (1, vec![Current]),
            (2, vec![Deprecated]),
            (3, vec![Pending, Latest])
        ]
    );
    // A new CURRENT version leaves the PENDING one staged.
    update_with(&mut s, t, &id, content("v4"));
    assert_eq!(
        stages_of(&s, &id),
        vec![
            (1, vec![Previous]),
            (2, vec![Deprecated]),
            (3, vec![Pending]),
            (4, vec![Current, Latest])
        ]
    );
}

#[test]
fn rollback_promotes_an_old_version_and_latest_stays_on_the_newest() {
    let (mut s, _, id, t) = with_secret();
    update_with(&mut s, t, &id, content("v2"));
    update_with(&mut s, t, &id, content("v3"));
    promote(&mut s, t, &id, 1).unwrap();
    assert_eq!(
        stages_of(&s, &id),
        vec![
            (1, vec![Current]),
            (2, vec![Deprecated]),
            (3, vec![Latest, Previous])
        ]
    );
    // Promoting the CURRENT version changes nothing.
    promote(&mut s, t, &id, 1).unwrap();
    assert_eq!(s.secret(&id).unwrap().current_version_number(), 1);
    assert!(matches!(
        promote(&mut s, t, &id, 9),
        Err(VaultError::VersionNotFound { selector, .. }) if selector == "version number 9"
    ));
}

#[test]
fn rotation_ends_like_an_update() {
    let (mut s, _, id, t) = with_secret();
    let n = s.rotate_secret(t, &id, b64("rotated")).unwrap();
    assert_eq!(n, 2);
    assert_eq!(
        stages_of(&s, &id),
        vec![(1, vec![Previous]), (2, vec![Current, Latest])]
    );
    assert_eq!(
        read(&s, t, &id, VersionSelector::default()).unwrap(),
        "rotated"
    );
}

#[test]
fn update_cannot_both_add_content_and_promote() {
    let (mut s, _, id, t) = with_secret();
    let err = s
        .update_secret(
            t,
            &id,
            SecretUpdate {
                content: Some(content("x")),
                current_version_number: Some(1),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert_eq!(err, VaultError::ContentAndPromotion("db-password".into()));
    assert_eq!(s.secret(&id).unwrap().versions.len(), 1);
}

#[test]
fn scheduled_deletion_makes_the_secret_inaccessible_at_once_and_cancel_restores_it() {
    let (mut s, vault, id, t) = with_secret();
    let day = SimDuration::from_secs(86_400);
    s.schedule_secret_deletion(t, &id, Some(t + SimDuration(3 * day.0)))
        .unwrap();
    let secret = s.secret(&id).unwrap();
    assert_eq!(secret.state(t), SecretState::SchedulingDeletion);
    assert_eq!(
        secret.state(t + s.timings.deletion_change),
        SecretState::PendingDeletion
    );
    assert_eq!(secret.time_of_deletion, Some(t + SimDuration(3 * day.0)));
    let err = read(&s, t, &id, VersionSelector::default()).unwrap_err();
    assert_eq!(
        err,
        VaultError::SecretWrongState {
            secret: "db-password".into(),
            id: id.clone(),
            state: "SCHEDULING_DELETION",
            operation: "read its content"
        }
    );
    assert!(
        s.bundle_by_name(t, &vault, "db-password", &VersionSelector::default())
            .is_err()
    );
    // No new versions while deletion is scheduled.
    assert!(matches!(
        s.update_secret(
            t,
            &id,
            SecretUpdate {
                content: Some(content("x")),
                ..Default::default()
            }
        ),
        Err(VaultError::SecretWrongState {
            operation: "update",
            ..
        })
    ));
    let t2 = t + SimDuration::from_secs(60);
    s.cancel_secret_deletion(t2, &id).unwrap();
    assert_eq!(
        s.secret(&id).unwrap().state(t2),
        SecretState::CancellingDeletion
    );
    let t3 = t2 + s.timings.deletion_change;
    assert_eq!(s.secret(&id).unwrap().state(t3), SecretState::Active);
    assert_eq!(s.secret(&id).unwrap().time_of_deletion, None);
    assert_eq!(read(&s, t3, &id, VersionSelector::default()).unwrap(), "v1");
    // The cancelled deletion never fires.
    assert_eq!(
        s.secret(&id).unwrap().state(t + SimDuration(40 * day.0)),
        SecretState::Active
    );
}

#[test]
fn deleted_secret_frees_its_name() {
    let (mut s, vault, id, t) = with_secret();
    let day = SimDuration::from_secs(86_400);
    s.schedule_secret_deletion(t, &id, None).unwrap();
    assert_eq!(
        s.secret(&id).unwrap().time_of_deletion,
        Some(t + SimDuration(30 * day.0))
    );
    let key = s.secret(&id).unwrap().key_id.clone();
    // While pending deletion the name is taken.
    assert!(matches!(
        s.create_secret(t, secret_spec(&vault, &key, "db-password", "again")),
        Err(VaultError::DuplicateSecretName { .. })
    ));
    let later = t + SimDuration(30 * day.0);
    assert_eq!(s.secret(&id).unwrap().state(later), SecretState::Deleted);
    let new = s
        .create_secret(later, secret_spec(&vault, &key, "db-password", "again"))
        .unwrap();
    assert_eq!(
        s.secret_by_name(later, &vault, "db-password").unwrap().id,
        new
    );
}

#[test]
fn deletion_windows_are_enforced() {
    let (mut s, _, id, t) = with_secret();
    let err = s
        .schedule_secret_deletion(t, &id, Some(t + SimDuration::from_secs(3600)))
        .unwrap_err();
    assert_eq!(
        err,
        VaultError::DeletionWindow {
            what: "secret `db-password`".into(),
            min_days: 1,
            max_days: 30
        }
    );
    let vault = s.secret(&id).unwrap().vault_id.clone();
    let err = s
        .schedule_vault_deletion(t, &vault, Some(t + SimDuration::from_secs(86_400)))
        .unwrap_err();
    assert!(matches!(
        err,
        VaultError::DeletionWindow { min_days: 7, .. }
    ));
}

#[test]
fn only_deprecated_versions_can_be_scheduled_for_deletion() {
    let (mut s, _, id, t) = with_secret();
    update_with(&mut s, t, &id, content("v2"));
    update_with(&mut s, t, &id, content("v3"));
    let err = s.schedule_version_deletion(t, &id, 2, None).unwrap_err();
    assert_eq!(
        err,
        VaultError::VersionNotDeprecated {
            secret: "db-password".into(),
            version: 2,
            stages: "PREVIOUS".into()
        }
    );
    let day = SimDuration::from_secs(86_400);
    s.schedule_version_deletion(t, &id, 1, Some(t + day))
        .unwrap();
    assert!(matches!(
        read(&s, t, &id, VersionSelector::Number(1)),
        Err(VaultError::VersionPendingDeletion { version: 1, .. })
    ));
    // A version pending deletion cannot be promoted.
    assert!(matches!(
        promote(&mut s, t, &id, 1),
        Err(VaultError::VersionPendingDeletion { version: 1, .. })
    ));
    s.cancel_version_deletion(t, &id, 1).unwrap();
    assert_eq!(read(&s, t, &id, VersionSelector::Number(1)).unwrap(), "v1");
    // Once deleted, the version is gone.
    s.schedule_version_deletion(t, &id, 1, Some(t + day))
        .unwrap();
    let later = t + day;
    assert!(matches!(
        read(&s, later, &id, VersionSelector::Number(1)),
        Err(VaultError::VersionNotFound { .. })
    ));
    assert_eq!(
        s.secret(&id)
            .unwrap()
            .live_versions(later)
            .map(|v| v.number)
            .collect::<Vec<_>>(),
        vec![2, 3]
    );
}

#[test]
fn thirty_versions_in_use_is_the_limit() {
    let (mut s, _, id, t) = with_secret();
    for i in 2..=30 {
        update_with(&mut s, t, &id, content(&format!("v{i}")));
    }
    let err = s
        .update_secret(
            t,
            &id,
            SecretUpdate {
                content: Some(content("v31")),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert_eq!(
        err,
        VaultError::VersionLimit {
            secret: "db-password".into(),
            what: "in-use",
            count: 30,
            limit: 30
        }
    );
    // Scheduling a deprecated version for deletion makes room.
    s.schedule_version_deletion(t, &id, 1, None).unwrap();
    update_with(&mut s, t, &id, content("v31"));
    assert_eq!(s.secret(&id).unwrap().latest_version_number(), 31);
}

#[test]
fn outage_makes_the_vault_unavailable() {
    let (mut s, vault, id, t) = with_secret();
    s.set_vault_available(&vault, false).unwrap();
    assert_eq!(
        read(&s, t, &id, VersionSelector::default()).unwrap_err(),
        VaultError::VaultUnavailable(vault.clone())
    );
    assert_eq!(
        s.bundle_by_name(t, &vault, "db-password", &VersionSelector::default())
            .unwrap_err(),
        VaultError::VaultUnavailable(vault.clone())
    );
    s.set_vault_available(&vault, true).unwrap();
    assert_eq!(read(&s, t, &id, VersionSelector::default()).unwrap(), "v1");
}

#[test]
fn bad_secrets_are_refused_with_the_reason() {
    let (mut s, vault, key, t) = ready();
    let mut spec = secret_spec(&vault, &key, "ok", "x");
    spec.content.content = "not base64!".into();
    assert!(matches!(
        s.create_secret(t, spec),
        Err(VaultError::InvalidBase64 { secret, .. }) if secret == "ok"
    ));
    let big = "x".repeat(25 * 1024 + 1);
    assert_eq!(
        s.create_secret(t, secret_spec(&vault, &key, "big", &big))
            .unwrap_err(),
        VaultError::ContentTooLarge {
            secret: "big".into(),
            bytes: 25 * 1024 + 1,
            limit: 25 * 1024
        }
    );
    assert!(matches!(
        s.create_secret(t, secret_spec(&vault, &key, "bad name", "x")),
        Err(VaultError::InvalidName { what: "secret", .. })
    ));
    s.create_secret(t, secret_spec(&vault, &key, "app.db-pass_1", "x"))
        .unwrap();
    assert!(matches!(
        s.create_secret(t, secret_spec(&vault, &key, "app.db-pass_1", "y")),
        Err(VaultError::DuplicateSecretName { .. })
    ));
    assert_eq!(
        s.create_secret(t, secret_spec(&vault, "ocid1.key.nope", "k", "x"))
            .unwrap_err(),
        VaultError::KeyNotFound("ocid1.key.nope".into())
    );
    // A key from another vault.
    let other = s.create_vault(
        t,
        VaultSpec {
            compartment_id: "c".into(),
            display_name: "other".into(),
            vault_type: VaultType::Default,
            tags: Tags::default(),
        },
    );
    let t2 = t + s.timings.vault_create;
    assert!(matches!(
        s.create_secret(t2, secret_spec(&other, &key, "k", "x")),
        Err(VaultError::KeyInOtherVault { .. })
    ));
    // Duplicate version names within one secret.
    let id = s
        .secret_by_name(t, &vault, "app.db-pass_1")
        .unwrap()
        .id
        .clone();
    let t3 = t + s.timings.secret_create;
    update_with(
        &mut s,
        t3,
        &id,
        named("y", "v-two", NewVersionStage::Current),
    );
    assert!(matches!(
        s.update_secret(t3, &id, SecretUpdate { content: Some(named("z", "v-two", NewVersionStage::Current)), ..Default::default() }),
        Err(VaultError::DuplicateVersionName { name, .. }) if name == "v-two"
    ));
}

#[test]
fn stage_names_parse_case_insensitively() {
    assert_eq!(Stage::parse("current"), Some(Current));
    assert_eq!(Stage::parse("Deprecated"), Some(Deprecated));
    assert_eq!(Stage::parse("OLD"), None);
}

// ---- proptest: stage invariants over random operation sequences -------------

#[derive(Clone, Debug)]
enum Op {
    NewCurrent,
    NewPending,
    Promote(u32),
    DeleteVersion(u32),
    CancelVersionDeletion(u32),
    Advance(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => Just(Op::NewCurrent),
        2 => Just(Op::NewPending),
        2 => (1u32..12).prop_map(Op::Promote),
        2 => (1u32..12).prop_map(Op::DeleteVersion),
        1 => (1u32..12).prop_map(Op::CancelVersionDeletion),
        1 => (1u64..3).prop_map(Op::Advance),
    ]
}

fn apply(s: &mut VaultService, t: &mut SimTime, id: &str, op: &Op) {
    let day = 86_400_000;
    // Errors are allowed (bad version, not deprecated, limits); state must stay sound.
    let _ = match op {
        Op::NewCurrent => s
            .update_secret(
                *t,
                id,
                SecretUpdate {
                    content: Some(content("c")),
                    ..Default::default()
                },
            )
            .map(|_| ()),
        Op::NewPending => s
            .update_secret(
                *t,
                id,
                SecretUpdate {
                    content: Some(NewContent {
                        content: b64("p"),
                        name: None,
                        stage: NewVersionStage::Pending,
                    }),
                    ..Default::default()
                },
            )
            .map(|_| ()),
        Op::Promote(n) => promote(s, *t, id, *n),
        Op::DeleteVersion(n) => s
            .schedule_version_deletion(*t, id, *n, Some(SimTime(t.0 + day)))
            .map(|_| ()),
        Op::CancelVersionDeletion(n) => s.cancel_version_deletion(*t, id, *n).map(|_| ()),
        Op::Advance(days) => {
            *t = SimTime(t.0 + days * day);
            Ok(())
        }
    };
}

fn check_stage_invariants(s: &VaultService, t: SimTime, id: &str) {
    let secret = s.secret(id).unwrap();
    let live: Vec<u32> = secret.live_versions(t).map(|v| v.number).collect();
    let with = |stage: Stage| -> Vec<u32> {
        live.iter()
            .copied()
            .filter(|n| secret.stages(*n).contains(&stage))
            .collect()
    };
    // Exactly one CURRENT, at most one PENDING and PREVIOUS, one LATEST = newest.
    assert_eq!(with(Current).len(), 1, "{:?}", stages_of(s, id));
    assert!(with(Pending).len() <= 1);
    assert!(with(Previous).len() <= 1);
    assert_eq!(with(Latest), vec![*live.iter().max().unwrap()]);
    // Numbers are 1..=n without gaps (deleted versions keep their numbers).
    let all: Vec<u32> = secret.versions.keys().copied().collect();
    assert_eq!(all, (1..=all.len() as u32).collect::<Vec<_>>());
    for n in &live {
        let st = secret.stages(*n);
        let deprecated = st.contains(&Deprecated);
        let named = st.contains(&Current) || st.contains(&Pending) || st.contains(&Previous);
        assert_ne!(deprecated, named, "version {n}: {st:?}");
        assert!(!(st.contains(&Current) && st.contains(&Pending)));
        assert!(!(st.contains(&Current) && st.contains(&Previous)));
        // Only versions marked just DEPRECATED are ever scheduled for deletion.
        if secret.versions[n].time_of_deletion.is_some() {
            assert_eq!(st, vec![Deprecated]);
        }
    }
    // CURRENT is always readable.
    let bundle = s.bundle(t, id, &VersionSelector::default());
    assert!(bundle.is_ok_and(|b| b.stages.contains(&Current)));
}

proptest! {
    #[test]
    fn stages_stay_sound_under_any_operation_sequence(ops in proptest::collection::vec(op(), 0..60)) {
        let (mut s, _, id, mut t) = with_secret();
        for op in &ops {
            apply(&mut s, &mut t, &id, op);
            check_stage_invariants(&s, t, &id);
        }
    }

    #[test]
    fn lifecycle_reads_the_last_step_at_or_before(times in proptest::collection::vec(0u64..1000, 1..10), probe in 0u64..1200) {
        let mut sorted = times.clone();
        sorted.sort();
        let steps: Vec<(SimTime, u64)> = sorted.iter().enumerate().map(|(i, t)| (SimTime(*t), i as u64 + 1)).collect();
        let l = Lifecycle::new(SimTime(0), 0u64, &steps);
        let expected = steps.iter().filter(|(t, _)| t.0 <= probe).map(|(_, s)| *s).next_back().unwrap_or(0);
        prop_assert_eq!(l.at(SimTime(probe)), expected);
    }
}

#[test]
fn a_disabled_key_or_a_vault_being_deleted_makes_content_unreadable() {
    let (mut s, vault, id, t) = with_secret();
    let key = s.secret(&id).unwrap().key_id.clone();
    s.disable_key(t, &key).unwrap();
    assert_eq!(
        read(&s, t, &id, VersionSelector::default()).unwrap_err(),
        VaultError::KeyUnusable {
            secret: "db-password".into(),
            key: key.clone(),
            state: "DISABLING"
        }
    );
    let t = t + s.timings.key_change;
    s.enable_key(t, &key).unwrap();
    let t = t + s.timings.key_change;
    assert_eq!(read(&s, t, &id, VersionSelector::default()).unwrap(), "v1");
    s.schedule_vault_deletion(t, &vault, None).unwrap();
    assert_eq!(
        read(&s, t, &id, VersionSelector::default()).unwrap_err(),
        VaultError::VaultNotActive {
            vault: vault.clone(),
            state: "SCHEDULING_DELETION"
        }
    );
    s.cancel_vault_deletion(t, &vault).unwrap();
    let t = t + s.timings.deletion_change;
    assert_eq!(read(&s, t, &id, VersionSelector::default()).unwrap(), "v1");
}
