package images

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"io"
	"os"
	"regexp"
	"sync"

	"golang.org/x/sys/unix"
)

// VMDK sparse extents (monolithicSparse, streamOptimized), read-only: a
// grain directory (in memory) points at grain tables (read on demand and
// cached), whose entries give the sector of each grain (0 or 1: zeros).
// In a streamOptimized file grains are zlib streams behind a 12-byte
// marker, and the header at the start defers to a copy near the end.
// Text descriptors naming extent files are in vmdkdesc.go; delta links
// to a parent are not read yet.

const vmdkMagic = "KDMV"

const (
	vmdkCompressed = 1 << 16 // flags: grains are compressed
	vmdkGDAtEnd    = ^uint64(0)
	vmdkMaxGDBytes = 32 << 20
	vmdkGTCached   = 64
	vmdkMaxDesc    = 64 << 10
	vmdkMaxBytes   = 1 << 56
)

type vmdk struct {
	f          *os.File
	path       string
	fsize      int64
	grain      int64 // bytes
	gtes       uint64
	compressed bool
	gd         []uint32
	gt         *tableCache[uint32]

	mu   sync.Mutex
	zoff int64  // sector offset of the grain in zbuf, 0 if none; under mu
	zbuf []byte // the last inflated grain; under mu
}

var (
	vmdkCreateType = regexp.MustCompile(`(?m)^\s*createType\s*=\s*"([^"]*)"`)
	vmdkParentCID  = regexp.MustCompile(`(?m)^\s*parentCID\s*=\s*([0-9a-fA-F]+)`)
)

func openVMDK(f *os.File, path string, fsize int64) (vdisk, *Container, error) {
	bad := func(format string, args ...any) (vdisk, *Container, error) {
		return nil, nil, errnof(unix.EIO, "%s: vmdk: "+format, append([]any{path}, args...)...)
	}
	le := binary.LittleEndian
	var h [512]byte
	if err := readPart(f, path, "vmdk header", h[:], 0); err != nil {
		return nil, nil, err
	}
	if le.Uint64(h[56:]) == vmdkGDAtEnd {
		// streamOptimized: the header with the real grain directory
		// offset is the footer, 1024 bytes from the end.
		if fsize < 1536 {
			return bad("file too short for a footer")
		}
		if err := readPart(f, path, "vmdk footer", h[:], fsize-1024); err != nil {
			return nil, nil, err
		}
		if string(h[:4]) != vmdkMagic {
			return bad("no footer header 1024 bytes from the end")
		}
	}
	version, flags := le.Uint32(h[4:]), le.Uint32(h[8:])
	capacity, grainSec := le.Uint64(h[12:]), le.Uint64(h[20:])
	descOff, descSize := le.Uint64(h[28:]), le.Uint64(h[36:])
	gtes := uint64(le.Uint32(h[44:]))
	gdOff := le.Uint64(h[56:])
	algo := le.Uint16(h[77:])
	if version < 1 || version > 3 {
		return nil, nil, errnof(unix.EOPNOTSUPP, "%s: vmdk: version %d (only 1-3 are known)", path, version)
	}
	if grainSec == 0 || grainSec > 2048 || grainSec&(grainSec-1) != 0 {
		return bad("grain size of %d sectors is not a power of two up to 1 MiB", grainSec)
	}
	if gtes == 0 || gtes > 4096 {
		return bad("%d entries per grain table", gtes)
	}
	if capacity > vmdkMaxBytes/512 {
		return bad("capacity of %d sectors is too large", capacity)
	}
	compressed := flags&vmdkCompressed != 0
	if compressed && algo != 1 {
		return nil, nil, errnof(unix.EOPNOTSUPP, "%s: vmdk: compression algorithm %d (only deflate is known)", path, algo)
	}
	c := &Container{Format: "vmdk", Path: path, VirtualSize: int64(capacity * 512), Subformat: "sparse"}
	if descOff != 0 && descSize != 0 {
		if descSize*512 > vmdkMaxDesc || descOff > uint64(fsize)/512 || descSize*512 > uint64(fsize)-descOff*512 {
			return bad("descriptor at sector %d (%d sectors) lies outside the file or is too large", descOff, descSize)
		}
		desc := make([]byte, descSize*512)
		if err := readPart(f, path, "vmdk descriptor", desc, int64(descOff*512)); err != nil {
			return nil, nil, err
		}
		if m := vmdkCreateType.FindSubmatch(desc); m != nil {
			c.Subformat = string(m[1])
		}
		if m := vmdkParentCID.FindSubmatch(desc); m != nil && !bytes.EqualFold(m[1], []byte("ffffffff")) {
			return nil, nil, errnof(unix.EOPNOTSUPP, "%s: vmdk: a delta link to a parent disk is not supported yet", path)
		}
	}
	grain := grainSec * 512
	span := grain * gtes
	ngd := (capacity*512 + span - 1) / span
	if ngd*4 > vmdkMaxGDBytes {
		return bad("grain directory of %d entries is too large", ngd)
	}
	if gdOff > uint64(fsize)/512 || ngd*4 > uint64(fsize)-gdOff*512 {
		return bad("grain directory at sector %d (%d entries) lies outside the file", gdOff, ngd)
	}
	raw := make([]byte, ngd*4)
	if err := readPart(f, path, "vmdk grain directory", raw, int64(gdOff*512)); err != nil {
		return nil, nil, err
	}
	d := &vmdk{f: f, path: path, fsize: fsize, grain: int64(grain), gtes: gtes, compressed: compressed,
		gd: make([]uint32, ngd), gt: newTableCache[uint32](vmdkGTCached)}
	for i := range d.gd {
		d.gd[i] = le.Uint32(raw[i*4:])
	}
	return d, c, nil
}

func (d *vmdk) Close() error { return d.f.Close() }

func (d *vmdk) eio(format string, args ...any) error {
	return errnof(unix.EIO, "%s: vmdk: "+format, append([]any{d.path}, args...)...)
}

func (d *vmdk) ReadAt(p []byte, off int64) (int, error) {
	done := 0
	for done < len(p) {
		at := off + int64(done)
		idx, within := uint64(at/d.grain), at%d.grain
		n := int(min(int64(len(p)-done), d.grain-within))
		if err := d.readGrain(p[done:done+n], idx, within); err != nil {
			return done, err
		}
		done += n
	}
	return done, nil
}

func (d *vmdk) readGrain(p []byte, idx uint64, within int64) error {
	gdi := idx / d.gtes
	if gdi >= uint64(len(d.gd)) {
		return d.eio("grain %d is past the grain directory", idx)
	}
	var sector uint64
	if gtOff := uint64(d.gd[gdi]) * 512; gtOff != 0 {
		t, err := d.gt.get(gtOff, func() ([]uint32, error) {
			if gtOff > uint64(d.fsize) || d.gtes*4 > uint64(d.fsize)-gtOff {
				return nil, d.eio("grain table at byte %d lies outside the file", gtOff)
			}
			raw := make([]byte, d.gtes*4)
			if err := readPart(d.f, d.path, "vmdk grain table", raw, int64(gtOff)); err != nil {
				return nil, err
			}
			t := make([]uint32, d.gtes)
			for i := range t {
				t[i] = binary.LittleEndian.Uint32(raw[i*4:])
			}
			return t, nil
		})
		if err != nil {
			return err
		}
		sector = uint64(t[idx%d.gtes])
	}
	if sector <= 1 { // never written, or a zeroed grain
		clear(p)
		return nil
	}
	if !d.compressed {
		return readPart(d.f, d.path, "vmdk grain", p, int64(sector*512)+within)
	}
	return d.readCompressed(p, int64(sector), within)
}

// readCompressed inflates the grain whose marker is at sector: a 12-byte
// marker (LBA, size) and a zlib stream inflating to at most a grain; what
// it does not fill reads as zeros.
func (d *vmdk) readCompressed(p []byte, sector, within int64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.zoff != sector {
		var m [12]byte
		if err := readPart(d.f, d.path, "vmdk grain marker", m[:], sector*512); err != nil {
			return err
		}
		size := int64(binary.LittleEndian.Uint32(m[8:]))
		if size == 0 || size > 2*d.grain+1024 || size > d.fsize-sector*512-12 {
			return d.eio("compressed grain at sector %d claims %d bytes", sector, size)
		}
		comp := make([]byte, size)
		if err := readPart(d.f, d.path, "vmdk compressed grain", comp, sector*512+12); err != nil {
			return err
		}
		if d.zbuf == nil {
			d.zbuf = make([]byte, d.grain)
		}
		d.zoff = 0
		zr, err := zlib.NewReader(bytes.NewReader(comp))
		if err != nil {
			return d.eio("compressed grain at sector %d: %v", sector, err)
		}
		n, err := io.ReadFull(zr, d.zbuf)
		if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
			return d.eio("compressed grain at sector %d: %v", sector, err)
		}
		clear(d.zbuf[n:])
		d.zoff = sector
	}
	copy(p, d.zbuf[within:])
	return nil
}
