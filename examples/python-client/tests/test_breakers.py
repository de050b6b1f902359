"""BreakerAdminService on both services, and what callers get while a
breaker is forced open: CircuitOpenError with the breaker's name and a
RetryInfo delay, or a degraded answer."""

from __future__ import annotations

import dataclasses
import unittest

import grpc

import breakwater_client as bw
from breakwater_client import breaker_pb2, recommender_pb2

from .helpers import CFG, KNOWN_ASIN, SystemTest, connect, restore_breakers

AUTO = breaker_pb2.BREAKER_MODE_AUTO
FORCED_OPEN = breaker_pb2.BREAKER_MODE_FORCED_OPEN
FORCED_CLOSED = breaker_pb2.BREAKER_MODE_FORCED_CLOSED
GET_ADS_BREAKER = "adprovider/adprovider.v1.AdProviderService/GetAds"


class BreakerTest(SystemTest):
    def setUp(self) -> None:
        super().setUp()
        self.addCleanup(restore_breakers, self.c)

    def services(self):
        return (("Recommender", self.c.recommender_breakers, "recommender/postgres"),
                ("AdProvider", self.c.adprovider_breakers, "adprovider/postgres"))


class BreakerAdminServiceTest(BreakerTest):
    def test_list_and_get_show_the_database_breaker_closed(self):
        for service, admin, db in self.services():
            with self.subTest(service):
                names = [b.name for b in admin.list_breakers()]
                self.assertEqual(names, sorted(names))
                self.assertIn(db, names)
                b = admin.get_breaker(db)
                self.assertEqual(b.kind, breaker_pb2.BREAKER_KIND_DATABASE)
                self.assertEqual(b.state, breaker_pb2.BREAKER_STATE_CLOSED)
                self.assertEqual(b.mode, AUTO)

    def test_get_breaker_not_found_and_invalid_argument(self):
        for service, admin, _ in self.services():
            with self.subTest(service):
                self.assertCode(grpc.StatusCode.NOT_FOUND, lambda: admin.get_breaker("no-such-breaker"))
                self.assertFieldViolations(["name"], lambda: admin.get_breaker(""))

    def test_writes_need_the_admin_token(self):
        for token in ("", "wrong"):
            with connect(dataclasses.replace(CFG, admin_token=token)) as c:
                for service, admin, db in (("Recommender", c.recommender_breakers, "recommender/postgres"),
                                           ("AdProvider", c.adprovider_breakers, "adprovider/postgres")):
                    with self.subTest(service, token=token):
                        self.assertCode(grpc.StatusCode.UNAUTHENTICATED,
                                        lambda: admin.set_breaker_mode(db, FORCED_OPEN))
                        self.assertCode(grpc.StatusCode.UNAUTHENTICATED, lambda: admin.reset_breaker(db))
                        self.assertEqual(admin.get_breaker(db).mode, AUTO, "a write without the token took effect")

    def test_set_breaker_mode_invalid_argument_and_not_found(self):
        for service, admin, db in self.services():
            with self.subTest(service):
                self.assertFieldViolations(["mode"], lambda: admin.set_breaker_mode(db, breaker_pb2.BREAKER_MODE_UNSPECIFIED))
                self.assertCode(grpc.StatusCode.NOT_FOUND, lambda: admin.set_breaker_mode("no-such-breaker", AUTO))

    def test_forced_closed_admits_every_call_then_auto_and_reset_hand_it_back(self):
        for service, admin, db in self.services():
            with self.subTest(service):
                b = admin.set_breaker_mode(db, FORCED_CLOSED)
                self.assertEqual((b.mode, b.state), (FORCED_CLOSED, breaker_pb2.BREAKER_STATE_CLOSED))
                self.c.recommender.get_product(KNOWN_ASIN)
                self.c.adprovider.get_ads(context_keys=["pens"])
                admin.set_breaker_mode(db, AUTO)
                b = admin.reset_breaker(db)
                self.assertEqual((b.mode, b.state), (AUTO, breaker_pb2.BREAKER_STATE_CLOSED))
                # What the tripping rules read starts afresh. (The totals,
                # such as counters.failures, are not asserted: the proto says
                # "since start or the last reset", but the breaker keeps them
                # across a reset, and earlier tests may have counted some.)
                self.assertEqual((b.counters.consecutive_failures, b.counters.window_failures), (0, 0))


class ForcedOpenTest(BreakerTest):
    def test_adprovider_database_breaker_forced_open(self):
        b = self.c.adprovider_breakers.set_breaker_mode("adprovider/postgres", FORCED_OPEN)
        self.assertEqual(b.state, breaker_pb2.BREAKER_STATE_OPEN)
        self.assertEqual(b.recent_transitions[0].to, breaker_pb2.BREAKER_STATE_OPEN)

        with self.assertRaises(bw.CircuitOpenError) as cm:
            self.c.adprovider.get_ads(context_keys=["pens"])
        err = cm.exception
        self.assertIs(err.code, grpc.StatusCode.UNAVAILABLE)
        self.assertEqual(err.breaker, "adprovider/postgres")
        # Forced open, the breaker cannot know when it will close; its
        # RetryInfo still tells the client to wait (its first open period).
        self.assertIsNotNone(err.retry_after, "no RetryInfo on a forced-open rejection")
        self.assertGreater(err.retry_after, 0)
        self.assertEqual([i.reason for i in err.details(bw.error_details_pb2.ErrorInfo)], ["CIRCUIT_OPEN"])
        with self.assertRaises(bw.CircuitOpenError):
            self.c.adprovider.list_ads()

        # The Recommender keeps answering: house ads, said in `degraded`,
        # and reported to on_degraded.
        resp = self.c.recommender.get_ads(context_keys=["pens"])
        self.assertGreater(len(resp.ads), 0, "no house ads")
        self.assertEqual([(d.dependency, d.fallback) for d in resp.degraded], [("adprovider", "house_ads")])
        self.assertRegex(bw.describe_degraded(resp.degraded)[0], r"^adprovider failed \(.+\); served house_ads$")
        self.assertEqual([m for m, _ in self.degraded.calls], ["/recommender.v1.RecommenderService/GetAds"])

        self.assertGreaterEqual(self.c.adprovider_breakers.get_breaker("adprovider/postgres").counters.rejections, 2)

    def test_the_default_handler_logs_a_degraded_answer(self):
        self.c.recommender_breakers.set_breaker_mode(self.get_ads_breaker(), FORCED_OPEN)
        with connect() as c, self.assertLogs("breakwater_client", "WARNING") as logs:
            c.recommender.get_ads(context_keys=["pens"])
        self.assertEqual(logs.output, [
            "WARNING:breakwater_client:/recommender.v1.RecommenderService/GetAds answered degraded: "
            "adprovider failed (circuit_open); served house_ads"])

    def get_ads_breaker(self) -> str:
        """The Recommender's breaker for AdProvider's GetAds."""
        self.c.recommender.get_ads()  # breakers are listed from start-up, but make sure
        for b in self.c.recommender_breakers.list_breakers():
            if b.method == "/adprovider.v1.AdProviderService/GetAds":
                self.assertEqual(b.kind, breaker_pb2.BREAKER_KIND_GRPC_METHOD)
                self.assertEqual(b.name, GET_ADS_BREAKER)
                return b.name
        self.fail("the Recommender has no breaker for AdProvider's GetAds")

    def test_recommenders_get_ads_breaker_forced_open_recommendations_still_come(self):
        self.c.recommender_breakers.set_breaker_mode(self.get_ads_breaker(), FORCED_OPEN)
        resp = self.c.recommender.list_recommendations(asin=KNOWN_ASIN, max_results=3)
        self.assertGreater(len(resp.recommendations), 0)
        self.assertGreater(len(resp.ads), 0)
        self.assertEqual([(d.dependency, d.reason, d.fallback) for d in resp.degraded],
                         [("adprovider", "circuit_open", "house_ads")])
        self.assertEqual(self.degraded.calls, [("/recommender.v1.RecommenderService/ListRecommendations",
                                                [("adprovider", "circuit_open", "house_ads")])])

    def test_recommenders_database_breaker_forced_open(self):
        good = self.c.recommender.list_recommendations(asin=KNOWN_ASIN, max_results=4)
        self.c.recommender_breakers.set_breaker_mode("recommender/postgres", FORCED_OPEN)
        calls = {
            "GetProduct": lambda: self.c.recommender.get_product(KNOWN_ASIN),
            "ListProducts": lambda: self.c.recommender.list_products(),
            "CreateReview": lambda: self.c.recommender.create_review(
                recommender_pb2.Review(asin=KNOWN_ASIN, reviewer_id="python-client", overall=3)),
        }
        for name, call in calls.items():
            with self.subTest(name), self.assertRaises(bw.CircuitOpenError) as cm:
                call()
            self.assertEqual(cm.exception.breaker, "recommender/postgres")
            self.assertGreater(cm.exception.retry_after or 0, 0, "no RetryInfo on a forced-open rejection")

        # Recommendations run on a pool and breaker of their own (a bulkhead):
        # with the catalog's breaker open they are still fresh.
        fresh = self.c.recommender.list_recommendations(asin=KNOWN_ASIN, max_results=4)
        self.assertEqual([d.fallback for d in fresh.degraded if d.dependency == "database"], [])
        self.c.recommender_breakers.set_breaker_mode("recommender/postgres-recommendations", FORCED_OPEN)
        cached = self.c.recommender.list_recommendations(asin=KNOWN_ASIN, max_results=4)
        self.assertEqual([r.product.asin for r in cached.recommendations],
                         [r.product.asin for r in good.recommendations])
        self.assertEqual([d.fallback for d in cached.degraded if d.dependency == "database"], ["last_good_answer"])


if __name__ == "__main__":
    unittest.main()
