package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"time"

	"github.com/pires/go-proxyproto"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"golang.org/x/term"

	"github.com/powtcp/powtcp/hashx"
	"github.com/powtcp/powtcp/quotes"
	"github.com/powtcp/powtcp/server/gate"
	"github.com/powtcp/powtcp/server/powserver"
	"github.com/powtcp/powtcp/server/redisstore"
)

// run serves until ctx is done, then shuts down gracefully. In order:
// the engine and its dependencies, the protocol listener, the admin
// listener, serving, shutdown.
func run(ctx context.Context, cfg config) error {
	log, err := newLogger(cfg.LogFormat, cfg.LogLevel)
	if err != nil {
		return err
	}
	defer log.Sync()
	if cfg.fdNote != "" {
		log.Warn(cfg.fdNote)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	srv, closeStore, err := newServer(ctx, cfg, log, reg)
	if err != nil {
		return err
	}
	defer closeStore()
	// SIGHUP is caught from here on, before the address file says the
	// server is up.
	reloadCtx, stopReload := context.WithCancel(ctx)
	defer stopReload()
	newReloader(cfg, srv, log, reg).start(reloadCtx)

	ln, err := listen(ctx, cfg)
	if err != nil {
		return err
	}
	log.Info("listening", zap.Stringer("addr", ln.Addr()), zap.String("upstream", cfg.Gate.Upstream), zap.Int("difficulty", cfg.Server.Difficulty),
		zap.Int("max_conns", cfg.Server.MaxConns), zap.Bool("shared_spent_store", cfg.Server.Spent != nil),
		zap.Stringer("alg", cfg.Server.Alg), zap.Bool("shared_key", cfg.Server.Key != nil),
		zap.String("hashx", hashx.Engine())) // how Equi-X answers are checked: verification interprets, solving compiles where it can

	admin, adminDone, err := startAdmin(cfg, srv, reg, log)
	if err != nil {
		ln.Close()
		return err
	}

	serveDone := make(chan error, 1)
	go func() { serveDone <- srv.Serve(ctx, ln) }()
	var serveErr error
	select {
	case <-ctx.Done():
		serveErr = <-serveDone
	case serveErr = <-serveDone:
	case err := <-adminDone:
		serveErr = fmt.Errorf("admin server: %w", err)
		adminDone <- err // for the shutdown below
	}
	if errors.Is(serveErr, context.Canceled) || errors.Is(serveErr, powserver.ErrServerClosed) {
		serveErr = nil
	}

	start := time.Now()
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	shutdownErr := srv.Shutdown(sctx)
	if admin != nil {
		_ = admin.Shutdown(sctx) // Serve's error below says what matters; past the deadline its connections close at exit
		if err := <-adminDone; err != nil && !errors.Is(err, http.ErrServerClosed) && serveErr == nil {
			serveErr = fmt.Errorf("admin server: %w", err)
		}
	}
	log.Info("stopped", zap.Duration("shutdown", time.Since(start)), zap.NamedError("shutdown_error", shutdownErr),
		zap.Any("summary", srv.Summary()))
	return serveErr
}

// newServer builds the engine from cfg: quotes, the spent store (a Redis
// one, whose close function it returns, unless -spent-store is memory) and
// the descriptor-budget gauge.
func newServer(ctx context.Context, cfg config, log *zap.Logger, reg *prometheus.Registry) (*powserver.Server, func(), error) {
	closeStore := func() {}
	if cfg.QuotesFile != "" {
		q, err := quotes.Load(cfg.QuotesFile)
		if err != nil {
			return nil, closeStore, err
		}
		cfg.Server.Quotes = q
	}
	if cfg.SpentStore != "memory" {
		store, warn, err := redisstore.New(ctx, redisstore.Config{
			URL: cfg.SpentStore, Timeout: cfg.StoreTimeout, WaitReplicas: cfg.WaitReplicas, PerOwner: cfg.Server.ReplayShare(), TTL: cfg.Server.ChallengeTTL,
		}, reg)
		if err != nil {
			return nil, closeStore, err
		}
		closeStore = func() { store.Close() }
		if warn != "" {
			log.Warn(warn)
		}
		cfg.Server.Spent = store
	}
	nets, err := cfg.allowNetworks()
	if err != nil {
		closeStore()
		return nil, func() {}, err
	}
	cfg.Server.AllowNetworks = nets
	if cfg.Gate.Upstream != "" {
		g, err := gate.New(cfg.Gate, log, reg)
		if err != nil {
			closeStore()
			return nil, func() {}, err
		}
		cfg.Server.Handler = g
	}
	if cfg.fdBudget > 0 {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "powtcp_fd_budget",
			Help: "File descriptors client connections may use: RLIMIT_NOFILE less a reserve; -max-conns fits under it. Compare with process_open_fds.",
		}, func() float64 { return float64(cfg.fdBudget) }))
	}
	srv, err := powserver.New(cfg.Server, log, reg)
	if err != nil {
		closeStore()
		return nil, func() {}, err
	}
	return srv, closeStore, nil
}

// listen opens the protocol listener (behind the PROXY protocol reader
// when configured) and writes -addr-file.
func listen(ctx context.Context, cfg config) (net.Listener, error) {
	// No TCP keep-alive on protocol connections: a session lives for
	// milliseconds to seconds and every phase has a deadline, so the probes
	// would never fire, and enabling them costs setsockopt calls on every
	// accepted connection.
	lc := net.ListenConfig{KeepAlive: -1}
	ln, err := lc.Listen(ctx, "tcp", cfg.Addr)
	if err != nil {
		return nil, err
	}
	if cfg.ProxyProtocol {
		ln = proxyListener(ln, cfg.TrustedProxies, cfg.ProxyTimeout)
	}
	if cfg.AddrFile != "" {
		if err := writeFileAtomic(cfg.AddrFile, ln.Addr().String()+"\n"); err != nil {
			ln.Close()
			return nil, fmt.Errorf("-addr-file: %w", err)
		}
	}
	return ln, nil
}

// startAdmin serves /metrics, /healthz, /readyz (and pprof when enabled)
// on -admin-addr. Without one it returns a nil server and a nil channel,
// which is never ready.
func startAdmin(cfg config, srv *powserver.Server, reg *prometheus.Registry, log *zap.Logger) (*http.Server, chan error, error) {
	if cfg.AdminAddr == "" {
		return nil, nil, nil
	}
	aln, err := net.Listen("tcp", cfg.AdminAddr)
	if err != nil {
		return nil, nil, fmt.Errorf("admin listener: %w", err)
	}
	admin := &http.Server{
		Handler:           powserver.AdminHandler(srv, reg, cfg.Pprof),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      60 * time.Second, // pprof profiles take 30s by default
		IdleTimeout:       60 * time.Second,
		ErrorLog:          zap.NewStdLog(log.Named("admin")),
	}
	log.Info("admin listening", zap.Stringer("addr", aln.Addr()), zap.Bool("pprof", cfg.Pprof))
	done := make(chan error, 1)
	go func() { done <- admin.Serve(aln) }()
	return admin, done, nil
}

// newLogger builds the zap logger: JSON, or console when stderr is a
// terminal, unless format says otherwise.
func newLogger(format, level string) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, err
	}
	if format == "" {
		format = "json"
		if term.IsTerminal(int(os.Stderr.Fd())) {
			format = "console"
		}
	}
	zc := zap.NewProductionConfig()
	if format == "console" {
		zc = zap.NewDevelopmentConfig()
	}
	zc.Level = zap.NewAtomicLevelAt(lvl)
	zc.Sampling = nil // the server aggregates its own warnings
	zc.DisableStacktrace = true
	return zc.Build()
}

// writeFileAtomic writes data to path so that a reader never sees a partial file.
func writeFileAtomic(path, data string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(data), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// proxyListener reads a PROXY protocol header (v1 or v2) on each connection
// from a trusted peer, which must send one, and refuses connections from
// anyone else that send one; others are served with their own address. The
// header is read in the session (powserver reads it before admission),
// under timeout, never in the accept loop.
func proxyListener(ln net.Listener, trusted []netip.Prefix, timeout time.Duration) net.Listener {
	return &proxyproto.Listener{
		Listener:          ln,
		ReadHeaderTimeout: timeout,
		ConnPolicy: func(o proxyproto.ConnPolicyOptions) (proxyproto.Policy, error) {
			ap, err := netip.ParseAddrPort(o.Upstream.String())
			if err != nil {
				return proxyproto.REJECT, nil
			}
			for _, p := range trusted {
				if p.Contains(ap.Addr().Unmap()) {
					return proxyproto.REQUIRE, nil
				}
			}
			return proxyproto.REJECT, nil
		},
	}
}
