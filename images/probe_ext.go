package images

import (
	"encoding/binary"
	"fmt"
)

// ext2/3/4: the superblock is 1024 bytes at byte 1024, little-endian,
// s_magic 0xef53 at 56. ext3 is ext2 plus a journal; ext4 is told apart by
// the features only it has (extents, 64bit, flex_bg, huge_file, ...).

var extCompat = []flagName{{0x1, "dir_prealloc"}, {0x2, "imagic_inodes"}, {0x4, "has_journal"}, {0x8, "ext_attr"},
	{0x10, "resize_inode"}, {0x20, "dir_index"}, {0x200, "sparse_super2"}, {0x400, "fast_commit"}, {0x1000, "orphan_file"}}
var extIncompat = []flagName{{0x1, "compression"}, {0x2, "filetype"}, {0x4, "needs_recovery"}, {0x8, "journal_dev"},
	{0x10, "meta_bg"}, {0x40, "extent"}, {0x80, "64bit"}, {0x100, "mmp"}, {0x200, "flex_bg"}, {0x400, "ea_inode"},
	{0x1000, "dirdata"}, {0x2000, "metadata_csum_seed"}, {0x4000, "large_dir"}, {0x8000, "inline_data"},
	{0x10000, "encrypt"}, {0x20000, "casefold"}}
var extROCompat = []flagName{{0x1, "sparse_super"}, {0x2, "large_file"}, {0x8, "huge_file"}, {0x10, "uninit_bg"},
	{0x20, "dir_nlink"}, {0x40, "extra_isize"}, {0x100, "quota"}, {0x200, "bigalloc"}, {0x400, "metadata_csum"},
	{0x1000, "read-only"}, {0x2000, "project"}, {0x8000, "verity"}, {0x10000, "orphan_present"}}

// Features that only ext4 has.
const (
	extIncompatExt4 = 0x40 | 0x80 | 0x100 | 0x200 | 0x400 | 0x2000 | 0x4000 | 0x8000 | 0x10000 | 0x20000
	extROCompatExt4 = 0x8 | 0x10 | 0x20 | 0x40 | 0x200 | 0x400 | 0x2000 | 0x8000
)

type flagName struct {
	bit  uint32
	name string
}

func flagNames(v uint32, names []flagName) []string {
	var out []string
	for _, f := range names {
		if v&f.bit != 0 {
			out = append(out, f.name)
		}
	}
	return out
}

func probeExt(w *window) *FS {
	b := w.read(1024, 1024)
	if b == nil || binary.LittleEndian.Uint16(b[56:]) != 0xef53 {
		return nil
	}
	le := binary.LittleEndian
	logBlock := le.Uint32(b[24:])
	if logBlock > 6 || le.Uint32(b[32:]) == 0 || le.Uint32(b[40:]) == 0 {
		return nil
	}
	bs := int64(1024) << logBlock
	compat, incompat, ro := le.Uint32(b[92:]), le.Uint32(b[96:]), le.Uint32(b[100:])
	f := &FS{Type: "ext2fs", Variant: "ext2", BlockSize: int(bs), Offset: 1024,
		Label: cstring(b[120:136]), UUID: uuidString(b[104:120]), MountedOn: cstring(b[136:200])}
	switch {
	case incompat&0x8 != 0:
		f.Type, f.Variant = "ext-journal", "ext3/4 external journal"
	case incompat&extIncompatExt4 != 0 || ro&extROCompatExt4 != 0:
		f.Variant = "ext4"
	case compat&0x4 != 0:
		f.Variant = "ext3"
	}
	blocks := uint64(le.Uint32(b[4:]))
	free := uint64(le.Uint32(b[12:]))
	if incompat&0x80 != 0 {
		blocks |= uint64(le.Uint32(b[0x150:])) << 32
		free |= uint64(le.Uint32(b[0x158:])) << 32
	}
	f.Size = int64(blocks) * bs
	if blocks <= 1<<48 {
		f.Span = f.Size
	}
	f.Free = int64(free) * bs
	f.Used = f.Size - f.Free
	if f.Used < 0 || blocks > 1<<48 {
		f.Used, f.Free = -1, -1
		f.Notes = append(f.Notes, "superblock block counts do not add up")
	}
	f.Features = append(flagNames(compat, extCompat), flagNames(incompat, extIncompat)...)
	f.Features = append(f.Features, flagNames(ro, extROCompat)...)
	state := le.Uint16(b[58:])
	switch {
	case state&2 != 0:
		f.State = "dirty"
		f.Notes = append(f.Notes, "errors detected")
	case incompat&0x4 != 0:
		f.State = "dirty"
		f.Notes = append(f.Notes, "journal needs recovery")
	case state&1 != 0:
		f.State = "clean"
	default:
		f.State = "dirty"
	}
	f.LastMount = unixTime(int64(le.Uint32(b[44:])) | int64(b[0x275])<<32)
	f.LastWrite = unixTime(int64(le.Uint32(b[48:])) | int64(b[0x274])<<32)
	if f.LastMount == nil {
		f.Notes = append(f.Notes, "never mounted")
	}
	if mc := le.Uint16(b[52:]); mc > 0 {
		f.Notes = append(f.Notes, fmt.Sprintf("mounted %d times since the last check", mc))
	}
	return f
}
