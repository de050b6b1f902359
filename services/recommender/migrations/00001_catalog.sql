-- +goose Up

-- Table names are unqualified: the pool's search_path is the service's
-- schema (recommender), set by internal/database.

CREATE TABLE products (
    asin           text PRIMARY KEY,
    title          text   NOT NULL DEFAULT '',
    description    text   NOT NULL DEFAULT '',
    image_url      text   NOT NULL DEFAULT '',
    -- {"also_bought": [...], "also_viewed": [...], "bought_together": [...],
    --  "buy_after_viewing": [...]}: read whole, never queried inside.
    related        jsonb  NOT NULL DEFAULT '{}',
    -- {"Office Products": 1234}
    sales_rank     jsonb  NOT NULL DEFAULT '{}',
    -- Category paths of different lengths, root first: [["Office Products", "Pens"]].
    -- Postgres arrays must be rectangular, so the paths are jsonb, and
    -- category_names flattens them for the category filter (GIN, @>).
    categories     jsonb  NOT NULL DEFAULT '[]',
    category_names text[] NOT NULL DEFAULT '{}',
    -- The most specific category of each path: what "popular in the same
    -- category" compares, since every product shares the root.
    leaf_categories text[] NOT NULL DEFAULT '{}',
    brand          text   NOT NULL DEFAULT '',
    -- NULL currency means no known price; units and nanos as in money.v1.Money.
    price_currency text,
    price_units    bigint NOT NULL DEFAULT 0,
    price_nanos    integer NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX products_category_names_idx ON products USING gin (category_names);
CREATE INDEX products_leaf_categories_idx ON products USING gin (leaf_categories);

CREATE TABLE reviews (
    review_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    asin          text     NOT NULL REFERENCES products (asin),
    reviewer_id   text     NOT NULL,
    reviewer_name text     NOT NULL DEFAULT '',
    helpful_votes integer  NOT NULL DEFAULT 0 CHECK (helpful_votes >= 0),
    total_votes   integer  NOT NULL DEFAULT 0 CHECK (total_votes >= helpful_votes),
    review_text   text     NOT NULL DEFAULT '',
    overall       smallint NOT NULL CHECK (overall BETWEEN 1 AND 5),
    summary       text     NOT NULL DEFAULT '',
    review_time   timestamptz NOT NULL,
    -- Idempotency key of CreateReview (and "csv:<reviewer>:<asin>" for
    -- imported rows); NULLs do not conflict with each other.
    request_id    text UNIQUE,
    -- sha256 of the request's review, to tell a replay from a reuse of the
    -- key for a different review.
    request_hash  bytea,
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- Reviews of one product, newest first (keyset on review_time, review_id),
-- and the first leg of the co-review join (asin -> reviewers).
CREATE INDEX reviews_asin_time_idx ON reviews (asin, review_time DESC, review_id DESC)
    INCLUDE (reviewer_id, overall);
-- All reviews, newest first.
CREATE INDEX reviews_time_idx ON reviews (review_time DESC, review_id DESC);
-- A reviewer's reviews, and the second leg of the co-review join
-- (reviewer -> other products), index-only with overall included.
CREATE INDEX reviews_reviewer_idx ON reviews (reviewer_id, asin) INCLUDE (overall);

-- +goose Down
DROP TABLE reviews;
DROP TABLE products;
