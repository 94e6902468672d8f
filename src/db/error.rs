//! What storage can answer besides a result: the database is away, a row is
//! missing, a unique key refused a change, or something broke. No HTTP here:
//! the layers above map these to their own errors (`licensing::Error`, `ApiError`).

use std::fmt;

use diesel::result::{DatabaseErrorKind, Error as DieselError};

#[derive(Debug)]
pub enum DbError {
    /// The database can't serve now: no connection within the pool's wait,
    /// the connection died, or SQLite stayed locked past its busy timeout.
    Unavailable(String),
    /// A statement needed a row that is not there.
    NotFound,
    /// A unique key refused the change; the constraint's name when the engine says.
    Duplicate(Option<String>),
    /// Anything else on a healthy connection: a bug or a broken database.
    Failed(String),
}

/// The two failures the pool cares about (see [`crate::db::Db::run`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The database can't serve now.
    Unavailable,
    /// A statement failed; if the connection turns out dead, it is `Unavailable`.
    Failed,
}

impl DbError {
    pub fn failure(&self) -> Option<Failure> {
        match self {
            Self::Unavailable(_) => Some(Failure::Unavailable),
            Self::Failed(_) => Some(Failure::Failed),
            Self::NotFound | Self::Duplicate(_) => None,
        }
    }

    /// True for a unique-key refusal.
    pub fn is_duplicate(&self) -> bool {
        matches!(self, Self::Duplicate(_))
    }
}

/// An error a unit of work on the database may end with: every storage error
/// converts into it, and it says whether it is a storage failure.
pub trait StorageError: From<DbError> + fmt::Display {
    fn failure(&self) -> Option<Failure>;
}

impl StorageError for DbError {
    fn failure(&self) -> Option<Failure> {
        DbError::failure(self)
    }
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unavailable(cause) => write!(f, "database unavailable: {cause}"),
            Self::NotFound => f.write_str("database: no such row"),
            Self::Duplicate(Some(name)) => write!(f, "database: unique key {name} refused the change"),
            Self::Duplicate(None) => f.write_str("database: a unique key refused the change"),
            Self::Failed(cause) => write!(f, "database: {cause}"),
        }
    }
}

impl std::error::Error for DbError {}

impl From<DieselError> for DbError {
    fn from(e: DieselError) -> Self {
        match e {
            DieselError::NotFound => Self::NotFound,
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                Self::Duplicate(info.constraint_name().map(str::to_owned))
            }
            ref other if unavailable(other) => Self::Unavailable(other.to_string()),
            other => Self::Failed(other.to_string()),
        }
    }
}

/// A diesel error that says the database can't serve now, not that the query
/// is wrong: the connection is gone (PostgreSQL: a closed connection or one
/// that can't take a command), or SQLite stayed locked past its busy timeout.
fn unavailable(e: &DieselError) -> bool {
    match e {
        DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand, _) => {
            true
        }
        // SQLITE_BUSY and SQLITE_LOCKED (every extended code) have these messages.
        DieselError::DatabaseError(DatabaseErrorKind::Unknown, info) => {
            matches!(info.message(), "database is locked" | "database table is locked")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db_error(kind: DatabaseErrorKind, message: &str) -> DieselError {
        DieselError::DatabaseError(kind, Box::new(message.to_owned()))
    }

    #[test]
    fn a_lost_connection_or_a_locked_database_is_unavailable() {
        for e in [
            db_error(DatabaseErrorKind::ClosedConnection, "server closed the connection unexpectedly"),
            db_error(DatabaseErrorKind::UnableToSendCommand, "no connection to the server"),
            db_error(DatabaseErrorKind::Unknown, "database is locked"),
            db_error(DatabaseErrorKind::Unknown, "database table is locked"),
        ] {
            assert_eq!(DbError::from(e).failure(), Some(Failure::Unavailable));
        }
    }

    #[test]
    fn a_query_error_on_a_healthy_connection_is_a_failure() {
        for e in [
            db_error(DatabaseErrorKind::Unknown, "no such column: nmae"),
            db_error(DatabaseErrorKind::Unknown, "syntax error at or near \"FORM\""),
            db_error(DatabaseErrorKind::NotNullViolation, "NOT NULL constraint failed: licenses.key"),
            DieselError::DeserializationError("unexpected null".into()),
        ] {
            assert_eq!(DbError::from(e).failure(), Some(Failure::Failed));
        }
    }

    #[test]
    fn missing_rows_and_unique_refusals_are_answers_not_failures() {
        assert!(matches!(DbError::from(DieselError::NotFound), DbError::NotFound));
        let duplicate = DbError::from(db_error(DatabaseErrorKind::UniqueViolation, "UNIQUE constraint failed"));
        assert!(duplicate.is_duplicate());
        assert_eq!(duplicate.failure(), None);
    }
}
