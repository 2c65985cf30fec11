package equix

import "errors"

// newHash is HashX for challenge (stub until hashx/ is ready).
func newHash(challenge []byte) (hasher, error) {
	return nil, errors.New("equix: hashx not wired yet")
}
