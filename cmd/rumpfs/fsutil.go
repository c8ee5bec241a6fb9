package main

// The fs-utils commands (ls, cat, stat, get, put, mkdir, rm, mv, ln,
// chmod, touch): each boots a kernel in this process, mounts one image in
// it the way rumpfs mount does (mountCmd.bootImage), runs its operation
// through the kernel's system calls (vfs.Open, vfs.ReadDir, vfs.Lstat...,
// the path FUSE requests take) and halts the kernel, which syncs. No
// FUSE, no root, no host mount. A command that only reads opens the image
// O_RDONLY.

import (
	"fmt"
	"os"
	"os/signal"
	"path"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/rumpfs/rumpfs/internal/textesc"
	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"
)

// imageArg is one IMAGE[@selector]:PATH argument.
type imageArg struct {
	arg   string // as given, for messages
	image string // IMAGE[@selector], as rumpfs mount takes it
	path  string // absolute, cleaned path inside the image
}

// parseImageArg splits IMAGE[@selector]:PATH the way scp splits
// host:path. The colon is the first one after a %DISKLABEL:x% or
// %OFFSET:off,size% selector (whose own colon is not it); an empty PATH
// is the root. ok is false when s has no colon: a host path.
func parseImageArg(s string) (a imageArg, ok bool) {
	from := 0
	for _, k := range []string{"%DISKLABEL:", "%OFFSET:"} {
		if i := strings.Index(s, k); i >= 0 {
			if j := strings.IndexByte(s[i+len(k):], '%'); j >= 0 {
				from = i + len(k) + j + 1
			}
		}
	}
	i := strings.IndexByte(s[from:], ':')
	if i < 0 || from+i == 0 {
		return a, false
	}
	i += from
	// "/" then a cleaned path: ".." can never climb above the image's
	// root (the kernel's lookup stops there too; this keeps messages and
	// the kernel path short and inside the mount).
	return imageArg{arg: s, image: s[:i], path: path.Clean("/" + s[i+1:])}, true
}

// kpath is the path of a inside the kernel: the session's process is
// chrooted into the mount, so it is the path in the image.
func (a imageArg) kpath() string { return a.path }

// imageFlags are the options every fs-utils command takes: -t and -o as
// rumpfs mount has them.
type imageFlags struct {
	fstype *string
	opts   *[]string
}

func addImageFlags(fl *pflag.FlagSet) imageFlags {
	return imageFlags{
		fstype: fl.StringP("type", "t", "", "file system `TYPE` (ffs/ufs, ext2fs/ext2/ext3/ext4, msdos/vfat/fat, cd9660/iso9660); probed when omitted"),
		opts:   fl.StringArrayP("options", "o", nil, "`OPTIONS` to mount with, as rumpfs mount takes them (norecovery,\njournal_path=FILE...)"),
	}
}

// session is a kernel with one image mounted at kernelMntp.
type session struct {
	buf   []byte // the copy buffer (ioBuf), reused: a fresh one per file costs more than the copy
	meter *meter // get's and put's progress, nil for none
	name  string // the command, for messages
	k     *kernel.Kernel
	l     *kernel.LWP
	root  *vfs.Vnode
}

// interrupted is set by SIGINT or SIGTERM once a session holds the image:
// commands check it between files (and between chunks of one) and stop,
// and the session's close halts the kernel, which syncs.
var interrupted atomic.Int32

// openImage boots a kernel with image mounted (read-write when write,
// else read-only with the image opened O_RDONLY). On failure it prints
// the message and returns the exit status to use.
func openImage(name, image string, f imageFlags, write bool, failStatus int) (*session, int) {
	mc := &mountCmd{source: image, fstype: *f.fstype, opts: defaultMountOpts(), name: name, cacheBytes: 16 << 20}
	if err := parseMountOpts(&mc.opts, *f.opts); err != nil {
		return nil, usageError(name, exitUsage, "%v", err)
	}
	if write {
		if mc.opts.readOnly {
			return nil, usageError(name, exitUsage, "-o ro: %s writes to the image", name)
		}
		mc.opts.rwAsked = true // a read-only driver is an error, not a silent ro mount
	} else {
		mc.opts.readOnly = true
	}
	p, st := mc.resolve()
	if st != 0 {
		return nil, failStatus
	}
	for _, w := range p.warnings {
		fmt.Fprintf(errOut, "rumpfs: %s: %s\n", name, textesc.Line(w))
	}
	// Once the image is mounted SIGINT and SIGTERM no longer end the
	// process at once (prepareKernel takes them): the command stops at
	// its next check and the kernel halts with a sync. Listening from
	// before the mount loses none in between.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, unix.SIGINT, unix.SIGTERM)
	go func() {
		s := <-sigs
		interrupted.Store(int32(s.(syscall.Signal)))
	}()
	k, l, root, msg := mc.bootImage(p)
	if msg != "" {
		fail("%s: %s", name, msg)
		return nil, failStatus
	}
	// The command's process sees the image as its root: ".." at the top
	// stays there, as in the image, and no path leaves it.
	if e := vfs.Chroot(l, kernelMntp); e != 0 {
		releaseVnode(l, root)
		k.Reboot(l, kernel.RB_HALT)
		fail("%s: chroot into the image: %v", name, e)
		return nil, failStatus
	}
	return &session{name: name, k: k, l: l, root: root}, 0
}

// close halts the kernel (syncing every write to the image) and returns
// code, or 128+signal after an interruption, or exitFail if the halt
// failed.
func (s *session) close(code int) int {
	s.meter.end()
	releaseVnode(s.l, s.root)
	if err := s.k.Reboot(s.l, kernel.RB_HALT); err != nil {
		fail("%s: halt: %v", s.name, err)
		code = exitFail
	}
	if sig := interrupted.Load(); sig != 0 {
		what := "terminated"
		if syscall.Signal(sig) == unix.SIGINT {
			what = "interrupted"
		}
		fmt.Fprintf(errOut, "rumpfs: %s: %s; stopped (the image was synced)\n", s.name, what)
		return 128 + int(sig)
	}
	return code
}

// ioBuf is the session's copy buffer (commands copy one file at a time).
func (s *session) ioBuf() []byte {
	if s.buf == nil {
		s.buf = make([]byte, 1<<20)
	}
	return s.buf
}

// stopped reports whether a signal asked the command to stop.
func stopped() bool { return interrupted.Load() != 0 }

// errnoText is an errno as coreutils prints it (strerror: capitalised).
func errnoText(e error) string {
	s := e.Error()
	if pe, ok := e.(*os.PathError); ok {
		s = pe.Err.Error()
	}
	if s != "" {
		s = strings.ToUpper(s[:1]) + s[1:]
	}
	return s
}

// report prints one coreutils-style error line: "rumpfs CMD: what 'arg':
// reason".
func report(cmd, what, arg string, e error) {
	fmt.Fprintf(errOut, "rumpfs %s: %s '%s': %s\n", cmd, what, textesc.Escape(arg), errnoText(e))
}

// sameImage checks that every image argument names one image (one kernel,
// one mount per command) and returns it.
func sameImage(cmd string, args []imageArg) (string, int) {
	for _, a := range args[1:] {
		if a.image != args[0].image {
			return "", usageError(cmd, exitUsage, "%s and %s name different images (one image per command)", args[0].arg, a.arg)
		}
	}
	return args[0].image, 0
}

// imageArgs parses every argument as IMAGE:PATH.
func imageArgs(cmd string, args []string) ([]imageArg, int) {
	var out []imageArg
	for _, s := range args {
		a, ok := parseImageArg(s)
		if !ok {
			return nil, usageError(cmd, exitUsage, "%q is not IMAGE:PATH (a path inside an image needs the colon, like disk.img:/etc)", s)
		}
		out = append(out, a)
	}
	return out, 0
}

// minArgs parses flags and checks there are at least n arguments.
func minArgs(fl *pflag.FlagSet, args []string, n int) (int, bool) {
	err := fl.Parse(args)
	switch {
	case err == pflag.ErrHelp:
		return 0, false
	case err != nil:
		return usageError(fl.Name(), exitUsage, "%v", err), false
	case fl.NArg() < n:
		return usageError(fl.Name(), exitUsage, "missing arguments"), false
	}
	return 0, true
}
