package e2e

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/powtcp/powtcp/hashcash"
	"github.com/powtcp/powtcp/internal/wrongwork"
	"github.com/powtcp/powtcp/protocol"
)

// equixDifficulty is the Equi-X servers' difficulty: about two Equi-X
// solves.
const equixDifficulty = "2"

// TestEquix: a server started with -alg equix serves the client binary,
// which solves the Equi-X challenge it names; wrong Equi-X answers, from
// the client's -mode and by hand, are refused with their codes.
func TestEquix(t *testing.T) {
	s := startServer(t, "-alg", "equix", "-difficulty", equixDifficulty)
	known := knownQuotes()

	t.Run("valid", func(t *testing.T) {
		for _, rep := range fetchReports(t, s.addr, 2) {
			assert.Equal(t, "equix", rep.Alg)
			assert.Equal(t, equixDifficulty, strconv.Itoa(rep.Bits))
			assert.Positive(t, rep.Attempts, "Equi-X solutions tried")
			assert.Positive(t, rep.HashRate)
		}
	})

	t.Run("verbose", func(t *testing.T) {
		code, stdout, stderr := runClient(t, "-addr", s.addr, "-timeout", "30s", "-v")
		require.Equal(t, 0, code, "exit code; stderr:\n%s", stderr)
		assert.True(t, known[strings.TrimSuffix(stdout, "\n")], stdout)
		assert.Regexp(t, `client: session 1: 2 bits, \d+ Equi-X solutions in [0-9.]+ms \([0-9.]+ solutions/s, HashX (compiled|interpreted)\)`, stderr, "-v names the HashX engine")
	})

	for _, tt := range []struct {
		mode, want string
	}{
		{"invalid-equix", "bad-solution"},
		{"short-work", "bad-solution"},
		{"forged", "forged"},
	} {
		t.Run("client -mode "+tt.mode, func(t *testing.T) {
			code, stdout, stderr := runClient(t, "-addr", s.addr, "-timeout", "30s", "-mode", tt.mode)
			assert.Equal(t, 1, code, "exit code; stderr:\n%s", stderr)
			assert.Empty(t, stdout)
			assert.Contains(t, stderr, tt.want)
		})
	}

	byHand := []struct {
		name string
		give func(t *testing.T, prefix string) string
		want protocol.Code
	}{
		{"invalid Equi-X solution", func(t *testing.T, prefix string) string {
			stamp, ok := wrongwork.Invalid(prefix)
			require.True(t, ok, "an Equi-X challenge: %s", prefix)
			return stamp
		}, protocol.CodeBadSolution},
		{"a counter of another shape", func(t *testing.T, prefix string) string {
			return prefix + "AAAA"
		}, protocol.CodeBadSolution},
		{"a SHA-256 stamp", func(t *testing.T, prefix string) string {
			p, err := hashcash.ParsePrefix(prefix)
			require.NoError(t, err)
			p.Ext = hashcash.SHA256.Ext()
			return solve(t, p.Prefix())
		}, protocol.CodeWrongAlg},
	}
	for _, tt := range byHand {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, s.addr, "")
			ch := c.challenge(t)
			require.Contains(t, ch.Prefix, ":equix:")
			_, err := c.answer(t, tt.give(t, ch.Prefix))
			requireRefused(t, err, tt.want)
			c.requireClosed(t)
		})
	}

	assert.Equal(t, map[string]int{"served": 2 + 1, "bad-solution": 2 + 2, "forged": 1, "wrong-alg": 1}, s.stop(t))
}
