// Package rumpblk is the block device over a host file, as rump's rumpblk:
// a window [begin, begin+size) of an open host file or block device, read
// and written with pread and pwrite in whole sectors (bio.Device), with
// the CPU given back around every host call. It also counts requests
// (event counters per device and a global "rumpblk" group), injects
// faults for driver tests (RUMP_BLKFAIL, or FailBlocks and friends),
// lends pages of a read-only mapping to reads that take loans, and
// records writes and barriers for crash tests (SetRecorder; record.go has
// the log format, crash.go the crash-point replay).
//
// It sits below the drivers and imports only kernel and vfs/bio: whoever
// opens the host file (etfs, for its BLK, CHR and REG keys) decides on
// sharing, host locks and the device table, and hands the descriptor to
// New.
//
// Lock order (outermost first): Device.rw (shared across host I/O,
// exclusive to close), then faults.mu or Recorder.mu (leaves).
package rumpblk
