//! The HTTP test suite: one binary, each test against a fresh database.
//! SQLite by default; PostgreSQL when `TEST_POSTGRES_URL` is set.

mod api_keys;
mod auth;
mod cli;
mod client;
mod cluster;
mod contract_page;
mod customers;
mod dashboard;
mod devices;
mod events;
mod examples;
mod helpers;
mod input_rules;
mod isolation;
mod licenses;
mod linking;
mod managers;
mod migrations;
mod ops;
mod orders;
mod outage;
mod owasp;
mod products;
mod ratelimit;
mod rules_in_sql;
mod schema_equality;
mod schema_rules;
mod spec;
mod spec_walk;
mod users;
