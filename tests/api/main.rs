//! The HTTP test suite: one binary, each test against a fresh database.
//! SQLite by default; PostgreSQL when `TEST_POSTGRES_URL` is set.

mod auth;
mod helpers;
mod migrations;
mod ops;
mod spec;
