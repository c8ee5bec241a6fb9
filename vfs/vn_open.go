package vfs

import (
	"github.com/rumpfs/rumpfs/kernel"
	"golang.org/x/sys/unix"
)

// The vn layer (NetBSD's vfs_vnops.c): the semantics every client of the
// kernel shares, so that the system calls, p2k and later clients answer
// alike. This file holds open; vn_lookup.go the one-component lookup and
// vn_readdir.go the directory iterator.

// OflagsToF converts open(2) flags (host numbering) to the VOP's FREAD,
// FWRITE and FAPPEND (NetBSD's FFLAGS). O_TRUNC is not among them: it is
// a setattr of its own.
func OflagsToF(oflags int) int {
	var ff int
	switch oflags & unix.O_ACCMODE {
	case unix.O_RDONLY:
		ff = FREAD
	case unix.O_WRONLY:
		ff = FWRITE
	case unix.O_RDWR:
		ff = FREAD | FWRITE
	}
	if oflags&unix.O_APPEND != 0 {
		ff |= FAPPEND
	}
	return ff
}

// How VnOpen opens, beside the O_* flags.
const (
	// VnOpenCreated: this open made vp (O_CREAT), so the creator opens it
	// whatever its mode says, and there is nothing to truncate.
	VnOpenCreated = 1 << iota
	// VnOpenClientChecked: the client checked permissions itself (FUSE's
	// default_permissions), so no VOP_ACCESS.
	VnOpenClientChecked
	// VnOpenKillPriv: O_TRUNC also drops setuid and setgid, as the host
	// asks for a caller without CAP_FSETID (FUSE_HANDLE_KILLPRIV_V2).
	VnOpenKillPriv
	// VnOpenReadOnly: the client serves read-only (p2k's option), so
	// writing or truncating a file is EROFS as on a read-only mount.
	VnOpenReadOnly
)

// VnOpen applies open(2)'s checks to vp for oflags (O_* flags, host
// numbering), runs VOP_OPEN and the truncation O_TRUNC asks for, and
// returns the flags VOP_CLOSE wants back. how is VnOpen* bits. The
// caller keeps its reference on vp either way; on success it closes vp
// with VOPClose(ff) later.
//
// The checks, in order: a symlink is ELOOP (O_NOFOLLOW met one); O_CREAT
// on an existing directory and writing or truncating one is EISDIR;
// O_DIRECTORY wants a directory (ENOTDIR); writing or truncating a
// regular file on a read-only mount (or with VnOpenReadOnly) is EROFS,
// whoever asks; VOP_ACCESS for reading and for writing or truncating
// unless just created; then VOP_OPEN, where drivers and device nodes
// refuse what they cannot open.
func VnOpen(l *kernel.LWP, vp *Vnode, oflags, how int) (ff int, e unix.Errno) {
	ff = OflagsToF(oflags)
	write := ff&FWRITE != 0 || oflags&unix.O_TRUNC != 0
	created := how&VnOpenCreated != 0
	switch {
	case vp.Type == VLNK:
		return 0, unix.ELOOP
	case vp.Type == VDIR && (write || oflags&unix.O_CREAT != 0 && !created):
		return 0, unix.EISDIR
	case oflags&unix.O_DIRECTORY != 0 && vp.Type != VDIR:
		return 0, unix.ENOTDIR
	case write && vp.Type == VREG && (how&VnOpenReadOnly != 0 || vp.Mount != nil && vp.Mount.ReadOnly()):
		return 0, unix.EROFS
	}
	if !created && how&VnOpenClientChecked == 0 {
		var want uint32
		if ff&FREAD != 0 {
			want |= kernel.VREAD
		}
		if write {
			want |= kernel.VWRITE
		}
		if want != 0 {
			if e := VOPAccess(l, vp, want); e != 0 {
				return 0, e
			}
		}
	}
	if e := VOPOpen(l, vp, ff); e != 0 {
		return 0, e
	}
	if e := vnOpenTrunc(l, vp, oflags, ff, how); e != 0 {
		VOPClose(l, vp, ff)
		return 0, e
	}
	return ff, 0
}

// vnOpenTrunc truncates what O_TRUNC asks to: a regular file opened for
// writing that this open did not create. With VnOpenKillPriv, setuid and
// setgid go too, whatever the access mode.
func vnOpenTrunc(l *kernel.LWP, vp *Vnode, oflags, ff, how int) unix.Errno {
	if oflags&unix.O_TRUNC == 0 || how&VnOpenCreated != 0 {
		return 0
	}
	if ff&FWRITE != 0 && vp.Type == VREG {
		va := vattrPool.Get()
		*va = Vattr{Valid: AttrSize}
		e := VOPSetattr(l, vp, va)
		vattrPool.Put(va)
		if e != 0 {
			return e
		}
	}
	if how&VnOpenKillPriv != 0 {
		return VOPKillPriv(l, vp)
	}
	return 0
}

// VnAccess answers access(2) for vp: mode holds R_OK, W_OK and X_OK
// (EINVAL for other bits), 0 asking only whether vp exists. flags may
// hold ClientReadOnly: asking to write a file, directory or symlink is
// then EROFS, as on a read-only mount.
func VnAccess(l *kernel.LWP, vp *Vnode, mode uint32, flags int) unix.Errno {
	switch {
	case mode&^7 != 0:
		return unix.EINVAL
	case mode == 0:
		return 0
	case mode&kernel.VWRITE != 0 && flags&ClientReadOnly != 0 && (vp.Type == VREG || vp.Type == VDIR || vp.Type == VLNK):
		return unix.EROFS
	}
	return VOPAccess(l, vp, mode)
}
