// Package ffs is the Berkeley Fast File System, UFS1 and UFS2 (NetBSD's
// sys/ufs/ffs), as a read-write VFS driver registered as "ffs" (alias
// "ufs"): the superblock (found at every standard offset, in either byte
// order), cylinder groups and their maps, the summary area, inode and
// block allocation by cylinder group (alloc.go), block mapping for writes
// with fragment growth and truncation (bmap.go), directory edits
// (lookup.go), the vnode operations (vnops.go), UFS2 extended attributes
// (extattr.go: the naming and permission rules are there), the VFS glue
// (vfsops.go) and the file system read without a kernel (subr.go: Open);
// and a read-only consistency checker (Check, behind `rumpfs fsck`). The
// inode, block-map and directory reading shared by UFS file systems is
// package ufs; FS.M is the ufs.Mount it reads through.
//
// Mounted, metadata (inode, group, indirect and directory blocks, the
// superblock and summary area) lives in the buffer cache and is written
// back by sync and unmount; file data goes between the device and the
// caller's buffer directly, through genfs (on a read-only mount a lending
// read may get the device's own bytes). Every change to an inode is
// written into its inode block before the operation returns. An image that is not clean,
// or carries a WAPBL journal, is refused read-write (EROFS, with the
// reason in dmesg) and mounts read-only with a warning. A read-write
// mount clears the clean flag on disk and a clean unmount sets it again.
// Open and Check read an image without a kernel, their metadata through a
// private, bounded buffer cache (bio) over the device (bio.ReaderDevice
// for an image file). The on-disk layout of the superblock and cylinder
// groups is package ffs/disk (pure, fuzzed), what UFS shares is ufs and
// ufs/disk.
//
// Lock order (outermost first), below the VFS's namespace and vnode locks:
//
//	FS.allocMu (kernel.Mutex: group maps, FS.CS, superblock totals)
//	  one buffer busy at a time (bio), except that allocInode may take an
//	  inode block while holding none other
package ffs
