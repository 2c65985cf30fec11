package powserver

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
)

// fakeConn is a connection admission can close; nothing else is used.
type fakeConn struct {
	net.Conn
	closed bool
}

func (c *fakeConn) Close() error { c.closed = true; return nil }

func newTestAdmission(t *testing.T, edit func(*Config)) *admission {
	t.Helper()
	cfg := testConfig(Config{})
	if edit != nil {
		edit(&cfg)
	}
	require.NoError(t, cfg.Validate())
	return newAdmission(cfg, zap.NewNop(), newMetrics(prometheus.NewRegistry()))
}

var t0 = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

// A full table closes a silent handshake, never one whose answer began, and
// refuses when every slot is answering.
func TestAdmissionEvictsOnlySilent(t *testing.T) {
	a := newTestAdmission(t, func(c *Config) { c.MaxConns, c.MaxConnsPerIP = 2, 2 })
	c1, c2, c3, c4 := &fakeConn{}, &fakeConn{}, &fakeConn{}, &fakeConn{}
	s1, _, ref := admitNew(a, c1, ip("10.0.0.1"), t0)
	require.Nil(t, ref)
	require.True(t, a.answered(s1))
	s2, _, ref := admitNew(a, c2, ip("10.0.0.2"), t0)
	require.Nil(t, ref)

	_, _, ref = admitNew(a, c3, ip("10.0.0.3"), t0)
	require.Nil(t, ref)
	assert.True(t, c2.closed, "the silent one made room")
	assert.False(t, c1.closed, "the answering one stays")
	assert.Equal(t, closedEvicted, a.closedFor(s2))
	assert.False(t, a.answered(s2), "an evicted slot cannot answer any more")
	a.release(s2, t0) // its session ends: no double release

	_, _, ref = admitNew(a, c4, ip("10.0.0.4"), t0)
	require.Nil(t, ref, "the third is silent, so it goes")
	assert.True(t, c3.closed)
	s4 := a.silent[0]
	require.True(t, a.answered(s4))
	_, _, ref = admitNew(a, &fakeConn{}, ip("10.0.0.5"), t0)
	require.NotNil(t, ref, "nothing silent left to close")
	assert.Equal(t, "cap", ref.reason)
	a.release(s1, t0)
	a.release(s4, t0)
	assert.Empty(t, a.slots)
}

// Among many silent handshakes, one address holding many goes first; with
// one socket per address, the oldest of a random sample. The one just
// admitted (a client presenting its stamp on a new connection) is never
// the one closed; the oldest of all is not always either (it used to be,
// and it was the slow honest solver).
func TestAdmissionVictim(t *testing.T) {
	a := newTestAdmission(t, func(c *Config) { c.MaxConns, c.MaxConnsPerIP = 1000, 1000 })
	for i := range 5 {
		admitNew(a, &fakeConn{}, netip.AddrFrom4([4]byte{10, 1, 0, byte(i)}), t0)
	}
	for range 3 {
		admitNew(a, &fakeConn{}, ip("10.9.9.9"), t0)
	}
	v := a.victimLocked()
	assert.Equal(t, ip("10.9.9.9"), v.client, "a table of evictSample: every one is looked at")

	b := newTestAdmission(t, func(c *Config) { c.MaxConns, c.MaxConnsPerIP = 1000, 1 })
	oldest, _, _ := admitNew(b, &fakeConn{}, ip("10.0.0.1"), t0)
	for i := range 500 {
		admitNew(b, &fakeConn{}, netip.AddrFrom4([4]byte{10, 2, byte(i >> 8), byte(i)}), t0)
	}
	youngest, _, _ := admitNew(b, &fakeConn{}, ip("10.0.0.2"), t0)
	oldestHits := 0
	for range 1000 {
		switch b.victimLocked() {
		case youngest:
			t.Fatal("the slot just admitted was picked")
		case oldest:
			oldestHits++
		}
	}
	assert.Less(t, oldestHits, 100, "the oldest of all goes only when sampled (8 of 502: about 16 in 1000)")
}

// Shutdown closes every silent handshake and leaves those answering.
func TestAdmissionClose(t *testing.T) {
	a := newTestAdmission(t, nil)
	cs := []*fakeConn{{}, {}, {}}
	var slots []*slot
	for i, c := range cs {
		s, _, _ := admitNew(a, c, netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), t0)
		slots = append(slots, s)
	}
	a.answered(slots[0])
	closed, going := a.close()
	assert.Equal(t, 2, closed)
	assert.Equal(t, 1, going)
	assert.False(t, cs[0].closed)
	assert.True(t, cs[1].closed && cs[2].closed)
	assert.Equal(t, closedShutdown, a.closedFor(slots[1]))
	_, _, ref := admitNew(a, &fakeConn{}, ip("10.0.0.9"), t0)
	require.NotNil(t, ref)
	assert.Equal(t, "shutdown", ref.reason)
}

// The window is the solve window for the base and load bits when calm and
// AnswerWindow under load, and bits an address earns by its own connection
// rate (refused connections count) never lengthen it.
func TestAdmissionWindow(t *testing.T) {
	a := newTestAdmission(t, func(c *Config) {
		c.Difficulty, c.MaxExtraBits, c.MaxConns, c.MaxConnsPerIP = 16, 6, 64, 1
	})
	calm := a.cfg.solveWindow(16)
	s, p, _ := admitNew(a, &fakeConn{}, ip("10.0.0.1"), t0)
	assert.Equal(t, price{bits: 16, window: calm}, p)
	a.release(s, t0)
	for range 1300 { // a storm from one address, each refused but the first
		if s, _, ref := admitNew(a, &fakeConn{}, ip("10.0.0.1"), t0); ref == nil {
			a.release(s, t0)
		}
	}
	_, p, _ = admitNew(a, &fakeConn{}, ip("10.0.0.1"), t0)
	assert.Greater(t, p.bits, 16, "the storm raised its own price")
	assert.Equal(t, calm, p.window, "but not its window")

	for i := range 8 { // an eighth of the table: under load
		admitNew(a, &fakeConn{}, netip.AddrFrom4([4]byte{10, 3, 0, byte(i)}), t0)
	}
	_, p, _ = admitNew(a, &fakeConn{}, ip("10.0.0.2"), t0)
	assert.Equal(t, a.cfg.AnswerWindow, p.window)
}

// The load bits every client pays follow redeemed proofs only: a re-dial
// flood from many addresses, refused at the per-address cap or left
// silent, leaves a calm newcomer at the base price, while proofs redeemed
// above CalmProofRate raise it by a bit per doubling.
func TestAdmissionLoadFollowsProofs(t *testing.T) {
	a := newTestAdmission(t, func(c *Config) {
		c.Difficulty, c.MaxExtraBits, c.MaxConns, c.MaxConnsPerIP, c.CalmProofRate = 16, 6, 1000, 2, 100
	})
	now, refused := t0, 0
	for i := range 20000 { // 20,000 connections in 2 s from 50 addresses, none solving
		now = now.Add(100 * time.Microsecond)
		s, _, ref := admitNew(a, &fakeConn{}, netip.AddrFrom4([4]byte{10, 5, 0, byte(i % 50)}), now)
		switch {
		case ref != nil:
			refused++
		case i%3 == 0:
			a.release(s, now) // the handshake timed out or the client left, silent
		}
	}
	assert.Greater(t, refused, 10000, "the flood hit the per-address cap")
	s, p, ref := admitNew(a, &fakeConn{}, ip("10.0.0.1"), now)
	require.Nil(t, ref)
	assert.Equal(t, 16, p.bits, "a flood that never solves costs others nothing")
	a.release(s, now)

	for i := range 8000 { // 8,000 proofs in 2 s from 8,000 addresses
		now = now.Add(250 * time.Microsecond)
		s, _, ref := admitNew(a, &fakeConn{}, netip.AddrFrom4([4]byte{10, 6, byte(i >> 8), byte(i)}), now)
		require.Nil(t, ref)
		require.True(t, a.answered(s))
		s.redeemed = true
		a.release(s, now)
	}
	_, p, _ = admitNew(a, &fakeConn{}, ip("10.0.0.2"), now)
	// The rate decays with rateTau (10 s): after 2 s at 4,000/s it reads
	// about 725/s, 7.25x calm, so two load bits.
	assert.Equal(t, 16+2, p.bits, "redeemed proofs at several times the calm rate raise everyone's price")
}

// admitNew admits conn into a new slot, as a session does into its own.
func admitNew(a *admission, conn net.Conn, client netip.Addr, now time.Time) (*slot, price, *refusal) {
	s := &slot{}
	p, ref := a.admit(s, conn, client, false, now)
	if ref != nil {
		return nil, p, ref
	}
	return s, p, nil
}

// An allow-listed client pays the base price whatever the load and its own
// rate (none with AllowFree), and its silent handshakes are never closed
// to make room for a stranger.
func TestAdmissionAllowList(t *testing.T) {
	a := newTestAdmission(t, func(c *Config) {
		c.Difficulty, c.MaxExtraBits, c.MaxConns, c.MaxConnsPerIP, c.CalmProofRate = 16, 6, 4, 4, 1
	})
	now := t0
	for i := range 100 { // proofs far above the calm rate: load bits for everyone else
		now = now.Add(time.Millisecond)
		s, _, _ := admitNew(a, &fakeConn{}, netip.AddrFrom4([4]byte{10, 7, 0, byte(i)}), now)
		require.True(t, a.answered(s))
		s.redeemed = true
		a.release(s, now)
	}
	_, stranger, _ := admitNew(a, &fakeConn{}, ip("10.8.0.1"), now)
	assert.Greater(t, stranger.bits, 16, "a stranger pays the load")

	friend := ip("192.0.2.1")
	var kept []*slot
	for range 3 {
		s := &slot{}
		p, ref := a.admit(s, &fakeConn{}, friend, true, now)
		require.Nil(t, ref)
		assert.Equal(t, 16, p.bits, "an allow-listed client pays the base")
		assert.Equal(t, a.cfg.solveWindow(16), p.window)
		kept = append(kept, s)
	}
	// The table is full: a stranger's silent handshake goes each time, the
	// friends' stay.
	_, _, ref := admitNew(a, &fakeConn{}, ip("10.8.0.2"), now)
	require.Nil(t, ref)
	_, _, ref = admitNew(a, &fakeConn{}, ip("10.8.0.3"), now)
	require.Nil(t, ref, "the second stranger's handshake made room")
	for _, s := range kept {
		assert.Equal(t, notClosed, a.closedFor(s), "an allow-listed handshake is never evicted")
	}

	free := newTestAdmission(t, func(c *Config) { c.Difficulty, c.AllowFree = 16, true })
	p, _ := free.admit(&slot{}, &fakeConn{}, friend, true, t0)
	assert.Equal(t, 0, p.bits, "AllowFree: no work")
}
