"""What a client sees while the database is really down: breakers that
opened by their own rules, so the rejection carries a RetryInfo.
internal/e2e runs this file with BREAKWATER_DATABASE_DOWN=1 while PostgreSQL
is killed; otherwise it is skipped."""

from __future__ import annotations

import os
import time
import unittest
from typing import Callable, Set

import grpc

import breakwater_client as bw

from .helpers import KNOWN_ASIN, SystemTest

DOWN = os.environ.get("BREAKWATER_DATABASE_DOWN") == "1"
SKIP_REASON = "needs a database outage: internal/e2e runs it with BREAKWATER_DATABASE_DOWN=1"


@unittest.skipUnless(DOWN, SKIP_REASON)
class DatabaseOutageTest(SystemTest):
    def until_retry_info(self, call: Callable[[], object]) -> bw.CircuitOpenError:
        """Calls until a breaker rejects the call with a RetryInfo. A breaker
        whose database is down cycles open → half-open (one probe passes and
        fails against the dead database) → open, so a few calls may see
        other answers first."""
        seen: Set[str] = set()
        for _ in range(200):
            try:
                call()
                seen.add("OK")
            except bw.CircuitOpenError as e:
                if e.retry_after is not None:
                    return e
                seen.add(f"CIRCUIT_OPEN from {e.breaker} without RetryInfo")
            except bw.CallError as e:
                self.assertIs(e.code, grpc.StatusCode.UNAVAILABLE, f"want UNAVAILABLE while the database is down: {e}")
                seen.add(e.message)
            time.sleep(0.05)
        self.fail(f"no rejection with a RetryInfo; saw {sorted(seen)}")

    def test_recommender_rejects_with_circuit_open_and_retry_info(self):
        e = self.until_retry_info(lambda: self.c.recommender.get_product(KNOWN_ASIN))
        self.assertEqual(e.breaker, "recommender/postgres")
        self.assertTrue(0 < e.retry_after <= 60, f"retry after {e.retry_after} s")

    def test_adprovider_rejects_with_circuit_open_and_retry_info(self):
        e = self.until_retry_info(lambda: self.c.adprovider.get_ads(context_keys=["pens"]))
        self.assertEqual(e.breaker, "adprovider/postgres")
        self.assertGreater(e.retry_after, 0)

    def test_recommenders_get_ads_still_answers_with_house_ads(self):
        resp = self.c.recommender.get_ads(context_keys=["pens"])
        self.assertGreater(len(resp.ads), 0)
        self.assertEqual([(d.dependency, d.fallback) for d in resp.degraded], [("adprovider", "house_ads")])
        self.assertEqual(len(self.degraded.calls), 1)


if __name__ == "__main__":
    unittest.main()
