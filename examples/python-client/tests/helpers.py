"""What every test file shares: clients for the running system, the admin
token, and small helpers.

The system to test is the one RECOMMENDER_ADDR, ADPROVIDER_ADDR and
ADMIN_TOKEN name, as for the tour; without them, `make run-all`'s defaults
(localhost:8000, localhost:8001, dev-admin-token). internal/e2e runs these
tests against the system it starts.
"""

from __future__ import annotations

import dataclasses
import secrets
import string
import unittest
from typing import Callable, List, Sequence, Tuple

import breakwater_client as bw
from breakwater_client import breaker_pb2, recommender_pb2

_env = bw.Config.from_env()
CFG = dataclasses.replace(_env, admin_token=_env.admin_token or "dev-admin-token")

#: A product every sample catalog has, with reviews and co-reviewed products.
KNOWN_ASIN = "B00006IE7F"
#: A reviewer of the sample catalog who reviewed KNOWN_ASIN.
KNOWN_REVIEWER = "ANMKXQY8T94OMC"


class DegradedLog:
    """An on_degraded handler that remembers what it was told."""

    def __init__(self) -> None:
        self.calls: List[Tuple[str, List[Tuple[str, str, str]]]] = []

    def __call__(self, method: str, degraded: Sequence[recommender_pb2.Degradation]) -> None:
        self.calls.append((method, [(d.dependency, d.reason, d.fallback) for d in degraded]))


def connect(cfg: bw.Config = CFG, **kwargs) -> bw.Clients:
    return bw.connect(cfg, **kwargs)


def random_asin() -> str:
    """An ASIN no other test run uses ("P" + 9 characters)."""
    chars = string.digits + string.ascii_uppercase
    return "P" + "".join(secrets.choice(chars) for _ in range(9))


def restore_breakers(c: bw.Clients) -> None:
    """Hands every breaker of both services back to its rules and resets it,
    so that a test that forced one leaves no trace."""
    for admin in (c.recommender_breakers, c.adprovider_breakers):
        for b in admin.list_breakers():
            if b.mode != breaker_pb2.BREAKER_MODE_AUTO:
                admin.set_breaker_mode(b.name, breaker_pb2.BREAKER_MODE_AUTO)
            admin.reset_breaker(b.name)


class SystemTest(unittest.TestCase):
    """A test case with clients that report degraded answers to self.degraded."""

    def setUp(self) -> None:
        self.degraded = DegradedLog()
        self.c = connect(on_degraded=self.degraded)
        self.addCleanup(self.c.close)

    def assertCode(self, code, call: Callable[[], object]) -> bw.CallError:
        """Calls call, which must fail with code; returns the error."""
        with self.assertRaises(bw.CallError) as cm:
            call()
        self.assertIs(cm.exception.code, code, str(cm.exception))
        return cm.exception

    def assertFieldViolations(self, fields: Sequence[str], call: Callable[[], object]) -> bw.InvalidArgumentError:
        """Calls call, which must fail with INVALID_ARGUMENT naming exactly fields."""
        with self.assertRaises(bw.InvalidArgumentError) as cm:
            call()
        err = cm.exception
        self.assertEqual(err.fields, sorted(fields), str(err))
        for v in err.field_violations:
            self.assertTrue(v.description, f"{v.field} has no description")
            self.assertTrue(v.reason, f"{v.field} has no reason")
        return err

    def assertFull(self, degraded: Sequence[recommender_pb2.Degradation]) -> None:
        """Not degraded, but for one thing the tests must not depend on: on a
        loaded machine AdProvider may miss the Recommender's deadline for ads,
        and then the ads are house ads."""
        for d in degraded:
            self.assertEqual((d.dependency, d.reason, d.fallback), ("adprovider", "deadline_exceeded", "house_ads"))
