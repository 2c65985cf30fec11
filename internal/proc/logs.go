package proc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Limits on what a Logs keeps, so a program that logs for hours (a server
// under the load generator) cannot grow its parent without bound.
const (
	// DefaultMaxEntries is how many JSON entries a Logs keeps; later ones
	// are counted but not kept.
	DefaultMaxEntries = 100_000
	// maxLine is the longest line a Logs parses; the rest of a longer line
	// is kept as text only.
	maxLine = 1 << 20
	// tailLines is how many lines a Logs keeps for Tail.
	tailLines = 1000
)

// Entry is one JSON log line, as encoding/json decodes an object.
type Entry map[string]any

// Logs is a program's output: it keeps the JSON log lines (zap's JSON
// encoder's "msg" field names each) and the last lines of text, and lets a
// caller wait for a message. It is an io.Writer, safe for concurrent use.
type Logs struct {
	max int

	mu      sync.Mutex
	partial []byte
	entries []Entry
	dropped int           // entries not kept, past max
	tail    []string      // the last tailLines lines, oldest first
	changed chan struct{} // closed and replaced at every new line and at close
	closed  bool
}

// NewLogs returns an empty Logs that keeps DefaultMaxEntries entries.
func NewLogs() *Logs { return NewLogsMax(DefaultMaxEntries) }

// NewLogsMax returns an empty Logs that keeps at most max entries.
func NewLogsMax(max int) *Logs { return &Logs{max: max, changed: make(chan struct{})} }

// Write takes output; complete lines are parsed as they arrive.
func (l *Logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	lines := false
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.line(l.partial[:i])
		l.partial = l.partial[i+1:]
		lines = true
	}
	if len(l.partial) > maxLine {
		l.line(l.partial)
		l.partial = nil
		lines = true
	}
	l.partial = append([]byte(nil), l.partial...) // let the consumed bytes go
	if lines {
		close(l.changed)
		l.changed = make(chan struct{})
	}
	return len(p), nil
}

// line records one line; l.mu is held.
func (l *Logs) line(b []byte) {
	l.tail = append(l.tail, string(b))
	if len(l.tail) > tailLines {
		l.tail = l.tail[len(l.tail)-tailLines:]
	}
	var e Entry
	if len(b) == 0 || b[0] != '{' || json.Unmarshal(b, &e) != nil {
		return
	}
	if len(l.entries) >= l.max {
		l.dropped++
		return
	}
	l.entries = append(l.entries, e)
}

// close says the program has exited: nothing more will be written.
func (l *Logs) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.partial) > 0 {
		l.line(l.partial)
		l.partial = nil
	}
	l.closed = true
	close(l.changed)
	l.changed = make(chan struct{})
}

// Find returns the first entry logged so far whose "msg" is msg.
func (l *Logs) Find(msg string) (Entry, error) { return l.findNth(msg, 1) }

// findNth returns the nth entry logged so far whose "msg" is msg.
func (l *Logs) findNth(msg string, n int) (Entry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	seen := 0
	for _, e := range l.entries {
		if e["msg"] == msg {
			if seen++; seen == n {
				return e, nil
			}
		}
	}
	if l.dropped > 0 {
		return nil, fmt.Errorf("%d of %d %q in the first %d log entries (%d more not kept)", seen, n, msg, len(l.entries), l.dropped)
	}
	return nil, fmt.Errorf("%d of %d %q in the log", seen, n, msg)
}

// WaitFor waits up to limit until an entry whose "msg" is msg is logged and
// returns it. It fails at once when the program has exited without it.
func (l *Logs) WaitFor(msg string, limit time.Duration) (Entry, error) {
	return l.WaitForNth(msg, 1, limit)
}

// WaitForNth is WaitFor for the nth entry whose "msg" is msg.
func (l *Logs) WaitForNth(msg string, n int, limit time.Duration) (Entry, error) {
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for {
		e, err := l.findNth(msg, n)
		if err == nil {
			return e, nil
		}
		l.mu.Lock()
		closed, changed := l.closed, l.changed
		l.mu.Unlock()
		if closed {
			return nil, fmt.Errorf("exited without logging %q", msg)
		}
		select {
		case <-changed:
		case <-deadline.C:
			return nil, fmt.Errorf("no %q logged within %v", msg, limit)
		}
	}
}

// Tail returns the last n lines of output (at most the 1,000 kept).
func (l *Logs) Tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.tail[max(0, len(l.tail)-n):]
	return strings.Join(t, "\n")
}

// String returns the kept lines of output, for a failed test's log.
func (l *Logs) String() string { return l.Tail(tailLines) }
