//! The domain rules of licensing: key format, seats, leases, validation codes,
//! signatures, offline files and who may be linked as a manager. Plain
//! functions, callable without a server.

pub mod devices;
pub mod keys;
pub mod linking;
pub mod offline;
pub mod orders;
pub mod privacy;
pub mod signing;
