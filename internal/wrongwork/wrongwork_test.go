package wrongwork

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/powtcp/powtcp/hashcash"
)

func TestParseMode(t *testing.T) {
	for _, m := range []Mode{Honest, ShortWork, Forged} {
		got, err := ParseMode(m.String())
		require.NoError(t, err)
		assert.Equal(t, m, got)
	}
	_, err := ParseMode("evil")
	assert.ErrorContains(t, err, `mode "evil": want honest, short-work, forged`)
	assert.Equal(t, "Mode(7)", Mode(7).String())
	assert.Nil(t, Honest.Tamper(), "an honest client changes nothing")
}

// Each wrong answer is wrong the way it says, by the server's own check.
func TestWrongAnswers(t *testing.T) {
	m, err := hashcash.NewMinter(hashcash.MinterConfig{Key: []byte("0123456789abcdef"), TTL: time.Minute})
	require.NoError(t, err)
	for _, tt := range []struct {
		bits int
		mode Mode
		want error
	}{
		{10, Honest, nil},
		{10, ShortWork, hashcash.ErrBits},
		{0, ShortWork, hashcash.ErrForged}, // no work to fall short of: the MAC is forged instead
		{10, Forged, hashcash.ErrForged},
		{0, Forged, hashcash.ErrForged},
	} {
		prefix := m.Challenge(tt.bits, "r")
		stamp := Solve(hashcash.SHA256, prefix, tt.bits)
		_, _, err := m.Verify(tt.mode.Spoil(prefix, stamp), "r")
		if tt.want == nil {
			assert.NoError(t, err, "%v at %d bits", tt.mode, tt.bits)
		} else {
			assert.ErrorIs(t, err, tt.want, "%v at %d bits", tt.mode, tt.bits)
		}
	}
	_, ok := Short(m.Challenge(0, "r"))
	assert.False(t, ok, "no short work at 0 bits")
	assert.Equal(t, "not a stamp", FlipMAC("not a stamp"))
}
