package hashcash

import (
	"sync"
	"time"
)

// A SpentStore remembers spent challenges so that each is accepted once.
// The key is the challenge, Stamp.Prefix(), and it must be kept until the
// challenge expires (Minter.Verify returns when); after that the Minter
// refuses the stamp anyway. The owner is who spent it (the server passes
// the client's address), so that a store can bound each owner's share.
type SpentStore interface {
	// Spend records key as used by owner until the given time. It returns
	// ErrReplayed if key is already recorded and unexpired, ErrOverShare if
	// owner holds its whole share of unexpired entries, and ErrFull if
	// there is no room for it.
	Spend(key, owner string, until time.Time) error
}

// MemoryStore is a SpentStore in memory, bounded to a number of entries,
// and each owner to a number of them. It never evicts an unexpired entry,
// as that would let a stamp be spent twice: when full, Spend fails with
// ErrFull, and for an owner at its share with ErrOverShare, so that one
// owner cannot fill the store for everyone. Expired entries are dropped a
// few at a time as calls come, in order of expiry, from a min-heap, so each
// Spend costs O(log n) and no goroutine runs in the background. A
// MemoryStore is safe for concurrent use.
type MemoryStore struct {
	max, perOwner int
	now           func() time.Time

	mu     sync.Mutex
	keys   map[string]spent // key -> until when, and by whom
	owners map[string]int   // owner -> unexpired keys
	expiry expiryHeap       // the keys' entries, and stale ones of keys spent again
}

type spent struct {
	until time.Time
	owner string
}

var _ SpentStore = (*MemoryStore)(nil)

// purgePerSpend is the number of expired entries a Spend drops, beyond
// those it must drop to make room. More than one, so that expired entries
// never pile up.
const purgePerSpend = 2

// NewMemoryStore returns a MemoryStore of at most max entries, at most
// perOwner of them for one owner, that reads the time from now (nil means
// time.Now), which should be the clock of the Minter whose stamps it
// records. It panics if max or perOwner is below 1.
func NewMemoryStore(max, perOwner int, now func() time.Time) *MemoryStore {
	if max < 1 || perOwner < 1 {
		panic("hashcash: NewMemoryStore with max or perOwner < 1")
	}
	if now == nil {
		now = time.Now
	}
	return &MemoryStore{max: max, perOwner: perOwner, now: now, keys: map[string]spent{}, owners: map[string]int{}}
}

// Spend implements SpentStore. An entry is kept while the time is not after
// until, the same instant up to which Minter.Verify accepts the stamp; an
// entry that has expired already is not stored.
func (s *MemoryStore) Spend(key, owner string, until time.Time) error {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for range purgePerSpend {
		if !s.purgeOne(now) {
			break
		}
	}
	old, ok := s.keys[key]
	if ok && !old.until.Before(now) {
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
	held := s.owners[owner]
	if ok && old.owner == owner {
		held-- // its own expired entry, about to be reused
	}
	if held >= s.perOwner {
		return ErrOverShare
	}
	if ok {
		s.dropOwned(old.owner)
	}
	s.keys[key] = spent{until: until, owner: owner}
	s.owners[owner]++
	s.expiry.push(entry{key: key, until: until})
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
	e := s.expiry.pop()
	if sp := s.keys[e.key]; sp.until.Equal(e.until) { // else the key was spent again since
		delete(s.keys, e.key)
		s.dropOwned(sp.owner)
	}
	return true
}

// dropOwned takes one entry off owner's count, forgetting an owner with none.
func (s *MemoryStore) dropOwned(owner string) {
	if s.owners[owner]--; s.owners[owner] <= 0 {
		delete(s.owners, owner)
	}
}

type entry struct {
	key   string
	until time.Time
}

// expiryHeap is a min-heap of entries by expiry. It is typed rather than
// a container/heap, whose Push and Pop box each entry: an allocation per
// redemption.
type expiryHeap []entry

// push adds e.
func (h *expiryHeap) push(e entry) {
	*h = append(*h, e)
	a := *h
	for i := len(a) - 1; i > 0; {
		parent := (i - 1) / 2
		if !a[i].until.Before(a[parent].until) {
			break
		}
		a[i], a[parent] = a[parent], a[i]
		i = parent
	}
}

// pop removes and returns the entry that expires first; h is not empty.
func (h *expiryHeap) pop() entry {
	a := *h
	top, last := a[0], len(a)-1
	a[0] = a[last]
	a[last] = entry{} // let the key be collected
	a = a[:last]
	for i := 0; ; {
		least, l, r := i, 2*i+1, 2*i+2
		if l < len(a) && a[l].until.Before(a[least].until) {
			least = l
		}
		if r < len(a) && a[r].until.Before(a[least].until) {
			least = r
		}
		if least == i {
			break
		}
		a[i], a[least] = a[least], a[i]
		i = least
	}
	*h = a
	return top
}
