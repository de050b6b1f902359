package breaker

import (
	"fmt"
	"strings"
)

// State is where a breaker's state machine is.
type State uint8

// The three states of a breaker.
const (
	// StateClosed admits every call and counts outcomes in the window.
	StateClosed State = iota
	// StateHalfOpen admits a bounded number of concurrent probes.
	StateHalfOpen
	// StateOpen rejects every call until its open timeout has passed.
	StateOpen
)

func (s State) String() string {
	switch s {
	case StateClosed:
		return "closed"
	case StateHalfOpen:
		return "half-open"
	case StateOpen:
		return "open"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// MarshalText makes states readable in JSON and logs.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Mode is how an operator has set a breaker. Modes are sticky: nothing but
// [Breaker.SetMode] changes them.
type Mode uint8

// Operator modes.
const (
	// ModeAuto lets the breaker's rules move its state.
	ModeAuto Mode = iota
	// ModeForcedOpen rejects every call.
	ModeForcedOpen
	// ModeForcedClosed admits every call and keeps counting, but never trips.
	ModeForcedClosed
)

func (m Mode) String() string {
	switch m {
	case ModeAuto:
		return "auto"
	case ModeForcedOpen:
		return "forced-open"
	case ModeForcedClosed:
		return "forced-closed"
	}
	return fmt.Sprintf("Mode(%d)", uint8(m))
}

// MarshalText makes modes readable in JSON and logs.
func (m Mode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// ParseMode reads a mode written as by [Mode.String] or as the proto enum
// names (AUTO, FORCED_OPEN, FORCED_CLOSED), in any case.
func ParseMode(s string) (Mode, error) {
	switch strings.ReplaceAll(strings.ToLower(s), "_", "-") {
	case "auto":
		return ModeAuto, nil
	case "forced-open":
		return ModeForcedOpen, nil
	case "forced-closed":
		return ModeForcedClosed, nil
	}
	return 0, fmt.Errorf("breaker: unknown mode %q", s)
}

// Kind says what a breaker protects; it only labels events and snapshots.
type Kind uint8

// Kinds of breakers.
const (
	// KindGRPC protects one (target, method) pair of a gRPC client.
	KindGRPC Kind = iota
	// KindDatabase protects a database pool.
	KindDatabase
	// KindGeneric protects anything else run through [Breaker.Do].
	KindGeneric
)

func (k Kind) String() string {
	switch k {
	case KindGRPC:
		return "grpc"
	case KindDatabase:
		return "database"
	case KindGeneric:
		return "generic"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// MarshalText makes kinds readable in JSON and logs.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }
