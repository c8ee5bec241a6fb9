package bio

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rumpfs/rumpfs/kernel"
	"golang.org/x/sys/unix"
)

func patternAt(off int64, n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = pattern(off + int64(i))
	}
	return p
}

func mustBread(t testing.TB, d *Dev, blkno int64, size int) *Buf {
	t.Helper()
	b, err := d.Bread(nil, blkno, size)
	if err != 0 {
		t.Fatalf("Bread(%d, %d): %v", blkno, size, err)
	}
	if b.Size() != size || b.Blkno != blkno {
		t.Fatalf("Bread(%d, %d) gave blkno %d size %d", blkno, size, b.Blkno, b.Size())
	}
	return b
}

func TestBreadHitMiss(t *testing.T) {
	f := newFakeDev(1 << 20)
	c := NewCache(nil, 1<<20)
	d := c.Attach(f, "fake")

	b := mustBread(t, d, 16, 4096)
	if !bytes.Equal(b.Data, patternAt(16*DevBSize, 4096)) {
		t.Fatal("first Bread: data differs from the device")
	}
	b.Brelse()
	b = mustBread(t, d, 16, 4096)
	if !bytes.Equal(b.Data, patternAt(16*DevBSize, 4096)) {
		t.Fatal("cached Bread: data differs from the device")
	}
	b.Brelse()
	mustBread(t, d, 24, 4096).Brelse()

	st := c.Stats()
	if f.reads.Load() != 2 || st.Misses != 2 || st.Hits != 1 || st.Bufs != 2 {
		t.Fatalf("device reads %d, stats %+v; want 2 reads, 2 misses, 1 hit, 2 bufs", f.reads.Load(), st)
	}
}

func TestBadArguments(t *testing.T) {
	c := NewCache(nil, 1<<20)
	d := c.Attach(newFakeDev(1<<20), "fake")
	for _, a := range []struct {
		blkno int64
		size  int
	}{{-1, 512}, {0, 0}, {0, -512}, {0, MaxBufSize + 512}, {1 << 62, 512}} {
		if b, err := d.Bread(nil, a.blkno, a.size); err != unix.EINVAL || b != nil {
			t.Errorf("Bread(%d, %d) = %v, %v; want nil, EINVAL", a.blkno, a.size, b, err)
		}
		if b := d.Getblk(nil, a.blkno, a.size); b != nil {
			t.Errorf("Getblk(%d, %d) = %v; want nil", a.blkno, a.size, b)
		}
	}
}

// TestMissDedup: N readers of one cold block issue one device read, and
// all see its data.
func TestMissDedup(t *testing.T) {
	const n = 16
	f := newFakeDev(1 << 20)
	gate, entered := make(chan struct{}), make(chan struct{}, 1)
	f.set(func(f *fakeDev) { f.gate, f.entered = gate, entered })
	c := NewCache(nil, 1<<20)
	d := c.Attach(f, "fake")

	var waiting atomic.Int32
	testHookBusyWait = func(*Buf) { waiting.Add(1) }
	defer func() { testHookBusyWait = nil }()

	var wg sync.WaitGroup
	errs := make(chan string, n)
	for range n {
		wg.Go(func() {
			b, err := d.Bread(nil, 8, 2048)
			if err != 0 {
				errs <- err.Error()
				return
			}
			if !bytes.Equal(b.Data, patternAt(8*DevBSize, 2048)) {
				errs <- "data differs"
			}
			b.Brelse()
		})
	}
	<-entered // one reader is in the device
	for waiting.Load() < n-1 {
		runtime.Gosched() // the others find the buffer and wait on it
	}
	close(gate)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if r := f.reads.Load(); r != 1 {
		t.Fatalf("%d concurrent readers of one block made %d device reads, want 1", n, r)
	}
}

// TestSizeChange: a block asked with another size is written back when
// dirty, and read again when it grows.
func TestSizeChange(t *testing.T) {
	f := newFakeDev(1 << 20)
	c := NewCache(nil, 1<<20)
	d := c.Attach(f, "fake")

	b := mustBread(t, d, 32, 2048)
	copy(b.Data, "fragment")
	b.Bdwrite()

	b = mustBread(t, d, 32, 8192) // grows: write back, read again
	if w := f.writes.Load(); w != 1 {
		t.Fatalf("growing a dirty buffer made %d writes, want 1", w)
	}
	if r := f.reads.Load(); r != 2 {
		t.Fatalf("growing a buffer made %d reads in all, want 2", r)
	}
	want := patternAt(32*DevBSize, 8192)
	copy(want, "fragment")
	if !bytes.Equal(b.Data, want) {
		t.Fatal("grown buffer does not hold the written fragment followed by the device's data")
	}
	if d.NDirty() != 0 || b.Dirty() {
		t.Fatal("buffer still dirty after the write-back")
	}
	b.Brelse()

	b = mustBread(t, d, 32, 1024) // shrinks: no I/O
	if !bytes.Equal(b.Data, want[:1024]) || f.reads.Load() != 2 {
		t.Fatalf("shrunk buffer: reads %d, data ok %v", f.reads.Load(), bytes.Equal(b.Data, want[:1024]))
	}
	b.Brelse()

	g := d.Getblk(nil, 32, 4096) // grows without reading: prefix kept, rest zero
	wantG := append(append([]byte(nil), want[:1024]...), make([]byte, 3072)...)
	if !bytes.Equal(g.Data, wantG) || f.reads.Load() != 2 {
		t.Fatal("Getblk at a larger size did not keep the cached prefix and zero the rest")
	}
	copy(g.Data, patternAt(0, 4096))
	if err := g.Bwrite(nil); err != 0 {
		t.Fatal(err)
	}
	if !bytes.Equal(f.contents(32*DevBSize, 4096), patternAt(0, 4096)) {
		t.Fatal("Bwrite after Getblk did not reach the device")
	}
	if st := c.Stats(); st.Bufs != 1 || st.Bytes != int64(4096+bufOverhead) {
		t.Fatalf("after resizes: %+v, want 1 buffer charged %d", st, 4096+bufOverhead)
	}
}

func TestGetblk(t *testing.T) {
	f := newFakeDev(1 << 20)
	c := NewCache(nil, 1<<20)
	d := c.Attach(f, "fake")

	// Leave stale data in the pool.
	b := mustBread(t, d, 0, 4096)
	b.Invalidate()

	g := d.Getblk(nil, 64, 4096)
	if !bytes.Equal(g.Data, make([]byte, 4096)) {
		t.Fatal("fresh Getblk buffer is not zeroed")
	}
	g.Brelse() // neither read nor written: not kept
	if st := c.Stats(); st.Bufs != 0 {
		t.Fatalf("a Getblk buffer released unwritten stayed cached: %+v", st)
	}
	b = mustBread(t, d, 64, 4096)
	if !bytes.Equal(b.Data, patternAt(64*DevBSize, 4096)) {
		t.Fatal("Bread after an unwritten Getblk did not read the device")
	}
	b.Brelse()

	g = d.Getblk(nil, 64, 4096) // cached: contents valid
	if !bytes.Equal(g.Data, patternAt(64*DevBSize, 4096)) {
		t.Fatal("Getblk of a cached block lost its contents")
	}
	copy(g.Data, "new")
	g.Bdwrite()
	b = mustBread(t, d, 64, 4096)
	if string(b.Data[:3]) != "new" || f.writes.Load() != 0 {
		t.Fatal("Bdwrite: data not cached, or written too early")
	}
	b.Brelse()
}

func TestDoubleReleasePanics(t *testing.T) {
	c := NewCache(nil, 1<<20)
	d := c.Attach(newFakeDev(1<<20), "fake")
	b := mustBread(t, d, 0, 512)
	b.Brelse()
	defer func() {
		if recover() == nil {
			t.Fatal("second Brelse did not panic")
		}
	}()
	b.Brelse()
}

// TestBoundRespected reads ten times the bound and checks both the
// cache's accounting and the Go heap.
func TestBoundRespected(t *testing.T) {
	const bound = 1 << 20
	const bs = 8192
	f := newFakeDev(10 * bound)
	c := NewCache(nil, bound)
	d := c.Attach(f, "fake")

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	// Headers, maps and rings of ~128 buffers, and the pools' spare.
	const slack = 256 << 10

	// The heap less what the fake device keeps of the written blocks,
	// which is not the cache's.
	var peak uint64
	sample := func() {
		runtime.GC()
		runtime.ReadMemStats(&ms)
		f.mu.Lock()
		devBytes := uint64(len(f.sectors)) * (DevBSize + 64)
		f.mu.Unlock()
		peak = max(peak, ms.HeapAlloc-min(ms.HeapAlloc, devBytes))
	}
	for pass := range 2 {
		for blk := int64(0); blk < 10*bound/DevBSize; blk += bs / DevBSize {
			b := mustBread(t, d, blk, bs)
			if pass == 1 && b.Data[1] != pattern(blk*DevBSize+1) {
				t.Fatalf("block %d: wrong data", blk)
			}
			if blk%(64*bs/DevBSize) == 0 {
				b.Bdwrite() // some dirty ones, written back on eviction
			} else {
				b.Brelse()
			}
			if got := c.bytes.Load(); got > bound {
				t.Fatalf("cache holds %d charged bytes, bound %d", got, bound)
			}
			if blk%(256*bs/DevBSize) == 0 {
				sample()
			}
		}
	}
	sample()
	if peak > base+bound+slack {
		t.Fatalf("heap grew by %d bytes reading %d bytes through a %d-byte cache (allowed %d)",
			peak-base, 20*bound, bound, bound+slack)
	}
	st := c.Stats()
	if st.Evictions == 0 || f.writes.Load() == 0 {
		t.Fatalf("no evictions or no write-backs: %+v, writes %d", st, f.writes.Load())
	}
	if d.NDirty() > int(st.Bufs) {
		t.Fatalf("%d dirty buffers but %d cached", d.NDirty(), st.Bufs)
	}
	t.Logf("heap growth %d KiB for a %d KiB bound; %+v", int64(peak-base)>>10, bound>>10, st)
}

// TestEvictionWritesBack: dirty buffers pushed out by the bound reach
// the device, and none is lost.
func TestEvictionWritesBack(t *testing.T) {
	const bound = 64 << 10
	const bs = 4096
	f := newFakeDev(1 << 20)
	c := NewCache(nil, bound)
	d := c.Attach(f, "fake")
	const nblk = 64 // four times the bound
	for i := range int64(nblk) {
		b := d.Getblk(nil, i*bs/DevBSize, bs)
		copy(b.Data, fmt.Sprintf("block %d", i))
		b.Bdwrite()
	}
	if f.writes.Load() == 0 || c.Stats().Evictions == 0 {
		t.Fatal("going over the bound with dirty buffers wrote nothing back")
	}
	if st := c.Stats(); st.Bytes > bound {
		t.Fatalf("dirty buffers kept the cache over its bound: %+v", st)
	}
	if err := d.Sync(nil, true); err != 0 {
		t.Fatal(err)
	}
	for i := range int64(nblk) {
		want := fmt.Sprintf("block %d", i)
		if got := f.contents(i*bs, len(want)); string(got) != want {
			t.Fatalf("block %d on the device holds %q, want %q", i, got, want)
		}
	}
}

// TestSyncOrderCoalesce: Sync writes dirty buffers in block order, one
// request per run of adjacent buffers, then syncs the device.
func TestSyncOrderCoalesce(t *testing.T) {
	f := newFakeDev(1 << 20)
	c := NewCache(nil, 1<<20)
	d := c.Attach(f, "fake")
	for _, blk := range []int64{200, 24, 8, 16, 0, 100} {
		b := mustBread(t, d, blk, 4096)
		b.Data[0] = byte(blk)
		b.Bdwrite()
	}
	if d.NDirty() != 6 || f.writes.Load() != 0 {
		t.Fatalf("after 6 Bdwrites: %d dirty, %d writes", d.NDirty(), f.writes.Load())
	}
	if err := d.Sync(nil, false); err != 0 {
		t.Fatal(err)
	}
	want := []ioRec{{0, 4 * 4096}, {100 * DevBSize, 4096}, {200 * DevBSize, 4096}}
	if got := f.writeLog(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Sync wrote %v, want %v", got, want)
	}
	if d.NDirty() != 0 || f.syncs.Load() != 0 {
		t.Fatalf("after a lazy Sync: %d dirty, %d device syncs", d.NDirty(), f.syncs.Load())
	}
	for _, blk := range []int64{200, 24, 8, 16, 0, 100} {
		if got := f.contents(blk*DevBSize, 1); got[0] != byte(blk) {
			t.Fatalf("block %d holds %d on the device", blk, got[0])
		}
	}
	if err := c.SyncAll(nil); err != 0 || f.syncs.Load() != 1 {
		t.Fatalf("SyncAll: %v, %d device syncs", err, f.syncs.Load())
	}
}

func TestSyncSkipsBusyWhenLazy(t *testing.T) {
	f := newFakeDev(1 << 20)
	c := NewCache(nil, 1<<20)
	d := c.Attach(f, "fake")
	b := mustBread(t, d, 0, 512)
	b.Bdwrite()
	b = mustBread(t, d, 0, 512) // busy now
	if err := d.Sync(nil, false); err != 0 || f.writes.Load() != 0 {
		t.Fatalf("lazy Sync of a busy buffer: %v, %d writes", err, f.writes.Load())
	}
	b.Brelse()
	if err := d.Sync(nil, true); err != 0 || f.writes.Load() != 1 {
		t.Fatalf("Sync: %v, %d writes", err, f.writes.Load())
	}
}

func TestReadError(t *testing.T) {
	f := newFakeDev(1 << 20)
	f.set(func(f *fakeDev) { f.failRead = func(off int64, n int) bool { return off == 5*DevBSize } })
	c := NewCache(nil, 1<<20)
	d := c.Attach(f, "fake")

	if b, err := d.Bread(nil, 5, 512); err != unix.EIO || b != nil {
		t.Fatalf("failed read: %v, %v; want nil, EIO", b, err)
	}
	if st := c.Stats(); st.Bufs != 0 || st.Bytes != 0 || st.ReadErrors != 1 {
		t.Fatalf("a failed read left %+v", st)
	}
	f.set(func(f *fakeDev) { f.failRead = nil })
	b := mustBread(t, d, 5, 512)
	if !bytes.Equal(b.Data, patternAt(5*DevBSize, 512)) || f.reads.Load() != 2 {
		t.Fatal("the block was not read again after the error")
	}
	b.Brelse()

	// At and past the end: EIO; straddling: cut short, zero-filled.
	if _, err := d.Bread(nil, (1<<20)/DevBSize, 512); err != unix.EIO {
		t.Fatalf("Bread at the end of the device: %v, want EIO", err)
	}
	b = mustBread(t, d, (1<<20)/DevBSize-1, 1024)
	if !bytes.Equal(b.Data, append(patternAt(1<<20-512, 512), make([]byte, 512)...)) {
		t.Fatal("a block straddling the end is not the device's data then zeros")
	}
	b.Brelse()
}

func TestWriteError(t *testing.T) {
	f := newFakeDev(1 << 20)
	f.set(func(f *fakeDev) { f.failWrite = func(int64, int) bool { return true } })
	c := NewCache(nil, 1<<20)
	d := c.Attach(f, "fake")

	b := mustBread(t, d, 0, 1024)
	copy(b.Data, "x")
	if err := b.Bwrite(nil); err != unix.EIO {
		t.Fatalf("failed Bwrite: %v, want EIO", err)
	}
	if d.NDirty() != 1 {
		t.Fatal("a failed Bwrite did not leave the buffer dirty")
	}
	b = mustBread(t, d, 2, 1024)
	b.Bawrite(nil)
	if err := d.Sync(nil, true); err != unix.EIO || d.NDirty() != 2 {
		t.Fatalf("Sync with failing writes: %v, %d dirty; want EIO, 2", err, d.NDirty())
	}
	if err := d.Flush(nil); err != unix.EIO || c.Stats().Bufs != 2 {
		t.Fatalf("Flush with failing writes: %v, %+v; want EIO and the dirty buffers kept", err, c.Stats())
	}
	// Growing a dirty buffer whose write-back fails is an error too.
	if _, err := d.Bread(nil, 0, 4096); err != unix.EIO {
		t.Fatalf("Bread growing an unwritable dirty buffer: %v, want EIO", err)
	}
	f.set(func(f *fakeDev) { f.failWrite = nil })
	if err := d.Sync(nil, true); err != 0 || d.NDirty() != 0 {
		t.Fatalf("Sync after the fault cleared: %v, %d dirty", err, d.NDirty())
	}
	if got := f.contents(0, 1); got[0] != 'x' {
		t.Fatal("the data of the failed write was lost")
	}
	if st := c.Stats(); st.WriteErrors < 3 {
		t.Fatalf("write errors not counted: %+v", st)
	}
}

func TestInvalidateFlushDetach(t *testing.T) {
	f := newFakeDev(1 << 20)
	c := NewCache(nil, 1<<20)
	d := c.Attach(f, "fake")

	b := mustBread(t, d, 0, 512)
	b.Bdwrite()
	b = mustBread(t, d, 0, 512)
	b.Invalidate() // a freed block: its dirty data is discarded
	if d.NDirty() != 0 || c.Stats().Bufs != 0 || f.writes.Load() != 0 {
		t.Fatal("Invalidate kept or wrote the buffer")
	}

	for i := range int64(4) {
		b := mustBread(t, d, i, 512)
		b.Bdwrite()
	}
	mustBread(t, d, 10, 512).Brelse()
	d.Invalidate(nil)
	if d.NDirty() != 0 || c.Stats().Bufs != 0 || f.writes.Load() != 0 {
		t.Fatal("Dev.Invalidate kept or wrote buffers")
	}

	for i := range int64(4) {
		mustBread(t, d, i, 512).Bdwrite()
	}
	if err := d.Flush(nil); err != 0 {
		t.Fatal(err)
	}
	if d.NDirty() != 0 || c.Stats().Bufs != 0 || f.writes.Load() != 1 || f.syncs.Load() != 1 {
		t.Fatalf("Flush: %d dirty, %+v, %d writes, %d syncs", d.NDirty(), c.Stats(), f.writes.Load(), f.syncs.Load())
	}

	mustBread(t, d, 0, 512).Brelse()
	d.Detach()
	if _, err := d.Bread(nil, 0, 512); err != unix.ENXIO {
		t.Fatalf("Bread after Detach: %v, want ENXIO", err)
	}
	if c.Stats().Bufs != 0 || len(c.devList()) != 0 {
		t.Fatal("Detach left buffers or the device behind")
	}
}

// TestDiscard: a cached block, dirty and held or not, leaves the cache
// unwritten; an uncached one is not brought in.
func TestDiscard(t *testing.T) {
	f := newFakeDev(1 << 20)
	c := NewCache(nil, 1<<20)
	d := c.Attach(f, "fake")

	b := mustBread(t, d, 8, 4096)
	b.Hold()
	b.Bdwrite()
	mustBread(t, d, 16, 1024).Brelse()
	if !d.Discard(nil, 8) || !d.Discard(nil, 16) {
		t.Fatal("Discard did not find a cached block")
	}
	if d.Discard(nil, 8) || d.Discard(nil, 24) {
		t.Fatal("Discard found a block that is not cached")
	}
	st := c.Stats()
	if d.NDirty() != 0 || st.Bufs != 0 || st.Held != 0 || f.writes.Load() != 0 {
		t.Fatalf("after Discard: %d dirty, %+v, %d writes; want nothing cached or written", d.NDirty(), st, f.writes.Load())
	}
	if err := d.Sync(nil, true); err != 0 || f.writes.Load() != 0 {
		t.Fatalf("Sync after Discard: %v, %d writes", err, f.writes.Load())
	}
}

// TestDevicesDoNotAlias: the same block number on two devices is two
// buffers.
func TestDevicesDoNotAlias(t *testing.T) {
	f1, f2 := newFakeDev(1<<20), newFakeDev(1<<20)
	f2.sectors[0] = bytes.Repeat([]byte{0xee}, 512)
	c := NewCache(nil, 1<<20)
	d1, d2 := c.Attach(f1, "one"), c.Attach(f2, "two")
	b1 := mustBread(t, d1, 0, 512)
	b2 := mustBread(t, d2, 0, 512)
	if b1 == b2 || b1.Data[0] == b2.Data[0] {
		t.Fatal("two devices share a buffer")
	}
	b1.Brelse()
	b2.Brelse()
}

func TestSyncer(t *testing.T) {
	f := newFakeDev(1 << 20)
	c := NewCache(nil, 1<<20)
	d := c.Attach(f, "fake")
	c.StartSyncer(time.Millisecond)
	defer c.Stop()
	b := mustBread(t, d, 8, 1024)
	copy(b.Data, "syncer")
	b.Bdwrite()
	// Wait for the event, not for a time: the deadline only turns a hang
	// into a failure.
	deadline := time.Now().Add(20 * time.Second)
	for d.NDirty() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the syncer never wrote the dirty buffer")
		}
		time.Sleep(time.Millisecond)
	}
	done := c.done
	c.Stop()
	<-done // the syncer goroutine exits
	if got := f.contents(8*DevBSize, 6); string(got) != "syncer" {
		t.Fatalf("device holds %q after the syncer ran", got)
	}
}

func bootKernel(t *testing.T, ncpu int) *kernel.Kernel {
	t.Helper()
	k, err := kernel.Boot(kernel.Config{NCPU: ncpu, Console: io.Discard, Exit: func(int) {}})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestKernel: counters are kernel evcnts, errors reach dmesg, the syncer
// runs as a proc0 LWP, and waiting for a busy buffer gives the CPU back.
func TestKernel(t *testing.T) {
	k := bootKernel(t, 1)
	f := newFakeDev(1 << 20)
	c := NewCache(k, 1<<20)
	d := c.Attach(f, "fakedisk")

	l0 := k.LWP0()
	l0.Schedule()
	b, err := d.Bread(l0, 0, 512)
	if err != 0 {
		t.Fatal(err)
	}
	b.Brelse()
	f.set(func(f *fakeDev) { f.failRead = func(int64, int) bool { return true } })
	if _, err := d.Bread(l0, 64, 512); err != unix.EIO {
		t.Fatalf("failed read: %v", err)
	}
	l0.Unschedule()
	counts := map[string]uint64{}
	for _, e := range k.Evcnts() {
		if e.Group == "bio" {
			counts[e.Name] = e.Count
		}
	}
	if counts["misses"] != 2 || counts["read errors"] != 1 {
		t.Fatalf("bio evcnts %v", counts)
	}
	if !bytes.Contains([]byte(k.Dmesg()), []byte("bio: fakedisk: read error")) {
		t.Fatalf("no read error in dmesg:\n%s", k.Dmesg())
	}

	// One CPU. A holds a buffer busy; B, scheduled, waits for it; C can
	// still schedule because B gave the CPU back.
	a, _ := k.NewLWP(1)
	bl, _ := k.NewLWP(1)
	cl, _ := k.NewLWP(1)
	held := mustBread(t, d, 0, 512) // held by A (unscheduled)
	waiting := make(chan struct{})
	testHookBusyWait = func(*Buf) { close(waiting) }
	defer func() { testHookBusyWait = nil }()
	got := make(chan unix.Errno)
	go func() {
		bl.Schedule()
		b, err := d.Bread(bl, 0, 512)
		if err == 0 {
			b.Brelse()
		}
		bl.Unschedule()
		got <- err
	}()
	<-waiting
	cl.Schedule() // hangs if B kept the only CPU while waiting
	cl.Unschedule()
	held.Brelse()
	if err := <-got; err != 0 {
		t.Fatal(err)
	}
	_ = a

	c.StartSyncer(time.Millisecond)
	b, _ = d.Getblk(nil, 128, 512), 0
	b.Bdwrite()
	for d.NDirty() != 0 {
		time.Sleep(time.Millisecond)
	}
	done := c.done
	c.Stop()
	<-done
	if got := k.FindProc(0).NLWP(); got != 1 {
		t.Fatalf("proc0 has %d LWPs after the syncer stopped, want 1 (lwp0)", got)
	}

	// Stop while holding the only CPU must not wait for a syncer that is
	// waiting for that CPU.
	c.StartSyncer(time.Nanosecond)
	done = c.done
	for range 100 {
		runtime.Gosched()
	}
	l0.Schedule()
	c.Stop()
	l0.Unschedule()
	<-done
	if got := k.FindProc(0).NLWP(); got != 1 {
		t.Fatalf("proc0 has %d LWPs after the syncer stopped, want 1 (lwp0)", got)
	}
}

// TestConcurrentStress runs readers and writers over a small cache with
// the syncer on, then checks every block against a model. Workers also
// read each other's blocks, at another size sometimes (resizes, write-backs
// of someone else's dirty buffer). With one virtual CPU it checks that
// every wait gives the CPU back: a wait that kept it would hang.
func TestConcurrentStress(t *testing.T) {
	t.Run("no kernel", func(t *testing.T) { stress(t, nil, 64<<10) })
	t.Run("one CPU", func(t *testing.T) { stress(t, bootKernel(t, 1), 64<<10) })
	// Everything fits: shard tables grow, and shrink as Invalidate empties
	// them, under concurrent lock-free lookups.
	t.Run("no eviction", func(t *testing.T) { stress(t, nil, 8<<20) })
}

func stress(t *testing.T, k *kernel.Kernel, bound int64) {
	const (
		workers = 8
		blocks  = 64 // per worker
		bs      = 2048
		ops     = 3000
	)
	f := newFakeDev(workers * blocks * bs)
	c := NewCache(k, bound)
	d := c.Attach(f, "fake")
	c.StartSyncer(time.Millisecond)
	defer c.Stop()

	models := make([][]byte, workers) // last byte written per block (0: never)
	var wg sync.WaitGroup
	for w := range workers {
		models[w] = make([]byte, blocks)
		var l *kernel.LWP
		if k != nil {
			var err error
			if l, err = k.NewLWP(1); err != nil {
				t.Fatal(err)
			}
		}
		wg.Go(func() {
			l.Schedule()
			defer func() {
				l.Unschedule()
				if k != nil {
					k.ReleaseLWP(l)
				}
			}()
			r := rand.New(rand.NewPCG(uint64(w), 1))
			model := models[w]
			for i := range ops {
				blk := int64(w*blocks+r.IntN(blocks)) * bs / DevBSize
				if r.IntN(8) == 0 {
					other := int64(r.IntN(workers*blocks)) * bs / DevBSize
					size := bs
					if r.IntN(4) == 0 {
						size = bs / 2
					}
					if b, err := d.Bread(l, other, size); err == 0 {
						b.Brelse()
					} else {
						t.Errorf("Bread of a neighbour's block: %v", err)
					}
					continue
				}
				b, err := d.Bread(l, blk, bs)
				if err != 0 {
					t.Errorf("Bread: %v", err)
					return
				}
				j := blk * DevBSize / bs % blocks
				want := model[j]
				if want != 0 && b.Data[bs-1] != want {
					t.Errorf("block %d: last byte %d, want %d", blk, b.Data[bs-1], want)
				}
				switch r.IntN(4) {
				case 0:
					b.Brelse()
				case 1:
					v := byte(i%255 + 1)
					b.Data[bs-1], model[j] = v, v
					b.Bdwrite()
				case 2:
					v := byte(i%255 + 1)
					b.Data[bs-1], model[j] = v, v
					if err := b.Bwrite(l); err != 0 {
						t.Errorf("Bwrite: %v", err)
					}
				case 3:
					if b.Dirty() {
						b.Brelse()
					} else {
						b.Invalidate()
					}
				}
			}
		})
	}
	wg.Wait()
	c.Stop()
	if err := c.SyncAll(nil); err != 0 {
		t.Fatal(err)
	}
	for w := range workers {
		for j, v := range models[w] {
			if v == 0 {
				continue
			}
			off := int64(w*blocks+j) * bs
			if got := f.contents(off+bs-1, 1)[0]; got != v {
				t.Fatalf("worker %d block %d: device has %d, want %d", w, j, got, v)
			}
		}
	}
	if st := c.Stats(); st.Bytes > c.MaxBytes() {
		t.Fatalf("over the bound at rest: %+v", st)
	}
}

// TestBreadn: read-ahead blocks contiguous with a missed block come in
// with it in one device request; a cached one ends the run.
func TestBreadn(t *testing.T) {
	f := newFakeDev(1 << 20)
	c := NewCache(nil, 1<<20)
	d := c.Attach(f, "fake")

	mustBread(t, d, 40, 2048).Brelse() // cached: ends the run below
	reads := f.reads.Load()
	b, err := d.Breadn(nil, 16, 4096, []int64{24, 32, 40, 48}, []int{4096, 4096, 2048, 4096})
	if err != 0 {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Data, patternAt(16*DevBSize, 4096)) {
		t.Fatal("Breadn: data differs from the device")
	}
	b.Brelse()
	if got := f.reads.Load() - reads; got != 1 {
		t.Fatalf("Breadn with read-ahead made %d device reads, want 1", got)
	}
	for blk, size := range map[int64]int{24: 4096, 32: 4096, 40: 2048} {
		b := mustBread(t, d, blk, size)
		if !bytes.Equal(b.Data, patternAt(blk*DevBSize, size)) {
			t.Fatalf("read-ahead block %d: data differs from the device", blk)
		}
		b.Brelse()
	}
	if got := f.reads.Load() - reads; got != 1 {
		t.Fatalf("read-ahead blocks were not cached: %d device reads", got)
	}
	mustBread(t, d, 48, 4096).Brelse() // after the cached block: not read ahead
	if got := f.reads.Load() - reads; got != 2 {
		t.Fatalf("a block past a cached one was read ahead (%d reads)", got)
	}

	// A failing run falls back to the block alone.
	f.set(func(f *fakeDev) { f.failRead = func(off int64, n int) bool { return n > 4096 } })
	b, err = d.Breadn(nil, 128, 4096, []int64{136}, []int{4096})
	if err != 0 || !bytes.Equal(b.Data, patternAt(128*DevBSize, 4096)) {
		t.Fatalf("Breadn with a failing read-ahead: %v", err)
	}
	b.Brelse()
	if st := c.Stats(); st.Bufs != 6 {
		t.Fatalf("after a failed read-ahead: %d buffers cached, want 6", st.Bufs)
	}
}

// TestSelfDeadlockPanics: an LWP reading a block it holds (a block
// pointer looping back on a corrupt image) panics rather than hangs.
func TestSelfDeadlockPanics(t *testing.T) {
	k := bootKernel(t, 1)
	c := NewCache(k, 1<<20)
	d := c.Attach(newFakeDev(1<<20), "fake")
	l, _ := k.NewLWP(1)
	l.Schedule()
	defer l.Unschedule()
	b, err := d.Bread(l, 8, 1024)
	if err != 0 {
		t.Fatal(err)
	}
	func() {
		defer func() {
			if r := recover(); r == nil {
				t.Fatal("a second Bread of a held block by the same LWP did not panic")
			}
		}()
		d.Bread(l, 8, 1024)
	}()
	b.Brelse()
	// Released, the block is the LWP's to take again.
	b, err = d.Bread(l, 8, 1024)
	if err != 0 {
		t.Fatal(err)
	}
	b.Brelse()
}

// TestTableGrowShrink: shard tables grow with the cache and shrink when
// it empties, and every buffer stays findable through the rebuilds.
func TestTableGrowShrink(t *testing.T) {
	f := newFakeDev(64 << 20)
	c := NewCache(nil, 64<<20)
	d := c.Attach(f, "fake")
	const n = 5000
	for i := range int64(n) {
		mustBread(t, d, i*16, 512).Brelse()
	}
	for i := range int64(n) {
		mustBread(t, d, i*16, 512).Brelse()
	}
	if r := f.reads.Load(); r != n {
		t.Fatalf("%d buffers read twice made %d device reads, want %d", n, r, n)
	}
	slots := 0
	for i := range c.shards {
		slots += len(c.shards[i].tab.Load().slots)
	}
	if slots < n {
		t.Fatalf("tables hold %d slots for %d buffers", slots, n)
	}
	for i := range int64(n) {
		if i%10 != 0 {
			mustBread(t, d, i*16, 512).Invalidate()
		}
	}
	for i := range int64(n / 10) {
		mustBread(t, d, i*160, 512).Brelse()
	}
	if r := f.reads.Load(); r != n {
		t.Fatalf("buffers kept through shrinking were read again: %d reads", r)
	}
	shrunk := 0
	for i := range c.shards {
		shrunk += len(c.shards[i].tab.Load().slots)
	}
	if shrunk >= slots/2 {
		t.Fatalf("tables did not shrink: %d slots, were %d, for %d buffers", shrunk, slots, n/10)
	}
	// Hits: the second pass, the Breads before Invalidate, the last pass.
	if st := c.Stats(); st.Hits != 2*n || st.Misses != n {
		t.Fatalf("stats %+v, want %d hits and %d misses", st, 2*n, n)
	}
}

// TestEvictionWriteFailure: when dirty buffers cannot be written, a miss
// over the bound tries one write-back, not every dirty buffer, and
// nothing is lost.
func TestEvictionWriteFailure(t *testing.T) {
	const bound = 64 << 10
	const bs = 4096
	f := newFakeDev(1 << 20)
	f.set(func(f *fakeDev) { f.failWrite = func(int64, int) bool { return true } })
	c := NewCache(nil, bound)
	d := c.Attach(f, "fake")
	const nblk = 32
	for i := range int64(nblk) {
		b := d.Getblk(nil, i*bs/DevBSize, bs)
		b.Data[0] = byte(i + 1)
		b.Bdwrite()
	}
	if w := f.writes.Load(); w > nblk {
		t.Fatalf("%d misses over the bound tried %d write-backs", nblk, w)
	}
	if d.NDirty() != nblk {
		t.Fatalf("%d dirty buffers, want %d: unwritable data was dropped", d.NDirty(), nblk)
	}
	f.set(func(f *fakeDev) { f.failWrite = nil })
	if err := d.Sync(nil, true); err != 0 {
		t.Fatal(err)
	}
	for i := range int64(nblk) {
		if got := f.contents(i*bs, 1)[0]; got != byte(i+1) {
			t.Fatalf("block %d: device has %d, want %d", i, got, i+1)
		}
	}
}

// TestIncoreCached: a block is in core from its miss until it is dropped,
// read ahead or read, and Cached lists exactly those.
func TestIncoreCached(t *testing.T) {
	f := newFakeDev(1 << 20)
	c := NewCache(nil, 1<<20)
	d := c.Attach(f, "fake")
	if d.Incore(8) || len(d.Cached()) != 0 {
		t.Fatal("empty cache has blocks")
	}
	b, err := d.Breadn(nil, 8, 4096, []int64{16}, []int{4096})
	if err != 0 {
		t.Fatal(err)
	}
	if !d.Incore(8) || !d.Incore(16) || d.Incore(24) {
		t.Error("Incore wrong after Breadn of 8 with 16 ahead")
	}
	b.Invalidate()
	if d.Incore(8) {
		t.Error("invalidated block still in core")
	}
	got := d.Cached()
	if len(got) != 1 || got[0] != 16 {
		t.Errorf("Cached = %v, want [16]", got)
	}
}
