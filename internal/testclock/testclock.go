// Package testclock is a manual clock for tests: it stands still until the
// test moves it, so tests of expiry and rates need no sleep.
package testclock

import (
	"sync"
	"time"
)

// Clock is a manual clock, safe for concurrent use. Pass its Now where a
// func() time.Time is wanted.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// New returns a Clock standing at t.
func New(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
