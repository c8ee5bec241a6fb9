package genfs

import (
	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

// DirLookup is what Lookup needs of a driver's directory. The driver
// checks first what is its own (that dvp is a directory, still linked,
// the name's length).
type DirLookup struct {
	// Ino is the directory's own inode number: an entry naming it is
	// dvp itself, referenced again rather than fetched (its lock is held).
	Ino uint64
	// Search returns the inode number name has in the directory, ENOENT
	// when it has none. It is never asked for ".".
	Search func(l *kernel.LWP, name string) (uint64, unix.Errno)
	// Parent returns the inode number of ".."; nil asks Search.
	Parent func(l *kernel.LWP) (uint64, unix.Errno)
	// Dangling, when set, is the error for an entry naming an inode not
	// in use (Vget's ENOENT): the driver's place to report corruption.
	Dangling func(ino uint64, name string) unix.Errno
}

// Lookup is VOP_LOOKUP's common part: "." is dvp, referenced; ".." comes
// from Parent, any other name from Search; the vnode comes from
// Mount.Vget, referenced and unlocked.
func (d *DirLookup) Lookup(l *kernel.LWP, dvp *vfs.Vnode, cn *vfs.ComponentName) (*vfs.Vnode, unix.Errno) {
	if cn.Name == "." {
		vfs.Vref(dvp)
		return dvp, 0
	}
	var ino uint64
	var e unix.Errno
	if cn.IsDotDot() && d.Parent != nil {
		ino, e = d.Parent(l)
	} else {
		ino, e = d.Search(l, cn.Name)
	}
	if e != 0 {
		return nil, e
	}
	if ino == d.Ino {
		vfs.Vref(dvp)
		return dvp, 0
	}
	vp, e := dvp.Mount.Vget(l, ino)
	if e == unix.ENOENT && d.Dangling != nil {
		e = d.Dangling(ino, cn.Name)
	}
	return vp, e
}
