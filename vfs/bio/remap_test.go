package bio

import (
	"bytes"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// remapFixture: a device whose block 10 holds the log copy of block 3,
// and an external device whose block 1 holds an escaped copy of block 5.
func remapFixture(t *testing.T) (f, ext *fakeDev, m *Remap) {
	t.Helper()
	f, ext = newFakeDev(1<<20), newFakeDev(64<<10)
	copy3 := bytes.Repeat([]byte("three"), 4096/5+1)[:4096]
	copy5 := bytes.Repeat([]byte("xfive"), 4096/5+1)[:4096]
	if _, err := f.WriteAt(nil, copy3, 10*4096); err != 0 {
		t.Fatal(err)
	}
	if _, err := ext.WriteAt(nil, copy5, 4096); err != 0 {
		t.Fatal(err)
	}
	m = NewRemap(f, 4096)
	m.Set(3, Replacement{Off: 10 * 4096})
	m.Set(5, Replacement{Dev: ext, Off: 4096, Fix: func(b []byte) { b[0] = 'F' }})
	return f, ext, m
}

// want returns what the remapped view holds at [off, off+n).
func remapWant(f *fakeDev, off int64, n int) []byte {
	p := patternAt(off, n)
	for i := range p {
		o := off + int64(i)
		switch o / 4096 {
		case 3:
			p[i] = "three"[o%4096%5]
		case 5:
			p[i] = "xfive"[o%4096%5]
			if o%4096 == 0 {
				p[i] = 'F'
			}
		}
	}
	return p
}

// TestRemapRead: through the buffer cache, remapped blocks read from
// their replacements (fixed up), whole, in part, and within a read-ahead
// run that is still one device request.
func TestRemapRead(t *testing.T) {
	f, _, m := remapFixture(t)
	c := NewCache(nil, 1<<20)
	d := c.Attach(m, "remap")
	for _, r := range []struct {
		blkno int64
		size  int
	}{{3 * 8, 4096}, {4 * 8, 4096}, {5 * 8, 4096}, {3*8 + 2, 1024}, {5*8 + 7, 512}} {
		b := mustBread(t, d, r.blkno, r.size)
		if !bytes.Equal(b.Data, remapWant(f, r.blkno*DevBSize, r.size)) {
			t.Fatalf("block %d size %d: got %.16q", r.blkno, r.size, b.Data)
		}
		b.Brelse()
	}
	if m.Len() != 2 {
		t.Fatalf("%d remapped blocks after reads", m.Len())
	}

	// A read-ahead run over remapped blocks: one request to the device
	// for the run, one per replacement.
	c2 := NewCache(nil, 1<<20)
	d2 := c2.Attach(m, "remap2")
	reads := f.reads.Load()
	b, err := d2.Breadn(nil, 2*8, 4096, []int64{3 * 8, 4 * 8, 5 * 8, 6 * 8}, []int{4096, 4096, 4096, 4096})
	if err != 0 {
		t.Fatal(err)
	}
	b.Brelse()
	if n := f.reads.Load() - reads; n != 2 {
		t.Fatalf("read-ahead over remapped blocks: %d reads of the device, want 2", n)
	}
	for blk := int64(2); blk <= 6; blk++ {
		b := mustBread(t, d2, blk*8, 4096)
		if !bytes.Equal(b.Data, remapWant(f, blk*4096, 4096)) {
			t.Fatalf("read ahead block %d: got %.16q", blk, b.Data)
		}
		b.Brelse()
	}
	if n := f.reads.Load() - reads; n != 2 {
		t.Fatalf("read-ahead blocks were not cached: %d device reads", n)
	}
}

// TestRemapWrite: a write moves the blocks it touches home: wholly
// written ones are simply written, partly written ones get their
// replacement copied home first; a failed write keeps the remapping.
func TestRemapWrite(t *testing.T) {
	f, _, m := remapFixture(t)
	c := NewCache(nil, 1<<20)
	d := c.Attach(m, "remap")
	b := mustBread(t, d, 3*8, 4096)
	copy(b.Data, "new3")
	if err := b.Bwrite(nil); err != 0 {
		t.Fatal(err)
	}
	if _, ok := m.Remapped(3); ok || string(f.contents(3*4096, 8)) != "new3ethr" {
		t.Fatalf("block 3 after its write: remapped %v, home %q", ok, f.contents(3*4096, 8))
	}

	// Half of block 5 and all of block 6, in one request.
	p := bytes.Repeat([]byte("w"), 2048+4096)
	f.set(func(f *fakeDev) { f.failWrite = func(off int64, n int) bool { return off == 5*4096+2048 } })
	if _, err := m.WriteAt(nil, p, 5*4096+2048); err != unix.EIO {
		t.Fatalf("failing write: %v", err)
	}
	f.set(func(f *fakeDev) { f.failWrite = nil })
	if _, err := m.WriteAt(nil, p, 5*4096+2048); err != 0 {
		t.Fatal(err)
	}
	want := append(remapWant(f, 5*4096, 2048), p...)
	if got := f.contents(5*4096, len(want)); !bytes.Equal(got, want) || m.Len() != 0 {
		t.Fatalf("blocks 5-6 at home: %.16q..., %d remapped", got, m.Len())
	}

	// A wholly written block keeps its remapping when the write fails.
	m.Set(7, Replacement{Off: 10 * 4096})
	f.set(func(f *fakeDev) { f.failWrite = func(off int64, n int) bool { return true } })
	if _, err := m.WriteAt(nil, make([]byte, 4096), 7*4096); err != unix.EIO {
		t.Fatalf("failing write: %v", err)
	}
	if _, ok := m.Remapped(7); !ok {
		t.Fatal("a failed write ended the remapping")
	}
}

// TestRemapConcurrent: reads racing writes that move blocks home see
// either the replacement or the new data, never the old home.
func TestRemapConcurrent(t *testing.T) {
	const nblk = 64
	f := newFakeDev(1 << 20)
	m := NewRemap(f, 4096)
	repl := bytes.Repeat([]byte("R"), 4096)
	if _, err := f.WriteAt(nil, repl, 128*4096); err != 0 {
		t.Fatal(err)
	}
	for blk := range int64(nblk) {
		m.Set(blk, Replacement{Off: 128 * 4096})
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for blk := range int64(nblk) {
			if _, err := m.WriteAt(nil, bytes.Repeat([]byte("W"), 4096), blk*4096); err != 0 {
				t.Error(err)
			}
		}
	}()
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := make([]byte, 8192)
			for i := range 4 * nblk {
				off := int64(i%(nblk-1)) * 4096
				if _, err := m.ReadAt(nil, p, off); err != 0 {
					t.Error(err)
					return
				}
				for j := 0; j < len(p); j += 4096 {
					if p[j] != 'R' && p[j] != 'W' {
						t.Errorf("block %d read as its old home", off/4096+int64(j/4096))
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	if m.Len() != 0 {
		t.Fatalf("%d blocks still remapped", m.Len())
	}
}

// TestRemapUnmapped: the prefix of a run before its first remapped block,
// with the table scanned either way (fewer entries than the run, or more).
func TestRemapUnmapped(t *testing.T) {
	_, _, m := remapFixture(t) // blocks 3 and 5
	for _, c := range []struct{ blk, n, want int64 }{
		{0, 3, 3}, {0, 4, 3}, {0, 100, 3}, {3, 5, 0}, {4, 1, 1}, {4, 2, 1}, {6, 1 << 40, 1 << 40}, {0, 1, 1},
	} {
		if got := m.Unmapped(c.blk, c.n); got != c.want {
			t.Errorf("Unmapped(%d, %d) = %d, want %d", c.blk, c.n, got, c.want)
		}
	}
}
