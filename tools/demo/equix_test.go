package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/powtcp/powtcp/hashcash"
)

// TestRunEquix: the demo with an Equi-X server serves its honest clients
// and refuses the invalid Equi-X solutions and forged MACs.
func TestRunEquix(t *testing.T) {
	cfg := config{Alg: hashcash.Equix, Clients: 6, C: 2, Wrong: 0.5, Difficulty: 1, Timeout: 30 * time.Second, IPs: 2, Workers: 1}
	sum, err := run(t.Context(), cfg, zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel)))
	require.NoError(t, err)
	require.NoError(t, sum.err())
	assert.Equal(t, map[string]modeStats{
		"honest":        {Sessions: 3, Served: 3, Refused: map[string]int{}},
		"invalid-equix": {Sessions: 2, Refused: map[string]int{"bad-solution": 2}},
		"forged":        {Sessions: 1, Refused: map[string]int{"forged": 1}},
	}, sum.Client)
	var out strings.Builder
	sum.print(&out)
	assert.Contains(t, out.String(), "equix, difficulty 1")
	assert.Contains(t, out.String(), "Equi-X solutions each")
}
