//! Randomness and digests: every secret the server makes comes from the OS
//! CSPRNG; [`base32`] spells random bytes as text.

use sha2::{Digest, Sha256};

pub mod base32;

/// `N` bytes from the operating system's CSPRNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).expect("the operating system's random source failed");
    buf
}

/// A uniformly random index below `bound` (rejection sampling, no modulo bias).
pub fn random_below(bound: u8) -> u8 {
    assert!(bound > 0);
    // Accept only bytes below the largest multiple of `bound` that fits in 256.
    let zone = 256 - (256 % u16::from(bound));
    loop {
        let [b] = random_bytes::<1>();
        if u16::from(b) < zone {
            return b % bound;
        }
    }
}

/// An opaque bearer secret: `prefix` + 32 random bytes (256 bits) as 52
/// lower-case Crockford base32 characters.
pub fn random_token(prefix: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + 52);
    out.push_str(prefix);
    out.push_str(&base32::crockford_encode(&random_bytes::<32>()).to_ascii_lowercase());
    out
}

/// Lower-case hex SHA-256 of `data`: how tokens and keys are stored and looked up.
pub fn sha256_hex(data: impl AsRef<[u8]>) -> String {
    hex::encode(Sha256::digest(data.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_below_stays_in_range_and_covers_it() {
        let mut seen = [false; 55];
        for _ in 0..5000 {
            let v = random_below(55) as usize;
            assert!(v < 55);
            seen[v] = true;
        }
        assert!(seen.iter().all(|s| *s));
    }

    #[test]
    fn tokens_carry_their_prefix_and_256_bits() {
        let a = random_token("lsk_");
        let b = random_token("lsk_");
        assert!(a.starts_with("lsk_"));
        assert_eq!(a.len(), 4 + 52);
        assert_ne!(a, b);
    }

    #[test]
    fn sha256_hex_is_the_known_digest() {
        assert_eq!(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
