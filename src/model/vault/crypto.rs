//! KMS crypto on the Vault model's master encryption keys: Encrypt, Decrypt
//! and GenerateDataEncryptionKey (oci-api.md §5.4, KmsCryptoClient).
//!
//! The cipher is real: AES-256-GCM from `aws-lc-rs`, so a ciphertext decrypts only
//! with the key version that made it, with the same associated data, and
//! untampered. Key material never comes from the OS: each key version's 32
//! bytes are HKDF-SHA-256 of a secret drawn once from the seeded `kms-crypto`
//! stream, with the key version's OCID as the info, so a key's material is
//! the same for the same seed whatever order keys are used in. Each
//! encryption's 96-bit nonce is the next draw of the same stream, so a run's
//! ciphertexts repeat byte for byte under the same seed and requests.
//!
//! The ciphertext layout is the twin's own (OCI's is undocumented): a format
//! byte, the key version OCID (length-prefixed), the nonce, then the sealed
//! bytes with their 16-byte tag. The twin keeps 256-bit material for every
//! AES key whatever its `keyShape.length` (an assumption in the README).

use std::collections::BTreeMap;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hkdf::{HKDF_SHA256, KeyType, Salt};
use thiserror::Error;

use super::{KeyAlgorithm, VaultError, VaultService};
use crate::kernel::{RandomStream, SimTime};

/// Largest plaintext Encrypt takes, in bytes (OCI: 4 KiB).
pub const MAX_PLAINTEXT_BYTES: usize = 4096;

/// Data encryption key lengths GenerateDataEncryptionKey offers, in bytes.
pub const DATA_KEY_LENGTHS: [u32; 3] = [16, 24, 32];

/// The one ciphertext format this module writes.
const FORMAT: u8 = 1;

/// Errors of the crypto operations; each names the key.
#[derive(Debug, Error, PartialEq, Eq, Clone)]
pub enum CryptoError {
    /// The key, its vault or its state refuse the operation.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// Only AES keys encrypt data in the twin (RSA and ECDSA keys sign or
    /// wrap, and the twin models AES_256_GCM only).
    #[error("key {key} is an {algorithm} key: the twin encrypts with AES keys only (AES_256_GCM)")]
    NotSymmetric {
        /// Key OCID.
        key: String,
        /// Its algorithm.
        algorithm: &'static str,
    },
    /// A key version that is not one of the key's.
    #[error("key version {version} is not a version of key {key}")]
    UnknownVersion {
        /// Key OCID.
        key: String,
        /// The version asked for.
        version: String,
    },
    /// Plaintext over [`MAX_PLAINTEXT_BYTES`].
    #[error("plaintext is {bytes} bytes, over the limit of {MAX_PLAINTEXT_BYTES} bytes")]
    PlaintextTooLarge {
        /// Its size.
        bytes: usize,
    },
    /// A data key length not in [`DATA_KEY_LENGTHS`].
    #[error("a data encryption key is 16, 24 or 32 bytes long, not {0}")]
    DataKeyLength(u32),
    /// The ciphertext was made with another key, altered, or bound to other
    /// associated data.
    #[error(
        "the ciphertext cannot be decrypted with key {key}: it was encrypted with another key, altered, or with other associated data"
    )]
    CannotDecrypt {
        /// Key OCID.
        key: String,
    },
}

/// A ciphertext and the key version that made it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sealed {
    /// The ciphertext (format byte, version, nonce, sealed bytes and tag).
    pub ciphertext: Vec<u8>,
    /// OCID of the key version used.
    pub key_version_id: String,
}

/// A decrypted plaintext and the key version that opened it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opened {
    /// The plaintext.
    pub plaintext: Vec<u8>,
    /// OCID of the key version used.
    pub key_version_id: String,
}

/// The seeded source of key material and nonces.
#[derive(Clone, Debug)]
pub struct KeyMaterial {
    secret: [u8; 32],
    nonces: RandomStream,
}

impl KeyMaterial {
    /// Material from `stream` (fork one of its own, e.g. `kms-crypto`).
    pub fn new(mut stream: RandomStream) -> Self {
        let mut secret = [0u8; 32];
        for chunk in secret.chunks_exact_mut(8) {
            chunk.copy_from_slice(&stream.next_u64().to_le_bytes());
        }
        KeyMaterial {
            secret,
            nonces: stream,
        }
    }

    /// The AES-256 key of one key version.
    fn key(&self, version_id: &str) -> LessSafeKey {
        struct Len32;
        impl KeyType for Len32 {
            fn len(&self) -> usize {
                32
            }
        }
        let mut bytes = [0u8; 32];
        Salt::new(HKDF_SHA256, b"ocisim kms key material")
            .extract(&self.secret)
            .expand(&[version_id.as_bytes()], Len32)
            .and_then(|okm| okm.fill(&mut bytes))
            .expect("32 bytes is a valid HKDF-SHA-256 output length");
        LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &bytes).expect("32 bytes is an AES-256 key"))
    }

    fn next_nonce(&mut self) -> [u8; NONCE_LEN] {
        let mut n = [0u8; NONCE_LEN];
        n[..8].copy_from_slice(&self.nonces.next_u64().to_le_bytes());
        n[8..].copy_from_slice(&self.nonces.next_u64().to_le_bytes()[..4]);
        n
    }

    /// `len` bytes of the seeded stream (a data encryption key).
    fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 8);
        while out.len() < len {
            out.extend_from_slice(&self.nonces.next_u64().to_le_bytes());
        }
        out.truncate(len);
        out
    }
}

/// The bytes authenticated with a ciphertext: the key OCID, then each
/// associated-data pair, length-prefixed, in key order.
pub fn associated_bytes(key_id: &str, data: &BTreeMap<String, String>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut put = |s: &str| {
        out.extend_from_slice(&(s.len() as u32).to_be_bytes());
        out.extend_from_slice(s.as_bytes());
    };
    put(key_id);
    for (k, v) in data {
        put(k);
        put(v);
    }
    out
}

/// CRC-32 (IEEE 802.3) of `bytes`, as DecryptedData's `plaintextChecksum`.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for b in bytes {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xedb8_8320 & mask);
        }
    }
    !crc
}

/// Splits a ciphertext into (version OCID, nonce, sealed bytes).
fn parse(ciphertext: &[u8]) -> Option<(&str, [u8; NONCE_LEN], &[u8])> {
    let (&format, rest) = ciphertext.split_first()?;
    let (&len, rest) = rest.split_first()?;
    if format != FORMAT || rest.len() < usize::from(len) + NONCE_LEN {
        return None;
    }
    let (version, rest) = rest.split_at(usize::from(len));
    let (nonce, sealed) = rest.split_at(NONCE_LEN);
    let version = std::str::from_utf8(version).ok()?;
    Some((version, nonce.try_into().ok()?, sealed))
}

impl VaultService {
    /// The AES key `key_id` of `vault_id`, ENABLED, in a reachable vault.
    fn crypto_key(&self, now: SimTime, vault_id: &str, key_id: &str) -> Result<(), CryptoError> {
        self.reachable_vault(vault_id)?;
        self.check_key_for(now, key_id, vault_id)?;
        let key = self.key(key_id)?;
        if key.shape.algorithm != KeyAlgorithm::Aes {
            return Err(CryptoError::NotSymmetric {
                key: key_id.to_string(),
                algorithm: key.shape.algorithm.as_str(),
            });
        }
        Ok(())
    }

    /// Encrypts `plaintext` with the key's current version (or `version`),
    /// binding `aad` (see [`associated_bytes`]).
    pub fn encrypt(
        &mut self,
        now: SimTime,
        vault_id: &str,
        key_id: &str,
        version: Option<&str>,
        plaintext: &[u8],
        aad: &[u8],
    ) -> Result<Sealed, CryptoError> {
        if plaintext.len() > MAX_PLAINTEXT_BYTES {
            return Err(CryptoError::PlaintextTooLarge {
                bytes: plaintext.len(),
            });
        }
        self.crypto_key(now, vault_id, key_id)?;
        let key = self.key(key_id)?;
        let version_id = match version {
            None => key.current_version().id.clone(),
            Some(v) if key.versions.iter().any(|x| x.id == v) => v.to_string(),
            Some(v) => {
                return Err(CryptoError::UnknownVersion {
                    key: key_id.to_string(),
                    version: v.to_string(),
                });
            }
        };
        let nonce = self.material.next_nonce();
        let mut sealed = plaintext.to_vec();
        self.material
            .key(&version_id)
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut sealed,
            )
            .expect("AES-GCM seals any plaintext under 4 KiB");
        let len = u8::try_from(version_id.len()).expect("an OCID is shorter than 256 bytes");
        let mut ciphertext = vec![FORMAT, len];
        ciphertext.extend_from_slice(version_id.as_bytes());
        ciphertext.extend_from_slice(&nonce);
        ciphertext.extend_from_slice(&sealed);
        Ok(Sealed {
            ciphertext,
            key_version_id: version_id,
        })
    }

    /// Decrypts a ciphertext [`VaultService::encrypt`] made with `key_id`
    /// and the same `aad`; anything else is [`CryptoError::CannotDecrypt`].
    pub fn decrypt(
        &self,
        now: SimTime,
        vault_id: &str,
        key_id: &str,
        ciphertext: &[u8],
        aad: &[u8],
    ) -> Result<Opened, CryptoError> {
        self.crypto_key(now, vault_id, key_id)?;
        let refuse = || CryptoError::CannotDecrypt {
            key: key_id.to_string(),
        };
        let (version_id, nonce, sealed) = parse(ciphertext).ok_or_else(refuse)?;
        let key = self.key(key_id)?;
        if !key.versions.iter().any(|v| v.id == version_id) {
            return Err(refuse());
        }
        let mut buf = sealed.to_vec();
        let plaintext = self
            .material
            .key(version_id)
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut buf,
            )
            .map_err(|_| refuse())?
            .to_vec();
        Ok(Opened {
            plaintext,
            key_version_id: version_id.to_string(),
        })
    }

    /// A fresh data encryption key of `length` bytes from the seeded stream,
    /// and its ciphertext under the key's current version.
    pub fn generate_data_key(
        &mut self,
        now: SimTime,
        vault_id: &str,
        key_id: &str,
        length: u32,
        aad: &[u8],
    ) -> Result<(Vec<u8>, Sealed), CryptoError> {
        if !DATA_KEY_LENGTHS.contains(&length) {
            return Err(CryptoError::DataKeyLength(length));
        }
        self.crypto_key(now, vault_id, key_id)?;
        let dek = self.material.bytes(length as usize);
        let sealed = self.encrypt(now, vault_id, key_id, None, &dek, aad)?;
        Ok((dek, sealed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::SeedTree;
    use crate::model::ocid::OcidMint;
    use crate::model::vault::{KeyShape, KeySpec, VaultLimits, VaultSpec, VaultTimings, VaultType};

    fn service(seed: u64) -> VaultService {
        let s = SeedTree::new(seed);
        VaultService::new(
            VaultLimits::default(),
            VaultTimings::default(),
            OcidMint::new("oc1", "iad", s.fork("vault-ocid")),
            s.fork("kms-crypto"),
        )
    }

    /// A vault with two ENABLED AES keys, and `now` after they are enabled.
    fn two_keys(v: &mut VaultService) -> (String, String, String, SimTime) {
        let t0 = SimTime(0);
        let vault = v.create_vault(
            t0,
            VaultSpec {
                compartment_id: "c".into(),
                display_name: "v".into(),
                vault_type: VaultType::Default,
                tags: Default::default(),
            },
        );
        let now = SimTime(3_600_000);
        let key = |v: &mut VaultService, name: &str| {
            v.create_key(
                now,
                KeySpec {
                    compartment_id: "c".into(),
                    vault_id: vault.clone(),
                    display_name: name.into(),
                    shape: KeyShape {
                        algorithm: KeyAlgorithm::Aes,
                        length: 32,
                        curve_id: None,
                    },
                    protection_mode: "HSM".into(),
                    tags: Default::default(),
                },
            )
            .unwrap()
        };
        let a = key(v, "a");
        let b = key(v, "b");
        (vault, a, b, SimTime(7_200_000))
    }

    #[test]
    fn round_trip_and_refusals() {
        let mut v = service(1);
        let (vault, a, b, now) = two_keys(&mut v);
        let aad = associated_bytes(&a, &BTreeMap::new());
        let s = v.encrypt(now, &vault, &a, None, b"hello", &aad).unwrap();
        assert!(!s.ciphertext.windows(5).any(|w| w == b"hello"));
        let o = v.decrypt(now, &vault, &a, &s.ciphertext, &aad).unwrap();
        assert_eq!(o.plaintext, b"hello");
        assert_eq!(o.key_version_id, s.key_version_id);
        // Another key, other associated data, a flipped bit: all refused.
        let other = associated_bytes(&b, &BTreeMap::new());
        assert!(matches!(
            v.decrypt(now, &vault, &b, &s.ciphertext, &other),
            Err(CryptoError::CannotDecrypt { .. })
        ));
        let ctx = BTreeMap::from([("app".to_string(), "x".to_string())]);
        assert!(
            v.decrypt(now, &vault, &a, &s.ciphertext, &associated_bytes(&a, &ctx))
                .is_err()
        );
        for i in 0..s.ciphertext.len() {
            let mut bad = s.ciphertext.clone();
            bad[i] ^= 0x01;
            assert!(v.decrypt(now, &vault, &a, &bad, &aad).is_err(), "byte {i}");
        }
        assert!(v.decrypt(now, &vault, &a, b"", &aad).is_err());
        // A rotated key still opens what its old version sealed.
        v.rotate_key(now, &a).unwrap();
        let o = v.decrypt(now, &vault, &a, &s.ciphertext, &aad).unwrap();
        assert_eq!(o.plaintext, b"hello");
        let s2 = v.encrypt(now, &vault, &a, None, b"hello", &aad).unwrap();
        assert_ne!(s2.key_version_id, s.key_version_id);
        // A disabled key refuses both ways.
        v.disable_key(now, &a).unwrap();
        let later = SimTime(now.as_ms() + 3_600_000);
        assert!(matches!(
            v.encrypt(later, &vault, &a, None, b"x", &aad),
            Err(CryptoError::Vault(VaultError::KeyNotEnabled { .. }))
        ));
        assert!(v.decrypt(later, &vault, &a, &s.ciphertext, &aad).is_err());
        assert!(matches!(
            v.encrypt(later, &vault, &b, None, &[0; 4097], &other),
            Err(CryptoError::PlaintextTooLarge { bytes: 4097 })
        ));
    }

    #[test]
    fn same_seed_same_ciphertext_and_data_keys() {
        let run = |seed| {
            let mut v = service(seed);
            let (vault, a, _, now) = two_keys(&mut v);
            let s = v.encrypt(now, &vault, &a, None, b"p", b"").unwrap();
            let (dek, wrapped) = v.generate_data_key(now, &vault, &a, 32, b"").unwrap();
            assert_eq!(dek.len(), 32);
            let opened = v
                .decrypt(now, &vault, &a, &wrapped.ciphertext, b"")
                .unwrap();
            assert_eq!(opened.plaintext, dek);
            assert!(v.generate_data_key(now, &vault, &a, 20, b"").is_err());
            (s.ciphertext, dek)
        };
        assert_eq!(run(5), run(5));
        assert_ne!(run(5), run(6));
    }

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(crc32(b""), 0);
    }
}
