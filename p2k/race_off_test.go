//go:build !race

package p2k

const raceEnabled = false
