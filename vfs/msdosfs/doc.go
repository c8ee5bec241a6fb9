// Package msdosfs is the FAT file system (FAT12, FAT16, FAT32 with VFAT
// long names), NetBSD's msdosfs: type "msdos", aliases "vfat" and "fat".
// It mounts read-only for now; writes answer EROFS.
//
// FAT has no inodes. A file's number is the device byte offset of its
// short directory entry divided by the entry size (the entry is where
// everything about the file lives); the root directory, which has no
// entry, is RootIno. Directories and files are read through the buffer
// cache cluster by cluster; a file's cluster chain is walked once, when
// it is first read, into runs of contiguous clusters.
//
// The Unix view follows Linux vfat: owner and group from the uid= and
// gid= options (default: the mounting credential), permissions 0777 less
// fmask= or dmask= (both default to umask=, default 022), no write bits
// on a file with the read-only attribute; ctime is the modification
// time, atime the access date, birth time the creation time; the times
// are read as UTC shifted by time_offset= minutes.
package msdosfs
