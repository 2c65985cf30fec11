package hashcash

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fuzzSeeds are stamps and near-stamps for the seed corpora.
var fuzzSeeds = []string{
	"",
	":::::::",
	"1:20:040806:foo::511801694b4cd6b0:1e7297a",
	"1:10:261125:powtcp::j9HIjSQhRAV9N9tJ:00000000000003q",
	"1:10:261125233747:powtcp.example::Ax7V1Prfq+B5lWJh:0000000000000000000000000000000000000000000F5",
	"1:8:261125120000:127.0.0.1@powtcp:sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA:AAAA",
	"1:64:2611251200:r:a=1,2;b:x=:y",
	"1:08:261125:r::x:y",
	"1:8:250229:r::x:y",
	"1:8:261125:r::x:",
	"1:8:261125:r::x:y:z",
	"0:8:261125:r::x:y",
	"1:8:261125:r r::x:y",
	"1:8:261125:r::x:" + strings.Repeat("A", MaxCounterLen+1),
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		st, err := Parse(s)
		if err != nil {
			require.ErrorIs(t, err, ErrMalformed)
			return
		}
		require.LessOrEqual(t, len(s), MaxStampLen)
		require.Equal(t, s, st.String(), "a stamp has one representation")
		require.NotEmpty(t, st.Counter)
		require.LessOrEqual(t, len(st.Counter), MaxCounterLen)
		require.True(t, 0 <= st.Bits && st.Bits <= MaxBits)
		_, err = st.Time()
		require.NoError(t, err)
		again, err := Parse(st.String())
		require.NoError(t, err)
		require.Equal(t, st, again)
		if p := st.Prefix(); len(p) <= MaxPrefixLen {
			ps, err := ParsePrefix(p)
			require.NoError(t, err)
			st.Counter = ""
			require.Equal(t, st, ps)
		}
	})
}

func FuzzParsePrefix(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
		if i := strings.LastIndexByte(s, ':'); i >= 0 {
			f.Add(s[:i+1])
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		st, err := ParsePrefix(s)
		if err != nil {
			require.ErrorIs(t, err, ErrMalformed)
			return
		}
		require.LessOrEqual(t, len(s), MaxPrefixLen)
		require.Equal(t, s, st.Prefix())
		require.Empty(t, st.Counter)
		full, err := Parse(s + "A")
		require.NoError(t, err, "a challenge plus a counter is a stamp")
		require.Equal(t, s, full.Prefix())
	})
}

func FuzzVerify(f *testing.F) {
	clk := newClock(t0)
	m := newTestMinter(f, SHA256, clk.Now)
	m1 := newTestMinter(f, SHA1, clk.Now)
	for _, bits := range []int{0, 1, 4, 8} {
		c := m.Challenge(bits, testResource)
		stamp := solve(f, c)
		f.Add(stamp)
		f.Add(c)
		f.Add(setField(stamp, fieldBits, "0"))
		f.Add(setField(stamp, fieldResource, "other"))
		f.Add(setField(stamp, fieldDate, "261125120001"))
		f.Add(setField(stamp, fieldCounter, "A"))
		f.Add(solve(f, m1.Challenge(bits, testResource)))
	}
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		st, exp, err := m.Verify(s, testResource)
		if err != nil {
			require.Zero(t, st)
			return
		}
		require.Equal(t, s, st.String())
		require.GreaterOrEqual(t, ZeroBits(SHA256, s), st.Bits, "accepted without the work")
		raw, err := base64.RawStdEncoding.DecodeString(st.Rand)
		require.NoError(t, err)
		require.True(t, validMACReference(s, raw), "accepted without the MAC")
		require.Equal(t, testResource, st.Resource)
		require.Equal(t, "sha256", st.Ext)
		issued, err := st.Time()
		require.NoError(t, err)
		require.Equal(t, issued.Add(time.Minute), exp)
		require.False(t, t0.After(exp), "accepted expired")
		require.False(t, issued.After(t0.Add(5*time.Second)), "accepted from the future")
	})
}

func FuzzCheck(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s, uint8(SHA1), 8, "powtcp")
	}
	res, err := Solve(context.Background(), "1:6:261125:powtcp::c2FsdA:", SolveOptions{})
	require.NoError(f, err)
	f.Add(res.Stamp, uint8(SHA1), 6, "powtcp")
	f.Add(res.Stamp, uint8(SHA1), 0, "")
	res, err = Solve(context.Background(), "1:6:2611251159:powtcp:sha256:c2FsdA:", SolveOptions{})
	require.NoError(f, err)
	f.Add(res.Stamp, uint8(SHA256), 6, "powtcp")
	f.Add(res.Stamp, uint8(0), 3, "")

	f.Fuzz(func(t *testing.T, s string, alg uint8, minBits int, resource string) {
		p := Policy{Alg: Alg(alg), MinBits: minBits, Resource: resource, Now: t0, MaxAge: 48 * time.Hour, MaxSkew: time.Hour}
		st, err := Check(s, p)
		if err != nil {
			return
		}
		a := Alg(alg)
		if a == 0 {
			a = SHA256
		}
		require.Equal(t, s, st.String())
		require.Equal(t, a.Ext(), st.Ext)
		require.GreaterOrEqual(t, st.Bits, minBits)
		require.GreaterOrEqual(t, ZeroBits(a, s), st.Bits, "accepted without the work")
		if resource != "" {
			require.Equal(t, resource, st.Resource)
		}
		issued, err := st.Time()
		require.NoError(t, err)
		assert.False(t, issued.Before(t0.Add(-48*time.Hour)), "accepted expired")
		assert.False(t, issued.After(t0.Add(time.Hour)), "accepted from the future")
	})
}
