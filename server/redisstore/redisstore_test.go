package redisstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/powtcp/powtcp/hashcash"
	"github.com/powtcp/powtcp/internal/redistest"
)

func newMinter(t testing.TB) *hashcash.Minter {
	t.Helper()
	m, err := hashcash.NewMinter(hashcash.MinterConfig{Key: []byte("0123456789abcdef"), TTL: time.Minute})
	require.NoError(t, err)
	return m
}

func open(t *testing.T, url string, perOwner int) *Store {
	t.Helper()
	// 500ms per call rather than the default 50ms: CI runs every package's
	// tests at once, under -race, on two cores.
	s, warn, err := New(context.Background(), Config{URL: url, PerOwner: perOwner, TTL: time.Minute, Timeout: 500 * time.Millisecond}, prometheus.NewRegistry())
	require.NoError(t, err)
	assert.Empty(t, warn)
	t.Cleanup(func() { s.Close() })
	return s
}

// Two stores on one server are one record: a challenge spent through one
// is a replay through the other.
func TestSpendShared(t *testing.T) {
	srv := redistest.Start(t)
	a, b := open(t, srv.URL, 0), open(t, srv.URL, 0)
	m := newMinter(t)
	c1, c2 := m.Challenge(0, "r"), m.Challenge(0, "r")
	until := time.Now().Add(time.Minute)
	require.NoError(t, a.Spend(c1, "10.0.0.1", until))
	assert.ErrorIs(t, b.Spend(c1, "10.0.0.1", until), hashcash.ErrReplayed)
	assert.ErrorIs(t, a.Spend(c1, "10.0.0.2", until), hashcash.ErrReplayed, "whoever sends it")
	require.NoError(t, b.Spend(c2, "10.0.0.1", until))
	assert.NoError(t, a.Spend(m.Challenge(0, "r"), "10.0.0.1", time.Now().Add(-time.Second)), "expired: nothing to record")
	assert.Error(t, a.Spend("not a challenge", "10.0.0.1", until))
}

// The key expires at the challenge's own expiry, not a local TTL.
func TestSpendExpiresAtUntil(t *testing.T) {
	srv := redistest.Start(t)
	s := open(t, srv.URL, 0)
	c := newMinter(t).Challenge(0, "r")
	until := time.Now().Add(42 * time.Second).Truncate(time.Second)
	require.NoError(t, s.Spend(c, "o", until))
	key, err := s.claimKey(c)
	require.NoError(t, err)
	at, err := s.client.ExpireTime(context.Background(), key).Result()
	require.NoError(t, err)
	assert.Equal(t, until.Unix(), int64(at/time.Second))
}

// One owner holds at most PerOwner entries; others are not affected.
func TestSpendPerOwner(t *testing.T) {
	srv := redistest.Start(t)
	s := open(t, srv.URL, 2)
	m := newMinter(t)
	until := time.Now().Add(time.Minute)
	require.NoError(t, s.Spend(m.Challenge(0, "r"), "a", until))
	require.NoError(t, s.Spend(m.Challenge(0, "r"), "a", until))
	assert.ErrorIs(t, s.Spend(m.Challenge(0, "r"), "a", until), hashcash.ErrOverShare)
	assert.NoError(t, s.Spend(m.Challenge(0, "r"), "b", until))
}

// A store that stops answering, or is gone, fails closed within the call
// deadline; it works again once back.
func TestSpendFailsClosed(t *testing.T) {
	srv := redistest.Start(t)
	s := open(t, srv.URL, 0)
	m := newMinter(t)
	until := time.Now().Add(time.Minute)
	require.NoError(t, s.Ping(context.Background()))

	srv.Pause(t)
	err := s.Spend(m.Challenge(0, "r"), "o", until)
	assert.ErrorIs(t, err, ErrUnavailable)
	assert.ErrorContains(t, err, "timeout")
	assert.Error(t, s.Ping(context.Background()))
	srv.Resume(t)
	require.Eventually(t, func() bool { return s.Ping(context.Background()) == nil }, 10*time.Second, 10*time.Millisecond)
	assert.NoError(t, s.Spend(m.Challenge(0, "r"), "o", until))

	srv.Kill(t)
	// Refused either way; whether as unreachable or as a timeout depends
	// on how far the pool's dial got in the deadline.
	assert.ErrorIs(t, s.Spend(m.Challenge(0, "r"), "o", until), ErrUnavailable)
}

// A server that may evict keys is refused: an evicted key is a replay.
func TestNewRefusesEviction(t *testing.T) {
	srv := redistest.Start(t, "--maxmemory-policy", "allkeys-lru")
	// A generous timeout: on a loaded machine PING once took longer than
	// the default 50 ms, and the test is of the policy check.
	_, _, err := New(context.Background(), Config{URL: srv.URL, Timeout: 10 * time.Second}, nil)
	assert.ErrorContains(t, err, `maxmemory-policy is "allkeys-lru"`)
	_, _, err = New(context.Background(), Config{URL: "unix:///nonexistent/redis.sock", Timeout: 10 * time.Millisecond}, nil)
	assert.ErrorContains(t, err, "PING")
	_, _, err = New(context.Background(), Config{URL: "redis://user:secret@127.0.0.1:1/0", Timeout: 10 * time.Millisecond}, nil)
	assert.NotContains(t, err.Error(), "secret", "the password is not printed")
	_, _, err = New(context.Background(), Config{URL: "redis+sentinel://u:secret@127.0.0.1:1/m", Timeout: 10 * time.Millisecond}, nil)
	assert.ErrorContains(t, err, "PING", "no Sentinel answers")
	assert.NotContains(t, err.Error(), "secret", "the password is not printed")
	_, _, err = New(context.Background(), Config{URL: "redis+sentinel://u:secret@127.0.0.1:1"}, nil)
	assert.ErrorContains(t, err, "no /master")
	assert.NotContains(t, err.Error(), "secret", "the password is not printed")
}

// Concurrent redemptions share round trips and each gets its own answer.
func TestSpendConcurrent(t *testing.T) {
	srv := redistest.Start(t)
	// A generous deadline: 400 calls at once share 32 connections, and the
	// test is of the answers, not of the store's speed (under -race).
	s, _, err := New(context.Background(), Config{URL: srv.URL, Timeout: 10 * time.Second, TTL: time.Minute}, nil)
	require.NoError(t, err)
	defer s.Close()
	m := newMinter(t)
	until := time.Now().Add(time.Minute)
	cs := make([]string, 200)
	for i := range cs {
		cs[i] = m.Challenge(0, "r")
	}
	errs := make(chan error, 2*len(cs))
	for _, c := range append(cs, cs...) { // each twice: one spends, one is a replay
		go func() { errs <- s.Spend(c, "o", until) }()
	}
	var ok, replayed int
	for range 2 * len(cs) {
		switch err := <-errs; {
		case err == nil:
			ok++
		case errors.Is(err, hashcash.ErrReplayed):
			replayed++
		default:
			t.Errorf("unexpected %v", err)
		}
	}
	assert.Equal(t, len(cs), ok)
	assert.Equal(t, len(cs), replayed)
}

// With WaitReplicas a claim that no replica acknowledges is refused
// (fail closed), yet kept: the same stamp again is a replay.
func TestSpendWaitReplicasUnreplicated(t *testing.T) {
	srv := redistest.Start(t)
	// WAIT's own timeout (half the call's) is checked on the server's clock
	// ticks, 100ms apart by default: a generous deadline.
	s, _, err := New(context.Background(), Config{URL: srv.URL, WaitReplicas: 1, TTL: time.Minute, Timeout: time.Second}, nil)
	require.NoError(t, err)
	defer s.Close()
	c := newMinter(t).Challenge(0, "r")
	until := time.Now().Add(time.Minute)
	err = s.Spend(c, "o", until)
	assert.ErrorIs(t, err, ErrUnavailable)
	assert.ErrorContains(t, err, "unreplicated: 0 of 1 replicas")
	assert.ErrorIs(t, s.Spend(c, "o", until), hashcash.ErrReplayed)
	_, _, err = New(context.Background(), Config{URL: srv.URL, WaitReplicas: -1}, nil)
	assert.ErrorContains(t, err, "WaitReplicas -1")
}

// A Sentinel set survives the loss of its primary: killed by PID, the
// redemptions fail closed while the Sentinels fail over (refused, never
// served unrecorded), are served again by the promoted replica within a
// bound, and no stamp served before or during the failover is served
// again after it. Every claim waits for one replica (WaitReplicas), so the
// replica promoted, the one with the most data, holds every claim served;
// the second replica gives the new primary one to WAIT for.
func TestSentinelFailover(t *testing.T) {
	set := redistest.StartSentinelSet(t, 2)
	s, warn, err := New(context.Background(), Config{URL: set.URL, WaitReplicas: 1, TTL: time.Minute, Timeout: 500 * time.Millisecond}, nil)
	require.NoError(t, err)
	assert.Empty(t, warn)
	defer s.Close()
	require.NoError(t, s.Ping(context.Background()))
	m := newMinter(t)
	until := time.Now().Add(time.Minute)
	var served []string
	spend := func() error {
		c := m.Challenge(0, "r")
		err := s.Spend(c, "o", until)
		if err == nil {
			served = append(served, c)
		}
		return err
	}
	for range 20 {
		require.NoError(t, spend())
	}

	killed := set.KillPrimary(t)
	killedAt := time.Now()
	var refused int
	var firstRefusal, lastRefusal error
	var lastRefusalAt time.Duration
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	bound := time.NewTimer(30 * time.Second)
	defer bound.Stop()
	for {
		err := spend()
		if err == nil && refused > 0 {
			break
		}
		switch {
		case err == nil:
			t.Fatalf("a redemption was served %v after the primary was killed, before any failure", time.Since(killedAt))
		case errors.Is(err, ErrUnavailable):
			if refused == 0 {
				firstRefusal = err
			}
			lastRefusal, lastRefusalAt = err, time.Since(killedAt)
			refused++
		default:
			t.Fatalf("during the failover: %v", err)
		}
		select {
		case <-tick.C:
		case <-bound.C:
			t.Log(set.Logs())
			t.Fatalf("not served again within 30s of the kill (%d refused, the last: %v; Sentinel down-after %v; the Sentinels' primary: %s)",
				refused, lastRefusal, redistest.DownAfter, set.Primary(t).Addr)
		}
	}
	recovered := time.Since(killedAt)
	t.Logf("primary %s killed: %d redemptions refused (the first: %v; the last ended %v after the kill), served again %v after the kill by %s",
		killed.Addr, refused, firstRefusal, lastRefusalAt.Round(time.Millisecond), recovered.Round(time.Millisecond), set.Primary(t).Addr)
	assert.NotEqual(t, killed.Addr, set.Primary(t).Addr)
	require.NoError(t, s.Ping(context.Background()), "/readyz is ready again")

	for range 20 {
		require.NoError(t, spend())
	}
	for _, c := range served {
		assert.ErrorIs(t, s.Spend(c, "o", until), hashcash.ErrReplayed, "served before, during or after the failover: a replay now")
	}
}

// BenchmarkSpend is one redemption's Spend, one after another, on a
// primary with one replica on loopback: through a plain client, through
// the Sentinels' failover client, and the latter waiting for the replica
// (WaitReplicas 1). Each op is one claim of a fresh challenge.
func BenchmarkSpend(b *testing.B) {
	set := redistest.StartSentinelSet(b, 1)
	m := newMinter(b)
	until := time.Now().Add(time.Hour)
	for _, bc := range []struct {
		name string
		url  string
		wait int
	}{
		{"node", set.Nodes[0].URL, 0},
		{"sentinel", set.URL, 0},
		{"sentinel-wait1", set.URL, 1},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s, _, err := New(context.Background(), Config{URL: bc.url, WaitReplicas: bc.wait, TTL: time.Hour, Timeout: time.Second}, nil)
			require.NoError(b, err)
			defer s.Close()
			cs := make([]string, b.N)
			for i := range cs {
				cs[i] = m.Challenge(0, "r")
			}
			b.ResetTimer()
			for _, c := range cs {
				if err := s.Spend(c, "o", until); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
