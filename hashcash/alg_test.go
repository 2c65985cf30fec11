package hashcash

import (
	"crypto/sha1"
	"crypto/sha256"
	"flag"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseAlg(t *testing.T) {
	tests := []struct {
		give    string
		want    Alg
		wantExt string
		wantErr error
	}{
		{give: "sha256", want: SHA256, wantExt: "sha256"},
		{give: "sha1", want: SHA1, wantExt: ""},
		{give: "equix", want: Equix, wantExt: "equix"},
		{give: "EQUIX", wantErr: ErrAlg},
		{give: "SHA256", wantErr: ErrAlg},
		{give: "", wantErr: ErrAlg},
		{give: "md5", wantErr: ErrAlg},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			got, err := ParseAlg(tt.give)
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.give, got.String())
			assert.Equal(t, tt.wantExt, got.Ext())
			back, err := Stamp{Ext: got.Ext()}.Alg()
			require.NoError(t, err)
			assert.Equal(t, got, back)
		})
	}
}

// Alg is text for flag.TextVar and encoding/json: the names ParseAlg takes.
func TestAlgText(t *testing.T) {
	for _, a := range []Alg{SHA256, SHA1, Equix} {
		b, err := a.MarshalText()
		require.NoError(t, err)
		assert.Equal(t, a.String(), string(b))
		var back Alg
		require.NoError(t, back.UnmarshalText(b))
		assert.Equal(t, a, back)
	}
	_, err := Alg(0).MarshalText()
	assert.ErrorIs(t, err, ErrAlg)
	a := Equix
	assert.ErrorIs(t, a.UnmarshalText([]byte("md5")), ErrAlg)
	assert.Equal(t, Equix, a, "unchanged on error")

	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.TextVar(&a, "alg", SHA256, "")
	assert.Equal(t, SHA256, a, "the default")
	require.NoError(t, fs.Parse([]string{"-alg", "sha1"}))
	assert.Equal(t, SHA1, a)
}

func TestAlgInvalid(t *testing.T) {
	for _, a := range []Alg{0, Equix + 1, 255} {
		assert.NotEqual(t, "", a.Ext(), "%v", a)
		assert.NotEqual(t, "sha256", a.Ext(), "%v", a)
		_, err := Stamp{Ext: a.Ext()}.Alg()
		assert.ErrorIs(t, err, ErrAlg)
		assert.Equal(t, -1, ZeroBits(a, "1:0:260101:r::x:y"))
		assert.Zero(t, a.DefaultBits())
	}
	assert.Equal(t, "sha256, sha1 or equix", AlgNames())
}

// naiveZeroBits counts leading zero bits one bit at a time.
func naiveZeroBits(sum []byte) int {
	for i := 0; i < 8*len(sum); i++ {
		if sum[i/8]>>(7-i%8)&1 == 1 {
			return i
		}
	}
	return 8 * len(sum)
}

// digestWithZeroBits returns a random digest of n bytes with exactly k
// leading zero bits (all zero if k == 8n).
func digestWithZeroBits(r *rand.Rand, n, k int) []byte {
	d := make([]byte, n)
	for i := range d {
		d[i] = byte(r.Uint32())
	}
	for i := 0; i < k; i++ {
		d[i/8] &^= 0x80 >> (i % 8)
	}
	if k < 8*n {
		d[k/8] |= 0x80 >> (k % 8)
	}
	return d
}

func TestLeadingZeroBits(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 7, 8, 9, sha1.Size, sha256.Size} {
		for k := 0; k <= 8*n; k++ {
			for range 20 {
				d := digestWithZeroBits(r, n, k)
				require.Equal(t, k, naiveZeroBits(d), "bad test digest %x", d)
				require.Equal(t, k, LeadingZeroBits(d), "digest %x", d)
			}
		}
	}
	// Random digests, mostly with few zero bits, and every difficulty 0..32
	// crafted above; also digests with random zero-byte runs.
	for range 100000 {
		d := make([]byte, sha256.Size)
		for i := range d {
			d[i] = byte(r.Uint32())
		}
		for i := range r.IntN(6) {
			d[i] = 0
		}
		require.Equal(t, naiveZeroBits(d), LeadingZeroBits(d), "digest %x", d)
	}
}

func TestZeroBits(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 1000 {
		s := "1:0:260101:r::abc:" + string(base64Chars[r.IntN(64)]) + string(base64Chars[r.IntN(64)])
		s256 := sha256.Sum256([]byte(s))
		s1 := sha1.Sum([]byte(s))
		assert.Equal(t, naiveZeroBits(s256[:]), ZeroBits(SHA256, s))
		assert.Equal(t, naiveZeroBits(s1[:]), ZeroBits(SHA1, s))
	}
}

func TestExpectedAttempts(t *testing.T) {
	tests := []struct {
		give int
		want float64
	}{
		{give: -1, want: 1},
		{give: 0, want: 1},
		{give: 1, want: 2},
		{give: 20, want: 1 << 20},
		{give: 64, want: 1 << 32 * float64(1<<32)},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, ExpectedAttempts(tt.give), "bits %d", tt.give)
	}
}

// TestZeroBitsKnown checks stamps whose work is known: the example in the
// package documentation and the one in the reference tool's manual page.
func TestZeroBitsKnown(t *testing.T) {
	assert.Equal(t, 20, ZeroBits(SHA256, "1:20:261125233616:127.0.0.1@powtcp:sha256:y1y9kIkafmk389Jp49/vUq9ytNtLa+FsxbtkTm4F:0000000000000000000000000000000000000000000AAAAAAALtrAAAAAAAAAAAAAAAAAAAAAAAAAAA"))
	assert.Equal(t, 24, ZeroBits(SHA1, "1:24:040806:foo::511801694b4cd6b0:1e7297a"))
}
