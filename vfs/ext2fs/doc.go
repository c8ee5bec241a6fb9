// Package ext2fs reads ext2, ext3 and ext4 file systems: superblock and
// group descriptors, inodes, block maps and extent trees, file data,
// symlinks, linear, inline and hashed (htree) directories, extended
// attributes, and recovery of a jbd2 journal into an in-memory overlay so
// that a file system with a dirty journal reads consistently while its
// image stays untouched. It never writes the device.
//
// It is a library below the VFS: the VFS driver glue (vnode operations)
// holds an *FS per mount and an *Inode per vnode, and calls Lookup,
// Attr, ReadAt/Read, Readdir, Readlink, ListXattr and GetXattr. The
// on-disk formats themselves are in package disk.
//
// Owns: the FS value (geometry, group descriptors, journal overlay) and a
// small bounded cache of metadata blocks. Inodes are immutable snapshots
// once read; nothing here changes after Open, so an FS and its Inodes may
// be used from many goroutines at once.
//
// Lock order (one lock):
//
//	blockDev.mu  (metadata block cache; a leaf, never held across I/O)
//
// Errors are unix.Errno. Damaged metadata yields EIO and one line through
// Options.Logf naming the structure; a checksum mismatch fails only the
// object it protects.
package ext2fs
