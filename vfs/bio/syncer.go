package bio

import (
	"time"

	"github.com/rumpfs/rumpfs/kernel"
)

// StartSyncer starts the syncer (NetBSD's ioflush): a goroutine that every
// interval (30 s when interval <= 0) writes back the dirty buffers of every
// attached device, skipping busy ones. With a kernel it runs as an LWP of
// proc0 and holds a virtual CPU during each pass. A second call while it
// runs does nothing.
func (c *Cache) StartSyncer(interval time.Duration) {
	if interval <= 0 {
		interval = 30 * time.Second
	}
	c.syncMu.Lock()
	defer c.syncMu.Unlock()
	if c.stop != nil {
		return
	}
	var l *kernel.LWP
	if c.k != nil {
		l, _ = c.k.NewLWP(0)
	}
	stop, done := make(chan struct{}), make(chan struct{})
	c.stop, c.done = stop, done
	go c.syncer(l, interval, stop, done)
}

func (c *Cache) syncer(l *kernel.LWP, interval time.Duration, stop, done chan struct{}) {
	defer close(done)
	if l != nil {
		defer c.k.ReleaseLWP(l)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		l.Schedule()
		select {
		case <-stop: // stopped while waiting for a CPU
			l.Unschedule()
			return
		default:
		}
		for _, d := range c.devList() {
			_ = d.Sync(l, false)
		}
		c.flushHits()
		l.Unschedule()
	}
}

// Stop stops the syncer. It does not wait for a pass in progress, which
// finishes on its own (waiting could deadlock a caller holding the last
// free virtual CPU); callers that need everything written use SyncAll.
func (c *Cache) Stop() {
	c.syncMu.Lock()
	defer c.syncMu.Unlock()
	if c.stop != nil {
		close(c.stop)
		c.stop = nil
	}
}
