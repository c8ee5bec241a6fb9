package bio

import (
	"github.com/rumpfs/rumpfs/kernel"
	"golang.org/x/sys/unix"
)

// What a journaling writer needs from the cache: a hold, so that metadata
// changed in a transaction reaches its home only after the journal commit
// that covers it is durable, and barriers, so that file data reaches the
// device before the metadata that points at it.

// Hold pins the busy buffer in a transaction: however it is given back,
// neither Dev.Sync, the syncer nor eviction writes it, and Bwrite refuses
// to (EBUSY), until every Hold is matched by an Unhold. Holds count, so a
// block changed again by a later transaction while an earlier one commits
// stays pinned until both have released it (WAPBL's B_LOCKED, jbd2's
// journal-dirty buffers). Held buffers are never evicted; the cache's
// byte bound applies to the others, and Stats reports what is held.
func (b *Buf) Hold() {
	if b.holds == 0 {
		b.dev.c.heldBufs.Add(1)
		b.dev.c.heldBytes.Add(b.charged)
	}
	b.holds++
}

// Unhold releases one Hold of the busy buffer: with the last, a dirty
// buffer is an ordinary delayed write again, which the driver may also
// write itself (Bwrite, Dev.Sync).
func (b *Buf) Unhold() {
	if b.holds <= 0 {
		panic("bio: Unhold of a buffer that is not held")
	}
	b.holds--
	if b.holds == 0 {
		b.dev.c.heldBufs.Add(-1)
		b.dev.c.heldBytes.Add(-b.charged)
	}
}

// Held reports whether the busy buffer is held.
func (b *Buf) Held() bool { return b.holds > 0 }

// Unhold releases one Hold of the cached block blkno (Buf.Unhold), waiting
// for it if it is busy: for a journal that commits a transaction after
// giving its buffers back. It reports whether the block was cached and
// held.
func (d *Dev) Unhold(l *kernel.LWP, blkno int64) bool {
	h := hashKey(d, blkno)
	s := d.c.shardOf(h)
	for {
		b := s.tab.Load().find(h, d, blkno)
		if b == nil {
			// The lock-free lookup may miss an insert racing a table
			// rebuild; held buffers are never evicted, so look once more
			// under the lock before saying no.
			s.mu.Lock()
			b = s.tab.Load().find(h, d, blkno)
			s.mu.Unlock()
			if b == nil {
				return false
			}
		}
		b.lock(l)
		if b.gone {
			b.unlock()
			continue
		}
		held := b.holds > 0
		if held {
			b.Unhold()
		}
		b.unlock()
		return held
	}
}

// unholdAll forgets the holds of busy b, which is leaving the cache.
func (b *Buf) unholdAll() {
	if b.holds > 0 {
		b.holds = 0
		b.dev.c.heldBufs.Add(-1)
		b.dev.c.heldBytes.Add(-b.charged)
	}
	b.before = nil
}

// A Barrier makes durable what a buffer depends on (the file data its
// block pointers point at), returning an error if it could not.
type Barrier func(l *kernel.LWP) unix.Errno

// AddBarrier has fn run before the busy buffer next goes to the device,
// by whichever path writes it (Bwrite, Dev.Sync, the syncer, a resize):
// ordered mode, data before the metadata that points at it. Barriers run
// in the order they were added; one that fails stops the write, the
// buffer stays dirty, and it and the ones after it run again on the next
// attempt. Those that succeeded do not run again. Eviction does not write
// a dirty buffer with barriers (it would run driver code in whichever LWP
// missed, perhaps holding the buffers the barrier needs); the syncer and
// Dev.Sync do.
//
// A barrier runs with its buffer busy and no bio lock held. It may write
// other buffers and the device and sync the device, but it must not wait
// for its own buffer (Dev.Sync(wait) of its device does) nor for one whose
// holder waits for it: barriers write data, and data buffers come before
// metadata buffers in a driver's lock order.
func (b *Buf) AddBarrier(fn Barrier) {
	b.before = append(b.before, fn)
}

// runBarriers runs busy b's barriers, dropping each one that succeeds.
func (b *Buf) runBarriers(l *kernel.LWP) unix.Errno {
	for len(b.before) > 0 {
		if err := b.before[0](l); err != 0 {
			return err
		}
		b.before[0] = nil
		b.before = b.before[1:]
	}
	b.before = nil
	return 0
}

// pinned reports whether busy b must not be written by the cache on its
// own initiative: held, or (for eviction) waiting for barriers.
func (b *Buf) pinned() bool { return b.holds > 0 || b.dirty && len(b.before) > 0 }
