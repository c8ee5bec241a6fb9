package images

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"os"

	"golang.org/x/sys/unix"
)

// VHDX (Hyper-V), read-only, fixed and dynamic: two headers (the valid one
// with the higher sequence number wins), a region table locating the
// block allocation table (BAT) and the metadata (block size, virtual
// size, sector size). BAT entries map payload blocks to 1 MiB-aligned
// file offsets; every chunk-ratio entries a sector bitmap entry is
// interleaved. All structures are little-endian and CRC-32C checked. A
// dirty log (a log GUID set) and differencing disks are refused.

const vhdxMagic = "vhdxfile"

var (
	vhdxBATGUID      = vhdxGUID(0x2DC27766, 0xF623, 0x4200, 0x9D64115E9BFD4A08)
	vhdxMetadataGUID = vhdxGUID(0x8B7CA206, 0x4790, 0x4B9A, 0xB8FE575F050F886E)
	vhdxFileParams   = vhdxGUID(0xCAA16737, 0xFA36, 0x4D43, 0xB3B633F0AA44E76B)
	vhdxDiskSize     = vhdxGUID(0x2FA54224, 0xCD1B, 0x4876, 0xB2115DBED83BF4B8)
	vhdxLogicalSect  = vhdxGUID(0x8141BF1D, 0xA96F, 0x4709, 0xBA47F233A8FAAB5F)
	crc32c           = crc32.MakeTable(crc32.Castagnoli)
)

// vhdxGUID is a GUID as stored on disk: the first three fields
// little-endian, the last eight bytes as written.
func vhdxGUID(a uint32, b, c uint16, d uint64) [16]byte {
	var g [16]byte
	binary.LittleEndian.PutUint32(g[0:], a)
	binary.LittleEndian.PutUint16(g[4:], b)
	binary.LittleEndian.PutUint16(g[6:], c)
	binary.BigEndian.PutUint64(g[8:], d)
	return g
}

// vhdxChecked says whether b's CRC-32C (its field at 4 taken as zero)
// matches.
func vhdxChecked(b []byte) bool {
	want := binary.LittleEndian.Uint32(b[4:])
	c := bytes.Clone(b)
	clear(c[4:8])
	return crc32.Checksum(c, crc32c) == want
}

const (
	vhdxMaxBATBytes = 64 << 20
	vhdxPresent     = 6
	vhdxPartial     = 7
)

type vhdx struct {
	f          *os.File
	path       string
	fsize      int64
	blockSize  int64
	chunkRatio int64
	bat        []uint64
}

func openVHDX(f *os.File, path string, fsize int64) (vdisk, *Container, error) {
	bad := func(format string, args ...any) (vdisk, *Container, error) {
		return nil, nil, errnof(unix.EIO, "%s: vhdx: "+format, append([]any{path}, args...)...)
	}
	le := binary.LittleEndian
	var best []byte
	for _, off := range []int64{64 << 10, 128 << 10} {
		h := make([]byte, 4096)
		if readPart(f, path, "vhdx header", h, off) != nil || string(h[:4]) != "head" || !vhdxChecked(h) {
			continue
		}
		if best == nil || le.Uint64(h[8:]) > le.Uint64(best[8:]) {
			best = h
		}
	}
	if best == nil {
		return bad("neither header is valid")
	}
	if !bytes.Equal(best[48:64], make([]byte, 16)) {
		return nil, nil, errnof(unix.EOPNOTSUPP, "%s: vhdx: the log holds writes not yet applied (a dirty image); replaying it is not supported yet", path)
	}
	var batOff, batLen, metaOff, metaLen uint64
	for _, off := range []int64{192 << 10, 256 << 10} {
		r := make([]byte, 64<<10)
		if readPart(f, path, "vhdx region table", r, off) != nil || string(r[:4]) != "regi" || !vhdxChecked(r) {
			continue
		}
		n := le.Uint32(r[8:])
		if n > 2047 {
			return bad("region table of %d entries", n)
		}
		for i := range n {
			e := r[16+32*i:]
			switch [16]byte(e[:16]) {
			case vhdxBATGUID:
				batOff, batLen = le.Uint64(e[16:]), uint64(le.Uint32(e[24:]))
			case vhdxMetadataGUID:
				metaOff, metaLen = le.Uint64(e[16:]), uint64(le.Uint32(e[24:]))
			default:
				if le.Uint32(e[28:])&1 != 0 {
					return nil, nil, errnof(unix.EOPNOTSUPP, "%s: vhdx: an unknown required region", path)
				}
			}
		}
		break
	}
	if batLen == 0 || metaLen == 0 {
		return bad("no valid region table with a BAT and metadata")
	}
	if metaLen > 1<<20 || metaOff > uint64(fsize) || metaLen > uint64(fsize)-metaOff {
		return bad("metadata region at byte %d (%d bytes) lies outside the file", metaOff, metaLen)
	}
	meta := make([]byte, metaLen)
	if err := readPart(f, path, "vhdx metadata", meta, int64(metaOff)); err != nil {
		return nil, nil, err
	}
	if len(meta) < 32 || string(meta[:8]) != "metadata" {
		return bad("no metadata table")
	}
	item := func(g [16]byte, n int) []byte {
		cnt := int(le.Uint16(meta[10:]))
		for i := 0; i < cnt && 32+32*i+32 <= len(meta); i++ {
			e := meta[32+32*i:]
			if [16]byte(e[:16]) == g {
				o, l := int(le.Uint32(e[16:])), int(le.Uint32(e[20:]))
				if l >= n && o >= 0 && o <= len(meta)-n {
					return meta[o : o+n]
				}
			}
		}
		return nil
	}
	fp, ds, ls := item(vhdxFileParams, 8), item(vhdxDiskSize, 8), item(vhdxLogicalSect, 4)
	if fp == nil || ds == nil || ls == nil {
		return bad("metadata lacks the file parameters, the virtual disk size or the sector size")
	}
	bs, flags, size, sect := int64(le.Uint32(fp)), le.Uint32(fp[4:]), le.Uint64(ds), int64(le.Uint32(ls))
	if flags&2 != 0 {
		return nil, nil, errnof(unix.EOPNOTSUPP, "%s: vhdx: differencing disks are not supported yet", path)
	}
	if bs < 1<<20 || bs > 256<<20 || bs&(bs-1) != 0 || (sect != 512 && sect != 4096) {
		return bad("block size %d or sector size %d", bs, sect)
	}
	if size > 64<<40 {
		return bad("virtual size %d is past the format's 64 TiB", size)
	}
	chunk := (1 << 23) * sect / bs
	blocks := (int64(size) + bs - 1) / bs
	entries := blocks + (blocks-1)/chunk
	if entries*8 > vhdxMaxBATBytes || uint64(entries*8) > batLen || batOff > uint64(fsize) || batLen > uint64(fsize)-batOff {
		return bad("BAT at byte %d (%d bytes) does not hold %d entries inside the file", batOff, batLen, entries)
	}
	raw := make([]byte, entries*8)
	if err := readPart(f, path, "vhdx BAT", raw, int64(batOff)); err != nil {
		return nil, nil, err
	}
	d := &vhdx{f: f, path: path, fsize: fsize, blockSize: bs, chunkRatio: chunk, bat: make([]uint64, entries)}
	for i := range d.bat {
		d.bat[i] = le.Uint64(raw[i*8:])
	}
	sub := "dynamic"
	if flags&1 != 0 {
		sub = "fixed"
	}
	return d, &Container{Format: "vhdx", Subformat: sub, Path: path, VirtualSize: int64(size)}, nil
}

func (d *vhdx) Close() error { return d.f.Close() }

func (d *vhdx) ReadAt(p []byte, off int64) (int, error) {
	done := 0
	for done < len(p) {
		at := off + int64(done)
		blk, within := at/d.blockSize, at%d.blockSize
		n := int(min(int64(len(p)-done), d.blockSize-within))
		i := blk + blk/d.chunkRatio
		if i >= int64(len(d.bat)) {
			return done, errnof(unix.EIO, "%s: vhdx: byte %d is past the BAT", d.path, at)
		}
		e := d.bat[i]
		switch e & 7 {
		case vhdxPresent:
			if err := readPart(d.f, d.path, "vhdx payload block", p[done:done+n], int64(e>>20)<<20+within); err != nil {
				return done, err
			}
		case vhdxPartial:
			return done, errnof(unix.EIO, "%s: vhdx: block %d is partially present, which only a differencing disk may be", d.path, blk)
		default: // not present, undefined, zero, unmapped
			clear(p[done : done+n])
		}
		done += n
	}
	return done, nil
}
