package main

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/powtcp/powtcp/tools/loadgen/report"
)

// timeline records a run second by second (report.Point): the honest
// sessions that ended in each second, and the server's refusals,
// difficulty and handshakes from its /metrics. Its methods are safe on a
// nil *timeline, which records nothing.
type timeline struct {
	start   time.Time
	metrics string // the server's /metrics URL; "" when unknown
	client  *http.Client
	attacks func() int64 // the attackers' connections so far

	mu      sync.Mutex
	phase   string
	served  int
	failed  int
	lat     []time.Duration
	points  []report.Point
	refused float64 // the refusals counter at the last second; -1 before the first
	conns   atomic.Int64
}

func newTimeline(metricsURL string) *timeline {
	return &timeline{start: time.Now(), metrics: metricsURL, client: &http.Client{Timeout: 900 * time.Millisecond}, phase: "unloaded", refused: -1}
}

// session records an honest session that ended now, after d, served or not.
func (tl *timeline) session(d time.Duration, served bool) {
	if tl == nil {
		return
	}
	tl.mu.Lock()
	defer tl.mu.Unlock()
	if served {
		tl.served++
		tl.lat = append(tl.lat, d)
	} else {
		tl.failed++
	}
}

// setPhase names the phase the next seconds belong to.
func (tl *timeline) setPhase(phase string, attackConns func() int64) {
	if tl == nil {
		return
	}
	tl.mu.Lock()
	defer tl.mu.Unlock()
	tl.phase, tl.attacks = phase, attackConns
}

// loop closes a point every second until ctx is done.
func (tl *timeline) loop(ctx context.Context) {
	if tl == nil {
		return
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			tl.tick(ctx)
		}
	}
}

// tick closes the second that just ended.
func (tl *timeline) tick(ctx context.Context) {
	refused, difficulty, handshakes := -1.0, -1, -1
	if tl.metrics != "" {
		if m, err := scrapeMetrics(ctx, tl.client, tl.metrics); err == nil {
			refused = 0
			for k, v := range m {
				if strings.HasPrefix(k, "powtcp_connections_refused_total") {
					refused += v
				}
			}
			difficulty, handshakes = int(m["powtcp_difficulty_bits"]), int(m["powtcp_handshakes_in_flight"])
		}
	}
	tl.mu.Lock()
	defer tl.mu.Unlock()
	pt := report.Point{T: time.Since(tl.start).Seconds(), Phase: tl.phase, Served: tl.served, Failed: tl.failed,
		RefusedPerS: -1, Difficulty: difficulty, Handshakes: handshakes}
	if len(tl.lat) > 0 {
		slices.Sort(tl.lat)
		pt.P99ms = float64(tl.lat[(len(tl.lat)*99)/100]) / float64(time.Millisecond)
	}
	if refused >= 0 && tl.refused >= 0 {
		pt.RefusedPerS = refused - tl.refused
	}
	if refused >= 0 {
		tl.refused = refused
	}
	if tl.attacks != nil {
		n := tl.attacks()
		pt.AttackConnsS = float64(n - tl.conns.Swap(n))
	}
	tl.points = append(tl.points, pt)
	tl.served, tl.failed, tl.lat = 0, 0, tl.lat[:0]
}

// recorded returns the points so far.
func (tl *timeline) recorded() []report.Point {
	if tl == nil {
		return nil
	}
	tl.mu.Lock()
	defer tl.mu.Unlock()
	return slices.Clone(tl.points)
}
