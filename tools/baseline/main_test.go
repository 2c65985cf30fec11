package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestParseConfig(t *testing.T) {
	for _, tt := range []struct {
		give    []string
		want    config
		wantErr string
	}{
		{give: []string{"-addr-file", "f"}, want: config{kind: kindOneLine, addrFile: "f"}},
		{give: []string{"-kind", "seed", "-bits", "16", "-addr-file", "f"}, want: config{kind: kindSeed, bits: 16, addrFile: "f"}},
		{give: []string{"-kind", "other", "-addr-file", "f"}, wantErr: `-kind "other"`},
		{give: []string{"-bits", "7", "-addr-file", "f"}, wantErr: "-bits 7"},
		{give: []string{"-bits", "72", "-addr-file", "f"}, wantErr: "-bits 72"},
		{give: nil, wantErr: "-addr-file: required"},
		{give: []string{"-addr-file", "f", "extra"}, wantErr: "unexpected arguments"},
	} {
		c, err := parseConfig(tt.give, io.Discard)
		if tt.wantErr != "" {
			assert.ErrorContains(t, err, tt.wantErr, "%q", tt.give)
			continue
		}
		require.NoError(t, err, "%q", tt.give)
		assert.Equal(t, tt.want, c, "%q", tt.give)
	}
}

// TestRun starts each kind as the command does, reads the address it
// wrote, runs a session against it and stops it.
func TestRun(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "addr")
			ctx, cancel := context.WithCancel(t.Context())
			code := make(chan int, 1)
			go func() { code <- run(ctx, []string{"-kind", kind, "-bits", "8", "-addr-file", f}, io.Discard) }()
			var addr string
			require.Eventually(t, func() bool {
				b, err := os.ReadFile(f)
				addr = strings.TrimSpace(string(b))
				return err == nil && addr != ""
			}, 5*time.Second, 10*time.Millisecond)
			assert.Equal(t, bareQuote, client(t, kind, addr, 8))
			cancel()
			assert.Equal(t, 0, <-code)
		})
	}
}

func TestRunUsage(t *testing.T) {
	assert.Equal(t, 2, run(t.Context(), []string{"-kind", "x"}, io.Discard))
	assert.Equal(t, 0, run(t.Context(), []string{"-h"}, io.Discard))
	assert.Equal(t, 1, run(t.Context(), []string{"-addr-file", filepath.Join(t.TempDir(), "no", "such", "dir")}, io.Discard))
}

// TestSeedWrongNonce checks that the seed-shaped server refuses a nonce
// that does not meet its difficulty.
func TestSeedWrongNonce(t *testing.T) {
	addr := listen(t, kindSeed, 16)
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	var challenge [9]byte
	_, err = io.ReadFull(c, challenge[:])
	require.NoError(t, err)
	assert.Equal(t, byte(16), challenge[0])
	for n := uint64(0); ; n++ { // a nonce whose hash does not start with a zero byte
		var nonce [8]byte
		binary.BigEndian.PutUint64(nonce[:], n)
		if sha256.Sum256(append(challenge[:], nonce[:]...))[0] != 0 {
			_, err = c.Write(nonce[:])
			break
		}
	}
	require.NoError(t, err)
	b, err := io.ReadAll(c)
	require.NoError(t, err)
	assert.Equal(t, "wrong\n", string(b))
}

// listen serves kind on 127.0.0.1:0 until the test ends.
func listen(t *testing.T, kind string, bits int) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { serve(ctx, ln, kind, bits); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return ln.Addr().String()
}

// client is a client of kind at addr: it answers what the server expects
// and returns the last line.
func client(t *testing.T, kind, addr string, bits int) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	r := bufio.NewReader(c)
	switch kind {
	case kindExchange:
		l, err := r.ReadString('\n')
		require.NoError(t, err)
		assert.Equal(t, bareChallenge, l)
		_, err = io.WriteString(c, "SOLUTION x\n")
		require.NoError(t, err)
	case kindSeed:
		var challenge [9]byte
		_, err = io.ReadFull(r, challenge[:])
		require.NoError(t, err)
		assert.Equal(t, byte(bits), challenge[0])
		_, err = c.Write(solve(challenge))
		require.NoError(t, err)
	}
	rest, err := io.ReadAll(r)
	require.NoError(t, err)
	return string(rest)
}

// solve finds a nonce whose hash with challenge starts with challenge[0]/8
// zero bytes.
func solve(challenge [9]byte) []byte {
	for n := uint64(0); ; n++ {
		nonce := binary.BigEndian.AppendUint64(nil, n)
		sum := sha256.Sum256(append(challenge[:], nonce...))
		if strings.Count(string(sum[:challenge[0]/8]), "\x00") == int(challenge[0]/8) {
			return nonce
		}
	}
}
