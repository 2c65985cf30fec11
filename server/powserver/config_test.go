package powserver

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/powtcp/powtcp/hashcash"
	"github.com/powtcp/powtcp/protocol"
)

// FieldName names a field by a pointer to it, as FieldError does.
func TestFieldName(t *testing.T) {
	c := DefaultConfig()
	assert.Equal(t, "Name", c.FieldName(&c.Name), "the first field, at the struct's own address")
	assert.Equal(t, "Difficulty", c.FieldName(&c.Difficulty))
	assert.Equal(t, "Alg", c.FieldName(&c.Alg))
	other := DefaultConfig()
	assert.Empty(t, c.FieldName(&other.Difficulty), "another Config's field")
	assert.Empty(t, c.FieldName(&c), "the Config itself")
	assert.Empty(t, c.FieldName(c.Difficulty), "not a pointer")
	assert.Empty(t, c.FieldName(nil))
}

// New takes the settings as they are: no zero is replaced by a default,
// and a setting that makes a valid session impossible is refused.
func TestNewRefusesImpossibleSettings(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*Config)
		field string
	}{
		{"empty name", func(c *Config) { c.Name = "" }, "Name"},
		{"name too long for the resource", func(c *Config) { c.Name = strings.Repeat("n", MaxNameLen+1) }, "Name"},
		{"zero conns", func(c *Config) { c.MaxConns = 0 }, "MaxConns"},
		{"zero per-ip", func(c *Config) { c.MaxConnsPerIP = 0 }, "MaxConnsPerIP"},
		{"zero replay cache", func(c *Config) { c.ReplayCacheSize = 0 }, "ReplayCacheSize"},
		{"zero ttl", func(c *Config) { c.ChallengeTTL = 0 }, "ChallengeTTL"},
		{"zero window", func(c *Config) { c.MinSolveWindow = 0 }, "MinSolveWindow"},
		{"zero write timeout", func(c *Config) { c.WriteTimeout = 0 }, "WriteTimeout"},
		{"zero hash rate", func(c *Config) { c.ClientHashRate = 0 }, "ClientHashRate"},
		{"no alg", func(c *Config) { c.Alg = 0 }, "Alg"},
		{"difficulty over max", func(c *Config) { c.Difficulty = MaxDifficulty + 1 }, "Difficulty"},
		{"equix difficulty over its max", func(c *Config) { *c = DefaultConfigFor(hashcash.Equix); c.Difficulty = MaxEquixDifficulty + 1 }, "Difficulty"},
		{"equix bits over its total", func(c *Config) {
			*c = DefaultConfigFor(hashcash.Equix)
			c.Difficulty, c.MaxExtraBits = MaxEquixDifficulty, MaxEquixTotalBits-MaxEquixDifficulty+1
		}, "MaxExtraBits"},
		{"extra bits below -1", func(c *Config) { c.MaxExtraBits = -2 }, "MaxExtraBits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.edit(&cfg)
			_, err := New(cfg, nil, nil)
			var fe *FieldError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, tt.field, fe.Field, "%v", err)
		})
	}
	// A store of one's own needs no replay cache size.
	cfg := DefaultConfig()
	cfg.ReplayCacheSize, cfg.Spent = 0, hashcash.NewMemoryStore(1, 1, nil)
	_, err := New(cfg, nil, nil)
	assert.NoError(t, err)
}

// MaxExtraBits 0 means no adaptive bits at all (it used to mean the
// default, 6: challenges reached 14 bits at difficulty 8).
func TestZeroExtraBitsMeansNone(t *testing.T) {
	ts := start(t, Config{MaxExtraBits: 0, MaxConnsPerIP: 1000})
	for range 200 {
		p := dial(t, ts.addr)
		c := p.challenge()
		require.True(t, strings.HasPrefix(c.Prefix, "1:8:"), c.Prefix)
		p.conn.Close()
	}
}

// panicOnce is a spent store whose first Spend panics.
type panicOnce struct {
	hashcash.SpentStore
	calls atomic.Int32
}

func (p *panicOnce) Spend(key, owner string, until time.Time) error {
	if p.calls.Add(1) == 1 {
		panic("store exploded")
	}
	return p.SpentStore.Spend(key, owner, until)
}

// A panic in a session closes that connection only; the server goes on.
func TestSessionPanicIsContained(t *testing.T) {
	ts := start(t, Config{Spent: &panicOnce{SpentStore: hashcash.NewMemoryStore(10, 10, nil)}})
	p := dial(t, ts.addr)
	p.send("SOLUTION " + solve(t, p.challenge().Prefix) + "\n")
	_, err := p.r.ReadLine()
	assert.Error(t, err, "the panicking session's connection is closed without a reply")
	require.Eventually(t, func() bool {
		return counterValue(t, ts.reg, "powtcp_session_panics_total", "") == 1
	}, 5*time.Second, time.Millisecond)

	again := dial(t, ts.addr)
	again.send("SOLUTION " + solve(t, again.challenge().Prefix) + "\n")
	_, err = again.reply()
	require.NoError(t, err, "the next session is served")
}

// A listener without IP addresses (a unix socket) works: its clients share
// the key "local".
func TestServeUnixListener(t *testing.T) {
	srv, err := New(testConfig(Config{}), nil, nil)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "powtcp.sock")
	ln, err := net.Listen("unix", path)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	defer func() {
		cancel()
		assert.ErrorIs(t, <-done, context.Canceled)
		require.NoError(t, srv.Shutdown(context.Background()))
	}()

	conn, err := net.Dial("unix", path)
	require.NoError(t, err)
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	r := protocol.NewReader(conn)
	c, err := r.ReadChallenge()
	require.NoError(t, err)
	assert.Contains(t, c.Prefix, ":local@powtcp:")
	require.NoError(t, protocol.Write(conn, protocol.Solution{Stamp: solve(t, c.Prefix)}))
	q, err := r.ReadReply()
	require.NoError(t, err)
	assert.NotEmpty(t, q.Text)
}
