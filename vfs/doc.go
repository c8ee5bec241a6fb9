// Package vfs is the kernel's virtual file system layer (NetBSD's
// sys/kern/vfs_*.c): vnodes and the vnode cache, the vnode operation set
// (VnodeOps, declared once in vop.go with its lock and reference rules),
// mounts and the file system type registry, path lookup (namei), per-process
// descriptor tables, the system calls, and rumpfs, the in-memory root file
// system where etfs keys are looked up.
//
// POSIX ACLs are the VOP layer's (vop_acl.go): it parses, checks and
// keeps the mode in step, and drivers only store them (Getacl, Setacl).
//
// The vn layer (vn_*.go, after NetBSD's vfs_vnops.c) holds what every
// client of the kernel shares, so the system calls, p2k and later clients
// answer alike: VnOpen with open(2)'s checks and OflagsToF, VnLookup (one
// component: name checks, search permission, mount crossing both ways;
// Namei is built from it), VnReaddir (entries handed to a DirentSink as
// the driver emits them; Getdents is one sink) and Run (a kernel entry
// around a function).
//
// Drivers live in subpackages (vfs/ffs, vfs/ext2fs, ...), register an
// FSType from init, and embed GenericOps for what they do not implement.
// Callers outside the kernel use the system calls (Open, Read, Stat, ...),
// each of which is a kernel entry: it holds a virtual CPU for its duration.
// p2k and etfs call the vn functions and the VOP* functions directly
// between Enter and Leave (or inside Run).
//
// References: Lookup, Create and friends return vnodes referenced and
// unlocked; Vrele drops a reference, and the last one runs VOP_INACTIVE
// and either keeps the vnode cached on the free list or reclaims it.
//
// Lock order (outermost first):
//
//	Mount.ns (namespace lock; exclusive for every change of names)
//	  Vnode.lock (dvp before vp; rename, exchange: fdvp, tdvp, fvp, tvp)
//	    File.offMu
//	      driver locks (kernel.Mutex when held across I/O)
//	        vcache shard mutex
//	          vcache free-list mutex
//	VFS.mountMu, VFS.devMu, ProcFiles.mu, fileTable.mu (leaves)
//
// Every lock an LWP may wait for while holding a virtual CPU is a
// kernel.Mutex or kernel.RWLock, which give the CPU back while waiting;
// the plain mutexes above are held only for short sections that neither
// do I/O nor wait for a CPU.
package vfs
