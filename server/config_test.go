package main

import (
	"bytes"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/powtcp/powtcp/hashcash"
	"github.com/powtcp/powtcp/server/powserver"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestParseConfigDefaults(t *testing.T) {
	c, err := parseConfig(nil, env(nil), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, ":10001", c.Addr)
	assert.Equal(t, 20, c.Server.Difficulty)
	assert.Equal(t, hashcash.SHA256, c.Server.Alg)
	assert.Equal(t, time.Minute, c.Server.ChallengeTTL)
	assert.Empty(t, c.AdminAddr, "admin endpoint off by default")
	assert.False(t, c.Pprof)
	assert.Nil(t, c.Server.Key, "random key per start")
}

func TestParseConfigSources(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "key")
	require.NoError(t, os.WriteFile(keyFile, []byte("00112233445566778899aabbccddeeff\n"), 0o600))
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		check func(t *testing.T, c config)
	}{
		{"seed's HOST and PORT", nil, map[string]string{"HOST": "127.0.0.1", "PORT": "9000"}, func(t *testing.T, c config) {
			assert.Equal(t, "127.0.0.1:9000", c.Addr)
		}},
		{"seed's POW_DIFFICULTY and PPROF_ENABLED", nil, map[string]string{"POW_DIFFICULTY": "12", "PPROF_ENABLED": "true", "POWTCP_ADMIN_ADDR": "127.0.0.1:0"}, func(t *testing.T, c config) {
			assert.Equal(t, 12, c.Server.Difficulty)
			assert.True(t, c.Pprof)
		}},
		{"flag wins over env", []string{"-difficulty", "5"}, map[string]string{"POW_DIFFICULTY": "12"}, func(t *testing.T, c config) {
			assert.Equal(t, 5, c.Server.Difficulty)
		}},
		{"sha1 and key file", []string{"-alg", "sha1", "-key-file", keyFile}, nil, func(t *testing.T, c config) {
			assert.Equal(t, hashcash.SHA1, c.Server.Alg)
			assert.Len(t, c.Server.Key, 16)
		}},
		{"equix: its own default difficulty and client rate", []string{"-alg", "equix"}, nil, func(t *testing.T, c config) {
			assert.Equal(t, hashcash.Equix, c.Server.Alg)
			assert.Equal(t, hashcash.Equix.DefaultBits(), c.Server.Difficulty)
			assert.Equal(t, powserver.DefaultConfigFor(hashcash.Equix).ClientHashRate, c.Server.ClientHashRate)
			assert.Less(t, c.Server.ClientHashRate, powserver.DefaultConfig().ClientHashRate, "solutions/s, not hashes/s")
			assert.Equal(t, powserver.DefaultConfig().MaxExtraBits, c.Server.MaxExtraBits)
		}},
		{"equix from the environment, difficulty set", []string{"-difficulty", "1"}, map[string]string{"POW_ALG": "equix", "POW_CLIENT_HASH_RATE": "3"}, func(t *testing.T, c config) {
			assert.Equal(t, hashcash.Equix, c.Server.Alg)
			assert.Equal(t, 1, c.Server.Difficulty)
			assert.Equal(t, 3.0, c.Server.ClientHashRate)
		}},
		{"equix at difficulty 0", []string{"-alg", "equix", "-difficulty", "0"}, nil, func(t *testing.T, c config) {
			assert.Equal(t, 0, c.Server.Difficulty, "a zero stays a zero")
		}},
		{"sentinel spent store, waiting for a replica", nil, map[string]string{
			"POWTCP_SPENT_STORE": "redis+sentinel://:pw@10.0.0.1:26379,10.0.0.2:26379/powtcp/1", "POWTCP_SPENT_STORE_WAIT_REPLICAS": "1",
		}, func(t *testing.T, c config) {
			assert.Equal(t, "redis+sentinel://:pw@10.0.0.1:26379,10.0.0.2:26379/powtcp/1", c.SpentStore)
			assert.Equal(t, 1, c.WaitReplicas)
		}},
		{"durations", []string{"-challenge-ttl", "10s", "-min-solve-window", "1s"}, nil, func(t *testing.T, c config) {
			assert.Equal(t, 10*time.Second, c.Server.ChallengeTTL)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseConfig(tt.args, env(tt.env), io.Discard)
			require.NoError(t, err)
			tt.check(t, c)
		})
	}
}

func TestParseConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"difficulty out of range", []string{"-difficulty", "33"}, nil, "-difficulty 33: want 0..32"},
		{"bad env int", nil, map[string]string{"POW_DIFFICULTY": "hard"}, `POW_DIFFICULTY="hard": not an integer`},
		{"bad alg", []string{"-alg", "md5"}, nil, "md5"},
		{"bad env alg", nil, map[string]string{"POW_ALG": "md5"}, `POW_ALG="md5": unknown algorithm "md5"`},
		{"bad env duration", nil, map[string]string{"POW_CHALLENGE_TTL": "soon"}, `POW_CHALLENGE_TTL="soon": not a duration`},
		{"bad env number", nil, map[string]string{"POW_CLIENT_HASH_RATE": "fast"}, `POW_CLIENT_HASH_RATE="fast": not a number`},
		{"bad env bool", nil, map[string]string{"PPROF_ENABLED": "maybe"}, `PPROF_ENABLED="maybe": not true or false`},
		{"env error names the field's flag", nil, map[string]string{"POWTCP_MAX_CONNS": "0"}, "-max-conns 0: want at least 1"},
		{"short key", []string{"-key", "00ff"}, nil, "2 bytes: want at least 16"},
		{"missing key file", []string{"-key-file", "/nonexistent/key"}, nil, "-key-file"},
		{"bad addr", []string{"-addr", "nope"}, nil, `-addr "nope"`},
		{"pprof without admin", []string{"-pprof"}, nil, "-pprof needs -admin-addr"},
		{"bad log level", []string{"-log-level", "loud"}, nil, "-log-level"},
		{"bad log format", []string{"-log-format", "xml"}, nil, "-log-format"},
		{"window over ttl", []string{"-challenge-ttl", "1s", "-min-solve-window", "2s"}, nil, "-min-solve-window 2s: want at most the challenge TTL 1s"},
		{"per-ip over cap", []string{"-max-conns", "10", "-max-conns-per-ip", "20"}, nil, "-max-conns-per-ip 20: want at most the connection cap 10"},
		{"bad name", []string{"-name", "a:b"}, nil, `-name "a:b"`},
		// Found by an outside test: a long name was accepted, then the first
		// connection crashed the process (resource over 256 bytes).
		{"long name", []string{"-name", strings.Repeat("n", 241)}, nil, "-name of 241 characters: want at most 216"},
		{"empty name", []string{"-name", ""}, map[string]string{"POWTCP_NAME": ""}, `-name "": want a name`},
		{"zero conns", []string{"-max-conns", "0"}, nil, "-max-conns 0: want at least 1"},
		{"zero replay cache", []string{"-replay-cache-size", "0"}, nil, "-replay-cache-size 0: want at least 1"},
		{"zero ttl", []string{"-challenge-ttl", "0s"}, nil, "-challenge-ttl 0s: want a positive duration"},
		{"zero hash rate", []string{"-client-hash-rate", "0"}, nil, "-client-hash-rate 0: want a positive number"},
		{"extra bits below -1", []string{"-max-extra-bits", "-2"}, nil, "-max-extra-bits -2"},
		{"too many bits", []string{"-difficulty", "32", "-max-extra-bits", "9"}, nil, "-max-extra-bits 9: want at most 8"},
		{"equix difficulty out of range", []string{"-alg", "equix", "-difficulty", "12"}, nil, "-difficulty 12: want 0..11 bits with equix"},
		{"equix too many bits", []string{"-alg", "equix", "-difficulty", "11", "-max-extra-bits", "7"}, nil, "-max-extra-bits 7: want at most 6 with difficulty 11 (17 bits in all with equix"},
		{"proxy without trusted peers", []string{"-proxy-protocol"}, nil, "-proxy-protocol needs -trusted-proxies"},
		{"trusted peers without proxy", []string{"-trusted-proxies", "10.0.0.0/8"}, nil, "-trusted-proxies needs -proxy-protocol"},
		{"bad cidr", []string{"-proxy-protocol", "-trusted-proxies", "10.0.0.0/33"}, nil, `"10.0.0.0/33": not a CIDR or an address`},
		{"bad spent store", []string{"-spent-store", "memcached://x"}, nil, `-spent-store "memcached://x": want memory, or a redis://`},
		{"bad sentinel store", []string{"-spent-store", "redis+sentinel://u:secret@h:1,h:1/m"}, nil, `-spent-store (a redis+sentinel:// URL): sentinel address "h:1" listed twice`},
		{"negative wait replicas", []string{"-spent-store", "redis://h:1/0", "-spent-store-wait-replicas", "-1"}, nil, "-spent-store-wait-replicas -1: want 0 or more"},
		{"wait replicas in memory", []string{"-spent-store-wait-replicas", "1"}, nil, "-spent-store-wait-replicas needs a shared -spent-store"},
		{"stray argument", []string{"extra"}, nil, "unexpected arguments"},
		{"unknown flag", []string{"-nope"}, nil, "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseConfig(tt.args, env(tt.env), io.Discard)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// -max-conns fits under the descriptor limit: lowered with a note when it
// is the default, refused when set explicitly above the budget.
func TestFitDescriptors(t *testing.T) {
	c, err := parseConfig(nil, env(nil), io.Discard)
	require.NoError(t, err)
	note, err := fitDescriptors(&c, 1024)
	require.NoError(t, err)
	assert.Equal(t, 1024-fdReserve, c.Server.MaxConns)
	assert.Equal(t, 64, c.Server.MaxConnsPerIP)
	assert.Contains(t, note, "-max-conns lowered from 10000 to 960")

	c, err = parseConfig([]string{"-max-conns", "2000"}, env(nil), io.Discard)
	require.NoError(t, err)
	_, err = fitDescriptors(&c, 1024)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "-max-conns 2000: above the file descriptor budget 960 (RLIMIT_NOFILE 1024")

	c, err = parseConfig(nil, env(map[string]string{"POWTCP_MAX_CONNS": "2000"}), io.Discard)
	require.NoError(t, err)
	_, err = fitDescriptors(&c, 1024)
	assert.Error(t, err, "set by environment is explicit too")

	c, err = parseConfig(nil, env(nil), io.Discard)
	require.NoError(t, err)
	note, err = fitDescriptors(&c, 1<<20)
	require.NoError(t, err)
	assert.Empty(t, note)
	assert.Equal(t, 10000, c.Server.MaxConns, "fits: unchanged")

	note, err = fitDescriptors(&c, 0)
	require.NoError(t, err)
	assert.Empty(t, note, "no limit known")

	c, err = parseConfig(nil, env(nil), io.Discard)
	require.NoError(t, err)
	_, err = fitDescriptors(&c, 100)
	require.NoError(t, err)
	assert.Equal(t, 36, c.Server.MaxConns)
	assert.Equal(t, 36, c.Server.MaxConnsPerIP, "the per-address cap follows")
}

// A key file may hold several keys: the first mints, all verify.
func TestKeyFileRotation(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(text), 0o600))
		return p
	}
	newKey, oldKey := strings.Repeat("ab", 16), strings.Repeat("cd", 16)
	c, err := parseConfig([]string{"-key-file", write("two", "# rolling in\n"+newKey+"\n\n"+oldKey+"\n")}, env(nil), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, bytes.Repeat([]byte{0xab}, 16), c.Server.Key)
	assert.Equal(t, [][]byte{bytes.Repeat([]byte{0xcd}, 16)}, c.Server.VerifyKeys)

	for _, tt := range []struct{ text, want string }{
		{"# nothing\n\n", "no key in it"},
		{newKey + "\nnot-hex\n", "line 2: not hex"},
		{strings.Repeat(newKey+"\n", 9), "9 keys, want at most 8"},
	} {
		_, err := parseConfig([]string{"-key-file", write("bad", tt.text)}, env(nil), io.Discard)
		assert.ErrorContains(t, err, tt.want)
	}
	_, err = parseConfig([]string{"-key-file", write("one", newKey), "-key", oldKey}, env(nil), io.Discard)
	assert.ErrorContains(t, err, "-key and -key-file exclude each other")
}

func TestTrustedProxies(t *testing.T) {
	c, err := parseConfig([]string{"-proxy-protocol", "-trusted-proxies", "10.1.2.3/8, 192.0.2.7,2001:db8::/32"}, env(nil), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32"), netip.MustParsePrefix("2001:db8::/32"),
	}, c.TrustedProxies)
}

// The gate's flags: -upstream makes it one; its tunnels' descriptors are
// kept out of -max-conns' budget; bad tunnel settings name the gate.
func TestGateFlags(t *testing.T) {
	env := func(string) string { return "" }
	c, err := parseConfig([]string{"-upstream", "127.0.0.1:22", "-max-tunnels", "100", "-tunnel-idle-timeout", "1m"}, env, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:22", c.Gate.Upstream)
	assert.Equal(t, 100, c.Gate.MaxTunnels)
	assert.Equal(t, time.Minute, c.Gate.IdleTimeout)
	note, err := fitDescriptors(&c, 1024)
	require.NoError(t, err)
	assert.Equal(t, 1024-fdReserve-200, c.Server.MaxConns, note)

	_, err = parseConfig([]string{"-upstream", "nohostport"}, env, io.Discard)
	assert.ErrorContains(t, err, "upstream")
	_, err = parseConfig([]string{"-upstream", "127.0.0.1:22", "-max-tunnels-per-ip", "0"}, env, io.Discard)
	assert.ErrorContains(t, err, "per address")
	_, err = parseConfig([]string{"-upstream", "127.0.0.1:22", "-quotes", "q.txt"}, env, io.Discard)
	assert.ErrorContains(t, err, "exclude")
}

// The allow-list's file: one network a line, comments and blank lines
// skipped, merged with -allow-networks; a bad line names itself.
func TestAllowNetworksFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "allow")
	require.NoError(t, os.WriteFile(f, []byte("# the office\n192.0.2.0/24\n\n2001:db8::1 # one host\n"), 0o600))
	c := config{AllowFile: f}
	c.Server.AllowNetworks = []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}
	nets, err := c.allowNetworks()
	require.NoError(t, err)
	assert.Equal(t, []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8::1/128")}, nets)
	require.NoError(t, os.WriteFile(f, []byte("192.0.2.0/24\nbogus\n"), 0o600))
	_, err = c.allowNetworks()
	assert.ErrorContains(t, err, "line 2")
}
