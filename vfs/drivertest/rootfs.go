package drivertest

// The kernels Boot boots mount the in-memory root file system.
import _ "github.com/rumpfs/rumpfs/vfs/rumpfs"
