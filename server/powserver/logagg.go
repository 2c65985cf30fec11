package powserver

import (
	"sort"
	"sync"
	"time"

	"go.uber.org/zap"
)

// warnAggregator turns a flood of similar warnings into one summary line per
// interval, so an attacker cannot use the logs to amplify an attack: the
// first event of a kind is logged at once, the rest are counted and reported
// with the next event after the interval, or by flush.
type warnAggregator struct {
	log   *zap.Logger
	every time.Duration
	now   func() time.Time

	mu     sync.Mutex
	counts map[string]int
	since  time.Time
}

func newWarnAggregator(log *zap.Logger, every time.Duration, now func() time.Time) *warnAggregator {
	return &warnAggregator{log: log, every: every, now: now, counts: map[string]int{}}
}

// warn records one event of kind; err may be nil.
func (a *warnAggregator) warn(kind string, err error) {
	now := a.now()
	a.mu.Lock()
	first := len(a.counts) == 0 && a.since.IsZero()
	a.counts[kind]++
	due := now.Sub(a.since) >= a.every
	var summary map[string]int
	if first || due {
		summary, a.counts, a.since = a.counts, map[string]int{}, now
	}
	a.mu.Unlock()
	switch {
	case first:
		a.log.Warn(kind, zap.Error(err))
	case due:
		a.report(summary, err)
	}
}

// flush reports what was counted and not yet logged.
func (a *warnAggregator) flush() {
	a.mu.Lock()
	summary := a.counts
	a.counts = map[string]int{}
	a.mu.Unlock()
	if len(summary) > 0 {
		a.report(summary, nil)
	}
}

func (a *warnAggregator) report(counts map[string]int, last error) {
	kinds := make([]string, 0, len(counts))
	for k := range counts {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	fields := make([]zap.Field, 0, len(kinds)+2)
	for _, k := range kinds {
		fields = append(fields, zap.Int(k, counts[k]))
	}
	fields = append(fields, zap.Duration("interval", a.every))
	if last != nil {
		fields = append(fields, zap.NamedError("last_error", last))
	}
	a.log.Warn("warnings aggregated", fields...)
}
