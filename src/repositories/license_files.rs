//! The `license_files` table: every offline license file issued to a device.

use diesel::prelude::*;

use crate::db::AnyConnection;
use crate::db::schema::license_files;
use crate::models::seats::LicenseFile;

pub fn insert(conn: &mut AnyConnection, file: &LicenseFile) -> QueryResult<()> {
    diesel::insert_into(license_files::table).values(file).execute(conn).map(|_| ())
}
