// Package ffs is the Berkeley Fast File System, UFS1 and UFS2 (NetBSD's
// sys/ufs/ffs): the superblock (found at every standard offset, in either
// byte order), cylinder groups and their maps, the summary area, where
// inodes live, and a read-only consistency checker (Check, behind
// `rumpfs fsck`). The inode, block-map and directory code shared by UFS
// file systems is package ufs; FS.M is the ufs.Mount it reads through.
//
// Parsers (ParseSuperblock, ParseCG) are pure and fuzzed. All metadata
// reads go through FS.mc (cache.go), the stand-in for the buffer cache.
// Allocation, write-back and the VFS glue come later.
//
// Lock order: metaCache.mu is the only lock, a leaf.
package ffs
