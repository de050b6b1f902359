// BreakerAdminService on both services, and what callers get while a breaker
// is forced open: the contract's CIRCUIT_OPEN error, or a degraded answer.

import assert from "node:assert/strict";
import { after, afterEach, describe, test } from "node:test";
import { Code } from "@connectrpc/connect";

import { BreakerKind, BreakerMode, BreakerState } from "../../../gen/ts/breaker/v1/breaker_pb";
import { circuitOpen, describeDegraded } from "../src/client";
import { admin, clients, knownAsin, rejects, restoreBreakers, violatedFields } from "./helpers";

const { recommender, adProvider, recommenderBreakers, adProviderBreakers } = clients;
const services = [
  { service: "Recommender", b: recommenderBreakers, db: "recommender/postgres" },
  { service: "AdProvider", b: adProviderBreakers, db: "adprovider/postgres" },
];

/** The Recommender's breaker for AdProvider's GetAds: "<target>/<service>/<method>". */
async function getAdsBreaker(): Promise<string> {
  await recommender.getAds({}); // breakers are made on first use
  const { breakers } = await recommenderBreakers.listBreakers({});
  const b = breakers.find((b) => b.method === "/adprovider.v1.AdProviderService/GetAds");
  assert.ok(b, "the Recommender has no breaker for AdProvider's GetAds");
  assert.equal(b.kind, BreakerKind.GRPC_METHOD);
  assert.equal(b.name, "adprovider/adprovider.v1.AdProviderService/GetAds");
  return b.name;
}

describe("BreakerAdminService", () => {
  afterEach(restoreBreakers);
  after(restoreBreakers);

  for (const { service, b, db } of services) {
    test(`${service}: ListBreakers and GetBreaker show its database breaker, closed`, async () => {
      const { breakers } = await b.listBreakers({});
      const names = breakers.map((x) => x.name);
      assert.deepEqual(names, [...names].sort());
      assert.ok(names.includes(db), `${db} not in ${names}`);
      const { breaker } = await b.getBreaker({ name: db });
      assert.equal(breaker?.kind, BreakerKind.DATABASE);
      assert.equal(breaker?.state, BreakerState.CLOSED);
      assert.equal(breaker?.mode, BreakerMode.AUTO);
    });

    test(`${service}: GetBreaker is NOT_FOUND for an unknown name, INVALID_ARGUMENT for an empty one`, async () => {
      await rejects(b.getBreaker({ name: "no-such-breaker" }), Code.NotFound);
      const err = await rejects(b.getBreaker({ name: "" }), Code.InvalidArgument);
      assert.deepEqual(violatedFields(err), ["name"]);
    });

    test(`${service}: SetBreakerMode and ResetBreaker need the admin token`, async () => {
      await rejects(b.setBreakerMode({ name: db, mode: BreakerMode.FORCED_OPEN }), Code.Unauthenticated);
      await rejects(b.resetBreaker({ name: db }), Code.Unauthenticated);
      const { breaker } = await b.getBreaker({ name: db });
      assert.equal(breaker?.mode, BreakerMode.AUTO);
    });

    test(`${service}: SetBreakerMode: INVALID_ARGUMENT for an unset mode, NOT_FOUND for an unknown breaker`, async () => {
      const err = await rejects(b.setBreakerMode({ name: db }, admin), Code.InvalidArgument);
      assert.deepEqual(violatedFields(err), ["mode"]);
      await rejects(b.setBreakerMode({ name: "no-such-breaker", mode: BreakerMode.AUTO }, admin), Code.NotFound);
    });

    test(`${service}: FORCED_CLOSED admits every call; AUTO and ResetBreaker hand it back`, async () => {
      const set = await b.setBreakerMode({ name: db, mode: BreakerMode.FORCED_CLOSED }, admin);
      assert.equal(set.breaker?.mode, BreakerMode.FORCED_CLOSED);
      assert.equal(set.breaker?.state, BreakerState.CLOSED);
      await recommender.getProduct({ asin: knownAsin });
      await adProvider.getAds({ contextKeys: ["pens"] });
      await b.setBreakerMode({ name: db, mode: BreakerMode.AUTO }, admin);
      const reset = await b.resetBreaker({ name: db }, admin);
      assert.equal(reset.breaker?.mode, BreakerMode.AUTO);
      assert.equal(reset.breaker?.state, BreakerState.CLOSED);
      assert.equal(reset.breaker?.counters?.failures ?? 0n, 0n);
    });
  }

  test("AdProvider's database breaker forced open: its GetAds is UNAVAILABLE with CIRCUIT_OPEN, the Recommender serves house ads", async () => {
    const { breaker } = await adProviderBreakers.setBreakerMode({ name: "adprovider/postgres", mode: BreakerMode.FORCED_OPEN }, admin);
    assert.equal(breaker?.state, BreakerState.OPEN);
    assert.equal(breaker?.recentTransitions[0]?.to, BreakerState.OPEN);

    const err = await rejects(adProvider.getAds({ contextKeys: ["pens"] }), Code.Unavailable);
    const open = circuitOpen(err);
    // Forced open, the breaker cannot know when it will close; its RetryInfo
    // still tells the client to wait (the breaker's first open period).
    assert.equal(open?.breaker, "adprovider/postgres");
    assert.ok((open?.retryAfterMs ?? 0) > 0, `RetryInfo missing or zero: ${JSON.stringify(open)}`);
    await rejects(adProvider.listAds({}), Code.Unavailable);

    const resp = await recommender.getAds({ contextKeys: ["pens"] });
    assert.ok(resp.ads.length > 0, "no house ads");
    assert.equal(resp.degraded.length, 1);
    assert.equal(resp.degraded[0].dependency, "adprovider");
    assert.equal(resp.degraded[0].fallback, "house_ads");
    assert.match(describeDegraded(resp.degraded)[0], /^adprovider failed \(.+\); served house_ads$/);

    const rejected = await adProviderBreakers.getBreaker({ name: "adprovider/postgres" });
    assert.ok((rejected.breaker?.counters?.rejections ?? 0n) >= 2n);
  });

  test("the Recommender's GetAds breaker forced open: recommendations still come, with house ads, degraded circuit_open", async () => {
    const name = await getAdsBreaker();
    await recommenderBreakers.setBreakerMode({ name, mode: BreakerMode.FORCED_OPEN }, admin);

    const resp = await recommender.listRecommendations({ asin: knownAsin, maxResults: 3 });
    assert.ok(resp.recommendations.length > 0);
    assert.ok(resp.ads.length > 0);
    assert.deepEqual(
      resp.degraded.map((d) => [d.dependency, d.reason, d.fallback]),
      [["adprovider", "circuit_open", "house_ads"]],
    );
  });

  test("the Recommender's database breaker forced open: reads and writes are UNAVAILABLE with CIRCUIT_OPEN, recommendations fall back to the last good answer once their own breaker is open too", async () => {
    const key = { asin: knownAsin, maxResults: 4 };
    const good = await recommender.listRecommendations(key);
    await recommenderBreakers.setBreakerMode({ name: "recommender/postgres", mode: BreakerMode.FORCED_OPEN }, admin);

    for (const call of [
      () => recommender.getProduct({ asin: knownAsin }),
      () => recommender.listProducts({}),
      () => recommender.createReview({ review: { asin: knownAsin, reviewerId: "node-client", overall: 3 } }),
    ]) {
      const err = await rejects(call(), Code.Unavailable);
      assert.equal(circuitOpen(err)?.breaker, "recommender/postgres");
      assert.ok((circuitOpen(err)?.retryAfterMs ?? 0) > 0, "no RetryInfo on a forced-open rejection");
    }

    // Recommendations run on a pool and breaker of their own (a bulkhead):
    // with the catalog's breaker open they are still fresh.
    const fresh = await recommender.listRecommendations(key);
    assert.deepEqual(
      fresh.degraded.filter((d) => d.dependency === "database").map((d) => d.fallback),
      [],
    );
    await recommenderBreakers.setBreakerMode(
      { name: "recommender/postgres-recommendations", mode: BreakerMode.FORCED_OPEN },
      admin,
    );
    const cached = await recommender.listRecommendations(key);
    assert.deepEqual(
      cached.recommendations.map((r) => r.product?.asin),
      good.recommendations.map((r) => r.product?.asin),
    );
    assert.deepEqual(
      cached.degraded.filter((d) => d.dependency === "database").map((d) => d.fallback),
      ["last_good_answer"],
    );
  });
});
