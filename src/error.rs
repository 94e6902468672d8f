//! One error type for the whole API, answered as RFC 9457 `application/problem+json`.
//!
//! Every case has a stable SCREAMING_SNAKE `code` (see [`ErrorCode`]); a client
//! switches on it. Unexpected failures are logged with the request id and answered
//! with nothing but that id.

use std::collections::BTreeMap;
use std::fmt;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::{DbError, Failure, StorageError};
use crate::licensing;
use crate::licensing::linking::{BindRefusal, LinkRefusal};
use crate::telemetry;

/// The `Retry-After` (seconds) of every 503: long enough for a pool to
/// reconnect, short enough that a client is not kept away after a restart.
pub const RETRY_AFTER_SECONDS: u32 = 5;

/// The stable error codes of the contract. The status follows from the code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    MalformedBody,
    ValidationFailed,
    BodyTooLarge,
    UnsupportedMediaType,
    NotFound,
    MethodNotAllowed,
    InvalidToken,
    TokenExpired,
    InvalidCredentials,
    InvalidRefreshToken,
    AccountDisabled,
    Forbidden,
    RateLimited,
    Internal,
    ServiceUnavailable,
    Conflict,
    ProductCodeTaken,
    OrderNumberTaken,
    AlreadyManager,
    LastManager,
    OrderFull,
    SeatsInUse,
    SeatsExhausted,
    EmailTaken,
    WrongLicenseKind,
    IdempotencyInProgress,
    IdempotencyKeyReused,
    WrongCurrentPassword,
    UserAlreadyActive,
    LicenseAmbiguous,
    OfflineNotAllowed,
    NotOfflineDevice,
    NotActivated,
    LeaseExpired,
    Suspended,
    Expired,
    EmailUnavailable,
    EmailBoundToOtherCustomer,
}

impl ErrorCode {
    pub fn status(self) -> StatusCode {
        use ErrorCode::*;
        match self {
            MalformedBody => StatusCode::BAD_REQUEST,
            ValidationFailed | IdempotencyKeyReused | WrongCurrentPassword => StatusCode::UNPROCESSABLE_ENTITY,
            BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            NotFound => StatusCode::NOT_FOUND,
            MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            InvalidToken | TokenExpired | InvalidCredentials | InvalidRefreshToken => StatusCode::UNAUTHORIZED,
            AccountDisabled | Forbidden | Suspended | Expired => StatusCode::FORBIDDEN,
            RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Conflict
            | ProductCodeTaken
            | OrderNumberTaken
            | AlreadyManager
            | LastManager
            | OrderFull
            | SeatsInUse
            | SeatsExhausted
            | EmailTaken
            | WrongLicenseKind
            | IdempotencyInProgress
            | UserAlreadyActive
            | LicenseAmbiguous
            | OfflineNotAllowed
            | NotOfflineDevice
            | NotActivated
            | LeaseExpired
            | EmailUnavailable
            | EmailBoundToOtherCustomer => StatusCode::CONFLICT,
        }
    }

    fn title(self) -> &'static str {
        self.status().canonical_reason().unwrap_or("Error")
    }

    /// The code as it appears on the wire: serde's form (`rename_all` above),
    /// the one place it is spelled.
    fn wire(self) -> String {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::String(code)) => code,
            _ => unreachable!("a unit variant serializes as its name"),
        }
    }
}

/// The wire form, for logs and messages.
impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.wire())
    }
}

/// A field → messages map, as in `errors` of a 422.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

/// What a rendered problem holds at most: field names and messages repeat
/// what the client sent, so they are cut to these bounds (`bounded_text`).
pub const MAX_DETAIL: usize = 1000;
pub const MAX_FIELDS: usize = 100;
pub const MAX_FIELD_NAME: usize = 200;
pub const MAX_MESSAGES: usize = 10;
pub const MAX_MESSAGE: usize = 500;

/// Text of a problem as answered: control characters become U+FFFD and the
/// text is cut to `max` characters.
fn bounded_text(text: &str, max: usize) -> String {
    text.chars().take(max).map(|c| if c.is_control() { '\u{FFFD}' } else { c }).collect()
}

fn bounded_errors(errors: &FieldErrors) -> FieldErrors {
    let mut out = FieldErrors::new();
    for (field, messages) in errors.iter().take(MAX_FIELDS) {
        let messages = messages.iter().take(MAX_MESSAGES).map(|m| bounded_text(m, MAX_MESSAGE));
        out.entry(bounded_text(field, MAX_FIELD_NAME)).or_default().extend(messages);
    }
    for messages in out.values_mut() {
        messages.truncate(MAX_MESSAGES);
    }
    out
}

/// The schema of `Problem.errors` (`#/components/schemas/FieldErrors`), from
/// the bounds above.
pub struct FieldErrorsSchema;

impl utoipa::PartialSchema for FieldErrorsSchema {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AdditionalProperties, ArrayBuilder, ObjectBuilder, Type};
        let text = |max: usize| {
            ObjectBuilder::new().schema_type(Type::String).max_length(Some(max)).pattern(Some(crate::api::rules::TEXT))
        };
        let messages = ArrayBuilder::new().items(text(MAX_MESSAGE)).min_items(Some(1)).max_items(Some(MAX_MESSAGES));
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some("Each invalid field (its path, such as `licenses[0].seats`) with its messages"))
            .property_names(Some(text(MAX_FIELD_NAME)))
            .max_properties(Some(MAX_FIELDS))
            .additional_properties(Some(AdditionalProperties::RefOr(utoipa::openapi::RefOr::T(messages.into()))))
            .into()
    }
}

impl utoipa::ToSchema for FieldErrorsSchema {
    fn name() -> std::borrow::Cow<'static, str> {
        "FieldErrors".into()
    }
}

/// The problem+json body. Documented once in the spec as `Problem`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the problem kind (`urn:license-server:problem:<code>`).
    // 27 characters of prefix + the longest code (29, `EMAIL_BOUND_TO_OTHER_CUSTOMER`).
    #[serde(rename = "type")]
    #[schema(format = "uri", max_length = 56, pattern = r"^urn:license-server:problem:[a-z]+(-[a-z]+)*$")]
    pub kind: String,
    // The status's reason phrase; every canonical one is at most 31 characters.
    #[schema(max_length = 64, pattern = r"^[A-Za-z][A-Za-z' -]*$")]
    pub title: String,
    #[schema(minimum = 100, maximum = 599)]
    pub status: u16,
    // Bounded when rendered (`bounded_text`): a 405's detail names the method
    // the client sent, and serde's messages quote what it sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 1000, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    pub detail: Option<String>,
    /// Stable SCREAMING_SNAKE code to switch on.
    #[schema(example = "NOT_FOUND")]
    pub code: ErrorCode,
    /// Field → messages (422 `VALIDATION_FAILED`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<FieldErrorsSchema>)]
    pub errors: Option<FieldErrors>,
    // A sane incoming `X-Request-Id` (1–64 of these characters), else a simple UUID.
    #[schema(max_length = 64, pattern = r"^[A-Za-z0-9._-]*$")]
    pub request_id: String,
    /// Further members some problems carry (for example `seats`, `seats_used`, `managers`).
    #[serde(flatten)]
    #[schema(additional_properties)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// An error answered as a problem. Boxed: it travels through many `Result`s.
pub struct ApiError(Box<ErrorInner>);

struct ErrorInner {
    code: ErrorCode,
    detail: Option<String>,
    errors: Option<FieldErrors>,
    extra: serde_json::Map<String, serde_json::Value>,
    headers: Vec<(header::HeaderName, String)>,
    /// The cause of an internal error: logged, never answered.
    cause: Option<String>,
}

impl ApiError {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self(Box::new(ErrorInner {
            code,
            detail: Some(detail.into()),
            errors: None,
            extra: serde_json::Map::new(),
            headers: Vec::new(),
            cause: None,
        }))
    }

    pub fn code(&self) -> ErrorCode {
        self.0.code
    }

    pub fn not_found() -> Self {
        Self::new(ErrorCode::NotFound, "The resource does not exist.")
    }

    /// 409 `ORDER_FULL`: the order holds `max` of `what` already.
    pub fn order_full(what: &str, max: usize) -> Self {
        Self::new(ErrorCode::OrderFull, format!("The order holds {max} {what} already, as many as an order may."))
    }

    /// 404 for an id in the body that names nothing, with the field named
    /// (the object the request is about may exist; the one it refers to doesn't).
    pub fn no_such(field: &str, what: &str) -> Self {
        let mut errors = FieldErrors::new();
        errors.insert(field.to_owned(), vec![format!("no such {what}")]);
        Self::new(ErrorCode::NotFound, format!("No such {what}: `{field}` names nothing.")).with_errors(errors)
    }

    pub fn forbidden() -> Self {
        Self::new(ErrorCode::Forbidden, "Your role may not use this operation.")
    }

    pub fn malformed(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::MalformedBody, detail)
    }

    pub fn invalid_token(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidToken, detail)
            .with_header(header::WWW_AUTHENTICATE, r#"Bearer error="invalid_token""#)
    }

    pub fn token_expired() -> Self {
        Self::new(ErrorCode::TokenExpired, "The access token has expired; refresh it.").with_header(
            header::WWW_AUTHENTICATE,
            r#"Bearer error="invalid_token", error_description="the access token expired""#,
        )
    }

    pub fn invalid_credentials() -> Self {
        Self::new(ErrorCode::InvalidCredentials, "The credentials are not valid.")
    }

    /// 422 with one field's message.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        let mut errors = FieldErrors::new();
        errors.insert(field.to_owned(), vec![message.into()]);
        Self::validation(errors)
    }

    /// 422 `VALIDATION_FAILED` with a field → messages map.
    pub fn validation(errors: FieldErrors) -> Self {
        let mut e = Self::new(ErrorCode::ValidationFailed, "The request has invalid fields.");
        e.0.errors = Some(errors);
        e
    }

    /// An unexpected failure: the cause is logged with the request id, the
    /// caller gets only the id.
    pub fn internal(cause: impl fmt::Display) -> Self {
        let mut e = Self::new(ErrorCode::Internal, "");
        e.0.detail = None;
        e.0.cause = Some(cause.to_string());
        e
    }

    /// 503 `SERVICE_UNAVAILABLE`: the database can't be reached or stayed busy
    /// past its wait. The cause is for the log (the caller learns only to retry).
    pub fn unavailable(cause: impl fmt::Display) -> Self {
        let mut e = Self::new(
            ErrorCode::ServiceUnavailable,
            "The service can't reach its database right now; retry after the Retry-After seconds.",
        );
        e.0.cause = Some(cause.to_string());
        e
    }

    /// Why an internal or unavailable error happened (never answered).
    pub fn cause(&self) -> Option<&str> {
        self.0.cause.as_deref()
    }

    /// A refused manager link; `field` names the e-mail in the request
    /// (`email`, `managers[2].email`). A manager's refusal is one fixed body
    /// whatever the reason: it names no field, account, customer or person.
    pub fn link_refused(refusal: LinkRefusal, field: &str) -> Self {
        match refusal {
            LinkRefusal::AdminAccount => {
                let mut errors = FieldErrors::new();
                errors
                    .insert(field.to_owned(), vec!["belongs to an admin; admins can't be license managers".to_owned()]);
                Self::new(ErrorCode::EmailUnavailable, format!("The account of {field} belongs to vendor staff."))
                    .with_errors(errors)
            }
            LinkRefusal::BoundToOtherCustomer => {
                let message = "is bound to another customer; an admin can release the binding";
                let mut errors = FieldErrors::new();
                errors.insert(field.to_owned(), vec![message.to_owned()]);
                Self::new(
                    ErrorCode::EmailBoundToOtherCustomer,
                    format!(
                        "The account of {field} is bound to another customer and can't manage this customer's orders."
                    ),
                )
                .with_errors(errors)
            }
            LinkRefusal::Unavailable => Self::new(
                ErrorCode::EmailUnavailable,
                "This e-mail address can't be added here; ask the vendor's support.",
            ),
        }
    }

    /// A refused binding of an account to a customer (`PATCH /managers/{id}`).
    pub fn bind_refused(refusal: BindRefusal) -> Self {
        match refusal {
            BindRefusal::ManagesOtherCustomersOrders => Self::field(
                "bound_customer_id",
                "the account manages orders of another customer; remove it from them first",
            ),
        }
    }

    pub fn with_errors(mut self, errors: FieldErrors) -> Self {
        self.0.errors = Some(errors);
        self
    }

    pub fn with_extra(mut self, key: &str, value: impl Serialize) -> Self {
        let value = serde_json::to_value(value).unwrap_or(serde_json::Value::Null);
        self.0.extra.insert(key.to_owned(), value);
        self
    }

    /// Names the license, device and user a problem is about, so a signed
    /// problem can't be replayed for another activation.
    pub fn about(self, about: licensing::error::About) -> Self {
        let mut e = self;
        for (key, id) in [("license_id", about.license_id), ("device_id", about.device_id), ("user_id", about.user_id)]
        {
            if let Some(id) = id {
                e = e.with_extra(key, id);
            }
        }
        e
    }

    pub fn with_header(mut self, name: header::HeaderName, value: impl Into<String>) -> Self {
        self.0.headers.push((name, value.into()));
        self
    }

    /// The problem body this error answers with.
    pub fn problem(&self) -> Problem {
        let code = self.0.code;
        Problem {
            kind: problem_type(&code.wire()),
            title: self.0.code.title().to_owned(),
            status: self.0.code.status().as_u16(),
            detail: self.0.detail.as_deref().map(|d| bounded_text(d, MAX_DETAIL)),
            code,
            errors: self.0.errors.as_ref().map(bounded_errors),
            request_id: telemetry::current_request_id(),
            extra: self.0.extra.clone(),
        }
    }
}

/// The `type` URI of a problem with `code` (its wire form): the code in
/// kebab case after `PROBLEM_TYPE_PREFIX`.
fn problem_type(code: &str) -> String {
    let mut kind = String::with_capacity(PROBLEM_TYPE_PREFIX.len() + code.len());
    kind.push_str(PROBLEM_TYPE_PREFIX);
    kind.extend(code.chars().map(|c| if c == '_' { '-' } else { c.to_ascii_lowercase() }));
    kind
}

const PROBLEM_TYPE_PREFIX: &str = "urn:license-server:problem:";

impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiError")
            .field("code", &self.0.code)
            .field("detail", &self.0.detail)
            .field("cause", &self.0.cause)
            .finish()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.0.detail, &self.0.cause) {
            (_, Some(cause)) => write!(f, "{}: {cause}", self.0.code),
            (Some(detail), None) => write!(f, "{}: {detail}", self.0.code),
            (None, None) => write!(f, "{}", self.0.code),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.0.code.status()
    }

    fn error_response(&self) -> HttpResponse {
        let problem = self.problem();
        match (&self.0.cause, self.0.code) {
            // An outage is logged once where it is noticed (`db::Db`), not per answer.
            (Some(cause), ErrorCode::ServiceUnavailable) => {
                tracing::debug!(request_id = %problem.request_id, cause = %cause, "service unavailable");
            }
            (Some(cause), _) => tracing::error!(request_id = %problem.request_id, cause = %cause, "internal error"),
            (None, _) => {}
        }
        let mut response = HttpResponse::build(self.0.code.status());
        response.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        if self.0.code == ErrorCode::ServiceUnavailable {
            response.insert_header((header::RETRY_AFTER, RETRY_AFTER_SECONDS.to_string()));
        }
        for (name, value) in &self.0.headers {
            if let Ok(value) = HeaderValue::from_str(value) {
                response.insert_header((name.clone(), value));
            }
        }
        let body = serde_json::to_vec(&problem).unwrap_or_else(|_| b"{}".to_vec());
        response.body(body)
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::NotFound => Self::not_found(),
            DbError::Duplicate(constraint) => {
                tracing::debug!(?constraint, "unique violation");
                Self::new(ErrorCode::Conflict, "The change conflicts with an existing record.")
            }
            DbError::Unavailable(cause) => Self::unavailable(format!("database: {cause}")),
            failed @ DbError::Failed(_) => Self::internal(failed),
        }
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        DbError::from(e).into()
    }
}

/// A 500 may be a storage failure (the pool then checks its connection); a
/// 503 is the database being away.
impl StorageError for ApiError {
    fn failure(&self) -> Option<Failure> {
        match self.code() {
            ErrorCode::ServiceUnavailable => Some(Failure::Unavailable),
            ErrorCode::Internal => Some(Failure::Failed),
            _ => None,
        }
    }
}

/// Every refusal of the licensing layer, as the API answers it: one place, so
/// each code has one shape wherever its rule is hit.
impl From<licensing::Error> for ApiError {
    fn from(e: licensing::Error) -> Self {
        use licensing::Error as E;
        use licensing::error::KindMismatch;
        match e {
            E::NotFound => Self::not_found(),
            E::InvalidCredentials => Self::invalid_credentials(),
            E::Invalid { field, message } => Self::field(&field, message),
            E::NoSuch { field, what } => Self::no_such(&field, what),
            E::WrongLicenseKind(mismatch) => Self::new(
                ErrorCode::WrongLicenseKind,
                match mismatch {
                    KindMismatch::OfflineNeedsComputerBased => "A user-based license can't be activated offline.",
                    KindMismatch::UsersNeedUserBased => "This license is computer-based: it has devices, not users.",
                    KindMismatch::DevicesNeedComputerBased => "This license is user-based: it has users, not devices.",
                },
            ),
            E::Suspended(about) => Self::new(ErrorCode::Suspended, "This license is suspended.").about(about),
            E::Expired(about) => Self::new(ErrorCode::Expired, "This license has expired.").about(about),
            E::SeatsExhausted(full) => {
                let managers: Vec<serde_json::Value> =
                    full.managers.iter().map(|m| serde_json::json!({ "name": m.name, "email": m.email })).collect();
                Self::new(
                    ErrorCode::SeatsExhausted,
                    format!("All {} seats of this license are in use. A license manager can free one.", full.seats),
                )
                .with_extra("seats", full.seats)
                .with_extra("seats_used", full.used)
                .with_extra("managers", managers)
                .with_extra("license_id", &full.license_id)
            }
            E::SeatsInUse { used, wanted } => Self::new(
                ErrorCode::SeatsInUse,
                format!("{used} seats are in use; free some before lowering the count to {wanted}."),
            )
            .with_extra("seats_used", used),
            E::UserAlreadyActive { about, lease_expires_at } => Self::new(
                ErrorCode::UserAlreadyActive,
                "This user is active on another computer. It ends when the software there deactivates, \
                 its lease runs out, or a license manager resets the activation.",
            )
            .with_extra("lease_expires_at", crate::clock::utc(lease_expires_at))
            .about(about),
            E::LicenseAmbiguous => Self::new(
                ErrorCode::LicenseAmbiguous,
                "This e-mail and password open several licenses; send the license_key of the one to activate.",
            ),
            E::OfflineNotAllowed(about) => {
                Self::new(ErrorCode::OfflineNotAllowed, "This license may not be activated offline.").about(about)
            }
            E::NotOfflineDevice(about) => Self::new(
                ErrorCode::NotOfflineDevice,
                "This computer activated online; it deactivates from the software or the portal.",
            )
            .about(about),
            E::NotActivated(about) => {
                Self::new(ErrorCode::NotActivated, "This activation has ended; activate again.").about(about)
            }
            E::LeaseExpired(about) => {
                Self::new(ErrorCode::LeaseExpired, "The lease ran out; activate again.").about(about)
            }
            E::EmailTaken => Self::new(ErrorCode::EmailTaken, "This e-mail is already a user of this license."),
            E::ForceNeedsAdmin => Self::new(ErrorCode::Forbidden, "Only an admin may force the release of a seat."),
            E::OrderNumberTaken(number) => {
                Self::new(ErrorCode::OrderNumberTaken, format!("An order numbered {number} exists."))
            }
            E::ProductCodeTaken => Self::new(ErrorCode::ProductCodeTaken, "Another product has this code."),
            E::OrderFull { what, max } => Self::order_full(what, max),
            E::AlreadyManager => {
                Self::new(ErrorCode::AlreadyManager, "This account is a manager of the order already.")
            }
            E::LastManager => {
                Self::new(ErrorCode::LastManager, "This is the order's last manager; add another before removing it.")
            }
            E::LinkRefused { refusal, field } => Self::link_refused(refusal, &field),
            E::BindRefused(refusal) => Self::bind_refused(refusal),
            E::IdempotencyKeyReused => {
                Self::new(ErrorCode::IdempotencyKeyReused, "This Idempotency-Key was used with another request body.")
            }
            E::IdempotencyInProgress => Self::new(
                ErrorCode::IdempotencyInProgress,
                "A request with this Idempotency-Key is still being processed; retry shortly.",
            ),
            E::AccountDisabled => Self::new(ErrorCode::AccountDisabled, "This account is disabled."),
            E::WrongCurrentPassword => {
                let mut errors = FieldErrors::new();
                errors.insert("current_password".to_owned(), vec!["is not the current password".to_owned()]);
                Self::new(ErrorCode::WrongCurrentPassword, "The current password is wrong.").with_errors(errors)
            }
            E::InvalidRefreshToken => {
                Self::new(ErrorCode::InvalidRefreshToken, "The refresh token is not valid; sign in again.")
            }
            E::Storage(e) => e.into(),
        }
    }
}

impl From<validator::ValidationErrors> for ApiError {
    fn from(e: validator::ValidationErrors) -> Self {
        let mut errors = FieldErrors::new();
        collect_validation_errors(&e, "", &mut errors);
        Self::validation(errors)
    }
}

fn collect_validation_errors(e: &validator::ValidationErrors, prefix: &str, out: &mut FieldErrors) {
    use validator::ValidationErrorsKind;
    for (field, kind) in e.errors() {
        let path = if prefix.is_empty() { field.to_string() } else { format!("{prefix}.{field}") };
        match kind {
            ValidationErrorsKind::Field(list) => {
                let messages = out.entry(path).or_default();
                for err in list {
                    messages.push(match &err.message {
                        Some(m) => m.to_string(),
                        None => format!("is invalid ({})", err.code),
                    });
                }
            }
            ValidationErrorsKind::Struct(inner) => collect_validation_errors(inner, &path, out),
            ValidationErrorsKind::List(items) => {
                for (index, inner) in items {
                    collect_validation_errors(inner, &format!("{path}[{index}]"), out);
                }
            }
        }
    }
}

/// Builds a 422 from several checks at once: `errs.check(cond, field, msg)`.
#[derive(Default)]
pub struct Checks(FieldErrors);

impl Checks {
    pub fn check(&mut self, ok: bool, field: &str, message: &str) -> &mut Self {
        if !ok {
            self.0.entry(field.to_owned()).or_default().push(message.to_owned());
        }
        self
    }

    pub fn finish(self) -> Result<(), ApiError> {
        if self.0.is_empty() { Ok(()) } else { Err(ApiError::validation(self.0)) }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    #[test]
    fn a_problem_repeats_what_the_client_sent_only_within_its_bounds() {
        let mut errors = super::FieldErrors::new();
        for i in 0..150 {
            errors.insert(format!("f{i}\u{0}{}", "x".repeat(300)), vec!["m\u{1b}".repeat(400); 12]);
        }
        let detail = "D\u{7}".repeat(900);
        let problem = super::ApiError::new(super::ErrorCode::ValidationFailed, detail).with_errors(errors).problem();
        let errors = problem.errors.unwrap();
        assert_eq!(errors.len(), super::MAX_FIELDS);
        for (field, messages) in &errors {
            assert!(field.chars().count() <= super::MAX_FIELD_NAME && !field.chars().any(char::is_control));
            assert_eq!(messages.len(), super::MAX_MESSAGES);
            assert!(
                messages.iter().all(|m| m.chars().count() == super::MAX_MESSAGE && !m.chars().any(char::is_control))
            );
        }
        let detail = problem.detail.unwrap();
        assert_eq!(detail.chars().count(), super::MAX_DETAIL);
        assert!(!detail.chars().any(char::is_control));
    }

    use diesel::result::{DatabaseErrorKind, Error};

    use super::*;

    fn db_error(kind: DatabaseErrorKind, message: &str) -> Error {
        Error::DatabaseError(kind, Box::new(message.to_owned()))
    }

    /// The bounds `Problem` declares in the spec hold for every code and status.
    #[test]
    fn every_problem_type_and_title_fits_the_schema() {
        let schema = serde_json::to_value(<ErrorCode as utoipa::PartialSchema>::schema()).unwrap();
        let codes = schema["enum"].as_array().expect("the codes");
        for code in codes.iter().map(|c| c.as_str().unwrap()) {
            let kind = problem_type(code);
            let suffix = kind.strip_prefix("urn:license-server:problem:").unwrap();
            assert!(kind.len() <= 56, "{kind}");
            assert!(suffix.split('-').all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase())), "{kind}");
        }
        for status in 100..=599 {
            let reason = StatusCode::from_u16(status).unwrap().canonical_reason().unwrap_or("Error");
            assert!(reason.len() <= 64, "{reason}");
            assert!(reason.starts_with(|c: char| c.is_ascii_alphabetic()), "{reason}");
            assert!(reason.chars().all(|c| c.is_ascii_alphabetic() || " '-".contains(c)), "{reason}");
        }
    }

    /// The code, the `type` and the message name serde's form of the code.
    #[test]
    fn a_problem_names_its_code_as_serde_writes_it() {
        let error = ApiError::new(ErrorCode::EmailBoundToOtherCustomer, "bound");
        let problem = serde_json::to_value(error.problem()).unwrap();
        assert_eq!(problem["code"], "EMAIL_BOUND_TO_OTHER_CUSTOMER");
        assert_eq!(problem["type"], "urn:license-server:problem:email-bound-to-other-customer");
        assert_eq!(error.to_string(), "EMAIL_BOUND_TO_OTHER_CUSTOMER: bound");
    }

    /// Storage errors are classified in `db::error` (tested there); here,
    /// how each class is answered.
    #[test]
    fn an_unavailable_database_is_503_with_retry_after_and_a_failed_query_a_bare_500() {
        let error = ApiError::from(DbError::Unavailable("database is locked".into()));
        assert_eq!(error.code(), ErrorCode::ServiceUnavailable);
        let response = error.error_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers().get(header::RETRY_AFTER).unwrap(), &RETRY_AFTER_SECONDS.to_string());
        assert_eq!(ErrorCode::ServiceUnavailable.to_string(), "SERVICE_UNAVAILABLE");
        let error = ApiError::from(db_error(DatabaseErrorKind::NotNullViolation, "NOT NULL constraint failed"));
        assert_eq!(error.code(), ErrorCode::Internal);
        assert!(error.error_response().headers().get(header::RETRY_AFTER).is_none());
        assert_eq!(ApiError::from(Error::NotFound).code(), ErrorCode::NotFound);
    }
}
