//go:build race

package equix

// raceEnabled: under the race detector HashX is many times slower, so the
// slowest tests do less.
const raceEnabled = true
