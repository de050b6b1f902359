-- +goose Up

-- One row per (category name, product), for ListProducts' category filter:
-- a page is then the next rows of one index in ASIN order, whatever the
-- size of the category, where the GIN index on category_names had to fetch
-- and sort every product of the category for each page. Kept by a trigger in
-- the transaction that writes the product (not deferred by bulk imports:
-- it is catalog data, read at once).
CREATE TABLE product_categories (
    name text NOT NULL,
    asin text NOT NULL REFERENCES products (asin) ON DELETE CASCADE,
    PRIMARY KEY (name, asin)
);

-- +goose StatementBegin
CREATE FUNCTION products_categories_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM product_categories c USING new_products n
        WHERE c.asin = n.asin AND c.name <> ALL (n.category_names);
    END IF;
    INSERT INTO product_categories (name, asin)
    SELECT DISTINCT c, n.asin FROM new_products n, unnest(n.category_names) AS c
    ORDER BY 1, 2
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER products_categories_inserted AFTER INSERT ON products
    REFERENCING NEW TABLE AS new_products FOR EACH STATEMENT EXECUTE FUNCTION products_categories_changed();
CREATE TRIGGER products_categories_updated AFTER UPDATE ON products
    REFERENCING NEW TABLE AS new_products FOR EACH STATEMENT EXECUTE FUNCTION products_categories_changed();

INSERT INTO product_categories (name, asin)
SELECT DISTINCT c, p.asin FROM products p, unnest(p.category_names) AS c;

-- +goose Down
DROP TRIGGER products_categories_updated ON products;
DROP TRIGGER products_categories_inserted ON products;
DROP FUNCTION products_categories_changed();
DROP TABLE product_categories;
