// Package disk is the on-disk layout of the Berkeley Fast File System
// (NetBSD's sys/ufs/ffs/fs.h): the superblock (struct fs), the cylinder
// group block (struct cg) with its maps, and the summary array (struct
// csum). Each structure's layout is one list of Fields that its decoder
// reads and its encoder writes; decoders validate everything a caller
// computes with, and are fuzzed. Byte order is the image's (FindMagic
// finds it from the superblock's magic; FFS images come in both). No I/O
// and no kernel: the driver is package ffs, what UFS shares is package
// ufs/disk.
package disk

import "github.com/rumpfs/rumpfs/internal/ondisk"

// Field is one integer field of an on-disk structure (internal/ondisk).
type Field = ondisk.Field

func fld(off, size int) Field { return Field{Off: off, Size: size} }
