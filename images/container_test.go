package images

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// sourceDisk makes a raw disk with a GPT, an ext4 and an FFS partition:
// the source every container is converted from.
func sourceDisk(t *testing.T) string {
	need(t, "sgdisk", "mke2fs", "makefs", "qemu-img")
	img := blank(t, t.TempDir(), "disk.raw", 24<<20)
	run(t, "", "sgdisk", "-n", "1:2048:+8M", "-c", "1:linux", "-n", "2:0:+8M", "-c", "2:bsd", img)
	putAt(t, img, 2048*512, makeFS(t, "ext4", "ext", 8<<20))
	putAt(t, img, 2048*512+8<<20, makeFS(t, "ffs2le", "", 8<<20))
	// Bytes that are not zero between the partitions, so that a
	// container mapping the wrong cluster shows.
	pokeAt(t, img, 2048*512+16<<20, bytes.Repeat([]byte("rumpfs container test "), 4000))
	return img
}

// readAll reads the whole virtual disk of img in odd-sized pieces, so
// that reads straddle clusters and blocks.
func readAll(t *testing.T, img *Image) []byte {
	t.Helper()
	out := make([]byte, img.Size())
	const piece = 100_000
	for off := int64(0); off < img.Size(); off += piece {
		end := min(off+piece, img.Size())
		if n, err := img.ReadAt(out[off:end], off); n != int(end-off) {
			t.Fatalf("read %d+%d: %d bytes, %v", off, end-off, n, err)
		}
	}
	return out
}

// checkContainer opens path, checks the format it reports, and compares
// its whole virtual disk with qemu-img's conversion of it to raw, and the
// partitions it finds with those of the raw source.
func checkContainer(t *testing.T, path, format, qemuFormat, src string) *Image {
	t.Helper()
	img, err := Open(path, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { img.Close() })
	c := img.Container()
	if c == nil || c.Format != format {
		t.Fatalf("%s: container %+v, want %s", path, c, format)
	}
	back := filepath.Join(t.TempDir(), "back.raw")
	// qemu-img probes a fixed VHD as raw: name the format.
	run(t, "", "qemu-img", "convert", "-f", qemuFormat, "-O", "raw", path, back)
	want, err := os.ReadFile(back)
	if err != nil {
		t.Fatal(err)
	}
	got := readAll(t, img)
	if int64(len(want)) != img.Size() || !bytes.Equal(got, want) {
		t.Fatalf("%s: virtual disk (%d bytes) differs from qemu-img's raw conversion (%d bytes)", path, img.Size(), len(want))
	}
	raw, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) < len(raw) || !bytes.Equal(got[:len(raw)], raw) {
		t.Fatalf("%s: virtual disk does not start with the raw source", path)
	}
	l := img.Layout()
	if l.Container != c || len(l.Partitions) != 2 || l.Partitions[0].FS == nil || l.Partitions[0].FS.Type != "ext2fs" ||
		l.Partitions[1].FS == nil || l.Partitions[1].FS.Type != "ffs" {
		t.Fatalf("%s: layout %+v", path, l)
	}
	tg, err := Resolve(path + "@bsd")
	if err != nil || tg.Container == nil || tg.FSType != "ffs" {
		t.Fatalf("%s@bsd: %+v, %v", path, tg, err)
	}
	return img
}

func TestContainersMatchQemuImg(t *testing.T) {
	src := sourceDisk(t)
	for _, tc := range []struct {
		name, format, sub string
		args              []string
	}{
		{"v2.qcow2", "qcow2", "v2", []string{"-O", "qcow2", "-o", "compat=0.10"}},
		{"v3.qcow2", "qcow2", "v3", []string{"-O", "qcow2", "-o", "compat=1.1"}},
		{"small-clusters.qcow2", "qcow2", "v3", []string{"-O", "qcow2", "-o", "cluster_size=4096"}},
		{"zlib.qcow2", "qcow2", "v3", []string{"-O", "qcow2", "-c"}},
		{"zlib-v2.qcow2", "qcow2", "v2", []string{"-O", "qcow2", "-c", "-o", "compat=0.10,cluster_size=16384"}},
		{"dynamic.vhd", "vhd", "dynamic", []string{"-O", "vpc"}},
		{"fixed.vhd", "vhd", "fixed", []string{"-O", "vpc", "-o", "subformat=fixed"}},
		{"dynamic.vhdx", "vhdx", "dynamic", []string{"-O", "vhdx"}},
		{"fixed.vhdx", "vhdx", "fixed", []string{"-O", "vhdx", "-o", "subformat=fixed"}},
		{"sparse.vmdk", "vmdk", "monolithicSparse", []string{"-O", "vmdk"}},
		{"stream.vmdk", "vmdk", "streamOptimized", []string{"-O", "vmdk", "-o", "subformat=streamOptimized"}},
		{"flat.vmdk", "vmdk", "monolithicFlat", []string{"-O", "vmdk", "-o", "subformat=monolithicFlat"}},
		{"split-sparse.vmdk", "vmdk", "twoGbMaxExtentSparse", []string{"-O", "vmdk", "-o", "subformat=twoGbMaxExtentSparse"}},
		{"split-flat.vmdk", "vmdk", "twoGbMaxExtentFlat", []string{"-O", "vmdk", "-o", "subformat=twoGbMaxExtentFlat"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), tc.name)
			run(t, "", "qemu-img", append(append([]string{"convert", "-f", "raw"}, tc.args...), src, p)...)
			img := checkContainer(t, p, tc.format, tc.args[1], src)
			if c := img.Container(); !strings.HasPrefix(c.Subformat, tc.sub) {
				t.Errorf("subformat %q, want %s", c.Subformat, tc.sub)
			}
		})
	}
}

// TestQcow2BackingChain reads a chain base.raw <- mid.qcow2 <- top.qcow2
// named relatively, with writes in each qcow2 layer, some of them
// zeroing clusters of the layer below.
func TestQcow2BackingChain(t *testing.T) {
	src := sourceDisk(t)
	need(t, "qemu-io")
	dir := t.TempDir()
	base := filepath.Join(dir, "base.raw")
	b, _ := os.ReadFile(src)
	os.WriteFile(base, b, 0o644)
	mid, top := filepath.Join(dir, "mid.qcow2"), filepath.Join(dir, "top.qcow2")
	run(t, "", "qemu-img", "create", "-q", "-f", "qcow2", "-b", "base.raw", "-F", "raw", mid)
	run(t, "", "qemu-io", "-c", "write -P 0xab 1M 200k", "-c", "write -z 17M 64k", mid)
	// A snapshot is listed, and does not change what the image reads.
	run(t, "", "qemu-img", "snapshot", "-c", "before-top", mid)
	run(t, "", "qemu-img", "create", "-q", "-f", "qcow2", "-o", "compat=0.10", "-b", "mid.qcow2", "-F", "qcow2", top)
	run(t, "", "qemu-io", "-c", "write -P 0xcd 1100k 4k", "-c", "write -P 0x11 24575k 1k", top)
	img, err := Open(top, false)
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	c := img.Container()
	if c.Backing == nil || c.Backing.Format != "qcow2" || c.Backing.Backing == nil || c.Backing.Backing.Format != "raw" || c.Backing.Backing.Path != base {
		t.Fatalf("chain %s", c)
	}
	if s := c.Backing.Snapshots; len(s) != 1 || s[0] != "before-top" {
		t.Fatalf("snapshots of mid.qcow2: %q", s)
	}
	back := filepath.Join(dir, "back.raw")
	run(t, "", "qemu-img", "convert", "-O", "raw", top, back)
	want, _ := os.ReadFile(back)
	if got := readAll(t, img); !bytes.Equal(got, want) {
		t.Fatal("the chain reads differently from qemu-img convert")
	}
}

func TestSplitRaw(t *testing.T) {
	src := sourceDisk(t)
	raw, _ := os.ReadFile(src)
	dir := t.TempDir()
	seg := int64(7<<20 + 512) // not a multiple of anything the tables use
	for i, off := 1, int64(0); off < int64(len(raw)); i, off = i+1, off+seg {
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("disk.%03d", i)), raw[off:min(off+seg, int64(len(raw)))], 0o644)
	}
	img, err := Open(filepath.Join(dir, "disk.001"), false)
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	if c := img.Container(); c == nil || c.Format != "split raw" || len(c.Files) != 4 {
		t.Fatalf("container %+v", c)
	}
	if got := readAll(t, img); !bytes.Equal(got, raw) {
		t.Fatal("split raw reads differently from its source")
	}
	if l := img.Layout(); len(l.Partitions) != 2 || l.Partitions[1].FS == nil {
		t.Fatalf("layout %+v", l)
	}
	// A segment alone is a raw image.
	one, err := Open(filepath.Join(dir, "disk.002"), false)
	if err != nil || one.Container() != nil {
		t.Fatalf("disk.002 alone: %v %+v", err, one.Container())
	}
	one.Close()
}

func TestContainerRefusesWrite(t *testing.T) {
	src := sourceDisk(t)
	p := filepath.Join(t.TempDir(), "d.qcow2")
	run(t, "", "qemu-img", "convert", "-O", "qcow2", src, p)
	_, err := Open(p, true)
	if !errors.Is(err, unix.EROFS) || !strings.Contains(err.Error(), "qcow2") {
		t.Fatalf("writable open: %v", err)
	}
	img, err := Open(p, false)
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	if _, err := img.WriteAt([]byte{1}, 0); err != unix.EROFS {
		t.Fatalf("WriteAt: %v", err)
	}
	if n, err := img.ReadAt(make([]byte, 10), img.Size()-4); n != 4 || err != io.EOF {
		t.Fatalf("read across the end: %d, %v", n, err)
	}
}

// TestContainersConcurrentReads reads every format from several
// goroutines at once (the kernel's readers do), each comparing its own
// stripes with the raw source: the table caches and the inflated-cluster
// buffers are shared.
func TestContainersConcurrentReads(t *testing.T) {
	src := sourceDisk(t)
	raw, _ := os.ReadFile(src)
	dir := t.TempDir()
	for _, args := range [][]string{
		{"-O", "qcow2", "-c", "-o", "cluster_size=4096"},
		{"-O", "vmdk", "-o", "subformat=streamOptimized"},
		{"-O", "vpc"},
	} {
		p := filepath.Join(dir, strings.Join(args, ""))
		run(t, "", "qemu-img", append(append([]string{"convert", "-f", "raw"}, args...), src, p)...)
		img, err := Open(p, false)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		const workers, stripe = 4, 12_345
		errs := make(chan error, workers)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				buf := make([]byte, stripe)
				for off := int64(w * stripe); off+stripe <= int64(len(raw)); off += workers * stripe {
					if _, err := img.ReadAt(buf, off); err != nil || !bytes.Equal(buf, raw[off:off+stripe]) {
						errs <- fmt.Errorf("%s: stripe at %d differs (%v)", p, off, err)
						return
					}
				}
			}()
		}
		wg.Wait()
		img.Close()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	}
}

// TestLargeContainers reads a 5 GiB disk split into 2 GiB VMDK extents
// (sparse and flat), and as a VHDX of 1 MiB blocks (whose BAT has a
// bitmap entry after the first 4 GiB), with data across the boundaries:
// the regions with data and a region without are compared with the raw
// source.
func TestLargeContainers(t *testing.T) {
	src := sourceDisk(t)
	dir := t.TempDir()
	raw := blank(t, dir, "big.raw", 5<<30)
	putAt(t, raw, 0, src)
	pat := bytes.Repeat([]byte("extent boundary "), 1<<12) // 64 KiB
	regions := []int64{0, 2<<30 - 32<<10, 4<<30 - 32<<10, 5<<30 - 64<<10, 3 << 30}
	for _, off := range regions[1:4] {
		pokeAt(t, raw, off, pat)
	}
	want := func(off int64, n int) []byte {
		f, _ := os.Open(raw)
		defer f.Close()
		b := make([]byte, n)
		f.ReadAt(b, off)
		return b
	}
	for _, tc := range []struct{ format, opts, sub string }{
		{"vmdk", "subformat=twoGbMaxExtentSparse", "twoGbMaxExtentSparse"},
		{"vmdk", "subformat=twoGbMaxExtentFlat", "twoGbMaxExtentFlat"},
		{"vhdx", "block_size=1M", "dynamic"},
	} {
		sub := tc.sub
		p := filepath.Join(dir, sub+"."+tc.format)
		run(t, "", "qemu-img", "convert", "-f", "raw", "-O", tc.format, "-o", tc.opts, raw, p)
		img, err := Open(p, false)
		if err != nil {
			t.Fatal(err)
		}
		if c := img.Container(); c.Subformat != sub || tc.format == "vmdk" && len(c.Files) != 3 || img.Size() != 5<<30 {
			t.Fatalf("%s: %+v, size %d", sub, c, img.Size())
		}
		for _, off := range regions {
			n := 64 << 10
			if off == 0 {
				n = 24 << 20
			}
			got := make([]byte, n)
			if _, err := img.ReadAt(got, off); err != nil || !bytes.Equal(got, want(off, n)) {
				t.Fatalf("%s: bytes %d+%d differ (%v)", sub, off, n, err)
			}
		}
		if l := img.Layout(); len(l.Partitions) != 2 || l.Partitions[0].FS == nil {
			t.Fatalf("%s: layout %+v", sub, l)
		}
		img.Close()
	}
}
