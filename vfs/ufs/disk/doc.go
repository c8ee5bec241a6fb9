// Package disk is the on-disk layout UFS file systems share (NetBSD's
// sys/ufs/ufs/dinode.h and dir.h): the sizes and counts of the inode's
// address area, and Field, the declaration of one integer field of an
// on-disk structure by its offset and width that both decode and encode
// read. It does no I/O and imports nothing of the kernel; byte order is
// the image's, passed in (FFS images come in both).
package disk
