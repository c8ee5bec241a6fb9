package bio

import (
	"slices"
	"sync"
	"sync/atomic"

	"github.com/rumpfs/rumpfs/kernel"
	"golang.org/x/sys/unix"
)

// maxRun bounds the bytes Sync writes in one device request when it
// coalesces adjacent dirty buffers (MAXPHYS).
const maxRun = 64 << 10

// Dev is a device attached to a Cache: the handle a mount reads and writes
// its blocks through. It owns the device's dirty list.
type Dev struct {
	c        *Cache
	dev      Device
	name     string
	seed     uint64 // mixed into the shard hash
	detached atomic.Bool

	mu    sync.Mutex
	dirty map[*Buf]struct{}
}

// Device returns the underlying device.
func (d *Dev) Device() Device { return d.dev }

// Name returns the name given to Attach.
func (d *Dev) Name() string { return d.name }

// NDirty returns the number of buffers on the dirty list.
func (d *Dev) NDirty() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.dirty)
}

func (d *Dev) markDirty(b *Buf) {
	if b.dirty {
		return
	}
	b.dirty = true
	d.mu.Lock()
	d.dirty[b] = struct{}{}
	d.mu.Unlock()
}

func (d *Dev) markClean(b *Buf) {
	if !b.dirty {
		return
	}
	b.dirty = false
	d.mu.Lock()
	delete(d.dirty, b)
	d.mu.Unlock()
}

func badArgs(blkno int64, size int) bool {
	return blkno < 0 || size <= 0 || size > MaxBufSize || blkno > (1<<62)/DevBSize
}

// Bread returns block blkno (in DevBSize units) of size bytes, busy, with
// its contents read (bread). A read error, or a block starting at or past
// the end of the device, is EIO and caches nothing; a block straddling the
// end reads as zeros past it. Bad arguments are EINVAL, a detached device
// ENXIO. If the block is cached with another size, it is written back when
// dirty and read again at the new size (EBUSY if it is held).
func (d *Dev) Bread(l *kernel.LWP, blkno int64, size int) (*Buf, unix.Errno) {
	return d.Breadn(l, blkno, size, nil, nil)
}

// Getblk returns block blkno of size bytes, busy, without reading it
// (getblk): its contents are the block's only if it was cached, zeros
// otherwise; the caller is expected to fill it and write it. If the block
// is cached with another size, it is written back when dirty and resized,
// keeping the common prefix. Getblk returns nil on bad arguments or a
// detached device.
func (d *Dev) Getblk(l *kernel.LWP, blkno int64, size int) *Buf {
	if badArgs(blkno, size) || d.detached.Load() {
		return nil
	}
	b, fresh := d.getblk(l, blkno, size)
	if fresh {
		clear(b.Data)
	} else if len(b.Data) != size {
		if err := d.resize(l, b, size); err != 0 {
			// The write-back failed: resize anyway, keeping the
			// data dirty for the caller to complete.
			d.setSize(l, b, size)
		}
	}
	return b
}

// getblk finds or makes the buffer for blkno and returns it busy. A fresh
// buffer is not valid, has size bytes of stale data, and is in the cache,
// so that concurrent lookups wait for its first holder.
func (d *Dev) getblk(l *kernel.LWP, blkno int64, size int) (b *Buf, fresh bool) {
	c := d.c
	h := hashKey(d, blkno)
	s := c.shardOf(h)
	for {
		b = s.tab.Load().find(h, d, blkno)
		if b == nil {
			s.mu.Lock()
			b = s.tab.Load().find(h, d, blkno)
			if b == nil {
				b = d.insertLocked(l, s, h, blkno)
				s.mu.Unlock()
				c.misses.Inc()
				d.setSize(l, b, size)
				return b, true
			}
			s.mu.Unlock()
		}
		b.lock(l)
		if !b.gone {
			b.hits++
			if !b.ref.Load() {
				b.ref.Store(true)
			}
			return b, false
		}
		b.unlock()
	}
}

// insertLocked puts a fresh buffer for blkno, busy and without data, in
// shard s.
func (d *Dev) insertLocked(l *kernel.LWP, s *shard, h uint64, blkno int64) *Buf {
	b := &Buf{Blkno: blkno, dev: d, shard: s}
	b.owner.Store(lockToken(l))
	s.addLocked(h, b)
	d.c.nbufs.Add(1)
	return b
}

// setSize gives busy b a data block for size bytes, keeping the common
// prefix of its old contents and zeroing the rest.
func (d *Dev) setSize(l *kernel.LWP, b *Buf, size int) {
	charge := int64(memCap(size) + bufOverhead)
	old, oldm := b.Data, b.mem
	if oldm != nil && memCap(size) == len(oldm.b) {
		b.Data = oldm.b[:size]
		clear(b.Data[min(len(old), size):])
		return
	}
	if b.holds > 0 {
		d.c.heldBytes.Add(charge - b.charged)
	}
	d.c.charge(l, charge-b.charged)
	b.charged = charge
	b.mem = getMem(size)
	b.Data = b.mem.b[:size]
	if oldm != nil {
		n := copy(b.Data, old)
		clear(b.Data[n:])
		putMem(oldm)
	}
}

// resize changes busy b to size bytes: it writes b back first when dirty
// (returning the error, EBUSY when b is held, and leaving b unchanged), and
// it stays valid only when it shrinks.
func (d *Dev) resize(l *kernel.LWP, b *Buf, size int) unix.Errno {
	if b.dirty {
		if err := d.writeBuf(l, b); err != 0 {
			return err
		}
	}
	if size > len(b.Data) {
		b.valid = false
	}
	d.setSize(l, b, size)
	return 0
}

// read fills busy b from the device.
func (d *Dev) read(l *kernel.LWP, b *Buf) unix.Errno {
	c := d.c
	c.reads.Inc()
	n, err := d.dev.ReadAt(l, b.Data, b.Blkno*DevBSize)
	if err == 0 && n <= 0 {
		err = unix.EIO // at or past the end: a bad block number
	}
	if err != 0 {
		c.readErrors.Inc()
		if c.k != nil {
			c.k.Printf("bio: %s: read error %d (%v) at blkno %d, size %d", d.name, int(err), err, b.Blkno, len(b.Data))
		}
		return unix.EIO
	}
	clear(b.Data[n:])
	b.valid = true
	return 0
}

// writeBuf writes busy b to the device, after its barriers. On success b
// is clean; on error it is dirty (on the dirty list) and the error is
// returned: EBUSY for a held buffer, a barrier's error, or the device's.
func (d *Dev) writeBuf(l *kernel.LWP, b *Buf) unix.Errno {
	c := d.c
	if b.holds > 0 {
		d.markDirty(b)
		return unix.EBUSY
	}
	if err := b.runBarriers(l); err != 0 {
		d.markDirty(b)
		return err
	}
	c.writes.Inc()
	n, err := d.dev.WriteAt(l, b.Data, b.Blkno*DevBSize)
	if err == 0 && n != len(b.Data) {
		err = unix.EIO
	}
	if err != 0 {
		d.writeFailed(err, b.Blkno, len(b.Data))
		d.markDirty(b)
		return err
	}
	d.markClean(b)
	return 0
}

func (d *Dev) writeFailed(err unix.Errno, blkno int64, size int) {
	c := d.c
	c.writeErrors.Inc()
	if c.k != nil {
		c.k.Warnf("bio: %s: write error %d (%v) at blkno %d, size %d", d.name, int(err), err, blkno, size)
	}
}

// writeRun writes busy, adjacent buffers with one device request.
func (d *Dev) writeRun(l *kernel.LWP, run []*Buf) unix.Errno {
	if len(run) == 1 {
		return d.writeBuf(l, run[0])
	}
	total := 0
	for _, b := range run {
		total += len(b.Data)
	}
	m := getMem(total)
	p := m.b[:0]
	for _, b := range run {
		p = append(p, b.Data...)
	}
	d.c.writes.Inc()
	n, err := d.dev.WriteAt(l, p, run[0].Blkno*DevBSize)
	putMem(m)
	if err == 0 && n != total {
		err = unix.EIO
	}
	if err != 0 {
		d.writeFailed(err, run[0].Blkno, total)
		return err
	}
	for _, b := range run {
		d.markClean(b)
	}
	return 0
}

// Sync writes every dirty buffer of the device that is not held, in block
// order, adjacent ones coalesced (VFS_SYNC). With wait it sleeps on busy
// buffers and then syncs the device (MNT_WAIT); without, it skips busy
// buffers (MNT_LAZY, the syncer). A buffer with barriers runs them and is
// written alone. It returns the first error; failed buffers stay dirty.
func (d *Dev) Sync(l *kernel.LWP, wait bool) unix.Errno {
	d.mu.Lock()
	list := make([]*Buf, 0, len(d.dirty))
	for b := range d.dirty {
		list = append(list, b)
	}
	d.mu.Unlock()
	slices.SortFunc(list, func(a, b *Buf) int { return cmpInt64(a.Blkno, b.Blkno) })

	var first unix.Errno
	run := make([]*Buf, 0, 16)
	for i := 0; i < len(list); {
		b := list[i]
		i++
		if wait {
			b.lock(l)
		} else if !b.tryLock(l) {
			continue
		}
		if b.gone || !b.dirty || b.holds > 0 {
			b.unlock()
			continue
		}
		if len(b.before) > 0 {
			if err := d.writeBuf(l, b); err != 0 && first == 0 {
				first = err
			}
			b.unlock()
			continue
		}
		// Coalesce the following buffers that are adjacent, dirty and
		// free right now; bio never sleeps holding two busy buffers.
		run = append(run[:0], b)
		end, total := b.Blkno*DevBSize+int64(len(b.Data)), len(b.Data)
		for i < len(list) {
			nb := list[i]
			if nb.Blkno*DevBSize != end || !nb.tryLock(l) {
				break
			}
			if nb.gone || !nb.dirty || nb.holds > 0 || len(nb.before) > 0 || total+len(nb.Data) > maxRun {
				nb.unlock()
				break
			}
			run = append(run, nb)
			end += int64(len(nb.Data))
			total += len(nb.Data)
			i++
		}
		if err := d.writeRun(l, run); err != 0 && first == 0 {
			first = err
		}
		for _, rb := range run {
			rb.unlock()
		}
	}
	if wait && !d.detached.Load() {
		if err := d.dev.Sync(l); err != 0 && first == 0 {
			first = err
		}
	}
	return first
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// buffers returns every cached buffer of d.
func (d *Dev) buffers() []*Buf {
	var out []*Buf
	for i := range d.c.shards {
		s := &d.c.shards[i]
		s.mu.Lock()
		for _, b := range s.ring {
			if b.dev == d {
				out = append(out, b)
			}
		}
		s.mu.Unlock()
	}
	return out
}

// Flush writes back every dirty buffer (Sync with wait), then drops every
// buffer of the device that is clean (vinvalbuf with V_SAVE): for
// unmount. It returns the first write error, or EBUSY when held buffers
// remain (a journal must commit and release them first); buffers that
// failed or are held stay.
func (d *Dev) Flush(l *kernel.LWP) unix.Errno {
	err := d.Sync(l, true)
	if held := d.invalidate(l, false); held > 0 && err == 0 {
		err = unix.EBUSY
	}
	return err
}

// Invalidate drops every buffer of the device, discarding dirty data
// (vinvalbuf without V_SAVE): for a forced unmount or RB_NOSYNC. It waits
// for busy buffers.
func (d *Dev) Invalidate(l *kernel.LWP) {
	d.invalidate(l, true)
}

// Discard drops the cached buffer that starts at block blkno, if any,
// dirty or held, without writing it, and reports whether there was one
// (brelse with BC_INVAL after incore): a block that was metadata, was
// freed, and is about to be written as file data straight to the device,
// where a stale copy must neither be read nor flushed over the data. It
// waits for the buffer if it is busy. A journaling driver never hands out
// a block its open transaction freed, so what it holds is not dropped.
func (d *Dev) Discard(l *kernel.LWP, blkno int64) bool {
	h := hashKey(d, blkno)
	s := d.c.shardOf(h)
	for {
		b := s.tab.Load().find(h, d, blkno)
		if b == nil {
			return false
		}
		b.lock(l)
		if b.gone {
			b.unlock()
			continue
		}
		d.markClean(b)
		d.c.drop(b)
		b.unlock()
		return true
	}
}

// invalidate drops d's clean buffers, or all with discard, and returns
// how many held buffers it left.
func (d *Dev) invalidate(l *kernel.LWP, discard bool) (held int) {
	for _, b := range d.buffers() {
		b.lock(l)
		switch {
		case b.gone:
		case discard || !b.dirty && b.holds == 0:
			d.markClean(b)
			d.c.drop(b)
		case b.holds > 0:
			held++
		}
		b.unlock()
	}
	return held
}

// Detach discards whatever the device still has cached and forgets it;
// call it after Flush. Later Bread calls return ENXIO.
func (d *Dev) Detach() {
	d.detached.Store(true)
	d.invalidate(nil, true)
	d.c.devMu.Lock()
	delete(d.c.devs, d)
	d.c.devMu.Unlock()
}
