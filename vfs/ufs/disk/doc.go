// Package disk is the on-disk layout UFS file systems share (NetBSD's
// sys/ufs/ufs/dinode.h): the dinode of UFS1 and UFS2, laid out once per
// version as a table of Fields that ParseDinode and Marshal both read,
// and Field itself, the declaration of one integer field of an on-disk
// structure by offset and width (FFS's superblock and cylinder groups,
// in ffs/disk, use it too). It does no I/O and imports nothing of the
// kernel; byte order is the image's, passed in (FFS images come in
// both). Directory entries and extended attribute records are still
// parsed in package ufs.
package disk
