//! Signature verification, against keys made by openssl (tests/data/keys).

use super::*;
use rsa::traits::PublicKeyParts;

const ALICE: &str = include_str!("../../../tests/data/keys/alice.pem");
const ALICE_PUB: &str = include_str!("../../../tests/data/keys/alice.pub.pem");
const ALICE_FP: &str = include_str!("../../../tests/data/keys/alice.fingerprint");
const BOB: &str = include_str!("../../../tests/data/keys/bob.pem");
const BOB_FP: &str = include_str!("../../../tests/data/keys/bob.fingerprint");

const DATE: &str = "Fri, 27 Nov 2026 17:54:40 GMT";
/// `DATE` as Unix seconds.
const NOW: i64 = 1_795_802_080;
const TENANCY: &str = "ocid1.tenancy.oc1..aaaaaaaafaketenancy";
const USER: &str = "ocid1.user.oc1..aaaaaaaafakeuser";

fn key_id(fp: &str) -> String {
    format!("{TENANCY}/{USER}/{}", fp.trim())
}

fn store_with_alice() -> KeyStore {
    let mut keys = KeyStore::new();
    keys.add_pem(ALICE_PUB).unwrap();
    keys
}

fn strict() -> Verifier {
    Verifier::new(AuthMode::Strict, store_with_alice())
}

fn signed(signer: &RequestSigner, method: Method, target: &str, body: &[u8]) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("host", "127.0.0.1:12000".parse().unwrap());
    signer.sign(&method, target, &mut h, body, DATE).unwrap();
    h
}

fn alice() -> RequestSigner {
    RequestSigner::new(&key_id(ALICE_FP), ALICE).unwrap()
}

#[test]
fn fingerprint_matches_openssl() {
    let mut keys = KeyStore::new();
    assert_eq!(keys.add_pem(ALICE_PUB).unwrap(), ALICE_FP.trim());
    assert_eq!(keys.add_pem(BOB).unwrap(), BOB_FP.trim());
    assert_eq!(keys.len(), 2);
}

#[test]
fn a_private_key_with_the_cli_label_line_registers_its_public_half() {
    let mut keys = KeyStore::new();
    let labelled = format!("{ALICE}OCI_API_KEY\n");
    assert_eq!(keys.add_pem(&labelled).unwrap(), ALICE_FP.trim());
    assert!(
        keys.add_pem("hello")
            .unwrap_err()
            .contains("not a PEM RSA key")
    );
}

#[test]
fn parses_the_header_the_sdk_sends() {
    let p = parse_authorization(
        "Signature algorithm=\"rsa-sha256\",headers=\"date (request-target) host\",keyId=\"a/b/c\",signature=\"AAEC\",version=\"1\"",
    )
    .unwrap();
    assert_eq!(p.key_id, "a/b/c");
    assert_eq!(p.headers, ["date", "(request-target)", "host"]);
    assert_eq!(p.signature, [0, 1, 2]);
    assert!(matches!(
        parse_authorization("Bearer x"),
        Err(AuthError::Malformed(_))
    ));
    assert!(matches!(
        parse_authorization("Signature keyId=\"a\""),
        Err(AuthError::Malformed(m)) if m.contains("algorithm")
    ));
}

#[test]
fn the_signing_string_is_the_documented_one() {
    let mut h = HeaderMap::new();
    h.insert("date", DATE.parse().unwrap());
    h.insert("host", "127.0.0.1:18765".parse().unwrap());
    let s = signing_string(
        &Method::GET,
        "/20160918/vcns?compartmentId=ocid1.compartment.oc1..aaaa",
        &h,
        &["date".into(), "(request-target)".into(), "host".into()],
    )
    .unwrap();
    assert_eq!(
        s,
        "date: Fri, 27 Nov 2026 17:54:40 GMT\n(request-target): get /20160918/vcns?compartmentId=ocid1.compartment.oc1..aaaa\nhost: 127.0.0.1:18765"
    );
}

#[test]
fn a_signed_get_and_post_verify_in_strict_mode() {
    let target = "/20160918/vcns?compartmentId=ocid1.compartment.oc1..aaaa";
    let h = signed(&alice(), Method::GET, target, b"");
    let p = strict().verify(&Method::GET, target, &h, b"", NOW).unwrap();
    assert_eq!(
        p,
        Principal::User {
            tenancy: TENANCY.into(),
            user: USER.into(),
            fingerprint: ALICE_FP.trim().into()
        }
    );
    let body = br#"{"cidrBlocks": ["10.0.0.0/16"]}"#;
    let h = signed(&alice(), Method::POST, "/20160918/vcns", body);
    assert!(
        strict()
            .verify(&Method::POST, "/20160918/vcns", &h, body, NOW)
            .is_ok()
    );
}

#[test]
fn a_tampered_body_is_refused() {
    let body = br#"{"cidrBlocks": ["10.0.0.0/16"]}"#;
    let tampered = br#"{"cidrBlocks": ["10.9.0.0/16"]}"#;
    let h = signed(&alice(), Method::POST, "/20160918/vcns", body);
    assert_eq!(
        strict().verify(&Method::POST, "/20160918/vcns", &h, tampered, NOW),
        Err(AuthError::BodyDigestMismatch)
    );
    // Recomputing the digest header does not help: it is signed.
    let mut h2 = h.clone();
    h2.insert(
        "x-content-sha256",
        STANDARD.encode(Sha256::digest(tampered)).parse().unwrap(),
    );
    assert!(matches!(
        strict().verify(&Method::POST, "/20160918/vcns", &h2, tampered, NOW),
        Err(AuthError::BadSignature(_))
    ));
    let longer = br#"{"cidrBlocks": ["10.0.0.0/16"]} "#;
    assert!(matches!(
        strict().verify(&Method::POST, "/20160918/vcns", &h, longer, NOW),
        Err(AuthError::ContentLengthMismatch { actual, .. }) if actual == longer.len()
    ));
}

#[test]
fn the_target_is_checked_as_received() {
    let h = signed(&alice(), Method::GET, "/20160918/vcns?displayName=a+b", b"");
    assert!(matches!(
        strict().verify(
            &Method::GET,
            "/20160918/vcns?displayName=a%20b",
            &h,
            b"",
            NOW
        ),
        Err(AuthError::BadSignature(_))
    ));
    assert!(matches!(
        strict().verify(
            &Method::DELETE,
            "/20160918/vcns?displayName=a+b",
            &h,
            b"",
            NOW
        ),
        Err(AuthError::BadSignature(_))
    ));
}

#[test]
fn unknown_and_mismatched_keys_are_refused() {
    // Bob is not registered.
    let bob = RequestSigner::new(&key_id(BOB_FP), BOB).unwrap();
    let h = signed(&bob, Method::GET, "/20160918/regions", b"");
    assert_eq!(
        strict().verify(&Method::GET, "/20160918/regions", &h, b"", NOW),
        Err(AuthError::UnknownKey(BOB_FP.trim().into()))
    );
    // Bob's key claiming to be Alice's.
    let impostor = RequestSigner::new(&key_id(ALICE_FP), BOB).unwrap();
    let h = signed(&impostor, Method::GET, "/20160918/regions", b"");
    assert!(matches!(
        strict().verify(&Method::GET, "/20160918/regions", &h, b"", NOW),
        Err(AuthError::BadSignature(_))
    ));
}

#[test]
fn the_clock_may_be_five_minutes_off_and_no_more() {
    let h = signed(&alice(), Method::GET, "/20160918/regions", b"");
    let v = strict();
    assert!(
        v.verify(&Method::GET, "/20160918/regions", &h, b"", NOW + 300)
            .is_ok()
    );
    assert!(
        v.verify(&Method::GET, "/20160918/regions", &h, b"", NOW - 300)
            .is_ok()
    );
    assert_eq!(
        v.verify(&Method::GET, "/20160918/regions", &h, b"", NOW + 301),
        Err(AuthError::ClockSkew { skew_secs: 301 })
    );
    let mut bad = h.clone();
    bad.insert("date", "yesterday".parse().unwrap());
    assert_eq!(
        v.verify(&Method::GET, "/20160918/regions", &bad, b"", NOW),
        Err(AuthError::BadDate("yesterday".into()))
    );
}

#[test]
fn a_post_must_sign_its_body_headers() {
    // A GET-style header set on a POST.
    let h = signed(&alice(), Method::GET, "/20160918/vcns", b"");
    assert_eq!(
        strict().verify(&Method::POST, "/20160918/vcns", &h, b"", NOW),
        Err(AuthError::HeaderNotSigned("content-length".into()))
    );
}

#[test]
fn permissive_mode_accepts_any_well_formed_signature_and_unsigned_requests() {
    let v = Verifier::new(AuthMode::Permissive, KeyStore::new());
    let bob = RequestSigner::new(&key_id(BOB_FP), BOB).unwrap();
    let h = signed(&bob, Method::GET, "/20160918/regions", b"");
    assert!(matches!(
        v.verify(&Method::GET, "/20160918/regions", &h, b"", 0),
        Ok(Principal::User { .. })
    ));
    assert_eq!(
        v.verify(&Method::GET, "/20160918/regions", &HeaderMap::new(), b"", 0),
        Ok(Principal::Anonymous)
    );
    assert_eq!(
        strict().verify(
            &Method::GET,
            "/20160918/regions",
            &HeaderMap::new(),
            b"",
            NOW
        ),
        Err(AuthError::MissingAuthorization)
    );
    let mut bad = HeaderMap::new();
    bad.insert("authorization", "Signature nonsense".parse().unwrap());
    assert!(matches!(
        v.verify(&Method::GET, "/20160918/regions", &bad, b"", 0),
        Err(AuthError::Malformed(_))
    ));
}

/// A twin session token for a workload, issued (signed) with `issuer_pem`
/// whose fingerprint is `issuer_fp`, holding `session`'s public key.
fn token(issuer_pem: &str, issuer_fp: &str, session: &RsaPublicKey) -> String {
    use rsa::signature::{SignatureEncoding, Signer};
    let header = serde_json::json!({"alg": "RS256", "kid": issuer_fp.trim()});
    let claims = serde_json::json!({
        "tenant": TENANCY,
        "cluster_id": "ocid1.cluster.oc1.iad.aaaa",
        "namespace": "shop",
        "service_account": "app",
        "jwk": {
            "kty": "RSA",
            "n": URL_SAFE_NO_PAD.encode(session.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(session.e().to_bytes_be()),
        },
    });
    let signed = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let key = rsa::pkcs1v15::SigningKey::<Sha256>::new(
        RsaPrivateKey::from_pkcs8_pem(issuer_pem).unwrap(),
    );
    let sig = key.sign(signed.as_bytes()).to_bytes();
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(sig))
}

fn public(pem: &str) -> RsaPublicKey {
    RsaPrivateKey::from_pkcs8_pem(pem).unwrap().to_public_key()
}

#[test]
fn a_workload_session_token_yields_the_workload_principal() {
    // Alice's key (registered) issues the token; Bob's key is the session key.
    let st = token(ALICE, ALICE_FP, &public(BOB));
    let signer = RequestSigner::new(&format!("ST${st}"), BOB).unwrap();
    let target = "/20190301/secretbundles/ocid1.vaultsecret.oc1.iad.x";
    let h = signed(&signer, Method::GET, target, b"");
    let p = strict().verify(&Method::GET, target, &h, b"", NOW).unwrap();
    assert_eq!(
        p,
        Principal::Workload {
            tenancy: TENANCY.into(),
            cluster_id: "ocid1.cluster.oc1.iad.aaaa".into(),
            namespace: "shop".into(),
            service_account: "app".into(),
        }
    );
    // Signed with the wrong session key.
    let wrong = RequestSigner::new(&format!("ST${st}"), ALICE).unwrap();
    let h = signed(&wrong, Method::GET, target, b"");
    assert!(matches!(
        strict().verify(&Method::GET, target, &h, b"", NOW),
        Err(AuthError::BadSignature(m)) if m.contains("shop/app")
    ));
    // A token issued by an unregistered key.
    let forged = token(BOB, BOB_FP, &public(BOB));
    let signer = RequestSigner::new(&format!("ST${forged}"), BOB).unwrap();
    let h = signed(&signer, Method::GET, target, b"");
    assert!(matches!(
        strict().verify(&Method::GET, target, &h, b"", NOW),
        Err(AuthError::BadToken(m)) if m.contains("not registered")
    ));
}

#[test]
fn a_remembered_signature_never_vouches_for_another_request() {
    let v = strict();
    let target = "/20160918/vcns/ocid1.vcn.oc1.iad.a";
    let h = signed(&alice(), Method::GET, target, b"");
    // Verified twice: the second time from the cache.
    assert!(v.verify(&Method::GET, target, &h, b"", NOW).is_ok());
    assert!(v.verify(&Method::GET, target, &h, b"", NOW).is_ok());
    // The same signature on another target, or too late, is still refused.
    assert!(matches!(
        v.verify(
            &Method::GET,
            "/20160918/vcns/ocid1.vcn.oc1.iad.b",
            &h,
            b"",
            NOW
        ),
        Err(AuthError::BadSignature(_))
    ));
    assert!(matches!(
        v.verify(&Method::GET, target, &h, b"", NOW + 400),
        Err(AuthError::ClockSkew { .. })
    ));
}
