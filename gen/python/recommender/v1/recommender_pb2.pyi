from adprovider.v1 import adprovider_pb2 as _adprovider_pb2
from buf.validate import validate_pb2 as _validate_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from money.v1 import money_pb2 as _money_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CategoryPath(_message.Message):
    __slots__ = ["path"]
    PATH_FIELD_NUMBER: _ClassVar[int]
    path: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, path: _Optional[_Iterable[str]] = ...) -> None: ...

class CreateProductRequest(_message.Message):
    __slots__ = ["product", "request_id"]
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    product: Product
    request_id: str
    def __init__(self, product: _Optional[_Union[Product, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class CreateProductResponse(_message.Message):
    __slots__ = ["product"]
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    product: Product
    def __init__(self, product: _Optional[_Union[Product, _Mapping]] = ...) -> None: ...

class CreateReviewRequest(_message.Message):
    __slots__ = ["request_id", "review"]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    REVIEW_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    review: Review
    def __init__(self, review: _Optional[_Union[Review, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class CreateReviewResponse(_message.Message):
    __slots__ = ["review"]
    REVIEW_FIELD_NUMBER: _ClassVar[int]
    review: Review
    def __init__(self, review: _Optional[_Union[Review, _Mapping]] = ...) -> None: ...

class Degradation(_message.Message):
    __slots__ = ["breaker", "dependency", "fallback", "reason"]
    BREAKER_FIELD_NUMBER: _ClassVar[int]
    DEPENDENCY_FIELD_NUMBER: _ClassVar[int]
    FALLBACK_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    breaker: str
    dependency: str
    fallback: str
    reason: str
    def __init__(self, dependency: _Optional[str] = ..., reason: _Optional[str] = ..., fallback: _Optional[str] = ..., breaker: _Optional[str] = ...) -> None: ...

class GetAdsRequest(_message.Message):
    __slots__ = ["asin", "context_keys", "max_ads"]
    ASIN_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_KEYS_FIELD_NUMBER: _ClassVar[int]
    MAX_ADS_FIELD_NUMBER: _ClassVar[int]
    asin: str
    context_keys: _containers.RepeatedScalarFieldContainer[str]
    max_ads: int
    def __init__(self, context_keys: _Optional[_Iterable[str]] = ..., asin: _Optional[str] = ..., max_ads: _Optional[int] = ...) -> None: ...

class GetAdsResponse(_message.Message):
    __slots__ = ["ads", "degraded"]
    ADS_FIELD_NUMBER: _ClassVar[int]
    DEGRADED_FIELD_NUMBER: _ClassVar[int]
    ads: _containers.RepeatedCompositeFieldContainer[_adprovider_pb2.Ad]
    degraded: _containers.RepeatedCompositeFieldContainer[Degradation]
    def __init__(self, ads: _Optional[_Iterable[_Union[_adprovider_pb2.Ad, _Mapping]]] = ..., degraded: _Optional[_Iterable[_Union[Degradation, _Mapping]]] = ...) -> None: ...

class GetProductRequest(_message.Message):
    __slots__ = ["asin"]
    ASIN_FIELD_NUMBER: _ClassVar[int]
    asin: str
    def __init__(self, asin: _Optional[str] = ...) -> None: ...

class GetProductResponse(_message.Message):
    __slots__ = ["product"]
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    product: Product
    def __init__(self, product: _Optional[_Union[Product, _Mapping]] = ...) -> None: ...

class Helpfulness(_message.Message):
    __slots__ = ["helpful_votes", "total_votes"]
    HELPFUL_VOTES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_VOTES_FIELD_NUMBER: _ClassVar[int]
    helpful_votes: int
    total_votes: int
    def __init__(self, helpful_votes: _Optional[int] = ..., total_votes: _Optional[int] = ...) -> None: ...

class ListProductsRequest(_message.Message):
    __slots__ = ["category", "page_size", "page_token"]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    category: str
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., category: _Optional[str] = ...) -> None: ...

class ListProductsResponse(_message.Message):
    __slots__ = ["next_page_token", "products"]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PRODUCTS_FIELD_NUMBER: _ClassVar[int]
    next_page_token: str
    products: _containers.RepeatedCompositeFieldContainer[Product]
    def __init__(self, products: _Optional[_Iterable[_Union[Product, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListRecommendationsRequest(_message.Message):
    __slots__ = ["asin", "max_results", "reviewer_id"]
    ASIN_FIELD_NUMBER: _ClassVar[int]
    MAX_RESULTS_FIELD_NUMBER: _ClassVar[int]
    REVIEWER_ID_FIELD_NUMBER: _ClassVar[int]
    asin: str
    max_results: int
    reviewer_id: str
    def __init__(self, asin: _Optional[str] = ..., reviewer_id: _Optional[str] = ..., max_results: _Optional[int] = ...) -> None: ...

class ListRecommendationsResponse(_message.Message):
    __slots__ = ["ads", "degraded", "recommendations"]
    ADS_FIELD_NUMBER: _ClassVar[int]
    DEGRADED_FIELD_NUMBER: _ClassVar[int]
    RECOMMENDATIONS_FIELD_NUMBER: _ClassVar[int]
    ads: _containers.RepeatedCompositeFieldContainer[_adprovider_pb2.Ad]
    degraded: _containers.RepeatedCompositeFieldContainer[Degradation]
    recommendations: _containers.RepeatedCompositeFieldContainer[Recommendation]
    def __init__(self, recommendations: _Optional[_Iterable[_Union[Recommendation, _Mapping]]] = ..., ads: _Optional[_Iterable[_Union[_adprovider_pb2.Ad, _Mapping]]] = ..., degraded: _Optional[_Iterable[_Union[Degradation, _Mapping]]] = ...) -> None: ...

class ListReviewsRequest(_message.Message):
    __slots__ = ["asin", "page_size", "page_token"]
    ASIN_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    asin: str
    page_size: int
    page_token: str
    def __init__(self, asin: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListReviewsResponse(_message.Message):
    __slots__ = ["next_page_token", "reviews"]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    REVIEWS_FIELD_NUMBER: _ClassVar[int]
    next_page_token: str
    reviews: _containers.RepeatedCompositeFieldContainer[Review]
    def __init__(self, reviews: _Optional[_Iterable[_Union[Review, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class Product(_message.Message):
    __slots__ = ["asin", "brand", "categories", "description", "image_url", "price", "related", "sales_rank", "title"]
    class SalesRankEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    ASIN_FIELD_NUMBER: _ClassVar[int]
    BRAND_FIELD_NUMBER: _ClassVar[int]
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    IMAGE_URL_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    RELATED_FIELD_NUMBER: _ClassVar[int]
    SALES_RANK_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    asin: str
    brand: str
    categories: _containers.RepeatedCompositeFieldContainer[CategoryPath]
    description: str
    image_url: str
    price: _money_pb2.Money
    related: RelatedProducts
    sales_rank: _containers.ScalarMap[str, int]
    title: str
    def __init__(self, asin: _Optional[str] = ..., title: _Optional[str] = ..., description: _Optional[str] = ..., image_url: _Optional[str] = ..., related: _Optional[_Union[RelatedProducts, _Mapping]] = ..., sales_rank: _Optional[_Mapping[str, int]] = ..., categories: _Optional[_Iterable[_Union[CategoryPath, _Mapping]]] = ..., brand: _Optional[str] = ..., price: _Optional[_Union[_money_pb2.Money, _Mapping]] = ...) -> None: ...

class Recommendation(_message.Message):
    __slots__ = ["product", "reason", "score"]
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    product: Product
    reason: str
    score: float
    def __init__(self, product: _Optional[_Union[Product, _Mapping]] = ..., score: _Optional[float] = ..., reason: _Optional[str] = ...) -> None: ...

class RelatedProducts(_message.Message):
    __slots__ = ["also_bought", "also_viewed", "bought_together", "buy_after_viewing"]
    ALSO_BOUGHT_FIELD_NUMBER: _ClassVar[int]
    ALSO_VIEWED_FIELD_NUMBER: _ClassVar[int]
    BOUGHT_TOGETHER_FIELD_NUMBER: _ClassVar[int]
    BUY_AFTER_VIEWING_FIELD_NUMBER: _ClassVar[int]
    also_bought: _containers.RepeatedScalarFieldContainer[str]
    also_viewed: _containers.RepeatedScalarFieldContainer[str]
    bought_together: _containers.RepeatedScalarFieldContainer[str]
    buy_after_viewing: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, also_bought: _Optional[_Iterable[str]] = ..., also_viewed: _Optional[_Iterable[str]] = ..., bought_together: _Optional[_Iterable[str]] = ..., buy_after_viewing: _Optional[_Iterable[str]] = ...) -> None: ...

class Review(_message.Message):
    __slots__ = ["asin", "helpful", "overall", "review_id", "review_text", "review_time", "reviewer_id", "reviewer_name", "summary"]
    ASIN_FIELD_NUMBER: _ClassVar[int]
    HELPFUL_FIELD_NUMBER: _ClassVar[int]
    OVERALL_FIELD_NUMBER: _ClassVar[int]
    REVIEWER_ID_FIELD_NUMBER: _ClassVar[int]
    REVIEWER_NAME_FIELD_NUMBER: _ClassVar[int]
    REVIEW_ID_FIELD_NUMBER: _ClassVar[int]
    REVIEW_TEXT_FIELD_NUMBER: _ClassVar[int]
    REVIEW_TIME_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    asin: str
    helpful: Helpfulness
    overall: int
    review_id: str
    review_text: str
    review_time: _timestamp_pb2.Timestamp
    reviewer_id: str
    reviewer_name: str
    summary: str
    def __init__(self, review_id: _Optional[str] = ..., asin: _Optional[str] = ..., reviewer_id: _Optional[str] = ..., reviewer_name: _Optional[str] = ..., helpful: _Optional[_Union[Helpfulness, _Mapping]] = ..., review_text: _Optional[str] = ..., overall: _Optional[int] = ..., summary: _Optional[str] = ..., review_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
