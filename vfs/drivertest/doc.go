// Package drivertest is the kit for testing a file system driver from go
// test: boot a kernel (Boot), register a disk (OpenFileDev and MemDev for
// plain devices; OpenDisk and MemDisk for rumpblk devices, which inject
// block faults and record writes), mount the driver on it (MountDev,
// MountImage), make system calls as a chosen user (As), trace and
// lock-check every vnode operation (InstallLockChecker, Trace), check the
// image afterwards (the driver's checker, or an external tool with Fsck)
// and replay every crash point of a recorded workload (Record, Crash).
//
// The helpers take a TB: a *testing.T, or a Program outside go test (the
// package's example, a command). vfs/vfstest's behaviour suite and the
// drivers' own tests are built on it.
package drivertest
