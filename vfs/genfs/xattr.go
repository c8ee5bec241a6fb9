package genfs

import (
	"github.com/rumpfs/rumpfs/kernel"
	"golang.org/x/sys/unix"
)

// CopyOutXattr moves an extended attribute's value into uio and returns
// its size, as getxattr(2) answers: a nil uio asks for the size alone,
// and a uio too short for the whole value gets nothing and ERANGE (with
// the size).
func CopyOutXattr(v []byte, uio *kernel.Uio) (int, unix.Errno) {
	if uio != nil {
		if uio.Resid < len(v) {
			return len(v), unix.ERANGE
		}
		if _, e := kernel.Uiomove(v, uio); e != 0 {
			return 0, e
		}
	}
	return len(v), 0
}

// XattrNames builds listxattr(2)'s answer: each name followed by a NUL.
// The zero value is an empty list.
type XattrNames struct{ list []byte }

// Add appends a name the caller may see.
func (x *XattrNames) Add(name string) { x.list = append(append(x.list, name...), 0) }

// CopyOut moves the list into uio as CopyOutXattr moves a value: a nil
// uio asks for the size, a short one gets ERANGE.
func (x *XattrNames) CopyOut(uio *kernel.Uio) (int, unix.Errno) { return CopyOutXattr(x.list, uio) }
