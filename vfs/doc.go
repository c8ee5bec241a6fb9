// Package vfs is the kernel's virtual file system layer (NetBSD's
// sys/kern/vfs_*.c): vnodes and the vnode cache, the vnode operation set
// (VnodeOps, declared once in vop.go with its lock and reference rules),
// mounts and the file system type registry, path lookup (namei), per-process
// descriptor tables and the system calls. The file system mounted at "/"
// at boot is a registered root type (RegisterRootFSType): vfs/rumpfs, the
// in-memory root where etfs keys are looked up (the EtfsResolver hook),
// linked in by a blank import; booting without one fails.
//
// POSIX ACLs are the VOP layer's (vop_acl.go): it parses, checks and
// keeps the mode in step, and drivers only store them (Getacl, Setacl).
//
// The vn layer (vn_*.go, after NetBSD's vfs_vnops.c) holds what every
// client of the kernel shares, so the system calls, p2k and later clients
// answer alike: VnOpen with open(2)'s checks and OflagsToF, VnLookup (one
// component: name checks, search permission, mount crossing both ways;
// Namei is built from it), VnReaddir (entries handed to a DirentSink as
// the driver emits them; Getdents is one sink), VnMake, VnLink, VnRemove
// and VnRename (a parent directory and a name, which a ParentOnly Namei
// leaves; Linux's answers in Linux's order), VnAccess, VnReadlink and Run
// (a kernel entry around a function).
//
// Pipes (pipe.go, sys_pipe.go): pipe(2) Files have no vnode; a FIFO
// vnode of any driver opens as a pipe whose buffer the VFS keeps while
// the FIFO is open, so FIFO data never reaches the driver. Descriptor
// tables keep FD_CLOEXEC per descriptor and honour RLIMIT_NOFILE.
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
// The vnode cache files each vnode of a mount under a 64-bit key, its
// inode number as loaded. Mount.Rekey (vcache_rekey) moves a referenced
// vnode to another key for drivers whose name for a file changes on
// rename (FAT's directory entry position): the new key is reserved
// (EEXIST if a vnode has it), the driver's move runs while Vget of the
// new key waits and Vget of the old one still finds the vnode, and then
// the vnode is filed under the new key. Vnode.Ino keeps the loaded number.
//
// Lock order (outermost first):
//
//	Mount.ns (namespace lock; exclusive for every change of names)
//	  Vnode.lock (dvp before vp; rename, exchange: fdvp, tdvp, fvp, tvp)
//	    File.offMu
//	      driver locks (kernel.Mutex when held across I/O)
//	        vcache shard mutex (Rekey alone holds two, in shard order)
//	          vcache free-list mutex
//	VFS.fifoMu
//	  pipe.mu (released while waiting)
//	VFS.mountMu, VFS.devMu, ProcFiles.mu, fileTable.mu (leaves)
//
// Every lock an LWP may wait for while holding a virtual CPU is a
// kernel.Mutex or kernel.RWLock, which give the CPU back while waiting;
// the plain mutexes above are held only for short sections that neither
// do I/O nor wait for a CPU.
package vfs
