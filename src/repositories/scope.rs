//! What a caller may see. Admins and the shop see everything; a manager sees
//! the orders it manages and what hangs off them. Scoping is part of each
//! query: out-of-scope rows are never loaded.

use diesel::prelude::*;

use crate::db::schema::order_managers;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    All,
    Manager(String),
}

impl Scope {
    /// The manager's account id, when scoped.
    pub fn manager(&self) -> Option<&str> {
        match self {
            Self::All => None,
            Self::Manager(id) => Some(id),
        }
    }
}

/// `SELECT order_id FROM order_managers WHERE account_id = ?`, for `order_id IN (…)` filters.
pub fn managed_orders(account_id: &str) -> ManagedOrders {
    order_managers::table.filter(order_managers::account_id.eq(account_id.to_owned())).select(order_managers::order_id)
}

/// The (unboxed: boxed subqueries don't cross the multi-backend) subquery type.
pub type ManagedOrders = diesel::dsl::Select<
    diesel::dsl::Filter<order_managers::table, diesel::dsl::Eq<order_managers::account_id, String>>,
    order_managers::order_id,
>;
