//! Request extractors that answer the contract's problems: JSON bodies
//! (415/413/400/422), query strings (422) and paths (404).

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::web::{Bytes, BytesMut};
use actix_web::{FromRequest, HttpRequest};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use utoipa::PartialSchema;
use validator::Validate;

use crate::error::{ApiError, ErrorCode, FieldErrors};

/// The largest request body (1 MiB).
pub const BODY_LIMIT: usize = 1 << 20;

/// A JSON body, deserialized and validated. `raw` keeps the exact bytes
/// (idempotency compares their digest).
pub struct ValidJson<T> {
    pub value: T,
    pub raw: Bytes,
}

/// A JSON body that may be absent: an empty body needs no content type.
pub struct OptionalJson<T>(pub Option<T>);

fn is_json(req: &HttpRequest) -> Option<bool> {
    let value = req.headers().get(header::CONTENT_TYPE)?;
    let mime = value.to_str().ok().and_then(|v| v.parse::<mime::Mime>().ok());
    Some(matches!(mime, Some(m) if m.type_() == mime::APPLICATION
        && (m.subtype() == mime::JSON || m.suffix() == Some(mime::JSON))))
}

async fn read_body(req: &HttpRequest, payload: &mut Payload) -> Result<Bytes, ApiError> {
    let too_large = || ApiError::new(ErrorCode::BodyTooLarge, "The request body is larger than 1 MiB.");
    let declared =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > BODY_LIMIT) {
        return Err(too_large());
    }
    let mut body = BytesMut::with_capacity(declared.unwrap_or(0).min(BODY_LIMIT));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::malformed(format!("The request body could not be read: {e}")))?;
        if body.len() + chunk.len() > BODY_LIMIT {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

fn unsupported_media_type() -> ApiError {
    ApiError::new(ErrorCode::UnsupportedMediaType, "The request body must be application/json.")
}

/// Parses JSON: syntax errors are 400 `MALFORMED_BODY`, shape errors (missing
/// field, wrong type, unknown value) are 422 with the field's path. When
/// top-level fields are missing, all of them are named at once (from the
/// type's schema), not only the first serde stumbled on.
pub fn parse_json<T: DeserializeOwned + Validate + PartialSchema>(bytes: &[u8]) -> Result<T, ApiError> {
    refuse_non_objects(bytes)?;
    // Fields the type does not read are ignored, also when they hold control
    // characters; they are tracked only when a control character is possible.
    let may_hold = may_hold_control_characters(bytes);
    let mut ignored: Vec<String> = Vec::new();
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed: Result<T, _> = if may_hold {
        let mut note = |path: serde_ignored::Path| ignored.push(pointer(&path));
        serde_path_to_error::deserialize(serde_ignored::Deserializer::new(&mut de, &mut note))
    } else {
        serde_path_to_error::deserialize(&mut de)
    };
    let value: T = match parsed {
        Ok(v) => v,
        Err(err) => {
            let path = err.path().to_string();
            let inner = err.into_inner();
            return Err(match inner.classify() {
                serde_json::error::Category::Data => {
                    let message = inner.to_string();
                    let (field, message) = split_serde_message(&path, &message);
                    let mut errors = FieldErrors::new();
                    errors.insert(field, vec![message]);
                    for missing in missing_required::<T>(bytes) {
                        errors.entry(missing).or_insert_with(|| vec!["is required".to_owned()]);
                    }
                    ApiError::validation(errors)
                }
                _ => ApiError::malformed(format!("The body is not valid JSON: {inner}.")),
            });
        }
    };
    de.end().map_err(|e| ApiError::malformed(format!("The body is not valid JSON: {e}.")))?;
    if may_hold {
        refuse_control_characters_in(bytes, &ignored)?;
    }
    value.validate()?;
    Ok(value)
}

/// Every request body is an object: an array (which serde would read into a
/// struct field by field), a string, a number or `null` is 422; text that is
/// no JSON at all is 400.
fn refuse_non_objects(bytes: &[u8]) -> Result<(), ApiError> {
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') | None => Ok(()),
        Some(_) if serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok() => {
            Err(ApiError::field("body", "must be a JSON object"))
        }
        Some(_) => serde_json::from_slice::<serde::de::IgnoredAny>(bytes)
            .map(|_| ())
            .map_err(|e| ApiError::malformed(format!("The body is not valid JSON: {e}."))),
    }
}

/// An `i32` that JSON may also write as a whole float (`2.0`): the spec's
/// `integer` allows that form, so the server takes it (`deserialize_with`).
struct Whole(i32);

impl<'de> serde::Deserialize<'de> for Whole {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Whole;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("i32")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Whole, E> {
                i32::try_from(v).map(Whole).map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(v), &self))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Whole, E> {
                i32::try_from(v).map(Whole).map_err(|_| E::invalid_value(serde::de::Unexpected::Unsigned(v), &self))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Whole, E> {
                let whole = v.fract() == 0.0 && (f64::from(i32::MIN)..=f64::from(i32::MAX)).contains(&v);
                if whole { Ok(Whole(v as i32)) } else { Err(E::invalid_type(serde::de::Unexpected::Float(v), &self)) }
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// `deserialize_with` for an `i32` field (see [`Whole`]).
pub fn whole_number<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<i32, D::Error> {
    <Whole as serde::Deserialize>::deserialize(deserializer).map(|w| w.0)
}

/// `deserialize_with` for an `Option<i32>` field (see [`Whole`]).
pub fn optional_whole_number<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<i32>, D::Error> {
    <Option<Whole> as serde::Deserialize>::deserialize(deserializer).map(|w| w.map(|w| w.0))
}

/// A field's place as a JSON pointer (`/licenses/0/x`): unlike the display
/// path, it tells the empty key from the root.
fn pointer(path: &serde_ignored::Path) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, index } => format!("{}/{index}", pointer(parent)),
        Path::Map { parent, key } => format!("{}/{}", pointer(parent), key.replace('~', "~0").replace('/', "~1")),
        Path::Some { parent } | Path::NewtypeStruct { parent } | Path::NewtypeVariant { parent } => pointer(parent),
    }
}

/// A field's path as problems name it (`licenses[0].product_code`).
fn field_path(path: &serde_ignored::Path) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, index } => format!("{}[{index}]", field_path(parent)),
        Path::Map { parent, key } => match field_path(parent) {
            parent if parent.is_empty() => key.clone(),
            parent => format!("{parent}.{key}"),
        },
        Path::Some { parent } | Path::NewtypeStruct { parent } | Path::NewtypeVariant { parent } => field_path(parent),
    }
}

/// Fields that may span lines (free-text addresses): they allow `\n` and `\t`.
pub const MULTI_LINE_FIELDS: &[&str] = &["address"];

/// Is `c` refused in a text field? Every control character (C0, DEL, C1),
/// except line feed and tab in multi-line fields.
pub fn refused_char(c: char, multi_line: bool) -> bool {
    c.is_control() && !(multi_line && matches!(c, '\n' | '\t'))
}

const CONTROL_MESSAGE: &str = "must not contain control characters";

/// 422 naming every string of a JSON body that holds a control character
/// (NUL, escape sequences, …): the same refusal on both engines, before any
/// text reaches storage. JSON forbids raw C0 characters (serde answers 400),
/// so a body without a backslash, DEL or C1 character can hold none: the
/// common case costs one scan of the bytes.
pub fn refuse_control_characters(bytes: &[u8]) -> Result<(), ApiError> {
    if may_hold_control_characters(bytes) { refuse_control_characters_in(bytes, &[]) } else { Ok(()) }
}

/// JSON forbids raw C0 characters, so only an escape, DEL or a C1 character
/// (`0xC2 0x80..=0x9F` in UTF-8) can bring one in.
fn may_hold_control_characters(bytes: &[u8]) -> bool {
    bytes.iter().enumerate().any(|(i, &b)| {
        b == b'\\' || b == 0x7f || (b == 0xc2 && bytes.get(i + 1).is_some_and(|n| (0x80..=0x9f).contains(n)))
    })
}

/// 422 naming every string that holds a control character, but for the
/// fields in `ignored` (the type does not read them).
fn refuse_control_characters_in(bytes: &[u8], ignored: &[String]) -> Result<(), ApiError> {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return Ok(()); // malformed: the parser answers 400
    };
    let mut errors = FieldErrors::new();
    collect_control_characters(&value, ("", ""), false, ignored, &mut errors);
    if errors.is_empty() { Ok(()) } else { Err(ApiError::validation(errors)) }
}

/// `at` is the value's display path and its JSON pointer (what `ignored` holds).
fn collect_control_characters(
    value: &serde_json::Value,
    at: (&str, &str),
    multi_line: bool,
    ignored: &[String],
    out: &mut FieldErrors,
) {
    use serde_json::Value;
    let (path, at_pointer) = at;
    if ignored.iter().any(|i| i == at_pointer) {
        return;
    }
    match value {
        Value::String(text) if text.chars().any(|c| refused_char(c, multi_line)) => {
            let field = if path.is_empty() { "body" } else { path };
            out.entry(field.to_owned()).or_default().push(CONTROL_MESSAGE.to_owned());
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let at = (&*format!("{path}[{i}]"), &*format!("{at_pointer}/{i}"));
                collect_control_characters(item, at, multi_line, ignored, out);
            }
        }
        Value::Object(fields) => {
            for (name, item) in fields {
                let field = if path.is_empty() { name.clone() } else { format!("{path}.{name}") };
                let inner = format!("{at_pointer}/{}", name.replace('~', "~0").replace('/', "~1"));
                let multi_line = MULTI_LINE_FIELDS.contains(&name.as_str());
                collect_control_characters(item, (&field, &inner), multi_line, ignored, out);
            }
        }
        _ => {}
    }
}

/// A query string, deserialized and validated: a parameter holding a
/// control character, a value of the wrong shape and a broken rule are all
/// 422 naming the parameter.
pub struct Query<T>(pub T);

impl<T> Query<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Query<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// Parses a query string into `T` and checks it (see [`Query`]).
pub fn parse_query<T: DeserializeOwned + Validate>(query: &str) -> Result<T, ApiError> {
    // Parameters the type does not read are ignored, whatever they hold.
    let mut ignored: Vec<String> = Vec::new();
    let pairs = url::form_urlencoded::parse(query.as_bytes());
    let parsed =
        serde_ignored::deserialize(serde_urlencoded::Deserializer::new(pairs), |path| ignored.push(field_path(&path)));
    let mut errors = FieldErrors::new();
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        let read = !ignored.iter().any(|i| *i == name);
        if read && value.chars().chain(name.chars()).any(|c| refused_char(c, false)) {
            errors.entry(name.into_owned()).or_default().push(CONTROL_MESSAGE.to_owned());
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let value: T = parsed.map_err(|e| query_problem(actix_web::error::QueryPayloadError::Deserialize(e)))?;
    value.validate()?;
    Ok(value)
}

impl<T: DeserializeOwned + Validate> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        std::future::ready(parse_query(req.query_string()).map(Self))
    }
}

/// The required top-level fields of `T`'s schema that the JSON object in
/// `bytes` lacks (only computed on the error path).
fn missing_required<T: PartialSchema>(bytes: &[u8]) -> Vec<String> {
    use utoipa::openapi::{RefOr, Schema};
    let Ok(serde_json::Value::Object(body)) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return Vec::new();
    };
    match T::schema() {
        RefOr::T(Schema::Object(object)) => object.required.into_iter().filter(|f| !body.contains_key(f)).collect(),
        _ => Vec::new(),
    }
}

/// Turns serde's "missing field `x` at line 1 column 2" into (`x`, "is
/// required"), and its type errors into what was expected — without the value
/// sent, which may be a password.
fn split_serde_message(path: &str, message: &str) -> (String, String) {
    let message = message.split(" at line ").next().unwrap_or(message);
    if let Some(rest) = message.strip_prefix("missing field `") {
        let field = rest.trim_end_matches('`');
        let full = if path.is_empty() || path == "." { field.to_owned() } else { format!("{path}.{field}") };
        return (full, "is required".to_owned());
    }
    let field = if path.is_empty() || path == "." { "body".to_owned() } else { path.to_owned() };
    let message = match message.split_once(", expected ") {
        Some((_, expected)) => format!("must be {}", plain_type(expected)),
        None if message.starts_with("invalid") || message.starts_with("unknown") => "has an invalid value".to_owned(),
        None => message.to_owned(),
    };
    (field, message)
}

/// The bytes of a body that must be JSON: 415 for another content type,
/// 413 over the limit, 400 when empty.
pub(crate) async fn required_json(req: &HttpRequest, payload: &mut Payload) -> Result<Bytes, ApiError> {
    let json = is_json(req);
    if json == Some(false) {
        return Err(unsupported_media_type());
    }
    let raw = read_body(req, payload).await?;
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::malformed("A JSON body is required."));
    }
    if json.is_none() {
        return Err(unsupported_media_type());
    }
    Ok(raw)
}

/// serde's names for what it expected, in words a client developer reads.
fn plain_type(expected: &str) -> String {
    match expected {
        "i32" | "i64" | "u8" | "u16" | "u32" | "u64" => "an integer".to_owned(),
        "f32" | "f64" => "a number".to_owned(),
        "a sequence" => "a list".to_owned(),
        other if other.starts_with("struct ") || other == "a map" => "an object".to_owned(),
        other => other.to_owned(),
    }
}

impl<T: DeserializeOwned + Validate + PartialSchema + 'static> FromRequest for ValidJson<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let raw = required_json(&req, &mut payload).await?;
            let value = parse_json(&raw)?;
            Ok(Self { value, raw })
        })
    }
}

impl<T: DeserializeOwned + Validate + PartialSchema + 'static> FromRequest for OptionalJson<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let raw = read_body(&req, &mut payload).await?;
            let json = is_json(&req);
            if raw.iter().all(u8::is_ascii_whitespace) && json != Some(false) {
                return Ok(Self(None));
            }
            if json != Some(true) {
                return Err(unsupported_media_type());
            }
            parse_json(&raw).map(|v| Self(Some(v)))
        })
    }
}

/// A query string that does not deserialize: 422 `VALIDATION_FAILED`.
fn query_problem(err: actix_web::error::QueryPayloadError) -> ApiError {
    let message = err.to_string();
    let message = message.strip_prefix("Query deserialize error: ").unwrap_or(&message).to_owned();
    let mut errors = FieldErrors::new();
    errors.insert("query".to_owned(), vec![message]);
    ApiError::validation(errors)
}

/// actix's own query extractor is not used by handlers; should anything use
/// it, its errors still answer problems.
pub fn query_error(err: actix_web::error::QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    query_problem(err).into()
}

/// A malformed path segment (an id that is no UUID) names nothing: 404.
pub fn path_error(_err: actix_web::error::PathError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::not_found().into()
}

/// actix's own JSON extractor is not used by handlers; should anything use it,
/// its errors still answer problems.
pub fn json_error(err: actix_web::error::JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    use actix_web::error::JsonPayloadError as E;
    match err {
        E::Overflow { .. } | E::OverflowKnownLength { .. } => {
            ApiError::new(ErrorCode::BodyTooLarge, "The request body is larger than 1 MiB.").into()
        }
        E::ContentType => unsupported_media_type().into(),
        other => ApiError::malformed(other.to_string()).into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, Validate, utoipa::ToSchema)]
    struct Sample {
        #[validate(length(min = 1, message = "must not be empty"))]
        name: String,
        #[allow(dead_code)]
        seats: i32,
    }

    #[test]
    fn syntax_errors_are_malformed() {
        let err = parse_json::<Sample>(b"{\"name\": ").unwrap_err();
        assert_eq!(err.code(), ErrorCode::MalformedBody);
        let err = parse_json::<Sample>(b"{\"name\":\"a\",\"seats\":1} trailing").unwrap_err();
        assert_eq!(err.code(), ErrorCode::MalformedBody);
    }

    #[test]
    fn missing_and_mistyped_fields_name_the_field() {
        let err = parse_json::<Sample>(b"{\"name\":\"a\"}").unwrap_err();
        assert_eq!(err.problem().errors.unwrap()["seats"], vec!["is required"]);
        let err = parse_json::<Sample>(b"{\"name\":\"secret-value\",\"seats\":\"x\"}").unwrap_err();
        let errors = err.problem().errors.unwrap();
        assert_eq!(errors["seats"], vec!["must be an integer"]);
        let err = parse_json::<Sample>(b"{\"name\":123456789012,\"seats\":1}").unwrap_err();
        let text = format!("{:?}", err.problem().errors);
        assert!(!text.contains("123456789012"), "the value sent is not echoed: {text}");
    }

    #[test]
    fn every_missing_field_is_named_at_once() {
        let err = parse_json::<Sample>(b"{}").unwrap_err();
        let errors = err.problem().errors.unwrap();
        assert_eq!(errors["name"], vec!["is required"]);
        assert_eq!(errors["seats"], vec!["is required"]);
    }

    #[test]
    fn control_characters_are_refused_in_every_string_but_lines_in_addresses() {
        for body in [
            r#"{"name":"a\u0000b","seats":1}"#,
            r#"{"name":"a\u001bb","seats":1}"#,
            r#"{"name":"line\nbreak","seats":1}"#,
            "{\"name\":\"a\u{7f}b\",\"seats\":1}",
            "{\"name\":\"a\u{85}b\",\"seats\":1}",
        ] {
            let err = parse_json::<Sample>(body.as_bytes()).unwrap_err();
            assert_eq!(err.problem().errors.unwrap()["name"], vec![CONTROL_MESSAGE], "{body}");
        }
        let nested = r#"{"name":"ok","seats":1,"x":{"address":"a\nb\tc","list":["\u0000"]}}"#;
        let err = refuse_control_characters(nested.as_bytes()).unwrap_err();
        let errors = err.problem().errors.unwrap();
        assert_eq!(errors.keys().collect::<Vec<_>>(), ["x.list[0]"], "an address may span lines");
        assert!(parse_json::<Sample>(nested.as_bytes()).is_ok(), "a field the type does not read is ignored");
        let odd_keys = r#"{"name":"ok","seats":1,"":"\u0000","a/b~":["\u0001"]}"#;
        assert!(parse_json::<Sample>(odd_keys.as_bytes()).is_ok(), "also under an empty key or one with / and ~");
        assert!(parse_json::<Sample>(r#"{"name":"caf\u00e9 \"quoted\"","seats":1}"#.as_bytes()).is_ok());
        let err = parse_json::<Sample>(br#"{"name":"a\u0000b"#).unwrap_err();
        assert_eq!(err.code(), ErrorCode::MalformedBody, "malformed stays 400");
    }

    #[derive(Debug, Deserialize, Validate)]
    struct Filters {
        #[allow(dead_code)]
        q: Option<String>,
        #[validate(custom(function = "crate::api::time_in_range"))]
        since: Option<chrono::DateTime<chrono::Utc>>,
    }

    #[test]
    fn queries_refuse_control_characters_and_times_out_of_range() {
        let err = parse_query::<Filters>("q=a%00b").unwrap_err();
        assert_eq!(err.problem().errors.unwrap()["q"], vec![CONTROL_MESSAGE]);
        let err = parse_query::<Filters>("since=-5000-01-01T00:00:00Z").unwrap_err();
        assert!(err.problem().errors.unwrap().contains_key("since"));
        let err = parse_query::<Filters>("since=1969-12-31T23:59:59Z").unwrap_err();
        assert!(err.problem().errors.unwrap().contains_key("since"));
        assert!(parse_query::<Filters>("q=caf%C3%A9&since=1970-01-01T00:00:00Z").is_ok());
        assert!(parse_query::<Filters>("since=9999-12-31T23:59:59Z").is_ok());
        assert_eq!(parse_query::<Filters>("since=yesterday").unwrap_err().code(), ErrorCode::ValidationFailed);
    }

    #[test]
    fn validation_rules_answer_422() {
        let err = parse_json::<Sample>(b"{\"name\":\"\",\"seats\":1}").unwrap_err();
        assert_eq!(err.code(), ErrorCode::ValidationFailed);
        assert_eq!(err.problem().errors.unwrap()["name"], vec!["must not be empty"]);
    }
}
