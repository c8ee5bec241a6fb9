package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

const fuseHint = "FUSE is not available: install macFUSE (https://osxfuse.github.io/) and allow its system extension"

// mountAt returns the file system type and source mounted on path, from
// the kernel's mount table without touching path.
func mountAt(path string) (fstype, source string, ok bool) {
	n, err := unix.Getfsstat(nil, unix.MNT_NOWAIT)
	if err != nil || n == 0 {
		return "", "", false
	}
	buf := make([]unix.Statfs_t, n)
	n, err = unix.Getfsstat(buf, unix.MNT_NOWAIT)
	if err != nil {
		return "", "", false
	}
	for _, s := range buf[:n] {
		if unix.ByteSliceToString(s.Mntonname[:]) == path {
			fstype, source, ok = unix.ByteSliceToString(s.Fstypename[:]), unix.ByteSliceToString(s.Mntfromname[:]), true
		}
	}
	return fstype, source, ok
}

// checkMountpoint returns why mnt (absolute) cannot be mounted on, or "".
func checkMountpoint(mnt, subtype string) string {
	busy := func(p string) string {
		if t, src, ok := mountAt(p); ok && (strings.Contains(t, "fuse") || strings.Contains(t, "rumpfs")) {
			return fmt.Sprintf("mount point %s is busy: already a FUSE mount of %s (unmount it with umount %s)", mnt, src, mnt)
		}
		return ""
	}
	if msg := busy(mnt); msg != "" {
		return msg
	}
	st, err := os.Stat(mnt)
	switch {
	case errors.Is(err, unix.ENOTCONN), errors.Is(err, unix.ENXIO):
		return fmt.Sprintf("mount point %s: a FUSE mount whose server is gone is still there (unmount it with umount %s)", mnt, mnt)
	case errors.Is(err, os.ErrNotExist):
		return fmt.Sprintf("mount point %s does not exist", mnt)
	case err != nil:
		return fmt.Sprintf("mount point %s: %s", mnt, errText(err))
	case !st.IsDir():
		return fmt.Sprintf("mount point %s is not a directory", mnt)
	}
	if real, err := filepath.EvalSymlinks(mnt); err == nil && real != mnt {
		return busy(real)
	}
	return ""
}

// checkFUSE returns why FUSE cannot be used here, or "": go-fuse looks
// for macFUSE's (or osxfuse's) mount helper.
func checkFUSE() string {
	for _, p := range []string{
		"/Library/Filesystems/macfuse.fs/Contents/Resources/mount_macfuse",
		"/Library/Filesystems/osxfuse.fs/Contents/Resources/mount_osxfuse",
	} {
		if _, err := os.Stat(p); err == nil {
			return ""
		}
	}
	return fuseHint
}

// raiseReadahead: macFUSE takes iosize at mount time; nothing to do.
func raiseReadahead(mnt string) {}

// detach: macOS has no lazy unmount; a forced unmount is the nearest.
func detach(mnt string) error { return unix.Unmount(mnt, unix.MNT_FORCE) }

// cutOff forces the unmount; open files get ENXIO.
func cutOff(mnt string) { unix.Unmount(mnt, unix.MNT_FORCE) }

func dup2(oldfd, newfd int) error { return unix.Dup2(oldfd, newfd) }

// readOnlyMountFlags: go-fuse mounts through macFUSE's helper, with "ro".
const readOnlyMountFlags = 0

// checkUnprivileged: macFUSE lets any user mount on a directory they own.
func checkUnprivileged(mnt string, allowOther bool) string { return "" }

// waitMount waits for go-fuse's mount to be ready; on macOS the mount
// completes asynchronously.
func waitMount(srv *fuse.Server, mnt string) error { return srv.WaitMount() }
