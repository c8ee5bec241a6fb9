package bio

import (
	"time"
)

// StartSyncer starts the syncer (NetBSD's ioflush): a goroutine that every
// interval writes back the dirty buffers of every attached device, skipping
// busy ones. It runs as an LWP of proc0 when the cache has a kernel. A
// second call while it runs does nothing.
func (c *Cache) StartSyncer(interval time.Duration) {
	if interval <= 0 {
		interval = 30 * time.Second
	}
	c.syncMu.Lock()
	defer c.syncMu.Unlock()
	if c.stop != nil {
		return
	}
	if c.k != nil {
		c.syncLWP, _ = c.k.NewLWP(0)
	}
	l := c.syncLWP
	stop, done := make(chan struct{}), make(chan struct{})
	c.stop, c.done = stop, done
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			l.Schedule()
			for _, d := range c.devList() {
				_ = d.Sync(l, false)
			}
			c.flushHits()
			l.Unschedule()
		}
	}()
}

// Stop stops the syncer and waits for it to finish its current pass.
func (c *Cache) Stop() {
	c.syncMu.Lock()
	defer c.syncMu.Unlock()
	if c.stop == nil {
		return
	}
	close(c.stop)
	<-c.done
	c.stop, c.done = nil, nil
	if c.syncLWP != nil {
		c.k.ReleaseLWP(c.syncLWP)
		c.syncLWP = nil
	}
}
