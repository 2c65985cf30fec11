package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/powtcp/powtcp/quotes"
	"github.com/powtcp/powtcp/server/powserver"
)

// reloader re-reads the files the server was started with on SIGHUP: the
// key file (-key-file: key rotation becomes one edit and one signal per
// step), the quotes file (-quotes) and the allow-list's file
// (-allow-networks-file). Each file is read and checked on
// its own: one that does not parse keeps its old value, and the failure is
// logged and counted (powtcp_reload_errors_total); a reload with no error
// sets powtcp_reload_success_timestamp_seconds.
type reloader struct {
	cfg     config
	srv     *powserver.Server
	log     *zap.Logger
	errs    prometheus.Counter
	success prometheus.Gauge
}

func newReloader(cfg config, srv *powserver.Server, log *zap.Logger, reg prometheus.Registerer) *reloader {
	r := &reloader{
		cfg: cfg, srv: srv, log: log,
		errs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "powtcp_reload_errors_total",
			Help: "Files a reload (SIGHUP) could not read or parse; each kept its old value.",
		}),
		success: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "powtcp_reload_success_timestamp_seconds",
			Help: "When the last reload (SIGHUP) without an error finished, in Unix seconds; the start before any.",
		}),
	}
	r.success.SetToCurrentTime()
	reg.MustRegister(r.errs, r.success)
	return r
}

// start reloads on every SIGHUP from now until ctx is done. SIGHUP is
// caught before start returns: one that arrives later never ends the
// process (its default action).
func (r *reloader) start(ctx context.Context) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				r.reload()
			}
		}
	}()
}

// reload re-reads each file and applies what parses.
func (r *reloader) reload() {
	var errs []error
	if r.cfg.KeyFile != "" {
		keys, err := readKeyFile(r.cfg.KeyFile)
		if err == nil {
			err = r.srv.SetKeys(keys[0], keys[1:])
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("key file kept as it was: %w", err))
		}
	}
	if r.cfg.QuotesFile != "" {
		q, err := quotes.Load(r.cfg.QuotesFile)
		if err == nil {
			err = r.srv.SetQuotes(q)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("quotes file kept as it was: %w", err))
		}
	}
	if r.cfg.AllowFile != "" {
		nets, err := r.cfg.allowNetworks()
		if err == nil {
			err = r.srv.SetAllowNetworks(nets)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("allow-list kept as it was: %w", err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		r.errs.Add(float64(len(errs)))
		r.log.Error("reload failed", zap.Error(err))
		return
	}
	r.success.SetToCurrentTime()
	r.log.Info("reloaded", zap.String("key_file", r.cfg.KeyFile), zap.String("quotes_file", r.cfg.QuotesFile),
		zap.String("allow_networks_file", r.cfg.AllowFile))
}
