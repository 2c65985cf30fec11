package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/powtcp/powtcp/hashcash"
	"github.com/powtcp/powtcp/internal/redistest"
	"github.com/powtcp/powtcp/protocol"
)

// TestClient runs the client binary against the server binary: honest
// sessions get quotes, wrong solutions are refused with their code, and
// the exit code tells which.
func TestClient(t *testing.T) {
	s := startServer(t)
	known := knownQuotes()

	tests := []struct {
		name       string
		give       []string // flags besides -addr and -timeout
		wantCode   int
		wantQuotes int
		wantStderr string // "" for none
	}{
		{name: "honest", wantCode: 0, wantQuotes: 1},
		{name: "several sessions at once", give: []string{"-n", "4", "-c", "2"}, wantCode: 0, wantQuotes: 4,
			wantStderr: "client: 4 sessions: served=4"},
		{name: "short work", give: []string{"-mode", "short-work"}, wantCode: 1, wantStderr: "bad-solution"},
		{name: "forged MAC", give: []string{"-mode", "forged"}, wantCode: 1, wantStderr: "forged"},
		{name: "bad usage", give: []string{"-mode", "lazy"}, wantCode: 2, wantStderr: `-mode "lazy"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runClient(t, append([]string{"-addr", s.addr, "-timeout", "30s"}, tt.give...)...)
			assert.Equal(t, tt.wantCode, code, "exit code; stderr:\n%s", stderr)
			lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
			if stdout == "" {
				lines = nil
			}
			assert.Len(t, lines, tt.wantQuotes, "stdout:\n%s", stdout)
			for _, l := range lines {
				assert.True(t, known[l], "%q is not a quote of the collection", l)
			}
			if tt.wantStderr == "" {
				assert.Empty(t, stderr)
			} else {
				assert.Contains(t, stderr, tt.wantStderr)
			}
		})
	}

	t.Run("json reports", func(t *testing.T) {
		for _, rep := range fetchReports(t, s.addr, 2) {
			assert.Equal(t, difficulty, rep.Bits, "difficulty the server asked for")
		}
	})

	assert.Equal(t, map[string]int{"served": 1 + 4 + 2, "bad-solution": 1, "forged": 1}, s.stop(t))
}

// TestClientReconnects: when the server holds a connection for less time
// than the solve takes (a busy server's short answer window; here forced
// with -answer-window 1ms and a table an eighth full from the one
// connection), the client solves off the connection and presents the
// stamp on a second one, and is served.
func TestClientReconnects(t *testing.T) {
	// 22 bits: about 4 million hashes, so a solve inside the window (under
	// a millisecond, about 7,500 hashes) is a 1-in-500 chance.
	s := startServer(t, "-difficulty", "22", "-max-conns", "8", "-max-conns-per-ip", "8", "-answer-window", "1ms")
	code, stdout, stderr := runClient(t, "-addr", s.addr, "-timeout", "30s", "-json", "-workers", "1")
	require.Equal(t, 0, code, "exit code; stderr:\n%s", stderr)
	var rep struct {
		Quote       string `json:"quote"`
		Reconnected bool   `json:"reconnected"`
	}
	require.NoError(t, json.NewDecoder(strings.NewReader(stdout)).Decode(&rep), stdout)
	assert.True(t, rep.Reconnected, stdout)
	assert.NotEmpty(t, rep.Quote)
	summary := s.stop(t)
	assert.Equal(t, 1, summary["served"], "%v", summary)
}

// ulimit256 runs a command with at most 256 open descriptors.
var ulimit256 = []string{"sh", "-c", `ulimit -n 256 && exec "$@"`, "sh"}

// TestDescriptorBudget: under a descriptor limit below the default
// -max-conns, the server lowers the cap to fit (and says so), so that with
// more idle sockets held than it has descriptors it still serves an honest
// client; an explicit -max-conns above the budget is refused at start.
func TestDescriptorBudget(t *testing.T) {
	s := startServerUnder(t, ulimit256)
	e, err := s.logs.WaitFor("listening", stopLimit)
	require.NoError(t, err)
	assert.EqualValues(t, 256-64, e["max_conns"])
	_, err = s.logs.Find("-max-conns lowered from 10000 to 192 to fit the file descriptor limit (RLIMIT_NOFILE 256 less 64); raise the limit (ulimit -n) for more")
	require.NoError(t, err)

	for i := range 300 { // more than the server has descriptors, from many addresses
		dial(t, s.addr, fmt.Sprintf("127.0.%d.%d", 1+i/200, 1+i%200))
	}
	code, stdout, stderr := runClient(t, "-addr", s.addr, "-timeout", "30s", "-n", "3")
	require.Equal(t, 0, code, "honest client served; stderr:\n%s", stderr)
	assert.Equal(t, 3, strings.Count(stdout, "\n"))

	code, _, stderr = runServer(t, ulimit256, "-max-conns", "1000")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "-max-conns 1000: above the file descriptor budget 192 (RLIMIT_NOFILE 256 less 64 for listeners, logs and the store)")
}

// TestKeyRotation: two replicas mid-rotation, one with the old key file
// (K1) and one with the new (K2 minting, K1 still verifying): a challenge
// of the first is redeemed at the second; the second's own challenge is not
// known to the first until it has K2 too. Both share the name, as replicas
// must.
func TestKeyRotation(t *testing.T) {
	dir := t.TempDir()
	k1, k2 := strings.Repeat("1a", 16), strings.Repeat("2b", 16)
	oldFile, newFile := filepath.Join(dir, "old"), filepath.Join(dir, "new")
	require.NoError(t, os.WriteFile(oldFile, []byte(k1+"\n"), 0o600))
	require.NoError(t, os.WriteFile(newFile, []byte("# K2 mints, K1 is being retired\n"+k2+"\n"+k1+"\n"), 0o600))
	a := startServer(t, "-key-file", oldFile)
	b := startServer(t, "-key-file", newFile)

	fromA := dial(t, a.addr, "")
	stampA := solve(t, fromA.challenge(t).Prefix)
	fromA.Close()
	atB := dial(t, b.addr, "")
	atB.challenge(t)
	q, err := atB.answer(t, stampA)
	require.NoError(t, err, "B verifies A's challenge with K1")
	assert.NotEmpty(t, q.Text)

	fromB := dial(t, b.addr, "")
	stampB := solve(t, fromB.challenge(t).Prefix)
	fromB.Close()
	atA := dial(t, a.addr, "")
	atA.challenge(t)
	_, err = atA.answer(t, stampB)
	requireRefused(t, err, protocol.CodeForged)
}

// TestSharedSpentStore: two replicas on one Valkey/Redis store (a real
// server): a stamp redeemed at A is a replay at B, and at A after A
// restarts; a paused store (SIGSTOP) refuses redemptions with busy and
// takes /readyz to 503; back, it serves again.
func TestSharedSpentStore(t *testing.T) {
	store := redistest.Start(t)
	// A deadline that holds under CI's load (the default is 50ms).
	shared := []string{"-key", strings.Repeat("5e", 16), "-spent-store", store.URL, "-spent-store-timeout", "1s", "-admin-addr", "127.0.0.1:0"}
	a := startServer(t, shared...)
	b := startServer(t, shared...)

	first := dial(t, a.addr, "")
	stamp := solve(t, first.challenge(t).Prefix)
	_, err := first.answer(t, stamp)
	require.NoError(t, err, "served at A")
	requireRefused(t, redeem(t, b, stamp), protocol.CodeReplayed)

	a.signal(t, syscall.SIGTERM)
	require.Equal(t, 0, a.wait(t))
	a2 := startServer(t, shared...)
	requireRefused(t, redeem(t, a2, stamp), protocol.CodeReplayed)

	readyz := readyzURL(t, b)
	assert.Equal(t, http.StatusOK, status(t, readyz))

	c := dial(t, b.addr, "")
	fresh := solve(t, c.challenge(t).Prefix)
	store.Pause(t)
	_, err = c.answer(t, fresh)
	requireRefused(t, err, protocol.CodeBusy)
	assert.Equal(t, http.StatusServiceUnavailable, status(t, readyz), "not ready while the store does not answer")
	store.Resume(t)
	require.Eventually(t, func() bool { return status(t, readyz) == http.StatusOK }, stopLimit, 10*time.Millisecond)

	c = dial(t, b.addr, "")
	_, err = c.answer(t, solve(t, c.challenge(t).Prefix))
	require.NoError(t, err, "served again once the store is back")
}

// redeem answers a fresh challenge of s with stamp (solved for another),
// or, when stamp is "", with a solution of that challenge.
func redeem(t *testing.T, s *serverProc, stamp string) error {
	c := dial(t, s.addr, "")
	defer c.Close()
	ch := c.challenge(t)
	if stamp == "" {
		stamp = solve(t, ch.Prefix)
	}
	_, err := c.answer(t, stamp)
	return err
}

// TestSentinelSpentStore: the server on a Sentinel set's primary
// (redis+sentinel://, waiting for one replica per claim) is not ready and
// answers busy once the primary is killed, is ready and serves again after
// the failover, and a stamp it served before is a replay after.
func TestSentinelSpentStore(t *testing.T) {
	set := redistest.StartSentinelSet(t, 2)
	// A deadline well under the failover's second or so, so that the
	// calls made right after the kill end before a replica is promoted.
	s := startServer(t, "-spent-store", set.URL, "-spent-store-wait-replicas", "1", "-spent-store-timeout", "300ms", "-admin-addr", "127.0.0.1:0")
	readyz := readyzURL(t, s)
	assert.Equal(t, http.StatusOK, status(t, readyz))

	c := dial(t, s.addr, "")
	served := solve(t, c.challenge(t).Prefix)
	_, err := c.answer(t, served)
	require.NoError(t, err)

	c = dial(t, s.addr, "")
	fresh := solve(t, c.challenge(t).Prefix)
	killed := set.KillPrimary(t)
	killedAt := time.Now()
	assert.Equal(t, http.StatusServiceUnavailable, status(t, readyz), "not ready while there is no primary")
	_, err = c.answer(t, fresh)
	requireRefused(t, err, protocol.CodeBusy)
	require.Eventually(t, func() bool { return status(t, readyz) == http.StatusOK }, 30*time.Second, 10*time.Millisecond,
		"ready again once a replica is promoted")
	ready := time.Since(killedAt)
	// Served once the other replica follows the new primary, for WAIT.
	require.Eventually(t, func() bool { return redeem(t, s, "") == nil }, 30*time.Second, 10*time.Millisecond,
		"served again after the failover")
	t.Logf("primary %s killed: ready again after %v, serving after %v", killed.Addr, ready.Round(time.Millisecond), time.Since(killedAt).Round(time.Millisecond))
	assert.NotEqual(t, killed.Addr, set.Primary(t).Addr)
	requireRefused(t, redeem(t, s, served), protocol.CodeReplayed)
}

// readyzURL is the /readyz of s, once its admin endpoint listens.
func readyzURL(t *testing.T, s *serverProc) string {
	t.Helper()
	e, err := s.logs.WaitFor("admin listening", stopLimit)
	require.NoError(t, err)
	return "http://" + e["addr"].(string) + "/readyz"
}

// status returns the status code of an HTTP GET.
func status(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// TestProxyProtocol: behind a load balancer that sends the PROXY protocol
// (here the test, from 127.0.0.1, the one trusted peer), the client's
// address comes from the header, v1 or v2, and binds the challenge; a
// trusted peer without a header, and another peer with one, are refused;
// another peer without one is served as itself.
func TestProxyProtocol(t *testing.T) {
	s := startServer(t, "-proxy-protocol", "-trusted-proxies", "127.0.0.1/32", "-proxy-header-timeout", "200ms")
	resource := func(prefix string) string {
		st, err := hashcash.ParsePrefix(prefix)
		require.NoError(t, err)
		return st.Resource
	}

	v1 := dial(t, s.addr, "127.0.0.1")
	v1.send(t, []byte("PROXY TCP4 203.0.113.7 192.0.2.1 40000 10001\r\n"))
	ch := v1.challenge(t)
	assert.Equal(t, "203.0.113.7@powtcp", resource(ch.Prefix))
	q, err := v1.answer(t, solve(t, ch.Prefix))
	require.NoError(t, err, "served as 203.0.113.7")
	assert.NotEmpty(t, q.Text)

	// v2, written out by hand: signature, version 2 PROXY, TCP over IPv6,
	// 36 address bytes: source 2001:db8:1:2::7 port 40000, destination ::1 port 10001.
	hdr := []byte("\r\n\r\n\x00\r\nQUIT\n\x21\x21\x00\x24")
	hdr = append(hdr, netip.MustParseAddr("2001:db8:1:2::7").AsSlice()...)
	hdr = append(hdr, netip.IPv6Loopback().AsSlice()...)
	hdr = append(hdr, 0x9c, 0x40, 0x27, 0x11)
	v2 := dial(t, s.addr, "127.0.0.1")
	v2.send(t, hdr)
	assert.Equal(t, "2001-db8-1-2--@powtcp", resource(v2.challenge(t).Prefix), "the client's /64")

	bare := dial(t, s.addr, "127.0.0.1")
	bare.send(t, []byte("SOLUTION 1:8:x\n"))
	bare.requireClosed(t) // a trusted peer must send the header: refused without a line

	spoof := dial(t, s.addr, "127.0.0.2")
	spoof.send(t, []byte("PROXY TCP4 203.0.113.8 192.0.2.1 40000 10001\r\n"))
	spoof.requireClosed(t) // only the trusted peers' headers are believed

	direct := dial(t, s.addr, "127.0.0.2")
	assert.Equal(t, "127.0.0.2@powtcp", resource(direct.challenge(t).Prefix), "another peer is served as itself")
	direct.Close()

	sum := s.stop(t)
	assert.Equal(t, 2, sum["refused-proxy_header"], "%v", sum)
	assert.Equal(t, 1, sum["served"], "%v", sum)
}

// TestBadAnswers speaks the protocol to the server binary: every answer but
// the first solution of a challenge issued to this address is refused with
// its code, and the server closes the connection.
func TestBadAnswers(t *testing.T) {
	s := startServer(t)
	solution := func(stamp string) string { return "SOLUTION " + stamp + "\n" }

	tests := []struct {
		name string
		// give returns what to send after reading ch on a connection from 127.0.0.1.
		give func(t *testing.T, ch protocol.Challenge) string
		want protocol.Code
	}{
		{
			name: "not a solution line",
			give: func(*testing.T, protocol.Challenge) string { return "hello\n" },
			want: protocol.CodeMalformed,
		},
		{
			name: "line of 2 KiB without newline",
			give: func(*testing.T, protocol.Challenge) string { return strings.Repeat("a", 2048) },
			want: protocol.CodeMalformed,
		},
		{
			name: "stamp syntax",
			give: func(*testing.T, protocol.Challenge) string { return solution("1:10:nonsense") },
			want: protocol.CodeMalformed,
		},
		{
			name: "other protocol version",
			give: func(*testing.T, protocol.Challenge) string { return "POWTCP/2 SOLUTION x\n" },
			want: protocol.CodeVersion,
		},
		{
			name: "difficulty lowered by the client",
			give: func(t *testing.T, ch protocol.Challenge) string {
				p, err := hashcash.ParsePrefix(ch.Prefix)
				require.NoError(t, err)
				p.Bits = 1
				return solution(solve(t, p.Prefix()))
			},
			want: protocol.CodeForged,
		},
		{
			name: "other hash",
			give: func(t *testing.T, ch protocol.Challenge) string {
				p, err := hashcash.ParsePrefix(ch.Prefix)
				require.NoError(t, err)
				p.Ext = "" // SHA-1
				return solution(solve(t, p.Prefix()))
			},
			want: protocol.CodeWrongAlg,
		},
		{
			name: "challenge issued to another address",
			give: func(t *testing.T, _ protocol.Challenge) string {
				other := dial(t, s.addr, "127.0.0.2")
				stamp := solve(t, other.challenge(t).Prefix)
				other.Close() // the server counts it gone
				return solution(stamp)
			},
			want: protocol.CodeWrongResource,
		},
		{
			name: "replayed",
			give: func(t *testing.T, _ protocol.Challenge) string {
				first := dial(t, s.addr, "")
				stamp := solve(t, first.challenge(t).Prefix)
				_, err := first.answer(t, stamp)
				require.NoError(t, err, "first redemption")
				return solution(stamp)
			},
			want: protocol.CodeReplayed,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, s.addr, "")
			ch := c.challenge(t)
			c.send(t, []byte(tt.give(t, ch)))
			_, err := c.r.ReadReply()
			requireRefused(t, err, tt.want)
			c.requireClosed(t)
		})
	}

	assert.Equal(t, map[string]int{
		"malformed": 3, "version": 1, "forged": 1, "wrong-alg": 1, "wrong-resource": 1, "replayed": 1,
		"served": 1, // the replayed stamp's first redemption
		"gone":   1, // the connection from 127.0.0.2
	}, s.stop(t))
}

// TestExpiry: a client that does not answer within its solve window is
// told too-slow, and a solution sent after the challenge's lifetime, here
// on a new connection, is refused as expired.
//
// The server is another process, so its clock cannot be faked: the test
// waits out the one-second TTL in real time.
func TestExpiry(t *testing.T) {
	const ttl = time.Second
	s := startServer(t, "-challenge-ttl", ttl.String(), "-min-solve-window", "300ms")

	c := dial(t, s.addr, "")
	ch := c.challenge(t)
	assert.LessOrEqual(t, ch.Window, ttl, "solve window")
	stamp := solve(t, ch.Prefix)
	_, err := c.r.ReadReply() // the server gives up after the window
	requireRefused(t, err, protocol.CodeTooSlow)
	c.requireClosed(t)

	st, err := hashcash.Parse(stamp)
	require.NoError(t, err)
	issued, err := st.Time()
	require.NoError(t, err)
	// The date has whole seconds and the server checks now > issued + TTL.
	expired := time.NewTimer(time.Until(issued.Add(ttl + 50*time.Millisecond)))
	defer expired.Stop()
	<-expired.C

	c2 := dial(t, s.addr, "")
	c2.challenge(t)
	_, err = c2.answer(t, stamp)
	requireRefused(t, err, protocol.CodeExpired)
	c2.requireClosed(t)

	assert.Equal(t, map[string]int{"too-slow": 1, "expired": 1}, s.stop(t))
}

// TestCaps: the per-address cap refuses a connection with ERROR busy before
// any challenge, and at the connection cap the oldest unanswered
// handshake is closed to admit a new one.
func TestCaps(t *testing.T) {
	s := startServer(t, "-max-conns", "3", "-max-conns-per-ip", "2")

	a1 := dial(t, s.addr, "127.0.0.1")
	a1.challenge(t)
	a2 := dial(t, s.addr, "127.0.0.1")
	ch2 := a2.challenge(t)

	a3 := dial(t, s.addr, "127.0.0.1")
	_, err := a3.r.ReadChallenge()
	requireRefused(t, err, protocol.CodeBusy)
	a3.requireClosed(t)

	b1 := dial(t, s.addr, "127.0.0.2")
	b1.challenge(t)
	b2 := dial(t, s.addr, "127.0.0.2") // the fourth: a silent handshake of the heavier holder makes room
	b2.challenge(t)
	_, err = a1.r.ReadReply()
	requireRefused(t, err, protocol.CodeBusy)
	a1.requireClosed(t)

	q, err := a2.answer(t, solve(t, ch2.Prefix))
	require.NoError(t, err, "a2 is still served")
	assert.NotEmpty(t, q.Text)

	for _, c := range []*conn{b1, b2} {
		c.Close()
	}
	// b1 and b2 end "gone", or "shutdown" when the server is stopped
	// before it saw them hang up.
	sum := s.stop(t)
	assert.Equal(t, 2, sum["gone"]+sum["shutdown"], "%v", sum)
	delete(sum, "gone")
	delete(sum, "shutdown")
	assert.Equal(t, map[string]int{"refused-per_ip": 1, "evicted": 1, "served": 1}, sum)
}

// TestShutdownDuringHandshake: on SIGTERM the server stops accepting at
// once, closes the handshakes that have not begun to answer (telling them
// why), lets a client whose answer is arriving finish, then exits 0.
func TestShutdownDuringHandshake(t *testing.T) {
	s := startServer(t, "-min-solve-window", "30s", "-admin-addr", "127.0.0.1:0")
	e, err := s.logs.WaitFor("admin listening", stopLimit)
	require.NoError(t, err)
	metrics := "http://" + e["addr"].(string) + "/metrics"

	silent := dial(t, s.addr, "")
	silent.challenge(t)
	answering := dial(t, s.addr, "")
	line := "SOLUTION " + solve(t, answering.challenge(t).Prefix) + "\n"
	_, err = answering.Write([]byte(line[:5]))
	require.NoError(t, err)
	require.Eventually(t, func() bool { // the server saw the answer begin: one silent handshake left
		return strings.Contains(get(t, metrics), "\npowtcp_handshakes_in_flight 1\n")
	}, stopLimit, time.Millisecond)

	s.signal(t, syscall.SIGTERM)
	e, err = s.logs.WaitFor("shutting down", stopLimit)
	require.NoError(t, err)
	assert.EqualValues(t, 1, e["handshakes_closed"])
	assert.EqualValues(t, 1, e["sessions_finishing"])
	_, err = silent.r.ReadReply()
	requireRefused(t, err, protocol.CodeBusy)

	_, err = net.DialTimeout("tcp", s.addr, connLimit)
	require.ErrorIs(t, err, syscall.ECONNREFUSED, "a new connection during shutdown")

	_, err = answering.Write([]byte(line[5:]))
	require.NoError(t, err)
	q, err := answering.r.ReadReply()
	require.NoError(t, err, "the session whose answer arrived is served")
	assert.NotEmpty(t, q.Text)
	answering.requireClosed(t)

	require.Equal(t, 0, s.wait(t), "server exit code")
	e, err = s.logs.Find("stopped")
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"served": float64(1), "shutdown": float64(1)}, e["summary"])
}

// get returns the body of an HTTP GET.
func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}
