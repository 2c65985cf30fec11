package main

import (
	"maps"
	"sync"
)

// counts is a set of named counters, safe for concurrent use.
type counts struct {
	mu sync.Mutex
	m  map[string]int64
}

func (c *counts) add(name string, n int64) {
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]int64{}
	}
	c.m[name] += n
	c.mu.Unlock()
}

func (c *counts) inc(name string) { c.add(name, 1) }

func (c *counts) snapshot() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.m)
}
