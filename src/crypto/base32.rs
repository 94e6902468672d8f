//! Crockford base32: the text form of random secrets (license keys, bearer
//! tokens). 32 symbols without I, L, O and U, so no two look alike.

/// The 32 symbols in value order, upper case.
pub const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Crockford base32 of `bytes` (upper case, no padding).
pub fn crockford_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 8 / 5 + 1);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crockford_encoding_matches_a_known_vector() {
        assert_eq!(crockford_encode(&[0xff, 0xff]), "ZZZG");
        assert_eq!(crockford_encode(&[0, 0, 0, 0, 0]), "00000000");
    }
}
