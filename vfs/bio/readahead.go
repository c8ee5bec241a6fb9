package bio

import (
	"github.com/rumpfs/rumpfs/kernel"
	"golang.org/x/sys/unix"
)

// Breadn is Bread that also reads ahead (breadn): when blkno is not
// cached, the read-ahead blocks rablks (of sizes rasizes) that follow it
// contiguously on the device and are not cached either are read with it in
// one device request, up to 64 KiB, and left in the cache. Read-ahead
// blocks that are not contiguous, or cached, or busy, end the run; a
// failed run falls back to reading blkno alone.
func (d *Dev) Breadn(l *kernel.LWP, blkno int64, size int, rablks []int64, rasizes []int) (*Buf, unix.Errno) {
	if badArgs(blkno, size) {
		return nil, unix.EINVAL
	}
	if d.detached.Load() {
		return nil, unix.ENXIO
	}
	b, fresh := d.getblk(l, blkno, size)
	if !fresh && len(b.Data) != size {
		if err := d.resize(l, b, size); err != 0 {
			b.unlock()
			return nil, err
		}
	}
	if b.valid {
		return b, 0
	}

	if len(rablks) > 0 && fresh {
		if d.readAhead(l, b, rablks, rasizes) {
			return b, 0
		}
	}
	if err := d.read(l, b); err != 0 {
		d.c.drop(b)
		b.unlock()
		return nil, err
	}
	return b, 0
}

// readAhead reads fresh buffer b together with the read-ahead blocks that
// follow it, and reports whether b was read. The read-ahead buffers are
// released into the cache, or dropped if the read failed.
func (d *Dev) readAhead(l *kernel.LWP, b *Buf, rablks []int64, rasizes []int) bool {
	run := []*Buf{b}
	end, total := b.Blkno*DevBSize+int64(len(b.Data)), len(b.Data)
	for i, ra := range rablks {
		if i >= len(rasizes) || badArgs(ra, rasizes[i]) || ra*DevBSize != end || total+rasizes[i] > maxRun {
			break
		}
		rb := d.tryInsert(l, ra, rasizes[i])
		if rb == nil {
			break
		}
		run = append(run, rb)
		end += int64(rasizes[i])
		total += rasizes[i]
	}
	ok := len(run) > 1 && d.readRun(l, run, total) == 0
	for _, rb := range run[1:] {
		rb.Brelse() // dropped unless read
	}
	return ok
}

// tryInsert returns a fresh busy buffer for blkno, or nil when blkno is
// cached already.
func (d *Dev) tryInsert(l *kernel.LWP, blkno int64, size int) *Buf {
	h := hashKey(d, blkno)
	s := d.c.shardOf(h)
	s.mu.Lock()
	if s.tab.Load().find(h, d, blkno) != nil {
		s.mu.Unlock()
		return nil
	}
	b := d.insertLocked(l, s, h, blkno)
	s.mu.Unlock()
	d.c.readaheads.Inc()
	d.setSize(l, b, size)
	return b
}

// readRun reads busy, adjacent, fresh buffers with one device request.
// Buffers the device returned no bytes for stay invalid; the first must
// get some, or the run fails with EIO.
func (d *Dev) readRun(l *kernel.LWP, run []*Buf, total int) unix.Errno {
	c := d.c
	m := getMem(total)
	defer putMem(m)
	p := m.b[:total]
	c.reads.Inc()
	n, err := d.dev.ReadAt(l, p, run[0].Blkno*DevBSize)
	if err == 0 && n <= 0 {
		err = unix.EIO
	}
	if err != 0 {
		c.readErrors.Inc()
		return unix.EIO
	}
	clear(p[n:])
	off := 0
	for _, b := range run {
		if off < n {
			copy(b.Data, p[off:])
			b.valid = true
		}
		off += len(b.Data)
	}
	return 0
}

// Incore reports whether block blkno is cached (incore), valid or being
// read: a driver's read-ahead policy asks it to tell a miss, which starts
// a read-ahead window, from a hit, which does not. It takes no lock.
func (d *Dev) Incore(blkno int64) bool {
	h := hashKey(d, blkno)
	b := d.c.shardOf(h).tab.Load().find(h, d, blkno)
	return b != nil && !b.gone
}

// Cached lists the block numbers of the buffers d has cached now.
func (d *Dev) Cached() []int64 {
	var out []int64
	for _, b := range d.buffers() {
		out = append(out, b.Blkno)
	}
	return out
}
