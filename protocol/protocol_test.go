package protocol

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const prefix = "1:20:261125233616:127.0.0.1@powtcp:sha256:Y3dzSWf0X0WbNrcNyYn4JYl3m1hZbuPT:"

func TestRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, Challenge{Prefix: prefix, Window: 4256 * time.Millisecond}))
	require.NoError(t, Write(&buf, Solution{Stamp: prefix + "AAAB"}))
	require.NoError(t, Write(&buf, Quote{Text: "Well done is better than well said. — Benjamin Franklin"}))
	require.NoError(t, Write(&buf, &Error{Code: CodeTooSlow, Reason: "no solution within 4.256s"}))
	assert.Equal(t, "POWTCP/1 CHALLENGE "+prefix+" 4256\n"+
		"SOLUTION "+prefix+"AAAB\n"+
		"QUOTE Well done is better than well said. — Benjamin Franklin\n"+
		"ERROR too-slow no solution within 4.256s\n", buf.String())

	r := NewReader(&buf)
	c, err := r.ReadChallenge()
	require.NoError(t, err)
	assert.Equal(t, Challenge{Prefix: prefix, Window: 4256 * time.Millisecond}, c)
	s, err := r.ReadSolution()
	require.NoError(t, err)
	assert.Equal(t, Solution{Stamp: prefix + "AAAB"}, s)
	q, err := r.ReadReply()
	require.NoError(t, err)
	assert.Equal(t, "Well done is better than well said. — Benjamin Franklin", q.Text)
	_, err = r.ReadReply()
	var perr *Error
	require.ErrorAs(t, err, &perr)
	assert.Equal(t, &Error{Code: CodeTooSlow, Reason: "no solution within 4.256s"}, perr)
	_, err = r.ReadLine()
	assert.Equal(t, io.EOF, err)
}

func TestWriteRefusesBadFields(t *testing.T) {
	tests := []struct {
		name string
		give Message
		want error
	}{
		{"space in prefix", Challenge{Prefix: "a b", Window: time.Second}, ErrMalformed},
		{"empty prefix", Challenge{Prefix: "", Window: time.Second}, ErrMalformed},
		{"zero window", Challenge{Prefix: prefix, Window: 0}, ErrMalformed},
		{"newline in quote", Quote{Text: "a\nb"}, ErrMalformed},
		{"empty quote", Quote{}, ErrMalformed},
		{"control char", &Error{Code: CodeBusy, Reason: "a\x00b"}, ErrMalformed},
		{"invalid utf8", Quote{Text: "a\xffb"}, ErrMalformed},
		{"space in code", &Error{Code: "a b", Reason: "x"}, ErrMalformed},
		{"too long", Quote{Text: strings.Repeat("x", MaxLineLen)}, ErrLineTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			assert.ErrorIs(t, Write(&buf, tt.give), tt.want)
			assert.Zero(t, buf.Len(), "nothing written on error")
		})
	}
}

func TestReadLine(t *testing.T) {
	tests := []struct {
		name    string
		give    string
		want    string
		wantErr error
	}{
		{"lf", "abc\n", "abc", nil},
		{"crlf", "abc\r\n", "abc", nil},
		{"longest", strings.Repeat("x", MaxLineLen-1) + "\n", strings.Repeat("x", MaxLineLen-1), nil},
		{"too long", strings.Repeat("x", MaxLineLen) + "\n", "", ErrLineTooLong},
		{"endless", strings.Repeat("x", 10*MaxLineLen), "", ErrLineTooLong},
		{"eof mid line", "abc", "", io.ErrUnexpectedEOF},
		{"eof", "", "", io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NewReader(strings.NewReader(tt.give)).ReadLine()
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// A line that arrives one byte per read still reads as one line.
func TestReadLineSplitAcrossWrites(t *testing.T) {
	line := "SOLUTION " + prefix + "AAAB\n"
	r := NewReader(iotest.OneByteReader(strings.NewReader(line)))
	s, err := r.ReadSolution()
	require.NoError(t, err)
	assert.Equal(t, prefix+"AAAB", s.Stamp)
}

func TestParseChallenge(t *testing.T) {
	tests := []struct {
		name    string
		give    string
		want    Challenge
		wantErr error
	}{
		{"ok", "POWTCP/1 CHALLENGE " + prefix + " 1500", Challenge{Prefix: prefix, Window: 1500 * time.Millisecond}, nil},
		{"other version", "POWTCP/2 CHALLENGE " + prefix + " 1500", Challenge{}, ErrVersion},
		{"not powtcp", "HTTP/1.1 200 OK", Challenge{}, ErrMalformed},
		{"missing window", "POWTCP/1 CHALLENGE " + prefix, Challenge{}, ErrMalformed},
		{"zero window", "POWTCP/1 CHALLENGE " + prefix + " 0", Challenge{}, ErrMalformed},
		{"leading zero in window", "POWTCP/1 CHALLENGE " + prefix + " 0100", Challenge{}, ErrMalformed},
		{"negative window", "POWTCP/1 CHALLENGE " + prefix + " -5", Challenge{}, ErrMalformed},
		{"huge window", "POWTCP/1 CHALLENGE " + prefix + " 99999999999999", Challenge{}, ErrMalformed},
		{"extra field", "POWTCP/1 CHALLENGE " + prefix + " 5 x", Challenge{}, ErrMalformed},
		{"double space", "POWTCP/1  CHALLENGE " + prefix + " 5", Challenge{}, ErrMalformed},
		{"wrong verb", "POWTCP/1 QUOTE " + prefix + " 5", Challenge{}, ErrMalformed},
		{"empty", "", Challenge{}, ErrMalformed},
		{"control", "POWTCP/1 CHALLENGE a\x01 5", Challenge{}, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseChallenge(tt.give)
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseChallengeRefusal(t *testing.T) {
	_, err := ParseChallenge("ERROR busy too many connections from 127.0.0.1")
	var perr *Error
	require.ErrorAs(t, err, &perr)
	assert.Equal(t, CodeBusy, perr.Code)
	assert.Equal(t, "too many connections from 127.0.0.1", perr.Reason)
}

func TestParseSolution(t *testing.T) {
	tests := []struct {
		name    string
		give    string
		want    string
		wantErr error
	}{
		{"ok", "SOLUTION " + prefix + "AB", prefix + "AB", nil},
		{"lower case verb", "solution " + prefix + "AB", "", ErrMalformed},
		{"no stamp", "SOLUTION", "", ErrMalformed},
		{"empty stamp", "SOLUTION ", "", ErrMalformed},
		{"two stamps", "SOLUTION a b", "", ErrMalformed},
		{"garbage", "\x16\x03\x01\x02\x00", "", ErrMalformed},
		{"versioned", "POWTCP/2 SOLUTION x", "", ErrVersion},
		{"too long", "SOLUTION " + strings.Repeat("A", MaxLineLen), "", ErrLineTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSolution(tt.give)
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got.Stamp)
		})
	}
}

func TestParseReply(t *testing.T) {
	q, err := ParseReply("QUOTE Know thyself. — Proverb")
	require.NoError(t, err)
	assert.Equal(t, "Know thyself. — Proverb", q.Text)

	for _, give := range []string{"QUOTE", "QUOTE ", "HELLO", "ERROR", "ERROR busy", "ERROR  x", "QUOTE a\x7f"} {
		_, err := ParseReply(give)
		assert.ErrorIs(t, err, ErrMalformed, "%q", give)
		var perr *Error
		assert.False(t, errors.As(err, &perr), "%q is no ERROR line", give)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"POWTCP/1 CHALLENGE " + prefix + " 1500",
		"SOLUTION " + prefix + "AAAB",
		"QUOTE Know thyself. — Proverb",
		"ERROR busy try later",
		"PROCEED ssh", "ERROR upstream connection refused",
		"POWTCP/2 CHALLENGE x 1", "", " ", "ERROR", "\xff", "a\r",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, l string) {
		if c, err := ParseChallenge(l); err == nil {
			b, err := c.Line()
			require.NoError(t, err, "accepted challenge must re-format")
			assert.Equal(t, l+"\n", string(b))
		}
		if s, err := ParseSolution(l); err == nil {
			b, err := s.Line()
			require.NoError(t, err, "accepted solution must re-format")
			assert.Equal(t, l+"\n", string(b))
		}
		if p, err := ParseProceed(l); err == nil {
			b, err := p.Line()
			require.NoError(t, err, "accepted PROCEED must re-format")
			assert.Equal(t, l+"\n", string(b))
		}
		q, err := ParseReply(l)
		var perr *Error
		switch {
		case err == nil:
			b, err := q.Line()
			require.NoError(t, err)
			assert.Equal(t, l+"\n", string(b))
		case errors.As(err, &perr):
			b, err := perr.Line()
			require.NoError(t, err)
			assert.Equal(t, l+"\n", string(b))
		}
	})
}

func FuzzReadLine(f *testing.F) {
	f.Add([]byte("SOLUTION x\r\nQUOTE y\n"))
	f.Add(bytes.Repeat([]byte("x"), 2*MaxLineLen))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data))
		for range 2*len(data) + 1 {
			l, err := r.ReadLine()
			if err != nil {
				return
			}
			assert.Less(t, len(l), MaxLineLen)
			assert.NotContains(t, l, "\n")
		}
		t.Fatal("reader did not stop")
	})
}

func TestCheckText(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"", true},
		{"plain ASCII, all printable ~", true},
		{"Ünïcödé after ASCII — fine", true},
		{"a literal replacement character \uFFFD is text", true},
		{"tab\tinside", false},
		{"ends in DEL\x7f", false},
		{"\x00 first", false},
		{"C1 control \u0085 after ASCII", false},
		{"invalid UTF-8 \xff after ASCII", false},
		{"truncated rune \xc3", false},
	} {
		err := checkText(tc.in)
		if tc.ok {
			assert.NoError(t, err, "%q", tc.in)
		} else {
			assert.ErrorIs(t, err, ErrMalformed, "%q", tc.in)
		}
	}
}

// BenchmarkCheckText is the check every written and read line passes,
// on a line the size of a quote.
func BenchmarkCheckText(b *testing.B) {
	line := "The best way to predict the future is to invent it. -- Alan Kay, at a meeting of PARC's staff, 1971"
	for b.Loop() {
		if err := checkText(line); err != nil {
			b.Fatal(err)
		}
	}
}

// Buffered holds what was read past the lines returned, and nothing once
// it is consumed.
func TestReaderBuffered(t *testing.T) {
	r := NewReader(strings.NewReader("SOLUTION x\nearly"))
	_, err := r.ReadLine()
	require.NoError(t, err)
	assert.Equal(t, "early", string(r.Buffered()))
	_, err = r.ReadLine()
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.Empty(t, r.Buffered())
}

// A gate's reply: PROCEED with the upstream's name, a refusal, or a QUOTE
// from a server that is no gate; a quote client told PROCEED knows why.
func TestParseProceed(t *testing.T) {
	l, err := Proceed{Upstream: "ssh"}.Line()
	require.NoError(t, err)
	assert.Equal(t, "PROCEED ssh\n", string(l))
	p, err := ParseProceed("PROCEED ssh")
	require.NoError(t, err)
	assert.Equal(t, "ssh", p.Upstream)
	_, err = ParseProceed("QUOTE hello — someone")
	assert.ErrorIs(t, err, ErrNotGate)
	_, err = ParseProceed("ERROR upstream connection refused")
	var perr *Error
	require.ErrorAs(t, err, &perr)
	assert.Equal(t, CodeUpstream, perr.Code)
	for _, bad := range []string{"PROCEED", "PROCEED a b", "PROCEED  a", "NOPE x"} {
		_, err = ParseProceed(bad)
		assert.ErrorIs(t, err, ErrMalformed, bad)
	}
	_, err = ParseReply("PROCEED ssh")
	assert.ErrorIs(t, err, ErrNotQuote)
	_, err = Proceed{}.Line()
	assert.ErrorIs(t, err, ErrMalformed, "an empty upstream name")
}
