package hashcash

import (
	"container/heap"
	"sync"
	"time"
)

// A SpentStore remembers spent challenges so that each is accepted once.
// The key is the challenge, Stamp.Prefix(), and it must be kept until the
// challenge expires (Minter.Verify returns when); after that the Minter
// refuses the stamp anyway.
type SpentStore interface {
	// Spend records key as used until the given time. It returns
	// ErrReplayed if key is already recorded and unexpired, and ErrFull if
	// there is no room for it.
	Spend(key string, until time.Time) error
}

// MemoryStore is a SpentStore in memory, bounded to a number of entries.
// It never evicts an unexpired entry, as that would let a stamp be spent
// twice: when full, Spend fails with ErrFull. Expired entries are dropped a
// few at a time as calls come, in order of expiry, from a min-heap, so each
// Spend costs O(log n) and no goroutine runs in the background. A
// MemoryStore is safe for concurrent use.
type MemoryStore struct {
	max int
	now func() time.Time

	mu     sync.Mutex
	keys   map[string]time.Time // key -> until
	expiry expiryHeap           // the keys' entries, and stale ones of keys spent again
}

var _ SpentStore = (*MemoryStore)(nil)

// purgePerSpend is the number of expired entries a Spend drops, beyond
// those it must drop to make room. More than one, so that expired entries
// never pile up.
const purgePerSpend = 2

// NewMemoryStore returns a MemoryStore of at most max entries that reads
// the time from now (nil means time.Now), which should be the clock of the
// Minter whose stamps it records. It panics if max < 1.
func NewMemoryStore(max int, now func() time.Time) *MemoryStore {
	if max < 1 {
		panic("hashcash: NewMemoryStore with max < 1")
	}
	if now == nil {
		now = time.Now
	}
	return &MemoryStore{max: max, now: now, keys: make(map[string]time.Time)}
}

// Spend implements SpentStore. An entry is kept while the time is not after
// until, the same instant up to which Minter.Verify accepts the stamp; an
// entry that has expired already is not stored.
func (s *MemoryStore) Spend(key string, until time.Time) error {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for range purgePerSpend {
		if !s.purgeOne(now) {
			break
		}
	}
	old, ok := s.keys[key]
	if ok && !old.Before(now) {
		return ErrReplayed
	}
	if until.Before(now) {
		return nil
	}
	if !ok { // a new key needs room; an expired one is reused
		for len(s.keys) >= s.max && s.purgeOne(now) {
		}
		if len(s.keys) >= s.max {
			return ErrFull
		}
	}
	s.keys[key] = until
	heap.Push(&s.expiry, entry{key: key, until: until})
	return nil
}

// Len returns the number of unexpired entries.
func (s *MemoryStore) Len() int {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.purgeOne(now) {
	}
	return len(s.keys)
}

// purgeOne drops the entry that expires first if it expired before now, and
// reports whether there was one.
func (s *MemoryStore) purgeOne(now time.Time) bool {
	if len(s.expiry) == 0 || !s.expiry[0].until.Before(now) {
		return false
	}
	e := heap.Pop(&s.expiry).(entry)
	if until := s.keys[e.key]; until.Equal(e.until) { // else the key was spent again since
		delete(s.keys, e.key)
	}
	return true
}

type entry struct {
	key   string
	until time.Time
}

// expiryHeap is a min-heap of entries by expiry, for container/heap.
type expiryHeap []entry

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].until.Before(h[j].until) }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(entry)) }
func (h *expiryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = entry{} // let the key be collected
	*h = old[:len(old)-1]
	return e
}
