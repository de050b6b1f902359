-- CreateAd's request ids (AIP-155): the first request with an id creates
-- the ad and records the id with a hash of the listing as sent, in the same
-- statement; a retry with the same id and hash returns that ad, and the
-- same id with another hash is refused.

-- +goose Up
CREATE TABLE ad_requests (
    request_id   text        PRIMARY KEY,
    ad_id        text        NOT NULL,
    request_hash bytea       NOT NULL,
    create_time  timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE ad_requests;
