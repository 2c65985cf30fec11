package powserver

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestFillAndRateBits(t *testing.T) {
	for _, tt := range []struct{ inFlight, max, want int }{
		{0, 100, 0}, {12, 100, 0}, {13, 100, 1}, {25, 100, 2}, {50, 100, 3}, {100, 100, 4}, {5, 0, 0},
	} {
		assert.Equal(t, tt.want, fillBits(tt.inFlight, tt.max), "fill %d/%d", tt.inFlight, tt.max)
	}
	for _, tt := range []struct {
		rate, calm float64
		want       int
	}{
		{0, 2, 0}, {2, 2, 0}, {3.9, 2, 0}, {4, 2, 1}, {16, 2, 3}, {1e6, 2, 18}, {5, 0, 0},
	} {
		assert.Equal(t, tt.want, extraBits(tt.rate, tt.calm), "rate %v calm %v", tt.rate, tt.calm)
	}
}

func TestRateDecays(t *testing.T) {
	now := time.Unix(1000, 0)
	var r rate
	for range 100 {
		r.add(now)
	}
	assert.InDelta(t, 10.0, r.at(now), 1e-9, "100 events at once: 100/tau")
	assert.InDelta(t, 10.0/2.718281828, r.at(now.Add(rateTau)), 1e-6, "decays by e per tau")
}
