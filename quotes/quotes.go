// Package quotes is powtcp's content: the collection of quotes from which a
// client that solved its proof of work receives one.
//
// Default returns the collection built into the binary (quotes.txt); Load
// reads an operator's file in the same format, and Parse reads any reader.
//
// # Format
//
// A quotes file is UTF-8 text with one quote per line:
//
//	# A comment. Blank lines and lines starting with '#' are skipped.
//	Well done is better than well said.|Benjamin Franklin
//
// Each other line is the text, exactly one '|', then the author. Spaces
// around either part are trimmed and neither may be empty, so a text cannot
// start with '#'. Because a quote travels on a single protocol line, text and
// author may contain no control characters (tabs included), no line or
// paragraph separators and no byte order mark. Lines end in "\n" or "\r\n"; a
// byte order mark at the very start of the file is skipped. The same text may
// not appear twice.
//
// Input is bounded before it is parsed: at most [MaxFileBytes] a file (Load
// checks the size before reading), [MaxLineBytes] a line and [MaxQuotes]
// quotes. So a [Quote.String] is at most [MaxStringBytes] long.
//
// # Errors
//
// Parse and Load wrap one of three sentinels, with the line number (and
// for Load the path) in the message: [ErrEmpty] for input without quotes,
// [ErrMalformed] for a line that breaks the format, [ErrTooLarge] for input
// over a limit. Load also returns the error of opening the file, so
// errors.Is(err, fs.ErrNotExist) tells a missing file.
package quotes

import (
	_ "embed"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on input, checked before any quote is kept.
const (
	MaxFileBytes = 1 << 20 // bytes in a file
	MaxLineBytes = 512     // bytes in a line, without its "\n" or "\r\n"
	MaxQuotes    = 10_000  // quotes in a collection

	// MaxStringBytes bounds len(q.String()) for every quote of a Collection:
	// a line's '|' (1 byte) becomes " — " (5 bytes).
	MaxStringBytes = MaxLineBytes + len(separator) - 1
)

// separator goes between text and author in Quote.String.
const separator = " — "

// Sentinel errors; the errors returned wrap them with detail.
var (
	ErrEmpty     = errors.New("no quotes")
	ErrMalformed = errors.New("malformed quote")
	ErrTooLarge  = errors.New("too large")
)

// Quote is one quote and who said or wrote it.
type Quote struct {
	Text, Author string
}

// String returns the quote as a single line: "Text — Author".
func (q Quote) String() string {
	return q.Text + separator + q.Author
}

// Collection is a non-empty set of distinct quotes. It is immutable, so safe
// for concurrent use. Get one from Default, Load or Parse; the zero value is
// empty and Random panics on it.
type Collection struct {
	quotes []Quote
}

// Len returns the number of quotes.
func (c *Collection) Len() int {
	return len(c.quotes)
}

// Random returns a quote chosen uniformly at random.
func (c *Collection) Random() Quote {
	return c.quotes[rand.IntN(len(c.quotes))]
}

// All returns a copy of the quotes in file order.
func (c *Collection) All() []Quote {
	return slices.Clone(c.quotes)
}

//go:embed quotes.txt
var defaultText string

// Default returns the collection built into the binary. It parses the
// embedded file on each call; callers keep the result.
func Default() *Collection {
	c, err := parse(defaultText)
	if err != nil {
		// The tests parse the same file, so this is a build mistake.
		panic("quotes: embedded quotes.txt: " + err.Error())
	}
	return c
}

// Load reads a quotes file. A regular file's size is checked before it is
// read.
func Load(path string) (*Collection, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load quotes: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("load quotes: %w", err)
	}
	if fi.Mode().IsRegular() && fi.Size() > MaxFileBytes {
		return nil, fmt.Errorf("load quotes %s: %w: %d bytes, limit %d", path, ErrTooLarge, fi.Size(), MaxFileBytes)
	}
	c, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("load quotes %s: %w", path, err)
	}
	return c, nil
}

// Parse reads quotes in the package's format from r, reading at most one
// byte more than MaxFileBytes.
func Parse(r io.Reader) (*Collection, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	return parse(string(data))
}

func parse(s string) (*Collection, error) {
	if len(s) > MaxFileBytes {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, MaxFileBytes)
	}
	s = strings.TrimPrefix(s, "\uFEFF")
	var quotes []Quote
	lineOf := make(map[string]int) // text -> line number, to refuse duplicates
	n := 0
	for line := range strings.Lines(s) {
		n++
		line = strings.TrimSuffix(line, "\n")
		line = strings.TrimSuffix(line, "\r")
		if len(line) > MaxLineBytes {
			return nil, fmt.Errorf("line %d: %w: %d bytes, limit %d", n, ErrTooLarge, len(line), MaxLineBytes)
		}
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		q, reason := parseLine(line)
		if reason == "" {
			if first, ok := lineOf[q.Text]; ok {
				reason = fmt.Sprintf("same text as line %d", first)
			}
		}
		if reason != "" {
			return nil, fmt.Errorf("line %d: %w: %s", n, ErrMalformed, reason)
		}
		if len(quotes) == MaxQuotes {
			return nil, fmt.Errorf("line %d: %w: more than %d quotes", n, ErrTooLarge, MaxQuotes)
		}
		lineOf[q.Text] = n
		quotes = append(quotes, q)
	}
	if len(quotes) == 0 {
		return nil, ErrEmpty
	}
	return &Collection{quotes: quotes}, nil
}

// parseLine parses a trimmed, non-comment line. It returns the reason the
// line is malformed, or "".
func parseLine(line string) (Quote, string) {
	if !utf8.ValidString(line) {
		return Quote{}, "not valid UTF-8"
	}
	text, author, ok := strings.Cut(line, "|")
	if !ok {
		return Quote{}, `no "|" between text and author`
	}
	if strings.Contains(author, "|") {
		return Quote{}, `more than one "|"`
	}
	q := Quote{Text: strings.TrimSpace(text), Author: strings.TrimSpace(author)}
	if reason := checkField("text", q.Text); reason != "" {
		return Quote{}, reason
	}
	if reason := checkField("author", q.Author); reason != "" {
		return Quote{}, reason
	}
	return q, ""
}

// checkField returns why a valid UTF-8 text or author cannot be sent on one
// protocol line, or "".
func checkField(name, s string) string {
	if s == "" {
		return "empty " + name
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.In(r, unicode.Zl, unicode.Zp) || r == '\uFEFF' {
			return fmt.Sprintf("%s contains %U", name, r)
		}
	}
	return ""
}
