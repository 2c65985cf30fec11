package hashcash

import (
	"context"
	"github.com/powtcp/powtcp/internal/testclock"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// t0 is the time tests start at: 2026-11-25 12:00:00 UTC.
var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// newClock is a manual clock standing at t.
func newClock(t time.Time) *testclock.Clock { return testclock.New(t) }

// testKey is a MAC key for tests.
var testKey = []byte("0123456789abcdef0123456789abcdef")

func newTestMinter(t testing.TB, alg Alg, now func() time.Time) *Minter {
	t.Helper()
	m, err := NewMinter(MinterConfig{Key: testKey, Alg: alg, TTL: time.Minute, MaxSkew: 5 * time.Second, Now: now})
	require.NoError(t, err)
	return m
}

// solve solves prefix with Solve.
func solve(t testing.TB, prefix string) string {
	t.Helper()
	res, err := Solve(context.Background(), prefix, SolveOptions{Workers: 2})
	require.NoError(t, err)
	return res.Stamp
}

// findCounter returns prefix plus the first counter (in base 36) whose
// stamp's hash has a number of leading zero bits that ok accepts.
func findCounter(t testing.TB, alg Alg, prefix string, ok func(zeroBits int) bool) string {
	t.Helper()
	for i := uint64(0); i < 1<<24; i++ {
		s := prefix + strconv.FormatUint(i, 36)
		if ok(ZeroBits(alg, s)) {
			return s
		}
	}
	t.Fatalf("no counter found for %s", prefix)
	return ""
}

// setField returns stamp (or prefix) with field i (0 = version) replaced.
func setField(stamp string, i int, value string) string {
	f := strings.Split(stamp, ":")
	f[i] = value
	return strings.Join(f, ":")
}

// Field indices for setField.
const (
	fieldBits     = 1
	fieldDate     = 2
	fieldResource = 3
	fieldExt      = 4
	fieldRand     = 5
	fieldCounter  = 6
)
