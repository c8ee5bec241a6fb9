package images

import (
	"encoding/binary"
	"os"

	"golang.org/x/sys/unix"
)

// VHD (Virtual PC, Hyper-V generation 1), read-only: a 512-byte footer
// at the end of the file (copied at the start of a dynamic one) says the
// disk type. A fixed disk is the raw bytes before the footer; a dynamic
// disk maps fixed-size blocks through a block allocation table (BAT), an
// entry of 0xffffffff meaning a block never written (zeros). Each stored
// block is a sector bitmap followed by the data; the bitmap only matters
// for differencing disks, which are refused.

const vhdCookie = "conectix"

const (
	vhdFixed        = 2
	vhdDynamic      = 3
	vhdDifferencing = 4
	vhdMaxBAT       = 1 << 22 // entries: 8 TiB in 2 MiB blocks, 16 MiB of table
)

type vhd struct {
	f          *os.File
	path       string
	blockSize  int64
	bitmapSize int64
	bat        []uint32
}

func openVHD(f *os.File, path string, fsize int64, ch *chain) (vdisk, *Container, error) {
	bad := func(format string, args ...any) (vdisk, *Container, error) {
		return nil, nil, errnof(unix.EIO, "%s: vhd: "+format, append([]any{path}, args...)...)
	}
	be := binary.BigEndian
	var foot [512]byte
	if fsize < 512 {
		return bad("file too short for a footer (%d bytes)", fsize)
	}
	if err := readPart(f, path, "vhd footer", foot[:], fsize-512); err != nil {
		return nil, nil, err
	}
	if string(foot[:8]) != vhdCookie {
		// A dynamic disk whose trailing footer is gone: use the copy.
		if err := readPart(f, path, "vhd footer copy", foot[:], 0); err != nil {
			return nil, nil, err
		}
	}
	if sum := vhdChecksum(foot[:], 64); sum != be.Uint32(foot[64:]) {
		return bad("footer checksum %#x, computed %#x", be.Uint32(foot[64:]), sum)
	}
	size := be.Uint64(foot[48:])
	typ := be.Uint32(foot[60:])
	c := &Container{Format: "vhd", Path: path}
	switch typ {
	case vhdFixed:
		if size > uint64(fsize-512) {
			return bad("fixed disk of %d bytes in a file of %d", size, fsize)
		}
		c.Subformat, c.VirtualSize = "fixed", int64(size)
		return &vhdFixedDisk{f}, c, nil
	case vhdDynamic:
	case vhdDifferencing:
		return nil, nil, errnof(unix.EOPNOTSUPP, "%s: vhd: differencing disks are not supported yet", path)
	default:
		return bad("unknown disk type %d", typ)
	}
	hdrOff := be.Uint64(foot[16:])
	var h [1024]byte
	if hdrOff > uint64(fsize) || uint64(fsize)-hdrOff < 1024 {
		return bad("dynamic header at byte %d lies outside the file", hdrOff)
	}
	if err := readPart(f, path, "vhd dynamic header", h[:], int64(hdrOff)); err != nil {
		return nil, nil, err
	}
	if string(h[:8]) != "cxsparse" {
		return bad("no dynamic header at byte %d", hdrOff)
	}
	batOff := be.Uint64(h[16:])
	entries := be.Uint32(h[28:])
	bs := be.Uint32(h[32:])
	if bs < 512 || bs > 256<<20 || bs&(bs-1) != 0 {
		return bad("block size %d is not a power of two from 512 bytes to 256 MiB", bs)
	}
	if entries > vhdMaxBAT || uint64(entries)*uint64(bs) < size {
		return bad("block allocation table of %d entries does not fit a disk of %d bytes", entries, size)
	}
	if batOff > uint64(fsize) || uint64(entries)*4 > uint64(fsize)-batOff {
		return bad("block allocation table at byte %d (%d entries) lies outside the file", batOff, entries)
	}
	raw := make([]byte, int(entries)*4)
	if err := readPart(f, path, "vhd block allocation table", raw, int64(batOff)); err != nil {
		return nil, nil, err
	}
	d := &vhd{f: f, path: path, blockSize: int64(bs), bat: make([]uint32, entries)}
	for i := range d.bat {
		d.bat[i] = be.Uint32(raw[i*4:])
	}
	// The bitmap has a bit per sector, rounded up to whole sectors.
	d.bitmapSize = (int64(bs)/512/8 + 511) &^ 511
	c.Subformat, c.VirtualSize = "dynamic", int64(size)
	return d, c, nil
}

// vhdChecksum is the one's complement of the byte sum, skipping the
// checksum field at skip.
func vhdChecksum(b []byte, skip int) uint32 {
	var s uint32
	for i, x := range b {
		if i < skip || i >= skip+4 {
			s += uint32(x)
		}
	}
	return ^s
}

type vhdFixedDisk struct{ f *os.File }

func (d *vhdFixedDisk) ReadAt(p []byte, off int64) (int, error) { return d.f.ReadAt(p, off) }
func (d *vhdFixedDisk) Close() error                            { return d.f.Close() }

func (d *vhd) Close() error { return d.f.Close() }

func (d *vhd) ReadAt(p []byte, off int64) (int, error) {
	done := 0
	for done < len(p) {
		at := off + int64(done)
		blk := at / d.blockSize
		within := at % d.blockSize
		n := int(min(int64(len(p)-done), d.blockSize-within))
		if blk >= int64(len(d.bat)) {
			return done, errnof(unix.EIO, "%s: vhd: byte %d is past the block allocation table", d.path, at)
		}
		if e := d.bat[blk]; e == 0xffffffff {
			clear(p[done : done+n])
		} else if err := readPart(d.f, d.path, "vhd data block", p[done:done+n], int64(e)*512+d.bitmapSize+within); err != nil {
			return done, err
		}
		done += n
	}
	return done, nil
}
