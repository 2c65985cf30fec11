// Package hashcash implements hashcash v1 proof-of-work stamps: parsing,
// checking, stateless challenges for a server, replay protection, and a fast
// parallel solver.
//
// # Stamps
//
// A hashcash v1 stamp is seven fields separated by ':'
//
//	1:bits:date:resource:ext:rand:counter
//	1:20:261125233616:127.0.0.1@powtcp:sha256:y1y9kIkafmk389Jp49/vUq9ytNtLa+FsxbtkTm4F:0000000000000000000000000000000000000000000AAAAAAALtrAAAAAAAAAAAAAAAAAAAAAAAAAAA
//
// version is 1; bits is the number of leading zero bits the hash of the
// whole stamp must have (at most [MaxBits]); date is the UTC time of minting
// as YYMMDD, YYMMDDhhmm or YYMMDDhhmmss; resource names what the stamp is
// for (printable ASCII without ':', at most [MaxResourceLen] bytes); ext
// names the hash function; rand is a salt and counter is what the solver
// varies, both from the alphabet [A-Za-z0-9+/=]. A stamp is at most
// [MaxStampLen] bytes and its counter at most [MaxCounterLen]. [Parse] and
// [ParsePrefix] are strict about all of this and check the length before
// anything else.
//
// The ext field selects the hash: "sha256" for SHA-256, the default, and an
// empty ext for SHA-1, the hash of the reference hashcash tool, whose stamps
// [Check] accepts with [Policy].Alg set to [SHA1]. SHA-256 is the default
// because SHA-1 is broken for collisions; that does not yet help a solver
// find partial preimages, but a proof of work should not rest on a hash
// that is being retired. Both run at about the same speed where the CPU has
// SHA instructions.
//
// # Equi-X stamps
//
// With ext "equix" ([Equix]) the work is Equi-X, the client puzzle of Tor's
// onion services (package equix): memory-hard (about 1.8 MiB per solver),
// so that a GPU gains little over a CPU core, and checked in tens of
// microseconds. The stamp stays a hashcash v1 stamp, so the MAC, resource,
// date, expiry and replay rules are those of every stamp; only the counter
// and the work differ. The counter is exactly [EquixCounterLen] (32)
// characters,
//
//	base64.RawStdEncoding(nonce[8] || solution[16])
//
// with the solution's eight 16-bit indices little endian. The solution
// must solve the Equi-X challenge prefix || nonce (the stamp's text through
// the ':' after rand, then the 8 raw nonce bytes), and the SHA-256 of the
// whole stamp, the effort hash, must have bits leading zero bits. A nonce
// has about two solutions, so a client expects 2^bits/2 Equi-X solves. A
// counter of another shape, an effort hash short of the bits and a
// solution that equix.Verify refuses are all [ErrBits]. [Minter.Verify]
// checks the effort hash before the Equi-X solution, and that last of all.
//
//	1:1:261203101257:127.0.0.1@powtcp:equix:zPP7bw0ldQ8UexcjH0YHRwi938NIUO7o+MflANir:AAAAAAAAAADuU2lrTYwvwxQzN2/YDjTJ
//
// A challenge (or prefix) is a stamp without its counter, ending in ':'.
// The server sends one; the client finds a counter with [Solve] and sends
// the whole stamp back.
//
// # Stateless challenges
//
// A [Minter] issues challenges that it can verify later without storing
// them. The rand field of a challenge is
//
//	base64.RawStdEncoding(nonce || HMAC-SHA-256(key, label || "1:bits:date:resource:ext:" || nonce)[:18])
//
// with a fresh 12-byte random nonce, so 40 characters, and label a fixed
// string naming this scheme. The MAC covers every field the server chose:
// the version, the bits, the date (to the second), the resource and the ext
// (and so the hash function), and the nonce makes each challenge distinct.
// The fields cannot contain ':' and the nonce has a fixed length, so the
// MAC'd message determines them. Only the counter, the client's field, is
// left out. A client that lowers the bits, moves the date, changes the
// resource or the algorithm, or makes up a challenge gets [ErrForged].
// Replicas that share the key verify each other's challenges.
//
// [Minter.Verify] orders its checks so that junk costs the server little:
// syntax first ([ErrMalformed]), then the ext field ([ErrAlg]), the MAC
// ([ErrForged]), the resource ([ErrResource]) and the date against the
// Minter's TTL and allowed skew ([ErrExpired], [ErrFuture]), and only then
// the one hash of the stamp that checks the work ([ErrBits]), and for an
// Equi-X stamp after it the Equi-X solution. Parsing allocates nothing and
// the MAC is four SHA-256 blocks.
//
// # Replay
//
// A valid stamp stays valid until its challenge expires, so a server must
// accept each challenge once: it spends the prefix ([Stamp.Prefix]) in a
// [SpentStore] until the time Verify returns. [MemoryStore] is a bounded one
// that refuses new entries with [ErrFull] rather than forget unexpired ones.
//
// # Solving
//
// [Solve] splits the counter space between workers: each worker's counter
// starts with a filler that pads the prefix to a whole number of 64-byte
// blocks and ends in the worker's id. The hash state after the filler is
// computed once and restored (crypto/sha256's BinaryUnmarshaler) once per
// round of attempts; each attempt then hashes one more counter byte and
// finishes with Sum on a copy of the state, so it costs one block
// compression and no allocation: as much as sha256.Sum256 of 32 bytes.
//
// For Equi-X, Solve is equix.SolveContext over the nonces 0, 1, 2, ...:
// each worker has its own equix.Solver (HashX compiled to machine code
// where package hashx can), solves one nonce's challenge at a time, and
// the first solution whose effort hash has the bits is taken;
// Result.Attempts counts solutions.
package hashcash
