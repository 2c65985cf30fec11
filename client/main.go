// Command client fetches quotes from a powtcp server, solving its hashcash
// challenge for each one.
//
// Exit codes: 0 every session was served; 1 at least one session failed
// (refused by the server, timed out, or a network error); 2 bad usage.
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
	failed := run(ctx, cfg, os.Stdout, os.Stderr)
	stop()
	if failed > 0 {
		os.Exit(1)
	}
}
