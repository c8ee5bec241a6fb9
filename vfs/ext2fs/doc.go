// Package ext2fs reads ext2, ext3 and ext4 file systems: superblock and
// group descriptors, inodes, block maps and extent trees, file data,
// symlinks, linear, inline and hashed (htree) directories, extended
// attributes, and recovery of a jbd2 journal into a remap under the buffer cache so
// that a file system with a dirty journal reads consistently while its
// image stays untouched. It never writes the device.
//
// Two layers live here. The library (fs.go, inode.go, bmap.go, read.go,
// dir.go, symlink.go, xattr.go, journal.go, blockdev.go) opens an FS on a
// bio.Device and reads Inodes: Lookup, Attr, ReadAt/Read, Readdir,
// Readlink, ListXattr, GetXattr, Bmap. The VFS driver (vfsops.go,
// vnops.go) registers the file system type "ext2fs" (aliases ext2, ext3,
// ext4): a mount holds one *FS, a vnode's Data is one in-core inode, and every
// vnode operation that would write answers EROFS (the mount is always
// read-only; a read-write request is refused). The on-disk formats
// themselves are in package disk. What drivers share comes from package
// genfs: the file data read and its lending (read.go gives genfs the
// block map, with inline data and journal-replaced blocks as runs on
// devices of their own, never lent), the xattr copy-out and the "." and
// ".." lookup.
//
// Owns: the FS value (geometry, group descriptors) and its attachment to
// the buffer cache: metadata is read only through vfs/bio, from a
// bio.Remap of the device in which the replayed journal's blocks replace
// their homes (blockdev.go, journal.go). The in-core inode is a mutable
// value under its vnode's lock, with an encode back into its inode table
// slot from the same layout as the decode (disk.Inode.Encode); nothing
// changes it while the mount is read-only, so an FS and its Inodes may be
// used from many goroutines at once, and the vnode operations need no
// lock beyond those the VFS takes for them.
//
// Lock order (one lock of its own, under the VFS's namespace and vnode
// locks, and over bio's buffer locks):
//
//	blockDev.mu  (read-ahead bookkeeping; a leaf, never held across I/O)
//
// A lookup may hold a few buffers busy at once, root first (the htree
// path, an extent index and its child), and refuses a pointer back to a
// block it holds.
//
// Errors are unix.Errno. Damaged metadata yields EIO and one line through
// Options.Logf naming the structure; a checksum mismatch fails only the
// object it protects.
package ext2fs
