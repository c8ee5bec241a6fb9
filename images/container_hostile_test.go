package images

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// tinyQcow2 is a hand-made qcow2 v2 image: 512-byte clusters, a virtual
// size of 4 KiB, L1 at cluster 1, one L2 table at cluster 2 mapping
// virtual cluster 0 to cluster 3 (filled with 'q') and cluster 1 to a
// compressed stream at cluster 4.
func tinyQcow2() []byte {
	be := binary.BigEndian
	b := make([]byte, 5*512)
	copy(b, qcow2Magic)
	be.PutUint32(b[4:], 2)
	be.PutUint32(b[20:], 9)
	be.PutUint64(b[24:], 4096)
	be.PutUint32(b[36:], 1)
	be.PutUint64(b[40:], 512)
	be.PutUint64(b[512:], 1024|1<<63)
	be.PutUint64(b[1024:], 1536|1<<63)
	// A stored (uncompressed) deflate block of 512 'z' bytes: 1 sector.
	be.PutUint64(b[1032:], qcow2Compressed|2048|1<<(62-1))
	for i := 1536; i < 2048; i++ {
		b[i] = 'q'
	}
	z := b[2048:]
	z[0] = 1 // final stored block
	binary.LittleEndian.PutUint16(z[1:], 512)
	binary.LittleEndian.PutUint16(z[3:], ^uint16(512))
	b = append(b, make([]byte, 512)...)
	for i := 2048 + 5; i < 2048+5+512; i++ {
		b[i] = 'z'
	}
	return b
}

func writeTemp(t testing.TB, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTinyQcow2(t *testing.T) {
	img, err := Open(writeTemp(t, t.TempDir(), "t.qcow2", tinyQcow2()), false)
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	got := make([]byte, 4096)
	if n, err := img.ReadAt(got, 0); n != 4096 || err != nil {
		t.Fatal(n, err)
	}
	for i, c := range got {
		want := byte(0)
		switch {
		case i < 512:
			want = 'q'
		case i < 1024:
			want = 'z'
		}
		if c != want {
			t.Fatalf("byte %d: %q, want %q", i, c, want)
		}
	}
}

// TestHostileQcow2: each damaged header or table is a refused open or an
// EIO read whose message names the structure, never a panic or a huge
// allocation.
func TestHostileQcow2(t *testing.T) {
	be := binary.BigEndian
	for _, tc := range []struct {
		name   string
		poke   func(b []byte) []byte
		errno  unix.Errno
		msg    string
		onRead bool
	}{
		{"truncated header", func(b []byte) []byte { return b[:40] }, unix.EIO, "header truncated", false},
		{"version 4", func(b []byte) []byte { be.PutUint32(b[4:], 4); return b }, unix.EOPNOTSUPP, "version 4", false},
		{"cluster bits", func(b []byte) []byte { be.PutUint32(b[20:], 40); return b }, unix.EIO, "cluster_bits", false},
		{"encrypted", func(b []byte) []byte { be.PutUint32(b[32:], 1); return b }, unix.EOPNOTSUPP, "encrypted", false},
		{"huge L1", func(b []byte) []byte { be.PutUint32(b[36:], 1<<31); return b }, unix.EIO, "L1 table", false},
		{"L1 too small", func(b []byte) []byte { be.PutUint64(b[24:], 1<<40); return b }, unix.EIO, "too small", false},
		{"huge size", func(b []byte) []byte { be.PutUint64(b[24:], 1<<63); return b }, unix.EIO, "virtual size", false},
		{"L1 past the end", func(b []byte) []byte { be.PutUint64(b[40:], 1<<40); return b }, unix.EIO, "L1 table", false},
		{"backing name outside", func(b []byte) []byte { be.PutUint64(b[8:], 500); be.PutUint32(b[16:], 100); return b }, unix.EIO, "backing file name", false},
		{"backing missing", func(b []byte) []byte {
			be.PutUint64(b[8:], 100)
			be.PutUint32(b[16:], 4)
			copy(b[100:], "nope")
			return b
		}, unix.ENOENT, "backing file", false},
		{"many snapshots", func(b []byte) []byte { be.PutUint32(b[60:], 1<<20); return b }, unix.EIO, "snapshot table", false},
		{"snapshot outside", func(b []byte) []byte { be.PutUint32(b[60:], 2); be.PutUint64(b[64:], 1<<40); return b }, unix.EIO, "snapshot", false},
		{"snapshot extra", func(b []byte) []byte {
			be.PutUint32(b[60:], 1)
			be.PutUint64(b[64:], 1536)
			be.PutUint32(b[1536+36:], 1<<20)
			return b
		}, unix.EIO, "extra data", false},
		{"L2 past the end", func(b []byte) []byte { be.PutUint64(b[512:], 1<<40); return b }, unix.EIO, "L2 table", true},
		{"data past the end", func(b []byte) []byte { be.PutUint64(b[1024:], 1<<30); return b }, unix.EIO, "data cluster", true},
		{"bad deflate", func(b []byte) []byte { b[2048] = 0xff; return b }, unix.EIO, "compressed cluster", true},
		{"short deflate", func(b []byte) []byte {
			binary.LittleEndian.PutUint16(b[2049:], 100)
			binary.LittleEndian.PutUint16(b[2051:], ^uint16(100))
			return b
		}, unix.EIO, "compressed cluster", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := writeTemp(t, t.TempDir(), "h.qcow2", tc.poke(tinyQcow2()))
			img, err := Open(p, false)
			if tc.onRead {
				if err != nil {
					t.Fatalf("open: %v", err)
				}
				defer img.Close()
				_, err = img.ReadAt(make([]byte, 4096), 0)
			}
			if !errors.Is(err, tc.errno) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %v, want %v naming %q", err, tc.errno, tc.msg)
			}
		})
	}
}

// TestQcow2BackingLoops: a chain that comes back to a file it passed is
// refused at open, whether it names itself or goes round two files.
func TestQcow2BackingLoops(t *testing.T) {
	need(t, "qemu-img")
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.qcow2"), filepath.Join(dir, "b.qcow2")
	run(t, "", "qemu-img", "create", "-q", "-f", "qcow2", "-u", "-b", "b.qcow2", "-F", "qcow2", a, "1M")
	run(t, "", "qemu-img", "create", "-q", "-f", "qcow2", "-u", "-b", "a.qcow2", "-F", "qcow2", b, "1M")
	self := filepath.Join(dir, "self.qcow2")
	run(t, "", "qemu-img", "create", "-q", "-f", "qcow2", "-u", "-b", "self.qcow2", "-F", "qcow2", self, "1M")
	for _, p := range []string{a, self} {
		_, err := Open(p, false)
		if !errors.Is(err, unix.EIO) || !strings.Contains(err.Error(), "loops") {
			t.Errorf("%s: %v, want EIO naming the loop", p, err)
		}
	}
	// A chain without a loop but longer than maxChain files.
	prev := "c0.qcow2"
	run(t, "", "qemu-img", "create", "-q", "-f", "qcow2", filepath.Join(dir, prev), "1M")
	for i := 1; i <= maxChain; i++ {
		name := "c" + itoa(int64(i)) + ".qcow2"
		run(t, "", "qemu-img", "create", "-q", "-f", "qcow2", "-u", "-b", prev, "-F", "qcow2", filepath.Join(dir, name), "1M")
		prev = name
	}
	if _, err := Open(filepath.Join(dir, prev), false); !errors.Is(err, unix.EIO) || !strings.Contains(err.Error(), "longer than") {
		t.Errorf("chain of %d: %v", maxChain+1, err)
	}
	if img, err := Open(filepath.Join(dir, "c"+itoa(maxChain-1)+".qcow2"), false); err != nil {
		t.Errorf("chain of %d: %v", maxChain, err)
	} else {
		img.Close()
	}
}

// TestQcow2Zstd: zstd clusters are refused at open with a message.
func TestQcow2Zstd(t *testing.T) {
	need(t, "qemu-img")
	p := filepath.Join(t.TempDir(), "z.qcow2")
	run(t, "", "qemu-img", "create", "-q", "-f", "qcow2", "-o", "compression_type=zstd", p, "1M")
	if _, err := Open(p, false); !errors.Is(err, unix.EOPNOTSUPP) || !strings.Contains(err.Error(), "zstd") {
		t.Fatalf("%v", err)
	}
}

func TestHostileVHD(t *testing.T) {
	need(t, "qemu-img")
	dir := t.TempDir()
	p := filepath.Join(dir, "d.vhd")
	run(t, "", "qemu-img", "create", "-q", "-f", "vpc", p, "8M")
	good, _ := os.ReadFile(p)
	be := binary.BigEndian
	fix := func(foot []byte) { be.PutUint32(foot[64:], vhdChecksum(foot[:512], 64)) }
	hdr := func(b []byte) []byte { return b[be.Uint64(b[16:]):] }
	for _, tc := range []struct {
		name string
		poke func(b []byte)
		msg  string
	}{
		{"checksum", func(b []byte) { b[len(b)-512+48]++ }, "checksum"},
		{"disk type", func(b []byte) { f := b[len(b)-512:]; be.PutUint32(f[60:], 9); fix(f) }, "disk type"},
		{"header outside", func(b []byte) { f := b[len(b)-512:]; be.PutUint64(f[16:], 1<<40); fix(f) }, "dynamic header"},
		{"block size", func(b []byte) { be.PutUint32(hdr(b)[32:], 3) }, "block size"},
		{"huge table", func(b []byte) { be.PutUint32(hdr(b)[28:], 1<<31) }, "block allocation table"},
		{"table outside", func(b []byte) { be.PutUint64(hdr(b)[16:], 1<<40) }, "block allocation table"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := append([]byte(nil), good...)
			tc.poke(b)
			_, err := Open(writeTemp(t, t.TempDir(), "h.vhd", b), false)
			if !errors.Is(err, unix.EIO) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %v, want EIO naming %q", err, tc.msg)
			}
		})
	}
}

func TestHostileVMDK(t *testing.T) {
	src := sourceDisk(t)
	dir := t.TempDir()
	sparse, stream := filepath.Join(dir, "s.vmdk"), filepath.Join(dir, "o.vmdk")
	run(t, "", "qemu-img", "convert", "-O", "vmdk", src, sparse)
	run(t, "", "qemu-img", "convert", "-O", "vmdk", "-o", "subformat=streamOptimized", src, stream)
	le := binary.LittleEndian
	// firstGTE is the byte offset of the first allocated grain table
	// entry, so that a test can damage it or what it names.
	firstGTE := func(b []byte) uint64 {
		h := b
		if le.Uint64(b[56:]) == vmdkGDAtEnd {
			h = b[len(b)-1024:]
		}
		gd := le.Uint64(h[56:]) * 512
		for i := uint64(0); ; i += 4 {
			if gt := le.Uint32(b[gd+i:]); gt != 0 {
				for j := uint64(gt) * 512; ; j += 4 {
					if g := le.Uint32(b[j:]); g > 1 {
						return j
					}
				}
			}
		}
	}
	firstGrain := func(b []byte) uint32 { return le.Uint32(b[firstGTE(b):]) }
	for _, tc := range []struct {
		name, file string
		poke       func(b []byte)
		msg        string
		onRead     bool
	}{
		{"grain size", sparse, func(b []byte) { le.PutUint64(b[20:], 3) }, "grain size", false},
		{"capacity", sparse, func(b []byte) { le.PutUint64(b[12:], 1<<62) }, "capacity", false},
		{"huge directory", sparse, func(b []byte) { le.PutUint64(b[12:], 1<<46) }, "grain directory", false},
		{"directory outside", sparse, func(b []byte) { le.PutUint64(b[56:], 1<<40) }, "grain directory", false},
		{"descriptor outside", sparse, func(b []byte) { le.PutUint64(b[28:], 1<<40) }, "descriptor", false},
		{"no footer", stream, func(b []byte) { le.PutUint64(b[56:], vmdkGDAtEnd); copy(b[len(b)-1024:], "XXXX") }, "footer", false},
		{"grain table outside", sparse, func(b []byte) {
			gd := le.Uint64(b[56:]) * 512
			for i := uint64(0); i < 64; i += 4 {
				le.PutUint32(b[gd+i:], 1<<30)
			}
		}, "grain table", true},
		{"grain past the end", sparse, func(b []byte) { le.PutUint32(b[firstGTE(b):], 1<<30) }, "grain", true},
		{"marker size", stream, func(b []byte) { le.PutUint32(b[firstGrain(b)*512+8:], 1<<30) }, "claims", true},
		{"bad zlib", stream, func(b []byte) { copy(b[firstGrain(b)*512+12:], "not zlib") }, "compressed grain", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, _ := os.ReadFile(tc.file)
			tc.poke(b)
			img, err := Open(writeTemp(t, t.TempDir(), "h.vmdk", b), false)
			if tc.onRead {
				if err != nil {
					t.Fatalf("open: %v", err)
				}
				defer img.Close()
				buf := make([]byte, 1<<20)
				for off := int64(0); err == nil && off < img.Size(); off += int64(len(buf)) {
					_, err = img.ReadAt(buf, off)
				}
			}
			if !errors.Is(err, unix.EIO) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %v, want EIO naming %q", err, tc.msg)
			}
		})
	}
}

func TestHostileVMDKDescriptor(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "short-flat.vmdk"), make([]byte, 4096), 0o644)
	os.WriteFile(filepath.Join(dir, "notsparse.vmdk"), make([]byte, 4096), 0o644)
	desc := func(body string) []byte {
		return []byte(vmdkDescMagic + "\nversion=1\nparentCID=ffffffff\ncreateType=\"monolithicFlat\"\n" + body)
	}
	many := strings.Repeat("RW 1 ZERO\n", vmdkMaxExtents+1)
	for _, tc := range []struct {
		name  string
		data  []byte
		errno unix.Errno
		msg   string
	}{
		{"no extents", desc(""), unix.EIO, "no extents"},
		{"missing file", desc(`RW 8 FLAT "nothere-flat.vmdk" 0` + "\n"), unix.ENOENT, "nothere-flat.vmdk"},
		{"short flat", desc(`RW 16 FLAT "short-flat.vmdk" 0` + "\n"), unix.EIO, "fewer bytes"},
		{"offset past", desc(`RW 1 FLAT "short-flat.vmdk" 99999999999` + "\n"), unix.EIO, "fewer bytes"},
		{"not sparse", desc(`RW 8 SPARSE "notsparse.vmdk"` + "\n"), unix.EIO, "not a sparse extent"},
		{"huge", desc("RW 99999999999999999 ZERO\n"), unix.EIO, "too large"},
		{"many", desc(many), unix.EIO, "more than"},
		{"parent", []byte(vmdkDescMagic + "\nparentCID=12345678\nRW 8 ZERO\n"), unix.EOPNOTSUPP, "parent"},
		{"vmfsraw", desc(`RW 8 VMFSRAW "short-flat.vmdk"` + "\n"), unix.EOPNOTSUPP, "VMFSRAW"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Open(writeTemp(t, dir, "d.vmdk", tc.data), false)
			if !errors.Is(err, tc.errno) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %v, want %v naming %q", err, tc.errno, tc.msg)
			}
		})
	}
	// Zero extents alone are a disk of zeros.
	img, err := Open(writeTemp(t, dir, "z.vmdk", desc("RW 8 ZERO\nRDONLY 8 ZERO\n")), false)
	if err != nil || img.Size() != 8192 {
		t.Fatalf("%v", err)
	}
	img.Close()
}

func TestHostileVHDX(t *testing.T) {
	need(t, "qemu-img")
	dir := t.TempDir()
	p := filepath.Join(dir, "d.vhdx")
	run(t, "", "qemu-img", "create", "-q", "-f", "vhdx", p, "64M")
	good, _ := os.ReadFile(p)
	le := binary.LittleEndian
	sum := func(b []byte) {
		clear(b[4:8])
		le.PutUint32(b[4:], crc32.Checksum(b, crc32c))
	}
	headers := func(b []byte, f func(h []byte)) {
		for _, off := range []int{64 << 10, 128 << 10} {
			f(b[off : off+4096])
			sum(b[off : off+4096])
		}
	}
	regions := func(b []byte, f func(r []byte)) {
		for _, off := range []int{192 << 10, 256 << 10} {
			f(b[off : off+64<<10])
			sum(b[off : off+64<<10])
		}
	}
	for _, tc := range []struct {
		name  string
		poke  func(b []byte)
		errno unix.Errno
		msg   string
	}{
		{"headers", func(b []byte) { b[64<<10+100]++; b[128<<10+100]++ }, unix.EIO, "neither header"},
		{"dirty log", func(b []byte) { headers(b, func(h []byte) { h[48] = 1 }) }, unix.EOPNOTSUPP, "log"},
		{"regions", func(b []byte) { regions(b, func(r []byte) { le.PutUint32(r[8:], 1<<20) }) }, unix.EIO, "region table"},
		{"no regions", func(b []byte) { b[192<<10+20]++; b[256<<10+20]++ }, unix.EIO, "region table"},
		{"BAT outside", func(b []byte) {
			regions(b, func(r []byte) {
				for i := range le.Uint32(r[8:]) {
					if e := r[16+32*i:]; [16]byte(e[:16]) == vhdxBATGUID {
						le.PutUint64(e[16:], 1<<40)
					}
				}
			})
		}, unix.EIO, "BAT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := bytes.Clone(good)
			tc.poke(b)
			_, err := Open(writeTemp(t, t.TempDir(), "h.vhdx", b), false)
			if !errors.Is(err, tc.errno) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %v, want %v naming %q", err, tc.errno, tc.msg)
			}
		})
	}
}
