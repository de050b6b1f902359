// A tour of breakwater from TypeScript: list products, get recommendations
// with ads, create a review safely retried, read the breakers, and, with
// --break (and ADMIN_TOKEN), force a breaker open to show what a client sees.
//
//   RECOMMENDER_ADDR=localhost:8000 ADPROVIDER_ADDR=localhost:8001 \
//   ADMIN_TOKEN=dev-admin-token npm start -- --break

import { randomUUID } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";

import { BreakerMode, BreakerState, type Breaker } from "../../../gen/ts/breaker/v1/breaker_pb";
import { adminHeaders, circuitOpen, configFromEnv, connect, describeDegraded, fieldViolations } from "./client";

const usage = `usage: npm start -- [--break]

A tour of breakwater: products, recommendations with ads, a safely retried
review, the breakers. With --break (and ADMIN_TOKEN set), it forces
AdProvider's database breaker open to show what a client gets, then puts it
back to AUTO.

Environment: RECOMMENDER_ADDR (localhost:8000), ADPROVIDER_ADDR
(localhost:8001), ADMIN_TOKEN (needed by --break).`;

async function main(args: string[]): Promise<void> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(usage);
    return;
  }
  const unknown = args.filter((a) => a !== "--break");
  if (unknown.length > 0) {
    // An unknown flag is most often a typo of --break: running the tour
    // without it would look like --break did nothing.
    console.error(`unknown argument${unknown.length > 1 ? "s" : ""}: ${unknown.join(" ")}\n\n${usage}`);
    process.exitCode = 2;
    return;
  }
  const cfg = configFromEnv();
  const c = connect(cfg);
  console.log(`Recommender ${cfg.recommenderAddr}, AdProvider ${cfg.adProviderAddr}\n`);

  // 1. A page of the catalog (AIP-158: pass next_page_token back for more).
  const page = await c.recommender.listProducts({ pageSize: 3 });
  console.log("Products:");
  for (const p of page.products) {
    console.log(`  ${p.asin}  ${p.title}`);
  }
  const asin = page.products[0]?.asin;
  if (asin === undefined) {
    throw new Error("the catalog is empty");
  }

  // 2. Recommendations for a product, with sponsored ads. `degraded` lists
  //    what failed while answering; the answer is still usable.
  const recs = await c.recommender.listRecommendations({ asin, maxResults: 3 });
  console.log(`\nRecommended with ${asin}:`);
  for (const r of recs.recommendations) {
    console.log(`  ${r.product?.asin}  ${r.reason.padEnd(20)} ${r.product?.title}`);
  }
  console.log("Ads:");
  for (const ad of recs.ads) {
    console.log(`  ${ad.adId}: ${ad.title}`);
  }
  reportDegraded(recs.degraded);

  // 3. A review with a request id: a retry after a lost answer (timeout,
  //    dropped connection) sends the same id and gets the same review back,
  //    never a duplicate.
  const requestId = randomUUID();
  const review = {
    asin,
    reviewerId: "node-client",
    reviewerName: "Node client example",
    overall: 5,
    summary: "Written by examples/node-client",
  };
  const first = await c.recommender.createReview({ review, requestId });
  const retry = await c.recommender.createReview({ review, requestId });
  console.log(`\nCreated review ${first.review?.reviewId}; the retry returned ${retry.review?.reviewId} (same id: no duplicate)`);

  // A request that breaks the contract's rules names every broken field.
  try {
    await c.recommender.createReview({ review: { ...review, overall: 9 }, requestId: randomUUID() });
  } catch (err) {
    console.log(`A review with 9 stars: ${Code[ConnectError.from(err).code]}`);
    for (const v of fieldViolations(err)) {
      console.log(`  ${v.field}: ${v.description}`);
    }
  }

  // 4. The breakers of each service.
  const [recBreakers, adBreakers] = await Promise.all([
    c.recommenderBreakers.listBreakers({}),
    c.adProviderBreakers.listBreakers({}),
  ]);
  console.log("\nBreakers:");
  for (const b of [...recBreakers.breakers, ...adBreakers.breakers]) {
    console.log(`  ${describeBreaker(b)}`);
  }

  if (!args.includes("--break")) {
    console.log("\nRun with --break (and ADMIN_TOKEN set) to force a breaker open and see what a client gets.");
    return;
  }

  // 5. Force AdProvider's database breaker open: AdProvider's GetAds now
  //    fails fast with CIRCUIT_OPEN, and the Recommender serves house ads,
  //    saying so in `degraded`.
  const name = "adprovider/postgres";
  const admin = adminHeaders(cfg.adminToken);
  await c.adProviderBreakers.setBreakerMode({ name, mode: BreakerMode.FORCED_OPEN }, admin);
  try {
    try {
      await c.adProvider.getAds({ contextKeys: ["pens"] });
      console.log("\nAdProvider answered although its breaker is forced open?");
    } catch (err) {
      const open = circuitOpen(err);
      if (open === undefined) {
        throw err;
      }
      const when = open.retryAfterMs === undefined ? "later (the server sent no RetryInfo)" : `in ${open.retryAfterMs} ms`;
      console.log(`\nAdProvider GetAds: rejected by breaker ${open.breaker}; retry ${when}`);
    }
    const ads = await c.recommender.getAds({ contextKeys: ["pens"] });
    console.log(`Recommender GetAds: ${ads.ads.length} ads`);
    reportDegraded(ads.degraded);
  } finally {
    await c.adProviderBreakers.setBreakerMode({ name, mode: BreakerMode.AUTO }, admin);
    await c.adProviderBreakers.resetBreaker({ name }, admin);
    console.log(`\n${name} is back to AUTO.`);
  }
}

function reportDegraded(degraded: Parameters<typeof describeDegraded>[0]): void {
  const lines = describeDegraded(degraded);
  console.log(lines.length === 0 ? "Degraded: no, a full answer" : `Degraded: ${lines.join("; ")}`);
}

function describeBreaker(b: Breaker): string {
  const c = b.counters;
  return `${b.name}: ${BreakerState[b.state]}, mode ${BreakerMode[b.mode]}, ` +
    `${c?.successes ?? 0n} ok / ${c?.failures ?? 0n} failed / ${c?.rejections ?? 0n} rejected`;
}

main(process.argv.slice(2)).catch((err) => {
  console.error(err instanceof ConnectError ? `${err.message}` : err);
  process.exitCode = 1;
});
