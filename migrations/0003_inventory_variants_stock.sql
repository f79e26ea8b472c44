-- Inventory's richer model: product status, description, image, soft delete; variants with
-- prices and stock; the stock ledger; and stock holds for the purchase saga.

ALTER TABLE products
    ADD COLUMN description text NOT NULL DEFAULT '' CHECK (length(description) <= 5000),
    ADD COLUMN status text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('DRAFT', 'ACTIVE', 'ARCHIVED')),
    ADD COLUMN image_key text,
    ADD COLUMN deleted_at timestamptz;

-- A product's sellable units. `held` is stock reserved by orders in flight; what a buyer can
-- still take is `on_hand - held`, which the CHECK keeps from going negative whatever the race.
CREATE TABLE variants (
    id            uuid        PRIMARY KEY,
    product_id    uuid        NOT NULL REFERENCES products (id),
    seller_id     text        NOT NULL,
    sku           text        NOT NULL CHECK (length(sku) BETWEEN 1 AND 64),
    name          text        NOT NULL CHECK (length(name) <= 200),
    attributes    jsonb       NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(attributes) = 'object'),
    price_amount  bigint      NOT NULL CHECK (price_amount >= 0),
    currency      char(3)     NOT NULL,
    on_hand       integer     NOT NULL DEFAULT 0 CHECK (on_hand >= 0),
    held          integer     NOT NULL DEFAULT 0 CHECK (held >= 0),
    position      integer     NOT NULL,
    removed_at    timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (held <= on_hand)
);
-- SKUs are unique per seller among live variants (a removed variant frees its SKU).
CREATE UNIQUE INDEX variants_seller_sku_idx ON variants (seller_id, sku) WHERE removed_at IS NULL;
CREATE INDEX variants_product_idx ON variants (product_id, position);

-- Products created before variants existed get their default variant, so every product has one.
INSERT INTO variants (id, product_id, seller_id, sku, name, price_amount, currency, position)
SELECT gen_random_uuid(), p.id, p.seller_id, 'SKU-' || upper(substr(replace(p.id::text, '-', ''), 1, 12)),
       'Default', 0, 'EUR', 0
FROM products p;

-- The stock ledger: every change to on_hand or held appends one row. Summing `on_hand_delta`
-- per variant gives its on_hand.
CREATE TABLE stock_movements (
    id             bigserial   PRIMARY KEY,
    variant_id     uuid        NOT NULL REFERENCES variants (id),
    on_hand_delta  integer     NOT NULL,
    held_delta     integer     NOT NULL,
    reason         text        NOT NULL CHECK (length(reason) BETWEEN 1 AND 200),
    order_id       uuid,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX stock_movements_variant_idx ON stock_movements (variant_id, id);

-- Stock reserved for an order, one row per (order, variant). Finalising turns it into a sale;
-- releasing (or expiry) gives it back.
CREATE TABLE stock_holds (
    order_id    uuid        NOT NULL,
    variant_id  uuid        NOT NULL REFERENCES variants (id),
    quantity    integer     NOT NULL CHECK (quantity > 0),
    status      text        NOT NULL DEFAULT 'HELD' CHECK (status IN ('HELD', 'RELEASED', 'COMMITTED')),
    expires_at  timestamptz NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (order_id, variant_id)
);
CREATE INDEX stock_holds_expiry_idx ON stock_holds (expires_at) WHERE status = 'HELD';
