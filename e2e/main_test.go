// Package e2e runs the real server and client binaries against each other
// and speaks the protocol to the server from the test.
//
// Under Bazel the binaries are data dependencies found through runfiles:
// the go_test sets serverRlocation and clientRlocation with x_defs to
// $(rlocationpath //server) and $(rlocationpath //client). Under plain
// `go test` those are empty and TestMain builds both binaries once, with
// -race when the test itself has it.
package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/bazelbuild/rules_go/go/runfiles"
	"go.uber.org/goleak"
)

// Set by Bazel (x_defs); empty under plain go test.
var serverRlocation, clientRlocation string

// binaries are the programs under test.
type binaries struct {
	server, client string
}

// bins is set once by TestMain, before any test runs, and only read after.
var bins binaries

func TestMain(m *testing.M) {
	b, cleanup, err := locateBinaries()
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		os.Exit(1)
	}
	bins = b
	// goleak fails the run when a goroutine outlives the tests; the
	// temporary binaries are removed either way.
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		cleanup()
		os.Exit(code)
	}))
}

// locateBinaries finds the binaries through runfiles under Bazel and
// otherwise builds them into a temporary directory that cleanup removes.
func locateBinaries() (b binaries, cleanup func(), err error) {
	if serverRlocation != "" || clientRlocation != "" {
		if b.server, err = runfiles.Rlocation(serverRlocation); err != nil {
			return b, nil, fmt.Errorf("server binary %q: %w", serverRlocation, err)
		}
		if b.client, err = runfiles.Rlocation(clientRlocation); err != nil {
			return b, nil, fmt.Errorf("client binary %q: %w", clientRlocation, err)
		}
		for _, p := range []string{b.server, b.client} {
			if _, err := os.Stat(p); err != nil {
				return b, nil, fmt.Errorf("runfiles: %w", err)
			}
		}
		return b, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "powtcp-e2e-")
	if err != nil {
		return b, nil, err
	}
	cleanup = func() { os.RemoveAll(dir) }
	if err := build(dir); err != nil {
		cleanup()
		return b, nil, err
	}
	exe := ""
	if runtime.GOOS == "windows" {
		exe = ".exe"
	}
	return binaries{server: filepath.Join(dir, "server"+exe), client: filepath.Join(dir, "client"+exe)}, cleanup, nil
}

// build runs `go build` on ./server and ./client of this module into dir.
func build(dir string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	gocmd, err := exec.LookPath("go") // go test puts its own first on PATH
	if err != nil {
		return err
	}
	out, err := exec.CommandContext(ctx, gocmd, "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return errors.New("not inside the powtcp module: run go test from the repository, or under Bazel")
	}
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "./server", "./client")
	cmd := exec.CommandContext(ctx, gocmd, args...)
	cmd.Dir = filepath.Dir(gomod)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}
