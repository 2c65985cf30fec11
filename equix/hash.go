package equix

import (
	"fmt"

	"github.com/powtcp/powtcp/hashx"
)

// newHash is the HashX function a challenge seeds. Any failure to make it
// (hashx.ErrProgram: the program fails the generator's constraints) makes
// the challenge unusable.
func newHash(challenge []byte) (hasher, error) {
	h, err := hashx.New(challenge)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrChallenge, err)
	}
	return h, nil
}
