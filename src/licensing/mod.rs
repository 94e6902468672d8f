//! The domain rules of licensing: key format, seats, leases, validation codes,
//! signatures and offline files. Plain functions, callable without a server.

pub mod devices;
pub mod keys;
pub mod offline;
pub mod privacy;
pub mod signing;
