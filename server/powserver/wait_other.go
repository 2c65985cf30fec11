//go:build !unix

package powserver

import "net"

// waitAnswer reads the answer's first byte where reading a socket
// directly is not supported; see wait_unix.go.
func waitAnswer(conn net.Conn, pool *inboxes) (*inbox, error) { return waitAnswerByte(conn, pool) }

// answerWait is the state of one wait for an answer; see wait_unix.go.
type answerWait struct{}

func (*answerWait) wait(conn net.Conn, pool *inboxes) (*inbox, error) {
	return waitAnswerByte(conn, pool)
}
