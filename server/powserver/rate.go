package powserver

import (
	"math"
	"time"
)

// rate is an exponentially decaying event rate in events per second:
// a burst raises it at once, calm lets it fall with time constant tau.
type rate struct {
	v    float64
	last time.Time
}

const rateTau = 10 * time.Second

// at returns the rate as of now, decayed since the last event.
func (r rate) at(now time.Time) float64 {
	dt := now.Sub(r.last).Seconds()
	if dt <= 0 {
		return r.v
	}
	return r.v * math.Exp(-dt/rateTau.Seconds())
}

// add records one event at now.
func (r *rate) add(now time.Time) {
	r.v = r.at(now) + 1/rateTau.Seconds()
	r.last = now
}

// extraBits is how many doublings rate is above calm: 0 at or below calm,
// 1 at twice calm, 2 at four times, and so on.
func extraBits(rate, calm float64) int {
	if rate <= calm || calm <= 0 {
		return 0
	}
	return int(math.Log2(rate / calm))
}

// calmIPRate is one address's connection rate (per second) above which
// each doubling adds a bit for that address.
const calmIPRate = 2

// fillBits is what a connection table filled to inFlight of max adds:
// one bit at an eighth full, two at a quarter, three at half, four when full.
func fillBits(inFlight, max int) int {
	if max <= 0 || inFlight*8 < max {
		return 0
	}
	return int(math.Log2(float64(inFlight) * 16 / float64(max)))
}
