package powserver

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWaitAnswer: the line comes out whole whether the first read took
// all of it, a part of it (a line longer than the inbox), or one byte (a
// connection that is not a socket); EOF before any byte is io.EOF.
func TestWaitAnswer(t *testing.T) {
	long := strings.Repeat("x", inboxSize+200)
	for _, tt := range []struct {
		name string
		pair func(t *testing.T) (server, client net.Conn)
		line string
	}{
		{"socket", tcpPair, "SOLUTION abc"},
		{"socket, longer than the inbox", tcpPair, long},
		{"pipe", pipePair, "SOLUTION abc"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var pool inboxes
			srv, cl := tt.pair(t)
			go func() {
				_, _ = cl.Write([]byte(tt.line + "\n")) // the reading side checks
				cl.Close()
			}()
			in, err := waitAnswer(srv, &pool)
			require.NoError(t, err)
			defer pool.put(in)
			got, err := in.r.ReadLine()
			require.NoError(t, err)
			assert.Equal(t, tt.line, got)
			_, err = in.r.ReadLine()
			assert.ErrorIs(t, err, io.EOF)
		})
		t.Run(tt.name+", EOF", func(t *testing.T) {
			var pool inboxes
			srv, cl := tt.pair(t)
			cl.Close()
			in, err := waitAnswer(srv, &pool)
			assert.Nil(t, in)
			assert.ErrorIs(t, err, io.EOF)
		})
	}
}

func tcpPair(t *testing.T) (server, client net.Conn) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	server, err = ln.Accept()
	require.NoError(t, err)
	t.Cleanup(func() { server.Close(); client.Close() })
	return server, client
}

func pipePair(t *testing.T) (server, client net.Conn) {
	server, client = net.Pipe()
	t.Cleanup(func() { server.Close(); client.Close() })
	return server, client
}

// deadlineConn records the deadlines set on it, in order.
type deadlineConn struct {
	net.Conn
	set []string
}

func (c *deadlineConn) SetReadDeadline(t time.Time) error {
	c.set = append(c.set, "read "+t.Format(time.StampMilli))
	return nil
}

func (c *deadlineConn) SetWriteDeadline(t time.Time) error {
	c.set = append(c.set, "write "+t.Format(time.StampMilli))
	return nil
}

// TestSetDeadlines: the earlier deadline is set first, so that the second
// never becomes the process's earliest timer.
func TestSetDeadlines(t *testing.T) {
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	at := func(d time.Duration) string { return now.Add(d).Format(time.StampMilli) }
	for _, tt := range []struct {
		window, write time.Duration
		want          []string
	}{
		{2 * time.Second, 5 * time.Second, []string{"read " + at(2*time.Second), "write " + at(5*time.Second)}},
		{time.Minute, 5 * time.Second, []string{"write " + at(5*time.Second), "read " + at(time.Minute)}},
	} {
		var c deadlineConn
		setDeadlines(&c, now, tt.window, tt.write)
		assert.Equal(t, tt.want, c.set)
	}
}
