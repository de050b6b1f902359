// AdProviderService: every RPC, with its answers and its errors.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Code } from "@connectrpc/connect";

import { admin, clients, randomAsin, rejects, violatedFields } from "./helpers";

const ads = clients.adProvider;

function listing(asin: string) {
  return {
    ad: {
      asin,
      title: "node-client test ad",
      price: { currencyCode: "USD", units: 5n },
    },
    keywords: ["node-client-test"],
    bid: { currencyCode: "USD", units: 9n }, // outbids the sample inventory
    active: true,
  };
}

describe("AdProviderService", () => {
  test("GetAds matches the context, at most max_ads, never the viewed product", async () => {
    const { ads: some } = await ads.getAds({ contextKeys: ["pens"], maxAds: 3 });
    assert.ok(some.length > 0 && some.length <= 3);
    const viewed = some[0].asin;
    const { ads: others } = await ads.getAds({ contextKeys: ["pens"], asin: viewed, maxAds: 10 });
    assert.ok(others.every((a) => a.asin !== viewed));
  });

  test("GetAds: INVALID_ARGUMENT for max_ads over 10", async () => {
    const err = await rejects(ads.getAds({ maxAds: 11 }), Code.InvalidArgument);
    assert.deepEqual(violatedFields(err), ["max_ads"]);
  });

  test("ListAds pages through the inventory", async () => {
    const first = await ads.listAds({ pageSize: 2 });
    assert.equal(first.listings.length, 2);
    assert.notEqual(first.nextPageToken, "");
    const second = await ads.listAds({ pageSize: 2, pageToken: first.nextPageToken });
    const ids = new Set(first.listings.map((l) => l.ad?.adId));
    assert.ok(second.listings.every((l) => !ids.has(l.ad?.adId)));
  });

  test("CreateAd without the admin token, or with a wrong one, is UNAUTHENTICATED", async () => {
    await rejects(ads.createAd({ listing: listing(randomAsin()) }), Code.Unauthenticated);
    await rejects(
      ads.createAd({ listing: listing(randomAsin()) }, { headers: { authorization: "Bearer wrong" } }),
      Code.Unauthenticated,
    );
  });

  test("CreateAd with the token stores the listing, and GetAds serves it", async () => {
    const asin = randomAsin();
    const { listing: created } = await ads.createAd({ listing: listing(asin) }, admin);
    assert.ok(created?.ad?.adId);
    assert.equal(created?.ad?.redirectUrl, `/product/${asin}`);
    assert.ok(created?.createTime);
    const { ads: served } = await ads.getAds({ contextKeys: ["node-client-test"], maxAds: 10 });
    assert.ok(served.some((a) => a.adId === created?.ad?.adId));
  });

  test("CreateAd: INVALID_ARGUMENT names every broken field", async () => {
    const err = await rejects(
      ads.createAd({ listing: { ad: { asin: "bad", title: "" }, active: true } }, admin),
      Code.InvalidArgument,
    );
    assert.deepEqual(violatedFields(err), ["listing.ad.asin", "listing.ad.price", "listing.ad.title", "listing.bid"]);
  });
});
