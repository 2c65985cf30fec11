package redisstore

import (
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseSentinelURL(t *testing.T) {
	for _, tc := range []struct {
		url, user, pass, master string
		addrs                   []string
		db                      int
	}{
		{url: "redis+sentinel://127.0.0.1:26379/mymaster", master: "mymaster", addrs: []string{"127.0.0.1:26379"}},
		{url: "redis+sentinel://a:1,b.example:2,[::1]:3/m-1.x_y/5", master: "m-1.x_y", db: 5,
			addrs: []string{"a:1", "b.example:2", "[::1]:3"}},
		{url: "redis+sentinel://:p%40ss%3Aw@s1:26379/m", pass: "p@ss:w", master: "m", addrs: []string{"s1:26379"}},
		{url: "redis+sentinel://u:p@w@s1:026379/m/0", user: "u", pass: "p@w", master: "m", addrs: []string{"s1:26379"}},
	} {
		opt, err := ParseSentinelURL(tc.url)
		require.NoError(t, err, tc.url)
		assert.Equal(t, tc.user, opt.Username, tc.url)
		assert.Equal(t, tc.pass, opt.Password, tc.url)
		assert.Equal(t, tc.master, opt.MasterName, tc.url)
		assert.Equal(t, tc.addrs, opt.SentinelAddrs, tc.url)
		assert.Equal(t, tc.db, opt.DB, tc.url)
	}
	for url, want := range map[string]string{
		"redis://h:1/m":                            "want redis+sentinel://",
		"redis+sentinel://h:1":                     "no /master",
		"redis+sentinel://h:1/":                    "no master name",
		"redis+sentinel:///m":                      "no sentinel address",
		"redis+sentinel://h/m":                     "want host:port",
		"redis+sentinel://h:0/m":                   `port "0"`,
		"redis+sentinel://h:65536/m":               `port "65536"`,
		"redis+sentinel://h:x/m":                   `port "x"`,
		"redis+sentinel://h:1,/m":                  `sentinel address ""`,
		"redis+sentinel://h:1,h:1/m":               "listed twice",
		"redis+sentinel://h:1,h:01/m":              "listed twice",
		"redis+sentinel://::1:1/m":                 "want host:port",
		"redis+sentinel://[h]:1/m":                 "want an IP address or a DNS name",
		"redis+sentinel://[127.0.0.1]:1/m":         "in brackets",
		"redis+sentinel://[fe80::1%25eth0]:1/m":    "zone",
		"redis+sentinel://-h:1/m":                  "DNS name",
		"redis+sentinel://a..b:1/m":                "DNS name",
		"redis+sentinel://h:1/m/":                  `db ""`,
		"redis+sentinel://h:1/m/x":                 `db "x"`,
		"redis+sentinel://h:1/m/-1":                `db "-1"`,
		"redis+sentinel://h:1/m/1/2":               `db "1/2"`,
		"redis+sentinel://h:1/m:x":                 "master name",
		"redis+sentinel://h:1/m?db=1":              "no query",
		"redis+sentinel://h:1/m#x":                 "fragment",
		"redis+sentinel://h:1/m x":                 "space",
		"redis+sentinel://h:1/m\x00":               "control",
		"redis+sentinel://h:1/mé":                  "non-ASCII",
		"redis+sentinel://secret@h:1/m":            "[user]:password",
		"redis+sentinel://u:@h:1/m":                "empty password",
		"redis+sentinel://u:sec/ret@h:1/m":         "percent-encode",
		"redis+sentinel://u:%zzsecret@h:1/m":       "malformed",
		"redis+sentinel://u%z:secret@h:1/m":        "malformed",
		"redis+sentinel://" + manyAddrs(65) + "/m": "at most 64",
	} {
		_, err := ParseSentinelURL(url)
		if assert.Error(t, err, url) {
			assert.Contains(t, err.Error(), want, url)
			assert.NotContains(t, err.Error(), "secret", url)
		}
	}
	_, err := ParseSentinelURL("redis+sentinel://" + manyAddrs(64) + "/m")
	assert.NoError(t, err)
}

func manyAddrs(n int) string {
	a := make([]string, n)
	for i := range a {
		a[i] = fmt.Sprintf("h:%d", i+1)
	}
	return strings.Join(a, ",")
}

// escapeAll percent-encodes every byte that is not a letter or digit.
func escapeAll(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if isNameChar(rune(c)) && c != '.' && c != '_' && c != '-' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// A URL that parses names at least one canonical sentinel address and a
// master, and prints back to a URL that parses to the same options.
func FuzzParseSentinelURL(f *testing.F) {
	for _, s := range []string{
		"redis+sentinel://127.0.0.1:26379/mymaster",
		"redis+sentinel://u:p%40w@a:1,b.example:2,[::1]:3/m-1.x_y/5",
		"redis+sentinel://:pw@h:026379/m/0",
		"redis+sentinel://h:1,h:01/m",
		"redis+sentinel://[fe80::1%25eth0]:1/m",
		"redis+sentinel://h:1/m?db=1",
		"redis://h:1/0",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		opt, err := ParseSentinelURL(s)
		if err != nil {
			return
		}
		if opt.MasterName == "" || len(opt.SentinelAddrs) == 0 || len(opt.SentinelAddrs) > maxSentinels || opt.DB < 0 {
			t.Fatalf("%q: %+v", s, opt)
		}
		seen := map[string]bool{}
		for _, a := range opt.SentinelAddrs {
			if _, _, err := net.SplitHostPort(a); err != nil || seen[a] {
				t.Fatalf("%q: address %q", s, a)
			}
			seen[a] = true
		}
		if opt.Password == "" && opt.Username != "" {
			t.Fatalf("%q: a user without a password", s)
		}
		again := SentinelScheme
		if opt.Password != "" {
			again += escapeAll(opt.Username) + ":" + escapeAll(opt.Password) + "@"
		}
		again += strings.Join(opt.SentinelAddrs, ",") + "/" + opt.MasterName + fmt.Sprintf("/%d", opt.DB)
		opt2, err := ParseSentinelURL(again)
		if err != nil {
			t.Fatalf("%q printed back as %q: %v", s, again, err)
		}
		if opt2.Username != opt.Username || opt2.Password != opt.Password || opt2.MasterName != opt.MasterName ||
			opt2.DB != opt.DB || strings.Join(opt2.SentinelAddrs, ",") != strings.Join(opt.SentinelAddrs, ",") {
			t.Fatalf("%q printed back as %q parses to %+v, not %+v", s, again, opt2, opt)
		}
	})
}
