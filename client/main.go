// Command client fetches quotes from a powtcp server, solving its hashcash
// challenge for each one; or, with -listen or -stdio, forwards connections
// through a powtcp gate (server -upstream) to the service behind it.
//
//	client -addr GATE -listen 127.0.0.1:PORT   # each local connection, one proof each
//	client -addr GATE -stdio                   # stdin/stdout: ssh -o ProxyCommand='client -addr %h:%p -stdio'
//
// Exit codes: 0 every session was served (-stdio: the tunnel ended
// normally; -listen: stopped by a signal); 1 at least one session failed
// (refused by the server, timed out, or a network error; -stdio: the proof
// or the tunnel failed; -listen: the listener failed); 2 bad usage. In the
// forwarding modes, errors and progress go to stderr only.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "client: %v\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := serve(ctx, cfg)
	stop()
	os.Exit(code)
}

// serve runs the mode cfg names and returns the exit code.
func serve(ctx context.Context, cfg config) int {
	var err error
	switch {
	case cfg.Stdio:
		err = stdio(ctx, cfg, os.Stdin, os.Stdout, os.Stderr)
	case cfg.Listen != "":
		err = listen(ctx, cfg, os.Stderr, nil)
	default:
		if run(ctx, cfg, os.Stdout, os.Stderr) > 0 {
			return 1 // each failure was reported
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "client: %v\n", err)
		return 1
	}
	return 0
}
