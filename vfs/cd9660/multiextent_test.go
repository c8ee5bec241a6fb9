package cd9660_test

import (
	"bytes"
	"testing"

	"github.com/rumpfs/rumpfs/vfs"
	"github.com/rumpfs/rumpfs/vfs/drivertest"
	"github.com/rumpfs/rumpfs/vfs/vfstest"
)

// A hand-made image with a multi-extent file: xorriso splits only files
// over 4 GiB, too big for a test, so the records are written here. The
// file is two parts, 4096 bytes at sector 19 and 100 bytes at sector 23,
// out of order on purpose.
func multiExtentImage() (img, data []byte) {
	img = make([]byte, 24*2048)
	both32 := func(p int, v uint32) {
		for i := range 4 {
			img[p+i], img[p+7-i] = byte(v>>(8*i)), byte(v>>(8*i))
		}
	}
	record := func(p int, name string, flags byte, extent, size uint32) int {
		n := 33 + len(name)
		if len(name)%2 == 0 {
			n++
		}
		img[p] = byte(n)
		both32(p+2, extent)
		both32(p+10, size)
		img[p+18], img[p+19], img[p+20] = 120, 1, 2 // 2020-01-02
		img[p+25] = flags
		img[p+28], img[p+31] = 1, 1 // volume sequence number
		img[p+32] = byte(len(name))
		copy(img[p+33:], name)
		return p + n
	}
	pvd := 16 * 2048
	img[pvd] = 1
	copy(img[pvd+1:], "CD001")
	img[pvd+6] = 1
	both32(pvd+80, 24)
	img[pvd+128], img[pvd+131] = 0, 0
	img[pvd+129], img[pvd+130] = 8, 8 // 2048, both-endian
	record(pvd+156, "\x00", 2, 18, 2048)
	term := 17 * 2048
	img[term] = 255
	copy(img[term+1:], "CD001")
	img[term+6] = 1
	p := record(18*2048, "\x00", 2, 18, 2048)
	p = record(p, "\x01", 2, 18, 2048)
	p = record(p, "BIG.;1", 0x80, 19, 4096)
	record(p, "BIG.;1", 0, 23, 100)
	data = append(vfstest.Pseudo(1, 4096), vfstest.Pseudo(2, 100)...)
	copy(img[19*2048:], data[:4096])
	copy(img[23*2048:], data[4096:])
	return img, data
}

func TestMultiExtent(t *testing.T) {
	img, want := multiExtentImage()
	k, l := drivertest.Boot(t)
	if e := vfs.Mkdir(l, "/mnt", 0o755); e != 0 {
		t.Fatal(e)
	}
	if e := drivertest.MountDev(t, k, l, drivertest.MemDisk(t, k, img), "cd9660", "/mnt", vfs.MNT_RDONLY, nil); e != 0 {
		t.Fatalf("mount: %v\n%s", e, k.Dmesg())
	}
	ents, e := vfs.ReadDir(l, "/mnt")
	var names []string
	for _, d := range ents {
		names = append(names, d.Name)
	}
	if e != 0 || len(names) != 3 || names[2] != "big" {
		t.Errorf("readdir: %q (%v), want ., .. and big", names, e)
	}
	var va vfs.Vattr
	if e := vfs.Lstat(l, "/mnt/big", &va); e != 0 || va.Size != int64(len(want)) {
		t.Errorf("big: size %d (%v), want %d", va.Size, e, len(want))
	}
	if got := readFile(t, l, "/mnt/big"); !bytes.Equal(got, want) {
		t.Errorf("big: read %d bytes, want %d equal ones", len(got), len(want))
	}
	drivertest.Halt(t, k, l)
}
