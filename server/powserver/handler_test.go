package powserver

import (
	"errors"
	"io"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A Handler gets the proven connection with who the client is, the bits
// it proved and what it sent ahead of the server's reply; the session is
// "served" when the handler returns nil.
func TestHandlerGetsProvenConnection(t *testing.T) {
	got := make(chan Proven, 1)
	ts := start(t, Config{Handler: HandlerFunc(func(p *Proven) error {
		pc := *p
		pc.early, pc.Conn, pc.ss = nil, nil, nil
		got <- pc
		buffered := string(p.Buffered())
		_, err := io.WriteString(p.Conn, "HELLO "+buffered+"\n")
		return err
	})})
	p := dial(t, ts.addr)
	p.send("SOLUTION " + solve(t, p.challenge().Prefix) + "\nearly bytes")
	l, err := p.r.ReadLine()
	require.NoError(t, err)
	assert.Equal(t, "HELLO early bytes", l, "the handler saw what the client sent ahead")
	pv := <-got
	assert.Equal(t, netip.MustParseAddr("127.0.0.1"), pv.Client)
	assert.Equal(t, 8, pv.Bits)
	assert.Equal(t, ts.cfg.WriteTimeout, pv.WriteTimeout)
	ts.waitOutcome(t, "served", 1)
	assert.Zero(t, counterValue(t, ts.reg, "powtcp_quotes_served_total", ""), "no quote was served")
}

// A handler's error ends the session as "gone"; the proof was spent all
// the same, so the stamp cannot be presented again.
func TestHandlerErrorIsGone(t *testing.T) {
	ts := start(t, Config{Handler: HandlerFunc(func(*Proven) error { return errors.New("upstream down") })})
	p := dial(t, ts.addr)
	stamp := solve(t, p.challenge().Prefix)
	p.send("SOLUTION " + stamp + "\n")
	_, err := p.r.ReadLine()
	assert.ErrorIs(t, err, io.EOF, "closed without a line")
	ts.waitOutcome(t, "gone", 1)
	assert.Zero(t, ts.Summary()["served"])
}
