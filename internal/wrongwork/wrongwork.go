// Package wrongwork makes wrong answers to powtcp challenges on purpose: for
// the server's tests, the demo, the load generator and `client -mode`, which
// check that the server refuses each one with its code. Nothing a real
// client does.
package wrongwork

import (
	"fmt"
	"strconv"
	"strings"

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
)

// modeNames are the Modes' names, as String returns and ParseMode takes.
var modeNames = [...]string{Honest: "honest", ShortWork: "short-work", Forged: "forged"}

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
// no challenge.
func Short(prefix string) (string, bool) {
	st, err := hashcash.ParsePrefix(prefix)
	if err != nil || st.Bits == 0 {
		return "", false
	}
	alg, err := st.Alg()
	if err != nil {
		return "", false
	}
	for i := uint64(0); ; i++ {
		s := prefix + strconv.FormatUint(i, 36)
		if hashcash.ZeroBits(alg, s) < st.Bits {
			return s, true
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
func Solve(alg hashcash.Alg, prefix string, bits int) string {
	for i := uint64(0); ; i++ {
		s := prefix + strconv.FormatUint(i, 36)
		if hashcash.ZeroBits(alg, s) >= bits {
			return s
		}
	}
}
