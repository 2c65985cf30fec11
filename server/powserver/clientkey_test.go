package powserver

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/powtcp/powtcp/hashcash"
)

// The longest name leaves room for the longest client key in the stamp's
// resource, so no connection can make Challenge panic.
func TestLongestNameFits(t *testing.T) {
	longest := netip.MustParseAddr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")
	assert.Len(t, clientKeyString(longest), maxClientKeyLen)
	name := strings.Repeat("n", MaxNameLen)
	assert.NoError(t, hashcash.ValidateResource(resource(clientKeyString(longest), name)))
	assert.Error(t, hashcash.ValidateResource(resource(clientKeyString(longest), name)+"n"), "the bound is tight")

	ts := start(t, Config{Name: strings.Repeat("n", MaxNameLen)})
	p := dial(t, ts.addr)
	p.send("SOLUTION " + solve(t, p.challenge().Prefix) + "\n")
	_, err := p.reply()
	require.NoError(t, err)
}
