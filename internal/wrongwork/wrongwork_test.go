package wrongwork

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/powtcp/powtcp/hashcash"
)

func TestParseMode(t *testing.T) {
	for _, m := range []Mode{Honest, ShortWork, Forged, InvalidEquix} {
		got, err := ParseMode(m.String())
		require.NoError(t, err)
		assert.Equal(t, m, got)
	}
	_, err := ParseMode("evil")
	assert.ErrorContains(t, err, `mode "evil": want honest, short-work, forged, invalid-equix`)
	assert.Equal(t, "short-work, forged or invalid-equix", WrongNames())
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
		{10, InvalidEquix, hashcash.ErrBits}, // a hash challenge: short work
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

// The wrong answers to Equi-X challenges are refused by the server's check
// for what they lack: the effort hash, the Equi-X solution, the MAC. None
// needs a real solve: each is refused before or by equix.Verify.
func TestWrongAnswersEquix(t *testing.T) {
	m, err := hashcash.NewMinter(hashcash.MinterConfig{Key: []byte("0123456789abcdef"), Alg: hashcash.Equix, TTL: time.Minute})
	require.NoError(t, err)
	for _, tt := range []struct {
		bits int
		mode Mode
		want error
	}{
		{4, ShortWork, hashcash.ErrBits},
		{0, ShortWork, hashcash.ErrForged},
		{4, InvalidEquix, hashcash.ErrBits},
		{0, InvalidEquix, hashcash.ErrBits},
		{4, Forged, hashcash.ErrForged},
	} {
		prefix := m.Challenge(tt.bits, "r")
		shaped, ok := Invalid(prefix) // stands in for a solved stamp: right shape, any solution
		require.True(t, ok)
		spoiled := tt.mode.Spoil(prefix, shaped)
		st, err := hashcash.Parse(spoiled)
		require.NoError(t, err)
		if tt.want != hashcash.ErrForged {
			assert.Len(t, st.Counter, hashcash.EquixCounterLen, "an Equi-X counter")
		}
		_, _, err = m.Verify(spoiled, "r")
		assert.ErrorIs(t, err, tt.want, "%v at %d bits", tt.mode, tt.bits)
	}
	short, ok := Short(m.Challenge(6, "r"))
	require.True(t, ok)
	assert.Less(t, hashcash.ZeroBits(hashcash.Equix, short), 6)
	invalid, ok := Invalid(m.Challenge(6, "r"))
	require.True(t, ok)
	assert.GreaterOrEqual(t, hashcash.ZeroBits(hashcash.Equix, invalid), 6)
	_, ok = Invalid("1:6:261125:r:sha256:AAAA:")
	assert.False(t, ok, "no Equi-X answer to a hash challenge")
}
