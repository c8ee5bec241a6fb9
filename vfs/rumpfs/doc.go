// Package rumpfs is the kernel's root file system, as rump's rumpfs: in
// memory, read-write, holding regular files (sparse ones too),
// directories, symlinks, hard links, device nodes and FIFOs (as nodes
// only). It registers itself as the root file system type
// (vfs.RegisterRootFSType), so a program that boots a kernel with a VFS
// links it in with a blank import:
//
//	import _ "github.com/rumpfs/rumpfs/vfs/rumpfs"
//
// It is also an ordinary type ("rumpfs") that can be mounted anywhere.
//
// Lookups in the root mount consult the VFS's etfs hook
// (vfs.VFS.EtfsResolver) first, as etfs keys are whole paths from the
// root; the vnodes etfs returns are not rumpfs nodes, so link, rename and
// remove refuse them.
//
// It reaches the VFS only through what every driver can use. Lock order:
// the VFS's namespace lock and vnode locks (held by the vfs.VOP* wrappers)
// protect the nodes; the mount's mutex, a leaf, guards only the inode
// table.
package rumpfs
