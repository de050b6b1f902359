from buf.validate import validate_pb2 as _validate_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from money.v1 import money_pb2 as _money_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Ad(_message.Message):
    __slots__ = ["ad_id", "asin", "image_url", "price", "redirect_url", "text", "title"]
    AD_ID_FIELD_NUMBER: _ClassVar[int]
    ASIN_FIELD_NUMBER: _ClassVar[int]
    IMAGE_URL_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    REDIRECT_URL_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    ad_id: str
    asin: str
    image_url: str
    price: _money_pb2.Money
    redirect_url: str
    text: str
    title: str
    def __init__(self, ad_id: _Optional[str] = ..., asin: _Optional[str] = ..., title: _Optional[str] = ..., image_url: _Optional[str] = ..., price: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., text: _Optional[str] = ..., redirect_url: _Optional[str] = ...) -> None: ...

class AdListing(_message.Message):
    __slots__ = ["active", "ad", "bid", "categories", "create_time", "keywords"]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    AD_FIELD_NUMBER: _ClassVar[int]
    BID_FIELD_NUMBER: _ClassVar[int]
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    KEYWORDS_FIELD_NUMBER: _ClassVar[int]
    active: bool
    ad: Ad
    bid: _money_pb2.Money
    categories: _containers.RepeatedScalarFieldContainer[str]
    create_time: _timestamp_pb2.Timestamp
    keywords: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, ad: _Optional[_Union[Ad, _Mapping]] = ..., categories: _Optional[_Iterable[str]] = ..., keywords: _Optional[_Iterable[str]] = ..., bid: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., active: bool = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateAdRequest(_message.Message):
    __slots__ = ["listing", "request_id"]
    LISTING_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    listing: AdListing
    request_id: str
    def __init__(self, listing: _Optional[_Union[AdListing, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class CreateAdResponse(_message.Message):
    __slots__ = ["listing"]
    LISTING_FIELD_NUMBER: _ClassVar[int]
    listing: AdListing
    def __init__(self, listing: _Optional[_Union[AdListing, _Mapping]] = ...) -> None: ...

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
    __slots__ = ["ads"]
    ADS_FIELD_NUMBER: _ClassVar[int]
    ads: _containers.RepeatedCompositeFieldContainer[Ad]
    def __init__(self, ads: _Optional[_Iterable[_Union[Ad, _Mapping]]] = ...) -> None: ...

class ListAdsRequest(_message.Message):
    __slots__ = ["include_inactive", "page_size", "page_token"]
    INCLUDE_INACTIVE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    include_inactive: bool
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., include_inactive: bool = ...) -> None: ...

class ListAdsResponse(_message.Message):
    __slots__ = ["listings", "next_page_token"]
    LISTINGS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    listings: _containers.RepeatedCompositeFieldContainer[AdListing]
    next_page_token: str
    def __init__(self, listings: _Optional[_Iterable[_Union[AdListing, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
