-- +goose Up

-- Precomputed ranking inputs, so a recommendation reads a bounded number of
-- index rows whatever the catalog size. Both tables are derived from
-- products and reviews: the triggers below keep them current in the
-- transaction that writes a review or a product, and store.Rebuild
-- recomputes them whole (after a bulk import, or a change of weighting).

-- Rating-weighted review counts, pop(Y) = Σ (overall − 1) over Y's reviews,
-- once for the whole catalog (category '') and once per leaf category of the
-- product: the "popular" and "popular_in_category" tiers.
CREATE TABLE popularity (
    category text   NOT NULL,
    asin     text   NOT NULL,
    score    bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (category, asin)
);
CREATE INDEX popularity_rank_idx ON popularity (category, score DESC, asin);

-- Co-review scores, S(X, Y) = Σ over pairs of reviews by one reviewer of X
-- and of Y ≠ X: (overall_X − 1) · (overall_Y − 1). Symmetric, stored in both
-- directions; only positive scores are kept (a one-star review adds
-- nothing). No foreign keys: derived rows, rebuilt whole.
CREATE TABLE co_reviews (
    asin  text   NOT NULL,
    other text   NOT NULL,
    score bigint NOT NULL,
    PRIMARY KEY (asin, other)
);
-- A product's neighbours, best first: the read of every recommendation.
CREATE INDEX co_reviews_rank_idx ON co_reviews (asin, score DESC, other);

-- +goose StatementBegin
-- A bulk writer (the import) sets recommender.defer_maintenance = on for its
-- transaction and calls store.Rebuild at the end, which is cheaper than
-- maintaining the tables a batch at a time.
CREATE FUNCTION maintenance_deferred() RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT coalesce(current_setting('recommender.defer_maintenance', true), '') = 'on'
$$;
-- +goose StatementEnd

-- +goose StatementBegin
-- New products get their popularity rows (score 0: a review needs its
-- product first).
CREATE FUNCTION products_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF maintenance_deferred() THEN
        RETURN NULL;
    END IF;
    INSERT INTO popularity (category, asin)
    SELECT c, n.asin FROM new_products n, unnest(array_append(n.leaf_categories, '')) AS c
    ORDER BY 1, 2
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
-- A product whose leaf categories changed moves its score with it.
CREATE FUNCTION products_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF maintenance_deferred() THEN
        RETURN NULL;
    END IF;
    DELETE FROM popularity p USING new_products n
    WHERE p.asin = n.asin AND p.category <> '' AND p.category <> ALL (n.leaf_categories);
    INSERT INTO popularity (category, asin, score)
    SELECT c, n.asin, coalesce((SELECT score FROM popularity o WHERE o.category = '' AND o.asin = n.asin), 0)
    FROM new_products n, unnest(array_append(n.leaf_categories, '')) AS c
    ORDER BY 1, 2
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
-- New reviews add to their product's popularity and to the co-review scores
-- of each pair they form with their reviewer's other reviews. Reviews by one
-- reviewer are serialised by an advisory lock, so two concurrent reviews by
-- the same person each see the other once committed and their pair is
-- counted exactly once (each statement of this function takes a fresh
-- snapshot under READ COMMITTED). A CreateReview retried with the same
-- request id inserts nothing, so it adds nothing.
CREATE FUNCTION reviews_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF maintenance_deferred() THEN
        RETURN NULL;
    END IF;
    PERFORM pg_advisory_xact_lock(k)
    FROM (SELECT DISTINCT hashtextextended('recommender.reviewer:' || reviewer_id, 0) AS k FROM new_reviews ORDER BY 1) s;

    -- Lock in key order, so concurrent writers cannot deadlock.
    PERFORM 1 FROM popularity p
    WHERE p.asin IN (SELECT asin FROM new_reviews WHERE overall > 1)
    ORDER BY p.category, p.asin FOR UPDATE;
    UPDATE popularity p SET score = p.score + d.delta
    FROM (SELECT asin, sum(overall - 1) AS delta FROM new_reviews GROUP BY asin) d
    WHERE p.asin = d.asin AND d.delta <> 0;

    INSERT INTO co_reviews AS c (asin, other, score)
    SELECT x, y, sum(s) FROM (
        SELECT n.asin AS x, b.asin AS y, (n.overall - 1) * (b.overall - 1) AS s
        FROM new_reviews n JOIN reviews b ON b.reviewer_id = n.reviewer_id AND b.asin <> n.asin
        WHERE n.overall > 1 AND b.overall > 1
        UNION ALL
        -- The other direction, unless b is new too (then it is b's own x).
        SELECT b.asin, n.asin, (n.overall - 1) * (b.overall - 1)
        FROM new_reviews n JOIN reviews b ON b.reviewer_id = n.reviewer_id AND b.asin <> n.asin
        WHERE n.overall > 1 AND b.overall > 1
            AND NOT EXISTS (SELECT 1 FROM new_reviews m WHERE m.review_id = b.review_id)
    ) t
    GROUP BY x, y
    ORDER BY x, y
    ON CONFLICT (asin, other) DO UPDATE SET score = c.score + EXCLUDED.score;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
-- Reviews are never updated or deleted by the service; the import replaces
-- rows it wrote before, with maintenance deferred and a rebuild after. Any
-- other change recomputes what the reviewers concerned contribute: the
-- scores their reviews gave before are taken away and the current ones
-- added.
CREATE FUNCTION reviews_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF maintenance_deferred() THEN
        RETURN NULL;
    END IF;
    CREATE TEMP TABLE IF NOT EXISTS changed_reviews (review_id bigint, asin text, reviewer_id text, overall smallint, sign int) ON COMMIT DROP;
    TRUNCATE changed_reviews;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO changed_reviews SELECT review_id, asin, reviewer_id, overall, -1 FROM old_reviews;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        INSERT INTO changed_reviews SELECT review_id, asin, reviewer_id, overall, 1 FROM new_reviews;
    END IF;
    PERFORM pg_advisory_xact_lock(k)
    FROM (SELECT DISTINCT hashtextextended('recommender.reviewer:' || reviewer_id, 0) AS k FROM changed_reviews ORDER BY 1) s;

    UPDATE popularity p SET score = p.score + d.delta
    FROM (SELECT asin, sum(sign * (overall - 1)) AS delta FROM changed_reviews GROUP BY asin) d
    WHERE p.asin = d.asin AND d.delta <> 0;

    -- Pair sums of the reviewers concerned, after and before the change.
    WITH who AS (SELECT DISTINCT reviewer_id FROM changed_reviews),
    after AS (
        SELECT r.review_id, r.asin, r.reviewer_id, r.overall FROM reviews r JOIN who USING (reviewer_id)
    ),
    before AS (
        SELECT * FROM after WHERE review_id NOT IN (SELECT review_id FROM changed_reviews WHERE sign = 1)
        UNION ALL
        SELECT review_id, asin, reviewer_id, overall FROM changed_reviews WHERE sign = -1
    ),
    delta AS (
        SELECT a.asin AS x, b.asin AS y, (a.overall - 1) * (b.overall - 1) AS s
        FROM after a JOIN after b ON a.reviewer_id = b.reviewer_id AND a.asin <> b.asin
        UNION ALL
        SELECT a.asin, b.asin, -(a.overall - 1) * (b.overall - 1)
        FROM before a JOIN before b ON a.reviewer_id = b.reviewer_id AND a.asin <> b.asin
    )
    INSERT INTO co_reviews AS c (asin, other, score)
    SELECT x, y, sum(s) FROM delta GROUP BY x, y HAVING sum(s) <> 0 ORDER BY x, y
    ON CONFLICT (asin, other) DO UPDATE SET score = c.score + EXCLUDED.score;
    DELETE FROM co_reviews c
    WHERE c.score <= 0 AND c.asin IN (
        SELECT r.asin FROM reviews r WHERE r.reviewer_id IN (SELECT reviewer_id FROM changed_reviews)
        UNION SELECT asin FROM changed_reviews);
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER products_inserted AFTER INSERT ON products
    REFERENCING NEW TABLE AS new_products FOR EACH STATEMENT EXECUTE FUNCTION products_inserted();
CREATE TRIGGER products_updated AFTER UPDATE ON products
    REFERENCING NEW TABLE AS new_products FOR EACH STATEMENT EXECUTE FUNCTION products_updated();
CREATE TRIGGER reviews_inserted AFTER INSERT ON reviews
    REFERENCING NEW TABLE AS new_reviews FOR EACH STATEMENT EXECUTE FUNCTION reviews_inserted();
CREATE TRIGGER reviews_updated AFTER UPDATE ON reviews
    REFERENCING OLD TABLE AS old_reviews NEW TABLE AS new_reviews FOR EACH STATEMENT EXECUTE FUNCTION reviews_changed();
CREATE TRIGGER reviews_deleted AFTER DELETE ON reviews
    REFERENCING OLD TABLE AS old_reviews FOR EACH STATEMENT EXECUTE FUNCTION reviews_changed();

-- Existing data: computed once, as store.Rebuild does.
INSERT INTO popularity (category, asin, score)
SELECT c, p.asin, coalesce(r.score, 0)
FROM products p
LEFT JOIN (SELECT asin, sum(overall - 1) AS score FROM reviews GROUP BY asin) r ON r.asin = p.asin,
    unnest(array_append(p.leaf_categories, '')) AS c
ON CONFLICT DO NOTHING;
INSERT INTO co_reviews (asin, other, score)
SELECT a.asin, b.asin, sum((a.overall - 1) * (b.overall - 1))
FROM reviews a JOIN reviews b ON b.reviewer_id = a.reviewer_id AND b.asin <> a.asin
WHERE a.overall > 1 AND b.overall > 1
GROUP BY 1, 2;

-- +goose Down
DROP TRIGGER reviews_deleted ON reviews;
DROP TRIGGER reviews_updated ON reviews;
DROP TRIGGER reviews_inserted ON reviews;
DROP TRIGGER products_updated ON products;
DROP TRIGGER products_inserted ON products;
DROP FUNCTION reviews_changed();
DROP FUNCTION reviews_inserted();
DROP FUNCTION products_updated();
DROP FUNCTION products_inserted();
DROP FUNCTION maintenance_deferred();
DROP TABLE co_reviews;
DROP TABLE popularity;
