// Package wrongwork makes wrong answers to powtcp challenges on purpose: for
// the server's tests, the demo, the load generator and `client -mode`, which
// check that the server refuses each one with its code. Nothing a real
// client does.
package wrongwork

import (
	"context"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"github.com/powtcp/powtcp/equix"
	"github.com/powtcp/powtcp/hashcash"
)

// Mode is what a client answers: an honest solution, or a wrong one.
type Mode int

const (
	Honest Mode = iota
	// ShortWork answers with a counter whose hash misses the difficulty
	// (at difficulty 0, where every counter works, it forges the MAC instead).
	ShortWork
	// Forged answers with a solved stamp whose MAC was changed.
	Forged
	// InvalidEquix answers an Equi-X challenge with a counter whose effort
	// hash has the bits but whose Equi-X solution solves nothing, so that
	// the server's last check, equix.Verify, refuses it (a hash challenge
	// gets ShortWork instead).
	InvalidEquix
)

// modeNames are the Modes' names, as String returns and ParseMode takes.
var modeNames = [...]string{Honest: "honest", ShortWork: "short-work", Forged: "forged", InvalidEquix: "invalid-equix"}

// WrongNames lists the wrong Modes' names for usage messages:
// "short-work, forged or invalid-equix".
func WrongNames() string {
	wrong := modeNames[ShortWork:]
	return strings.Join(wrong[:len(wrong)-1], ", ") + " or " + wrong[len(wrong)-1]
}

func (m Mode) String() string {
	if m < 0 || int(m) >= len(modeNames) {
		return fmt.Sprintf("Mode(%d)", int(m))
	}
	return modeNames[m]
}

// ParseMode returns the Mode of a name that String returns.
func ParseMode(s string) (Mode, error) {
	for m, name := range modeNames {
		if name == s {
			return Mode(m), nil
		}
	}
	return 0, fmt.Errorf("mode %q: want %s", s, strings.Join(modeNames[:], ", "))
}

// Spoil turns the valid stamp solved for prefix into the wrong answer of m
// (Honest returns it as it is).
func (m Mode) Spoil(prefix, stamp string) string {
	switch m {
	case Honest:
		return stamp
	case InvalidEquix:
		if s, ok := Invalid(prefix); ok {
			return s
		}
		fallthrough
	case ShortWork:
		if s, ok := Short(prefix); ok {
			return s
		}
	}
	return FlipMAC(stamp)
}

// Tamper is m as a powclient.Options.Tamper: nil for Honest.
func (m Mode) Tamper() func(prefix, stamp string) string {
	if m == Honest {
		return nil
	}
	return m.Spoil
}

// Short returns prefix with a counter whose hash has fewer leading zero
// bits than the prefix asks for; false when it asks for none, or prefix is
// no challenge. For an Equi-X challenge the counter has the Equi-X shape
// (a nonce and a solution) and its effort hash misses the bits.
func Short(prefix string) (string, bool) {
	st, err := hashcash.ParsePrefix(prefix)
	if err != nil || st.Bits == 0 {
		return "", false
	}
	alg, err := st.Alg()
	if err != nil {
		return "", false
	}
	return search(alg, prefix, func(zeroBits int) bool { return zeroBits < st.Bits }), true
}

// Invalid returns an Equi-X challenge with a counter whose effort hash has
// the bits the prefix asks for but whose Equi-X solution, in canonical
// order, solves nothing; false when prefix is no Equi-X challenge.
func Invalid(prefix string) (string, bool) {
	st, err := hashcash.ParsePrefix(prefix)
	if err != nil {
		return "", false
	}
	if alg, err := st.Alg(); err != nil || alg != hashcash.Equix {
		return "", false
	}
	return search(hashcash.Equix, prefix, func(zeroBits int) bool { return zeroBits >= st.Bits }), true
}

// noSolution is a solution in canonical order that solves (practically)
// no Equi-X challenge.
var noSolution = equix.Solution{0, 1, 2, 3, 4, 5, 6, 7}

// search returns prefix and the first counter whose hash's leading zero
// bits ok accepts: counters in base 36, or for Equi-X nonces counting up
// with noSolution.
func search(alg hashcash.Alg, prefix string, ok func(zeroBits int) bool) string {
	for i := uint64(0); ; i++ {
		s := prefix + strconv.FormatUint(i, 36)
		if alg == hashcash.Equix {
			var nonce hashcash.EquixNonce
			binary.BigEndian.PutUint64(nonce[:], i)
			s = prefix + hashcash.EquixCounter(nonce, noSolution)
		}
		if ok(hashcash.ZeroBits(alg, s)) {
			return s
		}
	}
}

// FlipMAC changes the first character of a stamp's (or prefix's) rand
// field, which holds the server's MAC: the work stays valid, the MAC does
// not. A stamp that does not parse is returned as it is.
func FlipMAC(stamp string) string {
	st, err := hashcash.Parse(stamp)
	if err != nil {
		if st, err = hashcash.ParsePrefix(stamp); err != nil {
			return stamp
		}
	}
	c := "A"
	if strings.HasPrefix(st.Rand, "A") {
		c = "B"
	}
	st.Rand = c + st.Rand[1:]
	if st.Counter == "" {
		return st.Prefix()
	}
	return st.String()
}

// Solve finds, in this goroutine, a counter that gives prefix bits leading
// zero bits under alg: for the few bits of a made-up or lowered challenge.
// For Equix it solves the prefix honestly with hashcash.Solve on one
// worker, for the bits the prefix names (an Equi-X stamp needs a real
// solution); should that fail, the answer has a one-character counter,
// which no server accepts.
func Solve(alg hashcash.Alg, prefix string, bits int) string {
	if alg == hashcash.Equix {
		res, err := hashcash.Solve(context.Background(), prefix, hashcash.SolveOptions{Workers: 1})
		if err != nil {
			return prefix + "A"
		}
		return res.Stamp
	}
	return search(alg, prefix, func(zeroBits int) bool { return zeroBits >= bits })
}
