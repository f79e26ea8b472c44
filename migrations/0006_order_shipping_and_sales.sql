-- Orders ship somewhere: the address is kept on the order (a copy, so later profile edits do
-- not move a placed order). Orders placed before this migration have none.
ALTER TABLE orders ADD COLUMN shipping_address jsonb;

-- A seller's sales, newest first: the lines of one seller, then their orders by creation.
DROP INDEX order_lines_seller_idx;
CREATE INDEX order_lines_seller_idx ON order_lines (seller_id, order_id);
