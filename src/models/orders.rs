use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{idempotency_keys, order_managers, orders};

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = orders)]
pub struct Order {
    pub id: String,
    pub number: String,
    pub customer_id: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = order_managers)]
pub struct OrderManager {
    pub order_id: String,
    pub account_id: String,
    pub created_at: NaiveDateTime,
}

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = idempotency_keys)]
pub struct IdempotencyKey {
    pub id: String,
    pub principal: String,
    pub idem_key: String,
    pub request_hash: String,
    pub order_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}
