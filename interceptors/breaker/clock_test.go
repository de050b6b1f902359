package breaker

import (
	"time"

	"github.com/benbjohnson/clock"
)

type mockClock = clock.Mock

func newMockClock() *mockClock {
	c := clock.NewMock()
	c.Set(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	return c
}
