// Package powflag is what the commands that run a powtcp server (command
// server, tools/demo) say alike on their command lines: -difficulty, whose
// default depends on -alg. This is the one place that says how.
package powflag

import (
	"flag"
	"fmt"

	"github.com/powtcp/powtcp/hashcash"
	"github.com/powtcp/powtcp/server/powserver"
)

// DefaultDifficulty is -difficulty when it is not set: hashBits with a hash
// (sha256, sha1), and the Equi-X default (hashcash.Equix.DefaultBits) with
// equix, whose every bit costs far more. Command server's hashBits is the
// hashes' own default, hashcash.SHA256.DefaultBits.
func DefaultDifficulty(alg hashcash.Alg, hashBits int) int {
	if alg == hashcash.Equix {
		return alg.DefaultBits()
	}
	return hashBits
}

// Difficulty is a -difficulty flag whose default depends on -alg.
type Difficulty struct {
	fs       *flag.FlagSet
	bits     *int
	hashBits int
}

// DeclareDifficulty declares -difficulty on fs, into *bits, with what as
// the start of its usage ("base difficulty"); hashBits is its default with
// a hash (DefaultDifficulty). After fs.Parse, Resolve sets the default for
// the -alg given.
func DeclareDifficulty(fs *flag.FlagSet, bits *int, hashBits int, what string) *Difficulty {
	fs.IntVar(bits, "difficulty", hashBits, fmt.Sprintf("%s in leading zero bits, 0..%d (default %d); with -alg equix 0..%d (default %d)",
		what, powserver.MaxDifficulty, hashBits, powserver.MaxEquixDifficulty, DefaultDifficulty(hashcash.Equix, hashBits)))
	return &Difficulty{fs: fs, bits: bits, hashBits: hashBits}
}

// Resolve sets the difficulty to alg's default (DefaultDifficulty) unless
// -difficulty was set, on the command line or by fs.Set (from an
// environment variable, say).
func (d *Difficulty) Resolve(alg hashcash.Alg) {
	set := false
	d.fs.Visit(func(f *flag.Flag) { set = set || f.Name == "difficulty" })
	if !set {
		*d.bits = DefaultDifficulty(alg, d.hashBits)
	}
}
