-- +goose Up

-- CreateProduct's request ids (AIP-155): the first request with an id
-- creates the product and records the id with a hash of the product as sent,
-- in the same statement; a retry with the same id and hash returns that
-- product, and the same id with another hash is refused.
CREATE TABLE product_requests (
    request_id   text PRIMARY KEY,
    asin         text NOT NULL,
    request_hash bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE product_requests;
