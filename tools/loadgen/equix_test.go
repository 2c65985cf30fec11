package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/powtcp/powtcp/hashcash"
	"github.com/powtcp/powtcp/server/powserver"
	"github.com/powtcp/powtcp/tools/loadgen/report"
)

// equixTTL is the Equi-X tests' challenge lifetime. An Equi-X solve takes
// about a second on a loaded CI machine, and the wrong-work attacker can
// replay or steal its seed stamp only while the stamp has more than half a
// second to live (and the stamp's date is in whole seconds): 2 s, as with
// SHA-256, left too little. The stamps sent expired mature after it, within
// TestScenariosEquix's attack phase.
const equixTTL = 4 * time.Second

// startEquixServer is startServer with Equi-X at difficulty 1.
func startEquixServer(t *testing.T) string {
	t.Helper()
	cfg := powserver.DefaultConfigFor(hashcash.Equix)
	cfg.Difficulty, cfg.MaxExtraBits = 1, 1
	cfg.ChallengeTTL, cfg.MinSolveWindow = equixTTL, time.Second
	cfg.MaxConns, cfg.MaxConnsPerIP = 200, 16
	return serveInProcess(t, cfg, nil)
}

// TestScenariosEquix: honest clients and the wrong-work attackers against
// an Equi-X server, calibrated for Equi-X: every wrong kind refused as
// with SHA-256, nothing wrong accepted.
func TestScenariosEquix(t *testing.T) {
	cfg := smokeConfig(startEquixServer(t), scHonest, scWrongWork)
	cfg.Alg = hashcash.Equix
	cfg.ChallengeTTL, cfg.Duration = equixTTL, 8*time.Second
	rep, err := loadtest(t.Context(), cfg, zap.NewNop())
	require.NoError(t, err)
	checkReport(t, rep, map[string][]string{scWrongWork: kindNames(wrongKinds)})
	assert.Equal(t, "equix", rep.Alg)
	assert.Positive(t, rep.HashRate, "Equi-X solutions/s calibrated")
	var out strings.Builder
	report.Print(&out, rep)
	assert.Contains(t, out.String(), "solutions/s per solver goroutine (equix)")
}

func TestCraftEquix(t *testing.T) {
	addr := startEquixServer(t)
	checkCraft(t, addr)
}

// TestCalibrateEquix: a calibration too short for one Equi-X solve
// measures again for longer instead of reporting a rate of 0.
func TestCalibrateEquix(t *testing.T) {
	assert.Positive(t, calibrate(t.Context(), time.Millisecond, hashcash.Equix))
}
