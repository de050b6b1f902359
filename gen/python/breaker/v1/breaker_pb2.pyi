from buf.validate import validate_pb2 as _validate_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

BREAKER_KIND_DATABASE: BreakerKind
BREAKER_KIND_GENERIC: BreakerKind
BREAKER_KIND_GRPC_METHOD: BreakerKind
BREAKER_KIND_UNSPECIFIED: BreakerKind
BREAKER_MODE_AUTO: BreakerMode
BREAKER_MODE_FORCED_CLOSED: BreakerMode
BREAKER_MODE_FORCED_OPEN: BreakerMode
BREAKER_MODE_UNSPECIFIED: BreakerMode
BREAKER_STATE_CLOSED: BreakerState
BREAKER_STATE_HALF_OPEN: BreakerState
BREAKER_STATE_OPEN: BreakerState
BREAKER_STATE_UNSPECIFIED: BreakerState
DESCRIPTOR: _descriptor.FileDescriptor

class Breaker(_message.Message):
    __slots__ = ["counters", "kind", "last_transition_time", "method", "mode", "name", "open_remaining", "recent_transitions", "state", "target"]
    COUNTERS_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    LAST_TRANSITION_TIME_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    OPEN_REMAINING_FIELD_NUMBER: _ClassVar[int]
    RECENT_TRANSITIONS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    counters: BreakerCounters
    kind: BreakerKind
    last_transition_time: _timestamp_pb2.Timestamp
    method: str
    mode: BreakerMode
    name: str
    open_remaining: _duration_pb2.Duration
    recent_transitions: _containers.RepeatedCompositeFieldContainer[BreakerTransition]
    state: BreakerState
    target: str
    def __init__(self, name: _Optional[str] = ..., kind: _Optional[_Union[BreakerKind, str]] = ..., state: _Optional[_Union[BreakerState, str]] = ..., mode: _Optional[_Union[BreakerMode, str]] = ..., target: _Optional[str] = ..., method: _Optional[str] = ..., counters: _Optional[_Union[BreakerCounters, _Mapping]] = ..., last_transition_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., open_remaining: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., recent_transitions: _Optional[_Iterable[_Union[BreakerTransition, _Mapping]]] = ...) -> None: ...

class BreakerCounters(_message.Message):
    __slots__ = ["consecutive_failures", "failures", "neutral", "rejections", "slow_calls", "successes", "window_calls", "window_failures", "window_slow_calls"]
    CONSECUTIVE_FAILURES_FIELD_NUMBER: _ClassVar[int]
    FAILURES_FIELD_NUMBER: _ClassVar[int]
    NEUTRAL_FIELD_NUMBER: _ClassVar[int]
    REJECTIONS_FIELD_NUMBER: _ClassVar[int]
    SLOW_CALLS_FIELD_NUMBER: _ClassVar[int]
    SUCCESSES_FIELD_NUMBER: _ClassVar[int]
    WINDOW_CALLS_FIELD_NUMBER: _ClassVar[int]
    WINDOW_FAILURES_FIELD_NUMBER: _ClassVar[int]
    WINDOW_SLOW_CALLS_FIELD_NUMBER: _ClassVar[int]
    consecutive_failures: int
    failures: int
    neutral: int
    rejections: int
    slow_calls: int
    successes: int
    window_calls: int
    window_failures: int
    window_slow_calls: int
    def __init__(self, successes: _Optional[int] = ..., failures: _Optional[int] = ..., neutral: _Optional[int] = ..., rejections: _Optional[int] = ..., slow_calls: _Optional[int] = ..., consecutive_failures: _Optional[int] = ..., window_calls: _Optional[int] = ..., window_failures: _Optional[int] = ..., window_slow_calls: _Optional[int] = ...) -> None: ...

class BreakerTransition(_message.Message):
    __slots__ = ["reason", "time", "to"]
    FROM_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    reason: str
    time: _timestamp_pb2.Timestamp
    to: BreakerState
    def __init__(self, to: _Optional[_Union[BreakerState, str]] = ..., time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., reason: _Optional[str] = ..., **kwargs) -> None: ...

class GetBreakerRequest(_message.Message):
    __slots__ = ["name"]
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetBreakerResponse(_message.Message):
    __slots__ = ["breaker"]
    BREAKER_FIELD_NUMBER: _ClassVar[int]
    breaker: Breaker
    def __init__(self, breaker: _Optional[_Union[Breaker, _Mapping]] = ...) -> None: ...

class ListBreakersRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class ListBreakersResponse(_message.Message):
    __slots__ = ["breakers"]
    BREAKERS_FIELD_NUMBER: _ClassVar[int]
    breakers: _containers.RepeatedCompositeFieldContainer[Breaker]
    def __init__(self, breakers: _Optional[_Iterable[_Union[Breaker, _Mapping]]] = ...) -> None: ...

class ResetBreakerRequest(_message.Message):
    __slots__ = ["name"]
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ResetBreakerResponse(_message.Message):
    __slots__ = ["breaker"]
    BREAKER_FIELD_NUMBER: _ClassVar[int]
    breaker: Breaker
    def __init__(self, breaker: _Optional[_Union[Breaker, _Mapping]] = ...) -> None: ...

class SetBreakerModeRequest(_message.Message):
    __slots__ = ["mode", "name"]
    MODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    mode: BreakerMode
    name: str
    def __init__(self, name: _Optional[str] = ..., mode: _Optional[_Union[BreakerMode, str]] = ...) -> None: ...

class SetBreakerModeResponse(_message.Message):
    __slots__ = ["breaker"]
    BREAKER_FIELD_NUMBER: _ClassVar[int]
    breaker: Breaker
    def __init__(self, breaker: _Optional[_Union[Breaker, _Mapping]] = ...) -> None: ...

class BreakerKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class BreakerState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class BreakerMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
