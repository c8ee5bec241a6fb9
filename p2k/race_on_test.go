//go:build race

package p2k

// raceEnabled: the race detector's sync.Pool drops items at random, so
// allocation counts mean nothing.
const raceEnabled = true
