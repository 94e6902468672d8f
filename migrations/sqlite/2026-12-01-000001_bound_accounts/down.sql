ALTER TABLE accounts DROP COLUMN bound_customer_id;
