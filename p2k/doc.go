// Package p2k serves a kernel vnode tree to the host through FUSE: each
// FUSE request becomes the matching vnode operation, as NetBSD's libp2k
// turns puffs requests into VOPs.
//
// A Bridge implements go-fuse's raw fuse.RawFileSystem. It owns:
//
//   - the node table: FUSE node id -> vnode, holding exactly one vnode
//     reference per node and the host kernel's lookup count beside it.
//     Every successful LOOKUP, CREATE, MKNOD, MKDIR, SYMLINK, LINK and
//     every READDIRPLUS entry other than "." and ".." adds one; FORGET
//     subtracts, and at zero the node goes and its vnode is released
//     (VOP_INACTIVE runs) by a background releaser, so FORGET never waits
//     for I/O. A node id names a slot of a sharded table with the slot's
//     generation, so an id never names another vnode once forgotten; the
//     way back from a vnode is its ClientCookie (as puffs names nodes by
//     cookie). Id 1 is the root. A read-only bridge names files of a
//     read-only mount that the vnode cache can load again by their mount
//     and inode number instead (vfs.Reloadable), holding no reference and
//     counting nothing, as NFS names files by handle: the server's memory
//     then stays within the vnode cache's bound however many files the
//     host has looked up.
//   - open file and directory handles (VOP_OPEN ... VOP_CLOSE);
//   - a pool of request contexts, each an LWP with scratch space. An LWP
//     serving a user process lives in a process of its own (a child of
//     p2k's process, made with a clean descriptor table), because
//     AllBetsAreOffSetID rewrites the pid of the whole process: sharing
//     one process between concurrent requests would mix their pids.
//     Requests the host kernel makes on its own (pid 0) run on LWPs of
//     proc0.
//
// Every request takes a context, sets the caller's pid and thread id
// (kernel.AllBetsAreOffSetID; on Linux FUSE sends the thread id, whose
// thread group is looked up in /proc) and a cred with the caller's uid,
// gid and supplementary groups (Linux: /proc/TID/status, cached while a
// pidfd on the thread says it lives, so a reused id never inherits
// another's groups; macOS: the user's groups), enters the kernel (vfs.Enter
// or vfs.Run: a virtual CPU, panics become EIO), runs the vn functions and
// VOPs, and answers with the host errno. What open(2), lookup, readdir,
// access, readlink and the name operations (mkdir, mknod, symlink, link,
// unlink, rmdir, rename) mean is the vn layer's (vfs.VnOpen, VnLookup,
// VnReaddir, VnAccess, VnReadlink, VnMake, VnLink, VnRemove, VnRename),
// shared with the system calls; p2k adds only the FUSE side of them: encoding,
// the node table, handles, credentials and its options (a read-only
// bridge, the host's default_permissions). READDIR entries go from the
// driver straight into go-fuse's reply. Read, write and readlink move data
// through a kernel.Uio over the FUSE buffers; a READ's uio also takes
// loans (kernel.UioSetupLend), so a driver reading from a mapped image
// hands over the image's bytes, which go out in the reply and back to
// their lender after it. Steady-state GETATTR, READ, LOOKUP of a known
// node, READDIR and READDIRPLUS allocate nothing.
//
// Lock order (outermost first); every p2k lock is a leaf with respect to
// the kernel's, except that vnode references are dropped outside them:
//
//	kernel locks taken by the VOP* functions (namespace, vnode)
//	  shard.mu (node table), handles.mu, pool.mu, releaser.mu,
//	  credCache.mu, callerCache.mu, Bridge.traceMu   (leaves)
//
// Use: b, _ := p2k.New(k, root, opts); srv, _ := fuse.NewServer(b, mnt,
// &fuse.MountOptions{MaxWrite: 1 << 20, ...}); srv.Serve(); after the
// unmount, b.Close(), then the kernel's Reboot.
package p2k
