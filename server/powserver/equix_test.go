package powserver

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/powtcp/powtcp/hashcash"
)

func TestDefaultConfigFor(t *testing.T) {
	for _, alg := range []hashcash.Alg{hashcash.SHA256, hashcash.SHA1, hashcash.Equix} {
		cfg := DefaultConfigFor(alg)
		require.NoError(t, cfg.Validate(), "%v", alg)
		assert.Equal(t, alg, cfg.Alg)
		assert.Equal(t, alg.DefaultBits(), cfg.Difficulty)
		// The default extra bits fit the limits, and the solve window at
		// the default difficulty is shorter than the TTL.
		base, total := difficultyLimits(alg)
		assert.LessOrEqual(t, cfg.Difficulty+cfg.MaxExtraBits, total, "%v", alg)
		assert.LessOrEqual(t, cfg.Difficulty, base, "%v", alg)
		assert.Less(t, cfg.solveWindow(cfg.Difficulty), cfg.ChallengeTTL, "%v", alg)
	}
	assert.Equal(t, DefaultConfig(), DefaultConfigFor(hashcash.SHA256))
}
