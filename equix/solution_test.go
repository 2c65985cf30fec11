package equix

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSolutionWireForm(t *testing.T) {
	s := Solution{0x0098, 0x3a4d, 0xc489, 0xcfba, 0x7ef3, 0xa498, 0xa00f, 0xec20}
	b, err := s.AppendBinary([]byte{0xff})
	require.NoError(t, err)
	require.Equal(t, []byte{0xff, 0x98, 0x00, 0x4d, 0x3a, 0x89, 0xc4, 0xba, 0xcf,
		0xf3, 0x7e, 0x98, 0xa4, 0x0f, 0xa0, 0x20, 0xec}, b)
	got, err := SolutionFromBytes(b[1:])
	require.NoError(t, err)
	require.Equal(t, s, got)
	for _, n := range []int{0, 1, 15, 17, 32} {
		_, err := SolutionFromBytes(make([]byte, n))
		require.Error(t, err, "%d bytes", n)
	}
}

func FuzzSolutionFromBytes(f *testing.F) {
	f.Add(make([]byte, SolutionSize))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := SolutionFromBytes(b)
		if len(b) != SolutionSize {
			require.Error(t, err)
			return
		}
		require.NoError(t, err)
		again, err := s.AppendBinary(nil)
		require.NoError(t, err)
		require.Equal(t, b, again)
	})
}
