// Package protocol is the powtcp wire protocol, specified as code.
//
// powtcp is a line-based UTF-8 text protocol that a person can speak with nc.
// Every message is one line of at most [MaxLineLen] bytes, the terminating
// "\n" included (a "\r\n" ending is accepted too). Fields are separated by
// one space; the last field of QUOTE and ERROR is free text. No line may
// contain control characters. One connection carries one exchange:
//
//	server: POWTCP/1 CHALLENGE <prefix> <window-ms>
//	client: SOLUTION <stamp>
//	server: QUOTE <text>           (the proof checked out)
//	   or:  ERROR <code> <reason>  (it did not, or the server is busy)
//	server closes the connection
//
// The server sends the challenge as soon as it accepts. The first token of
// the challenge line names the protocol version ([Version]); a client that
// does not speak it hangs up with [ErrVersion]. <prefix> is a hashcash v1
// stamp without its counter (see package hashcash), and <window-ms> is how
// many milliseconds the server holds the connection for the answer before
// it gives up with ERROR too-slow. The client appends a counter to the
// prefix such that the hash of the whole stamp starts with the prefix's
// number of zero bits, and sends the stamp back.
//
// A challenge whose ext field is "equix" asks for Equi-X instead: the
// counter is 32 characters of base64 (no padding) of an 8-byte nonce and a
// 16-byte Equi-X solution of the challenge prefix || nonce, and the SHA-256
// of the whole stamp must have the bits; a wrong one is bad-solution.
// PROTOCOL.md, "Equi-X stamps", has the details and an example.
//
// A challenge is not tied to its connection: a client that cannot answer
// within the window closes, finishes solving, connects again from the same
// address within the challenge's lifetime, sends the SOLUTION of the first
// at once, and reads (and ignores) the new challenge before the reply. A calm server's window is
// the solve window sized for a slow client; a loaded server's is a short
// answer window, whatever the difficulty, so that silent connections do not
// hold slots while clients solve. PROTOCOL.md has the details.
//
// An ERROR line may also be the server's first line, when it refuses a
// connection before issuing a challenge (code busy). The codes are stable
// and machine-readable; the reason is for people and may change. See the
// Code constants for their meaning.
//
// Example session (difficulty 8, SHA-256):
//
//	S: POWTCP/1 CHALLENGE 1:8:261126004356:127.0.0.1@powtcp:sha256:74EQ2adLXyaxEWkts2D1hT3ZZu/LVqQ9oJlcmKl8: 2000
//	C: SOLUTION 1:8:261126004356:127.0.0.1@powtcp:sha256:74EQ2adLXyaxEWkts2D1hT3ZZu/LVqQ9oJlcmKl8:00000000000000000000000000000000000000000000ABAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
//	S: QUOTE The dogs bark, but the caravan moves on. — Proverb (Turkish)
package protocol
