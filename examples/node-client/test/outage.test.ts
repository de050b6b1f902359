// What a client sees while the database is really down: breakers that opened
// by their own rules, so the rejection carries a RetryInfo. internal/e2e runs
// this file with BREAKWATER_DATABASE_DOWN=1 while PostgreSQL is killed; on
// its own (npm test) it is skipped.

import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Code, ConnectError } from "@connectrpc/connect";

import { circuitOpen, type CircuitOpen } from "../src/client";
import { clients, knownAsin } from "./helpers";

const down = process.env.BREAKWATER_DATABASE_DOWN === "1";
const skip = down ? false : "needs a database outage: internal/e2e runs it with BREAKWATER_DATABASE_DOWN=1";

/**
 * untilRetryInfo calls until a breaker rejects the call with a RetryInfo. A
 * breaker that is down cycles open → half-open (one probe passes and fails
 * against the dead database) → open, so a few calls may see other answers.
 */
async function untilRetryInfo(call: () => Promise<unknown>): Promise<CircuitOpen> {
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    try {
      await call();
      seen.add("OK");
    } catch (err) {
      const open = circuitOpen(err);
      if (open?.retryAfterMs !== undefined) {
        return open;
      }
      const ce = ConnectError.from(err);
      assert.equal(ce.code, Code.Unavailable, `want UNAVAILABLE while the database is down, got ${ce.message}`);
      seen.add(ce.rawMessage);
    }
    await sleep(50);
  }
  assert.fail(`no rejection with a RetryInfo; saw ${[...seen].join(", ")}`);
}

test("database down: the Recommender rejects with CIRCUIT_OPEN and a RetryInfo", { skip }, async () => {
  const open = await untilRetryInfo(() => clients.recommender.getProduct({ asin: knownAsin }));
  assert.equal(open.breaker, "recommender/postgres");
  assert.ok(open.retryAfterMs! > 0 && open.retryAfterMs! <= 60_000, `retry after ${open.retryAfterMs} ms`);
});

test("database down: AdProvider rejects with CIRCUIT_OPEN and a RetryInfo", { skip }, async () => {
  const open = await untilRetryInfo(() => clients.adProvider.getAds({ contextKeys: ["pens"] }));
  assert.equal(open.breaker, "adprovider/postgres");
  assert.ok(open.retryAfterMs! > 0);
});

test("database down: the Recommender's GetAds still answers, with house ads", { skip }, async () => {
  const resp = await clients.recommender.getAds({ contextKeys: ["pens"] });
  assert.ok(resp.ads.length > 0);
  assert.deepEqual(resp.degraded.map((d) => [d.dependency, d.fallback]), [["adprovider", "house_ads"]]);
});
