package powserver

import (
	"context"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/powtcp/powtcp/equix"
	"github.com/powtcp/powtcp/hashcash"
	"github.com/powtcp/powtcp/protocol"
)

// equixInvalid is prefix with a counter whose effort hash has the bits but
// whose Equi-X solution (indices in canonical order) solves nothing.
func equixInvalid(t *testing.T, prefix string) string {
	t.Helper()
	st, err := hashcash.ParsePrefix(prefix)
	require.NoError(t, err)
	for i := uint64(0); ; i++ {
		var n hashcash.EquixNonce
		binary.BigEndian.PutUint64(n[:], i)
		s := prefix + hashcash.EquixCounter(n, equix.Solution{0, 1, 2, 3, 4, 5, 6, 7})
		if hashcash.ZeroBits(hashcash.Equix, s) >= st.Bits {
			return s
		}
	}
}

// TestServeEquix: an Equi-X server serves a solved Equi-X stamp and refuses
// an invalid solution, a counter of another shape and a SHA-256 stamp,
// each with its code.
func TestServeEquix(t *testing.T) {
	ts := start(t, Config{Alg: hashcash.Equix, Difficulty: 2, ClientHashRate: 10})
	p := dial(t, ts.addr)
	c := p.challenge()
	assert.True(t, strings.HasPrefix(c.Prefix, "1:2:"), c.Prefix)
	assert.Contains(t, c.Prefix, ":127.0.0.1@powtcp:equix:")
	res, err := hashcash.Solve(context.Background(), c.Prefix, hashcash.SolveOptions{Workers: 1})
	require.NoError(t, err)
	p.send("SOLUTION " + res.Stamp + "\n")
	q, err := p.reply()
	require.NoError(t, err)
	assert.NotEmpty(t, q.Text)

	tests := []struct {
		name string
		give func(prefix string) string
		want protocol.Code
	}{
		{"invalid Equi-X solution", func(prefix string) string { return equixInvalid(t, prefix) }, protocol.CodeBadSolution},
		{"hashcash counter", func(prefix string) string { return prefix + "AAAA" }, protocol.CodeBadSolution},
		{"sha256 stamp", func(prefix string) string {
			return strings.Replace(prefix, ":equix:", ":sha256:", 1) + "A"
		}, protocol.CodeWrongAlg},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := dial(t, ts.addr)
			p.send("SOLUTION " + tt.give(p.challenge().Prefix) + "\n")
			p.wantCode(tt.want)
		})
	}
	ts.waitOutcome(t, "served", 1)
	ts.waitOutcome(t, string(protocol.CodeBadSolution), 2)
}
