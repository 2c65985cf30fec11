package powflag

import (
	"flag"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/powtcp/powtcp/hashcash"
)

func TestDifficulty(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		set  string // fs.Set before Parse, as from an environment variable
		alg  hashcash.Alg
		want int
	}{
		{"sha256 default", nil, "", hashcash.SHA256, 14},
		{"sha1 default", nil, "", hashcash.SHA1, 14},
		{"equix default", nil, "", hashcash.Equix, hashcash.Equix.DefaultBits()},
		{"set on the command line", []string{"-difficulty", "3"}, "", hashcash.Equix, 3},
		{"zero stays zero", []string{"-difficulty", "0"}, "", hashcash.Equix, 0},
		{"set by fs.Set", nil, "5", hashcash.Equix, 5},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			var bits int
			d := DeclareDifficulty(fs, &bits, 14, "base difficulty")
			if tt.set != "" {
				require.NoError(t, fs.Set("difficulty", tt.set))
			}
			require.NoError(t, fs.Parse(tt.args))
			d.Resolve(tt.alg)
			assert.Equal(t, tt.want, bits)
		})
	}
	assert.Equal(t, 20, DefaultDifficulty(hashcash.SHA256, hashcash.SHA256.DefaultBits()))
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	DeclareDifficulty(fs, new(int), 20, "base difficulty")
	assert.Contains(t, fs.Lookup("difficulty").Usage, "(default 20); with -alg equix 0..11")
}
