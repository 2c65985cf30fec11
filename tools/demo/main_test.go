package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/powtcp/powtcp/hashcash"
	"github.com/powtcp/powtcp/internal/wrongwork"
)

// TestMain fails the package's tests when a goroutine outlives them.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestRun(t *testing.T) {
	tests := []struct {
		name string
		give config
		want map[string]modeStats
	}{
		{
			name: "many source addresses",
			give: config{Clients: 12, C: 4, Wrong: 0.5, Difficulty: 8, Timeout: 30 * time.Second, IPs: 4, Workers: 1},
			want: map[string]modeStats{
				"honest":     {Sessions: 6, Served: 6, Refused: map[string]int{}},
				"short-work": {Sessions: 3, Refused: map[string]int{"bad-solution": 3}},
				"forged":     {Sessions: 3, Refused: map[string]int{"forged": 3}},
			},
		},
		{
			name: "all from 127.0.0.1",
			give: config{Clients: 5, C: 5, Wrong: 0.2, Difficulty: 4, Timeout: 30 * time.Second, IPs: 1, Workers: 2},
			want: map[string]modeStats{
				"honest":     {Sessions: 4, Served: 4, Refused: map[string]int{}},
				"short-work": {Sessions: 1, Refused: map[string]int{"bad-solution": 1}},
				"forged":     {Sessions: 0, Refused: map[string]int{}},
			},
		},
		{
			name: "difficulty 0",
			give: config{Clients: 4, C: 2, Wrong: 0.5, Difficulty: 0, Timeout: 30 * time.Second, IPs: 2, Workers: 1},
			want: map[string]modeStats{
				"honest": {Sessions: 2, Served: 2, Refused: map[string]int{}},
				// At difficulty 0 every counter works: short work forges the MAC instead.
				"short-work": {Sessions: 1, Refused: map[string]int{"forged": 1}},
				"forged":     {Sessions: 1, Refused: map[string]int{"forged": 1}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sum, err := run(t.Context(), tt.give, zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel)))
			require.NoError(t, err)
			assert.NoError(t, sum.err())
			assert.Equal(t, tt.want, sum.Client)

			// The server saw the same: a connection per client, each ending
			// as the client says.
			wantServer := map[string]int64{}
			for _, st := range tt.want {
				wantServer["served"] += int64(st.Served)
				for code, n := range st.Refused {
					wantServer[code] += int64(n)
				}
			}
			assert.Equal(t, wantServer, sum.Server)
			assert.Equal(t, tt.give.Clients, sum.Solves)
			assert.GreaterOrEqual(t, sum.MinBits, tt.give.Difficulty)

			var out strings.Builder
			sum.print(&out)
			assert.Contains(t, out.String(), "CLIENT")
			assert.Contains(t, out.String(), "SERVER OUTCOME")
		})
	}
}

func TestRunInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := run(ctx, config{Clients: 100, C: 2, Difficulty: 8, Timeout: time.Second, IPs: 1, Workers: 1}, zap.NewNop())
	assert.ErrorIs(t, err, context.Canceled)
}

func TestSummaryErr(t *testing.T) {
	ok := map[string]modeStats{
		"honest":     {Sessions: 2, Served: 2},
		"short-work": {Sessions: 1, Refused: map[string]int{"bad-solution": 1}},
		"forged":     {Sessions: 1, Refused: map[string]int{"forged": 1}},
	}
	tests := []struct {
		name    string
		give    func(map[string]modeStats)
		wantErr string // "" for none
	}{
		{name: "as it should be", give: func(map[string]modeStats) {}},
		{
			name:    "honest client refused",
			give:    func(m map[string]modeStats) { m["honest"] = modeStats{Sessions: 2, Served: 1} },
			wantErr: "1 of 2 honest clients were refused",
		},
		{
			name:    "short work served",
			give:    func(m map[string]modeStats) { m["short-work"] = modeStats{Sessions: 1, Served: 1} },
			wantErr: "1 of 1 short-work clients were served",
		},
		{
			name:    "forged served",
			give:    func(m map[string]modeStats) { m["forged"] = modeStats{Sessions: 1, Served: 1} },
			wantErr: "1 of 1 forged clients were served",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := map[string]modeStats{}
			for k, v := range ok {
				m[k] = v
			}
			tt.give(m)
			err := (&summary{Client: m}).err()
			if tt.wantErr == "" {
				assert.NoError(t, err)
			} else {
				assert.ErrorContains(t, err, tt.wantErr)
			}
		})
	}
}

func TestMode(t *testing.T) {
	tests := []struct {
		clients int
		wrong   float64
		want    string // h honest, s short work, f forged
	}{
		{clients: 10, wrong: 0, want: "hhhhhhhhhh"},
		{clients: 10, wrong: 0.2, want: "hhhhshhhhf"},
		{clients: 10, wrong: 0.5, want: "hshfhshfhs"},
		{clients: 4, wrong: 1, want: "sfsf"},
		{clients: 3, wrong: 0.1, want: "hhh"},
	}
	letter := map[wrongwork.Mode]byte{wrongwork.Honest: 'h', wrongwork.ShortWork: 's', wrongwork.Forged: 'f'}
	for _, tt := range tests {
		c := config{Clients: tt.clients, Wrong: tt.wrong}
		var got []byte
		for i := range tt.clients {
			got = append(got, letter[c.mode(i)])
		}
		assert.Equal(t, tt.want, string(got), "%d clients, wrong %v", tt.clients, tt.wrong)
	}
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		give    []string
		wantErr string // "" for none
	}{
		{give: nil},
		{give: []string{"-clients", "3", "-c", "1", "-wrong", "1", "-difficulty", "0", "-ips", "1"}},
		{give: []string{"-clients", "0"}, wantErr: "-clients 0"},
		{give: []string{"-c", "0"}, wantErr: "-c 0"},
		{give: []string{"-wrong", "1.5"}, wantErr: "-wrong 1.5"},
		{give: []string{"-wrong", "NaN"}, wantErr: "-wrong NaN"},
		{give: []string{"-difficulty", "33"}, wantErr: "-difficulty 33"},
		{give: []string{"-timeout", "0s"}, wantErr: "-timeout 0s"},
		{give: []string{"-ips", "251"}, wantErr: "-ips 251"},
		{give: []string{"-workers", "0"}, wantErr: "-workers 0"},
		{give: []string{"extra"}, wantErr: "unexpected arguments"},
		{give: []string{"-alg", "equix", "-difficulty", "1"}},
		{give: []string{"-alg", "md5"}, wantErr: `-alg: unknown algorithm "md5"`},
		{give: []string{"-alg", "equix", "-difficulty", "12"}, wantErr: "-difficulty 12: want 0..11 bits with -alg equix"},
	}
	for _, tt := range tests {
		_, err := parseFlags(tt.give, io.Discard)
		if tt.wantErr == "" {
			assert.NoError(t, err, "%q", tt.give)
		} else {
			assert.ErrorContains(t, err, tt.wantErr, "%q", tt.give)
		}
	}
}

// -alg picks the server's proof of work and, unless -difficulty is given,
// its default difficulty.
func TestParseFlagsAlg(t *testing.T) {
	c, err := parseFlags([]string{"-alg", "equix"}, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, hashcash.Equix, c.Alg)
	assert.Equal(t, hashcash.Equix.DefaultBits(), c.Difficulty)
	assert.Equal(t, wrongwork.InvalidEquix, c.modes()[1], "Equi-X's wrong work reaches equix.Verify")
	c, err = parseFlags(nil, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, hashcash.SHA256, c.Alg)
	assert.Equal(t, demoBits, c.Difficulty)
	assert.Equal(t, wrongwork.ShortWork, c.modes()[1])
}
