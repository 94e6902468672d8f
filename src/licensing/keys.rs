//! License keys: Crockford base32 (no I, L, O, U), 30 characters = 150 bits
//! from the CSPRNG, shown in six groups of five joined by dashes. Lookup
//! ignores case, dashes and spaces, and reads the look-alikes I/L as 1 and O as 0.

use crate::crypto::base32::{ALPHABET, crockford_encode};
use crate::crypto::random_bytes;

/// Characters in a key, without dashes.
pub const KEY_CHARS: usize = 30;
const GROUP: usize = 5;

/// A new random key in its stored (normalized) form.
pub fn generate() -> String {
    // 19 bytes = 152 bits → 31 characters; the first 30 carry 150 random bits.
    let mut key = crockford_encode(&random_bytes::<19>());
    key.truncate(KEY_CHARS);
    key
}

/// The display form: groups of five joined by dashes.
pub fn display(normalized: &str) -> String {
    let mut out = String::with_capacity(normalized.len() + normalized.len() / GROUP);
    for (i, c) in normalized.chars().enumerate() {
        if i > 0 && i % GROUP == 0 {
            out.push('-');
        }
        out.push(c);
    }
    out
}

/// The stored form of what a person typed, or `None` when it can't be a key.
pub fn normalize(input: &str) -> Option<String> {
    let mut out = String::with_capacity(KEY_CHARS);
    for c in input.chars() {
        let c = match c.to_ascii_uppercase() {
            '-' | ' ' => continue,
            'O' => '0',
            'I' | 'L' => '1',
            c if c.is_ascii() && ALPHABET.contains(&(c as u8)) => c,
            _ => return None,
        };
        if out.len() == KEY_CHARS {
            return None;
        }
        out.push(c);
    }
    (out.len() == KEY_CHARS).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_have_the_contract_format() {
        let key = display(&generate());
        let groups: Vec<&str> = key.split('-').collect();
        assert_eq!(groups.len(), 6);
        assert!(groups.iter().all(|g| g.len() == 5));
        assert!(key.chars().all(|c| c == '-' || ALPHABET.contains(&(c as u8))));
        assert!(!key.contains(['I', 'L', 'O', 'U']));
    }

    #[test]
    fn keys_differ() {
        assert_ne!(generate(), generate());
    }

    #[test]
    fn lookup_ignores_case_dashes_spaces_and_look_alikes() {
        let key = generate();
        let typed = display(&key).to_ascii_lowercase().replace('-', " ");
        assert_eq!(normalize(&typed).as_deref(), Some(key.as_str()));
        let confusable = "O".repeat(15) + &"l".repeat(15);
        assert_eq!(normalize(&confusable).unwrap(), "0".repeat(15) + &"1".repeat(15));
    }

    #[test]
    fn garbage_is_not_a_key() {
        assert_eq!(normalize(""), None);
        assert_eq!(normalize("ABC"), None);
        assert_eq!(normalize(&"U".repeat(30)), None);
        assert_eq!(normalize(&"A".repeat(31)), None);
        assert_eq!(normalize(&("Ä".to_owned() + &"A".repeat(29))), None);
    }
}
