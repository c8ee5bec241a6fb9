// Package ufs is the inode and directory code shared by UFS file systems
// (NetBSD's sys/ufs/ufs): the on-disk inode (dinode) for UFS1 and UFS2,
// directory blocks, block mapping through direct and indirect pointers
// (ufs_bmap), reading file data, directories and symbolic links, and the
// UFS2 extended attribute area (extattr.go).
//
// It owns no superblock and no allocation policy: those belong to the
// file system that builds a Mount (package ffs). A Mount says how big
// blocks are, how to read a metadata block (Mount.Meta) and where the
// device is; ufs turns an inode into bytes: Inode.File describes an
// inode's blocks to package genfs, which reads them (and lends them, when
// the file system allows). The on-disk layouts and their parsers
// (ParseDinode, ParseDirChunk, ParseExtattrs) are package ufs/disk: pure,
// no I/O, fuzzed; ufs keeps their names.
//
// Byte order: every multi-byte field is read through the Mount's
// binary.ByteOrder, so a big-endian image is swapped field by field as
// it is decoded (NetBSD's ffs_bswap / ufs_rw32), never in place.
//
// Lock order: ufs holds no locks of its own. An Inode is a value the
// caller serialises (the VFS vnode lock, later); Mount.Meta must be safe
// for concurrent use.
//
// Errors: runtime calls return unix.Errno. A corrupt structure gives EIO
// and one line through Mount.Logf naming the inode and the structure.
package ufs
