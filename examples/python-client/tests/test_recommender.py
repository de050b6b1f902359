"""RecommenderService: every RPC, with its answers and its errors."""

from __future__ import annotations

import unittest
import uuid

import grpc

import breakwater_client as bw
from breakwater_client import money_pb2, recommender_pb2

from .helpers import KNOWN_ASIN, KNOWN_REVIEWER, SystemTest, connect, random_asin


class LoseFirstAnswer(grpc.UnaryUnaryClientInterceptor):
    """Lets the first call of one method reach the server, then throws its
    answer away and fails it with DEADLINE_EXCEEDED, as a client sees a call
    whose answer was lost on the way back. The server has done the work: the
    only part a real network would add is the loss."""

    def __init__(self, method: str) -> None:
        self.method = method
        self.lost = 0
        self.calls = 0

    def intercept_unary_unary(self, continuation, client_call_details, request):
        outcome = continuation(client_call_details, request)
        if client_call_details.method != self.method:
            return outcome
        self.calls += 1
        if self.lost:
            return outcome
        outcome.result()  # the server answered
        self.lost += 1
        return _LostAnswer()


class _LostAnswer(grpc.RpcError, grpc.Future):
    """A failed call, as grpc's own _InactiveRpcError looks to a caller."""

    def code(self):
        return grpc.StatusCode.DEADLINE_EXCEEDED

    def details(self):
        return "Deadline Exceeded (the answer was lost)"

    def trailing_metadata(self):
        return ()

    def result(self, timeout=None):
        raise self

    def exception(self, timeout=None):
        return self

    def traceback(self, timeout=None):
        return None

    def add_done_callback(self, fn):
        fn(self)

    def cancel(self):
        return False

    def cancelled(self):
        return False

    def running(self):
        return False

    def done(self):
        return True


class RecommenderServiceTest(SystemTest):
    def new_product(self) -> str:
        asin = random_asin()
        self.c.recommender.create_product(recommender_pb2.Product(
            asin=asin,
            title="python-client test product",
            categories=[recommender_pb2.CategoryPath(path=["Office Products", "Pens"])],
            price=money_pb2.Money(currency_code="USD", units=3, nanos=500_000_000),
        ))
        return asin

    def test_list_products_pages_through_the_catalog_in_asin_order(self):
        first = self.c.recommender.list_products(page_size=2)
        self.assertEqual(len(first.products), 2)
        self.assertLess(first.products[0].asin, first.products[1].asin)
        self.assertNotEqual(first.next_page_token, "")
        second = self.c.recommender.list_products(page_size=2, page_token=first.next_page_token)
        self.assertGreater(second.products[0].asin, first.products[1].asin)

    def test_iter_products_follows_every_page_to_the_end(self):
        one_page = self.c.recommender.list_products(page_size=1000, category="Pens")
        self.assertEqual(one_page.next_page_token, "", "Pens does not fit one page")
        self.assertGreater(len(one_page.products), 2)
        paged = [p.asin for p in self.c.recommender.iter_products(category="Pens", page_size=2)]
        self.assertEqual(paged, [p.asin for p in one_page.products])
        for p in one_page.products:
            self.assertTrue(any("Pens" in c.path for c in p.categories), f"{p.asin} is not in Pens")

    def test_list_products_invalid_argument_for_a_page_size_over_1000(self):
        self.assertFieldViolations(["page_size"], lambda: self.c.recommender.list_products(page_size=5000))

    def test_get_product(self):
        p = self.c.recommender.get_product(KNOWN_ASIN)
        self.assertEqual(p.asin, KNOWN_ASIN)
        self.assertIn("Swingline", p.title)
        self.assertEqual(p.price.currency_code, "USD")

    def test_get_product_not_found(self):
        self.assertCode(grpc.StatusCode.NOT_FOUND, lambda: self.c.recommender.get_product("B000000000"))

    def test_get_product_invalid_argument_for_a_malformed_asin(self):
        err = self.assertFieldViolations(["asin"], lambda: self.c.recommender.get_product("nope"))
        self.assertIs(err.code, grpc.StatusCode.INVALID_ARGUMENT)
        self.assertEqual(err.field_violations[0].reason, "string.pattern")

    def test_create_product_then_already_exists(self):
        asin = self.new_product()
        p = self.c.recommender.get_product(asin)
        self.assertEqual(p.title, "python-client test product")
        self.assertEqual((p.price.units, p.price.nanos), (3, 500_000_000))
        self.assertCode(grpc.StatusCode.ALREADY_EXISTS, lambda: self.c.recommender.create_product(
            recommender_pb2.Product(asin=asin, title="again")))

    def test_create_product_invalid_argument_names_every_broken_field(self):
        bad = recommender_pb2.Product(asin="bad", image_url="not a url",
                                      categories=[recommender_pb2.CategoryPath(path=[])])
        self.assertFieldViolations(["product.asin", "product.categories[0].path", "product.image_url"],
                                   lambda: self.c.recommender.create_product(bad))

    def test_list_reviews_of_one_product_newest_first(self):
        reviews = self.c.recommender.list_reviews(asin=KNOWN_ASIN, page_size=5).reviews
        self.assertGreater(len(reviews), 1)
        for r in reviews:
            self.assertEqual(r.asin, KNOWN_ASIN)
        times = [r.review_time.ToSeconds() for r in reviews]
        self.assertEqual(times, sorted(times, reverse=True))

    def test_iter_reviews_matches_one_big_page(self):
        everything = self.c.recommender.list_reviews(asin=KNOWN_ASIN, page_size=1000)
        self.assertEqual(everything.next_page_token, "")
        paged = [r.review_id for r in self.c.recommender.iter_reviews(asin=KNOWN_ASIN, page_size=2)]
        self.assertEqual(paged, [r.review_id for r in everything.reviews])

    def test_create_review_with_a_request_id_twice_writes_one_review(self):
        asin = self.new_product()
        review = recommender_pb2.Review(asin=asin, reviewer_id="python-client", overall=4, summary="retried")
        request_id = str(uuid.uuid4())
        first = self.c.recommender.create_review(review, request_id=request_id)
        retry = self.c.recommender.create_review(review, request_id=request_id)
        self.assertTrue(first.review_id)
        self.assertEqual(retry.review_id, first.review_id)
        self.assertEqual(len(self.c.recommender.list_reviews(asin=asin).reviews), 1)

    def test_create_review_retries_a_lost_answer_with_the_same_request_id(self):
        asin = self.new_product()
        lose = LoseFirstAnswer("/recommender.v1.RecommenderService/CreateReview")
        with connect(interceptors=[lose]) as c:
            review = recommender_pb2.Review(asin=asin, reviewer_id="python-client", overall=5, summary="lost once")
            created = c.recommender.create_review(review)
        self.assertEqual((lose.lost, lose.calls), (1, 2), "the first answer was not lost, or there was no retry")
        reviews = self.c.recommender.list_reviews(asin=asin).reviews
        self.assertEqual([r.review_id for r in reviews], [created.review_id], "the retry wrote a duplicate")

    def test_create_review_gives_up_after_its_attempts(self):
        asin = self.new_product()
        lose = LoseFirstAnswer("/recommender.v1.RecommenderService/CreateReview")
        with connect(interceptors=[lose]) as c:
            review = recommender_pb2.Review(asin=asin, reviewer_id="python-client", overall=5)
            err = self.assertCode(grpc.StatusCode.DEADLINE_EXCEEDED,
                                  lambda: c.recommender.create_review(review, attempts=1))
        self.assertIsInstance(err.__cause__, grpc.RpcError)
        self.assertEqual(lose.calls, 1)

    def test_create_review_the_same_request_id_for_another_review_is_already_exists(self):
        asin = self.new_product()
        request_id = str(uuid.uuid4())
        self.c.recommender.create_review(
            recommender_pb2.Review(asin=asin, reviewer_id="python-client", overall=4), request_id=request_id)
        self.assertCode(grpc.StatusCode.ALREADY_EXISTS, lambda: self.c.recommender.create_review(
            recommender_pb2.Review(asin=asin, reviewer_id="python-client", overall=1), request_id=request_id))

    def test_create_review_not_found_for_an_unknown_product(self):
        self.assertCode(grpc.StatusCode.NOT_FOUND, lambda: self.c.recommender.create_review(
            recommender_pb2.Review(asin="B000000000", reviewer_id="python-client", overall=3)))

    def test_create_review_invalid_argument_names_every_broken_field(self):
        self.assertFieldViolations(["review.asin", "review.overall"], lambda: self.c.recommender.create_review(
            recommender_pb2.Review(asin="nope", reviewer_id="python-client", overall=9)))

    def test_list_recommendations_for_a_product(self):
        resp = self.c.recommender.list_recommendations(asin=KNOWN_ASIN, max_results=5)
        self.assertTrue(0 < len(resp.recommendations) <= 5)
        self.assertEqual(resp.recommendations[0].reason, "co_reviewed")
        self.assertTrue(all(r.product.asin != KNOWN_ASIN for r in resp.recommendations))
        self.assertGreater(len(resp.ads), 0)
        self.assertFull(resp.degraded)

    def test_list_recommendations_for_a_reviewer_leaves_out_what_they_reviewed(self):
        resp = self.c.recommender.list_recommendations(reviewer_id=KNOWN_REVIEWER, max_results=5)
        self.assertGreater(len(resp.recommendations), 0)
        self.assertTrue(all(r.product.asin != KNOWN_ASIN for r in resp.recommendations),
                        "recommended a product the reviewer reviewed")

    def test_list_recommendations_invalid_argument_for_max_results_over_100(self):
        self.assertFieldViolations(["max_results"],
                                   lambda: self.c.recommender.list_recommendations(max_results=101))

    def test_get_ads_through_the_recommender(self):
        resp = self.c.recommender.get_ads(context_keys=["pens"], max_ads=2)
        self.assertTrue(0 < len(resp.ads) <= 2)
        self.assertFull(resp.degraded)


if __name__ == "__main__":
    unittest.main()
