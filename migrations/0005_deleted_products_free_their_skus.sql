-- A deleted product's variants leave with it: marking them removed frees their SKUs for the
-- seller's other products (the SKU index only counts variants not removed). Deletions made
-- before this migration get the same treatment, dated by their product's deletion.
UPDATE variants v
SET removed_at = p.deleted_at
FROM products p
WHERE v.product_id = p.id
  AND p.deleted_at IS NOT NULL
  AND v.removed_at IS NULL;
