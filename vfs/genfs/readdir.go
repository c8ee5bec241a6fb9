package genfs

import (
	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

// Dirents carries one VOP_READDIR through a driver's directory walk: the
// walk calls Emit for each entry from the cookie uio.Offset and stops when
// Emit says so; Done turns the walk's result into the VOP's answer. It is
// the bookkeeping every callback-driven readdir shares (an entry that
// does not fit ends the call short of EOF; an error from the uio's sink
// ends it with that error).
type Dirents struct {
	uio  *kernel.Uio
	full bool
	err  unix.Errno
}

// Readdir starts a VOP_READDIR into uio: a negative cookie is EINVAL.
func Readdir(uio *kernel.Uio) (Dirents, unix.Errno) {
	if uio.Offset < 0 {
		return Dirents{}, unix.EINVAL
	}
	return Dirents{uio: uio}, 0
}

// Emit hands one entry over (next is the cookie after it) and reports
// whether the walk should go on.
func (d *Dirents) Emit(ino, next uint64, dtype uint8, name string) bool {
	ok, e := vfs.EmitDirent(d.uio, ino, next, dtype, name)
	if e != 0 {
		d.err = e
		return false
	}
	d.full = !ok
	return ok
}

// Done is VOP_READDIR's answer once the walk returned e: EOF unless an
// entry did not fit, the walk's error first, then the uio's.
func (d *Dirents) Done(e unix.Errno) (eof bool, err unix.Errno) {
	if e == 0 {
		e = d.err
	}
	if e != 0 {
		return false, e
	}
	return !d.full, 0
}
