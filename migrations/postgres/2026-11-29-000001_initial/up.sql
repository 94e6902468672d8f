-- Initial schema (PostgreSQL). Keep in step with migrations/sqlite.
-- Ids are UUID text, times are UTC timestamps without zone, JSON is text.

CREATE TABLE accounts (
    id            TEXT PRIMARY KEY NOT NULL,
    email         TEXT NOT NULL UNIQUE,          -- stored lower-case
    name          TEXT NOT NULL DEFAULT '',
    role          TEXT NOT NULL CHECK (role IN ('admin', 'manager')),
    password_hash TEXT NOT NULL,
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);
CREATE INDEX accounts_role_created ON accounts (role, created_at);

CREATE TABLE refresh_tokens (
    id          TEXT PRIMARY KEY NOT NULL,
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    family_id   TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,            -- SHA-256 hex of the opaque token
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL,
    used_at     TIMESTAMP,                       -- set when rotated
    revoked_at  TIMESTAMP
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_account ON refresh_tokens (account_id);

CREATE TABLE products (
    id         TEXT PRIMARY KEY NOT NULL,
    code       TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE customers (
    id           TEXT PRIMARY KEY NOT NULL,
    company      TEXT NOT NULL,
    contact_name TEXT NOT NULL DEFAULT '',
    email        TEXT NOT NULL DEFAULT '',
    address      TEXT NOT NULL DEFAULT '',
    country      TEXT NOT NULL DEFAULT '',
    vat_id       TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);
CREATE INDEX customers_created ON customers (created_at, id);

CREATE TABLE orders (
    id          TEXT PRIMARY KEY NOT NULL,
    number      TEXT NOT NULL UNIQUE,
    customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE RESTRICT,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE INDEX orders_customer ON orders (customer_id);
CREATE INDEX orders_created ON orders (created_at, id);

CREATE TABLE order_managers (
    order_id   TEXT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (order_id, account_id)
);
CREATE INDEX order_managers_account ON order_managers (account_id, order_id);

CREATE TABLE licenses (
    id              TEXT PRIMARY KEY NOT NULL,
    license_key     TEXT NOT NULL UNIQUE,        -- normalized: upper-case Crockford base32, no dashes
    order_id        TEXT NOT NULL REFERENCES orders (id) ON DELETE RESTRICT,
    product_id      TEXT NOT NULL REFERENCES products (id) ON DELETE RESTRICT,
    kind            TEXT NOT NULL CHECK (kind IN ('user_based', 'computer_based')),
    seats           INTEGER NOT NULL CHECK (seats >= 1),
    suspended       BOOLEAN NOT NULL DEFAULT FALSE,
    offline_allowed BOOLEAN NOT NULL DEFAULT TRUE,
    lease_seconds   INTEGER NOT NULL CHECK (lease_seconds >= 60),
    starts_at       TIMESTAMP NOT NULL,
    expires_at      TIMESTAMP,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);
CREATE INDEX licenses_order ON licenses (order_id);
CREATE INDEX licenses_product ON licenses (product_id);
CREATE INDEX licenses_expires ON licenses (expires_at);
CREATE INDEX licenses_created ON licenses (created_at, id);

CREATE TABLE license_users (
    id            TEXT PRIMARY KEY NOT NULL,
    license_id    TEXT NOT NULL REFERENCES licenses (id) ON DELETE CASCADE,
    email         TEXT NOT NULL,                 -- stored lower-case
    name          TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    UNIQUE (license_id, email)
);
CREATE INDEX license_users_email ON license_users (email);

-- A user's temporary activation; at most one open (ended_at IS NULL) per user.
CREATE TABLE user_activations (
    id               TEXT PRIMARY KEY NOT NULL,
    license_user_id  TEXT NOT NULL REFERENCES license_users (id) ON DELETE CASCADE,
    license_id       TEXT NOT NULL REFERENCES licenses (id) ON DELETE CASCADE,
    hardware_id      TEXT NOT NULL,
    hostname         TEXT,
    platform         TEXT,
    app_version      TEXT,
    token_hash       TEXT NOT NULL UNIQUE,       -- SHA-256 hex of the activation token
    activated_at     TIMESTAMP NOT NULL,
    last_seen_at     TIMESTAMP NOT NULL,
    lease_expires_at TIMESTAMP NOT NULL,
    ended_at         TIMESTAMP,
    end_reason       TEXT
);
CREATE UNIQUE INDEX user_activations_one_open ON user_activations (license_user_id) WHERE ended_at IS NULL;
CREATE INDEX user_activations_license ON user_activations (license_id);

-- One row per license and hardware id; re-activation reuses it.
CREATE TABLE devices (
    id               TEXT PRIMARY KEY NOT NULL,
    license_id       TEXT NOT NULL REFERENCES licenses (id) ON DELETE CASCADE,
    hardware_id      TEXT NOT NULL,
    hostname         TEXT,
    platform         TEXT,
    app_version      TEXT,
    offline          BOOLEAN NOT NULL DEFAULT FALSE,
    status           TEXT NOT NULL CHECK (status IN ('active', 'deactivated')),
    token_hash       TEXT UNIQUE,                -- SHA-256 hex of the activation token; NULL offline or ended
    activated_at     TIMESTAMP NOT NULL,
    last_seen_at     TIMESTAMP,
    deactivated_at   TIMESTAMP,
    valid_until      TIMESTAMP,                  -- end of the newest offline license file
    seat_released_at TIMESTAMP,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL,
    UNIQUE (license_id, hardware_id)
);
CREATE INDEX devices_license_status ON devices (license_id, status);

CREATE TABLE license_files (
    id          TEXT PRIMARY KEY NOT NULL,
    device_id   TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    issued_at   TIMESTAMP NOT NULL,
    valid_until TIMESTAMP NOT NULL
);
CREATE INDEX license_files_device ON license_files (device_id);

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY NOT NULL,
    name         TEXT NOT NULL,
    key_hash     TEXT NOT NULL UNIQUE,           -- SHA-256 hex of the key
    key_prefix   TEXT NOT NULL,                  -- first characters, to recognise a key
    scope        TEXT NOT NULL CHECK (scope IN ('shop')),
    created_by   TEXT REFERENCES accounts (id) ON DELETE SET NULL,
    created_at   TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    revoked_at   TIMESTAMP
);

CREATE TABLE idempotency_keys (
    id              TEXT PRIMARY KEY NOT NULL,
    principal       TEXT NOT NULL,               -- 'account:<id>' or 'api_key:<id>'
    idem_key        TEXT NOT NULL,
    request_hash    TEXT NOT NULL,               -- SHA-256 hex of the raw body
    order_id        TEXT REFERENCES orders (id) ON DELETE CASCADE,  -- NULL while in progress
    created_at      TIMESTAMP NOT NULL,
    expires_at      TIMESTAMP NOT NULL,
    UNIQUE (principal, idem_key)
);
CREATE INDEX idempotency_keys_expires ON idempotency_keys (expires_at);

-- Server key material shared by every instance: 'jwt' (HMAC secret), 'license' (Ed25519).
CREATE TABLE server_keys (
    purpose    TEXT PRIMARY KEY NOT NULL CHECK (purpose IN ('jwt', 'license')),
    key_id     TEXT NOT NULL,
    secret     TEXT NOT NULL,                    -- base64
    public_key TEXT,                             -- base64, where the algorithm has one
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE audit_events (
    id          TEXT PRIMARY KEY NOT NULL,
    at          TIMESTAMP NOT NULL,
    actor_kind  TEXT NOT NULL CHECK (actor_kind IN ('admin', 'manager', 'shop', 'software', 'system')),
    actor_id    TEXT,
    actor_email TEXT,
    action      TEXT NOT NULL,
    order_id    TEXT,
    license_id  TEXT,
    subject_id  TEXT,
    hardware_id TEXT,
    ip          TEXT,
    request_id  TEXT,
    details     TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_at ON audit_events (at, id);
CREATE INDEX audit_events_order ON audit_events (order_id, at);
CREATE INDEX audit_events_license ON audit_events (license_id, at);
CREATE INDEX audit_events_action ON audit_events (action, at);
