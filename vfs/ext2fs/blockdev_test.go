package ext2fs

import (
	"bytes"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs/bio"
	"golang.org/x/sys/unix"
)

// countDev counts the device requests made of a memDev.
type countDev struct {
	memDev
	reads atomic.Int64
}

func (d *countDev) ReadAt(l *kernel.LWP, p []byte, off int64) (int, unix.Errno) {
	d.reads.Add(1)
	return d.memDev.ReadAt(l, p, off)
}

// TestMetaReadAhead: metadata comes from the buffer cache; a miss reads
// a window of the region in one device request; past the window, the
// next one is read in the background once Open allows it, and reaching
// that window starts the one after; a hit reads nothing.
func TestMetaReadAhead(t *testing.T) {
	const bs, nblk = 1024, 512
	dev := &countDev{memDev: make(memDev, bs*nblk)}
	for b := range nblk {
		dev.memDev[b*bs] = byte(b)
		dev.memDev[b*bs+bs-1] = byte(b >> 8)
	}
	d := newBlockDev(bio.NewCache(nil, 1<<20), dev, bs, "test")
	check := func(blk uint64) {
		t.Helper()
		b, e := d.readMeta(nil, blk)
		if e != 0 || !bytes.Equal(b, dev.memDev[int(blk)*bs:int(blk+1)*bs]) {
			t.Fatalf("block %d: %v, or not its bytes", blk, e)
		}
	}
	cached := func() []uint64 {
		d.settle()
		c := d.cachedBlocks()
		slices.Sort(c)
		return c
	}
	span := func(from, n uint64) []uint64 {
		var s []uint64
		for i := range n {
			s = append(s, from+i)
		}
		return s
	}

	d.prefetch(nil, 10, 4)
	if got := cached(); dev.reads.Load() != 1 || !slices.Equal(got, span(10, 4)) {
		t.Fatalf("prefetch of 4: %d reads, cached %v", dev.reads.Load(), got)
	}
	check(12)
	d.prefetch(nil, 12, 4) // a hit: nothing read
	if dev.reads.Load() != 1 {
		t.Fatalf("prefetch of a cached block read the device (%d reads)", dev.reads.Load())
	}

	// Before Open allows it, no background read: one window only.
	d.prefetch(nil, 100, 200)
	if got := cached(); len(got) != 4+maxPrefetch {
		t.Fatalf("read ahead %d blocks before async was allowed, want %d", len(got)-4, maxPrefetch)
	}
	d.dropCache(nil)

	d.allowAsync()
	reads := dev.reads.Load()
	d.prefetch(nil, 100, 200)
	if got := cached(); !slices.Equal(got, span(100, 2*maxPrefetch)) || dev.reads.Load() != reads+2 {
		t.Fatalf("window and background window: cached %v in %d reads", got, dev.reads.Load()-reads)
	}
	for blk := uint64(100); blk < 100+2*maxPrefetch; blk++ {
		d.prefetch(nil, blk, 300-blk)
		check(blk)
	}
	// Reaching the background window started the third.
	if got := cached(); !slices.Equal(got, span(100, 3*maxPrefetch)) {
		t.Fatalf("after reading two windows, cached %v", got)
	}
}
