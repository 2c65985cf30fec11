package quotes_test

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/powtcp/powtcp/quotes"
)

func TestDefault(t *testing.T) {
	c := quotes.Default()
	all := c.All()
	assert.GreaterOrEqual(t, len(all), 120)
	assert.Equal(t, len(all), c.Len())

	// Duplicates up to case, spacing and punctuation, which the parser's
	// exact comparison would let through.
	seen := make(map[string]quotes.Quote)
	for _, q := range all {
		assert.Empty(t, unsendable(q), "quote %q", q)
		key := strings.Map(func(r rune) rune {
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				return unicode.ToLower(r)
			}
			return -1
		}, q.Text)
		if prev, ok := seen[key]; ok {
			assert.Failf(t, "duplicate quote", "%q and %q", prev, q)
		}
		seen[key] = q
	}
}

// unsendable says, without the package's own code, why q does not fit on
// one protocol line, or returns "". It is plain code rather than assertions
// so that FuzzParse, which calls it for every quote, stays fast.
func unsendable(q quotes.Quote) string {
	for _, s := range []string{q.Text, q.Author} {
		switch {
		case s == "":
			return "empty"
		case strings.TrimSpace(s) != s:
			return "untrimmed"
		case !utf8.ValidString(s):
			return "invalid UTF-8"
		case strings.Contains(s, "|"):
			return "contains the separator"
		case strings.ContainsFunc(s, func(r rune) bool {
			return r < 0x20 || (r >= 0x7f && r < 0xa0) || r == '\u2028' || r == '\u2029' || r == '\uFEFF'
		}):
			return "control character or line break"
		}
	}
	switch {
	case strings.HasPrefix(q.Text, "#"):
		return "text starts a comment"
	case len(q.String()) > quotes.MaxStringBytes:
		return "longer than MaxStringBytes"
	}
	return ""
}

func TestQuoteString(t *testing.T) {
	tests := []struct {
		give quotes.Quote
		want string
	}{
		{give: quotes.Quote{Text: "Know thyself.", Author: "Delphic maxim"}, want: "Know thyself. — Delphic maxim"},
		{give: quotes.Quote{Text: "七転び八起き", Author: "Proverb (Japanese)"}, want: "七転び八起き — Proverb (Japanese)"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.give.String())
	}
}

func TestParse(t *testing.T) {
	maxLine := strings.Repeat("x", quotes.MaxLineBytes-2) + "|y"
	tests := []struct {
		name string
		give string
		want []quotes.Quote
	}{
		{name: "one", give: "a|b", want: []quotes.Quote{{"a", "b"}}},
		{
			name: "comments and blank lines",
			give: "# head\n\na|b\n   \n  # indented comment\nc|d\n",
			want: []quotes.Quote{{"a", "b"}, {"c", "d"}},
		},
		{name: "spaces trimmed", give: "  a b  |\t c d \t\n", want: []quotes.Quote{{"a b", "c d"}}},
		{name: "CRLF", give: "a|b\r\nc|d\r\n", want: []quotes.Quote{{"a", "b"}, {"c", "d"}}},
		{name: "byte order mark", give: "\uFEFF# c\na|b\n", want: []quotes.Quote{{"a", "b"}}},
		{name: "hash inside text", give: "a # b|c#", want: []quotes.Quote{{"a # b", "c#"}}},
		{name: "same text twice up to case", give: "a|b\nA|b", want: []quotes.Quote{{"a", "b"}, {"A", "b"}}},
		{name: "non-ASCII", give: "Ça — va|Søren", want: []quotes.Quote{{"Ça — va", "Søren"}}},
		{name: "longest line", give: maxLine + "\r\n", want: []quotes.Quote{{maxLine[:len(maxLine)-2], "y"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := quotes.Parse(strings.NewReader(tt.give))
			require.NoError(t, err)
			assert.Equal(t, tt.want, c.All())
			assert.Equal(t, len(tt.want), c.Len())
		})
	}
}

func TestParseLimits(t *testing.T) {
	t.Run("most quotes", func(t *testing.T) {
		c, err := quotes.Parse(strings.NewReader(numbered(quotes.MaxQuotes)))
		require.NoError(t, err)
		assert.Equal(t, quotes.MaxQuotes, c.Len())
	})
	t.Run("largest file", func(t *testing.T) {
		give := "a|b\n" + padding(quotes.MaxFileBytes-4)
		require.Len(t, give, quotes.MaxFileBytes)
		c, err := quotes.Parse(strings.NewReader(give))
		require.NoError(t, err)
		assert.Equal(t, 1, c.Len())
	})
}

func TestParseErrors(t *testing.T) {
	tooLong := strings.Repeat("x", quotes.MaxLineBytes-1) + "|y"
	tests := []struct {
		name    string
		give    string
		wantErr error
		wantMsg string
	}{
		{name: "empty", give: "", wantErr: quotes.ErrEmpty, wantMsg: "no quotes"},
		{name: "only comments", give: "# a\n\n  \n#b|c\n", wantErr: quotes.ErrEmpty, wantMsg: "no quotes"},
		{name: "no separator", give: "# c\nno separator\n", wantErr: quotes.ErrMalformed, wantMsg: `line 2: malformed quote: no "|"`},
		{name: "two separators", give: "a|b|c", wantErr: quotes.ErrMalformed, wantMsg: `line 1: malformed quote: more than one "|"`},
		{name: "empty text", give: "a|b\n  |b", wantErr: quotes.ErrMalformed, wantMsg: "line 2: malformed quote: empty text"},
		{name: "empty author", give: "a|b\n\nc|  \n", wantErr: quotes.ErrMalformed, wantMsg: "line 3: malformed quote: empty author"},
		{name: "NUL in text", give: "a\x00b|c", wantErr: quotes.ErrMalformed, wantMsg: "line 1: malformed quote: text contains U+0000"},
		{name: "tab in author", give: "a|b\tc", wantErr: quotes.ErrMalformed, wantMsg: "line 1: malformed quote: author contains U+0009"},
		{name: "lone CR", give: "a\rb|c", wantErr: quotes.ErrMalformed, wantMsg: "line 1: malformed quote: text contains U+000D"},
		{name: "escape", give: "a|b\n\x1b[2Jc|d", wantErr: quotes.ErrMalformed, wantMsg: "line 2: malformed quote: text contains U+001B"},
		{name: "C1 control", give: "a\u0085b|c", wantErr: quotes.ErrMalformed, wantMsg: "line 1: malformed quote: text contains U+0085"},
		{name: "line separator", give: "a\u2028b|c", wantErr: quotes.ErrMalformed, wantMsg: "line 1: malformed quote: text contains U+2028"},
		{name: "inner byte order mark", give: "a|b\n\uFEFFc|d", wantErr: quotes.ErrMalformed, wantMsg: "line 2: malformed quote: text contains U+FEFF"},
		{name: "invalid UTF-8", give: "a\xffb|c", wantErr: quotes.ErrMalformed, wantMsg: "line 1: malformed quote: not valid UTF-8"},
		{name: "duplicate", give: "a|b\nc|d\n a |e", wantErr: quotes.ErrMalformed, wantMsg: "line 3: malformed quote: same text as line 1"},
		{name: "line too long", give: "a|b\n" + tooLong, wantErr: quotes.ErrTooLarge, wantMsg: "line 2: too large: 513 bytes, limit 512"},
		{name: "comment too long", give: "#" + tooLong + "\na|b", wantErr: quotes.ErrTooLarge, wantMsg: "line 1: too large"},
		{name: "too many quotes", give: numbered(quotes.MaxQuotes + 1), wantErr: quotes.ErrTooLarge, wantMsg: "line 10001: too large: more than 10000 quotes"},
		{name: "file too large", give: "a|b\n" + padding(quotes.MaxFileBytes-3), wantErr: quotes.ErrTooLarge, wantMsg: "too large: more than 1048576 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := quotes.Parse(strings.NewReader(tt.give))
			assert.Nil(t, c)
			assert.ErrorIs(t, err, tt.wantErr)
			assert.ErrorContains(t, err, tt.wantMsg)
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		t.Helper()
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
		return path
	}

	t.Run("good", func(t *testing.T) {
		c, err := quotes.Load(write("good.txt", "# mine\nHaste makes waste.|Proverb (English)\n"))
		require.NoError(t, err)
		assert.Equal(t, []quotes.Quote{{"Haste makes waste.", "Proverb (English)"}}, c.All())
	})

	t.Run("embedded file", func(t *testing.T) {
		c, err := quotes.Load("quotes.txt")
		require.NoError(t, err)
		assert.Equal(t, quotes.Default().All(), c.All())
	})

	// A file just over the limit is refused from its size, which only the
	// stat before reading knows exactly; the file is sparse.
	huge := filepath.Join(dir, "huge.txt")
	f, err := os.Create(huge)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(quotes.MaxFileBytes+1))
	require.NoError(t, f.Close())

	tests := []struct {
		name    string
		give    string
		wantErr error
		wantMsg string
	}{
		{name: "missing", give: filepath.Join(dir, "missing.txt"), wantErr: fs.ErrNotExist, wantMsg: "missing.txt"},
		{name: "empty", give: write("empty.txt", ""), wantErr: quotes.ErrEmpty, wantMsg: "empty.txt: no quotes"},
		{name: "only comments", give: write("comments.txt", "# a\n#b\n\n"), wantErr: quotes.ErrEmpty, wantMsg: "comments.txt: no quotes"},
		{
			name:    "malformed",
			give:    write("bad.txt", "# c\na|b\nc|\n"),
			wantErr: quotes.ErrMalformed,
			wantMsg: "bad.txt: line 3: malformed quote: empty author",
		},
		{
			name:    "too large",
			give:    huge,
			wantErr: quotes.ErrTooLarge,
			wantMsg: fmt.Sprintf("huge.txt: too large: %d bytes, limit %d", quotes.MaxFileBytes+1, quotes.MaxFileBytes),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := quotes.Load(tt.give)
			assert.Nil(t, c)
			assert.ErrorIs(t, err, tt.wantErr)
			assert.ErrorContains(t, err, tt.wantMsg)
		})
	}

	t.Run("directory", func(t *testing.T) {
		c, err := quotes.Load(dir)
		assert.Nil(t, c)
		assert.Error(t, err)
	})
}

func TestAllReturnsCopy(t *testing.T) {
	c := mustParse(t, "a|b\nc|d")
	all := c.All()
	all[0] = quotes.Quote{Text: "changed", Author: "changed"}
	assert.Equal(t, []quotes.Quote{{"a", "b"}, {"c", "d"}}, c.All())
}

func TestRandomConcurrent(t *testing.T) {
	c := quotes.Default()
	members := make(map[quotes.Quote]bool)
	for _, q := range c.All() {
		members[q] = true
	}

	const workers, draws = 8, 500
	got := make([][]quotes.Quote, workers)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			for range draws {
				got[i] = append(got[i], c.Random())
			}
		})
	}
	wg.Wait()

	for _, qs := range got {
		require.Len(t, qs, draws)
		for _, q := range qs {
			assert.True(t, members[q], "Random returned %q, not in the collection", q)
		}
	}
}

func TestRandomDistribution(t *testing.T) {
	c := mustParse(t, "a|x\nb|y\nc|z\n")
	const draws = 3000
	counts := make(map[quotes.Quote]int)
	for range draws {
		counts[c.Random()]++
	}
	require.Len(t, counts, 3, "every quote drawn, and nothing else: %v", counts)
	// Each count is binomial with mean 1000 and deviation about 26; a
	// uniform Random falls outside 1000±200 with negligible probability.
	for q, n := range counts {
		assert.InDelta(t, draws/3, n, 200, "draws of %q", q)
	}
}

func mustParse(t *testing.T, s string) *quotes.Collection {
	t.Helper()
	c, err := quotes.Parse(strings.NewReader(s))
	require.NoError(t, err)
	return c
}

// numbered returns n distinct quote lines.
func numbered(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "quote %d|author\n", i)
	}
	return b.String()
}

// padding returns exactly n bytes of comment lines, each within MaxLineBytes.
func padding(n int) string {
	var b strings.Builder
	for n > 0 {
		k := min(n, quotes.MaxLineBytes+1) // the line and its "\n"
		if k == 1 {
			b.WriteString("\n")
		} else {
			b.WriteString("#" + strings.Repeat("-", k-2) + "\n")
		}
		n -= k
	}
	return b.String()
}
