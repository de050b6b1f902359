"""Every call the client makes carries a deadline: Config.timeout, or the
call's own timeout=."""

from __future__ import annotations

import dataclasses
import unittest
from typing import Dict, List, Optional

import grpc

import breakwater_client as bw
from breakwater_client import breaker_pb2, recommender_pb2

from .helpers import CFG, KNOWN_ASIN, SystemTest, connect, restore_breakers

# Every RPC of the three services, as the generated descriptors list them.
ALL_METHODS = sorted(
    f"/{service.full_name}/{m.name}"
    for module in (bw.adprovider_pb2, bw.breaker_pb2, bw.recommender_pb2)
    for service in module.DESCRIPTOR.services_by_name.values()
    for m in service.methods
)


class RecordDeadlines(grpc.UnaryUnaryClientInterceptor):
    """Records the timeout each call leaves with."""

    def __init__(self) -> None:
        self.timeouts: Dict[str, List[Optional[float]]] = {}

    def intercept_unary_unary(self, continuation, client_call_details, request):
        self.timeouts.setdefault(client_call_details.method, []).append(client_call_details.timeout)
        return continuation(client_call_details, request)


class DeadlineTest(SystemTest):
    def test_every_rpc_of_every_service_gets_the_configured_deadline(self):
        rec = RecordDeadlines()
        cfg = dataclasses.replace(CFG, timeout=7.5)
        with connect(cfg, interceptors=[rec], on_degraded=None) as c:
            self.addCleanup(restore_breakers, self.c)
            asin = "P" + KNOWN_ASIN[1:]  # a product of its own, made once per system
            try:
                c.recommender.create_product(recommender_pb2.Product(asin=asin, title="deadline test"))
            except bw.CallError as e:
                self.assertIs(e.code, grpc.StatusCode.ALREADY_EXISTS)
            c.recommender.get_product(KNOWN_ASIN)
            c.recommender.list_products(page_size=1)
            c.recommender.list_reviews(asin=KNOWN_ASIN, page_size=1)
            c.recommender.create_review(recommender_pb2.Review(asin=asin, reviewer_id="python-client", overall=3))
            c.recommender.list_recommendations(asin=KNOWN_ASIN, max_results=1)
            c.recommender.get_ads(context_keys=["pens"])
            c.adprovider.get_ads(context_keys=["pens"])
            c.adprovider.list_ads(page_size=1)
            listing = c.adprovider.list_ads(page_size=1).listings[0]
            with self.assertRaises(bw.CallError):
                c.adprovider.create_ad(listing)  # its ad_id is taken, or its request breaks a rule
            for admin, name in ((c.recommender_breakers, "recommender/postgres"),
                                (c.adprovider_breakers, "adprovider/postgres")):
                admin.list_breakers()
                admin.get_breaker(name)
                admin.set_breaker_mode(name, breaker_pb2.BREAKER_MODE_AUTO)
                admin.reset_breaker(name)
        self.assertEqual(sorted(rec.timeouts), ALL_METHODS, "some RPC was not called")
        for method, timeouts in rec.timeouts.items():
            for t in timeouts:
                self.assertEqual(t, 7.5, f"{method} left with timeout {t}")

    def test_a_call_can_set_its_own_deadline(self):
        rec = RecordDeadlines()
        with connect(interceptors=[rec]) as c:
            c.recommender.get_product(KNOWN_ASIN, timeout=0.25)
            c.recommender.get_product(KNOWN_ASIN)
        self.assertEqual(rec.timeouts["/recommender.v1.RecommenderService/GetProduct"], [0.25, CFG.timeout])


if __name__ == "__main__":
    unittest.main()
