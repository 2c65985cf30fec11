package hashcash

import (
	"fmt"
	"time"

	"github.com/powtcp/powtcp/equix"
)

// Policy is what Check requires of a stamp.
type Policy struct {
	Alg      Alg           // required hash; zero means SHA256
	MinBits  int           // fewest leading zero bits accepted
	Resource string        // required resource; "" accepts any
	Now      time.Time     // the current time; zero means time.Now()
	MaxAge   time.Duration // oldest date accepted, back from Now; 0 means no limit
	MaxSkew  time.Duration // furthest date accepted, ahead of Now
}

// Check validates a stamp minted by anyone, such as the reference hashcash
// tool, against p. Cheap checks come first and hashing last: syntax
// (ErrMalformed), algorithm (ErrAlg), claimed bits at least p.MinBits
// (ErrBits), resource (ErrResource), date no older than p.MaxAge
// (ErrExpired) and no further ahead than p.MaxSkew (ErrFuture), and finally
// a hash with at least the claimed leading zero bits (ErrBits) and, for
// Equix, a valid Equi-X solution (ErrBits, as in Minter.Verify).
//
// The date of a stamp is rounded down to its resolution: a YYMMDD stamp
// minted late in the day is as old as that day's midnight, so p.MaxAge must
// be generous for such stamps.
//
// Check does not protect against replay; see SpentStore.
//
// Who it is for: a service that takes stamps it did not issue, such as mail
// with X-Hashcash headers minted by the reference tool (the interop test
// checks its stamps with Check). powtcp's server does not call it: it only
// takes its own challenges, which Minter.Verify checks (MAC first, then the
// same date and work checks).
func Check(stamp string, p Policy) (Stamp, error) {
	alg := p.Alg
	if alg == 0 {
		alg = SHA256
	}
	if !alg.valid() {
		return Stamp{}, fmt.Errorf("policy names unknown %v: %w", alg, ErrAlg)
	}
	st, err := Parse(stamp)
	if err != nil {
		return Stamp{}, err
	}
	if st.Ext != alg.Ext() {
		return Stamp{}, fmt.Errorf("ext %.16q, want %q for %v: %w", st.Ext, alg.Ext(), alg, ErrAlg)
	}
	if st.Bits < p.MinBits {
		return Stamp{}, fmt.Errorf("stamp claims %d bits, want at least %d: %w", st.Bits, p.MinBits, ErrBits)
	}
	if p.Resource != "" && st.Resource != p.Resource {
		return Stamp{}, fmt.Errorf("resource %q, want %q: %w", st.Resource, p.Resource, ErrResource)
	}
	t, err := st.Time()
	if err != nil {
		return Stamp{}, err
	}
	now := p.Now
	if now.IsZero() {
		now = time.Now()
	}
	if p.MaxAge > 0 && t.Before(now.Add(-p.MaxAge)) {
		return Stamp{}, fmt.Errorf("dated %v, more than %v before %v: %w", t, p.MaxAge, now.UTC(), ErrExpired)
	}
	if t.After(now.Add(p.MaxSkew)) {
		return Stamp{}, fmt.Errorf("dated %v, more than %v after %v: %w", t, p.MaxSkew, now.UTC(), ErrFuture)
	}
	if n := ZeroBits(alg, stamp); n < st.Bits {
		return Stamp{}, fmt.Errorf("hash has %d leading zero bits, stamp claims %d: %w", n, st.Bits, ErrBits)
	}
	if alg == Equix {
		if err := verifyEquix(stamp, st, equix.Verify); err != nil {
			return Stamp{}, err
		}
	}
	return st, nil
}
