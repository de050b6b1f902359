package recommender

import (
	"container/list"
	"sync"
	"time"

	"github.com/benbjohnson/clock"
	"google.golang.org/protobuf/proto"

	recommenderv1 "github.com/breakwater/breakwater/gen/go/recommender/v1"
)

// DefaultLastGoodBytes is the last-good cache's default byte budget (64 MiB):
// room for about 20 maximal answers (100 maximal products, 3.1 MB each) or
// tens of thousands of typical ones (a few KB each).
const DefaultLastGoodBytes = 64 << 20

// lastGoodEntryOverhead is what an entry costs besides its answer's bytes:
// the list element, the map slot, the entry struct and its key's strings
// (an ASIN of 10 bytes, a reviewer id of at most 64), rounded up.
const lastGoodEntryOverhead = 256

// lastGood remembers the last good recommendations per request key, to serve
// while the database is down. It is bounded three ways: by bytes (answers
// are kept encoded, so what an entry costs is known exactly: its length plus
// [lastGoodEntryOverhead]); by entries; least recently used first out under
// either bound, so memory stays flat whatever the traffic; and by age, so an
// outage does not serve a catalog that has long since moved on.
type lastGood struct {
	mu       sync.Mutex
	max      int
	maxBytes int64
	bytes    int64
	maxAge   time.Duration
	clock    clock.Clock
	order    *list.List // of *lastGoodEntry, most recently used first
	byKey    map[recommendKey]*list.Element
}

type recommendKey struct {
	asin, reviewer string
	max            int32
}

type lastGoodEntry struct {
	key recommendKey
	// answer is the encoded ListRecommendationsResponse holding only the
	// recommendations: encoded, its cost is its length, and nobody can
	// modify it once stored.
	answer []byte
	at     time.Time
}

func (e *lastGoodEntry) cost() int64 { return int64(len(e.answer)) + lastGoodEntryOverhead }

func newLastGood(max int, maxBytes int64, maxAge time.Duration, c clock.Clock) *lastGood {
	return &lastGood{max: max, maxBytes: maxBytes, maxAge: maxAge, clock: c, order: list.New(),
		byKey: make(map[recommendKey]*list.Element)}
}

func (c *lastGood) put(k recommendKey, recs []*recommenderv1.Recommendation) {
	if c.max <= 0 || c.maxBytes <= 0 {
		return
	}
	b, err := proto.Marshal(&recommenderv1.ListRecommendationsResponse{Recommendations: recs})
	if err != nil {
		return // a message the store built always marshals; nothing to keep otherwise
	}
	e := &lastGoodEntry{key: k, answer: b, at: c.clock.Now()}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[k]; ok {
		c.remove(el)
	}
	if e.cost() > c.maxBytes {
		return // larger than the whole budget: keeping it would evict everything
	}
	c.byKey[k] = c.order.PushFront(e)
	c.bytes += e.cost()
	for c.order.Len() > c.max || c.bytes > c.maxBytes {
		c.remove(c.order.Back())
	}
}

func (c *lastGood) remove(el *list.Element) {
	e := el.Value.(*lastGoodEntry)
	c.order.Remove(el)
	delete(c.byKey, e.key)
	c.bytes -= e.cost()
}

// get returns the answer stored for k unless it is older than maxAge.
func (c *lastGood) get(k recommendKey) ([]*recommenderv1.Recommendation, bool) {
	c.mu.Lock()
	el, ok := c.byKey[k]
	if !ok {
		c.mu.Unlock()
		return nil, false
	}
	e := el.Value.(*lastGoodEntry)
	if c.maxAge > 0 && c.clock.Since(e.at) > c.maxAge {
		c.remove(el)
		c.mu.Unlock()
		return nil, false
	}
	c.order.MoveToFront(el)
	b := e.answer
	c.mu.Unlock()
	var resp recommenderv1.ListRecommendationsResponse
	if err := proto.Unmarshal(b, &resp); err != nil {
		return nil, false
	}
	return resp.GetRecommendations(), true
}

func (c *lastGood) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

// size returns the bytes charged to the budget.
func (c *lastGood) size() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}
