package p2k

import "github.com/hanwen/go-fuse/v2/fuse"

// EnableACLs sets in go-fuse's mount options what POSIX ACLs need from the
// host kernel. FUSE_POSIX_ACL: the host reads ACLs through getxattr,
// caches them and enforces them in its own permission check (it turns on
// default_permissions), and stops applying the umask in the VFS, since a
// default ACL replaces it. FUSE_DONT_MASK: FUSE itself does not apply it
// either, so CREATE, MKNOD and MKDIR carry the mode the caller passed
// and the umask beside it, and the VOP layer applies the umask only when
// the directory has no default ACL (vfs/vop_acl.go). Linux only: macFUSE
// has no POSIX ACLs. Only for file systems that store ACLs
// (vfs.ACLSupported): for the others the host would mix "no ACL" from
// its cache with the server's EOPNOTSUPP, and tools such as cp -a fail.
func EnableACLs(mo *fuse.MountOptions) {
	mo.EnableAcl = true
	mo.ExtraCapabilities |= fuse.CAP_DONT_MASK
}
