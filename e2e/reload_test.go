package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/powtcp/powtcp/protocol"
)

// TestReload: SIGHUP makes the server binary re-read its key file and its
// quotes file without a restart. A key rotation in two steps (the new key
// mints while the old one still verifies; then the old one is retired)
// and a new collection take effect; a file that does not parse keeps what
// the server had, and says so.
func TestReload(t *testing.T) {
	dir := t.TempDir()
	keyFile, quotesFile := filepath.Join(dir, "keys"), filepath.Join(dir, "quotes.txt")
	oldKey, newKey := strings.Repeat("0a", 32), strings.Repeat("b1", 32)
	write := func(path, text string) { require.NoError(t, os.WriteFile(path, []byte(text), 0o600)) }
	write(keyFile, oldKey+"\n")
	write(quotesFile, "The first collection.|Someone\n")
	s := startServer(t, "-key-file", keyFile, "-quotes", quotesFile)

	// Two challenges of the old key, solved off their connections.
	var stamps []string
	for range 2 {
		c := dial(t, s.addr, "")
		stamps = append(stamps, solve(t, c.challenge(t).Prefix))
		c.Close()
	}
	quote := func() string {
		t.Helper()
		code, stdout, stderr := runClient(t, "-addr", s.addr, "-timeout", "30s")
		require.Equal(t, 0, code, "client: %s", stderr)
		return strings.TrimSpace(stdout)
	}
	redeem := func(stamp string) error {
		t.Helper()
		c := dial(t, s.addr, "")
		defer c.Close()
		c.challenge(t) // a new one, not needed
		_, err := c.answer(t, stamp)
		return err
	}
	assert.Equal(t, "The first collection. — Someone", quote())

	// Step 1: the new key mints, the old one still verifies; new quotes.
	write(keyFile, newKey+"\n"+oldKey+"\n")
	write(quotesFile, "The second collection.|Someone else\n")
	s.signal(t, syscall.SIGHUP)
	_, err := s.logs.WaitForNth("reloaded", 1, startLimit)
	require.NoError(t, err)
	assert.Equal(t, "The second collection. — Someone else", quote())
	assert.NoError(t, redeem(stamps[0]), "a challenge of the retiring key still checks out")

	// Step 2: the old key retired, and a quotes file that does not parse.
	write(keyFile, newKey+"\n")
	write(quotesFile, "a line without its author\n")
	s.signal(t, syscall.SIGHUP)
	e, err := s.logs.WaitForNth("reload failed", 1, startLimit)
	require.NoError(t, err)
	assert.Contains(t, e["error"], "quotes file kept as it was")
	assert.Equal(t, "The second collection. — Someone else", quote(), "the old collection stays")
	requireRefused(t, redeem(stamps[1]), protocol.CodeForged)

	sum := s.stop(t)
	assert.Equal(t, 3+1, sum["served"], "%v", sum)
}

// TestReloadAllowList: an allow-listed network pays nothing with
// -allow-free, and the list's file is re-read on SIGHUP.
func TestReloadAllowList(t *testing.T) {
	allowFile := filepath.Join(t.TempDir(), "allow")
	require.NoError(t, os.WriteFile(allowFile, []byte("# nobody yet\n"), 0o600))
	s := startServer(t, "-allow-networks-file", allowFile, "-allow-free")
	bits := func() string {
		t.Helper()
		c := dial(t, s.addr, "")
		defer c.Close()
		return strings.SplitN(c.challenge(t).Prefix, ":", 3)[1]
	}
	assert.Equal(t, strconv.Itoa(difficulty), bits(), "a stranger pays the base")
	require.NoError(t, os.WriteFile(allowFile, []byte("127.0.0.0/8 # the tests' own\n"), 0o600))
	s.signal(t, syscall.SIGHUP)
	_, err := s.logs.WaitForNth("reloaded", 1, startLimit)
	require.NoError(t, err)
	assert.Equal(t, "0", bits(), "an allow-listed client with -allow-free does no work")

	require.NoError(t, os.WriteFile(allowFile, []byte("not a network\n"), 0o600))
	s.signal(t, syscall.SIGHUP)
	_, err = s.logs.WaitForNth("reload failed", 1, startLimit)
	require.NoError(t, err)
	assert.Equal(t, "0", bits(), "a file that does not parse keeps the list")
}
