-- Inventory's source of truth and the transactional outbox that carries every change out.

-- One row per product. `version` grows by one on every change and travels with every event, so
-- the read model can refuse stale or duplicate deliveries. `info` is the original entity's free
-- JSON; `category` is copied out of it for indexing and browsing.
CREATE TABLE products (
    id          uuid        PRIMARY KEY,
    seller_id   text        NOT NULL,
    name        text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    category    text        NOT NULL CHECK (length(category) BETWEEN 1 AND 100),
    info        jsonb       NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(info) = 'object'),
    version     bigint      NOT NULL DEFAULT 1 CHECK (version > 0),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX products_seller_created_idx ON products (seller_id, created_at DESC);
CREATE INDEX products_created_idx ON products (created_at DESC, id DESC);

-- Events waiting to leave (and, once published, a short history of what left). A row is
-- written in the same transaction as the change it describes, so a committed change always has
-- its event and a rolled-back one never does.
CREATE TABLE outbox (
    -- Claim order for the relay. Gaps and commit-order inversions are harmless: consumers
    -- order documents by `version`, not by arrival.
    seq           bigserial   PRIMARY KEY,
    id            uuid        NOT NULL UNIQUE,   -- the envelope id, the consumers' dedup key
    event_type    text        NOT NULL,
    aggregate_id  uuid        NOT NULL,
    version       bigint      NOT NULL,
    occurred_at   timestamptz NOT NULL,
    payload       jsonb       NOT NULL,
    published_at  timestamptz,
    attempts      integer     NOT NULL DEFAULT 0,
    last_error    text
);

-- The relay only ever scans unpublished rows; keep that scan tiny whatever the history holds.
CREATE INDEX outbox_unpublished_idx ON outbox (seq) WHERE published_at IS NULL;

-- Wake the relay at commit time instead of waiting for its next poll. NOTIFY is transactional:
-- listeners hear it only when the inserting transaction commits.
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('mercado_outbox', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER outbox_notify
    AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();
