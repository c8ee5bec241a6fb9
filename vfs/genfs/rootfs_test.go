package genfs

// The kernels these tests boot mount the in-memory root file system.
import _ "github.com/rumpfs/rumpfs/vfs/rumpfs"
