package images

import (
	"encoding/binary"
	"fmt"
)

// FFS (UFS1 and UFS2): struct fs, in the byte order of the machine that
// wrote it, with fs_magic at 1372. NetBSD looks for it at 65536 (UFS2),
// 8192 (UFS1; makefs also puts small UFS2 file systems there), 0 (floppies)
// and 262144 (piggy-backed). Offsets used here:
//
//	32 fs_old_time   36 fs_old_size  40 fs_old_dsize  44 fs_ncg
//	48 fs_bsize      52 fs_fsize     56 fs_frag       144 fs_id[2]
//	192 fs_old_cstotal (ndir, nbfree, nifree, nffree: int32)
//	209 fs_clean     211 fs_old_flags 212 fs_fsmnt[468] 680 fs_volname[32]
//	1000 fs_sblockloc 1008 fs_cstotal (int64 x4) 1072 fs_time
//	1080 fs_size     1088 fs_dsize    1312 fs_flags    1372 fs_magic

const (
	ffsUFS1Magic   = 0x011954
	ffsUFS2Magic   = 0x19540119
	ffsUFS2EAMagic = 0x19012038 // UFS2 with extended attributes (NetBSD 10)
	ffsSBReadSize  = 1376
)

var ffsSuperblockOffsets = []int64{65536, 8192, 0, 262144}

var ffsFlags = []flagName{{0x02, "soft updates"}, {0x08, "indexed directories"}, {0x10, "ACLs"},
	{0x20, "multilabel"}, {0x100, "WAPBL log"}, {0x200, "quota2"}, {0x400, "POSIX.1e ACLs"}, {0x800, "NFSv4 ACLs"}}

func probeFFS(w *window) *FS {
	for _, off := range ffsSuperblockOffsets {
		b := w.read(off, ffsSBReadSize)
		if b == nil {
			continue
		}
		if f := parseFFS(b, off, w.size); f != nil {
			return f
		}
	}
	return nil
}

func parseFFS(b []byte, off, size int64) *FS {
	var order binary.ByteOrder
	var magic uint32
	for _, o := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		switch m := o.Uint32(b[1372:]); m {
		case ffsUFS1Magic, ffsUFS2Magic, ffsUFS2EAMagic:
			order, magic = o, m
		}
		if order != nil {
			break
		}
	}
	if order == nil {
		return nil
	}
	ufs1 := magic == ffsUFS1Magic
	if ufs1 && off == 65536 {
		return nil // a UFS1 magic there is a cylinder group's backup, not the superblock
	}
	i32 := func(at int) int64 { return int64(int32(order.Uint32(b[at:]))) }
	i64 := func(at int) int64 { return int64(order.Uint64(b[at:])) }
	bsize, fsize, frag, ncg := i32(48), i32(52), i32(56), i32(44)
	if !isPow2(bsize) || bsize < 4096 || bsize > 65536 || !isPow2(fsize) || fsize < 512 || fsize > bsize ||
		frag != bsize/fsize || ncg <= 0 {
		return nil
	}
	f := &FS{Type: "ffs", BlockSize: int(bsize), Offset: off,
		Label: cstring(b[680:712]), MountedOn: cstring(b[212:680])}
	var fsSize, dsize, nbfree, nffree, t int64
	flags := int64(b[211])
	if ufs1 {
		f.Variant = "FFSv1"
		fsSize, dsize, t = i32(36), i32(40), i32(32)
		nbfree, nffree = i32(196), i32(204)
		if flags&0x80 != 0 { // FS_FLAGS_UPDATED: the flags moved to fs_flags
			flags = i32(1312)
		}
	} else {
		f.Variant = "FFSv2"
		fsSize, dsize, t = i64(1080), i64(1088), i64(1072)
		nbfree, nffree = i64(1016), i64(1032)
		flags = i32(1312)
		if sbloc := i64(1000); sbloc != off {
			f.Notes = append(f.Notes, fmt.Sprintf("superblock found at %d but says it belongs at %d", off, sbloc))
		}
	}
	if id0, id1 := order.Uint32(b[144:]), order.Uint32(b[148:]); id0|id1 != 0 {
		f.UUID = fmt.Sprintf("%08x%08x", id0, id1) // as blkid prints fs_id
	}
	// Size is the data area (fs_dsize), as df counts it.
	f.Size = dsize * fsize
	f.Free = (nbfree*frag + nffree) * fsize
	f.Used = f.Size - f.Free
	if fsSize <= 0 || dsize <= 0 || dsize > fsSize || nbfree < 0 || nffree < 0 || f.Used < 0 || fsSize > 1<<50 {
		f.Size, f.Used, f.Free = -1, -1, -1
		f.Notes = append(f.Notes, "superblock summary counts do not add up")
	} else {
		f.Span = fsSize * fsize // Probe notes a window shorter than this
	}
	if order == binary.BigEndian {
		f.Features = append(f.Features, "big-endian")
	} else {
		f.Features = append(f.Features, "little-endian")
	}
	if magic == ffsUFS2EAMagic {
		f.Features = append(f.Features, "extended attributes")
	}
	f.Features = append(f.Features, flagNames(uint32(flags), ffsFlags)...)
	switch {
	case flags&0x05 != 0: // FS_UNCLEAN, FS_NEEDSFSCK
		f.State = "dirty"
	case b[209]&0x01 != 0: // FS_ISCLEAN
		f.State = "clean"
	default:
		f.State = "dirty"
	}
	f.LastWrite = unixTime(t)
	f.Notes = append(f.Notes, "FFS keeps no mount time; lastWrite is the superblock's fs_time")
	return f
}
