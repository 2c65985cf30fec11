package quotes_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/powtcp/powtcp/quotes"
)

// maxFuzzInput bounds what FuzzParse parses, and its seeds stay short: the
// fuzzer minimizes each new input it keeps with tries quadratic in its length,
// which for a few KiB stalls a short run (quotes.txt as a seed stalled 5s runs
// entirely). The size limits, far above this, are in TestParseErrors.
const maxFuzzInput = 4 << 10

// FuzzParse checks that Parse never panics, fails only with one of its
// sentinels, and that what it accepts is sendable and survives writing it
// back out and parsing it again.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"# Proverbs\nFall seven times, stand up eight.|Proverb (Japanese)\n\n" +
			"Life can only be understood backwards; but it must be lived forwards.|Søren Kierkegaard\r\n",
		"a|b",
		"  a b  |\t c d \r\n# c\n\n",
		"\uFEFF#c\na|b",
		"a|b\n\uFEFFc|d",
		"a|b|c",
		"|b",
		"a|",
		"a\x00|b",
		"a\u2028|b\u0085",
		"\xff|b",
		"a|b\na|c",
		"a|b\r\r\n",
		" \u00a0a\u00a0|\u00a0b",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if len(in) > maxFuzzInput {
			return
		}
		c, err := quotes.Parse(strings.NewReader(in))
		if err != nil {
			assert.True(t,
				errors.Is(err, quotes.ErrEmpty) || errors.Is(err, quotes.ErrMalformed) || errors.Is(err, quotes.ErrTooLarge),
				"error without a sentinel: %v", err)
			return
		}
		all := c.All()
		require.NotEmpty(t, all)
		require.Equal(t, len(all), c.Len())
		for _, q := range all {
			if why := unsendable(q); why != "" {
				t.Fatalf("accepted unsendable quote %q: %s", q, why)
			}
		}

		var out strings.Builder
		for _, q := range all {
			out.WriteString(q.Text + "|" + q.Author + "\n")
		}
		again, err := quotes.Parse(strings.NewReader(out.String()))
		require.NoError(t, err, "re-parse of %q", out.String())
		assert.Equal(t, all, again.All())
	})
}
