"""AdProviderService: every RPC, with its answers and its errors."""

from __future__ import annotations

import dataclasses
import unittest

import grpc

from breakwater_client import adprovider_pb2, money_pb2

from .helpers import CFG, SystemTest, connect, random_asin


def listing(asin: str) -> adprovider_pb2.AdListing:
    return adprovider_pb2.AdListing(
        ad=adprovider_pb2.Ad(asin=asin, title="python-client test ad",
                             price=money_pb2.Money(currency_code="USD", units=5)),
        keywords=["python-client-test"],
        bid=money_pb2.Money(currency_code="USD", units=9),  # outbids the sample inventory
        active=True,
    )


class AdProviderServiceTest(SystemTest):
    def test_get_ads_matches_the_context_never_the_viewed_product(self):
        some = self.c.adprovider.get_ads(context_keys=["pens"], max_ads=3)
        self.assertTrue(0 < len(some) <= 3)
        viewed = some[0].asin
        others = self.c.adprovider.get_ads(context_keys=["pens"], asin=viewed, max_ads=10)
        self.assertTrue(all(a.asin != viewed for a in others))

    def test_get_ads_invalid_argument_for_max_ads_over_10(self):
        self.assertFieldViolations(["max_ads"], lambda: self.c.adprovider.get_ads(max_ads=11))

    def test_list_ads_pages_through_the_inventory(self):
        first = self.c.adprovider.list_ads(page_size=2)
        self.assertEqual(len(first.listings), 2)
        self.assertNotEqual(first.next_page_token, "")
        second = self.c.adprovider.list_ads(page_size=2, page_token=first.next_page_token)
        ids = {x.ad.ad_id for x in first.listings}
        self.assertTrue(second.listings and all(x.ad.ad_id not in ids for x in second.listings))

    def test_iter_ads_walks_the_whole_inventory_once(self):
        everything = self.c.adprovider.list_ads(page_size=500, include_inactive=True)
        self.assertEqual(everything.next_page_token, "", "the inventory does not fit one page")
        paged = [x.ad.ad_id for x in self.c.adprovider.iter_ads(page_size=3, include_inactive=True)]
        self.assertEqual(paged, [x.ad.ad_id for x in everything.listings])
        self.assertEqual(len(set(paged)), len(paged))

    def test_create_ad_without_the_token_or_with_a_wrong_one_is_unauthenticated(self):
        for token in ("", "wrong"):
            with self.subTest(token=token), connect(dataclasses.replace(CFG, admin_token=token)) as c:
                self.assertCode(grpc.StatusCode.UNAUTHENTICATED, lambda: c.adprovider.create_ad(listing(random_asin())))

    def test_create_ad_with_the_token_stores_it_and_get_ads_serves_it(self):
        asin = random_asin()
        created = self.c.adprovider.create_ad(listing(asin))
        self.assertTrue(created.ad.ad_id)
        self.assertEqual(created.ad.redirect_url, f"/product/{asin}")
        self.assertTrue(created.HasField("create_time"))
        served = self.c.adprovider.get_ads(context_keys=["python-client-test"], max_ads=10)
        self.assertIn(created.ad.ad_id, [a.ad_id for a in served])

    def test_create_ad_invalid_argument_names_every_broken_field(self):
        bad = adprovider_pb2.AdListing(ad=adprovider_pb2.Ad(asin="bad", title=""), active=True)
        self.assertFieldViolations(["listing.ad.asin", "listing.ad.price", "listing.ad.title", "listing.bid"],
                                   lambda: self.c.adprovider.create_ad(bad))


if __name__ == "__main__":
    unittest.main()
