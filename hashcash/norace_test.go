//go:build !race

package hashcash

const raceEnabled = false
