package ext2fs

import (
	"bytes"
	"fmt"
	"os"
	"testing"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs/bio"
)

// lendDev is a memDev that lends slices of itself, and counts loans.
type lendDev struct {
	memDev
	loans, back int
}

func (d *lendDev) Unlend(p []byte) { d.back++ }

func (d *lendDev) Lend(l *kernel.LWP, off int64, n int) ([]byte, bool) {
	if off < 0 || n <= 0 || off > int64(len(d.memDev))-int64(n) {
		return nil, false
	}
	d.loans++
	return d.memDev[off : off+int64(n) : off+int64(n)], true
}

// lendRead reads n bytes at off through a lending uio and returns them
// and whether they were lent.
func lendRead(t *testing.T, ip Inode, off int64, n int) ([]byte, bool) {
	t.Helper()
	buf := make([]byte, n)
	u := kernel.UioSetupLend(buf, off)
	if e := ip.Read(nil, u); e != 0 {
		t.Fatalf("read inode %d at %d: %v", ip.Ino, off, e)
	}
	lent, from := kernel.UioLent(u)
	got := buf[:n-kernel.UioFree(u)]
	if lent != nil {
		got = bytes.Clone(lent)
		from.Unlend(lent)
	}
	return bytes.Clone(got), lent != nil
}

// TestLendEqualsCopy: a read that takes loans returns the bytes the file
// was made with (as the copying read does), at every offset and size tried, for files in one run,
// fragmented and sparse files, inline files and around the end; ranges
// in one run are lent, others copied; and a block the journal replaced is
// never lent from its old place.
func TestLendEqualsCopy(t *testing.T) {
	for _, im := range []image{
		{name: "ext4", fstype: "ext4", sizeK: 16 << 10, tree: treeOpts{bigDir: 20, extents: 12}},
		{name: "ext4-inline-1k", fstype: "ext4", args: []string{"-O", "inline_data", "-b", "1024"}, sizeK: 16 << 10, tree: treeOpts{bigDir: 20, extents: 12}},
		{name: "ext2", fstype: "ext2", sizeK: 16 << 10, tree: treeOpts{bigDir: 20}},
	} {
		t.Run(im.name, func(t *testing.T) {
			raw, err := os.ReadFile(makeImage(t, im))
			if err != nil {
				t.Fatal(err)
			}
			dev := &lendDev{memDev: raw}
			f, err := Open(nil, dev, Options{})
			if err != nil {
				t.Fatal(err)
			}
			// The files' contents as genTree wrote them: the reference,
			// independent of our reader.
			files := map[string][]byte{}
			for _, n := range []int{0, 1, 60, 61, 1024, 4097, 12*1024 + 1, 268*1024 + 1, 300000} {
				files[fmt.Sprintf("sizes/f%07d", n)] = pseudo(fmt.Sprint("f", n), n)
			}
			if k := im.tree.extents; k > 0 {
				frag := make([]byte, (k-1)*8192+4096)
				for i := range k {
					copy(frag[i*8192:], pseudo(fmt.Sprint("frag", i), 4096))
				}
				files["sparse/fragmented"] = frag
			}
			lent := 0
			for p, content := range files {
				ip, e := resolve(t, f, p)
				if e != 0 {
					t.Fatalf("%s: %v", p, e)
				}
				size := int64(ip.Size)
				if size != int64(len(content)) {
					t.Fatalf("%s: size %d, want %d", p, size, len(content))
				}
				for _, c := range []struct{ off, n int64 }{
					{0, 4096}, {0, 1 << 20}, {1, 100}, {4095, 2}, {8192, 128 << 10},
					{size - 1, 10}, {size / 2, size}, {size, 10}, {size + 5000, 10},
				} {
					if c.off < 0 || c.n <= 0 {
						continue
					}
					want := content[min(c.off, size):min(c.off+c.n, size)]
					got, wasLent := lendRead(t, ip, c.off, int(c.n))
					if !bytes.Equal(got, want) {
						t.Fatalf("%s [%d, +%d): lending read (lent %v) differs from the file written", p, c.off, c.n, wasLent)
					}
					if wasLent {
						lent++
					}
				}
			}
			if lent == 0 || dev.loans != lent || dev.back != lent {
				t.Fatalf("%d reads lent, device counted %d loans and %d returns: want some, and as many", lent, dev.loans, dev.back)
			}

			// Replace the second block of a file in one run through the
			// journal overlay: a read over it copies, with the replayed
			// bytes; a read of the first block alone is still lent.
			ip, _ := resolve(t, f, "sizes/f0300000")
			bs := int64(f.bsize)
			r, e := ip.Bmap(nil, 0)
			if e != 0 || r.Len < 3 {
				t.Fatalf("sizes/f0300000 is not in one run: %+v %v", r, e)
			}
			other, e := resolve(t, f, fmt.Sprintf("sizes/f%07d", 268*1024+1))
			if e != 0 {
				t.Fatal(e)
			}
			o, _ := other.Bmap(nil, 0)
			f.bd.remap.Set(int64(r.Physical+1), bio.Replacement{Off: int64(o.Physical) * bs})
			f.bd.dropCache(nil)
			loans := dev.loans
			got, wasLent := lendRead(t, ip, 0, int(3*bs))
			want := append(append(bytes.Clone(raw[r.Physical*uint64(bs):][:bs]), raw[o.Physical*uint64(bs):][:bs]...), raw[(r.Physical+2)*uint64(bs):][:bs]...)
			if wasLent || dev.loans != loans || !bytes.Equal(got, want) {
				t.Fatalf("read over a replayed block: lent %v, or not the replayed bytes", wasLent)
			}
			if _, wasLent := lendRead(t, ip, 0, int(bs)); !wasLent {
				t.Fatal("the block before the replayed one was not lent")
			}
		})
	}
}
