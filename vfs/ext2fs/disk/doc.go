// Package disk holds the on-disk structures of ext2, ext3 and ext4 and of
// the jbd2 journal: parsers from byte slices into Go values, the checksums
// that protect them (crc32c for metadata_csum, crc16 for gdt_csum) and the
// directory hash functions of htree directories. It does no I/O, keeps no
// state and takes no locks; every parser checks bounds and reports a
// malformed structure as an error naming it, never by panicking. The
// reading logic lives in package ext2fs. The inode, which is written back,
// is declared once as internal/ondisk Fields that its decoder and its
// encoder both read.
//
// ext2/3/4 structures are little-endian; jbd2 structures are big-endian.
package disk
