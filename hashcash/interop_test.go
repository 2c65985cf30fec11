package hashcash

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests run the reference hashcash tool (Debian package hashcash,
// version 1.22). It lowercases resources and cannot handle a ':' in them.
// Its -t option pretends the current time (with -u, in UTC), so both sides
// use the test clock t0.

const interopResource = "127.0.0.1@powtcp"

func referenceTool(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("hashcash")
	if err != nil {
		t.Skip("hashcash reference tool not installed: apt-get install hashcash")
	}
	return path
}

// utc formats t for the tool's -t option (with -u).
func utc(t time.Time) string { return string(appendDate(nil, t)) }

// toolCheck runs the tool's full check (bits, resource and a double-spend
// database) on stamp at time now, and reports whether it accepted it.
func toolCheck(t *testing.T, tool, db string, bits int, now time.Time, stamp string) bool {
	t.Helper()
	cmd := exec.Command(tool, "-c", "-d", "-f", db, "-b", strconv.Itoa(bits), "-r", interopResource, "-u", "-t", utc(now), stamp)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 1 {
		return false
	}
	require.NoError(t, err, "hashcash -c: %s", out) // exit 2 (unchecked) or 3 (exception) is a bug in the test
	return true
}

// TestInteropToolMints checks that stamps minted by the tool pass Check.
func TestInteropToolMints(t *testing.T) {
	tool := referenceTool(t)
	tests := []struct {
		name string
		args []string // before -b: the tool ignores -z after it
		bits int
	}{
		{name: "days", bits: 8},
		{name: "minutes", args: []string{"-z", "10"}, bits: 10},
		{name: "seconds", args: []string{"-z", "12"}, bits: 12},
		{name: "compressed counter", args: []string{"-Z", "2"}, bits: 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"-m", "-q"}, tt.args...)
			args = append(args, "-b", strconv.Itoa(tt.bits), "-r", interopResource, "-u", "-t", utc(t0))
			cmd := exec.Command(tool, args...)
			cmd.Dir = t.TempDir()
			out, err := cmd.Output()
			require.NoError(t, err)
			stamp := strings.TrimSpace(string(out))

			p := Policy{Alg: SHA1, MinBits: tt.bits, Resource: interopResource, Now: t0, MaxAge: 48 * time.Hour, MaxSkew: time.Minute}
			st, err := Check(stamp, p)
			require.NoError(t, err, "stamp %s", stamp)
			assert.Equal(t, tt.bits, st.Bits)
			assert.GreaterOrEqual(t, ZeroBits(SHA1, stamp), tt.bits)

			p.Alg = SHA256
			_, err = Check(stamp, p)
			assert.ErrorIs(t, err, ErrAlg, "a SHA-1 stamp is no SHA-256 stamp")
			p.Alg, p.MinBits = SHA1, tt.bits+1
			_, err = Check(stamp, p)
			assert.ErrorIs(t, err, ErrBits)
			p.MinBits, p.Resource = tt.bits, "other"
			_, err = Check(stamp, p)
			assert.ErrorIs(t, err, ErrResource)
		})
	}
}

// TestInteropToolChecks checks that stamps solved by Solve in SHA-1 mode
// pass the tool's full check, once.
func TestInteropToolChecks(t *testing.T) {
	tool := referenceTool(t)
	m := newTestMinter(t, SHA1, newClock(t0).Now)
	tests := []struct {
		name   string
		prefix string
		bits   int
	}{
		{name: "minter challenge", prefix: m.Challenge(10, interopResource), bits: 10},
		{name: "minter challenge, 12 bits", prefix: m.Challenge(12, interopResource), bits: 12},
		{name: "reference-style challenge", prefix: "1:8:" + utc(t0)[:6] + ":" + interopResource + "::c2FsdA:", bits: 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Solve(context.Background(), tt.prefix, SolveOptions{})
			require.NoError(t, err)
			db := filepath.Join(t.TempDir(), "spent.sdb") // the tool creates it
			now := t0.Add(10 * time.Second)

			assert.False(t, toolCheck(t, tool, db, tt.bits+1, now, res.Stamp), "the tool must refuse a stamp claiming too few bits")
			assert.False(t, toolCheck(t, tool, db, tt.bits, now.Add(60*24*time.Hour), res.Stamp), "the tool must refuse an expired stamp")
			assert.True(t, toolCheck(t, tool, db, tt.bits, now, res.Stamp), "stamp %s", res.Stamp)
			assert.False(t, toolCheck(t, tool, db, tt.bits, now, res.Stamp), "double spend of %s", res.Stamp)
		})
	}
}

// TestInteropZeroBits compares the verdicts of Check and the tool on
// stamps whose hash has exactly one bit fewer than claimed, or exactly as
// many: the partial-byte case the seed got wrong.
func TestInteropZeroBits(t *testing.T) {
	tool := referenceTool(t)
	for bits := 1; bits <= 12; bits++ {
		for _, zeros := range []int{bits - 1, bits} {
			t.Run(fmt.Sprintf("bits=%d/zeros=%d", bits, zeros), func(t *testing.T) {
				prefix := "1:" + strconv.Itoa(bits) + ":" + utc(t0)[:6] + ":" + interopResource + "::c2FsdA:"
				stamp := findCounter(t, SHA1, prefix, func(z int) bool { return z == zeros })
				_, err := Check(stamp, Policy{Alg: SHA1, MinBits: bits, Resource: interopResource, Now: t0})
				db := filepath.Join(t.TempDir(), "spent.sdb")
				assert.Equal(t, err == nil, toolCheck(t, tool, db, bits, t0, stamp), "stamp %s: Check says %v", stamp, err)
				assert.Equal(t, zeros >= bits, err == nil)
			})
		}
	}
}
