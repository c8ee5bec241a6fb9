package bio

import (
	"bytes"
	"testing"

	"golang.org/x/sys/unix"
)

func TestReaderDevice(t *testing.T) {
	img := make([]byte, 3*DevBSize)
	for i := range img {
		img[i] = byte(i / DevBSize)
	}
	var d Device = NewReaderDevice(bytes.NewReader(img), int64(len(img)))
	if !d.ReadOnly() || d.Size() != int64(len(img)) || d.SectorSize() != DevBSize {
		t.Fatalf("ReadOnly %v Size %d SectorSize %d", d.ReadOnly(), d.Size(), d.SectorSize())
	}
	p := make([]byte, 2*DevBSize)
	if n, e := d.ReadAt(nil, p, 2*DevBSize); n != DevBSize || e != 0 || p[0] != 2 {
		t.Errorf("read straddling the end: %d, %v, byte %d", n, e, p[0])
	}
	if n, e := d.ReadAt(nil, p, 3*DevBSize); n != 0 || e != 0 {
		t.Errorf("read at the end: %d, %v", n, e)
	}
	if _, e := d.ReadAt(nil, p[:100], 0); e != unix.EINVAL {
		t.Errorf("unaligned read: %v", e)
	}
	if _, e := d.WriteAt(nil, p, 0); e != unix.EROFS {
		t.Errorf("write: %v", e)
	}

	// Through the cache: a block straddling the end reads as zeros past it.
	dev := NewCache(nil, 1<<20).Attach(d, "img")
	b, e := dev.Bread(nil, 2, 2*DevBSize)
	if e != 0 {
		t.Fatal(e)
	}
	if b.Data[0] != 2 || b.Data[DevBSize] != 0 {
		t.Errorf("Bread: bytes %d, %d", b.Data[0], b.Data[DevBSize])
	}
	b.Brelse()
}
