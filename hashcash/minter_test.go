package hashcash

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testResource = "127.0.0.1@powtcp"

func TestNewMinter(t *testing.T) {
	valid := func() MinterConfig { return MinterConfig{Key: testKey, TTL: time.Minute} }
	tests := []struct {
		name    string
		give    func(*MinterConfig)
		wantErr string
	}{
		{name: "valid", give: func(*MinterConfig) {}},
		{name: "sha1", give: func(c *MinterConfig) { c.Alg = SHA1 }},
		{name: "shortest key", give: func(c *MinterConfig) { c.Key = testKey[:MinKeyLen] }},
		{name: "short key", give: func(c *MinterConfig) { c.Key = testKey[:MinKeyLen-1] }, wantErr: "key"},
		{name: "no key", give: func(c *MinterConfig) { c.Key = nil }, wantErr: "key"},
		{name: "unknown alg", give: func(c *MinterConfig) { c.Alg = 9 }, wantErr: "Alg(9)"},
		{name: "zero TTL", give: func(c *MinterConfig) { c.TTL = 0 }, wantErr: "TTL"},
		{name: "negative skew", give: func(c *MinterConfig) { c.MaxSkew = -1 }, wantErr: "MaxSkew"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid()
			tt.give(&cfg)
			m, err := NewMinter(cfg)
			if tt.wantErr != "" {
				assert.ErrorContains(t, err, tt.wantErr)
				assert.Nil(t, m)
				return
			}
			require.NoError(t, err)
			assert.NotNil(t, m)
		})
	}
}

func TestNewMinterCopiesKey(t *testing.T) {
	key := append([]byte(nil), testKey...)
	clk := newClock(t0)
	m, err := NewMinter(MinterConfig{Key: key, TTL: time.Minute, Now: clk.Now})
	require.NoError(t, err)
	stamp := solve(t, m.Challenge(4, testResource))
	key[0] ^= 1
	_, _, err = m.Verify(stamp, testResource)
	assert.NoError(t, err)
}

func TestChallenge(t *testing.T) {
	loc := time.FixedZone("UTC-3", -3*3600)
	clk := newClock(time.Date(2026, 11, 25, 20, 36, 16, 500, loc))
	tests := []struct {
		alg  Alg
		want string
	}{
		{alg: SHA256, want: `^1:20:261125233616:127\.0\.0\.1@powtcp:sha256:[A-Za-z0-9+/]{40}:$`},
		{alg: SHA1, want: `^1:20:261125233616:127\.0\.0\.1@powtcp::[A-Za-z0-9+/]{40}:$`},
	}
	for _, tt := range tests {
		t.Run(tt.alg.String(), func(t *testing.T) {
			m := newTestMinter(t, tt.alg, clk.Now)
			c1 := m.Challenge(20, testResource)
			c2 := m.Challenge(20, testResource)
			assert.Regexp(t, regexp.MustCompile(tt.want), c1)
			assert.NotEqual(t, c1, c2, "challenges must differ by nonce")
			st, err := ParsePrefix(c1)
			require.NoError(t, err)
			assert.Equal(t, c1, st.Prefix())
		})
	}
}

// TestChallengeMAC recomputes the MAC of a challenge as doc.go describes it,
// independently of the Minter's code.
func TestChallengeMAC(t *testing.T) {
	m := newTestMinter(t, SHA256, newClock(t0).Now)
	c := m.Challenge(12, testResource)
	f := strings.Split(c, ":")
	raw, err := base64.RawStdEncoding.DecodeString(f[fieldRand])
	require.NoError(t, err)
	require.Len(t, raw, 30)
	assert.True(t, validMACReference(c, raw))
}

// validMACReference checks the MAC of a stamp or prefix with its decoded
// rand field raw, following the package documentation.
func validMACReference(stamp string, raw []byte) bool {
	f := strings.Split(stamp, ":")
	mac := hmac.New(sha256.New, testKey)
	mac.Write([]byte("hashcash challenge v1\x00" + strings.Join(f[:5], ":") + ":"))
	mac.Write(raw[:12])
	return hmac.Equal(mac.Sum(nil)[:18], raw[12:])
}

func TestChallengePanics(t *testing.T) {
	m := newTestMinter(t, SHA256, nil)
	assert.Panics(t, func() { m.Challenge(-1, testResource) })
	assert.Panics(t, func() { m.Challenge(MaxBits+1, testResource) })
	assert.Panics(t, func() { m.Challenge(8, "127.0.0.1:8080") })
	assert.Panics(t, func() { m.Challenge(8, strings.Repeat("r", MaxResourceLen+1)) })
	assert.NotPanics(t, func() { m.Challenge(MaxBits, strings.Repeat("r", MaxResourceLen)) })
	_, err := ParsePrefix(m.Challenge(MaxBits, strings.Repeat("r", MaxResourceLen)))
	assert.NoError(t, err, "the longest challenge must fit MaxPrefixLen")
}

func TestVerify(t *testing.T) {
	clk := newClock(t0)
	m := newTestMinter(t, SHA256, clk.Now)
	m1 := newTestMinter(t, SHA1, clk.Now)
	otherKey, err := NewMinter(MinterConfig{Key: []byte("another key, 16+ bytes"), TTL: time.Minute, Now: clk.Now})
	require.NoError(t, err)

	challenge := m.Challenge(8, testResource)
	valid := solve(t, challenge)
	atLeast := func(n int) func(int) bool { return func(z int) bool { return z >= n } }

	tests := []struct {
		name    string
		give    string
		wantErr error
	}{
		{name: "valid", give: valid},
		{name: "garbage", give: "\x00garbage", wantErr: ErrMalformed},
		{name: "empty", give: "", wantErr: ErrMalformed},
		{name: "prefix only", give: challenge, wantErr: ErrMalformed},
		{name: "too long", give: valid + strings.Repeat("A", MaxStampLen), wantErr: ErrMalformed},
		{name: "bad counter alphabet", give: challenge + "AAAA-", wantErr: ErrMalformed},
		{name: "counter too long", give: challenge + strings.Repeat("A", MaxCounterLen+1), wantErr: ErrMalformed},
		{name: "short work", give: findCounter(t, SHA256, challenge, func(z int) bool { return z < 8 }), wantErr: ErrBits},
		{name: "difficulty 4, 3 zero bits", give: findCounter(t, SHA256, m.Challenge(4, testResource), func(z int) bool { return z == 3 }), wantErr: ErrBits},
		{name: "made-up challenge", give: solve(t, "1:8:261125120000:"+testResource+":sha256:"+strings.Repeat("A", 40)+":"), wantErr: ErrForged},
		{name: "reference-style rand", give: solve(t, "1:8:261125120000:"+testResource+":sha256:511801694b4cd6b0:"), wantErr: ErrForged},
		{name: "other key", give: solve(t, otherKey.Challenge(8, testResource)), wantErr: ErrForged},
		{name: "bits lowered", give: solve(t, setField(m.Challenge(20, testResource), fieldBits, "4")), wantErr: ErrForged},
		{name: "bits raised", give: findCounter(t, SHA256, setField(challenge, fieldBits, "9"), atLeast(9)), wantErr: ErrForged},
		{name: "date moved", give: solve(t, setField(challenge, fieldDate, "261125120001")), wantErr: ErrForged},
		{name: "date shortened", give: solve(t, setField(challenge, fieldDate, "261125")), wantErr: ErrForged},
		{name: "resource changed", give: solve(t, setField(challenge, fieldResource, "10.0.0.1@powtcp")), wantErr: ErrForged},
		{name: "rand changed", give: solve(t, setField(challenge, fieldRand, flipChar(strings.Split(challenge, ":")[fieldRand], 0))), wantErr: ErrForged},
		{name: "rand tag changed", give: solve(t, setField(challenge, fieldRand, flipChar(strings.Split(challenge, ":")[fieldRand], 39))), wantErr: ErrForged},
		{name: "rand padded", give: solve(t, setField(challenge, fieldRand, strings.Split(challenge, ":")[fieldRand][:36]+"AA==")), wantErr: ErrForged},
		{name: "rand truncated", give: solve(t, setField(challenge, fieldRand, strings.Split(challenge, ":")[fieldRand][:39])), wantErr: ErrForged},
		{name: "ext removed", give: findCounter(t, SHA1, setField(challenge, fieldExt, ""), atLeast(8)), wantErr: ErrAlg},
		{name: "sha1 challenge", give: solve(t, m1.Challenge(8, testResource)), wantErr: ErrAlg},
		{name: "other resource's challenge", give: solve(t, m.Challenge(8, "10.0.0.1@powtcp")), wantErr: ErrResource},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, exp, err := m.Verify(tt.give, testResource)
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
				assert.Zero(t, st)
				assert.Zero(t, exp)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.give, st.String())
			assert.Equal(t, challenge, st.Prefix())
			assert.Equal(t, t0.Add(time.Minute), exp)
		})
	}
}

// flipChar replaces s[i] by another character of the base64 alphabet.
func flipChar(s string, i int) string {
	c := byte('A')
	if s[i] == 'A' {
		c = 'B'
	}
	return s[:i] + string(c) + s[i+1:]
}

func TestVerifySHA1(t *testing.T) {
	clk := newClock(t0)
	m1 := newTestMinter(t, SHA1, clk.Now)
	m256 := newTestMinter(t, SHA256, clk.Now)

	stamp := solve(t, m1.Challenge(8, testResource))
	_, _, err := m1.Verify(stamp, testResource)
	assert.NoError(t, err)
	_, _, err = m256.Verify(stamp, testResource)
	assert.ErrorIs(t, err, ErrAlg, "SHA-1 stamp presented to a SHA-256 minter")

	stamp = solve(t, m256.Challenge(8, testResource))
	_, _, err = m1.Verify(stamp, testResource)
	assert.ErrorIs(t, err, ErrAlg, "SHA-256 stamp presented to a SHA-1 minter")

	// A stamp minted outside (as by the reference tool) is not ours.
	ref := findCounter(t, SHA1, "1:8:261125:"+testResource+"::511801694b4cd6b0:", func(z int) bool { return z >= 8 })
	_, _, err = m1.Verify(ref, testResource)
	assert.ErrorIs(t, err, ErrForged)
	_, _, err = m256.Verify(ref, testResource)
	assert.ErrorIs(t, err, ErrAlg)
}

func TestVerifyTime(t *testing.T) {
	tests := []struct {
		name    string
		issue   time.Duration // issuing replica's clock, relative to the verifier's
		elapsed time.Duration // time between issue and verify, on the verifier's clock
		wantErr error
	}{
		{name: "at once"},
		{name: "just in time", elapsed: time.Minute},
		{name: "expired", elapsed: time.Minute + time.Nanosecond, wantErr: ErrExpired},
		{name: "long expired", elapsed: 48 * time.Hour, wantErr: ErrExpired},
		{name: "issuer behind", issue: -30 * time.Second},
		{name: "issuer behind, expired", issue: -30 * time.Second, elapsed: 30*time.Second + time.Nanosecond, wantErr: ErrExpired},
		{name: "issuer ahead within skew", issue: 5 * time.Second},
		{name: "issuer ahead beyond skew", issue: 6 * time.Second, wantErr: ErrFuture},
		{name: "issuer far ahead", issue: 24 * time.Hour, wantErr: ErrFuture},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			verifierClock := newClock(t0)
			issuerClock := newClock(t0.Add(tt.issue))
			issuer := newTestMinter(t, SHA256, issuerClock.Now)
			verifier := newTestMinter(t, SHA256, verifierClock.Now)

			stamp := solve(t, issuer.Challenge(4, testResource))
			verifierClock.Advance(tt.elapsed)
			_, exp, err := verifier.Verify(stamp, testResource)
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, t0.Add(tt.issue).Add(time.Minute), exp)
		})
	}
}

func TestMinterConcurrent(t *testing.T) {
	clk := newClock(t0)
	m := newTestMinter(t, SHA256, clk.Now)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			for range 20 {
				res, err := Solve(context.Background(), m.Challenge(2, testResource), SolveOptions{Workers: 1})
				if err == nil {
					_, _, err = m.Verify(res.Stamp, testResource)
				}
				if err != nil {
					errs[i] = err
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		assert.NoError(t, err)
	}
}

func TestVerifyAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	m := newTestMinter(t, SHA256, newClock(t0).Now)
	stamp := solve(t, m.Challenge(8, testResource))
	forged := setField(stamp, fieldBits, "7")
	_, _, _ = m.Verify(stamp, testResource) // fill the pool
	assert.Zero(t, testing.AllocsPerRun(100, func() {
		if _, _, err := m.Verify(stamp, testResource); err != nil {
			panic(err)
		}
	}), "valid stamp")
	assert.LessOrEqual(t, testing.AllocsPerRun(100, func() { _, _, _ = m.Verify(forged, testResource) }), 2.0, "forged stamp")
}

// Key rotation: a Minter verifies the challenges of its VerifyKeys too, and
// mints with its Key only.
func TestMinterVerifyKeys(t *testing.T) {
	oldKey, newKey := []byte("the old key, 16+ bytes"), []byte("the new key, 16+ bytes")
	mint := func(key []byte, verify ...[]byte) *Minter {
		m, err := NewMinter(MinterConfig{Key: key, VerifyKeys: verify, TTL: time.Minute})
		require.NoError(t, err)
		return m
	}
	old, rolled, retired := mint(oldKey), mint(newKey, oldKey), mint(newKey)
	fromOld := solve(t, old.Challenge(4, testResource))
	fromNew := solve(t, rolled.Challenge(4, testResource))

	_, _, err := rolled.Verify(fromOld, testResource)
	assert.NoError(t, err, "a challenge of the key being retired still verifies")
	_, _, err = rolled.Verify(fromNew, testResource)
	assert.NoError(t, err)
	_, _, err = old.Verify(fromNew, testResource)
	assert.ErrorIs(t, err, ErrForged, "the new key mints: the old one alone does not know it")
	_, _, err = retired.Verify(fromOld, testResource)
	assert.ErrorIs(t, err, ErrForged, "once retired, the old key's challenges are refused")

	_, err = NewMinter(MinterConfig{Key: newKey, VerifyKeys: [][]byte{[]byte("short")}, TTL: time.Minute})
	assert.ErrorContains(t, err, "verify key 1 of 5 bytes")
	_, err = NewMinter(MinterConfig{Key: newKey, VerifyKeys: make([][]byte, MaxVerifyKeys+1), TTL: time.Minute})
	assert.ErrorContains(t, err, "verify keys, want at most")
}

// SetKeys rotates a running Minter's keys as a new Minter would have them,
// and leaves them as they were when the new ones are refused.
func TestMinterSetKeys(t *testing.T) {
	oldKey, newKey := []byte("the old key, 16+ bytes"), []byte("the new key, 16+ bytes")
	m, err := NewMinter(MinterConfig{Key: oldKey, TTL: time.Minute})
	require.NoError(t, err)
	fromOld := solve(t, m.Challenge(4, testResource))

	require.NoError(t, m.SetKeys(newKey, [][]byte{oldKey}))
	_, _, err = m.Verify(fromOld, testResource)
	assert.NoError(t, err, "the retiring key still verifies")
	fromNew := solve(t, m.Challenge(4, testResource))

	assert.Error(t, m.SetKeys([]byte("short"), nil))
	_, _, err = m.Verify(fromNew, testResource)
	assert.NoError(t, err, "a refused SetKeys changed nothing")

	require.NoError(t, m.SetKeys(newKey, nil))
	_, _, err = m.Verify(fromOld, testResource)
	assert.ErrorIs(t, err, ErrForged, "retired")
	_, _, err = m.Verify(fromNew, testResource)
	assert.NoError(t, err)
}
