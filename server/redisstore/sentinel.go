package redisstore

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// SentinelScheme starts a spent store URL that names a Valkey or Redis
// Sentinel set rather than one server.
const SentinelScheme = "redis+sentinel://"

// maxSentinels bounds the addresses of one URL.
const maxSentinels = 64

// ParseSentinelURL parses a Sentinel spent store URL,
//
//	redis+sentinel://[[user]:password@]host:port[,host:port...]/master[/db]
//
// into go-redis failover options: the sentinels' addresses, the name they
// monitor the primary under, and the primary's database (0 when left
// out). The user and password (percent-encoded where needed) are the
// primary's and its replicas'; the sentinels are asked without any. It is
// strict: no query, fragment, space or control character, at least one
// and at most 64 sentinels, each once, each a host (an IP address, IPv6 in
// brackets, or a DNS name) and a port 1..65535, a master name of letters,
// digits, '.', '_' and '-', and a decimal db. Its errors never contain the
// password.
func ParseSentinelURL(s string) (*redis.FailoverOptions, error) {
	rest, ok := strings.CutPrefix(s, SentinelScheme)
	if !ok {
		return nil, fmt.Errorf("want %s[[user]:password@]host:port[,host:port...]/master[/db]", SentinelScheme)
	}
	for _, r := range rest {
		if r <= ' ' || r >= 0x7f {
			return nil, errors.New("a space, control or non-ASCII character: percent-encode it in the password, nowhere else is it allowed")
		}
	}
	if strings.ContainsAny(rest, "?#") {
		return nil, errors.New("no query (?) or fragment (#) is understood")
	}
	authority, path, ok := strings.Cut(rest, "/")
	if strings.Contains(path, "@") {
		// Most likely a password with a '/' in it: say so without
		// quoting anything that may be part of it.
		return nil, errors.New("an @ after the first /: percent-encode '/' and '@' in a password")
	}
	if !ok {
		return nil, errors.New("no /master after the sentinels' addresses")
	}
	opt := &redis.FailoverOptions{}
	if i := strings.LastIndexByte(authority, '@'); i >= 0 {
		user, pass, ok := strings.Cut(authority[:i], ":")
		if !ok {
			return nil, errors.New("the part before @ must be [user]:password")
		}
		var err1, err2 error
		opt.Username, err1 = url.PathUnescape(user)
		opt.Password, err2 = url.PathUnescape(pass)
		switch {
		case err1 != nil:
			return nil, errors.New("the user has a malformed %-escape")
		case err2 != nil:
			return nil, errors.New("the password has a malformed %-escape")
		case opt.Password == "":
			return nil, errors.New("an empty password: leave out [user]:password@ for none")
		}
		authority = authority[i+1:]
	}
	if authority == "" {
		return nil, errors.New("no sentinel address")
	}
	addrs := strings.Split(authority, ",")
	if len(addrs) > maxSentinels {
		return nil, fmt.Errorf("%d sentinel addresses: at most %d", len(addrs), maxSentinels)
	}
	seen := make(map[string]bool, len(addrs))
	for _, a := range addrs {
		addr, err := parseHostPort(a)
		if err != nil {
			return nil, fmt.Errorf("sentinel address %q: %w", a, err)
		}
		if seen[addr] {
			return nil, fmt.Errorf("sentinel address %q listed twice", a)
		}
		seen[addr] = true
		opt.SentinelAddrs = append(opt.SentinelAddrs, addr)
	}
	master, db, hasDB := strings.Cut(path, "/")
	if master == "" {
		return nil, errors.New("no master name after the sentinels' addresses")
	}
	for _, r := range master {
		if !isNameChar(r) {
			return nil, fmt.Errorf("master name %q: want letters, digits, '.', '_' and '-'", master)
		}
	}
	opt.MasterName = master
	if hasDB {
		n, err := strconv.ParseUint(db, 10, 31)
		if err != nil {
			return nil, fmt.Errorf("db %q: want a decimal number", db)
		}
		opt.DB = int(n)
	}
	return opt, nil
}

// parseHostPort checks one host:port and returns it in canonical form.
func parseHostPort(a string) (string, error) {
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return "", errors.New("want host:port, an IPv6 host in brackets")
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil || n == 0 {
		return "", fmt.Errorf("port %q: want 1..65535", port)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip.Zone() != "" {
			return "", errors.New("an IPv6 zone is not supported")
		}
		if ip.Is6() != strings.HasPrefix(a, "[") {
			return "", errors.New("an IPv6 host goes in brackets, an IPv4 one not")
		}
		return net.JoinHostPort(ip.String(), strconv.FormatUint(n, 10)), nil
	}
	if host == "" || len(host) > 253 || strings.HasPrefix(a, "[") {
		return "", fmt.Errorf("host %q: want an IP address or a DNS name", host)
	}
	for _, label := range strings.Split(host, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return "", fmt.Errorf("host %q: want an IP address or a DNS name", host)
		}
		for _, r := range label {
			if !isNameChar(r) || r == '.' {
				return "", fmt.Errorf("host %q: want an IP address or a DNS name", host)
			}
		}
	}
	return net.JoinHostPort(host, strconv.FormatUint(n, 10)), nil
}

func isNameChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-'
}
