#!/usr/bin/env python3
"""A tour of breakwater from Python: list products, get recommendations with
ads, create a review safely retried, read the breakers, and, with --break
(and ADMIN_TOKEN), force a breaker open to show what a client sees.

    RECOMMENDER_ADDR=localhost:8000 ADPROVIDER_ADDR=localhost:8001 \\
    ADMIN_TOKEN=dev-admin-token /usr/bin/python3 tour.py --break
"""

from __future__ import annotations

import argparse
import sys
import uuid
from typing import Sequence

import breakwater_client as bw
from breakwater_client import breaker_pb2, recommender_pb2


def parse_args(args: Sequence[str]) -> argparse.Namespace:
    """--help explains; an unknown argument (a typo of --break, say) is an
    error with the usage, exit status 2, rather than a tour without it."""
    parser = argparse.ArgumentParser(
        prog="tour.py",
        description="A tour of breakwater: products, recommendations with ads, a safely retried "
        "review, the breakers.",
        epilog="Environment: RECOMMENDER_ADDR (localhost:8000), ADPROVIDER_ADDR (localhost:8001), "
        "ADMIN_TOKEN (needed by --break).")
    parser.add_argument("--break", dest="break_", action="store_true",
                        help="force AdProvider's database breaker open to show what a client gets, "
                        "then put it back to AUTO (needs ADMIN_TOKEN)")
    return parser.parse_args(args)


def main(args: Sequence[str]) -> int:
    opts = parse_args(args)
    cfg = bw.Config.from_env()
    # The tour prints degradations itself; the default handler would log them too.
    with bw.connect(cfg, on_degraded=None) as c:
        print(f"Recommender {cfg.recommender_addr}, AdProvider {cfg.adprovider_addr}\n")

        # 1. A page of the catalog (AIP-158: pass next_page_token back for more).
        page = c.recommender.list_products(page_size=3)
        print("Products:")
        for p in page.products:
            print(f"  {p.asin}  {p.title}")
        if not page.products:
            raise SystemExit("the catalog is empty")
        asin = page.products[0].asin

        # 2. Recommendations for a product, with sponsored ads. `degraded`
        #    lists what failed while answering; the answer is still usable.
        recs = c.recommender.list_recommendations(asin=asin, max_results=3)
        print(f"\nRecommended with {asin}:")
        for r in recs.recommendations:
            print(f"  {r.product.asin}  {r.reason:<20} {r.product.title}")
        print("Ads:")
        for ad in recs.ads:
            print(f"  {ad.ad_id}: {ad.title}")
        report_degraded(recs.degraded)

        # 3. A review with a request id: a retry after a lost answer (timeout,
        #    dropped connection) sends the same id and gets the same review
        #    back, never a duplicate. create_review retries by itself; here
        #    the retry is made by hand to show it.
        review = recommender_pb2.Review(
            asin=asin,
            reviewer_id="python-client",
            reviewer_name="Python client example",
            overall=5,
            summary="Written by examples/python-client",
        )
        request_id = str(uuid.uuid4())
        first = c.recommender.create_review(review, request_id=request_id)
        retry = c.recommender.create_review(review, request_id=request_id)
        print(f"\nCreated review {first.review_id}; the retry returned {retry.review_id}"
              f"{' (same id: no duplicate)' if retry.review_id == first.review_id else ' (a DUPLICATE)'}")

        # A request that breaks the contract's rules names every broken field.
        bad = recommender_pb2.Review()
        bad.CopyFrom(review)
        bad.overall = 9
        try:
            c.recommender.create_review(bad)
            print("A review with 9 stars was accepted?")
        except bw.InvalidArgumentError as e:
            print(f"A review with 9 stars: {e.code.name}")
            for v in e.field_violations:
                print(f"  {v.field}: {v.description}")

        # 4. The breakers of each service.
        print("\nBreakers:")
        for b in c.recommender_breakers.list_breakers() + c.adprovider_breakers.list_breakers():
            print(f"  {describe_breaker(b)}")

        if not opts.break_:
            print("\nRun with --break (and ADMIN_TOKEN set) to force a breaker open and see what a client gets.")
            return 0

        # 5. Force AdProvider's database breaker open: AdProvider's GetAds now
        #    fails fast with CIRCUIT_OPEN, and the Recommender serves house
        #    ads, saying so in `degraded`.
        name = "adprovider/postgres"
        c.adprovider_breakers.set_breaker_mode(name, breaker_pb2.BREAKER_MODE_FORCED_OPEN)
        try:
            try:
                c.adprovider.get_ads(context_keys=["pens"])
                print("\nAdProvider answered although its breaker is forced open?")
            except bw.CircuitOpenError as e:
                when = "later (no RetryInfo)" if e.retry_after is None else f"in {e.retry_after:g} s"
                print(f"\nAdProvider GetAds: rejected by breaker {e.breaker}; retry {when}")
            ads = c.recommender.get_ads(context_keys=["pens"])
            print(f"Recommender GetAds: {len(ads.ads)} ads")
            report_degraded(ads.degraded)
        finally:
            c.adprovider_breakers.set_breaker_mode(name, breaker_pb2.BREAKER_MODE_AUTO)
            c.adprovider_breakers.reset_breaker(name)
            print(f"\n{name} is back to AUTO.")
    return 0


def report_degraded(degraded: Sequence[recommender_pb2.Degradation]) -> None:
    lines = bw.describe_degraded(degraded)
    print("Degraded: " + ("; ".join(lines) if lines else "no, a full answer"))


def describe_breaker(b: breaker_pb2.Breaker) -> str:
    state = breaker_pb2.BreakerState.Name(b.state).removeprefix("BREAKER_STATE_")
    mode = breaker_pb2.BreakerMode.Name(b.mode).removeprefix("BREAKER_MODE_")
    k = b.counters
    return (f"{b.name}: {state}, mode {mode}, "
            f"{k.successes} ok / {k.failures} failed / {k.rejections} rejected")


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except bw.CallError as err:
        print(err, file=sys.stderr)
        sys.exit(1)
