-- Purchases: orders and their durable saga state. One row of state per order; each step is
-- idempotent and keyed by the order id, so a crash anywhere resumes where it stopped.

CREATE TABLE orders (
    id                 uuid        PRIMARY KEY,
    buyer_id           text        NOT NULL,
    idempotency_key    text        NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 200),
    -- SHA-256 of the request body: the same key with another body is a conflict.
    request_hash       bytea       NOT NULL,
    status             text        NOT NULL DEFAULT 'PENDING' CHECK (status IN
                         ('PENDING', 'STOCK_HELD', 'PAID', 'CONFIRMED',
                          'REJECTED', 'PAYMENT_FAILED', 'CANCELLED', 'EXPIRED')),
    reason             text,
    payment_token      text        NOT NULL,
    total_amount       bigint      NOT NULL CHECK (total_amount >= 0),
    currency           char(3)     NOT NULL,
    cancel_requested   boolean     NOT NULL DEFAULT false,
    payment_attempts   integer     NOT NULL DEFAULT 0,
    -- The runner's schedule and lease: who may advance the order, until when.
    next_attempt_at    timestamptz NOT NULL DEFAULT now(),
    lease_owner        uuid,
    lease_until        timestamptz,
    hold_expires_at    timestamptz NOT NULL,
    version            bigint      NOT NULL DEFAULT 1,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (buyer_id, idempotency_key)
);
CREATE INDEX orders_buyer_idx ON orders (buyer_id, created_at DESC, id DESC);
-- The runner's queue: orders that are not terminal, by when they are due.
CREATE INDEX orders_due_idx ON orders (next_attempt_at)
    WHERE status IN ('PENDING', 'STOCK_HELD', 'PAID');

CREATE TABLE order_lines (
    order_id      uuid    NOT NULL REFERENCES orders (id),
    line_no       integer NOT NULL,
    variant_id    uuid    NOT NULL,
    product_id    uuid    NOT NULL,
    seller_id     text    NOT NULL,
    sku           text    NOT NULL,
    quantity      integer NOT NULL CHECK (quantity > 0),
    unit_amount   bigint  NOT NULL CHECK (unit_amount >= 0),
    PRIMARY KEY (order_id, line_no)
);
CREATE INDEX order_lines_seller_idx ON order_lines (seller_id);

-- Every status an order went through, in order: what subscriptions replay and stream.
CREATE TABLE order_transitions (
    order_id  uuid        NOT NULL REFERENCES orders (id),
    seq       integer     NOT NULL,
    status    text        NOT NULL,
    reason    text,
    at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (order_id, seq)
);

-- The built-in test payment gateway's own ledger (a real gateway keeps this on its side):
-- one charge per order, so retries and crashes never charge twice.
CREATE TABLE test_gateway_charges (
    order_id    uuid        PRIMARY KEY,
    amount      bigint      NOT NULL,
    -- FAILING: the test token that fails transiently has been tried `attempts` times.
    status      text        NOT NULL CHECK (status IN ('FAILING', 'CAPTURED', 'DECLINED', 'REFUNDED')),
    attempts    integer     NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Each transition commits a NOTIFY so every server instance can push it to subscribers.
CREATE FUNCTION order_transition_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('mercado_order_status', NEW.order_id::text);
    RETURN NULL;
END
$$;
CREATE TRIGGER order_transition_notify
    AFTER INSERT ON order_transitions
    FOR EACH ROW EXECUTE FUNCTION order_transition_notify();
