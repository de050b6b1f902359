// RecommenderService: every RPC, with its answers and its errors.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, test } from "node:test";
import { Code } from "@connectrpc/connect";

import { admin, assertFull, clients, knownAsin, randomAsin, rejects, violatedFields } from "./helpers";

const rec = clients.recommender;

async function newProduct(): Promise<string> {
  const asin = randomAsin();
  await rec.createProduct({
    product: {
      asin,
      title: "node-client test product",
      categories: [{ path: ["Office Products", "Pens"] }],
      price: { currencyCode: "USD", units: 3n, nanos: 500_000_000 },
    },
  }, admin);
  return asin;
}

describe("RecommenderService", () => {
  test("ListProducts pages through the catalog in ASIN order", async () => {
    const first = await rec.listProducts({ pageSize: 2 });
    assert.equal(first.products.length, 2);
    assert.ok(first.products[0].asin < first.products[1].asin);
    assert.notEqual(first.nextPageToken, "");
    const second = await rec.listProducts({ pageSize: 2, pageToken: first.nextPageToken });
    assert.ok(second.products[0].asin > first.products[1].asin);
  });

  test("ListProducts keeps to a category", async () => {
    const { products } = await rec.listProducts({ pageSize: 5, category: "Pens" });
    assert.ok(products.length > 0);
    for (const p of products) {
      assert.ok(p.categories.some((c) => c.path.includes("Pens")), `${p.asin} is not in Pens`);
    }
  });

  test("ListProducts: INVALID_ARGUMENT for a page size over 1000", async () => {
    const err = await rejects(rec.listProducts({ pageSize: 5000 }), Code.InvalidArgument);
    assert.deepEqual(violatedFields(err), ["page_size"]);
  });

  test("GetProduct returns the product", async () => {
    const { product } = await rec.getProduct({ asin: knownAsin });
    assert.equal(product?.asin, knownAsin);
    assert.match(product?.title ?? "", /Swingline/);
    assert.equal(product?.price?.currencyCode, "USD");
  });

  test("GetProduct: NOT_FOUND for an unknown ASIN", async () => {
    await rejects(rec.getProduct({ asin: "B000000000" }), Code.NotFound);
  });

  test("GetProduct: INVALID_ARGUMENT with a field violation for a malformed ASIN", async () => {
    const err = await rejects(rec.getProduct({ asin: "nope" }), Code.InvalidArgument);
    assert.deepEqual(violatedFields(err), ["asin"]);
  });

  test("CreateProduct stores the product; the same ASIN again is ALREADY_EXISTS", async () => {
    const asin = await newProduct();
    const { product } = await rec.getProduct({ asin });
    assert.equal(product?.title, "node-client test product");
    assert.equal(product?.price?.units, 3n);
    await rejects(rec.createProduct({ product: { asin, title: "again" } }, admin), Code.AlreadyExists);
  });

  test("CreateProduct is an admin write: UNAUTHENTICATED without the token", async () => {
    await rejects(rec.createProduct({ product: { asin: randomAsin(), title: "unsigned" } }), Code.Unauthenticated);
    await rejects(
      rec.createProduct({ product: { asin: randomAsin(), title: "forged" } }, { headers: { authorization: "Bearer wrong" } }),
      Code.Unauthenticated,
    );
  });

  test("CreateProduct with a request id: a retry returns the product; other content is ALREADY_EXISTS", async () => {
    const requestId = randomUUID();
    const product = { asin: randomAsin(), title: "retried product" };
    const first = await rec.createProduct({ product, requestId }, admin);
    const retry = await rec.createProduct({ product, requestId }, admin);
    assert.equal(retry.product?.asin, first.product?.asin);
    assert.equal(retry.product?.title, "retried product");
    const err = await rejects(
      rec.createProduct({ product: { ...product, title: "another" }, requestId }, admin),
      Code.AlreadyExists,
    );
    assert.match(err.rawMessage, /request_id/);
  });

  test("CreateProduct: INVALID_ARGUMENT names every broken field", async () => {
    const err = await rejects(
      rec.createProduct({ product: { asin: "bad", imageUrl: "not a url", categories: [{ path: [] }] } }, admin),
      Code.InvalidArgument,
    );
    assert.deepEqual(violatedFields(err), ["product.asin", "product.categories[0].path", "product.image_url"]);
  });

  test("ListReviews of one product, newest first", async () => {
    const { reviews } = await rec.listReviews({ asin: knownAsin, pageSize: 5 });
    assert.ok(reviews.length > 1);
    for (const r of reviews) {
      assert.equal(r.asin, knownAsin);
    }
    const times = reviews.map((r) => Number(r.reviewTime?.seconds));
    assert.deepEqual(times, [...times].sort((a, b) => b - a));
  });

  test("CreateReview with a request id: a retry returns the same review and writes nothing", async () => {
    const asin = await newProduct();
    const requestId = randomUUID();
    const review = { asin, reviewerId: "node-client", overall: 4, summary: "retried" };
    const first = await rec.createReview({ review, requestId });
    const retry = await rec.createReview({ review, requestId });
    assert.ok(first.review?.reviewId);
    assert.equal(retry.review?.reviewId, first.review?.reviewId);
    const { reviews } = await rec.listReviews({ asin });
    assert.equal(reviews.length, 1);
  });

  test("CreateReview: the same request id for another review is ALREADY_EXISTS", async () => {
    const asin = await newProduct();
    const requestId = randomUUID();
    await rec.createReview({ review: { asin, reviewerId: "node-client", overall: 4 }, requestId });
    await rejects(
      rec.createReview({ review: { asin, reviewerId: "node-client", overall: 1 }, requestId }),
      Code.AlreadyExists,
    );
  });

  test("CreateReview: NOT_FOUND for an unknown product", async () => {
    await rejects(
      rec.createReview({ review: { asin: "B000000000", reviewerId: "node-client", overall: 3 } }),
      Code.NotFound,
    );
  });

  test("CreateReview: INVALID_ARGUMENT names every broken field", async () => {
    const err = await rejects(
      rec.createReview({ review: { asin: "nope", reviewerId: "node-client", overall: 9 } }),
      Code.InvalidArgument,
    );
    assert.deepEqual(violatedFields(err), ["review.asin", "review.overall"]);
  });

  test("ListRecommendations for a product: co-reviewed products, with ads, not degraded", async () => {
    const resp = await rec.listRecommendations({ asin: knownAsin, maxResults: 5 });
    assert.ok(resp.recommendations.length > 0 && resp.recommendations.length <= 5);
    assert.equal(resp.recommendations[0].reason, "co_reviewed");
    assert.ok(resp.recommendations.every((r) => r.product?.asin !== knownAsin));
    assert.ok(resp.ads.length > 0);
    assertFull(resp.degraded);
  });

  test("ListRecommendations for a reviewer leaves out what they reviewed", async () => {
    const reviewerId = "ANMKXQY8T94OMC";
    const resp = await rec.listRecommendations({ reviewerId, maxResults: 5 });
    assert.ok(resp.recommendations.length > 0);
    assert.ok(resp.recommendations.every((r) => r.product?.asin !== knownAsin), "recommended a product the reviewer reviewed");
  });

  test("ListRecommendations: INVALID_ARGUMENT for max_results over 100", async () => {
    const err = await rejects(rec.listRecommendations({ maxResults: 101 }), Code.InvalidArgument);
    assert.deepEqual(violatedFields(err), ["max_results"]);
  });

  test("GetAds: AdProvider's ads for the context, not degraded", async () => {
    const resp = await rec.getAds({ contextKeys: ["pens"], maxAds: 2 });
    assert.ok(resp.ads.length > 0 && resp.ads.length <= 2);
    assertFull(resp.degraded);
  });
});
