package hashcash_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/powtcp/powtcp/hashcash"
)

// A server issues a challenge, a client solves it, and the server verifies
// the solution and spends it so that it cannot be replayed.
func Example() {
	const resource = "127.0.0.1@powtcp"
	m, err := hashcash.NewMinter(hashcash.MinterConfig{
		Key:     []byte("at least 16 bytes, the same on every replica"),
		TTL:     time.Minute,
		MaxSkew: 5 * time.Second,
	})
	if err != nil {
		log.Fatal(err)
	}
	spent := hashcash.NewMemoryStore(100_000, 1_000, nil) // at most 1,000 per client

	// Server.
	challenge := m.Challenge(12, resource)

	// Client.
	res, err := hashcash.Solve(context.Background(), challenge, hashcash.SolveOptions{})
	if err != nil {
		log.Fatal(err)
	}

	// Server.
	for range 2 {
		st, expires, err := m.Verify(res.Stamp, resource)
		if err == nil {
			err = spent.Spend(st.Prefix(), "192.0.2.7", expires) // the client
		}
		switch {
		case err == nil:
			fmt.Println("accepted")
		case errors.Is(err, hashcash.ErrReplayed):
			fmt.Println("replay refused")
		default:
			fmt.Println("refused:", err)
		}
	}
	// Output:
	// accepted
	// replay refused
}

// Check accepts stamps of the reference hashcash tool, here the one from
// its manual page.
func ExampleCheck() {
	stamp := "1:24:040806:foo::511801694b4cd6b0:1e7297a"
	st, err := hashcash.Check(stamp, hashcash.Policy{
		Alg:      hashcash.SHA1,
		MinBits:  20,
		Resource: "foo",
		Now:      time.Date(2004, 8, 6, 12, 0, 0, 0, time.UTC),
		MaxAge:   48 * time.Hour,
	})
	fmt.Println(st.Bits, hashcash.ZeroBits(hashcash.SHA1, stamp), err)

	_, err = hashcash.Check(stamp, hashcash.Policy{Alg: hashcash.SHA1, MinBits: 28})
	fmt.Println(errors.Is(err, hashcash.ErrBits))
	// Output:
	// 24 24 <nil>
	// true
}
