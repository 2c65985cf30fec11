package hashcash

import "errors"

// Errors returned by [Parse], [ParsePrefix], [Check], [Minter.Verify] and
// [Solve]. They are wrapped with detail; test for them with [errors.Is].
var (
	// ErrMalformed reports a stamp that is not a well-formed hashcash v1
	// stamp: wrong field count, version other than 1, bad bits or date,
	// a character outside a field's alphabet, or a field or stamp too long.
	ErrMalformed = errors.New("hashcash: malformed stamp")

	// ErrAlg reports a stamp whose ext field names another hash algorithm
	// than the one required, or an algorithm this package does not know.
	ErrAlg = errors.New("hashcash: wrong hash algorithm")

	// ErrForged reports a stamp whose MAC does not match: it is not a
	// challenge this server issued, or one of its fields was changed.
	ErrForged = errors.New("hashcash: forged challenge")

	// ErrResource reports a stamp minted for another resource.
	ErrResource = errors.New("hashcash: wrong resource")

	// ErrExpired reports a stamp dated before the allowed age.
	ErrExpired = errors.New("hashcash: stamp expired")

	// ErrFuture reports a stamp dated further ahead than the allowed skew.
	ErrFuture = errors.New("hashcash: stamp dated in the future")

	// ErrBits reports too little work: fewer claimed bits than required,
	// a hash with fewer leading zero bits than claimed, or an Equi-X stamp
	// whose counter holds no valid Equi-X solution (then the error also
	// wraps the equix package's error, equix.ErrOrder and the like).
	ErrBits = errors.New("hashcash: not enough work")

	// ErrReplayed reports a stamp that was already spent.
	ErrReplayed = errors.New("hashcash: stamp already spent")

	// ErrFull reports a [SpentStore] with no room left for unexpired
	// entries. The caller should answer "busy" and let the client retry.
	ErrFull = errors.New("hashcash: spent store full")

	// ErrOverShare reports an owner that holds its whole share of a
	// [SpentStore]'s unexpired entries: it may spend again as they expire.
	ErrOverShare = errors.New("hashcash: owner's share of the spent store used up")
)
