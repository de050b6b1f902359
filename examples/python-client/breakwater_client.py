"""A typed client of breakwater's three gRPC services, over gen/python.

The generated stubs (``*_pb2_grpc.py``) call the services; this module adds
what every caller of breakwater needs and would otherwise repeat:

- a deadline on every call (``Config.timeout``, or ``timeout=`` per call);
- the admin token on admin writes (CreateAd, SetBreakerMode, ResetBreaker);
- errors as exceptions that say what happened: ``CircuitOpenError`` (a
  breaker rejected the call: UNAVAILABLE with ErrorInfo CIRCUIT_OPEN, with
  the breaker's name and RetryInfo's delay), ``InvalidArgumentError`` (the
  request broke the contract's rules, with one google.rpc.BadRequest field
  violation per rule), and ``CallError`` for every other status;
- degraded answers surfaced: an answer with a non-empty ``degraded`` field is
  still usable (house ads are ads, last good recommendations are
  recommendations), and each one is reported to ``on_degraded``, which logs a
  warning unless you pass your own;
- ``create_review`` with a request id, retried with the same id after a lost
  answer, so a retry never writes a duplicate;
- ``iter_*`` helpers that follow ``next_page_token`` (AIP-158 pagination).

It needs Python 3.9 or later, grpcio 1.51 and protobuf 4.21 or later (Debian
12: ``apt-get install python3-grpcio python3-protobuf``), and gen/python on
``sys.path``, which this module adds itself when run from the repository.

    import breakwater_client as bw

    with bw.connect(bw.Config.from_env()) as c:
        recs = c.recommender.list_recommendations(asin="B00006IE7F")
        try:
            c.adprovider.get_ads(context_keys=["pens"])
        except bw.CircuitOpenError as e:
            print(e.breaker, e.retry_after)
"""

from __future__ import annotations

import logging
import os
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, List, Mapping, Optional, Sequence, Tuple, Type, TypeVar


def _generated_code_dir() -> Path:
    """gen/python: $BREAKWATER_GEN_PYTHON, or the repository's, two levels up."""
    env = os.environ.get("BREAKWATER_GEN_PYTHON")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent.parent / "gen" / "python"


# The generated code imports its packages by their proto paths
# ("from money.v1 import money_pb2"), so gen/python itself must be on
# sys.path; appended, so that a copy installed elsewhere wins.
_GEN = str(_generated_code_dir())
if _GEN not in sys.path:
    sys.path.append(_GEN)

import grpc  # noqa: E402
from google.protobuf.message import Message  # noqa: E402

from adprovider.v1 import adprovider_pb2, adprovider_pb2_grpc  # noqa: E402
from breaker.v1 import breaker_pb2, breaker_pb2_grpc  # noqa: E402
from google.rpc import error_details_pb2, status_pb2  # noqa: E402
from money.v1 import money_pb2  # noqa: E402
from recommender.v1 import recommender_pb2, recommender_pb2_grpc  # noqa: E402

__all__ = [
    # The generated message modules, re-exported: importing them from here
    # needs no sys.path set-up of your own.
    "adprovider_pb2",
    "breaker_pb2",
    "error_details_pb2",
    "money_pb2",
    "recommender_pb2",
    "status_pb2",
    # This module's own.
    "AdProviderClient",
    "BreakerAdminClient",
    "CallError",
    "CircuitOpenError",
    "Clients",
    "Config",
    "InvalidArgumentError",
    "RecommenderClient",
    "connect",
    "describe_degraded",
    "log_degraded",
]

log = logging.getLogger("breakwater_client")

Degradation = recommender_pb2.Degradation
FieldViolation = error_details_pb2.BadRequest.FieldViolation
#: Called with the full method name and the ``degraded`` entries of an answer.
DegradedHandler = Callable[[str, Sequence[recommender_pb2.Degradation]], None]

# The trailer in which gRPC servers send a serialized google.rpc.Status with
# the error's details (the gRPC "richer error model").
STATUS_DETAILS_KEY = "grpc-status-details-bin"
# What breakwater's breakers put in their ErrorInfo.
CIRCUIT_OPEN_REASON = "CIRCUIT_OPEN"
ERROR_DOMAIN = "breakwater"


@dataclass(frozen=True)
class Config:
    """Where the services are, the admin token, and the default deadline."""

    #: The Recommender's gRPC address.
    recommender_addr: str = "localhost:8000"
    #: AdProvider's gRPC address.
    adprovider_addr: str = "localhost:8001"
    #: The services' ADMIN_TOKEN; empty when unknown (admin writes then fail
    #: with UNAUTHENTICATED).
    admin_token: str = ""
    #: The deadline of every call, in seconds, unless the call gives its own.
    timeout: float = 5.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> "Config":
        """Reads the variables the services and ``make run-all`` use:
        RECOMMENDER_ADDR, ADPROVIDER_ADDR and ADMIN_TOKEN, plus
        BREAKWATER_TIMEOUT (seconds)."""
        return cls(
            recommender_addr=_dial_address(env.get("RECOMMENDER_ADDR") or cls.recommender_addr),
            adprovider_addr=_dial_address(env.get("ADPROVIDER_ADDR") or cls.adprovider_addr),
            admin_token=env.get("ADMIN_TOKEN", ""),
            timeout=float(env.get("BREAKWATER_TIMEOUT") or cls.timeout),
        )


def _dial_address(addr: str) -> str:
    # The services' listen addresses may be ":8000", meaning this host.
    return "localhost" + addr if addr.startswith(":") else addr


# ---- errors ----

_M = TypeVar("_M", bound=Message)



class CallError(Exception):
    """A call that ended with a status other than OK.

    ``code`` is the grpc.StatusCode, ``message`` the server's message, and
    ``status`` the google.rpc.Status the server sent with its details (None
    when it sent none). The grpc.RpcError is the exception's ``__cause__``.
    """

    def __init__(self, method: str, code: grpc.StatusCode, message: str,
                 status: Optional[status_pb2.Status] = None) -> None:
        super().__init__(f"{method}: {code.name}: {message}")
        self.method = method
        self.code = code
        self.message = message
        self.status = status

    def details(self, kind: Type[_M]) -> List[_M]:
        """The status's details of one message type, such as
        error_details_pb2.ErrorInfo, decoded."""
        out: List[_M] = []
        for any_ in self.status.details if self.status is not None else ():
            if any_.Is(kind.DESCRIPTOR):
                msg = kind()
                any_.Unpack(msg)
                out.append(msg)
        return out


class CircuitOpenError(CallError):
    """A circuit breaker rejected the call: UNAVAILABLE with an ErrorInfo
    whose reason is CIRCUIT_OPEN (domain "breakwater").

    The call was never attempted, so any method is safe to retry, after
    ``retry_after`` seconds (from RetryInfo: the time until the breaker lets
    a probe through; for a breaker an operator forced open, its first open
    period, since it stays open until someone changes it). ``retry_after`` is
    None only when the server sent no RetryInfo.
    """

    def __init__(self, method: str, code: grpc.StatusCode, message: str,
                 status: Optional[status_pb2.Status], breaker: str,
                 retry_after: Optional[float]) -> None:
        super().__init__(method, code, message, status)
        #: The name of the breaker that rejected the call, such as
        #: "adprovider/postgres".
        self.breaker = breaker
        #: Seconds to wait before retrying, or None.
        self.retry_after = retry_after


class InvalidArgumentError(CallError):
    """The request broke the contract's rules (INVALID_ARGUMENT).

    ``field_violations`` holds one google.rpc.BadRequest.FieldViolation per
    broken rule: ``field`` (a path such as "review.overall"), ``description``
    and ``reason`` (protovalidate's rule id, such as "int32.gte_lte").
    """

    def __init__(self, method: str, code: grpc.StatusCode, message: str,
                 status: Optional[status_pb2.Status],
                 field_violations: Sequence[FieldViolation]) -> None:
        super().__init__(method, code, message, status)
        self.field_violations: List[FieldViolation] = list(field_violations)

    @property
    def fields(self) -> List[str]:
        """The fields that broke a rule, sorted, each once."""
        return sorted({v.field for v in self.field_violations})


def error_from_rpc(method: str, err: grpc.RpcError) -> CallError:
    """Turns a failed call's grpc.RpcError into the matching CallError."""
    code = _call_attr(err, "code", grpc.StatusCode.UNKNOWN)
    message = _call_attr(err, "details", "") or ""
    status = _status_details(_call_attr(err, "trailing_metadata", None) or ())
    plain = CallError(method, code, message, status)
    if code is grpc.StatusCode.UNAVAILABLE:
        for info in plain.details(error_details_pb2.ErrorInfo):
            if info.reason == CIRCUIT_OPEN_REASON and info.domain == ERROR_DOMAIN:
                retry = plain.details(error_details_pb2.RetryInfo)
                delay = retry[0].retry_delay.ToTimedelta().total_seconds() if retry else None
                return CircuitOpenError(method, code, message, status, info.metadata.get("breaker", ""), delay)
    if code is grpc.StatusCode.INVALID_ARGUMENT:
        violations = [v for b in plain.details(error_details_pb2.BadRequest) for v in b.field_violations]
        return InvalidArgumentError(method, code, message, status, violations)
    return plain


def _call_attr(err: grpc.RpcError, name: str, default):
    # A grpc.RpcError raised by a call is also a grpc.Call; one raised by
    # other code (an interceptor, say) need not be.
    f = getattr(err, name, None)
    return f() if callable(f) else default


def _status_details(trailers: Sequence[Tuple[str, object]]) -> Optional[status_pb2.Status]:
    for key, value in trailers:
        if key == STATUS_DETAILS_KEY and isinstance(value, bytes):
            status = status_pb2.Status()
            status.ParseFromString(value)
            return status
    return None


# ---- degraded answers ----


def describe_degraded(degraded: Sequence[recommender_pb2.Degradation]) -> List[str]:
    """One line per entry: which dependency failed, why, and what was served
    instead. Empty for a full answer."""
    return [f"{d.dependency} failed ({d.reason}); served {d.fallback}" for d in degraded]


def log_degraded(method: str, degraded: Sequence[recommender_pb2.Degradation]) -> None:
    """The default DegradedHandler: one warning per degraded answer."""
    log.warning("%s answered degraded: %s", method, "; ".join(describe_degraded(degraded)))


# ---- the services ----


class _Service:
    """One gRPC service on one channel: calls with a deadline, the admin
    token where asked, errors turned into CallErrors, degradations reported."""

    def __init__(self, stub, service: str, cfg: Config, on_degraded: Optional[DegradedHandler]) -> None:
        self._stub = stub
        self._service = service
        self._cfg = cfg
        self._on_degraded = on_degraded

    def _call(self, name: str, request: Message, timeout: Optional[float], admin: bool = False):
        method = f"/{self._service}/{name}"
        metadata = None
        if admin and self._cfg.admin_token:
            metadata = (("authorization", f"Bearer {self._cfg.admin_token}"),)
        try:
            response = getattr(self._stub, name)(
                request,
                timeout=self._cfg.timeout if timeout is None else timeout,
                metadata=metadata,
            )
        except grpc.RpcError as err:
            raise error_from_rpc(method, err) from err
        degraded = getattr(response, "degraded", None)
        if degraded and self._on_degraded is not None:
            self._on_degraded(method, list(degraded))
        return response


class RecommenderClient(_Service):
    """recommender.v1.RecommenderService: the catalog, reviews,
    recommendations and ads through the Recommender's breaker."""

    def get_product(self, asin: str, *, timeout: Optional[float] = None) -> recommender_pb2.Product:
        """One product; CallError NOT_FOUND when there is none."""
        req = recommender_pb2.GetProductRequest(asin=asin)
        return self._call("GetProduct", req, timeout).product

    def list_products(self, *, page_size: int = 0, page_token: str = "", category: str = "",
                      timeout: Optional[float] = None) -> recommender_pb2.ListProductsResponse:
        """One page of the catalog, in ASIN order (page_size 0: the server's default)."""
        req = recommender_pb2.ListProductsRequest(page_size=page_size, page_token=page_token, category=category)
        return self._call("ListProducts", req, timeout)

    def iter_products(self, *, category: str = "", page_size: int = 100,
                      timeout: Optional[float] = None) -> Iterator[recommender_pb2.Product]:
        """Every product (of a category), page after page; each page is one
        call with its own deadline."""
        token = ""
        while True:
            page = self.list_products(page_size=page_size, page_token=token, category=category, timeout=timeout)
            yield from page.products
            token = page.next_page_token
            if not token:
                return

    def create_product(self, product: recommender_pb2.Product, *,
                       timeout: Optional[float] = None) -> recommender_pb2.Product:
        """Stores a product; CallError ALREADY_EXISTS when its ASIN is taken.

        The admin token goes along when one is configured, so the call keeps
        working where the service treats catalog writes as admin writes."""
        req = recommender_pb2.CreateProductRequest(product=product)
        return self._call("CreateProduct", req, timeout, admin=True).product

    def list_reviews(self, *, asin: str = "", page_size: int = 0, page_token: str = "",
                     timeout: Optional[float] = None) -> recommender_pb2.ListReviewsResponse:
        """One page of reviews (of one product), newest first."""
        req = recommender_pb2.ListReviewsRequest(asin=asin, page_size=page_size, page_token=page_token)
        return self._call("ListReviews", req, timeout)

    def iter_reviews(self, *, asin: str = "", page_size: int = 100,
                     timeout: Optional[float] = None) -> Iterator[recommender_pb2.Review]:
        """Every review (of one product), page after page."""
        token = ""
        while True:
            page = self.list_reviews(asin=asin, page_size=page_size, page_token=token, timeout=timeout)
            yield from page.reviews
            token = page.next_page_token
            if not token:
                return

    def create_review(self, review: recommender_pb2.Review, *, request_id: Optional[str] = None,
                      attempts: int = 3, timeout: Optional[float] = None) -> recommender_pb2.Review:
        """Stores a review, at most once.

        The request carries a request id (a new UUID unless given), and a call
        whose answer was lost (DEADLINE_EXCEEDED, or UNAVAILABLE other than a
        breaker's rejection) is retried with the same id, up to ``attempts``
        calls in all: the server returns the review the first call created
        instead of writing another. The same id with a different review is
        ALREADY_EXISTS. A CircuitOpenError is raised at once: the call was
        not attempted, and waiting ``retry_after`` is the caller's choice.
        """
        req = recommender_pb2.CreateReviewRequest(review=review, request_id=request_id or str(uuid.uuid4()))
        for attempt in range(1, attempts + 1):
            try:
                return self._call("CreateReview", req, timeout).review
            except CircuitOpenError:
                raise
            except CallError as err:
                lost = err.code in (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNAVAILABLE)
                if not lost or attempt == attempts:
                    raise
                log.info("CreateReview %s: %s; retrying with the same request id", req.request_id, err.code.name)
                time.sleep(0.05 * 2 ** attempt)
        raise AssertionError("unreachable")

    def list_recommendations(self, *, asin: str = "", reviewer_id: str = "", max_results: int = 0,
                             timeout: Optional[float] = None) -> recommender_pb2.ListRecommendationsResponse:
        """Recommendations for a product or a reviewer, with ads; read
        ``degraded`` (or pass on_degraded) to know whether it is a full answer."""
        req = recommender_pb2.ListRecommendationsRequest(asin=asin, reviewer_id=reviewer_id, max_results=max_results)
        return self._call("ListRecommendations", req, timeout)

    def get_ads(self, *, context_keys: Sequence[str] = (), asin: str = "", max_ads: int = 0,
                timeout: Optional[float] = None) -> recommender_pb2.GetAdsResponse:
        """AdProvider's ads through the Recommender's breaker, or house ads
        (said in ``degraded``) when AdProvider fails or its breaker is open."""
        req = recommender_pb2.GetAdsRequest(context_keys=list(context_keys), asin=asin, max_ads=max_ads)
        return self._call("GetAds", req, timeout)


class AdProviderClient(_Service):
    """adprovider.v1.AdProviderService: sponsored ads."""

    def get_ads(self, *, context_keys: Sequence[str] = (), asin: str = "", max_ads: int = 0,
                timeout: Optional[float] = None) -> List[adprovider_pb2.Ad]:
        """Ads matching the context, never for the product being viewed."""
        req = adprovider_pb2.GetAdsRequest(context_keys=list(context_keys), asin=asin, max_ads=max_ads)
        return list(self._call("GetAds", req, timeout).ads)

    def list_ads(self, *, page_size: int = 0, page_token: str = "", include_inactive: bool = False,
                 timeout: Optional[float] = None) -> adprovider_pb2.ListAdsResponse:
        """One page of the inventory."""
        req = adprovider_pb2.ListAdsRequest(page_size=page_size, page_token=page_token,
                                            include_inactive=include_inactive)
        return self._call("ListAds", req, timeout)

    def iter_ads(self, *, page_size: int = 100, include_inactive: bool = False,
                 timeout: Optional[float] = None) -> Iterator[adprovider_pb2.AdListing]:
        """The whole inventory, page after page."""
        token = ""
        while True:
            page = self.list_ads(page_size=page_size, page_token=token, include_inactive=include_inactive,
                                 timeout=timeout)
            yield from page.listings
            token = page.next_page_token
            if not token:
                return

    def create_ad(self, listing: adprovider_pb2.AdListing, *,
                  timeout: Optional[float] = None) -> adprovider_pb2.AdListing:
        """Stores a listing (an admin write: UNAUTHENTICATED without the token)."""
        req = adprovider_pb2.CreateAdRequest(listing=listing)
        return self._call("CreateAd", req, timeout, admin=True).listing


class BreakerAdminClient(_Service):
    """breaker.v1.BreakerAdminService, as one service serves it for its own
    breakers."""

    def list_breakers(self, *, timeout: Optional[float] = None) -> List[breaker_pb2.Breaker]:
        """Every breaker of the service, by name."""
        return list(self._call("ListBreakers", breaker_pb2.ListBreakersRequest(), timeout).breakers)

    def get_breaker(self, name: str, *, timeout: Optional[float] = None) -> breaker_pb2.Breaker:
        """One breaker; CallError NOT_FOUND for an unknown name."""
        return self._call("GetBreaker", breaker_pb2.GetBreakerRequest(name=name), timeout).breaker

    def set_breaker_mode(self, name: str, mode: breaker_pb2.BreakerMode, *,
                         timeout: Optional[float] = None) -> breaker_pb2.Breaker:
        """AUTO, FORCED_OPEN or FORCED_CLOSED (an admin write). A forced mode
        sticks until changed."""
        req = breaker_pb2.SetBreakerModeRequest(name=name, mode=mode)
        return self._call("SetBreakerMode", req, timeout, admin=True).breaker

    def reset_breaker(self, name: str, *, timeout: Optional[float] = None) -> breaker_pb2.Breaker:
        """Closes the breaker and clears its counters (an admin write)."""
        req = breaker_pb2.ResetBreakerRequest(name=name)
        return self._call("ResetBreaker", req, timeout, admin=True).breaker


@dataclass
class Clients:
    """The clients of one system: both services, and each one's breaker
    admin. Close it (or use it as a context manager) to close the channels."""

    recommender: RecommenderClient
    adprovider: AdProviderClient
    #: BreakerAdminService as the Recommender serves it (its own breakers).
    recommender_breakers: BreakerAdminClient
    #: BreakerAdminService as AdProvider serves it.
    adprovider_breakers: BreakerAdminClient
    _channels: Tuple[grpc.Channel, ...] = ()

    def close(self) -> None:
        for ch in self._channels:
            ch.close()

    def __enter__(self) -> "Clients":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(cfg: Config, *, on_degraded: Optional[DegradedHandler] = log_degraded,
            interceptors: Sequence[grpc.UnaryUnaryClientInterceptor] = ()) -> Clients:
    """Clients for both services: one plaintext channel per service, every
    call of a service multiplexed on it. ``on_degraded`` gets every degraded
    answer (None: nobody); ``interceptors`` wrap both channels."""
    rec = grpc.insecure_channel(cfg.recommender_addr)
    ads = grpc.insecure_channel(cfg.adprovider_addr)
    rec_i = grpc.intercept_channel(rec, *interceptors) if interceptors else rec
    ads_i = grpc.intercept_channel(ads, *interceptors) if interceptors else ads
    breakers = "breaker.v1.BreakerAdminService"
    return Clients(
        recommender=RecommenderClient(recommender_pb2_grpc.RecommenderServiceStub(rec_i),
                                      "recommender.v1.RecommenderService", cfg, on_degraded),
        adprovider=AdProviderClient(adprovider_pb2_grpc.AdProviderServiceStub(ads_i),
                                    "adprovider.v1.AdProviderService", cfg, on_degraded),
        recommender_breakers=BreakerAdminClient(breaker_pb2_grpc.BreakerAdminServiceStub(rec_i),
                                                breakers, cfg, on_degraded),
        adprovider_breakers=BreakerAdminClient(breaker_pb2_grpc.BreakerAdminServiceStub(ads_i),
                                               breakers, cfg, on_degraded),
        _channels=(rec, ads),
    )
