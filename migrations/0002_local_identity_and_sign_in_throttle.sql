-- The local identity provider (MERCADO_AUTH=local) and sign-in throttling (all providers).

-- Accounts of the local provider. Passwords are argon2id PHC strings; activation codes are
-- stored hashed (SHA-256) so a database read does not hand out codes.
CREATE TABLE users (
    id                      uuid        PRIMARY KEY,
    email                   text        NOT NULL UNIQUE CHECK (email = lower(email)),
    password_hash           text        NOT NULL,
    roles                   text[]      NOT NULL DEFAULT '{buyer}',
    activation_code_hash    bytea,
    activation_expires_at   timestamptz,
    confirmed_at            timestamptz,
    created_at              timestamptz NOT NULL DEFAULT now()
);

-- Refresh tokens, stored as SHA-256 hashes. Each use rotates: the used row is marked
-- `rotated_at` and a new row joins the same `family`. Presenting a rotated token again means it
-- leaked, so the whole family is revoked.
CREATE TABLE refresh_tokens (
    token_hash  bytea       PRIMARY KEY,
    user_id     uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family      uuid        NOT NULL,
    expires_at  timestamptz NOT NULL,
    rotated_at  timestamptz,
    revoked_at  timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);

-- What the local provider "emails" in development: readable through the devMailbox query.
CREATE TABLE dev_mailbox (
    id          bigserial   PRIMARY KEY,
    recipient   text        NOT NULL,
    subject     text        NOT NULL,
    body        text        NOT NULL,
    sent_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dev_mailbox_recipient_idx ON dev_mailbox (recipient, id DESC);

-- Failed sign-ins per key (`account:<email>` or `address:<ip>`) within a window, and the lock
-- that engages past the threshold. Shared by every server instance.
CREATE TABLE sign_in_failures (
    key             text        PRIMARY KEY,
    failures        integer     NOT NULL,
    window_started  timestamptz NOT NULL,
    locked_until    timestamptz
);
