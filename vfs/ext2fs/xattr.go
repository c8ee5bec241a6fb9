package ext2fs

import (
	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs/ext2fs/disk"
	"golang.org/x/sys/unix"
)

// maxXattrValue bounds a value stored in an ea_inode (XATTR_SIZE_MAX).
const maxXattrValue = 65536

// xattrs returns the inode's attribute entries: in-inode ones first, then
// those of its attribute block.
func (ip Inode) xattrs(l *kernel.LWP) ([]disk.XattrEntry, unix.Errno) {
	fs := ip.fs
	var all []disk.XattrEntry
	area, e := ip.inodeXattrArea(l)
	if e != 0 {
		return nil, e
	}
	if area != nil {
		es, err := disk.ParseInodeXattrs(area)
		if err != nil {
			return nil, fs.corrupt("inode %d: in-inode xattrs: %v", ip.Ino, err)
		}
		all = es
	}
	if ip.fileACL != 0 {
		blk := ip.fileACL
		if !fs.validBlock(blk, 1) {
			return nil, fs.corrupt("inode %d: xattr block %d out of range", ip.Ino, blk)
		}
		b, e := fs.bd.readMeta(l, blk)
		if e != 0 {
			return nil, fs.corrupt("inode %d: cannot read xattr block %d: %v", ip.Ino, blk, e)
		}
		h, es, err := disk.ParseXattrBlock(b)
		if err != nil {
			return nil, fs.corrupt("inode %d: xattr block %d: %v", ip.Ino, blk, err)
		}
		if fs.sb.HasMetadataCsum() {
			if err := disk.VerifyXattrBlock(fs.seed, blk, b, h); err != nil {
				return nil, fs.corrupt("inode %d: %v", ip.Ino, err)
			}
		}
		all = append(all, es...)
	}
	return all, 0
}

// visible reports whether an attribute is shown to getxattr/listxattr:
// system.data (inline data) and unknown namespaces are internal.
func visible(e *disk.XattrEntry) bool {
	if e.NameIndex == disk.XattrIndexSystem && string(e.Name) == "data" {
		return false
	}
	return e.FullName() != ""
}

// ListXattr returns the full names of the inode's extended attributes
// (user., trusted., security., system.posix_acl_access/default, ...).
// Permission to see a namespace is the caller's to decide.
func (ip Inode) ListXattr(l *kernel.LWP) ([]string, unix.Errno) {
	es, e := ip.xattrs(l)
	if e != 0 {
		return nil, e
	}
	var names []string
	for i := range es {
		if visible(&es[i]) {
			names = append(names, es[i].FullName())
		}
	}
	return names, 0
}

// GetXattr returns the value of attribute name: ENODATA if absent. POSIX
// ACLs come back in the xattr form getxattr(2) uses.
func (ip Inode) GetXattr(l *kernel.LWP, name string) ([]byte, unix.Errno) {
	es, e := ip.xattrs(l)
	if e != 0 {
		return nil, e
	}
	fs := ip.fs
	for i := range es {
		x := &es[i]
		if !visible(x) || x.FullName() != name {
			continue
		}
		val := x.Value
		if x.ValueInum != 0 {
			if val, e = ip.eaInodeValue(l, x); e != 0 {
				return nil, e
			}
		} else {
			val = append([]byte(nil), val...)
		}
		if x.NameIndex == disk.XattrIndexPosixACLAccess || x.NameIndex == disk.XattrIndexPosixACLDefault {
			acl, err := disk.ACLToXattr(val)
			if err != nil {
				return nil, fs.corrupt("inode %d: %s: %v", ip.Ino, name, err)
			}
			return acl, 0
		}
		return val, 0
	}
	return nil, unix.ENODATA
}

// eaInodeValue reads a value stored in its own inode (ea_inode).
func (ip Inode) eaInodeValue(l *kernel.LWP, x *disk.XattrEntry) ([]byte, unix.Errno) {
	fs := ip.fs
	if fs.sb.FeatureIncompat&disk.IncompatEAInode == 0 || x.ValueSize > maxXattrValue {
		return nil, fs.corrupt("inode %d: xattr %q in inode %d", ip.Ino, x.Name, x.ValueInum)
	}
	vi, e := fs.Inode(l, x.ValueInum)
	if e != 0 || vi.Flags&disk.FlagEAInode == 0 || vi.Size != uint64(x.ValueSize) {
		return nil, fs.corrupt("inode %d: xattr %q: bad value inode %d", ip.Ino, x.Name, x.ValueInum)
	}
	buf := make([]byte, x.ValueSize)
	n, e := vi.ReadAt(l, buf, 0)
	if e != 0 {
		return nil, e
	}
	return buf[:n], 0
}
