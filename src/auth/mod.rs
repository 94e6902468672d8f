//! Authentication: passwords, access tokens, refresh tokens and the extractors
//! that turn a request into a principal with a role.

pub mod extract;
pub mod jwt;
pub mod password;

pub use extract::{Account, Admin, AdminOrShop, Caller, Principal};
