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
	// ParentOnly stops the walk before the last component (Linux's
	// filename_parentat): the result is the directory, referenced, and
	// the last name, which is neither looked up nor followed. The vn
	// functions that make, remove and rename names take it from there.
	// ClientChecked (vn_lookup.go) is the bit after it.
	ParentOnly
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

// nameidata is the state of one path walk: where it stands, what is left
// and what it found.
type nameidata struct {
	l     *kernel.LWP
	root  *Vnode // the process's root, referenced
	dvp   *Vnode // the directory the walk stands in, referenced
	rest  string // the path still to walk, leading slashes included
	op    NameiOp
	flags int
	cn    *ComponentName

	links   int
	linkbuf []byte
	res     NameiResult
}

// Namei looks path up for l's process, starting at its root for absolute
// paths and at its cwd (or at, when non-nil) otherwise. op is the intent
// for the last component; flags are Follow and WantParent.
func Namei(l *kernel.LWP, at *Vnode, path string, op NameiOp, flags int) (NameiResult, unix.Errno) {
	if e := CheckPath(path); e != 0 {
		return NameiResult{}, e
	}
	nd := nameidata{l: l, rest: path, op: op, flags: flags}
	if e := nd.start(at); e != 0 {
		return NameiResult{}, e
	}
	defer Vrele(l, nd.root)
	nd.cn = cnPool.Get().(*ComponentName)
	defer cnPool.Put(nd.cn)
	for {
		done, e := nd.step()
		if e != 0 || done {
			return nd.res, e
		}
	}
}

// start sets the walk's root and its first directory: the root for an
// absolute path, else at or the cwd.
func (nd *nameidata) start(at *Vnode) unix.Errno {
	pf := procFiles(nd.l)
	if pf == nil {
		return unix.EINVAL
	}
	cwd, root := pf.cwdRoot()
	nd.root = root
	switch {
	case nd.rest[0] == '/':
		nd.dvp = root
		Vref(root)
		Vrele(nd.l, cwd)
	case at != nil:
		nd.dvp = at
		Vref(at)
		Vrele(nd.l, cwd)
	default:
		nd.dvp = cwd
	}
	return 0
}

// fail drops the walk's directory (and vp, when not nil) and returns e.
func (nd *nameidata) fail(vp *Vnode, e unix.Errno) (bool, unix.Errno) {
	if vp != nil {
		Vrele(nd.l, vp)
	}
	Vrele(nd.l, nd.dvp)
	return true, e
}

// next takes the next component off rest; trailing reports a slash after
// it with nothing more. ok is false when nothing is left.
func (nd *nameidata) next() (name string, trailing, ok bool) {
	nd.rest = trimSlashes(nd.rest)
	if nd.rest == "" {
		return "", false, false
	}
	name = nd.rest
	if i := strings.IndexByte(nd.rest, '/'); i >= 0 {
		name, nd.rest = nd.rest[:i], nd.rest[i:]
	} else {
		nd.rest = ""
	}
	trailing = nd.skipSlashes()
	return name, trailing, true
}

// skipSlashes drops the slashes at the start of rest and reports whether
// they were all that was left (a trailing slash).
func (nd *nameidata) skipSlashes() bool {
	next := trimSlashes(nd.rest)
	trailing := next == "" && nd.rest != ""
	nd.rest = next
	return trailing
}

// trimSlashes drops leading slashes (inlined, unlike strings.TrimLeft).
func trimSlashes(s string) string {
	for len(s) > 0 && s[0] == '/' {
		s = s[1:]
	}
	return s
}

// step walks one component. done is set when the walk ended, with its
// result in nd.res or the error.
func (nd *nameidata) step() (done bool, e unix.Errno) {
	name, trailing, ok := nd.next()
	if !ok {
		return nd.endAtDir()
	}
	if len(name) > NameMax {
		return nd.fail(nil, unix.ENAMETOOLONG)
	}
	isLast := nd.rest == ""
	if isLast && nd.flags&ParentOnly != 0 {
		nd.res = NameiResult{Dvp: nd.dvp, Name: name, TrailingSlash: trailing}
		nd.dvp = nil
		return true, 0
	}
	*nd.cn = ComponentName{Op: LOOKUP, Name: name, Rest: nd.rest, IsLast: isLast, PathOp: nd.op}
	if isLast {
		nd.cn.Op = nd.op
	}
	vp, e := lookupOnce(nd.l, nd.root, &nd.dvp, nd.cn, nd.flags)
	if e == 0 && nd.cn.Consumed > 0 {
		name, trailing = nd.consume(nd.cn.Consumed, trailing)
		isLast = nd.rest == ""
		if isLast && nd.flags&ParentOnly != 0 {
			// A driver's lookup (an etfs key of several components)
			// used up the name to make or remove: it exists, and it
			// is no entry of a directory.
			if nd.op == CREATE {
				return nd.fail(vp, unix.EEXIST)
			}
			return nd.fail(vp, unix.EOPNOTSUPP)
		}
	}
	if e == unix.ENOENT && isLast && (nd.op == CREATE || nd.op == RENAME) {
		nd.res = NameiResult{Dvp: nd.dvp, Name: name, TrailingSlash: trailing}
		return true, 0
	}
	if e != 0 {
		return nd.fail(nil, e)
	}
	if vp.Type == VLNK && (!isLast || nd.flags&Follow != 0 || trailing) {
		return nd.followLink(vp, trailing)
	}
	if isLast {
		return nd.finish(vp, name, trailing)
	}
	Vrele(nd.l, nd.dvp)
	nd.dvp = vp
	return false, 0
}

// consume takes the n bytes of rest a driver's lookup used up as well:
// the name is now the last of them, and a slash after it is trailing.
func (nd *nameidata) consume(n int, trailing bool) (string, bool) {
	used := nd.rest[:min(n, len(nd.rest))]
	name := used
	if i := strings.LastIndexByte(used, '/'); i >= 0 {
		name = used[i+1:]
	}
	nd.rest = nd.rest[len(used):]
	if nd.skipSlashes() {
		trailing = true
	}
	return name, trailing
}

// endAtDir ends a walk whose path ran out on a directory ("/", or a path
// ending in "/" after a symlink): the result is that directory itself.
func (nd *nameidata) endAtDir() (bool, unix.Errno) {
	if nd.dvp.Type != VDIR {
		return nd.fail(nil, unix.ENOTDIR)
	}
	if nd.op == DELETE || nd.op == RENAME || nd.op == CREATE {
		// Removing or creating "/" (or a mount root).
		return nd.fail(nil, unix.EBUSY)
	}
	nd.res = NameiResult{Vp: nd.dvp, Name: "."}
	return true, 0
}

// followLink replaces the symlink vp with its target in front of what is
// left of the path (ELOOP past MaxSymlinks); an absolute target starts
// again at the root.
func (nd *nameidata) followLink(vp *Vnode, trailing bool) (bool, unix.Errno) {
	nd.links++
	if nd.links > MaxSymlinks {
		return nd.fail(vp, unix.ELOOP)
	}
	if nd.linkbuf == nil {
		nd.linkbuf = make([]byte, PathMax)
	}
	n, e := VnReadlink(nd.l, vp, nd.linkbuf)
	Vrele(nd.l, vp)
	if e != 0 {
		return nd.fail(nil, e)
	}
	if n == 0 {
		return nd.fail(nil, unix.ENOENT)
	}
	// The target joined with the rest may pass PathMax, as on Linux
	// (which walks the two apart): each piece is below PathMax and
	// MaxSymlinks bounds the total.
	target := string(nd.linkbuf[:n])
	if nd.rest != "" || trailing {
		target += "/" + nd.rest
	}
	nd.rest = target
	if target[0] == '/' {
		Vrele(nd.l, nd.dvp)
		nd.dvp = nd.root
		Vref(nd.dvp)
	}
	return false, 0
}

// finish fills the result for the last component, vp.
func (nd *nameidata) finish(vp *Vnode, name string, trailing bool) (bool, unix.Errno) {
	if trailing && vp.Type != VDIR {
		return nd.fail(vp, unix.ENOTDIR)
	}
	nd.res = NameiResult{Vp: vp, Name: name, TrailingSlash: trailing}
	if nd.flags&WantParent != 0 {
		nd.res.Dvp = nd.dvp
	} else {
		Vrele(nd.l, nd.dvp)
	}
	nd.dvp = nil
	return true, 0
}
