// Package etfs is rump's extra-terrestrial file system: host files
// registered into a kernel's namespace under a key (rump_etfs_register).
// The block device behind REG, BLK and CHR keys is vfs/rumpblk; etfs opens
// the host files, locks their windows and shares one device per host
// file, window and mode.
//
// A key is a whole path from the root of the kernel's rumpfs root ("/dev/img");
// the rumpfs root asks this package (Etfs.Resolve, a vfs.EtfsResolver)
// about every name it looks up, so a key resolves in one step from the root
// and also component by component (lookup "dev", then "img" in /dev, as FUSE
// does), and is never listed by readdir. Types:
//
//	REG          a host file, or a window of it, as a regular file
//	BLK, CHR     a host file or window as a block / character device
//	DIR          a host directory, its immediate children
//	DIR_SUBDIRS  a host directory, recursively
//
// It owns, per kernel (Of): the key table, the open host files (each a
// rumpblk.Device) with their host locks, and the vnodes of keys. Where it
// differs from rump, on purpose: I/O is clamped to the window; devices are
// keyed by (host file, window, mode), with no limit on their number, so two
// partitions of one image never alias; a read-write registration takes an
// exclusive host byte-range lock on its window and a read-only one a shared
// lock, and a read-only registration opens the host file O_RDONLY;
// attributes are the host file's (permissions, owner, times) rather than
// 0755 root:root; directory keys list their host entries; missing parent
// directories of a key are made in the rumpfs root. As in rump, a REG key's
// size is its window, fixed at registration: a size change is ignored and
// writing at or past the end fails with EFBIG. Files inside directory keys
// are the host's files: their size, truncation and attributes are real.
// A read-only device also lends its bytes from a read-only mapping of the
// host file (rumpblk's Lend and Unlend), so that file data read through
// FUSE is copied once, from the host's page cache into the reply.
//
// Lock order (outermost first):
//
//	Etfs.mu (registration, removal, halt; a kernel.Mutex)
//	  vnode locks (taken by vfs.Vgone when a key is removed)
//	    key.mu (the key's live vnodes; leaf)
//	    rumpblk.Device's lock, dnode.rw (shared across host I/O,
//	    exclusive to close)
//	      rumpblk's fault lock, dnode.snapMu (leaves)
//
// Vnode operations never take Etfs.mu; Resolve reads an immutable snapshot
// of the key table and takes only key.mu.
package etfs
