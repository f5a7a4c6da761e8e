//! API keys: made from random bytes, shown once, stored and looked up only by their SHA-256 hash.
//!
//! The one place keys are formatted and hashed: `rates-cli keys create` makes them, the HTTP
//! API hashes what a client presents and looks the hash up. No I/O here: the caller draws the
//! random bytes.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::{Digest, Sha256};

/// Random bytes in a key: 256 bits.
pub const API_KEY_BYTES: usize = 32;

/// What every key starts with, so a leaked key is recognisable (e.g. by secret scanners).
pub const API_KEY_PREFIX: &str = "rk_";

/// A newly made API key. `Debug` is redacted and there is no `Display`: the one way to read it
/// is [`ApiKey::expose_secret`], to show it to the operator once.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// The key for these random bytes: [`API_KEY_PREFIX`] then the bytes in URL-safe base64
    /// without padding (46 characters in all).
    pub fn from_random_bytes(bytes: [u8; API_KEY_BYTES]) -> ApiKey {
        ApiKey(format!("{API_KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// The key itself.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// The hash to store.
    pub fn hash(&self) -> ApiKeyHash {
        hash_api_key(&self.0)
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// The SHA-256 of a key, as 64 lower-case hex digits: what is stored and looked up.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct ApiKeyHash(String);

impl ApiKeyHash {
    /// The hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ApiKeyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The hash of a key as presented by a client, byte for byte (nothing trimmed or case-folded).
pub fn hash_api_key(presented: &str) -> ApiKeyHash {
    let digest = Sha256::digest(presented.as_bytes());
    let hex = digest
        .iter()
        .fold(String::with_capacity(64), |mut hex, byte| {
            use std::fmt::Write as _;
            // Writing to a String cannot fail.
            let _ = write!(hex, "{byte:02x}");
            hex
        });
    ApiKeyHash(hex)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_prefixed_url_safe_and_carry_all_the_bytes() {
        let key = ApiKey::from_random_bytes([0xfb; API_KEY_BYTES]);
        let text = key.expose_secret();
        assert_eq!(text.len(), API_KEY_PREFIX.len() + 43);
        assert!(text.starts_with(API_KEY_PREFIX));
        assert!(text[3..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        let other = ApiKey::from_random_bytes([0xfa; API_KEY_BYTES]);
        assert_ne!(key, other);
        assert_ne!(key.hash(), other.hash());
    }

    #[test]
    fn the_hash_is_sha256_in_hex() {
        // SHA-256("abc"), FIPS 180-2 test vector.
        assert_eq!(
            hash_api_key("abc").as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let key = ApiKey::from_random_bytes([7; API_KEY_BYTES]);
        assert_eq!(key.hash(), hash_api_key(key.expose_secret()));
        assert_ne!(hash_api_key(" abc"), hash_api_key("abc"));
    }

    #[test]
    fn debug_never_shows_the_key() {
        let key = ApiKey::from_random_bytes([1; API_KEY_BYTES]);
        assert_eq!(format!("{key:?}"), "ApiKey(<redacted>)");
    }
}
