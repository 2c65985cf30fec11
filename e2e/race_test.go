//go:build race

package e2e

// raceEnabled: the test runs with the race detector, so the binaries it
// builds get it too.
const raceEnabled = true
