package main

import (
	"bytes"
	"context"
	"testing"

	"go.uber.org/goleak"

	"github.com/breakwater/breakwater/internal/pgtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(pgtest.Wrap(m)) }

// TestSamePrintout: the program prints the same on the bare pool and
// through pgbreaker, where the write breaker counted six calls: the table,
// the copy, the batch, the transaction (one call for its three
// statements), the read and the drop.
func TestSamePrintout(t *testing.T) {
	url := pgtest.Shared(t).NewDatabase(t)
	var bare, wrapped bytes.Buffer
	if err := run(context.Background(), url, true, &bare); err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), url, false, &wrapped); err != nil {
		t.Fatal(err)
	}
	const want = "copied 3 accounts\ncredited 3 accounts in one batch\nmoved 30 from account 1 to 3: balances 80 and 40, total 180\n"
	if bare.String() != want {
		t.Errorf("bare pool printed\n%s\nwant\n%s", bare.String(), want)
	}
	if w := want + "breaker example/write: closed, 6 successes, 0 failures\n"; wrapped.String() != w {
		t.Errorf("through pgbreaker printed\n%s\nwant\n%s", wrapped.String(), w)
	}
}
