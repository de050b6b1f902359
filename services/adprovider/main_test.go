package adprovider_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/breakwater/breakwater/internal/pgtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(pgtest.Wrap(m))
}
