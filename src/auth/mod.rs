//! Authentication: passwords, access tokens, sign-in sessions (refresh
//! tokens, [`sessions`]) and the extractors that turn a request into a
//! principal with a role.

pub mod extract;
pub mod jwt;
pub mod password;
pub mod sessions;

pub use extract::{Admin, AdminOrShop, Caller, Person, Principal};
