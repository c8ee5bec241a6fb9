package bio

import (
	"fmt"
	"sync/atomic"

	"github.com/rumpfs/rumpfs/kernel"
	"golang.org/x/sys/unix"
)

// Buf is one cached block (struct buf). Dev.Bread and Dev.Getblk return it
// busy: its holder alone may touch Data until it gives it back with
// Brelse, Bdwrite, Bwrite, Bawrite or Invalidate, and must not touch it
// afterwards.
type Buf struct {
	// Data is the block's contents, Size() bytes.
	Data []byte
	// Blkno is the block's address in DevBSize units.
	Blkno int64

	dev   *Dev
	shard *shard

	// owner is the busy lock (BC_BUSY): the LWP holding the buffer, or
	// anonLWP for a caller without one; nil when the buffer is free.
	owner   atomic.Pointer[kernel.LWP]
	waiters atomic.Int32 // LWPs sleeping for it on shard.wcond

	// Guarded by the busy lock.
	valid   bool   // Data holds the block's contents (BO_DONE)
	dirty   bool   // Data is newer than the device (BO_DELWRI)
	hits    uint64 // hits not yet added to Cache.hits
	mem     *mem
	charged int64
	holds   int32     // transaction holds (Hold): never written while > 0
	before  []Barrier // run, in order, before the next write (AddBarrier)

	// Set holding both the busy lock and shard.mu: either suffices to
	// read it.
	gone bool // removed from the cache

	ref     atomic.Bool // CLOCK reference bit: set by hits, cleared by the evictor
	ringIdx int         // guarded by shard.mu
}

// anonLWP stands for callers that pass a nil LWP (unit tests of drivers).
var anonLWP = new(kernel.LWP)

func lockToken(l *kernel.LWP) *kernel.LWP {
	if l == nil {
		return anonLWP
	}
	return l
}

// testHookBusyWait, when set, runs before an LWP sleeps on a busy buffer.
var testHookBusyWait func(b *Buf)

// lock takes b's busy lock, releasing l's CPU while it sleeps. An LWP
// asking for a buffer it holds already (a driver following a block
// pointer that loops back, on a corrupt image) panics instead of hanging;
// the kernel boundary turns that into EIO.
func (b *Buf) lock(l *kernel.LWP) {
	me := lockToken(l)
	if b.owner.CompareAndSwap(nil, me) {
		return
	}
	if l != nil && b.owner.Load() == l {
		panic(fmt.Sprintf("bio: %s: LWP %d asks again for block %d, which it holds", b.dev.name, l.Lid(), b.Blkno))
	}
	if h := testHookBusyWait; h != nil {
		h(b)
	}
	d := l.BlockBegin()
	// A releaser clears owner before it looks at waiters; a waiter counts
	// itself before it tries owner, under wmu: one of them sees the other.
	s := b.shard
	b.waiters.Add(1)
	s.wmu.Lock()
	for !b.owner.CompareAndSwap(nil, me) {
		s.wcond.Wait()
	}
	s.wmu.Unlock()
	b.waiters.Add(-1)
	l.BlockEnd(d)
}

func (b *Buf) tryLock(l *kernel.LWP) bool {
	return b.owner.CompareAndSwap(nil, lockToken(l))
}

func (b *Buf) unlock() {
	if b.owner.Swap(nil) == nil {
		panic("bio: release of a buffer that is not busy")
	}
	if b.waiters.Load() > 0 {
		s := b.shard
		s.wmu.Lock()
		s.wcond.Broadcast()
		s.wmu.Unlock()
	}
}

// busy reports whether someone holds b.
func (b *Buf) busy() bool { return b.owner.Load() != nil }

// Size returns the buffer's size in bytes (b_bcount).
func (b *Buf) Size() int { return len(b.Data) }

// Dirty reports whether the buffer holds data not yet written.
func (b *Buf) Dirty() bool { return b.dirty }

// Brelse gives the buffer back, keeping it cached (brelse(bp, 0)). A
// buffer from Getblk that was neither read nor written is dropped.
func (b *Buf) Brelse() {
	if !b.valid && b.busy() {
		b.dev.c.drop(b)
	}
	b.unlock()
}

// Invalidate discards the buffer, dirty or not, with its holds and
// barriers, and gives it back (brelse(bp, BC_INVAL)): for blocks that were
// freed.
func (b *Buf) Invalidate() {
	if b.busy() {
		b.dev.markClean(b)
		b.dev.c.drop(b)
	}
	b.unlock()
}

// Bdwrite marks the buffer dirty, puts it on its device's dirty list and
// gives it back (delayed write): Dev.Sync, the syncer or eviction writes
// it later.
func (b *Buf) Bdwrite() {
	if b.busy() {
		b.valid = true
		b.dev.markDirty(b)
	}
	b.unlock()
}

// Bwrite writes the buffer now, waits for the device, and gives it back.
// On error the buffer stays cached and dirty: EBUSY for a held buffer, a
// barrier's error, or the device's.
func (b *Buf) Bwrite(l *kernel.LWP) unix.Errno {
	var err unix.Errno
	if b.busy() {
		b.valid = true
		err = b.dev.writeBuf(l, b)
	}
	b.unlock()
	return err
}

// Bawrite starts writing the buffer and gives it back (asynchronous
// write). Device I/O is synchronous here, so it is Bwrite with the error
// left on the buffer: it stays dirty for the next sync.
func (b *Buf) Bawrite(l *kernel.LWP) {
	_ = b.Bwrite(l)
}
