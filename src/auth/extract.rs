//! Who is calling. `Caller` accepts any authenticated principal; `Admin`,
//! `Person` (admin or manager) and `AdminOrShop` also check the role and answer
//! 403 `FORBIDDEN` otherwise. The principal is resolved once per request.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};

use crate::auth::jwt::TokenError;
use crate::crypto::sha256_hex;
use crate::error::{ApiError, ErrorCode};
use crate::repositories::{accounts, api_keys};
use crate::state::AppState;

pub const API_KEY_PREFIX: &str = "lsk_";

/// An authenticated account (admin or manager).
#[derive(Clone, Debug)]
pub struct AccountRef {
    pub id: String,
    pub email: String,
    /// The refresh-token family named in the access token.
    pub family: String,
}

/// An authenticated shop API key.
#[derive(Clone, Debug)]
pub struct ShopRef {
    pub id: String,
    pub name: String,
}

#[derive(Clone, Debug)]
pub enum Principal {
    Admin(AccountRef),
    Manager(AccountRef),
    Shop(ShopRef),
}

impl Principal {
    pub fn is_admin(&self) -> bool {
        matches!(self, Self::Admin(_))
    }

    /// The key idempotency records are kept under.
    pub fn idempotency_owner(&self) -> String {
        match self {
            Self::Admin(a) | Self::Manager(a) => format!("account:{}", a.id),
            Self::Shop(s) => format!("api_key:{}", s.id),
        }
    }

    /// The manager's account id, when the caller is a manager (its scope).
    pub fn manager_id(&self) -> Option<&str> {
        match self {
            Self::Manager(a) => Some(&a.id),
            _ => None,
        }
    }
}

/// Why a request is not authenticated; kept (cheaply cloneable) with the request.
#[derive(Clone, Debug)]
enum Failure {
    Token(&'static str),
    Expired,
    Disabled,
    /// The database could not be asked (503, with the cause for the log).
    Unavailable(String),
    Internal(String),
}

impl From<Failure> for ApiError {
    fn from(f: Failure) -> Self {
        match f {
            Failure::Token(detail) => ApiError::invalid_token(detail),
            Failure::Expired => ApiError::token_expired(),
            Failure::Disabled => ApiError::new(ErrorCode::AccountDisabled, "This account is disabled."),
            Failure::Unavailable(cause) => ApiError::unavailable(cause),
            Failure::Internal(cause) => ApiError::internal(cause),
        }
    }
}

/// The outcome of authenticating a request, resolved once.
#[derive(Clone, Debug)]
struct Authenticated(Result<Principal, Failure>);

fn bearer(req: &HttpRequest) -> Result<&str, Failure> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or(Failure::Token("An Authorization: Bearer token is required."))?
        .to_str()
        .map_err(|_| Failure::Token("The Authorization header is not valid."))?;
    let (scheme, token) =
        value.split_once(' ').ok_or(Failure::Token("The Authorization header must be `Bearer <token>`."))?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(Failure::Token("The Authorization header must be `Bearer <token>`."));
    }
    Ok(token.trim())
}

async fn resolve(req: &HttpRequest) -> Result<Principal, Failure> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| Failure::Internal("application state missing".into()))?
        .clone();
    let token = bearer(req)?.to_owned();
    let now = state.clock.now();
    let internal = |e: ApiError| match e.code() {
        ErrorCode::ServiceUnavailable => Failure::Unavailable(e.cause().unwrap_or_default().to_owned()),
        _ => Failure::Internal(e.to_string()),
    };
    if token.starts_with(API_KEY_PREFIX) {
        let digest = sha256_hex(&token);
        let key = state
            .db
            .run(move |conn| Ok(api_keys::authenticate(conn, &digest, now)?))
            .await
            .map_err(internal)?
            .ok_or(Failure::Token("The API key is not valid."))?;
        return Ok(Principal::Shop(ShopRef { id: key.id, name: key.name }));
    }
    let claims = state.jwt.verify(&token, now.and_utc().timestamp()).map_err(|e| match e {
        TokenError::Expired => Failure::Expired,
        TokenError::Invalid => Failure::Token("The access token is not valid."),
    })?;
    let id = claims.sub.clone();
    let account = state
        .db
        .run(move |conn| Ok(accounts::find(conn, &id)?))
        .await
        .map_err(internal)?
        .ok_or(Failure::Token("The access token is not valid."))?;
    if account.disabled {
        return Err(Failure::Disabled);
    }
    let reference = AccountRef { id: account.id, email: account.email, family: claims.fam };
    Ok(if account.role == crate::models::accounts::Role::Admin {
        Principal::Admin(reference)
    } else {
        Principal::Manager(reference)
    })
}

async fn authenticate(req: &HttpRequest) -> Result<Principal, ApiError> {
    let known = req.extensions().get::<Authenticated>().cloned();
    let outcome = match known {
        Some(Authenticated(outcome)) => outcome,
        None => {
            let outcome = resolve(req).await;
            req.extensions_mut().insert(Authenticated(outcome.clone()));
            outcome
        }
    };
    outcome.map_err(ApiError::from)
}

/// Authenticates `/api/v1` requests before their handlers' extractors run, so
/// a missing or bad token (401) or a wrong role (403) is answered before any
/// complaint about the body (422) — and before anything about the object.
pub async fn authenticate_first(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    let path = req.path();
    let wanted =
        path.starts_with("/api/v1/") && !path.starts_with("/api/v1/client/") && !path.starts_with("/api/v1/auth/");
    if wanted {
        let outcome = resolve(req.request()).await;
        req.extensions_mut().insert(Authenticated(outcome));
    }
    next.call(req).await
}

type Fut<T> = Pin<Box<dyn Future<Output = Result<T, ApiError>>>>;

/// Any authenticated caller: admin, manager or shop.
pub struct Caller(pub Principal);

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Fut<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { authenticate(&req).await.map(Caller) })
    }
}

/// An admin (vendor staff); holds the principal (always `Principal::Admin`).
pub struct Admin(pub Principal);

impl Admin {
    pub fn account(&self) -> &AccountRef {
        match &self.0 {
            Principal::Admin(a) | Principal::Manager(a) => a,
            Principal::Shop(_) => unreachable!("the Admin extractor only admits admins"),
        }
    }
}

impl FromRequest for Admin {
    type Error = ApiError;
    type Future = Fut<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            match authenticate(&req).await? {
                principal @ Principal::Admin(_) => Ok(Admin(principal)),
                _ => Err(ApiError::forbidden()),
            }
        })
    }
}

/// A person's account: admin or manager (not a shop key).
pub struct Person(pub Principal, pub AccountRef);

impl FromRequest for Person {
    type Error = ApiError;
    type Future = Fut<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let principal = authenticate(&req).await?;
            match &principal {
                Principal::Admin(a) | Principal::Manager(a) => {
                    let a = a.clone();
                    Ok(Person(principal, a))
                }
                Principal::Shop(_) => Err(ApiError::forbidden()),
            }
        })
    }
}

/// The vendor side: an admin or the shop's API key.
pub struct AdminOrShop(pub Principal);

impl FromRequest for AdminOrShop {
    type Error = ApiError;
    type Future = Fut<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            match authenticate(&req).await? {
                Principal::Manager(_) => Err(ApiError::forbidden()),
                other => Ok(AdminOrShop(other)),
            }
        })
    }
}
