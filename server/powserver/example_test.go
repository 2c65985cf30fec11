package powserver_test

import (
	"context"
	"fmt"
	"net"

	"github.com/powtcp/powtcp/hashcash"
	"github.com/powtcp/powtcp/protocol"
	"github.com/powtcp/powtcp/server/powserver"
)

// A Go program puts the proof of work in front of its own service by
// giving the server a Handler: here one that greets each client that
// solved its challenge. The client side is the protocol by hand: read the
// challenge, solve it, send the SOLUTION line, then talk to the service.
func ExampleHandlerFunc() {
	cfg := powserver.DefaultConfig()
	cfg.Difficulty = 8
	cfg.Handler = powserver.HandlerFunc(func(p *powserver.Proven) error {
		_, err := fmt.Fprintf(p.Conn, "WELCOME, you proved %d bits\n", p.Bits)
		return err
	})
	srv, err := powserver.New(cfg, nil, nil)
	if err != nil {
		panic(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(context.Background(), ln) }()
	defer func() {
		if err := srv.Shutdown(context.Background()); err != nil {
			panic(err)
		}
		if err := <-served; err != powserver.ErrServerClosed {
			panic(err)
		}
	}()

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	r := protocol.NewReader(conn)
	ch, err := r.ReadChallenge()
	if err != nil {
		panic(err)
	}
	res, err := hashcash.Solve(context.Background(), ch.Prefix, hashcash.SolveOptions{})
	if err != nil {
		panic(err)
	}
	if err := protocol.Write(conn, protocol.Solution{Stamp: res.Stamp}); err != nil {
		panic(err)
	}
	line, err := r.ReadLine()
	if err != nil {
		panic(err)
	}
	fmt.Println(line)
	// Output: WELCOME, you proved 8 bits
}
