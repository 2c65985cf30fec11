package hashcash

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Limits on stamps. Parse and ParsePrefix check the length of their input
// before they look at anything else.
const (
	MaxStampLen   = 512 // whole stamp, bytes
	MaxCounterLen = 128 // counter field, bytes
	MaxBits       = 64  // largest bits value accepted anywhere

	// MaxPrefixLen is the longest challenge ParsePrefix accepts: it leaves
	// room for a counter of MaxCounterLen bytes within MaxStampLen.
	MaxPrefixLen = MaxStampLen - MaxCounterLen

	// MaxResourceLen is the longest resource field accepted anywhere.
	MaxResourceLen = 256
)

// Stamp is a parsed hashcash v1 stamp,
//
//	1:bits:date:resource:ext:rand:counter
//
// The version field is always 1 and not stored. A Stamp holds the raw field
// text, so String reproduces exactly the stamp it was parsed from.
type Stamp struct {
	Bits     int    // claimed number of leading zero bits, 0..MaxBits
	Date     string // UTC, YYMMDD, YYMMDDhhmm or YYMMDDhhmmss
	Resource string // what the stamp was minted for; no ':'
	Ext      string // extension; names the hash: "" (SHA-1) or "sha256"
	Rand     string // random salt, alphabet [A-Za-z0-9+/=]
	Counter  string // the solver's counter, alphabet [A-Za-z0-9+/=]; empty in a challenge
}

// Parse parses a full stamp. It is strict: exactly seven fields, version 1,
// bits in decimal without leading zeros and at most MaxBits, a valid date,
// printable ASCII in resource and ext, and non-empty rand and counter from
// the base64 alphabet, the counter at most MaxCounterLen bytes. Errors wrap
// ErrMalformed.
func Parse(s string) (Stamp, error) {
	if len(s) > MaxStampLen {
		return Stamp{}, fmt.Errorf("stamp longer than %d bytes: %w", MaxStampLen, ErrMalformed)
	}
	st, err := parseFields(s)
	if err != nil {
		return Stamp{}, err
	}
	if st.Counter == "" {
		return Stamp{}, fmt.Errorf("empty counter: %w", ErrMalformed)
	}
	if len(st.Counter) > MaxCounterLen {
		return Stamp{}, fmt.Errorf("counter longer than %d bytes: %w", MaxCounterLen, ErrMalformed)
	}
	if !isBase64(st.Counter) {
		return Stamp{}, fmt.Errorf("counter has a character outside [A-Za-z0-9+/=]: %w", ErrMalformed)
	}
	return st, nil
}

// ParsePrefix parses a challenge: a stamp without its counter, ending in
// ':'. It is as strict as Parse and accepts at most MaxPrefixLen bytes.
func ParsePrefix(s string) (Stamp, error) {
	if len(s) > MaxPrefixLen {
		return Stamp{}, fmt.Errorf("challenge longer than %d bytes: %w", MaxPrefixLen, ErrMalformed)
	}
	st, err := parseFields(s)
	if err != nil {
		return Stamp{}, err
	}
	if st.Counter != "" {
		return Stamp{}, fmt.Errorf("challenge has a counter (want it to end in ':'): %w", ErrMalformed)
	}
	return st, nil
}

// parseFields splits s into its seven fields and checks all but the
// counter. It does not allocate unless it fails.
func parseFields(s string) (Stamp, error) {
	var f [7]string
	rest := s
	for i := range 6 {
		var ok bool
		f[i], rest, ok = strings.Cut(rest, ":")
		if !ok {
			return Stamp{}, fmt.Errorf("%d fields, want 7: %w", i+1, ErrMalformed)
		}
	}
	if strings.Contains(rest, ":") {
		return Stamp{}, fmt.Errorf("more than 7 fields: %w", ErrMalformed)
	}
	f[6] = rest

	if f[0] != "1" {
		return Stamp{}, fmt.Errorf("version %.8q, want 1: %w", f[0], ErrMalformed)
	}
	bits, err := parseBits(f[1])
	if err != nil {
		return Stamp{}, err
	}
	if _, err := parseDate(f[2]); err != nil {
		return Stamp{}, err
	}
	if err := ValidateResource(f[3]); err != nil {
		return Stamp{}, err
	}
	if !isPrintable(f[4]) {
		return Stamp{}, fmt.Errorf("ext has a space, control or non-ASCII character: %w", ErrMalformed)
	}
	if f[5] == "" || !isBase64(f[5]) {
		return Stamp{}, fmt.Errorf("rand empty or has a character outside [A-Za-z0-9+/=]: %w", ErrMalformed)
	}
	return Stamp{Bits: bits, Date: f[2], Resource: f[3], Ext: f[4], Rand: f[5], Counter: f[6]}, nil
}

// ValidateResource reports whether s can be the resource field of a stamp:
// at most MaxResourceLen bytes of printable ASCII other than ':' (no space).
// It may be empty. Errors wrap ErrMalformed.
func ValidateResource(s string) error {
	if len(s) > MaxResourceLen {
		return fmt.Errorf("resource longer than %d bytes: %w", MaxResourceLen, ErrMalformed)
	}
	if !isPrintable(s) {
		return fmt.Errorf("resource has a space, control or non-ASCII character: %w", ErrMalformed)
	}
	return nil
}

// parseBits parses a decimal bits field: no sign, no leading zeros,
// 0..MaxBits.
func parseBits(s string) (int, error) {
	if s == "" || len(s) > 2 || (len(s) == 2 && s[0] == '0') {
		return 0, fmt.Errorf("bits %.8q not a number 0..%d without leading zeros: %w", s, MaxBits, ErrMalformed)
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("bits %.8q not a number: %w", s, ErrMalformed)
		}
		n = n*10 + int(c-'0')
	}
	if n > MaxBits {
		return 0, fmt.Errorf("bits %d over %d: %w", n, MaxBits, ErrMalformed)
	}
	return n, nil
}

// parseDate parses a UTC date of the form YYMMDD, YYMMDDhhmm or
// YYMMDDhhmmss. Two-digit years 69..99 are 1969..1999 and 00..68 are
// 2000..2068, as with Go's time package.
func parseDate(s string) (time.Time, error) {
	if n := len(s); n != 6 && n != 10 && n != 12 {
		return time.Time{}, fmt.Errorf("date %.16q not YYMMDD[hhmm[ss]]: %w", s, ErrMalformed)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return time.Time{}, fmt.Errorf("date %.16q not YYMMDD[hhmm[ss]]: %w", s, ErrMalformed)
		}
	}
	var v [6]int // year, month, day, hour, minute, second
	for i := 0; 2*i < len(s); i++ {
		v[i] = int(s[2*i]-'0')*10 + int(s[2*i+1]-'0')
	}
	year := 2000 + v[0]
	if v[0] >= 69 {
		year = 1900 + v[0]
	}
	month, day := v[1], v[2]
	if month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || v[3] > 23 || v[4] > 59 || v[5] > 59 {
		return time.Time{}, fmt.Errorf("date %q does not exist: %w", s, ErrMalformed)
	}
	secs := daysSinceEpoch(year, month, day)*86400 + int64(v[3]*3600+v[4]*60+v[5])
	return time.Unix(secs, 0).UTC(), nil
}

// daysIn is the number of days of month (1-12) in year, Gregorian.
func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysSinceEpoch is the number of days from 1970-01-01 to the given
// Gregorian date. It counts in eras of 400 years (146,097 days), with
// years starting in March so that the leap day comes last: what time.Date
// computes, without its time zone lookup, which was 5% of the server's
// CPU per session.
func daysSinceEpoch(year, month, day int) int64 {
	y := int64(year)
	if month <= 2 {
		y--
	}
	era := y / 400 // years here are positive (1969-2068)
	yoe := y - era*400
	m := int64(month)
	if m > 2 {
		m -= 3
	} else {
		m += 9
	}
	doy := (153*m+2)/5 + int64(day) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// appendDate appends t in UTC as YYMMDDhhmmss.
func appendDate(b []byte, t time.Time) []byte {
	t = t.UTC()
	for _, v := range [6]int{t.Year() % 100, int(t.Month()), t.Day(), t.Hour(), t.Minute(), t.Second()} {
		b = append(b, byte('0'+v/10), byte('0'+v%10))
	}
	return b
}

// isPrintable reports whether s is printable ASCII other than space and ':'.
func isPrintable(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c > '~' || c == ':' {
			return false
		}
	}
	return true
}

// isBase64 reports whether s has only characters of the base64 alphabet
// and '=': [A-Za-z0-9+/=].
func isBase64(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '+' || c == '/' || c == '=') {
			return false
		}
	}
	return true
}

// String returns the stamp as text: Prefix followed by Counter.
func (s Stamp) String() string {
	return s.Prefix() + s.Counter
}

// Prefix returns the stamp without its counter,
// "1:bits:date:resource:ext:rand:". It identifies the challenge, so it is
// the key for replay protection.
func (s Stamp) Prefix() string {
	return "1:" + strconv.Itoa(s.Bits) + ":" + s.Date + ":" + s.Resource + ":" + s.Ext + ":" + s.Rand + ":"
}

// Time returns the stamp's date as a UTC time, the start of the second,
// minute or day it names.
func (s Stamp) Time() (time.Time, error) {
	return parseDate(s.Date)
}

// Alg returns the hash algorithm named by the ext field: SHA256 for
// "sha256", SHA1 for "". Any other ext gives an error wrapping ErrAlg.
func (s Stamp) Alg() (Alg, error) {
	return algFromExt(s.Ext)
}
