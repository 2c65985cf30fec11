package hashcash

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheck(t *testing.T) {
	policy := func(alg Alg) Policy {
		return Policy{Alg: alg, MinBits: 8, Resource: "powtcp", Now: t0, MaxAge: 48 * time.Hour, MaxSkew: time.Hour}
	}
	atLeast := func(n int) func(int) bool { return func(z int) bool { return z >= n } }
	below := func(n int) func(int) bool { return func(z int) bool { return z < n } }
	sha1Stamp := findCounter(t, SHA1, "1:8:261125:powtcp::c2FsdA:", atLeast(8))
	sha256Stamp := findCounter(t, SHA256, "1:8:261125120000:powtcp:sha256:c2FsdA:", atLeast(8))

	tests := []struct {
		name    string
		give    string
		policy  Policy
		wantErr error
	}{
		{name: "sha1", give: sha1Stamp, policy: policy(SHA1)},
		{name: "sha256", give: sha256Stamp, policy: policy(SHA256)},
		{name: "zero alg is sha256", give: sha256Stamp, policy: policy(0)},
		{name: "any resource", give: sha1Stamp, policy: func() Policy { p := policy(SHA1); p.Resource = ""; return p }()},
		{name: "no age limit", give: findCounter(t, SHA1, "1:8:000101:powtcp::c2FsdA:", atLeast(8)), policy: func() Policy { p := policy(SHA1); p.MaxAge = 0; return p }()},
		{name: "more bits than needed", give: findCounter(t, SHA1, "1:12:261125:powtcp::c2FsdA:", atLeast(12)), policy: policy(SHA1)},

		{name: "garbage", give: "garbage", policy: policy(SHA1), wantErr: ErrMalformed},
		{name: "too long", give: sha1Stamp + strings.Repeat("A", MaxStampLen), policy: policy(SHA1), wantErr: ErrMalformed},
		{name: "bad counter alphabet", give: sha1Stamp + "*", policy: policy(SHA1), wantErr: ErrMalformed},
		{name: "counter too long", give: "1:8:261125:powtcp::c2FsdA:" + strings.Repeat("0", MaxCounterLen+1), policy: policy(SHA1), wantErr: ErrMalformed},
		{name: "sha256 stamp, sha1 policy", give: sha256Stamp, policy: policy(SHA1), wantErr: ErrAlg},
		{name: "sha1 stamp, sha256 policy", give: sha1Stamp, policy: policy(SHA256), wantErr: ErrAlg},
		{name: "unknown ext", give: setField(sha1Stamp, fieldExt, "md5"), policy: policy(SHA1), wantErr: ErrAlg},
		{name: "unknown policy alg", give: sha1Stamp, policy: policy(7), wantErr: ErrAlg},
		{name: "claims too few bits", give: findCounter(t, SHA1, "1:4:261125:powtcp::c2FsdA:", atLeast(4)), policy: policy(SHA1), wantErr: ErrBits},
		{name: "short work", give: findCounter(t, SHA1, "1:8:261125:powtcp::c2FsdA:", below(8)), policy: policy(SHA1), wantErr: ErrBits},
		{name: "bits raised", give: setField(sha1Stamp, fieldBits, "9"), policy: policy(SHA1), wantErr: ErrBits},
		{name: "wrong resource", give: findCounter(t, SHA1, "1:8:261125:other::c2FsdA:", atLeast(8)), policy: policy(SHA1), wantErr: ErrResource},
		{name: "expired", give: findCounter(t, SHA1, "1:8:261122:powtcp::c2FsdA:", atLeast(8)), policy: policy(SHA1), wantErr: ErrExpired},
		{name: "future", give: findCounter(t, SHA1, "1:8:2611251301:powtcp::c2FsdA:", atLeast(8)), policy: policy(SHA1), wantErr: ErrFuture},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Check(tt.give, tt.policy)
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.give, got.String())
		})
	}
}

func TestCheckDateWindow(t *testing.T) {
	p := Policy{Alg: SHA256, Resource: "r", Now: t0, MaxAge: time.Minute, MaxSkew: 5 * time.Second}
	tests := []struct {
		give    time.Duration // date relative to t0
		wantErr error
	}{
		{give: -time.Minute - time.Second, wantErr: ErrExpired},
		{give: -time.Minute},
		{give: 0},
		{give: 5 * time.Second},
		{give: 6 * time.Second, wantErr: ErrFuture},
	}
	for _, tt := range tests {
		t.Run(tt.give.String(), func(t *testing.T) {
			date := string(appendDate(nil, t0.Add(tt.give)))
			stamp := findCounter(t, SHA256, "1:0:"+date+":r:sha256:c2FsdA:", func(int) bool { return true })
			_, err := Check(stamp, p)
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
			} else {
				assert.NoError(t, err)
			}
		})
	}
}

// TestCheckPartialBytes is the regression test for the seed's bug: it looked
// at the bytes of the nonce, not the hash, for a bits value that is not a
// whole number of bytes. A stamp whose hash has one bit too few must be
// refused for every such difficulty, and one with exactly enough accepted.
func TestCheckPartialBytes(t *testing.T) {
	for _, alg := range []Alg{SHA1, SHA256} {
		for bits := 1; bits <= 12; bits++ {
			for _, zeros := range []int{0, bits - 1, bits} {
				t.Run(fmt.Sprintf("%v/bits=%d/zeros=%d", alg, bits, zeros), func(t *testing.T) {
					prefix := "1:" + strconv.Itoa(bits) + ":261125:powtcp:" + alg.Ext() + ":c2FsdA:"
					stamp := findCounter(t, alg, prefix, func(z int) bool { return z == zeros })
					_, err := Check(stamp, Policy{Alg: alg, MinBits: bits, Resource: "powtcp", Now: t0})
					if zeros < bits {
						assert.ErrorIs(t, err, ErrBits)
					} else {
						assert.NoError(t, err)
					}
				})
			}
		}
	}
}

// TestCheckDifficulty4 is the seed's bug at its reported difficulty: a
// stamp at 4 bits whose hash starts with 0, 1, 2 or 3 zero bits.
func TestCheckDifficulty4(t *testing.T) {
	for zeros := range 4 {
		stamp := findCounter(t, SHA256, "1:4:261125:powtcp:sha256:c2FsdA:", func(z int) bool { return z == zeros })
		_, err := Check(stamp, Policy{Alg: SHA256, MinBits: 4, Now: t0})
		assert.ErrorIs(t, err, ErrBits, "stamp %s with %d zero bits", stamp, zeros)
	}
}
