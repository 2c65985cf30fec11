package hashcash

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/powtcp/powtcp/equix"
)

// MinKeyLen is the shortest MAC key NewMinter accepts.
const MinKeyLen = 16

// MaxVerifyKeys bounds MinterConfig.VerifyKeys: a forged stamp costs Verify
// one HMAC per key.
const MaxVerifyKeys = 7

// The rand field of a challenge is base64.RawStdEncoding(nonce || tag):
// 12 + 18 bytes, 40 characters with no partial group, so every valid rand
// field has exactly one encoding.
const (
	nonceLen = 12 // random per challenge
	tagLen   = 18 // HMAC-SHA-256 truncated to 144 bits
	randLen  = (nonceLen + tagLen) / 3 * 4
)

// macLabel starts every MAC'd message, so that a MAC of this package cannot
// be mistaken for one the same key made for something else.
const macLabel = "hashcash challenge v1\x00"

// MinterConfig configures a Minter.
type MinterConfig struct {
	Key []byte // MAC key, at least MinKeyLen bytes; share it between replicas
	// VerifyKeys are further keys whose challenges verify too, for key
	// rotation: Key mints, and a key being retired stays here until its
	// challenges expired. At most MaxVerifyKeys, each at least MinKeyLen.
	VerifyKeys [][]byte
	Alg        Alg              // hash of issued challenges; zero means SHA256
	TTL        time.Duration    // how long a challenge stays valid after its date; > 0
	MaxSkew    time.Duration    // tolerated future date (clock skew between replicas); >= 0
	Now        func() time.Time // clock, safe for concurrent use; nil means time.Now
}

// A Minter issues stateless, unforgeable challenges and verifies their
// solutions. Its rand field carries a random nonce and an HMAC-SHA-256 of
// the fields the server chose, so a Minter, or another one with the same
// key, recognizes its own challenges without storing them. A Minter is safe
// for concurrent use.
type Minter struct {
	alg     Alg
	ttl     time.Duration
	maxSkew time.Duration
	now     func() time.Time
	// macs has a pool of *macState per key, the minting key first (HMACs
	// are not safe for concurrent use); SetKeys replaces the whole list.
	macs atomic.Pointer[[]*sync.Pool]
	// verifyEquix checks Equi-X solutions: equix.Verify (tests count its
	// calls).
	verifyEquix equixVerifier
}

// macState is an HMAC with scratch buffers, used by one call at a time.
type macState struct {
	h   hash.Hash
	msg []byte // the MAC'd message
	out []byte // the challenge being built, or the rand field being decoded
	sum []byte
}

// NewMinter returns a Minter for cfg, or an error if cfg is invalid.
func NewMinter(cfg MinterConfig) (*Minter, error) {
	if len(cfg.Key) < MinKeyLen {
		return nil, fmt.Errorf("hashcash: key of %d bytes, want at least %d", len(cfg.Key), MinKeyLen)
	}
	if cfg.Alg == 0 {
		cfg.Alg = SHA256
	}
	if !cfg.Alg.valid() {
		return nil, fmt.Errorf("hashcash: unknown %v", cfg.Alg)
	}
	if cfg.TTL <= 0 {
		return nil, errors.New("hashcash: TTL must be positive")
	}
	if cfg.MaxSkew < 0 {
		return nil, errors.New("hashcash: MaxSkew must not be negative")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	m := &Minter{alg: cfg.Alg, ttl: cfg.TTL, maxSkew: cfg.MaxSkew, now: cfg.Now, verifyEquix: equix.Verify}
	if err := m.SetKeys(cfg.Key, cfg.VerifyKeys); err != nil {
		return nil, err
	}
	return m, nil
}

// SetKeys replaces the minting key and the further keys that verify, as
// MinterConfig's Key and VerifyKeys, at once: a call under way uses either
// the old keys or the new ones. It is how a running server rotates keys
// (a reload). On an error the keys are unchanged.
func (m *Minter) SetKeys(key []byte, verify [][]byte) error {
	if len(key) < MinKeyLen {
		return fmt.Errorf("hashcash: key of %d bytes, want at least %d", len(key), MinKeyLen)
	}
	if len(verify) > MaxVerifyKeys {
		return fmt.Errorf("hashcash: %d verify keys, want at most %d", len(verify), MaxVerifyKeys)
	}
	var macs []*sync.Pool
	for i, k := range append([][]byte{key}, verify...) {
		if len(k) < MinKeyLen {
			return fmt.Errorf("hashcash: verify key %d of %d bytes, want at least %d", i, len(k), MinKeyLen)
		}
		key := append([]byte(nil), k...)
		macs = append(macs, &sync.Pool{New: func() any {
			return &macState{
				h:   hmac.New(sha256.New, key),
				msg: make([]byte, 0, len(macLabel)+MaxStampLen),
				out: make([]byte, 0, MaxStampLen),
				sum: make([]byte, 0, sha256.Size),
			}
		}})
	}
	m.macs.Store(&macs)
	return nil
}

// Challenge returns a new challenge (a stamp prefix ending in ':') asking
// for bits leading zero bits on resource:
//
//	1:bits:YYMMDDhhmmss:resource:ext:rand:
//
// with the current UTC time, the Minter's ext, and a rand field of a fresh
// nonce and the MAC. Challenge panics if bits is outside 0..MaxBits or
// ValidateResource rejects resource (a ':' in it, for example): both are
// chosen by the server, so either is a programming error.
func (m *Minter) Challenge(bits int, resource string) string {
	if bits < 0 || bits > MaxBits {
		panic("hashcash: Challenge with bits " + strconv.Itoa(bits) + " outside 0.." + strconv.Itoa(MaxBits))
	}
	if err := ValidateResource(resource); err != nil {
		panic("hashcash: Challenge: " + err.Error())
	}
	mint := (*m.macs.Load())[0]
	ms := mint.Get().(*macState)
	defer mint.Put(ms)

	var date [12]byte
	hdr := appendHeader(ms.out[:0], bits, string(appendDate(date[:0], m.now())), resource, m.alg.Ext())
	var raw [nonceLen + tagLen]byte
	rand.Read(raw[:nonceLen]) // never fails; crashes the program if the OS has no randomness
	copy(raw[nonceLen:], ms.tag(hdr, raw[:nonceLen]))
	ms.out = append(base64.RawStdEncoding.AppendEncode(hdr, raw[:]), ':')
	return string(ms.out)
}

// Verify checks a solved stamp against what this Minter (or one with the
// same key) issued for resource. In order, cheapest first, so that junk
// costs the server little: syntax (ErrMalformed), ext (ErrAlg), MAC
// (ErrForged), resource (ErrResource), date within [now-TTL, now+MaxSkew]
// (ErrExpired, ErrFuture), then the hash, which must have at least the
// issued bits (ErrBits), and for Equix last of all, so that only stamps
// that passed everything else reach its tens of microseconds, the Equi-X
// solution in the counter (ErrBits wrapping the equix error).
//
// It returns the parsed stamp and the time the challenge expires. Verify
// does not record the stamp: to accept each challenge once, spend
// st.Prefix() until that time in a SpentStore.
func (m *Minter) Verify(stamp, resource string) (st Stamp, expires time.Time, err error) {
	st, err = Parse(stamp)
	if err != nil {
		return Stamp{}, time.Time{}, err
	}
	if st.Ext != m.alg.Ext() {
		return Stamp{}, time.Time{}, fmt.Errorf("ext %.16q, want %q for %v: %w", st.Ext, m.alg.Ext(), m.alg, ErrAlg)
	}
	if !m.validMAC(st) {
		return Stamp{}, time.Time{}, fmt.Errorf("MAC does not match: %w", ErrForged)
	}
	if st.Resource != resource {
		return Stamp{}, time.Time{}, fmt.Errorf("resource %q, want %q: %w", st.Resource, resource, ErrResource)
	}
	issued, err := st.Time()
	if err != nil {
		return Stamp{}, time.Time{}, err
	}
	expires = issued.Add(m.ttl)
	now := m.now()
	if now.After(expires) {
		return Stamp{}, time.Time{}, fmt.Errorf("expired at %v, now %v: %w", expires, now.UTC(), ErrExpired)
	}
	if issued.After(now.Add(m.maxSkew)) {
		return Stamp{}, time.Time{}, fmt.Errorf("dated %v, more than %v after %v: %w", issued, m.maxSkew, now.UTC(), ErrFuture)
	}
	if n := ZeroBits(m.alg, stamp); n < st.Bits {
		return Stamp{}, time.Time{}, fmt.Errorf("hash has %d leading zero bits, want %d: %w", n, st.Bits, ErrBits)
	}
	if m.alg == Equix {
		if err := verifyEquix(stamp, st, m.verifyEquix); err != nil {
			return Stamp{}, time.Time{}, err
		}
	}
	return st, expires, nil
}

// validMAC reports whether st's rand field is a nonce and the MAC of st's
// header fields with that nonce, under any of the Minter's keys.
func (m *Minter) validMAC(st Stamp) bool {
	if len(st.Rand) != randLen {
		return false
	}
	var src [randLen]byte
	var raw [nonceLen + tagLen]byte
	copy(src[:], st.Rand)
	if n, err := base64.RawStdEncoding.Decode(raw[:], src[:]); err != nil || n != len(raw) {
		return false
	}
	for _, pool := range *m.macs.Load() {
		ms := pool.Get().(*macState)
		hdr := appendHeader(ms.out[:0], st.Bits, st.Date, st.Resource, st.Ext)
		ok := hmac.Equal(ms.tag(hdr, raw[:nonceLen]), raw[nonceLen:])
		ms.out = hdr
		pool.Put(ms)
		if ok {
			return true
		}
	}
	return false
}

// appendHeader appends the fields the server chooses, "1:bits:date:resource:ext:".
func appendHeader(b []byte, bits int, date, resource, ext string) []byte {
	b = append(b, "1:"...)
	b = strconv.AppendInt(b, int64(bits), 10)
	b = append(b, ':')
	b = append(b, date...)
	b = append(b, ':')
	b = append(b, resource...)
	b = append(b, ':')
	b = append(b, ext...)
	return append(b, ':')
}

// tag returns the truncated HMAC of macLabel || header || nonce. The
// header's fields cannot contain ':' and the nonce has a fixed length, so
// the message determines the fields.
func (ms *macState) tag(header, nonce []byte) []byte {
	ms.msg = append(append(append(ms.msg[:0], macLabel...), header...), nonce...)
	ms.h.Reset()
	ms.h.Write(ms.msg)
	ms.sum = ms.h.Sum(ms.sum[:0])
	return ms.sum[:tagLen]
}
