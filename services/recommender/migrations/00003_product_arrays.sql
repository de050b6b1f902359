-- +goose Up

-- What the API returns of a product's jsonb columns, as arrays PostgreSQL
-- keeps in step (generated columns), so reading a product decodes no JSON:
-- decoding related, sales_rank and categories with encoding/json on every
-- row took a third of the service's CPU on ListProducts. The jsonb columns
-- stay the source that writes set.

-- +goose StatementBegin
-- The strings of a jsonb array, in order; '{}' for anything else.
CREATE FUNCTION jsonb_text_array(j jsonb) RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN jsonb_typeof(j) = 'array'
        THEN ARRAY(SELECT e FROM jsonb_array_elements_text(j) WITH ORDINALITY AS t(e, n) ORDER BY n)
        ELSE '{}'::text[] END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
-- The keys of a jsonb object of numbers, sorted, and their values.
CREATE FUNCTION jsonb_object_keys_sorted(j jsonb) RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN jsonb_typeof(j) = 'object'
        THEN ARRAY(SELECT k FROM jsonb_object_keys(j) AS k ORDER BY k)
        ELSE '{}'::text[] END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION jsonb_object_values_sorted(j jsonb) RETURNS bigint[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN jsonb_typeof(j) = 'object'
        THEN ARRAY(SELECT (j->>k)::bigint FROM jsonb_object_keys(j) AS k ORDER BY k)
        ELSE '{}'::bigint[] END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
-- Category paths flattened (every path's names, root first, one path after
-- the other) and the length of each path, to cut the flat list back.
CREATE FUNCTION jsonb_paths_flat(j jsonb) RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN jsonb_typeof(j) = 'array'
        THEN ARRAY(SELECT e FROM jsonb_array_elements(j) WITH ORDINALITY AS p(path, i),
            jsonb_array_elements_text(CASE WHEN jsonb_typeof(path) = 'array' THEN path ELSE '[]' END) WITH ORDINALITY AS t(e, n)
            ORDER BY i, n)
        ELSE '{}'::text[] END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION jsonb_paths_lengths(j jsonb) RETURNS integer[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN jsonb_typeof(j) = 'array'
        THEN ARRAY(SELECT CASE WHEN jsonb_typeof(path) = 'array' THEN jsonb_array_length(path) ELSE 0 END
            FROM jsonb_array_elements(j) WITH ORDINALITY AS p(path, i) ORDER BY i)
        ELSE '{}'::integer[] END
$$;
-- +goose StatementEnd

ALTER TABLE products
    ADD COLUMN also_bought        text[]    GENERATED ALWAYS AS (jsonb_text_array(related->'also_bought')) STORED,
    ADD COLUMN also_viewed        text[]    GENERATED ALWAYS AS (jsonb_text_array(related->'also_viewed')) STORED,
    ADD COLUMN bought_together    text[]    GENERATED ALWAYS AS (jsonb_text_array(related->'bought_together')) STORED,
    ADD COLUMN buy_after_viewing  text[]    GENERATED ALWAYS AS (jsonb_text_array(related->'buy_after_viewing')) STORED,
    ADD COLUMN sales_rank_keys    text[]    GENERATED ALWAYS AS (jsonb_object_keys_sorted(sales_rank)) STORED,
    ADD COLUMN sales_rank_values  bigint[]  GENERATED ALWAYS AS (jsonb_object_values_sorted(sales_rank)) STORED,
    ADD COLUMN category_path_names   text[]    GENERATED ALWAYS AS (jsonb_paths_flat(categories)) STORED,
    ADD COLUMN category_path_lengths integer[] GENERATED ALWAYS AS (jsonb_paths_lengths(categories)) STORED;

-- +goose Down
ALTER TABLE products
    DROP COLUMN also_bought, DROP COLUMN also_viewed, DROP COLUMN bought_together, DROP COLUMN buy_after_viewing,
    DROP COLUMN sales_rank_keys, DROP COLUMN sales_rank_values,
    DROP COLUMN category_path_names, DROP COLUMN category_path_lengths;
DROP FUNCTION jsonb_paths_lengths(jsonb);
DROP FUNCTION jsonb_paths_flat(jsonb);
DROP FUNCTION jsonb_object_values_sorted(jsonb);
DROP FUNCTION jsonb_object_keys_sorted(jsonb);
DROP FUNCTION jsonb_text_array(jsonb);
