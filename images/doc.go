// Package images is rumpfs's access to host disk images: raw image files and
// block devices, the partition tables on them (MBR with extended and logical
// partitions, GPT, BSD disklabel alone or inside an MBR slice), selectors that
// name one partition (IMAGE@2, IMAGE@root, IMAGE%DISKLABEL:a%,
// IMAGE%OFFSET:off,size%), and probing which file system a window holds.
//
// It sits at the host boundary, below the kernel: it imports neither vfs nor
// any driver. Errors for corrupt on-disk structures wrap unix.EIO and name
// the structure; a selector that does not parse or match wraps unix.EINVAL or
// unix.ENOENT.
//
// It reads tables and superblocks only, never scanning an image, so that a
// terabyte sparse image answers as fast as a small one. Parsing never trusts
// a count or an offset read from disk: chains are bounded and loop-checked,
// arrays are size-checked, and what looks wrong (overlaps, partitions past
// the end, bad checksums, nested tables) is reported as a warning in the
// Layout rather than guessed away. What a layout costs is bounded whatever
// a table claims: parsing is linear in the entries (a GPT of more than
// 32,768 is refused), overlaps are found by sorting, and per-partition
// reads (probing, the nested-table check) stop at MaxProbed partitions,
// warnings at MaxWarnings.
//
// Open and OpenHostFile take regular files and block devices only, and
// never block: a FIFO, socket, character device or directory is refused
// at once (O_NONBLOCK, then fstat), with a message naming what it is.
//
// A regular file may hold a container rather than a raw disk: qcow2, VHD,
// VHDX, VMDK (sparse files and descriptors), or a split raw set
// (IMAGE.001, IMAGE.002, ...).
// Open tells them by their headers and reads the virtual disk through
// them (read-only); see container.go for the rules every format follows.
//
// Partition indexes are the numbers Linux and sgdisk give: MBR primaries 1-4
// and logical partitions 5 on (the extended container is listed, as sfdisk
// lists it); GPT entry slot plus one; a disklabel at the start of the image
// numbers its partitions a=1, b=2, ...; the partitions of a disklabel inside
// an MBR slice are numbered after the last MBR partition.
//
// Locking: an Image is safe for concurrent ReadAt/WriteAt (pread/pwrite);
// nothing else in the package holds state, so there is no lock order.
package images
