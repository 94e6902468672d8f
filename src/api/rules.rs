//! The patterns the API states for its text fields, and the rules that hold
//! requests to them.
//!
//! A pattern here is written once and used twice: in the OpenAPI document
//! (`#[schema(pattern = …)]` next to the field's `#[validate(…)]`, or added by
//! `openapi::finalize` for the rules that apply to every field) and by the
//! server's check. `tests/api/schema_rules.rs` holds every request field's
//! schema to its validation rule; the tests below hold each hand-written rule
//! to its pattern. The patterns use only syntax that ECMA-262 (the spec's
//! dialect), Python's `re` (schemathesis) and Rust's `regex` read alike.

use std::sync::LazyLock;

use regex::Regex;
use validator::ValidationError;

/// Text on one line: the server refuses control characters in every string
/// of a body or query (`extract::refuse_control_characters`).
pub const TEXT: &str = r"^[^\x00-\x1F\x7F-\x9F]*$";

/// Text over several lines (an `address`): tabs and line feeds are allowed.
pub const MULTI_LINE_TEXT: &str = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$";

/// Text with at least one character that is neither a control character nor
/// white space (`str::trim` leaves something).
pub const NOT_BLANK: &str = r"^[^\x00-\x1F\x7F-\x9F]*[^\x00-\x20\x7F-\x9F\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\x00-\x1F\x7F-\x9F]*$";

/// A hardware id: 1–128 printable ASCII characters.
pub const HARDWARE_ID: &str = r"^[\x20-\x7E]{1,128}$";

/// A nonce: 1–64 of `A-Z a-z 0-9 - _`.
pub const NONCE: &str = r"^[A-Za-z0-9_-]{1,64}$";

/// A product code: 1–64 of letters, digits, `-`, `_` and `.`.
pub const CODE: &str = r"^[A-Za-z0-9._-]{1,64}$";

/// An e-mail address: a local part of 1–64 of the characters RFC 5322 allows
/// unquoted, `@`, and a domain of two or more dot-separated labels (letters,
/// digits, inner hyphens, at most 63 each). Internationalised domains are
/// written in their `xn--` form.
pub const EMAIL: &str = r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$";

/// An e-mail address or the empty string (a customer's optional e-mail).
pub const OPTIONAL_EMAIL: &str = r"^(?:[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+)?$";

/// A time within 1970–9999 (the year part of an RFC 3339 date-time).
pub const TIME_IN_RANGE: &str = r"^(?:19[7-9][0-9]|[2-9][0-9]{3})-";

/// The characters of an offline request file as `licensing::offline` reads
/// it: base64 (RFC 4648, with padding) that may be wrapped with spaces and
/// start with byte-order marks. (Whether it decodes to a request file, only
/// decoding tells.)
pub const REQUEST_FILE: &str = r"^\uFEFF*[A-Za-z0-9+/= \u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]+$";

/// The longest e-mail address (RFC 5321's path limit less the brackets).
pub const EMAIL_MAX: usize = 254;

/// One way to fill a body whose fields go together: `needs` must be there
/// (not `null`), `forbids` must be absent or `null`.
pub struct Alternative {
    pub needs: &'static [&'static str],
    pub forbids: &'static [&'static str],
}

/// Bodies that take exactly one of their alternatives, by schema name: what
/// the handlers check when they pick a product, a customer or a credential,
/// stated in the spec as a `oneOf` by `openapi::rendered`
/// (`tests/api/input_rules.rs` sends each schema's bodies with none and with
/// two of them).
pub const ALTERNATIVES: &[(&str, &[Alternative])] = &[
    (
        "LicenseTerms",
        &[
            Alternative { needs: &["product_id"], forbids: &["product_code"] },
            Alternative { needs: &["product_code"], forbids: &["product_id"] },
        ],
    ),
    (
        "CreateOrder",
        &[
            Alternative { needs: &["customer"], forbids: &["customer_id"] },
            Alternative { needs: &["customer_id"], forbids: &["customer"] },
        ],
    ),
    (
        "ValidateRequest",
        &[
            Alternative { needs: &["activation_token"], forbids: &["license_key"] },
            Alternative { needs: &["license_key"], forbids: &["activation_token"] },
        ],
    ),
    (
        "ActivateRequest",
        &[
            Alternative { needs: &["license_key"], forbids: &["email", "password"] },
            Alternative { needs: &["email", "password"], forbids: &[] },
        ],
    ),
];

static EMAIL_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(EMAIL).expect("EMAIL is a valid pattern"));

fn invalid(code: &'static str, message: &'static str) -> ValidationError {
    ValidationError::new(code).with_message(message.into())
}

/// [`EMAIL`], at most [`EMAIL_MAX`] characters.
pub fn email(value: &str) -> Result<(), ValidationError> {
    let ok = value.len() <= EMAIL_MAX && EMAIL_RE.is_match(value);
    ok.then_some(()).ok_or_else(|| invalid("email", "is not an e-mail address"))
}

/// [`OPTIONAL_EMAIL`]: empty, or [`email`].
pub fn optional_email(value: &str) -> Result<(), ValidationError> {
    if value.is_empty() { Ok(()) } else { email(value) }
}

/// [`NOT_BLANK`] (control characters are refused before validation).
pub fn not_blank(value: &str) -> Result<(), ValidationError> {
    if value.trim().is_empty() { Err(invalid("blank", "must not be blank")) } else { Ok(()) }
}

/// [`HARDWARE_ID`]; on the validate path, so without a regex.
pub fn hardware_id(value: &str) -> Result<(), ValidationError> {
    let ok = (1..=128).contains(&value.len()) && value.bytes().all(|b| (0x20..=0x7e).contains(&b));
    ok.then_some(()).ok_or_else(|| invalid("hardware_id", "must be 1 to 128 printable ASCII characters"))
}

/// [`NONCE`]; on the validate path, so without a regex.
pub fn nonce(value: &str) -> Result<(), ValidationError> {
    let ok =
        (1..=64).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ok.then_some(()).ok_or_else(|| invalid("nonce", "must be 1 to 64 characters of A-Z, a-z, 0-9, - and _"))
}

/// [`CODE`].
pub fn code(value: &str) -> Result<(), ValidationError> {
    let ok = (1..=64).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    ok.then_some(()).ok_or_else(|| invalid("code", "may hold only letters, digits, '-', '_' and '.'"))
}

/// [`crate::ids::PATTERN`]: an id in a body or a filter.
pub fn id(value: &str) -> Result<(), ValidationError> {
    crate::ids::parse(value).map(|_| ()).ok_or_else(|| invalid("id", "must be an id (a hyphenated UUID)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Strings that probe every edge of the patterns: each character class's
    /// ends, lengths around each bound, and random text from a fixed seed.
    fn corpus() -> Vec<String> {
        let edges = [
            '\0', '\t', '\n', '\r', '\x1f', ' ', '!', '-', '.', '0', '9', '@', 'A', 'Z', '_', '`', 'a', 'z', '{', '~',
            '\x7f', '\u{80}', '\u{85}', '\u{9f}', '\u{a0}', 'é', '\u{1680}', '\u{2000}', '\u{200a}', '\u{200b}',
            '\u{2028}', '\u{202f}', '\u{205f}', '\u{3000}', '\u{feff}', '😀',
        ];
        let mut out: Vec<String> = vec![String::new()];
        for a in edges {
            out.push(a.to_string());
            for b in edges {
                out.push(format!("{a}{b}"));
                out.push(format!("x{a}{b}y"));
            }
        }
        for n in [63, 64, 65, 127, 128, 129] {
            out.push("a".repeat(n));
            out.push(format!("{}@example.com", "a".repeat(n)));
        }
        for label in [61, 62, 63, 64] {
            out.push(format!("me@{}.example", "b".repeat(label)));
        }
        for s in [
            "me@example.com",
            "first.last+tag@sub.example.co",
            "me@example",
            "me@@example.com",
            "me@-example.com",
            "me@example-.com",
            "me@exa_mple.com",
            "me@example..com",
            "me@[127.0.0.1]",
            "\"quoted\"@example.com",
            "me@münchen.de",
            "me@example.com ",
            "CAD-PRO.v2_1",
        ] {
            out.push(s.to_owned());
        }
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..20_000 {
            let len = (seed % 12) as usize;
            let mut s = String::new();
            for _ in 0..len {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                s.push(edges[(seed % edges.len() as u64) as usize]);
            }
            out.push(s);
        }
        out
    }

    fn agrees(pattern: &str, rule: impl Fn(&str) -> bool) {
        let re = Regex::new(pattern).expect("a valid pattern");
        for s in corpus() {
            assert_eq!(re.is_match(&s), rule(&s), "{pattern} vs the rule on {s:?}");
        }
    }

    fn refused(c: char, multi_line: bool) -> bool {
        crate::api::extract::refused_char(c, multi_line)
    }

    #[test]
    fn each_pattern_accepts_exactly_what_its_rule_accepts() {
        agrees(TEXT, |s| !s.chars().any(|c| refused(c, false)));
        agrees(MULTI_LINE_TEXT, |s| !s.chars().any(|c| refused(c, true)));
        agrees(NOT_BLANK, |s| !s.chars().any(|c| refused(c, false)) && not_blank(s).is_ok());
        agrees(HARDWARE_ID, |s| hardware_id(s).is_ok());
        agrees(NONCE, |s| nonce(s).is_ok());
        agrees(CODE, |s| code(s).is_ok());
        agrees(crate::ids::PATTERN, |s| id(s).is_ok());
        // A request file: every string the pattern refuses, decoding refuses.
        let file = Regex::new(REQUEST_FILE).expect("a valid pattern");
        for s in corpus().iter().filter(|s| !file.is_match(s) && !s.chars().any(|c| refused(c, false))) {
            assert!(crate::licensing::offline::decode_request(s).is_err(), "{s:?}");
        }
        agrees(OPTIONAL_EMAIL, |s| optional_email(s).is_ok());
    }

    #[test]
    fn the_email_rule_takes_addresses_people_use_and_nothing_else() {
        for ok in ["me@example.com", "first.last+tag@sub.example.co", "x@xn--mnchen-3ya.de"] {
            assert!(email(ok).is_ok(), "{ok}");
        }
        for bad in ["me@example", "me@[127.0.0.1]", "\"q\"@example.com", "me@münchen.de", "", "@example.com"] {
            assert!(email(bad).is_err(), "{bad}");
        }
        let long =
            format!("{}@{}.example.com", "a".repeat(64), ["b".repeat(63), "c".repeat(63), "d".repeat(60)].join("."));
        assert!(long.len() > EMAIL_MAX && email(&long).is_err());
    }
}
