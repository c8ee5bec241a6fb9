package vfstest

// The kernels Run boots mount the in-memory root file system.
import _ "github.com/rumpfs/rumpfs/vfs/rumpfs"
