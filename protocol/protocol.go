package protocol

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Version is the protocol version the server names first on every connection.
const Version = "POWTCP/1"

// DefaultPort is the TCP port a powtcp server listens on unless told otherwise.
const DefaultPort = 10001

// MaxLineLen is the largest line either side accepts, its "\n" included.
// It is enforced while reading: a longer line is refused with
// [ErrLineTooLong] before any buffer grows.
const MaxLineLen = 1024

// Message verbs.
const (
	// VerbChallenge: "POWTCP/1 CHALLENGE <prefix> <window-ms>", server to client, first line.
	VerbChallenge = "CHALLENGE"
	// VerbSolution: "SOLUTION <stamp>", client to server.
	VerbSolution = "SOLUTION"
	// VerbQuote: "QUOTE <text>", server to client, after a valid solution.
	VerbQuote = "QUOTE"
	// VerbError: "ERROR <code> <reason>", server to client, instead of a challenge or a quote.
	VerbError = "ERROR"
	// VerbProceed: "PROCEED <upstream>", gate to client, after a valid
	// solution: from the byte after this line on, the connection carries
	// the upstream service's own protocol, both ways, unchanged.
	VerbProceed = "PROCEED"
)

// Code is the machine-readable reason of an ERROR line.
type Code string

// Error codes. They are stable: clients may switch on them.
const (
	CodeMalformed     Code = "malformed"      // the line is not a SOLUTION line, too long, not UTF-8, or the stamp's syntax is wrong
	CodeVersion       Code = "version"        // the peer speaks another protocol version
	CodeBadSolution   Code = "bad-solution"   // the stamp's hash has fewer leading zero bits than the challenge asked for, or its Equi-X solution is invalid
	CodeWrongAlg      Code = "wrong-alg"      // the stamp names another hash algorithm than the server's
	CodeForged        Code = "forged"         // the stamp is not a challenge this server issued, or a field was changed
	CodeWrongResource Code = "wrong-resource" // the stamp was issued to another client address or server
	CodeExpired       Code = "expired"        // the challenge's date is outside its lifetime
	CodeReplayed      Code = "replayed"       // the challenge was already redeemed once
	CodeTooSlow       Code = "too-slow"       // no solution arrived within the solve window
	CodeBusy          Code = "busy"           // the server is at capacity or shutting down; try again later
	CodeUpstream      Code = "upstream"       // a gate could not reach the service behind it (refused, timed out); the proof was spent
)

// Errors of reading and parsing lines. Callers tell them apart with errors.Is.
var (
	ErrLineTooLong = errors.New("line longer than 1024 bytes")
	ErrMalformed   = errors.New("malformed line")
	ErrVersion     = errors.New("unsupported protocol version")
	// ErrNotGate: a client that wants a tunnel got a QUOTE: the server is
	// a quote service, not a gate.
	ErrNotGate = errors.New("the server is a quote service, not a gate (it sent a QUOTE, not PROCEED)")
	// ErrNotQuote: a client that wants a quote got PROCEED: the server is
	// a gate in front of another service.
	ErrNotQuote = errors.New("the server is a gate in front of another service (it sent PROCEED, not a QUOTE)")
)

// Error is an ERROR line: the peer's refusal. It is an error so that a client
// can return it as it is; use errors.As to get the code.
type Error struct {
	Code   Code
	Reason string
}

func (e *Error) Error() string { return fmt.Sprintf("server refused: %s: %s", e.Code, e.Reason) }

// Challenge is the server's first line.
type Challenge struct {
	Prefix string        // hashcash stamp without its counter, ending in ':'
	Window time.Duration // time the client has to answer, in whole milliseconds on the wire
}

// Solution is the client's answer.
type Solution struct {
	Stamp string // the prefix with the counter appended
}

// Quote is the server's reward for a valid solution.
type Quote struct {
	Text string
}

// Line formats c as a CHALLENGE line, "\n" included. Line and AppendLine
// return ErrMalformed when a field would break the line: an empty field, a
// space inside a single-token field, a control character, or a line over
// MaxLineLen (ErrLineTooLong).
func (c Challenge) Line() ([]byte, error) { return c.AppendLine(make([]byte, 0, lineCap)) }

// AppendLine appends c's line to b: Line without an allocation when b has room.
func (c Challenge) AppendLine(b []byte) ([]byte, error) {
	if c.Window < time.Millisecond {
		return b, fmt.Errorf("%w: window %v under 1ms", ErrMalformed, c.Window)
	}
	start := len(b)
	b = append(b, Version+" "+VerbChallenge...)
	b, err := appendField(b, c.Prefix, true)
	if err != nil {
		return b[:start], err
	}
	b = append(b, ' ')
	b = strconv.AppendInt(b, c.Window.Milliseconds(), 10)
	return endLine(b, start)
}

// Line formats s as a SOLUTION line.
func (s Solution) Line() ([]byte, error) { return s.AppendLine(make([]byte, 0, lineCap)) }

// AppendLine appends s's line to b.
func (s Solution) AppendLine(b []byte) ([]byte, error) {
	return appendVerbLine(b, VerbSolution, s.Stamp, true)
}

// Line formats q as a QUOTE line.
func (q Quote) Line() ([]byte, error) { return q.AppendLine(make([]byte, 0, lineCap)) }

// AppendLine appends q's line to b.
func (q Quote) AppendLine(b []byte) ([]byte, error) {
	return appendVerbLine(b, VerbQuote, q.Text, false)
}

// appendVerbLine appends the line "verb field".
func appendVerbLine(b []byte, verb, field string, isToken bool) ([]byte, error) {
	start := len(b)
	b, err := appendField(append(b, verb...), field, isToken)
	if err != nil {
		return b[:start], err
	}
	return endLine(b, start)
}

// Line formats e as an ERROR line.
func (e *Error) Line() ([]byte, error) { return e.AppendLine(make([]byte, 0, lineCap)) }

// AppendLine appends e's line to b.
func (e *Error) AppendLine(b []byte) ([]byte, error) {
	start := len(b)
	b, err := appendField(append(b, VerbError...), string(e.Code), true)
	if err == nil {
		b, err = appendField(b, e.Reason, false)
	}
	if err != nil {
		return b[:start], err
	}
	return endLine(b, start)
}

// lineCap is the capacity Line starts with: most lines fit.
const lineCap = 128

// appendField appends a space and s, a field of a line. It returns
// ErrMalformed when s would break the line: empty, a space inside a
// single-token field, a control character or invalid UTF-8.
func appendField(b []byte, s string, isToken bool) ([]byte, error) {
	if s == "" {
		return b, fmt.Errorf("%w: empty field after %q", ErrMalformed, b)
	}
	if isToken && strings.IndexByte(s, ' ') >= 0 {
		return b, fmt.Errorf("%w: space in field %q", ErrMalformed, s)
	}
	if err := checkText(s); err != nil {
		return b, err
	}
	b = append(b, ' ')
	return append(b, s...), nil
}

// endLine ends the line that starts at b[start:], refusing one over
// MaxLineLen.
func endLine(b []byte, start int) ([]byte, error) {
	b = append(b, '\n')
	if n := len(b) - start; n > MaxLineLen {
		return b[:start], fmt.Errorf("%w: %d bytes", ErrLineTooLong, n)
	}
	return b, nil
}

// checkText refuses what may not appear in a line: invalid UTF-8 and control characters.
func checkText(s string) error {
	// Most lines are printable ASCII: one pass over the bytes settles
	// them without decoding runes.
	i := 0
	for i < len(s) && s[i] >= 0x20 && s[i] < 0x7f {
		i++
	}
	if i == len(s) {
		return nil
	}
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			return fmt.Errorf("%w: invalid UTF-8 at byte %d", ErrMalformed, i)
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return fmt.Errorf("%w: control character %U at byte %d", ErrMalformed, r, i)
		}
	}
	return nil
}

// ParseChallenge parses the server's first line. An ERROR line is returned
// as a *Error; another version as ErrVersion.
func ParseChallenge(l string) (Challenge, error) {
	switch first, _, _ := strings.Cut(l, " "); {
	case first == VerbError:
		return Challenge{}, parseError(l)
	case first != Version && strings.HasPrefix(first, "POWTCP/"):
		return Challenge{}, fmt.Errorf("%w: server speaks %.32q, this client %q", ErrVersion, first, Version)
	case first != Version:
		return Challenge{}, fmt.Errorf("%w: want %q first, got %.32q", ErrMalformed, Version, first)
	}
	var f [4]string
	n, err := fields(l, f[:])
	if err != nil {
		return Challenge{}, err
	}
	if n != 4 || f[1] != VerbChallenge {
		return Challenge{}, fmt.Errorf("%w: want %q", ErrMalformed, "POWTCP/1 CHALLENGE <prefix> <window-ms>")
	}
	ms, err := strconv.ParseUint(f[3], 10, 31)
	if err != nil || ms == 0 || f[3][0] == '0' { // one spelling per value: no leading zeros
		return Challenge{}, fmt.Errorf("%w: window %.32q is not a positive number of milliseconds", ErrMalformed, f[3])
	}
	return Challenge{Prefix: f[2], Window: time.Duration(ms) * time.Millisecond}, nil
}

// ParseSolution parses the client's answer.
func ParseSolution(l string) (Solution, error) {
	if first, _, _ := strings.Cut(l, " "); strings.HasPrefix(first, "POWTCP/") && first != Version {
		return Solution{}, fmt.Errorf("%w: client speaks %.32q, this server %q", ErrVersion, first, Version)
	}
	var f [2]string
	n, err := fields(l, f[:])
	if err != nil {
		return Solution{}, err
	}
	if n != 2 || f[0] != VerbSolution {
		return Solution{}, fmt.Errorf("%w: want %q", ErrMalformed, "SOLUTION <stamp>")
	}
	return Solution{Stamp: f[1]}, nil
}

// ParseReply parses the server's answer to a solution: a Quote, or a *Error.
// A gate's PROCEED line is ErrNotQuote.
func ParseReply(l string) (Quote, error) {
	verb, rest, _ := strings.Cut(l, " ")
	switch verb {
	case VerbProceed:
		return Quote{}, ErrNotQuote
	case VerbQuote:
		if err := checkLine(l); err != nil {
			return Quote{}, err
		}
		if rest == "" {
			return Quote{}, fmt.Errorf("%w: empty quote", ErrMalformed)
		}
		return Quote{Text: rest}, nil
	case VerbError:
		return Quote{}, parseError(l)
	}
	return Quote{}, fmt.Errorf("%w: want QUOTE or ERROR, got %.32q", ErrMalformed, verb)
}

// Proceed is a gate's answer to a valid solution: the connection now
// belongs to the upstream service, which Upstream names for people (a
// name or host:port the operator chose; clients need not read it).
type Proceed struct {
	Upstream string
}

// Line formats p as a PROCEED line.
func (p Proceed) Line() ([]byte, error) { return p.AppendLine(make([]byte, 0, lineCap)) }

// AppendLine appends p's line to b.
func (p Proceed) AppendLine(b []byte) ([]byte, error) {
	return appendVerbLine(b, VerbProceed, p.Upstream, true)
}

// ParseProceed parses a gate's answer to a solution: a Proceed, or a
// *Error; a QUOTE line is ErrNotGate.
func ParseProceed(l string) (Proceed, error) {
	switch verb, _, _ := strings.Cut(l, " "); verb {
	case VerbProceed:
		var f [2]string
		n, err := fields(l, f[:])
		if err != nil {
			return Proceed{}, err
		}
		if n != 2 {
			return Proceed{}, fmt.Errorf("%w: want %q", ErrMalformed, "PROCEED <upstream>")
		}
		return Proceed{Upstream: f[1]}, nil
	case VerbQuote:
		return Proceed{}, ErrNotGate
	case VerbError:
		return Proceed{}, parseError(l)
	default:
		return Proceed{}, fmt.Errorf("%w: want PROCEED or ERROR, got %.32q", ErrMalformed, verb)
	}
}

// parseError parses an ERROR line into a *Error, or returns ErrMalformed.
func parseError(l string) error {
	if err := checkLine(l); err != nil {
		return err
	}
	f := strings.SplitN(l, " ", 3)
	if len(f) != 3 || f[0] != VerbError || f[1] == "" || f[2] == "" {
		return fmt.Errorf("%w: want %q", ErrMalformed, "ERROR <code> <reason>")
	}
	return &Error{Code: Code(f[1]), Reason: f[2]}
}

// fields checks a line and splits it into at most len(out) fields
// separated by single spaces, into out; it returns how many there are.
// It does not allocate unless it fails.
func fields(l string, out []string) (int, error) {
	if err := checkLine(l); err != nil {
		return 0, err
	}
	n, rest := 0, l
	for {
		f, after, more := strings.Cut(rest, " ")
		if f == "" {
			return 0, fmt.Errorf("%w: empty field (fields are separated by exactly one space)", ErrMalformed)
		}
		if n == len(out) {
			return 0, fmt.Errorf("%w: more than %d fields", ErrMalformed, len(out))
		}
		out[n], n = f, n+1
		if !more {
			return n, nil
		}
		rest = after
	}
}

func checkLine(l string) error {
	if len(l) >= MaxLineLen {
		return ErrLineTooLong
	}
	if l == "" {
		return fmt.Errorf("%w: empty line", ErrMalformed)
	}
	return checkText(l)
}

// Reader reads protocol lines with a hard length cap. Its buffer is
// MaxLineLen bytes and never grows.
type Reader struct {
	br *bufio.Reader
}

// NewReader returns a Reader reading from r.
func NewReader(r io.Reader) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, MaxLineLen)}
}

// Reset makes r read from rd, discarding what it buffered, so that a
// server can reuse Readers (and their buffers) across connections.
func (r *Reader) Reset(rd io.Reader) { r.br.Reset(rd) }

// ReadLine returns the next line without its "\n" or "\r\n". A line
// longer than MaxLineLen fails with ErrLineTooLong; the connection should
// then be closed, since the rest of the line is unread. An EOF before any
// byte is io.EOF; an EOF inside a line is io.ErrUnexpectedEOF.
func (r *Reader) ReadLine() (string, error) {
	b, err := r.br.ReadSlice('\n')
	switch {
	case errors.Is(err, bufio.ErrBufferFull):
		return "", ErrLineTooLong
	case err == io.EOF && len(b) > 0:
		return "", io.ErrUnexpectedEOF
	case err != nil:
		return "", err
	}
	b = b[:len(b)-1]
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	return string(b), nil
}

// Buffered returns what the reader holds beyond the lines it returned:
// bytes the peer sent ahead. The slice is valid until the next read.
func (r *Reader) Buffered() []byte {
	b, _ := r.br.Peek(r.br.Buffered())
	return b
}

// ReadChallenge reads and parses the server's first line.
func (r *Reader) ReadChallenge() (Challenge, error) {
	l, err := r.ReadLine()
	if err != nil {
		return Challenge{}, fmt.Errorf("read challenge: %w", err)
	}
	return ParseChallenge(l)
}

// ReadSolution reads and parses the client's answer.
func (r *Reader) ReadSolution() (Solution, error) {
	l, err := r.ReadLine()
	if err != nil {
		return Solution{}, fmt.Errorf("read solution: %w", err)
	}
	return ParseSolution(l)
}

// ReadReply reads and parses the server's answer to a solution.
func (r *Reader) ReadReply() (Quote, error) {
	l, err := r.ReadLine()
	if err != nil {
		return Quote{}, fmt.Errorf("read reply: %w", err)
	}
	return ParseReply(l)
}

// ReadProceed reads and parses a gate's answer to a solution. What the
// upstream sent right after it may already be in the reader: read the
// connection through the reader (or take Buffered first) from here on.
func (r *Reader) ReadProceed() (Proceed, error) {
	l, err := r.ReadLine()
	if err != nil {
		return Proceed{}, fmt.Errorf("read reply: %w", err)
	}
	return ParseProceed(l)
}

// Message is a message that formats itself as one line.
type Message interface {
	Line() ([]byte, error)
}

// Write writes m to w as one line in a single Write call.
func Write(w io.Writer, m Message) error {
	b, err := m.Line()
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}
