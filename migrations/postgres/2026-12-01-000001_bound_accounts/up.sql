-- Accounts bound to one customer (PostgreSQL). Keep in step with migrations/sqlite.
-- An account created through a manager (its generated password was shown to
-- that manager, not to its owner) may be linked only to orders of the
-- customer of the order it was created for; NULL = unbound.
ALTER TABLE accounts ADD COLUMN bound_customer_id TEXT REFERENCES customers (id) ON DELETE RESTRICT;

-- Existing accounts that a manager created: the audit trail names the order
-- each was created for (the first such event wins).
UPDATE accounts
SET bound_customer_id = (
    SELECT orders.customer_id
    FROM audit_events
    JOIN orders ON orders.id = audit_events.order_id
    WHERE audit_events.action = 'manager.created'
      AND audit_events.actor_kind = 'manager'
      AND audit_events.subject_id = accounts.id
    ORDER BY audit_events.at, audit_events.id
    LIMIT 1
)
WHERE role = 'manager';
