// Package disk is the on-disk layout UFS file systems share (NetBSD's
// sys/ufs/ufs/dinode.h, dir.h and extattr.h): the dinode of UFS1 and UFS2,
// directory entries and UFS2 extended attribute records. Each structure
// is declared once as Fields (offset and width, from internal/ondisk)
// that its decoder and its encoder both read, so no offset is written
// twice; FFS's superblock and cylinder groups (ffs/disk) and ext2's inode
// use Field too. It does no I/O and imports
// nothing of the kernel; byte order is the image's, passed in (FFS images
// come in both). Package ufs keeps the names its users know.
package disk
