// Package needprog finds a real program that a test runs (promtool,
// systemd-analyze, ...). A machine without it skips the test with a
// message, unless the test's require variable is set (CI sets it), which
// turns the skip into a failure: a missing install step cannot hide.
package needprog

import (
	"os"
	"os/exec"
	"testing"
)

// Find returns the path of name on PATH. Without it, the test fails when
// the variable requireEnv is set and skips otherwise; install says how to
// get it (e.g. "apt-get install prometheus").
func Find(t testing.TB, name, requireEnv, install string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv(requireEnv) != "" {
		t.Fatalf("no %s on PATH, and %s is set: install it (%s; .ci/run does)", name, requireEnv, install)
	}
	t.Skipf("no %s on PATH; install it (%s), or set %s to make this a failure", name, install, requireEnv)
	return ""
}
