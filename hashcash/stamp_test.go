package hashcash

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	long := "1:8:260101:r::abc:" + strings.Repeat("A", MaxCounterLen)
	tests := []struct {
		name    string
		give    string
		want    Stamp
		wantErr error
	}{
		{
			name: "reference tool",
			give: "1:20:040806:foo::511801694b4cd6b0:1e7297a",
			want: Stamp{Bits: 20, Date: "040806", Resource: "foo", Rand: "511801694b4cd6b0", Counter: "1e7297a"},
		},
		{
			name: "sha256 seconds",
			give: "1:0:261125233616:127.0.0.1@powtcp:sha256:Y3dz+/=:AAA=",
			want: Stamp{Bits: 0, Date: "261125233616", Resource: "127.0.0.1@powtcp", Ext: "sha256", Rand: "Y3dz+/=", Counter: "AAA="},
		},
		{
			name: "minutes, empty resource, max bits",
			give: "1:64:2611252336:::r:c",
			want: Stamp{Bits: 64, Date: "2611252336", Rand: "r", Counter: "c"},
		},
		{
			name: "ext with values",
			give: "1:8:260101:r:a=1,2;b:x:y",
			want: Stamp{Bits: 8, Date: "260101", Resource: "r", Ext: "a=1,2;b", Rand: "x", Counter: "y"},
		},
		{name: "longest counter", give: long, want: Stamp{Bits: 8, Date: "260101", Resource: "r", Rand: "abc", Counter: long[len(long)-MaxCounterLen:]}},

		{name: "empty", give: "", wantErr: ErrMalformed},
		{name: "garbage", give: "hello world", wantErr: ErrMalformed},
		{name: "six fields", give: "1:8:260101:r::abc", wantErr: ErrMalformed},
		{name: "eight fields", give: "1:8:260101:r::abc:x:y", wantErr: ErrMalformed},
		{name: "too long", give: "1:8:260101:r::abc:" + strings.Repeat("A", MaxStampLen), wantErr: ErrMalformed},
		{name: "too long garbage", give: strings.Repeat(":", MaxStampLen+1), wantErr: ErrMalformed},
		{name: "version 0", give: "0:8:260101:r::abc:x", wantErr: ErrMalformed},
		{name: "version 2", give: "2:8:260101:r::abc:x", wantErr: ErrMalformed},
		{name: "empty bits", give: "1::260101:r::abc:x", wantErr: ErrMalformed},
		{name: "bits over max", give: "1:65:260101:r::abc:x", wantErr: ErrMalformed},
		{name: "bits 3 digits", give: "1:100:260101:r::abc:x", wantErr: ErrMalformed},
		{name: "bits leading zero", give: "1:08:260101:r::abc:x", wantErr: ErrMalformed},
		{name: "bits negative", give: "1:-1:260101:r::abc:x", wantErr: ErrMalformed},
		{name: "bits plus", give: "1:+8:260101:r::abc:x", wantErr: ErrMalformed},
		{name: "bits hex", give: "1:0x:260101:r::abc:x", wantErr: ErrMalformed},
		{name: "date short", give: "1:8:2601:r::abc:x", wantErr: ErrMalformed},
		{name: "date 8 digits", give: "1:8:26010112:r::abc:x", wantErr: ErrMalformed},
		{name: "date letters", give: "1:8:26O101:r::abc:x", wantErr: ErrMalformed},
		{name: "date month 13", give: "1:8:261301:r::abc:x", wantErr: ErrMalformed},
		{name: "date day 0", give: "1:8:260100:r::abc:x", wantErr: ErrMalformed},
		{name: "date feb 30", give: "1:8:260230:r::abc:x", wantErr: ErrMalformed},
		{name: "date hour 24", give: "1:8:2601012400:r::abc:x", wantErr: ErrMalformed},
		{name: "date second 60", give: "1:8:260101235960:r::abc:x", wantErr: ErrMalformed},
		{name: "resource space", give: "1:8:260101:a b::abc:x", wantErr: ErrMalformed},
		{name: "resource control", give: "1:8:260101:a\nb::abc:x", wantErr: ErrMalformed},
		{name: "resource non-ascii", give: "1:8:260101:ré::abc:x", wantErr: ErrMalformed},
		{name: "resource too long", give: "1:8:260101:" + strings.Repeat("r", MaxResourceLen+1) + "::abc:x", wantErr: ErrMalformed},
		{name: "ext space", give: "1:8:260101:r:a b:abc:x", wantErr: ErrMalformed},
		{name: "empty rand", give: "1:8:260101:r:::x", wantErr: ErrMalformed},
		{name: "rand alphabet", give: "1:8:260101:r::ab-c:x", wantErr: ErrMalformed},
		{name: "empty counter", give: "1:8:260101:r::abc:", wantErr: ErrMalformed},
		{name: "counter alphabet", give: "1:8:260101:r::abc:x!", wantErr: ErrMalformed},
		{name: "counter newline", give: "1:8:260101:r::abc:x\n", wantErr: ErrMalformed},
		{name: "counter too long", give: long + "A", wantErr: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.give)
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
				assert.Equal(t, Stamp{}, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.give, got.String())
			assert.Equal(t, tt.give[:len(tt.give)-len(got.Counter)], got.Prefix())
		})
	}
}

func TestParsePrefix(t *testing.T) {
	tests := []struct {
		name    string
		give    string
		want    Stamp
		wantErr error
	}{
		{
			name: "challenge",
			give: "1:20:261125233616:127.0.0.1@powtcp:sha256:Y3dz:",
			want: Stamp{Bits: 20, Date: "261125233616", Resource: "127.0.0.1@powtcp", Ext: "sha256", Rand: "Y3dz"},
		},
		{name: "longest", give: "1:8:260101:r::" + strings.Repeat("A", MaxPrefixLen-15) + ":", want: Stamp{Bits: 8, Date: "260101", Resource: "r", Rand: strings.Repeat("A", MaxPrefixLen-15)}},
		{name: "too long", give: "1:8:260101:r::" + strings.Repeat("A", MaxPrefixLen-14) + ":", wantErr: ErrMalformed},
		{name: "has counter", give: "1:8:260101:r::abc:x", wantErr: ErrMalformed},
		{name: "no trailing colon", give: "1:8:260101:r::abc", wantErr: ErrMalformed},
		{name: "garbage", give: "GET / HTTP/1.1", wantErr: ErrMalformed},
		{name: "bad bits", give: "1:99:260101:r::abc:", wantErr: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePrefix(tt.give)
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.give, got.Prefix())
			assert.Equal(t, tt.give, got.String())
		})
	}
}

func TestParseDoesNotAllocate(t *testing.T) {
	s := "1:20:261125233616:127.0.0.1@powtcp:sha256:Y3dzSWf0X0WbNrcNyYn4JYl3m1hZbuPT:AAAAAAAAAAAAAAAAAAAB"
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := Parse(s); err != nil {
			panic(err)
		}
	})
	assert.Zero(t, allocs)
}

func TestStampTime(t *testing.T) {
	tests := []struct {
		give    string
		want    time.Time
		wantErr bool
	}{
		{give: "261125", want: time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)},
		{give: "2611252336", want: time.Date(2026, 11, 25, 23, 36, 0, 0, time.UTC)},
		{give: "261125233616", want: time.Date(2026, 11, 25, 23, 36, 16, 0, time.UTC)},
		{give: "000101", want: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)},
		{give: "680101", want: time.Date(2068, 1, 1, 0, 0, 0, 0, time.UTC)},
		{give: "690101", want: time.Date(1969, 1, 1, 0, 0, 0, 0, time.UTC)},
		{give: "991231235959", want: time.Date(1999, 12, 31, 23, 59, 59, 0, time.UTC)},
		{give: "240229", want: time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)},
		{give: "250229", wantErr: true},
		{give: "261131", wantErr: true},
		{give: "2611252360", wantErr: true},
		{give: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			got, err := Stamp{Date: tt.give}.Time()
			if tt.wantErr {
				assert.ErrorIs(t, err, ErrMalformed)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, time.UTC, got.Location())
		})
	}
}

func TestAppendDate(t *testing.T) {
	loc := time.FixedZone("UTC+5", 5*3600)
	got := appendDate(nil, time.Date(2026, 1, 2, 4, 5, 6, 999, loc))
	assert.Equal(t, "260101230506", string(got))
}

func TestValidateResource(t *testing.T) {
	tests := []struct {
		give    string
		wantErr bool
	}{
		{give: ""},
		{give: "127.0.0.1@powtcp"},
		{give: "user@example.com"},
		{give: "[::1]", wantErr: true},
		{give: "127.0.0.1:8080", wantErr: true},
		{give: "a b", wantErr: true},
		{give: "tab\t", wantErr: true},
		{give: "\x7f", wantErr: true},
		{give: strings.Repeat("r", MaxResourceLen)},
		{give: strings.Repeat("r", MaxResourceLen+1), wantErr: true},
	}
	for _, tt := range tests {
		err := ValidateResource(tt.give)
		if tt.wantErr {
			assert.ErrorIs(t, err, ErrMalformed, "%q", tt.give)
		} else {
			assert.NoError(t, err, "%q", tt.give)
		}
	}
}

// parseDate agrees with time.Date for every day of the stamps' century
// (1969-2068) and refuses what time.Date would normalize.
func TestParseDateMatchesTimeDate(t *testing.T) {
	for d := time.Date(1969, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() < 2069; d = d.AddDate(0, 0, 1) {
		want := d.Add(23*time.Hour + 59*time.Minute + 58*time.Second)
		got, err := parseDate(want.Format("060102150405"))
		if err != nil || !got.Equal(want) {
			t.Fatalf("parseDate(%s) = %v, %v; want %v", want.Format("060102150405"), got, err, want)
		}
	}
	for _, s := range []string{"260230", "250229", "261301", "260001", "260100", "2611252400", "2611251260", "261125120060", "260431"} {
		_, err := parseDate(s)
		assert.ErrorIs(t, err, ErrMalformed, s)
	}
	_, err := parseDate("240229")
	assert.NoError(t, err, "2024 is a leap year")
	_, err = parseDate("000229")
	assert.NoError(t, err, "2000 is a leap year")
}
