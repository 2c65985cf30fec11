package hashcash

import (
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMemoryStoreReplay(t *testing.T) {
	clk := newClock(t0)
	s := NewMemoryStore(10, 10, clk.Now)
	until := t0.Add(time.Minute)

	require.NoError(t, s.Spend("a", "", until))
	assert.ErrorIs(t, s.Spend("a", "", until), ErrReplayed)
	assert.ErrorIs(t, s.Spend("a", "", until.Add(time.Hour)), ErrReplayed)
	assert.NoError(t, s.Spend("b", "", until))
	assert.Equal(t, 2, s.Len())

	clk.Advance(time.Minute) // until == now: still unexpired, as for Minter.Verify
	assert.ErrorIs(t, s.Spend("a", "", until), ErrReplayed)
	assert.Equal(t, 2, s.Len())

	clk.Advance(time.Nanosecond)
	assert.Equal(t, 0, s.Len())
	assert.NoError(t, s.Spend("a", "", clk.Now().Add(time.Minute)), "an expired key may be spent again")
}

func TestMemoryStoreFull(t *testing.T) {
	clk := newClock(t0)
	s := NewMemoryStore(3, 3, clk.Now)
	require.NoError(t, s.Spend("a", "", t0.Add(10*time.Second)))
	require.NoError(t, s.Spend("b", "", t0.Add(30*time.Second)))
	require.NoError(t, s.Spend("c", "", t0.Add(20*time.Second)))

	assert.ErrorIs(t, s.Spend("d", "", t0.Add(time.Minute)), ErrFull)
	assert.ErrorIs(t, s.Spend("a", "", t0.Add(time.Minute)), ErrReplayed, "a replay is a replay, full or not")
	assert.Equal(t, 3, s.Len(), "a full store evicts nothing unexpired")

	// Expiry frees slots in order of expiry, whatever the order of Spend.
	clk.Advance(10*time.Second + 1)
	require.NoError(t, s.Spend("d", "", t0.Add(time.Minute)))
	assert.ErrorIs(t, s.Spend("e", "", t0.Add(time.Minute)), ErrFull)
	clk.Advance(10 * time.Second)
	require.NoError(t, s.Spend("e", "", t0.Add(time.Minute)))
	assert.ErrorIs(t, s.Spend("b", "", t0.Add(time.Minute)), ErrReplayed)
	assert.ErrorIs(t, s.Spend("c", "", t0.Add(time.Minute)), ErrFull, "c expired and was dropped, so it is no replay")
}

func TestMemoryStoreExpiredUntil(t *testing.T) {
	clk := newClock(t0)
	s := NewMemoryStore(1, 1, clk.Now)
	assert.NoError(t, s.Spend("old", "", t0.Add(-time.Second)))
	assert.Equal(t, 0, s.Len(), "an expired entry takes no room")
	assert.NoError(t, s.Spend("new", "", t0.Add(time.Second)))
}

func TestMemoryStoreDefaults(t *testing.T) {
	assert.Panics(t, func() { NewMemoryStore(0, 0, nil) })
	s := NewMemoryStore(1, 1, nil)
	require.NoError(t, s.Spend("a", "", time.Now().Add(time.Hour)))
	assert.ErrorIs(t, s.Spend("a", "", time.Now().Add(time.Hour)), ErrReplayed)
}

// TestMemoryStoreConcurrent spends from many goroutines, each key twice:
// exactly one Spend per key may succeed. Run it with -race.
func TestMemoryStoreConcurrent(t *testing.T) {
	clk := newClock(t0)
	const keys, workers = 500, 8
	s := NewMemoryStore(keys, keys, clk.Now)
	var ok, replayed, other atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range keys {
				k := strconv.Itoa((i + w*keys/workers) % keys)
				switch err := s.Spend(k, "", t0.Add(time.Minute)); {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, ErrReplayed):
					replayed.Add(1)
				default:
					other.Add(1)
				}
				if i%50 == 0 {
					s.Len()
					clk.Advance(time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int64(keys), ok.Load())
	assert.Equal(t, int64(keys*(workers-1)), replayed.Load())
	assert.Zero(t, other.Load())
	assert.Equal(t, keys, s.Len())

	clk.Advance(time.Minute)
	assert.Equal(t, 0, s.Len())
}

// TestMemoryStoreHeap spends many keys with random expiries and checks that
// exactly the unexpired ones remain as time passes.
func TestMemoryStoreHeap(t *testing.T) {
	clk := newClock(t0)
	s := NewMemoryStore(1000, 1000, clk.Now)
	until := map[string]time.Time{}
	for i := range 1000 {
		k := strconv.Itoa(i)
		until[k] = t0.Add(time.Duration(i*7919%1000) * time.Millisecond)
		require.NoError(t, s.Spend(k, "", until[k]))
	}
	for step := range 11 {
		now := t0.Add(time.Duration(step*100) * time.Millisecond)
		clk.Advance(now.Sub(clk.Now()))
		want := 0
		for _, u := range until {
			if !u.Before(now) {
				want++
			}
		}
		assert.Equal(t, want, s.Len(), "at +%dms", step*100)
	}
}

// TestMemoryStoreIncremental checks that a Spend after many entries
// expired at once drops only a few of them, and that a key spent again
// before its old entry was dropped stays spent.
func TestMemoryStoreIncremental(t *testing.T) {
	clk := newClock(t0)
	s := NewMemoryStore(1000, 1000, clk.Now)
	for i := range 1000 {
		require.NoError(t, s.Spend(strconv.Itoa(i), "", t0.Add(time.Second)))
	}
	clk.Advance(2 * time.Second)

	require.NoError(t, s.Spend("999", "", t0.Add(time.Minute)), "expired, so it may be spent again")
	assert.Len(t, s.expiry, 1000+1-purgePerSpend, "one Spend drops only a few expired entries")
	require.NoError(t, s.Spend("new", "", t0.Add(time.Minute)))
	assert.Len(t, s.expiry, 1000+2-2*purgePerSpend)

	assert.Equal(t, 2, s.Len())
	assert.ErrorIs(t, s.Spend("999", "", t0.Add(time.Minute)), ErrReplayed, "its stale entry did not drop it")
	assert.ErrorIs(t, s.Spend("new", "", t0.Add(time.Minute)), ErrReplayed)
}

// TestMemoryStoreFullOfExpired checks that a full store makes room by
// dropping expired entries, however many are left.
func TestMemoryStoreFullOfExpired(t *testing.T) {
	clk := newClock(t0)
	s := NewMemoryStore(100, 100, clk.Now)
	for i := range 100 {
		require.NoError(t, s.Spend(strconv.Itoa(i), "", t0.Add(time.Duration(i)*time.Millisecond)))
	}
	clk.Advance(time.Second)
	for i := range 100 {
		require.NoError(t, s.Spend("new"+strconv.Itoa(i), "", clk.Now().Add(time.Minute)))
	}
	assert.ErrorIs(t, s.Spend("one more", "", clk.Now().Add(time.Minute)), ErrFull)
	assert.Equal(t, 100, s.Len())
}

// One owner may hold only its share: when it is used up, that owner is
// refused and others are not; its entries expiring give it room again.
func TestMemoryStoreOwnerShare(t *testing.T) {
	clk := newClock(t0)
	s := NewMemoryStore(10, 2, clk.Now)
	require.NoError(t, s.Spend("a1", "a", t0.Add(time.Second)))
	require.NoError(t, s.Spend("a2", "a", t0.Add(time.Minute)))
	assert.ErrorIs(t, s.Spend("a3", "a", t0.Add(time.Minute)), ErrOverShare)
	assert.ErrorIs(t, s.Spend("a1", "b", t0.Add(time.Minute)), ErrReplayed, "a replay is a replay, whoever sends it")
	require.NoError(t, s.Spend("b1", "b", t0.Add(time.Minute)), "another owner is not affected")
	assert.Equal(t, 3, s.Len())

	clk.Advance(2 * time.Second) // a1 expired
	require.NoError(t, s.Spend("a3", "a", t0.Add(time.Minute)), "an expired entry frees its owner's share")
	assert.ErrorIs(t, s.Spend("a4", "a", t0.Add(time.Minute)), ErrOverShare)
	require.NoError(t, s.Spend("a1", "b", t0.Add(time.Minute)), "an expired key spent again counts for its new owner")
	assert.ErrorIs(t, s.Spend("b2", "b", t0.Add(time.Minute)), ErrOverShare)
}

// The expiry heap gives entries back in order of expiry, whatever the
// order they came in.
func TestExpiryHeapOrder(t *testing.T) {
	var h expiryHeap
	base := time.Unix(1000, 0)
	for _, s := range []int{5, 1, 9, 3, 3, 7, 0, 8, 2, 6, 4} {
		h.push(entry{key: strconv.Itoa(s), until: base.Add(time.Duration(s) * time.Second)})
	}
	var got []int
	for len(h) > 0 {
		got = append(got, int(h.pop().until.Sub(base)/time.Second))
	}
	assert.Equal(t, []int{0, 1, 2, 3, 3, 4, 5, 6, 7, 8, 9}, got)
}
