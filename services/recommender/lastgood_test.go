package recommender

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"google.golang.org/protobuf/proto"

	recommenderv1 "github.com/breakwater/breakwater/gen/go/recommender/v1"
	"github.com/breakwater/breakwater/internal/maximal"
)

func TestLastGoodBounds(t *testing.T) {
	c := clock.NewMock()
	lg := newLastGood(2, 1<<20, time.Minute, c)
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
	off := newLastGood(0, 1<<20, time.Minute, c)
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

// TestLastGoodByteBudget: after 1,000 distinct large answers (about 313 KB
// encoded each: ten maximal products), the cache charges no more than its
// budget, and the live heap it holds is within the budget plus a margin.
//
// Measured honestly as the live heap after a full GC (runtime.ReadMemStats
// HeapAlloc), before and after, with the answers the test built already
// garbage: what remains is what the cache keeps. RSS would also count freed
// pages the runtime has not yet returned to the OS, which says nothing about
// the cache. The margin (1 MiB + 2%) covers the runtime's own bookkeeping
// and the test's other live objects; the cache's own per-entry overhead is
// charged to the budget itself.
func TestLastGoodByteBudget(t *testing.T) {
	const budget = 16 << 20
	lg := newLastGood(1<<20, budget, time.Hour, clock.NewMock())
	recs := make([]*recommenderv1.Recommendation, 10)
	for i := range recs {
		recs[i] = &recommenderv1.Recommendation{Product: maximal.Product(maximal.ASIN('P', i)), Score: 1, Reason: "popular"}
	}
	answer := func(i int) []*recommenderv1.Recommendation {
		out := make([]*recommenderv1.Recommendation, len(recs))
		for j, r := range recs {
			c := proto.Clone(r).(*recommenderv1.Recommendation)
			c.Product.Description = fmt.Sprintf("%04d", i) + c.Product.Description[4:] // same size, distinct
			out[j] = c
		}
		return out
	}
	one := proto.Size(&recommenderv1.ListRecommendationsResponse{Recommendations: answer(0)})

	runtime.GC()
	debug.FreeOSMemory()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	rssBefore := rss(t)
	for i := range 1000 {
		lg.put(recommendKey{asin: maximal.ASIN('K', i), max: 10}, answer(i))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	// RSS also holds memory the runtime freed but has not yet returned to
	// the kernel (here ~300 MB of transient answers); FreeOSMemory returns
	// it, so what stays resident is what the cache keeps plus the runtime.
	debug.FreeOSMemory()
	rssAfter := rss(t)

	if lg.size() > budget {
		t.Errorf("cache charges %d bytes, budget %d", lg.size(), budget)
	}
	wantEntries := budget / (one + lastGoodEntryOverhead)
	if lg.len() != wantEntries {
		t.Errorf("cache holds %d entries, want %d (budget / %d bytes each)", lg.len(), wantEntries, one)
	}
	// The newest survive, the oldest went first.
	if _, ok := lg.get(recommendKey{asin: maximal.ASIN('K', 999), max: 10}); !ok {
		t.Error("the newest answer was evicted")
	}
	if _, ok := lg.get(recommendKey{asin: maximal.ASIN('K', 0), max: 10}); ok {
		t.Error("the oldest answer survived")
	}
	grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	margin := int64(1<<20 + budget/50)
	t.Logf("answer %d bytes; %d entries, %d bytes charged; live heap grew %d bytes (budget %d + margin %d)",
		one, lg.len(), lg.size(), grew, budget, margin)
	if grew > budget+margin {
		t.Errorf("live heap grew %d bytes, more than the budget %d + margin %d", grew, budget, margin)
	}
	// RSS: the budget plus a margin of 8 MiB for what the runtime keeps
	// resident around the heap (spans, GC metadata, stacks): measured
	// 17.7-18.0 MB of growth for the 16 MiB budget here.
	const rssMargin = 8 << 20
	switch {
	case raceDetector:
		t.Log("RSS not checked: the race detector's shadow memory inflates it (make test runs this test without -race too)")
	case rssBefore > 0 && rssAfter > 0:
		t.Logf("RSS grew %d bytes (budget %d + margin %d)", rssAfter-rssBefore, budget, rssMargin)
		if rssAfter-rssBefore > budget+rssMargin {
			t.Errorf("RSS grew %d bytes, more than the budget %d + margin %d", rssAfter-rssBefore, budget, rssMargin)
		}
	}
	runtime.KeepAlive(lg)
}

// rss reads the process's resident set size from /proc (0 where there is
// none, and the RSS check is skipped).
func rss(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb int64
			if _, err := fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kb); err != nil {
				t.Fatalf("VmRSS %q: %v", v, err)
			}
			return kb << 10
		}
	}
	return 0
}
