package etfs_test

import (
	"bytes"
	"testing"

	"github.com/rumpfs/rumpfs/etfs"
	"github.com/rumpfs/rumpfs/vfs/bio"
	"github.com/rumpfs/rumpfs/vfs/rumpblk"
)

// TestLend: a read-only device lends the window's bytes from its mapping
// (offset by the window's start); it lends nothing outside the window,
// nothing when writable, nothing while faults are set up, and nothing
// once removed.
func TestLend(t *testing.T) {
	x := boot(t)
	host, data := hostFile(t, 3*8192)
	other, _ := hostFile(t, 8192)
	const begin, size = 5000, 12000 // a window that starts mid-page
	if err := x.e.RegisterOpts("/dev/ro", host, etfs.BLK, etfs.Options{Begin: begin, Size: size, ReadOnly: true}); err != nil {
		t.Fatal(err)
	}
	if err := x.e.RegisterWithSize("/dev/rw", other, etfs.BLK, 0, etfs.EndOff); err != nil {
		t.Fatal(err)
	}
	ro, rw := x.e.Device("/dev/ro"), x.e.Device("/dev/rw")
	var _ bio.Lender = ro

	for _, c := range []struct{ off, n int64 }{{0, 1}, {0, size}, {4096, 4096}, {size - 7, 7}, {123, 4000}} {
		b, ok := ro.Lend(x.l, c.off, int(c.n))
		if !ok || !bytes.Equal(b, data[begin+c.off:begin+c.off+c.n]) {
			t.Fatalf("lend [%d, +%d): %v, bytes differ from the host file's", c.off, c.n, ok)
		}
		if cap(b) != len(b) {
			t.Fatal("a loan can be appended into the mapping")
		}
		ro.Unlend(b)
		if !bytes.Equal(b, data[begin+c.off:begin+c.off+c.n]) {
			t.Fatal("the bytes changed after the loan came back")
		}
	}
	if st := ro.Stats(); st.BytesLent != 1+size+4096+7+4000 || st.BytesRead != st.BytesLent {
		t.Fatalf("counters: %+v", st)
	}
	for _, c := range []struct{ off, n int64 }{{-1, 2}, {size - 1, 2}, {size, 1}, {0, 0}} {
		if _, ok := ro.Lend(x.l, c.off, int(c.n)); ok {
			t.Errorf("lent [%d, +%d) of a %d-byte window", c.off, c.n, size)
		}
	}
	if _, ok := rw.Lend(x.l, 0, 512); ok {
		t.Error("a writable device lent")
	}
	ro.FailBlocks(100, 1, rumpblk.FaultRead)
	if _, ok := ro.Lend(x.l, 0, 512); ok {
		t.Error("lent while faults are set up: they would not be injected")
	}
	ro.ClearFaults()
	if _, ok := ro.Lend(x.l, 0, 512); !ok {
		t.Error("no loan once the faults were cleared")
	}
	if err := x.e.Remove("/dev/ro"); err != nil {
		t.Fatal(err)
	}
	if _, ok := ro.Lend(x.l, 0, 512); ok {
		t.Error("a removed device lent")
	}
}
