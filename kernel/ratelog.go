package kernel

import (
	"sync"
	"time"
)

// Ratelog is a per-mount log of problems a driver finds on its medium
// (damaged metadata), rate-limited so that walking a damaged image can
// neither flood the terminal nor push everything else out of the 16 KiB
// message buffer: the first ConsoleLines lines reach the console, later
// ones dmesg only; past a burst of RatelogBurst lines, at most
// RatelogPerSec a second are kept (NetBSD's ppsratecheck in spirit), and
// the next line kept says how many were dropped. Safe for concurrent use.
type Ratelog struct {
	k    *Kernel
	name string // says whose lines went quiet: "ext2fs: img"

	mu         sync.Mutex
	lines      int       // lines kept
	tokens     float64   // lines that may be kept now
	last       time.Time // when tokens was last refilled
	suppressed int
	now        func() time.Time // time.Now; tests replace it
}

// Ratelog limits; see Ratelog.
const (
	ConsoleLines  = 50
	RatelogBurst  = 100
	RatelogPerSec = 10
)

// NewRatelog returns a problem log for k; name prefixes its own notices.
func NewRatelog(k *Kernel, name string) *Ratelog {
	return &Ratelog{k: k, name: name, tokens: RatelogBurst, now: time.Now}
}

// Printf logs one problem line, unless the rate limit drops it.
func (r *Ratelog) Printf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if !r.last.IsZero() {
		r.tokens = min(RatelogBurst, r.tokens+now.Sub(r.last).Seconds()*RatelogPerSec)
	}
	r.last = now
	if r.tokens < 1 {
		r.suppressed++
		return
	}
	r.tokens--
	if r.suppressed > 0 {
		r.k.Printf("%s: %d similar messages suppressed", r.name, r.suppressed)
		r.suppressed = 0
	}
	r.lines++
	switch {
	case r.lines <= ConsoleLines:
		r.k.Warnf(format, args...)
	case r.lines == ConsoleLines+1:
		r.k.Warnf("%s: further messages in dmesg only", r.name)
		fallthrough
	default:
		r.k.Printf(format, args...)
	}
}

// Suppressed is how many lines have been dropped since the last kept one.
func (r *Ratelog) Suppressed() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.suppressed
}
