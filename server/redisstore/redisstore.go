// Package redisstore is a hashcash.SpentStore on Redis or Valkey, so that
// replicas behind one address share one record of redeemed challenges: a
// stamp redeemed at one replica is a replay at every other, and after a
// restart.
//
// Each redeemed challenge is one atomic claim, SET <prefix>spent:<rand> 1 NX
// PXAT <the challenge's signed expiry>, in a script that also keeps the
// owner's share, so one round trip: the key is the challenge's rand field
// (its nonce and MAC tag, unique per challenge), not the whole stamp, and the
// expiry is the one the server's MAC covers (the stamp's date plus the
// TTL), never a TTL from a local clock. The server calls the store only for stamps whose syntax, MAC,
// resource, date and work checked out, so floods and wrong answers cost
// the store nothing.
//
// It fails closed: every call has a deadline, and an unreachable or slow
// server makes Spend return an error (the caller answers "busy"), never a
// quiet success. A call that timed out after it was sent may still be
// carried out when a stalled server resumes, as any write that timed out
// may: that client's retry of the same stamp is then "replayed", and it
// solves a new challenge.
//
// A redis+sentinel:// URL (ParseSentinelURL) names the primary of a
// Sentinel set: go-redis' failover client asks the Sentinels for it and
// follows their failovers, with the same deadlines, so while the primary
// is gone redemptions are refused, and served again once a replica is
// promoted. Replication is asynchronous: a claim the primary answered
// before a replica had it is lost if that primary dies and that replica
// is promoted, and the stamp can be redeemed once more. Config.WaitReplicas
// narrows this: each claim is followed by WAIT in the same round trip, and
// is served only once that many replicas hold it (Sentinel promotes the
// replica with the most data); a claim not acknowledged in time is refused.
// docs/spent-store.md has the details and the costs.
package redisstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/powtcp/powtcp/hashcash"
)

// ErrUnavailable wraps every failure to reach the store or to get an
// answer in time: the redemption is refused, not let through.
var ErrUnavailable = errors.New("spent store unavailable")

// Config configures a Store.
type Config struct {
	// URL is redis://[user:password@]host:port/db, rediss://... for TLS,
	// or unix:///path (go-redis's ParseURL): one server; or
	// redis+sentinel://[[user]:password@]host:port[,host:port...]/master[/db]
	// for the primary that these Sentinels monitor as master, followed
	// through failovers (ParseSentinelURL).
	URL string
	// WaitReplicas, when positive, makes each claim wait (WAIT, in the same
	// round trip) until that many replicas hold it, and refuses the
	// redemption when fewer acknowledge it within half the Timeout: a
	// redemption served is then one that a failover to any of those
	// replicas keeps. 0 (the default) does not wait: asynchronous
	// replication may lose the last claims if the primary dies.
	WaitReplicas int
	// Prefix starts every key, so that several services can share one
	// server: "powtcp:" by default.
	Prefix string
	// Timeout bounds each call, dial included: 50ms by default.
	Timeout time.Duration
	// PoolSize bounds the connections to the server: 32 by default.
	PoolSize int
	// PerOwner bounds one owner's (client address's) entries, 0 for no
	// bound. The count is kept per owner in one key that expires a TTL after
	// the owner's last entry, so an owner redeeming without pause is held
	// to PerOwner per TTL or less.
	PerOwner int
	// TTL is how long an owner's count lives after its last entry: the
	// challenges' lifetime.
	TTL time.Duration
	// Now is the clock of the expiries; time.Now when nil.
	Now func() time.Time
}

// Store is a hashcash.SpentStore on a Redis or Valkey server.
type Store struct {
	cfg     Config
	client  *redis.Client
	latency prometheus.Histogram
	errors  *prometheus.CounterVec
}

var _ hashcash.SpentStore = (*Store)(nil)

// New connects to cfg.URL and checks the server: it must answer PING, and
// where CONFIG GET is allowed its maxmemory-policy must not evict keys
// (an evicted key is a replay). warn says what could not be checked. reg,
// when not nil, gets the store's metrics.
func New(ctx context.Context, cfg Config, reg prometheus.Registerer) (s *Store, warn string, err error) {
	if cfg.Prefix == "" {
		cfg.Prefix = "powtcp:"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 50 * time.Millisecond
	}
	if cfg.PoolSize <= 0 {
		cfg.PoolSize = 32
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.WaitReplicas < 0 {
		return nil, "", fmt.Errorf("spent store: WaitReplicas %d: want 0 or more", cfg.WaitReplicas)
	}
	client, err := newClient(cfg)
	if err != nil {
		return nil, "", fmt.Errorf("spent store %q: %w", redact(cfg.URL), err)
	}
	s = &Store{
		cfg:    cfg,
		client: client,
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "powtcp_spent_store_seconds",
			Help:    "Latency of the shared spent store's calls, one per redeemed challenge.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 8),
		}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "powtcp_spent_store_errors_total",
			Help: "Calls to the shared spent store that failed, by kind: timeout, unreachable, unreplicated (fewer replicas than -spent-store-wait-replicas acknowledged the claim), other. Each refused a redemption with busy.",
		}, []string{"kind"}),
	}
	if reg != nil {
		reg.MustRegister(s.latency, s.errors)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*cfg.Timeout)
	defer cancel()
	if err := s.client.Ping(pctx).Err(); err != nil {
		s.client.Close()
		return nil, "", fmt.Errorf("spent store %s: PING: %w", redact(cfg.URL), err)
	}
	policy, err := s.client.ConfigGet(pctx, "maxmemory-policy").Result()
	switch {
	case err != nil:
		warn = fmt.Sprintf("spent store %s: cannot read maxmemory-policy (%v): make sure it is noeviction, or evicted keys become replays", redact(cfg.URL), err)
	case policy["maxmemory-policy"] != "noeviction":
		s.client.Close()
		return nil, "", fmt.Errorf("spent store %s: maxmemory-policy is %q: it may evict keys, and an evicted key is a replay; set it to noeviction",
			redact(cfg.URL), policy["maxmemory-policy"])
	}
	return s, warn, nil
}

// newClient makes the client of cfg.URL: a failover client that follows
// the Sentinels' primary for a redis+sentinel:// URL, a plain one
// otherwise. Either has the deadline of cfg.Timeout on every dial, read
// and write, and never retries.
func newClient(cfg Config) (*redis.Client, error) {
	if strings.HasPrefix(cfg.URL, SentinelScheme) {
		opt, err := ParseSentinelURL(cfg.URL)
		if err != nil {
			return nil, err
		}
		opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = cfg.Timeout, cfg.Timeout, cfg.Timeout
		opt.PoolSize, opt.PoolTimeout = cfg.PoolSize, cfg.Timeout
		opt.MaxRetries = -1
		return redis.NewFailoverClient(opt), nil
	}
	opt, err := redis.ParseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = cfg.Timeout, cfg.Timeout, cfg.Timeout
	opt.PoolSize, opt.PoolTimeout = cfg.PoolSize, cfg.Timeout
	opt.MaxRetries = -1 // a retry would only make a slow store slower; the client retries
	return redis.NewClient(opt), nil
}

// spendScript is Spend in one round trip and one atomic step: the owner's
// count, then the claim, SET NX PXAT at the challenge's signed expiry,
// then the count again. KEYS: the claim, the owner's count. ARGV: the
// expiry in Unix milliseconds, the owner's share (0: none), the count's
// lifetime in milliseconds. Returns 0 (spent), 1 (replayed), 2 (over share).
var spendScript = redis.NewScript(`
local share = tonumber(ARGV[2])
if share > 0 and tonumber(redis.call('GET', KEYS[2]) or '0') >= share then
  return 2
end
if not redis.call('SET', KEYS[1], '1', 'NX', 'PXAT', ARGV[1]) then
  return 1
end
if share > 0 then
  redis.call('INCR', KEYS[2])
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
end
return 0
`)

// Spend implements hashcash.SpentStore: one atomic claim of the challenge
// until its expiry, within the owner's share, in one round trip.
func (s *Store) Spend(key, owner string, until time.Time) error {
	if !until.After(s.cfg.Now()) {
		return nil // expired: the Minter refuses it anyway, nothing to keep
	}
	claim, err := s.claimKey(key)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Timeout)
	defer cancel()
	start := time.Now()
	defer func() { s.latency.Observe(time.Since(start).Seconds()) }()
	keys := []string{claim, s.cfg.Prefix + "owner:" + owner}
	args := []any{until.UnixMilli(), s.cfg.PerOwner, s.cfg.TTL.Milliseconds()}
	var r int
	if s.cfg.WaitReplicas > 0 {
		r, err = s.spendWait(ctx, keys, args)
	} else {
		r, err = spendScript.Run(ctx, s.client, keys, args...).Int()
	}
	switch {
	case err != nil:
		return s.fail(err)
	case r == 1:
		return hashcash.ErrReplayed
	case r == 2:
		return hashcash.ErrOverShare
	}
	return nil
}

// errUnreplicated is a claim that fewer replicas than WaitReplicas
// acknowledged in time.
var errUnreplicated = errors.New("unreplicated")

// spendWait runs the script and WAIT in one pipeline, so one round trip
// on one connection (WAIT waits for the writes of its own connection):
// EVALSHA, and EVAL when the server does not have the script yet (a
// primary promoted by a failover, whose script cache starts empty). A
// claim made but not acknowledged by WaitReplicas replicas is refused
// with errUnreplicated; it stays on the primary, so the client's retry of
// the same stamp is a replay there.
func (s *Store) spendWait(ctx context.Context, keys []string, args []any) (int, error) {
	wait := max(s.cfg.Timeout/2, time.Millisecond)
	for _, eval := range []bool{false, true} {
		pipe := s.client.Pipeline()
		var r *redis.Cmd
		if eval {
			r = spendScript.Eval(ctx, pipe, keys, args...)
		} else {
			r = spendScript.EvalSha(ctx, pipe, keys, args...)
		}
		acked := pipe.Do(ctx, "wait", s.cfg.WaitReplicas, wait.Milliseconds())
		_, _ = pipe.Exec(ctx) // each command's error is read below
		n, err := r.Int()
		if !eval && redis.HasErrorPrefix(err, "NOSCRIPT") {
			continue
		}
		if err != nil {
			return 0, err
		}
		if n != 0 {
			return n, nil // nothing written: replayed or over the share
		}
		got, err := acked.Int64()
		if err != nil {
			return 0, err
		}
		if got < int64(s.cfg.WaitReplicas) {
			return 0, fmt.Errorf("%w: %d of %d replicas acknowledged the claim", errUnreplicated, got, s.cfg.WaitReplicas)
		}
		return 0, nil
	}
	panic("unreachable")
}

// claimKey is the store key of a challenge: the prefix and its rand field.
func (s *Store) claimKey(challenge string) (string, error) {
	st, err := hashcash.ParsePrefix(challenge)
	if err != nil {
		return "", fmt.Errorf("spent store: %w", err)
	}
	return s.cfg.Prefix + "spent:" + st.Rand, nil
}

// fail counts err by kind and wraps it in ErrUnavailable.
func (s *Store) fail(err error) error {
	kind := "other"
	var ne interface{ Timeout() bool }
	var oe *net.OpError
	switch {
	case errors.Is(err, errUnreplicated):
		kind = "unreplicated"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		kind = "timeout"
	case errors.As(err, &oe) && oe.Op == "dial", errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.Is(err, io.EOF), errors.Is(err, redis.ErrClosed):
		kind = "unreachable"
	}
	s.errors.WithLabelValues(kind).Inc()
	return fmt.Errorf("%w: %s: %v", ErrUnavailable, kind, err)
}

// Ping reports whether the store answers now, within the call deadline:
// the server's /readyz is 503 while it does not.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	if err := s.client.Ping(ctx).Err(); err != nil {
		return s.fail(err)
	}
	return nil
}

// Close closes the connections.
func (s *Store) Close() error { return s.client.Close() }

// redact hides a URL's password.
func redact(url string) string {
	if i, j := strings.Index(url, "://"), strings.LastIndex(url, "@"); i >= 0 && j > i {
		if k := strings.Index(url[i+3:j], ":"); k >= 0 {
			return url[:i+3+k+1] + "xxxxx" + url[j:]
		}
	}
	return url
}
