//! KMS crypto (KmsCryptoClient, oci-api.md §5.4 and appendix): Encrypt,
//! Decrypt and GenerateDataEncryptionKey on each vault's `cryptoEndpoint`,
//! `http://<this host>/kms/<vault OCID>/crypto` (see `kms.rs`), so the paths
//! are `/kms/<vault>/crypto/20180608/{encrypt,decrypt,generateDataEncryptionKey}`.
//!
//! Plaintext and ciphertext travel as base64; `loggingContext` is accepted
//! and ignored (the twin keeps no audit log); the cipher, the key checks and
//! the seeded key material are the Vault model's (`model::vault::crypto`).
//! Only `AES_256_GCM` is offered (the twin's AES keys), an assumption in the
//! README.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::post;
use serde::Deserialize;
use serde_json::json;

use super::error::ApiError;
use super::pipeline::Ctx;
use super::state::Shared;
use super::wire::{ApiResult, JsonBody, Reply, Unmodelled};
use crate::model::vault::crypto::{CryptoError, associated_bytes, crc32};
use crate::model::vault::{decode_base64, encode_base64};

/// The crypto routes under each vault's crypto endpoint.
pub fn routes(r: Router<Shared>) -> Router<Shared> {
    const CRYPTO: &str = "/kms/{vault}/crypto/20180608";
    r.route(&format!("{CRYPTO}/encrypt"), post(encrypt))
        .route(&format!("{CRYPTO}/decrypt"), post(decrypt))
        .route(
            &format!("{CRYPTO}/generateDataEncryptionKey"),
            post(generate_data_key),
        )
}

impl From<CryptoError> for ApiError {
    fn from(e: CryptoError) -> ApiError {
        let msg = e.to_string();
        match e {
            CryptoError::Vault(v) => v.into(),
            CryptoError::NotSymmetric { .. } => ApiError::invalid("keyId", msg),
            CryptoError::UnknownVersion { .. } => ApiError::invalid("keyVersionId", msg),
            CryptoError::PlaintextTooLarge { .. } => ApiError::invalid("plaintext", msg),
            CryptoError::DataKeyLength(_) => ApiError::invalid("keyShape.length", msg),
            CryptoError::CannotDecrypt { .. } => ApiError::invalid("ciphertext", msg),
        }
    }
}

/// The one `encryptionAlgorithm` the twin offers.
const AES_256_GCM: &str = "AES_256_GCM";

fn check_algorithm(a: &Option<String>) -> Result<(), ApiError> {
    match a.as_deref() {
        None | Some(AES_256_GCM) => Ok(()),
        Some(x @ ("RSA_OAEP_SHA_1" | "RSA_OAEP_SHA_256")) => Err(ApiError::invalid(
            "encryptionAlgorithm",
            format!("{x} needs an RSA key: the twin encrypts with AES keys only (AES_256_GCM)"),
        )),
        Some(x) => Err(ApiError::invalid(
            "encryptionAlgorithm",
            format!("`{x}` is not one of AES_256_GCM, RSA_OAEP_SHA_1, RSA_OAEP_SHA_256"),
        )),
    }
}

fn base64_field(field: &str, text: &str) -> Result<Vec<u8>, ApiError> {
    decode_base64(text).map_err(|e| ApiError::invalid(field, format!("not valid base64: {e}")))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EncryptDetails {
    key_id: String,
    plaintext: String,
    associated_data: Option<BTreeMap<String, String>>,
    key_version_id: Option<String>,
    encryption_algorithm: Option<String>,
    // Audit logging is not modelled: refused when given.
    _logging_context: Option<Unmodelled>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DecryptDetails {
    key_id: String,
    ciphertext: String,
    associated_data: Option<BTreeMap<String, String>>,
    key_version_id: Option<String>,
    encryption_algorithm: Option<String>,
    // Audit logging is not modelled: refused when given.
    _logging_context: Option<Unmodelled>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DataKeyShape {
    algorithm: String,
    length: u32,
    _curve_id: Option<Unmodelled>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GenerateKeyDetails {
    key_id: String,
    include_plaintext_key: bool,
    key_shape: DataKeyShape,
    associated_data: Option<BTreeMap<String, String>>,
    _logging_context: Option<Unmodelled>,
}

async fn encrypt(
    State(s): State<Shared>,
    ctx: Ctx,
    Path(vault): Path<String>,
    JsonBody(b): JsonBody<EncryptDetails>,
) -> ApiResult {
    check_algorithm(&b.encryption_algorithm)?;
    let plaintext = base64_field("plaintext", &b.plaintext)?;
    let aad = associated_bytes(&b.key_id, &b.associated_data.unwrap_or_default());
    let mut t = s.lock(&ctx);
    let now = t.now;
    let sealed = t.world.vault.encrypt(
        now,
        &vault,
        &b.key_id,
        b.key_version_id.as_deref(),
        &plaintext,
        &aad,
    )?;
    Ok(Reply::json(&json!({
        "ciphertext": encode_base64(&sealed.ciphertext),
        "keyId": b.key_id,
        "keyVersionId": sealed.key_version_id,
        "encryptionAlgorithm": AES_256_GCM,
    })))
}

async fn decrypt(
    State(s): State<Shared>,
    ctx: Ctx,
    Path(vault): Path<String>,
    JsonBody(b): JsonBody<DecryptDetails>,
) -> ApiResult {
    check_algorithm(&b.encryption_algorithm)?;
    let ciphertext = base64_field("ciphertext", &b.ciphertext)?;
    let aad = associated_bytes(&b.key_id, &b.associated_data.unwrap_or_default());
    let t = s.lock(&ctx);
    let opened = t
        .world
        .vault
        .decrypt(t.now, &vault, &b.key_id, &ciphertext, &aad)?;
    if let Some(v) = &b.key_version_id
        && *v != opened.key_version_id
    {
        return Err(ApiError::invalid(
            "keyVersionId",
            format!(
                "the ciphertext was made with key version {}, not {v}",
                opened.key_version_id
            ),
        ));
    }
    Ok(Reply::json(&json!({
        "plaintext": encode_base64(&opened.plaintext),
        "plaintextChecksum": crc32(&opened.plaintext).to_string(),
        "keyId": b.key_id,
        "keyVersionId": opened.key_version_id,
        "encryptionAlgorithm": AES_256_GCM,
    })))
}

async fn generate_data_key(
    State(s): State<Shared>,
    ctx: Ctx,
    Path(vault): Path<String>,
    JsonBody(b): JsonBody<GenerateKeyDetails>,
) -> ApiResult {
    if b.key_shape.algorithm != "AES" {
        return Err(ApiError::invalid(
            "keyShape.algorithm",
            format!(
                "a data encryption key is an AES key, not `{}`",
                b.key_shape.algorithm
            ),
        ));
    }
    let aad = associated_bytes(&b.key_id, &b.associated_data.unwrap_or_default());
    let mut t = s.lock(&ctx);
    let now = t.now;
    let (dek, sealed) =
        t.world
            .vault
            .generate_data_key(now, &vault, &b.key_id, b.key_shape.length, &aad)?;
    let mut v = json!({"ciphertext": encode_base64(&sealed.ciphertext)});
    if b.include_plaintext_key {
        v["plaintext"] = json!(encode_base64(&dek));
        v["plaintextChecksum"] = json!(crc32(&dek).to_string());
    }
    Ok(Reply::json(&v))
}
