package systemd

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/powtcp/powtcp/internal/needprog"
)

var (
	//go:embed powtcp@.service
	unit string
	//go:embed example.env
	exampleEnv string
)

// requireEnv makes a missing systemd-analyze a failure instead of a skip;
// .ci/run sets it.
const requireEnv = "POWTCP_REQUIRE_SYSTEMD_ANALYZE"

// execStart is where the unit expects the server binary.
const execStart = "ExecStart=/usr/local/bin/powtcp-server"

// TestVerify runs `systemd-analyze verify` on an instance of the unit. It
// needs no running systemd. verify also checks that ExecStart's program
// exists, so the copy it reads runs /bin/true instead of the server; and it
// only warns about an unknown or malformed setting, so any line it prints
// about the unit fails the test.
func TestVerify(t *testing.T) {
	analyze := needprog.Find(t, "systemd-analyze", requireEnv, "apt-get install systemd")
	require.Equal(t, 1, strings.Count(unit, "\n"+execStart+"\n"), "the unit should have one %s line", execStart)
	dir := t.TempDir()
	rendered := strings.Replace(unit, execStart, "ExecStart=/bin/true", 1)
	path := filepath.Join(dir, "powtcp@example.service")
	require.NoError(t, os.WriteFile(path, []byte(rendered), 0o644))

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, analyze, "verify", "--man=no", path)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	t.Logf("systemd-analyze verify --man=no powtcp@example.service:\n%s", out)
	require.NoError(t, err, "systemd-analyze verify failed:\n%s", out)
	// Lines about other units (a host's own) are not ours to fix.
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		assert.NotContains(t, line, "powtcp@", "systemd-analyze verify warns about the unit")
	}

	// A unit verify must reject, so that this test can fail: a misspelt key.
	bad := filepath.Join(dir, "powtcp@bad.service")
	require.NoError(t, os.WriteFile(bad, []byte(strings.Replace(rendered, "NoNewPrivileges=", "NoNewPrivilege=", 1)), 0o644))
	out, _ = exec.CommandContext(ctx, analyze, "verify", "--man=no", bad).CombinedOutput()
	assert.Contains(t, string(out), "NoNewPrivilege", "systemd-analyze verify does not report an unknown key here:\n%s", out)
}

// TestHardening: the unit keeps the settings README.md promises, and not
// the one that would break Equi-X.
func TestHardening(t *testing.T) {
	settings := map[string][]string{}
	section := ""
	sc := bufio.NewScanner(strings.NewReader(unit))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "["):
			section = line
		default:
			k, v, ok := strings.Cut(line, "=")
			require.True(t, ok, "not a setting: %q", line)
			settings[section+k] = append(settings[section+k], v)
		}
	}
	for k, want := range map[string]string{
		"EnvironmentFile":         "/etc/powtcp/%i.env",
		"DynamicUser":             "yes",
		"NoNewPrivileges":         "yes",
		"ProtectSystem":           "strict",
		"ProtectHome":             "yes",
		"PrivateTmp":              "yes",
		"CapabilityBoundingSet":   "",
		"AmbientCapabilities":     "",
		"RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
		"SystemCallFilter":        "@system-service",
		"LimitNOFILE":             "65536",
	} {
		assert.Equal(t, []string{want}, settings["[Service]"+k], "[Service] %s", k)
	}
	// The HashX compiler (-alg equix) maps executable memory.
	assert.NotContains(t, settings, "[Service]MemoryDenyWriteExecute")
	assert.Equal(t, []string{"multi-user.target"}, settings["[Install]WantedBy"])
}

// TestExampleEnv: the example is what systemd's EnvironmentFile= reads,
// VARIABLE=value lines without shell syntax, and sets each variable once.
func TestExampleEnv(t *testing.T) {
	assignment := regexp.MustCompile(`^#?([A-Z][A-Z0-9_]*)=([^"'$\x60\s]*)$`)
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader([]byte(exampleEnv)))
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if line == "" || (strings.HasPrefix(line, "# ") || line == "#") {
			continue
		}
		m := assignment.FindStringSubmatch(line)
		if !assert.NotNil(t, m, "not VARIABLE=value: %q", line) {
			continue
		}
		assert.False(t, seen[m[1]], "%s twice", m[1])
		seen[m[1]] = true
		if !strings.HasPrefix(line, "#") {
			n++
		}
	}
	assert.Positive(t, n, "the example sets no variable")
	for _, v := range []string{"POWTCP_ADDR", "POW_DIFFICULTY", "POWTCP_UPSTREAM"} {
		assert.True(t, seen[v], "the example does not show %s", v)
	}
}
