package hashcash

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/powtcp/powtcp/equix"
)

// ascending is a solution in canonical order that solves nothing.
var ascending = equix.Solution{0, 1, 2, 3, 4, 5, 6, 7}

// equixStamp returns prefix with the first Equi-X counter carrying sol
// whose effort hash has the prefix's bits, and that counter's nonce.
func equixStamp(t testing.TB, prefix string, sol equix.Solution) (string, EquixNonce) {
	t.Helper()
	st, err := ParsePrefix(prefix)
	require.NoError(t, err)
	var nonce EquixNonce
	for i := uint64(0); i < 1<<20; i++ {
		binary.BigEndian.PutUint64(nonce[:], i)
		s := prefix + EquixCounter(nonce, sol)
		if ZeroBits(Equix, s) >= st.Bits {
			return s, nonce
		}
	}
	t.Fatalf("no nonce for %s", prefix)
	return "", nonce
}

// countingVerifier stands in for equix.Verify: it records its calls and
// returns err.
type countingVerifier struct {
	calls     int
	challenge []byte
	sol       equix.Solution
	err       error
}

func (v *countingVerifier) verify(challenge []byte, s equix.Solution) error {
	v.calls++
	v.challenge, v.sol = append([]byte(nil), challenge...), s
	return v.err
}

func newEquixMinter(t testing.TB, now func() time.Time, v *countingVerifier) *Minter {
	t.Helper()
	m := newTestMinter(t, Equix, now)
	m.verifyEquix = v.verify
	return m
}

func TestEquixCounterRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		var nonce EquixNonce
		binary.LittleEndian.PutUint64(nonce[:], r.Uint64())
		var sol equix.Solution
		for i := range sol {
			sol[i] = uint16(r.Uint32())
		}
		c := EquixCounter(nonce, sol)
		require.Len(t, c, EquixCounterLen)
		require.True(t, isBase64(c), c)
		require.NotContains(t, c, "=")
		gotNonce, gotSol, err := ParseEquixCounter(c)
		require.NoError(t, err)
		assert.Equal(t, nonce, gotNonce)
		assert.Equal(t, sol, gotSol)

		stamp := "1:3:261125120000:" + testResource + ":equix:" + strings.Repeat("A", randLen) + ":" + c
		st, err := Parse(stamp)
		require.NoError(t, err, "an Equi-X stamp is a hashcash stamp")
		assert.Equal(t, c, st.Counter)
		assert.Equal(t, stamp, st.String())
	}
	assert.Equal(t, 32, EquixCounterLen)
}

// TestEquixCounterWire pins the wire form: nonce, then the indices little
// endian, in base64 without padding.
func TestEquixCounterWire(t *testing.T) {
	nonce := EquixNonce{1, 2, 3, 4, 5, 6, 7, 8}
	got := EquixCounter(nonce, equix.Solution{0x0100, 0x0302, 0x0504, 0x0706, 0x0908, 0x0b0a, 0x0d0c, 0x0f0e})
	want := "AQIDBAUGBwgAAQIDBAUGBwgJCgsMDQ4P" // base64 of 01..08 00..0f
	assert.Equal(t, want, got)
}

func TestParseEquixCounterRefuses(t *testing.T) {
	valid := EquixCounter(EquixNonce{9}, ascending)
	tests := []struct {
		name string
		give string
	}{
		{"empty", ""},
		{"one character", "A"},
		{"one short", valid[:EquixCounterLen-1]},
		{"one long", valid + "A"},
		{"padded", valid[:EquixCounterLen-1] + "="},
		{"padding inside", "=" + valid[1:]},
		{"not base64", "!" + valid[1:]},
		{"hashcash filler", strings.Repeat("0", 44) + "ABAAAA"},
		{"twice", valid + valid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := ParseEquixCounter(tt.give)
			require.ErrorIs(t, err, ErrBits)
		})
	}
}

// TestVerifyEquixOrder: whatever fails before the work (syntax, ext, MAC,
// resource, date) or in its cheap half (the effort hash, the counter's
// shape) is refused without a call to equix.Verify; a stamp that passes
// all of them is verified once, against prefix || nonce.
func TestVerifyEquixOrder(t *testing.T) {
	now := t0
	v := &countingVerifier{}
	m := newEquixMinter(t, func() time.Time { return now }, v)
	prefix := m.Challenge(4, testResource)
	good, nonce := equixStamp(t, prefix, ascending)
	short := findCounter(t, Equix, prefix, func(n int) bool { return n < 4 })
	shortEquix := ""
	for i := uint64(0); shortEquix == ""; i++ {
		var n EquixNonce
		binary.BigEndian.PutUint64(n[:], i)
		if s := prefix + EquixCounter(n, ascending); ZeroBits(Equix, s) < 4 {
			shortEquix = s
		}
	}
	sha := newTestMinter(t, SHA256, func() time.Time { return now }).Challenge(4, testResource)

	tests := []struct {
		name    string
		give    string
		resrc   string
		at      time.Time
		wantErr error
	}{
		{name: "malformed", give: good + ":x", wantErr: ErrMalformed},
		{name: "sha256 stamp", give: solve(t, sha), wantErr: ErrAlg},
		{name: "ext changed", give: setField(good, fieldExt, "sha256"), wantErr: ErrAlg},
		{name: "bad MAC", give: flipRand(good), wantErr: ErrForged},
		{name: "bits lowered", give: setField(good, fieldBits, "0"), wantErr: ErrForged},
		{name: "wrong resource", give: good, resrc: "127.0.0.2@powtcp", wantErr: ErrResource},
		{name: "expired", give: good, at: t0.Add(time.Minute + time.Second), wantErr: ErrExpired},
		{name: "future", give: good, at: t0.Add(-6 * time.Second), wantErr: ErrFuture},
		{name: "effort hash short", give: shortEquix, wantErr: ErrBits},
		{name: "hashcash counter", give: short, wantErr: ErrBits},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v.calls = 0
			now = t0
			if !tt.at.IsZero() {
				now = tt.at
			}
			resource := testResource
			if tt.resrc != "" {
				resource = tt.resrc
			}
			_, _, err := m.Verify(tt.give, resource)
			require.ErrorIs(t, err, tt.wantErr)
			assert.Zero(t, v.calls, "equix.Verify reached")
		})
	}

	now = t0
	v.calls = 0
	st, _, err := m.Verify(good, testResource)
	require.NoError(t, err)
	assert.Equal(t, good, st.String())
	assert.Equal(t, 1, v.calls)
	assert.Equal(t, append([]byte(prefix), nonce[:]...), v.challenge, "the challenge is prefix || nonce")
	assert.Equal(t, ascending, v.sol)
}

// flipRand changes the first character of the rand field.
func flipRand(stamp string) string {
	f := strings.Split(stamp, ":")
	if f[fieldRand][0] == 'A' {
		f[fieldRand] = "B" + f[fieldRand][1:]
	} else {
		f[fieldRand] = "A" + f[fieldRand][1:]
	}
	return strings.Join(f, ":")
}

// TestVerifyEquixErrors: each way equix.Verify refuses a solution is
// ErrBits (which the server answers with bad-solution) and keeps the equix
// error.
func TestVerifyEquixErrors(t *testing.T) {
	clk := newClock(t0)
	for _, sentinel := range []error{equix.ErrChallenge, equix.ErrOrder, equix.ErrPartialSum, equix.ErrFinalSum} {
		t.Run(sentinel.Error(), func(t *testing.T) {
			v := &countingVerifier{err: sentinel}
			m := newEquixMinter(t, clk.Now, v)
			stamp, _ := equixStamp(t, m.Challenge(2, testResource), ascending)
			st, exp, err := m.Verify(stamp, testResource)
			require.ErrorIs(t, err, ErrBits)
			require.ErrorIs(t, err, sentinel)
			assert.Zero(t, st)
			assert.Zero(t, exp)
			assert.Equal(t, 1, v.calls)
		})
	}
	v := &countingVerifier{err: errors.New("other")}
	m := newEquixMinter(t, clk.Now, v)
	stamp, _ := equixStamp(t, m.Challenge(2, testResource), ascending)
	_, _, err := m.Verify(stamp, testResource)
	require.ErrorIs(t, err, ErrBits)
}

// TestEquixChallenge pins the challenge bytes: the prefix's text, then the
// raw nonce.
func TestEquixChallenge(t *testing.T) {
	got := EquixChallenge([]byte("x"), "1:3:261125:r:equix:AAAA:", EquixNonce{0xff, 0, 1})
	assert.True(t, bytes.Equal([]byte("x1:3:261125:r:equix:AAAA:\xff\x00\x01\x00\x00\x00\x00\x00"), got), "%q", got)
}

// TestEquixNonces: Solve's challenges are prefix || nonce for the nonces
// 0, 1, 2, ..., each in its own slice (equix.SolveContext keeps them).
func TestEquixNonces(t *testing.T) {
	next := equixNonces("1:0:261125:r:equix:AAAA:")
	a, _ := next()
	b, ok := next()
	require.True(t, ok)
	assert.Equal(t, EquixChallenge(nil, "1:0:261125:r:equix:AAAA:", EquixNonce{}), a)
	assert.Equal(t, EquixChallenge(nil, "1:0:261125:r:equix:AAAA:", EquixNonce{7: 1}), b)
}

func FuzzParseEquixCounter(f *testing.F) {
	f.Add(EquixCounter(EquixNonce{1, 2, 3}, ascending))
	f.Add("")
	f.Add(strings.Repeat("A", EquixCounterLen))
	f.Add(strings.Repeat("/", EquixCounterLen-1) + "=")
	f.Add(strings.Repeat("0", 44) + "ABAAAA")
	f.Fuzz(func(t *testing.T, s string) {
		nonce, sol, err := ParseEquixCounter(s)
		if err != nil {
			require.ErrorIs(t, err, ErrBits)
			return
		}
		require.Equal(t, s, EquixCounter(nonce, sol), "a counter has one encoding")
	})
}

// FuzzVerifyEquix: an Equi-X Minter accepts only stamps that pass the MAC,
// the date, the effort hash and (here, a stand-in for) equix.Verify, and
// the stand-in sees only stamps that passed the rest.
func FuzzVerifyEquix(f *testing.F) {
	clk := newClock(t0)
	v := &countingVerifier{}
	m := newEquixMinter(f, clk.Now, v)
	for _, bits := range []int{0, 1, 4} {
		c := m.Challenge(bits, testResource)
		stamp, _ := equixStamp(f, c, ascending)
		f.Add(stamp)
		f.Add(c)
		f.Add(setField(stamp, fieldBits, "0"))
		f.Add(setField(stamp, fieldCounter, "A"))
		f.Add(setField(stamp, fieldCounter, strings.Repeat("A", EquixCounterLen)))
	}
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v.calls = 0
		st, _, err := m.Verify(s, testResource)
		if err != nil {
			require.Zero(t, st)
			if v.calls > 0 {
				require.ErrorIs(t, err, ErrBits, "only the work is checked after equix.Verify")
			}
			return
		}
		require.Equal(t, 1, v.calls, "accepted without equix.Verify")
		require.Equal(t, "equix", st.Ext)
		require.GreaterOrEqual(t, ZeroBits(Equix, s), st.Bits, "accepted without the effort")
		raw, err := base64.RawStdEncoding.DecodeString(st.Rand)
		require.NoError(t, err)
		require.True(t, validMACReference(s, raw), "accepted without the MAC")
		nonce, sol, err := ParseEquixCounter(st.Counter)
		require.NoError(t, err)
		require.Equal(t, EquixChallenge(nil, st.Prefix(), nonce), v.challenge)
		require.Equal(t, sol, v.sol)
	})
}
