package recommender

import (
	"container/list"
	"sync"
	"time"

	"github.com/benbjohnson/clock"

	recommenderv1 "github.com/breakwater/breakwater/gen/go/recommender/v1"
)

// lastGood remembers the last good recommendations per request key, to serve
// while the database is down. It is bounded twice: by entries, least recently
// used first out, so memory stays flat whatever the traffic; and by age, so an
// outage does not serve a catalog that has long since moved on.
type lastGood struct {
	mu     sync.Mutex
	max    int
	maxAge time.Duration
	clock  clock.Clock
	order  *list.List // of *lastGoodEntry, most recently used first
	byKey  map[recommendKey]*list.Element
}

type recommendKey struct {
	asin, reviewer string
	max            int32
}

type lastGoodEntry struct {
	key  recommendKey
	recs []*recommenderv1.Recommendation // never modified once stored
	at   time.Time
}

func newLastGood(max int, maxAge time.Duration, c clock.Clock) *lastGood {
	return &lastGood{max: max, maxAge: maxAge, clock: c, order: list.New(), byKey: make(map[recommendKey]*list.Element)}
}

func (c *lastGood) put(k recommendKey, recs []*recommenderv1.Recommendation) {
	if c.max <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[k]; ok {
		e := el.Value.(*lastGoodEntry)
		e.recs, e.at = recs, c.clock.Now()
		c.order.MoveToFront(el)
		return
	}
	c.byKey[k] = c.order.PushFront(&lastGoodEntry{key: k, recs: recs, at: c.clock.Now()})
	for c.order.Len() > c.max {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.byKey, oldest.Value.(*lastGoodEntry).key)
	}
}

// get returns the answer stored for k unless it is older than maxAge.
func (c *lastGood) get(k recommendKey) ([]*recommenderv1.Recommendation, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[k]
	if !ok {
		return nil, false
	}
	e := el.Value.(*lastGoodEntry)
	if c.maxAge > 0 && c.clock.Since(e.at) > c.maxAge {
		c.order.Remove(el)
		delete(c.byKey, k)
		return nil, false
	}
	c.order.MoveToFront(el)
	return e.recs, true
}

func (c *lastGood) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
