package vfs

import (
	"strings"
	"sync"

	"github.com/rumpfs/rumpfs/kernel"
	"golang.org/x/sys/unix"
)

// Namei flags.
const (
	// Follow a symlink in the last component (FOLLOW).
	Follow = 1 << iota
	// WantParent returns the parent directory too (LOCKPARENT without
	// the lock).
	WantParent
)

// NameiResult is what a path lookup found. Dvp (with WantParent) and Vp
// are referenced; the caller releases both with Release. Vp is nil when
// the last component does not exist and the lookup was for CREATE or
// RENAME.
type NameiResult struct {
	Dvp  *Vnode
	Vp   *Vnode
	Name string // the last component
	// TrailingSlash is set when the path ended in "/".
	TrailingSlash bool
}

// Release drops the references the result holds.
func (r *NameiResult) Release(l *kernel.LWP) {
	if r.Vp != nil {
		Vrele(l, r.Vp)
		r.Vp = nil
	}
	if r.Dvp != nil {
		Vrele(l, r.Dvp)
		r.Dvp = nil
	}
}

var cnPool = sync.Pool{New: func() any { return new(ComponentName) }}

// CheckPath rejects paths a lookup must refuse before walking: EINVAL for
// an embedded NUL, ENOENT for "", ENAMETOOLONG for PathMax or more bytes.
func CheckPath(path string) unix.Errno {
	if path == "" {
		return unix.ENOENT
	}
	if len(path) >= PathMax {
		return unix.ENAMETOOLONG
	}
	if strings.IndexByte(path, 0) >= 0 {
		return unix.EINVAL
	}
	return 0
}

// Namei looks path up for l's process, starting at its root for absolute
// paths and at its cwd (or at, when non-nil) otherwise. op is the intent
// for the last component; flags are Follow and WantParent.
func Namei(l *kernel.LWP, at *Vnode, path string, op NameiOp, flags int) (NameiResult, unix.Errno) {
	var res NameiResult
	if e := CheckPath(path); e != 0 {
		return res, e
	}
	pf := procFiles(l)
	if pf == nil {
		return res, unix.EINVAL
	}
	cwd, root := pf.cwdRoot()
	defer Vrele(l, root)
	var dvp *Vnode
	switch {
	case path[0] == '/':
		dvp = root
		Vref(dvp)
		Vrele(l, cwd)
	case at != nil:
		dvp = at
		Vref(dvp)
		Vrele(l, cwd)
	default:
		dvp = cwd
	}
	cred := l.Cred()
	links := 0
	var linkbuf []byte
	cn := cnPool.Get().(*ComponentName)
	defer cnPool.Put(cn)

	rest := path
	for {
		for len(rest) > 0 && rest[0] == '/' {
			rest = rest[1:]
		}
		if rest == "" {
			// "/" or a path ending in "/" after the last
			// component was consumed: the result is dvp itself.
			if dvp.Type != VDIR {
				Vrele(l, dvp)
				return res, unix.ENOTDIR
			}
			if op == DELETE || op == RENAME || op == CREATE {
				// Removing or creating "/" (or a mount root).
				Vrele(l, dvp)
				return res, unix.EBUSY
			}
			res.Vp = dvp
			res.Name = "."
			return res, 0
		}
		name := rest
		i := strings.IndexByte(rest, '/')
		if i >= 0 {
			name = rest[:i]
			rest = rest[i:]
		} else {
			rest = ""
		}
		trailing := false
		next := rest
		for len(next) > 0 && next[0] == '/' {
			next = next[1:]
		}
		if next == "" && rest != "" {
			trailing = true
		}
		rest = next
		if len(name) > NameMax {
			Vrele(l, dvp)
			return res, unix.ENAMETOOLONG
		}
		if dvp.Type != VDIR {
			Vrele(l, dvp)
			return res, unix.ENOTDIR
		}
		if !cred.IsRoot() {
			if e := VOPAccess(l, dvp, kernel.VEXEC); e != 0 {
				Vrele(l, dvp)
				return res, e
			}
		}
		if name == ".." {
			// ".." at the process root stays there (chroot); at a
			// mount root it continues in the covered directory.
			for dvp != root && dvp.Root && dvp.Mount.covers != nil {
				c := dvp.Mount.covers
				Vref(c)
				Vrele(l, dvp)
				dvp = c
			}
			if dvp == root {
				if rest == "" {
					return finishLast(l, &res, nil, dvp, "..", op, flags, trailing)
				}
				continue
			}
		}
		isLast := rest == ""
		*cn = ComponentName{Op: LOOKUP, Name: name, Rest: rest, IsLast: isLast, PathOp: op}
		if isLast {
			cn.Op = op
		}
		vp, e := VOPLookup(l, dvp, cn)
		if cn.Consumed > 0 && e == 0 {
			// The lookup used up components of rest: the name is now
			// the last of them, and a slash after it is trailing.
			used := rest[:min(cn.Consumed, len(rest))]
			if i := strings.LastIndexByte(used, '/'); i >= 0 {
				name = used[i+1:]
			} else {
				name = used
			}
			rest = rest[len(used):]
			next := rest
			for len(next) > 0 && next[0] == '/' {
				next = next[1:]
			}
			if next == "" && rest != "" {
				trailing = true
			}
			rest = next
			isLast = rest == ""
		}
		if e == unix.ENOENT && isLast && (op == CREATE || op == RENAME) {
			res.Dvp = dvp
			res.Name = name
			res.TrailingSlash = trailing
			return res, 0
		}
		if e != 0 {
			Vrele(l, dvp)
			return res, e
		}
		// Cross into file systems mounted here.
		for vp.Type == VDIR {
			m := vp.MountedHere()
			if m == nil {
				break
			}
			r := m.root
			Vref(r)
			Vrele(l, vp)
			vp = r
		}
		if vp.Type == VLNK && (!isLast || flags&Follow != 0 || trailing) {
			links++
			if links > MaxSymlinks {
				Vrele(l, vp)
				Vrele(l, dvp)
				return res, unix.ELOOP
			}
			if linkbuf == nil {
				linkbuf = make([]byte, PathMax)
			}
			u := kernel.UioSetup(linkbuf, 0, kernel.UioRead)
			e := VOPReadlink(l, vp, u)
			n := len(linkbuf) - kernel.UioFree(u)
			Vrele(l, vp)
			if e != 0 {
				Vrele(l, dvp)
				return res, e
			}
			if n == 0 {
				Vrele(l, dvp)
				return res, unix.ENOENT
			}
			// The target joined with the rest may pass PathMax, as on
			// Linux (which walks the two apart): each piece is below
			// PathMax and MaxSymlinks bounds the total.
			target := string(linkbuf[:n])
			if rest != "" || trailing {
				target += "/" + rest
			}
			rest = target
			if target[0] == '/' {
				Vrele(l, dvp)
				dvp = root
				Vref(dvp)
			}
			continue
		}
		if isLast {
			return finishLast(l, &res, vp, dvp, name, op, flags, trailing)
		}
		Vrele(l, dvp)
		dvp = vp
	}
}

// finishLast fills the result for the last component. vp nil means the
// last component was ".." at the root: dvp itself.
func finishLast(l *kernel.LWP, res *NameiResult, vp, dvp *Vnode, name string, op NameiOp, flags int, trailing bool) (NameiResult, unix.Errno) {
	if vp == nil {
		vp = dvp
		Vref(vp)
	}
	if trailing && vp.Type != VDIR {
		Vrele(l, vp)
		Vrele(l, dvp)
		return *res, unix.ENOTDIR
	}
	res.Vp = vp
	res.Name = name
	res.TrailingSlash = trailing
	if flags&WantParent != 0 {
		res.Dvp = dvp
	} else {
		Vrele(l, dvp)
	}
	return *res, 0
}
