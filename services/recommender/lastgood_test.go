package recommender

import (
	"testing"
	"time"

	"github.com/benbjohnson/clock"

	recommenderv1 "github.com/breakwater/breakwater/gen/go/recommender/v1"
)

func TestLastGoodBounds(t *testing.T) {
	c := clock.NewMock()
	lg := newLastGood(2, time.Minute, c)
	recs := []*recommenderv1.Recommendation{{Reason: "popular"}}
	a, b, d := recommendKey{asin: "A"}, recommendKey{asin: "B"}, recommendKey{asin: "D"}
	lg.put(a, recs)
	lg.put(b, recs)
	if _, ok := lg.get(a); !ok { // a is now the most recently used
		t.Fatal("a missing")
	}
	lg.put(d, recs) // evicts b, the least recently used
	if _, ok := lg.get(b); ok {
		t.Error("b survived eviction")
	}
	if _, ok := lg.get(a); !ok {
		t.Error("a evicted although recently used")
	}
	if lg.len() != 2 {
		t.Errorf("len = %d, want 2", lg.len())
	}
	c.Add(time.Minute + time.Nanosecond)
	if _, ok := lg.get(a); ok {
		t.Error("an answer older than the age limit was served")
	}
	if lg.len() != 1 {
		t.Errorf("len = %d after an expired get, want 1", lg.len())
	}
	off := newLastGood(0, time.Minute, c)
	off.put(a, recs)
	if _, ok := off.get(a); ok {
		t.Error("a disabled cache served an answer")
	}
}

func TestReason(t *testing.T) {
	if got := snake("DeadlineExceeded"); got != "deadline_exceeded" {
		t.Errorf("snake = %q", got)
	}
}
