package main

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/powtcp/powtcp/hashcash"
	"github.com/powtcp/powtcp/server/powserver"
)

// startEquixServer is startServer with Equi-X at difficulty 1.
func startEquixServer(t *testing.T) string {
	t.Helper()
	cfg := powserver.DefaultConfigFor(hashcash.Equix)
	cfg.Difficulty, cfg.MaxExtraBits = 1, 1
	cfg.ChallengeTTL, cfg.MinSolveWindow = 2*time.Second, time.Second
	cfg.MaxConns, cfg.MaxConnsPerIP = 200, 16
	srv, err := powserver.New(cfg, nil, nil)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go srv.Serve(context.Background(), ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		assert.NoError(t, srv.Shutdown(ctx))
	})
	return ln.Addr().String()
}

// TestScenariosEquix: honest clients and the wrong-work attackers against
// an Equi-X server, calibrated for Equi-X: every wrong kind refused as
// with SHA-256, nothing wrong accepted.
func TestScenariosEquix(t *testing.T) {
	cfg := smokeConfig(startEquixServer(t), scHonest, scWrongWork)
	cfg.Alg = hashcash.Equix
	cfg.Duration = 3 * time.Second
	rep, err := loadtest(t.Context(), cfg, zap.NewNop())
	require.NoError(t, err)
	checkReport(t, rep, map[string][]string{scWrongWork: kindNames(wrongKinds)})
	assert.Equal(t, "equix", rep.Alg)
	assert.Positive(t, rep.HashRate, "Equi-X solutions/s calibrated")
	var out strings.Builder
	printReport(&out, rep)
	assert.Contains(t, out.String(), "solutions/s per solver goroutine (equix)")
}

func TestCraftEquix(t *testing.T) {
	addr := startEquixServer(t)
	ip := newAddrAlloc(firstAttacker).take(1)[0]
	for _, tt := range []struct{ give, want string }{
		{"short", "bad-solution"}, {"forged-mac", "forged"}, {"forged-bits", "forged"}, {"madeup", "forged"},
	} {
		t.Run(tt.give, func(t *testing.T) {
			a := newAttack("t", addr)
			lc, prefix, ok := a.open(t.Context(), ip, tt.give)
			require.True(t, ok, "challenge")
			defer lc.Close()
			stamp, ok := craft(tt.give, prefix)
			require.True(t, ok)
			require.NoError(t, lc.writeLine("SOLUTION "+stamp, 5*time.Second))
			l, err := lc.readLine(5 * time.Second)
			assert.Equal(t, tt.want, classifyLine(l, err), "reply %q", l)
		})
	}
}
