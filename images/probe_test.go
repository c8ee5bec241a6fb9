package images

import (
	"bytes"
	"encoding/binary"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func probeFile(t *testing.T, path string) *FS {
	t.Helper()
	img, err := Open(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	return Probe(img, img.Size())
}

// blkid is util-linux's independent answer: TYPE, UUID, LABEL, VERSION.
func blkid(t *testing.T, path string) map[string]string {
	t.Helper()
	out := run(t, "", "blkid", "-p", "-o", "export", path)
	m := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			m[k] = strings.ReplaceAll(v, `\ `, " ")
		}
	}
	return m
}

func firstInt(t *testing.T, re, s string) int64 {
	t.Helper()
	m := regexp.MustCompile(re).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no %q in:\n%s", re, s)
	}
	n, err := strconv.ParseInt(strings.ReplaceAll(m[1], " ", ""), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestProbeRealImages probes file systems made by mke2fs, makefs,
// mkfs.fat, xorriso and mkswap, and checks what it says against blkid,
// dumpe2fs, The Sleuth Kit's fsstat and mtools.
func TestProbeRealImages(t *testing.T) {
	need(t, "blkid")
	for _, tc := range []struct {
		kind, label     string
		size            int64
		typ, variant    string
		blkType, blkVer string
		feature         string // one feature Probe must list
	}{
		{"ext2", "e2", 4 * MiB, "ext2fs", "ext2", "ext2", "", "filetype"},
		{"ext3", "e3", 4 * MiB, "ext2fs", "ext3", "ext3", "", "has_journal"},
		{"ext4", "e4", 4 * MiB, "ext2fs", "ext4", "ext4", "", "extent"},
		{"ffs1le", "", 4 * MiB, "ffs", "FFSv1", "ufs", "1", "little-endian"},
		{"ffs1be", "", 4 * MiB, "ffs", "FFSv1", "ufs", "1", "big-endian"},
		{"ffs2le", "", 4 * MiB, "ffs", "FFSv2", "ufs", "2", "little-endian"},
		{"ffs2be", "", 4 * MiB, "ffs", "FFSv2", "ufs", "2", "big-endian"},
		{"fat12", "F12", 1 * MiB, "msdos", "FAT12", "vfat", "FAT12", ""},
		{"fat16", "F16", 4 * MiB, "msdos", "FAT16", "vfat", "FAT16", ""},
		{"fat32", "F32", 34 * MiB, "msdos", "FAT32", "vfat", "FAT32", ""},
		{"iso", "ISOVOL", 0, "cd9660", "ISO 9660 + Rock Ridge + Joliet", "iso9660", "", "Joliet"},
		{"swap", "sw", 1 * MiB, "swap", "Linux swap", "swap", "", ""},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			path := makeFS(t, tc.kind, tc.label, tc.size)
			f := probeFile(t, path)
			if f == nil {
				t.Fatal("nothing found")
			}
			if f.Type != tc.typ || f.Variant != tc.variant || f.Driver != testDrivers[tc.typ] {
				t.Errorf("type %s variant %q driver %v; want %s %q", f.Type, f.Variant, f.Driver, tc.typ, tc.variant)
			}
			if tc.feature != "" && !strings.Contains(strings.Join(f.Features, ","), tc.feature) {
				t.Errorf("features %q lack %q", f.Features, tc.feature)
			}
			b := blkid(t, path)
			if b["TYPE"] != tc.blkType || (tc.blkVer != "" && b["VERSION"] != tc.blkVer) {
				t.Errorf("blkid says TYPE=%s VERSION=%s; test expects %s %s", b["TYPE"], b["VERSION"], tc.blkType, tc.blkVer)
			}
			if !strings.EqualFold(f.UUID, b["UUID"]) || f.Label != b["LABEL"] {
				t.Errorf("uuid %q label %q; blkid says %q %q", f.UUID, f.Label, b["UUID"], b["LABEL"])
			}
			if f.State != "clean" && tc.kind != "fat12" && tc.kind != "swap" {
				t.Errorf("state %q on a fresh file system", f.State)
			}
			switch tc.typ {
			case "ext2fs":
				out := run(t, "", "dumpe2fs", "-h", path)
				bs := firstInt(t, `Block size:\s+(\d+)`, out)
				if want := firstInt(t, `Free blocks:\s+(\d+)`, out) * bs; f.Free != want {
					t.Errorf("free %d, dumpe2fs says %d", f.Free, want)
				}
				if want := firstInt(t, `Block count:\s+(\d+)`, out) * bs; f.Size != want {
					t.Errorf("size %d, dumpe2fs says %d", f.Size, want)
				}
			case "ffs":
				if tc.variant == "FFSv1" { // TSK misses makefs's UFS2 at 8192
					out := run(t, "", "fsstat", "-f", "ufs1", path)
					frag := firstInt(t, `Fragment Size:\s+(\d+)`, out)
					bsize := firstInt(t, `Block Size:\s+(\d+)`, out)
					want := (firstInt(t, `Avail Full Blocks:\s+(\d+)`, out)*(bsize/frag) + firstInt(t, `Avail Fragments:\s+(\d+)`, out)) * frag
					if f.Free != want || f.BlockSize != int(bsize) {
						t.Errorf("free %d block %d, fsstat says %d %d", f.Free, f.BlockSize, want, bsize)
					}
				}
				if f.Used <= 0 || f.Used+f.Free != f.Size {
					t.Errorf("size %d used %d free %d do not add up", f.Size, f.Used, f.Free)
				}
			case "msdos":
				if tc.variant == "FAT32" {
					out := run(t, "", "mdir", "-i", path, "::")
					if want := firstInt(t, `([\d ]+) bytes free`, out); f.Free != want {
						t.Errorf("free %d, mdir says %d", f.Free, want)
					}
				} else if f.Free != -1 {
					t.Errorf("FAT12/16 free %d, want -1 (unknown without a scan)", f.Free)
				}
			case "cd9660":
				st, _ := os.Stat(path)
				if f.Size != st.Size() {
					t.Errorf("size %d, image is %d bytes", f.Size, st.Size())
				}
			}
		})
	}
}

// Probe finds FFS at every standard superblock offset.
func TestProbeFFSOffsets(t *testing.T) {
	need(t, "makefs")
	sb := func(path string) []byte {
		img, _ := os.ReadFile(path)
		for _, off := range []int{65536, 8192} {
			if off+8192 <= len(img) {
				if m := binary.LittleEndian.Uint32(img[off+1372:]); m == ffsUFS1Magic || m == ffsUFS2Magic {
					return img[off : off+8192]
				}
			}
		}
		t.Fatal("no superblock in makefs output")
		return nil
	}
	for _, kind := range []string{"ffs1le", "ffs2le"} {
		s := sb(makeFS(t, kind, "", 4*MiB))
		for _, off := range []int64{0, 8192, 65536, 262144} {
			if kind == "ffs1le" && off == 65536 {
				continue // NetBSD ignores a UFS1 magic there
			}
			img := make([]byte, 1*MiB)
			copy(img[off:], s)
			f := Probe(bytes.NewReader(img), int64(len(img)))
			if f == nil || f.Type != "ffs" || f.Offset != off {
				t.Errorf("%s superblock at %d: %+v", kind, off, f)
			}
		}
	}
}

// Dirty file systems say so.
func TestProbeDirty(t *testing.T) {
	need(t, "mke2fs", "makefs", "mkfs.fat")
	read := func(p string) []byte { b, _ := os.ReadFile(p); return b }
	e := read(makeFS(t, "ext4", "", 4*MiB))
	binary.LittleEndian.PutUint16(e[1024+58:], 0) // s_state: not clean
	ffs := read(makeFS(t, "ffs1le", "", 4*MiB))
	ffs[8192+209] = 0 // fs_clean
	fat := read(makeFS(t, "fat16", "", 4*MiB))
	rsvd := int(binary.LittleEndian.Uint16(fat[14:]))
	fat[rsvd*512+3] &^= 0x80 // FAT[1] clean-shutdown bit
	for name, img := range map[string][]byte{"ext4": e, "ffs": ffs, "fat16": fat} {
		if f := Probe(bytes.NewReader(img), int64(len(img))); f == nil || f.State != "dirty" {
			t.Errorf("%s: %+v, want dirty", name, f)
		}
	}
}

// Formats without a driver are named, with sizes where the superblock
// keeps them.
func TestProbeNamedWithoutDriver(t *testing.T) {
	mk := func(at map[int64]string) []byte {
		img := make([]byte, 128*1024)
		for off, s := range at {
			copy(img[off:], s)
		}
		return img
	}
	ntfs := mk(map[int64]string{3: "NTFS    ", 510: "\x55\xaa"})
	binary.LittleEndian.PutUint16(ntfs[11:], 512)
	ntfs[13] = 8
	binary.LittleEndian.PutUint64(ntfs[0x28:], 200)
	exfat := mk(map[int64]string{3: "EXFAT   "})
	exfat[108], exfat[109] = 9, 3
	xfs := mk(map[int64]string{0: "XFSB", 108: "xfslabel"})
	binary.BigEndian.PutUint32(xfs[4:], 4096)
	binary.BigEndian.PutUint64(xfs[8:], 1000)
	binary.BigEndian.PutUint64(xfs[144:], 400)
	btrfs := mk(map[int64]string{65536 + 64: "_BHRfS_M", 65536 + 299: "btr"})
	binary.LittleEndian.PutUint64(btrfs[65536+112:], 1<<30)
	binary.LittleEndian.PutUint64(btrfs[65536+120:], 1<<20)
	luks := mk(map[int64]string{0: "LUKS\xba\xbe\x00\x02", 24: "secret", 168: "0a1b2c3d-uuid"})
	for _, tc := range []struct {
		img          []byte
		typ, variant string
		size, free   int64
		label        string
	}{
		{ntfs, "ntfs", "NTFS", 200 * 512, -1, ""},
		{exfat, "exfat", "exFAT", 0, -1, ""},
		{xfs, "xfs", "XFS", 1000 * 4096, 400 * 4096, "xfslabel"},
		{btrfs, "btrfs", "Btrfs", 1 << 30, 1<<30 - 1<<20, "btr"},
		{luks, "luks", "LUKS2 encrypted volume", -1, -1, "secret"},
		{mk(map[int64]string{0: "hsqs"}), "squashfs", "SquashFS", -1, -1, ""},
		{mk(map[int64]string{512: "LABELONE", 512 + 24: "LVM2 001"}), "lvm2", "LVM2 physical volume", -1, -1, ""},
	} {
		f := Probe(bytes.NewReader(tc.img), int64(len(tc.img)))
		if f == nil || f.Type != tc.typ || f.Variant != tc.variant || f.Driver || f.Size != tc.size || f.Free != tc.free || f.Label != tc.label {
			t.Errorf("%s: %+v", tc.typ, f)
			continue
		}
		if !strings.Contains(f.Name(), "no driver") {
			t.Errorf("%s: Name() = %q, want it to say there is no driver", tc.typ, f.Name())
		}
	}
	if f := Probe(bytes.NewReader(make([]byte, 1*MiB)), 1*MiB); f != nil {
		t.Errorf("zeros: %+v", f)
	}
}

// TestProbeDriverFromLookup: FS.Driver is the program's answer, so an image
// of a type without a linked-in driver never claims one.
func TestProbeDriverFromLookup(t *testing.T) {
	img := make([]byte, 64*1024)
	copy(img[1024+56:], []byte{0x53, 0xef}) // ext magic
	binary.LittleEndian.PutUint32(img[1024+4:], 64)
	binary.LittleEndian.PutUint32(img[1024+32:], 8192)
	binary.LittleEndian.PutUint32(img[1024+40:], 16)
	defer SetDriverLookup(func(t string) bool { return testDrivers[t] })
	for _, has := range []bool{false, true} {
		SetDriverLookup(func(string) bool { return has })
		f := Probe(bytes.NewReader(img), int64(len(img)))
		if f == nil || f.Type != "ext2fs" || f.Driver != has || strings.Contains(f.Name(), "no driver") == has {
			t.Errorf("lookup says %v: probed %+v (%s)", has, f, f.Name())
		}
	}
}
