package equix

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/powtcp/powtcp/hashx"
)

func FuzzVerify(f *testing.F) {
	for _, tt := range torVectors {
		for _, sol := range tt.want {
			b, _ := sol.AppendBinary(nil)
			f.Add([]byte(tt.challenge), b)
			b[0]++
			f.Add([]byte(tt.challenge), b)
		}
	}
	f.Add([]byte("bsipdp"), make([]byte, SolutionSize))
	f.Add([]byte{}, []byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, challenge, b []byte) {
		var sol Solution
		for i := range min(len(b), SolutionSize) / 2 {
			sol[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
		}
		err := Verify(challenge, sol)
		known := []error{ErrOrder, ErrChallenge, ErrPartialSum, ErrFinalSum}
		if err != nil {
			matched := 0
			for _, k := range known {
				if errors.Is(err, k) {
					matched++
				}
			}
			require.Equal(t, 1, matched, "unexpected error %v", err)
			return
		}
		h, herr := hashx.New(challenge)
		require.NoError(t, herr)
		require.True(t, wireOrdered(sol), "%04x", sol)
		require.True(t, sumsHold(h, sol), "%04x", sol)
	})
}
