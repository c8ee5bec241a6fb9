package bio

import (
	"bytes"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rumpfs/rumpfs/kernel"
	"golang.org/x/sys/unix"
)

// putBlock gives block blkno (4 KiB) the contents s and gives it back
// dirty, held when hold is set.
func putBlock(t *testing.T, d *Dev, blkno int64, s string, hold bool) {
	t.Helper()
	b := d.Getblk(nil, blkno, 4096)
	copy(b.Data, s)
	if hold {
		b.Hold()
	}
	b.Bdwrite()
}

// wroteAt reports whether the device was written at byte offset off.
func wroteAt(f *fakeDev, off int64) bool {
	for _, r := range f.writeLog() {
		if off >= r.off && off < r.off+int64(r.n) {
			return true
		}
	}
	return false
}

// waitFor polls cond; the deadline only turns a hang into a failure.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never happened: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestHoldSync: Dev.Sync, SyncAll, Bwrite and Flush leave a held buffer
// alone until its last hold is released; then it is an ordinary dirty
// buffer.
func TestHoldSync(t *testing.T) {
	f := newFakeDev(1 << 20)
	c := NewCache(nil, 1<<20)
	d := c.Attach(f, "fake")
	putBlock(t, d, 8, "held", true)
	putBlock(t, d, 16, "plain", false)

	if err := d.Sync(nil, true); err != 0 {
		t.Fatal(err)
	}
	if err := c.SyncAll(nil); err != 0 {
		t.Fatal(err)
	}
	if wroteAt(f, 8*DevBSize) || !wroteAt(f, 16*DevBSize) {
		t.Fatalf("Sync wrote %v; want block 16 and not the held block 8", f.writeLog())
	}
	if st := c.Stats(); st.Held != 1 || st.HeldBytes != 4096+bufOverhead || d.NDirty() != 1 {
		t.Fatalf("one held buffer: %+v, %d dirty", st, d.NDirty())
	}
	b := mustBread(t, d, 8, 4096)
	if !b.Held() || !b.Dirty() {
		t.Fatal("the held buffer is not held and dirty")
	}
	if err := b.Bwrite(nil); err != unix.EBUSY {
		t.Fatalf("Bwrite of a held buffer: %v, want EBUSY", err)
	}
	if err := d.Flush(nil); err != unix.EBUSY {
		t.Fatalf("Flush with a held buffer: %v, want EBUSY", err)
	}
	if _, err := d.Bread(nil, 8, 8192); err != unix.EBUSY {
		t.Fatalf("Bread of a held buffer at another size: %v, want EBUSY", err)
	}
	b = mustBread(t, d, 8, 4096)
	if string(b.Data[:4]) != "held" || wroteAt(f, 8*DevBSize) {
		t.Fatalf("after Bwrite and Flush the held buffer holds %q, device writes %v", b.Data[:4], f.writeLog())
	}
	// A second transaction holds it again; the first one's release
	// leaves it pinned.
	b.Hold()
	b.Brelse()
	if !d.Unhold(nil, 8) {
		t.Fatal("Unhold of a held block said no")
	}
	if err := d.Sync(nil, true); err != 0 || wroteAt(f, 8*DevBSize) {
		t.Fatalf("Sync with one of two holds released: %v, writes %v", err, f.writeLog())
	}
	if !d.Unhold(nil, 8) {
		t.Fatal("second Unhold said no")
	}
	if d.Unhold(nil, 8) || d.Unhold(nil, 800) {
		t.Fatal("Unhold of a block not held, or not cached, said yes")
	}
	if st := c.Stats(); st.Held != 0 || st.HeldBytes != 0 {
		t.Fatalf("nothing held: %+v", st)
	}
	if err := d.Flush(nil); err != 0 {
		t.Fatal(err)
	}
	if got := f.contents(8*DevBSize, 4); string(got) != "held" {
		t.Fatalf("released block on the device: %q", got)
	}

	// Invalidate drops a held buffer and its hold (a freed block).
	b = d.Getblk(nil, 24, 4096)
	b.Hold()
	b.Invalidate()
	b = d.Getblk(nil, 32, 4096)
	b.Hold()
	b.Brelse() // never filled: dropped too
	if st := c.Stats(); st.Held != 0 || st.HeldBytes != 0 {
		t.Fatalf("held buffers invalidated: %+v", st)
	}
}

// TestHoldSyncer: the syncer skips held buffers and runs barriers before
// the buffers that have them.
func TestHoldSyncer(t *testing.T) {
	f := newFakeDev(1 << 20)
	c := NewCache(nil, 1<<20)
	d := c.Attach(f, "fake")
	var order []string
	f.set(func(f *fakeDev) {
		f.onWrite = func(p []byte, off int64) { order = append(order, fmt.Sprint(off/DevBSize)) }
	})
	putBlock(t, d, 8, "held", true)
	b := d.Getblk(nil, 16, 4096)
	copy(b.Data, "ordered")
	b.AddBarrier(func(l *kernel.LWP) unix.Errno {
		_, err := f.WriteAt(l, make([]byte, 512), 100*DevBSize)
		return err
	})
	b.Bdwrite()
	c.StartSyncer(time.Millisecond)
	defer c.Stop()
	waitFor(t, "the syncer writes the ordered buffer", func() bool { return d.NDirty() == 1 })
	f.set(func(*fakeDev) {}) // order is written under f.mu
	if fmt.Sprint(order) != "[100 16]" {
		t.Fatalf("device writes %v; want the barrier's (100), then block 16", order)
	}
	if !d.Unhold(nil, 8) {
		t.Fatal("Unhold said no")
	}
	waitFor(t, "the syncer writes the released buffer", func() bool { return d.NDirty() == 0 })
	if got := f.contents(8*DevBSize, 4); string(got) != "held" {
		t.Fatalf("device holds %q", got)
	}
}

// TestHoldEviction: eviction never writes or drops a held buffer, the
// bound then covers the other buffers, and Stats shows the excess.
func TestHoldEviction(t *testing.T) {
	const bound = 64 << 10
	const nheld = 32 // twice the bound
	f := newFakeDev(2 << 20)
	c := NewCache(nil, bound)
	d := c.Attach(f, "fake")
	released := false
	var bad []int64
	f.set(func(f *fakeDev) {
		f.onWrite = func(p []byte, off int64) {
			if !released && off < nheld*4096 {
				bad = append(bad, off)
			}
		}
	})
	for i := range int64(nheld) {
		putBlock(t, d, i*8, fmt.Sprintf("held %d", i), true)
	}
	for i := range int64(64) {
		b := mustBread(t, d, (nheld+i)*8, 4096)
		if i%4 == 0 {
			b.Bdwrite()
		} else {
			b.Brelse()
		}
	}
	st := c.Stats()
	f.set(func(*fakeDev) {})
	if len(bad) > 0 {
		t.Fatalf("held buffers written at %v", bad)
	}
	if st.Held != nheld || st.HeldBytes != nheld*(4096+bufOverhead) || st.Bytes <= st.MaxBytes ||
		st.Bytes-st.HeldBytes > st.MaxBytes || st.Evictions == 0 {
		t.Fatalf("held past the bound: %+v", st)
	}
	for i := range int64(nheld) {
		b := mustBread(t, d, i*8, 4096)
		if want := fmt.Sprintf("held %d", i); string(b.Data[:len(want)]) != want {
			t.Fatalf("held block %d holds %q", i, b.Data[:len(want)])
		}
		b.Brelse()
	}
	if r := f.reads.Load(); r != 64 {
		t.Fatalf("%d device reads; held blocks were read again", r)
	}

	f.set(func(*fakeDev) { released = true })
	for i := range int64(nheld) {
		d.Unhold(nil, i*8)
	}
	for i := range int64(64) {
		mustBread(t, d, (200+i)*8, 4096).Brelse()
	}
	if st := c.Stats(); st.Held != 0 || st.Bytes > st.MaxBytes {
		t.Fatalf("after release: %+v", st)
	}
	if err := d.Sync(nil, true); err != 0 {
		t.Fatal(err)
	}
	for i := range int64(nheld) {
		if want := fmt.Sprintf("held %d", i); string(f.contents(i*4096, len(want))) != want {
			t.Fatalf("released block %d lost", i)
		}
	}
}

// TestBarrier: barriers run before the buffer's write, alone (the
// buffer is not coalesced), once; one that fails stops the write;
// eviction leaves an ordered buffer alone; a held buffer's barrier waits
// for its release.
func TestBarrier(t *testing.T) {
	f := newFakeDev(1 << 20)
	c := NewCache(nil, 1<<20)
	d := c.Attach(f, "fake")
	var calls atomic.Int32
	data := func(l *kernel.LWP) unix.Errno {
		calls.Add(1)
		if _, err := f.WriteAt(l, bytes.Repeat([]byte("d"), 512), 0); err != 0 {
			return err
		}
		return f.Sync(l)
	}
	putBlock(t, d, 92, "before", false)
	b := d.Getblk(nil, 100, 4096)
	copy(b.Data, "meta")
	b.AddBarrier(data)
	b.Bdwrite()
	putBlock(t, d, 108, "after", false)
	if err := d.Sync(nil, true); err != 0 {
		t.Fatal(err)
	}
	want := []ioRec{{92 * DevBSize, 4096}, {0, 512}, {100 * DevBSize, 4096}, {108 * DevBSize, 4096}}
	if got := f.writeLog(); fmt.Sprint(got) != fmt.Sprint(want) || calls.Load() != 1 {
		t.Fatalf("writes %v, barrier calls %d; want %v and 1", got, calls.Load(), want)
	}

	// A failing barrier stops Sync and Bwrite; it runs again until it
	// succeeds, and not after.
	fail := atomic.Int32{}
	fail.Store(2)
	b = mustBread(t, d, 100, 4096)
	copy(b.Data, "meta2")
	b.AddBarrier(func(l *kernel.LWP) unix.Errno {
		if fail.Add(-1) >= 0 {
			return unix.EIO
		}
		return data(l)
	})
	b.Bdwrite()
	nw := len(f.writeLog())
	if err := d.Sync(nil, true); err != unix.EIO {
		t.Fatalf("Sync with a failing barrier: %v", err)
	}
	if err := mustBread(t, d, 100, 4096).Bwrite(nil); err != unix.EIO {
		t.Fatalf("Bwrite with a failing barrier: %v", err)
	}
	if len(f.writeLog()) != nw || d.NDirty() != 1 {
		t.Fatalf("failed barrier: writes %v, %d dirty", f.writeLog()[nw:], d.NDirty())
	}
	if err := mustBread(t, d, 100, 4096).Bwrite(nil); err != 0 {
		t.Fatal(err)
	}
	if got := f.writeLog()[nw:]; fmt.Sprint(got) != fmt.Sprint(want[1:3]) || calls.Load() != 2 {
		t.Fatalf("writes %v, barrier calls %d", got, calls.Load())
	}
	b = mustBread(t, d, 100, 4096)
	b.Data[0] = 'M'
	if err := b.Bwrite(nil); err != 0 || calls.Load() != 2 {
		t.Fatalf("a barrier that succeeded ran again: %v, %d calls", err, calls.Load())
	}

	// Eviction skips the ordered buffer; Sync then writes it.
	c2 := NewCache(nil, 64<<10)
	d2 := c2.Attach(f, "fake2")
	b = d2.Getblk(nil, 400, 4096)
	copy(b.Data, "ordered")
	b.AddBarrier(data)
	b.Bdwrite()
	for i := range int64(64) {
		mustBread(t, d2, 1000+i*8, 4096).Brelse()
	}
	if calls.Load() != 2 || wroteAt(f, 400*DevBSize) || c2.Stats().Evictions == 0 {
		t.Fatalf("eviction wrote an ordered buffer: %d calls, %+v", calls.Load(), c2.Stats())
	}
	if err := d2.Sync(nil, true); err != 0 || calls.Load() != 3 || !wroteAt(f, 400*DevBSize) {
		t.Fatalf("Sync of the ordered buffer: %v, %d calls", err, calls.Load())
	}

	// Held: no barrier, no write, until the release.
	b = mustBread(t, d, 100, 4096)
	b.Hold()
	b.AddBarrier(data)
	b.Bdwrite()
	if err := d.Sync(nil, true); err != 0 || calls.Load() != 3 {
		t.Fatalf("Sync ran a held buffer's barrier: %v, %d calls", err, calls.Load())
	}
	d.Unhold(nil, 100)
	if err := d.Sync(nil, true); err != 0 || calls.Load() != 4 {
		t.Fatalf("Sync after the release: %v, %d calls", err, calls.Load())
	}
}

// TestHoldConcurrent: LWPs hold, change and release their blocks while
// the syncer, lazy Syncs and eviction (a small bound) run; the device
// never receives a block as it was while held, and the accounting
// returns to zero.
func TestHoldConcurrent(t *testing.T) {
	const workers, rounds, perWorker = 4, 200, 8
	f := newFakeDev(8 << 20)
	c := NewCache(nil, 64<<10)
	d := c.Attach(f, "fake")
	var bad atomic.Int64
	f.set(func(f *fakeDev) {
		f.onWrite = func(p []byte, off int64) {
			for i := 0; i < len(p); i += 4096 {
				if p[i] == 'H' {
					bad.Add(1)
				}
			}
		}
	})
	c.StartSyncer(time.Millisecond)
	defer c.Stop()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				blk := int64(w*perWorker+r%perWorker) * 8
				b := d.Getblk(nil, blk, 4096)
				b.Data[0], b.Data[1] = 'H', byte(r)
				b.Hold()
				b.Bdwrite()
				// Other traffic: misses that evict, and lazy syncs.
				mustBread(t, d, int64(1000+(w*rounds+r)%512)*8, 4096).Brelse()
				if r%7 == 0 {
					_ = d.Sync(nil, false)
				}
				b = mustBread(t, d, blk, 4096)
				b.Data[0] = 'U'
				if r%2 == 0 {
					b.Unhold()
					b.Bdwrite()
				} else {
					b.Bdwrite()
					if !d.Unhold(nil, blk) {
						t.Error("Unhold of a held block said no")
					}
				}
			}
		}()
	}
	wg.Wait()
	c.Stop()
	if err := d.Sync(nil, true); err != 0 {
		t.Fatal(err)
	}
	if n := bad.Load(); n > 0 {
		t.Fatalf("%d held blocks reached the device", n)
	}
	if st := c.Stats(); st.Held != 0 || st.HeldBytes != 0 || d.NDirty() != 0 {
		t.Fatalf("after every release: %+v, %d dirty", st, d.NDirty())
	}
}
