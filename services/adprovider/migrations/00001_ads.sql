-- Ads: sponsored products. Table names are unqualified: the pool's
-- search_path is the adprovider schema.

-- +goose Up
CREATE TABLE ads (
    ad_id          text        PRIMARY KEY,
    asin           text        NOT NULL CHECK (asin ~ '^[0-9A-Z]{10}$'),
    title          text        NOT NULL,
    image_url      text        NOT NULL DEFAULT '',
    price_currency text        NOT NULL,
    price_units    bigint      NOT NULL,
    price_nanos    integer     NOT NULL CHECK (price_nanos BETWEEN -999999999 AND 999999999),
    ad_text        text        NOT NULL DEFAULT '',
    redirect_url   text        NOT NULL DEFAULT '',
    -- categories as the advertiser wrote them, for display; category_keys
    -- holds them lower-cased for matching.
    categories     text[]      NOT NULL DEFAULT '{}',
    category_keys  text[]      NOT NULL DEFAULT '{}',
    -- keywords are only ever matched, so they are stored lower-cased.
    keywords       text[]      NOT NULL DEFAULT '{}',
    bid_currency   text        NOT NULL,
    bid_micros     bigint      NOT NULL CHECK (bid_micros >= 0),
    active         boolean     NOT NULL DEFAULT true,
    create_time    timestamptz NOT NULL DEFAULT now()
);

-- Targeting: context keys are matched with && against both arrays.
CREATE INDEX ads_category_keys_gin ON ads USING gin (category_keys);
CREATE INDEX ads_keywords_gin ON ads USING gin (keywords);
-- The viewed product's categories are looked up by ASIN.
CREATE INDEX ads_asin ON ads (asin);
-- Highest bid first among active ads, and the random fallback, only ever
-- look at active rows.
CREATE INDEX ads_active_bid ON ads (bid_micros DESC, ad_id) WHERE active;
-- ListAds: keyset pagination, newest first.
CREATE INDEX ads_create_time ON ads (create_time DESC, ad_id DESC);

-- +goose Down
DROP TABLE ads;
