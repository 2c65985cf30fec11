// Command demo shows powtcp at work in one process: it starts a server on
// 127.0.0.1:0 and runs many clients against it, a fraction of which send
// wrong solutions on purpose (alternately too little work and a forged
// MAC). It prints what each side saw and how long the work took.
//
//	go run ./tools/demo [-clients 50] [-c 8] [-wrong 0.2] [-difficulty 14]
//
// The clients connect from -ips distinct loopback addresses (127.0.0.2 and
// up; Linux routes all of 127.0.0.0/8 to the loopback interface), so the
// server's per-address limits see many clients as they would in production.
// Where those addresses cannot be bound, every client uses 127.0.0.1.
//
// Exit codes: 0 every honest client was served and every wrong one
// refused; 1 otherwise, or the demo failed; 2 bad usage.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"go.uber.org/zap"
)

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		os.Exit(2)
	}
	log := newLogger()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	sum, err := run(ctx, cfg, log)
	stop()
	log.Sync()
	if err == nil {
		sum.print(os.Stdout)
		err = sum.err()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		os.Exit(1)
	}
}

// newLogger logs at info to stderr in zap's console format.
func newLogger() *zap.Logger {
	zc := zap.NewDevelopmentConfig()
	zc.Level = zap.NewAtomicLevelAt(zap.InfoLevel)
	zc.DisableStacktrace = true
	log, err := zc.Build()
	if err != nil {
		return zap.NewNop()
	}
	return log
}
