package genfs_test

// The kernels these tests boot mount the in-memory root file system. The
// tests that boot one are in package genfs_test: rumpfs imports genfs.
import _ "github.com/rumpfs/rumpfs/vfs/rumpfs"
