package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

const fuseHint = "FUSE is not available: /dev/fuse is missing; load the module with `modprobe fuse` and install fuse3 (in a container, pass --device /dev/fuse)"

// mountEntry is one line of /proc/self/mountinfo.
type mountEntry struct {
	dev, mountpoint, fstype, source string
}

// parseMountinfo reads mountinfo lines (proc(5)): fields 3 (major:minor)
// and 5 (mount point), then after the " - " separator the type and the
// source. Paths carry octal escapes (\040 for a space).
func parseMountinfo(r io.Reader) []mountEntry {
	var out []mountEntry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		f, g := strings.Fields(pre), strings.Fields(post)
		if len(f) < 5 || len(g) < 2 {
			continue
		}
		out = append(out, mountEntry{dev: f[2], mountpoint: unescapeMountinfo(f[4]), fstype: g[0], source: unescapeMountinfo(g[1])})
	}
	return out
}

func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// mountAt returns the topmost mount on path from /proc/self/mountinfo,
// without touching path (rclone's habit: safe with autofs and dead FUSE
// mounts).
func mountAt(path string) (mountEntry, bool) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return mountEntry{}, false
	}
	defer f.Close()
	var found mountEntry
	ok := false
	for _, m := range parseMountinfo(f) {
		if m.mountpoint == path {
			found, ok = m, true
		}
	}
	return found, ok
}

// isRumpfsMount says whether a mount table entry is one of ours.
func isRumpfsMount(m mountEntry, subtype string) bool {
	return m.fstype == "fuse.rumpfs" || m.fstype == "fuse."+subtype
}

// checkMountpoint returns why mnt (absolute) cannot be mounted on, or "".
func checkMountpoint(mnt, subtype string) string {
	busy := func(p string) string {
		if m, ok := mountAt(p); ok && isRumpfsMount(m, subtype) {
			// statfs always reaches the server, where a stat may be
			// answered from attributes the host kernel cached (it
			// caches them for its own permission checks under
			// default_permissions and POSIX ACLs).
			var sfs unix.Statfs_t
			if err := unix.Statfs(p, &sfs); errors.Is(err, unix.ENOTCONN) {
				return fmt.Sprintf("mount point %s: a rumpfs mount of %s whose server is gone is still there (unmount it with fusermount -u %s)", mnt, m.source, mnt)
			}
			return fmt.Sprintf("mount point %s is busy: already a rumpfs mount of %s (unmount it with fusermount -u %s)", mnt, m.source, mnt)
		}
		return ""
	}
	if msg := busy(mnt); msg != "" {
		return msg
	}
	st, err := os.Stat(mnt)
	switch {
	case errors.Is(err, unix.ENOTCONN):
		return fmt.Sprintf("mount point %s: a FUSE mount whose server is gone is still there (unmount it with fusermount -u %s)", mnt, mnt)
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

// checkFUSE returns why FUSE cannot be used here, or "".
func checkFUSE() string {
	if _, err := os.Stat("/dev/fuse"); err != nil {
		return fuseHint
	}
	if os.Geteuid() != 0 {
		if err := unix.Access("/dev/fuse", unix.R_OK|unix.W_OK); err != nil {
			return fmt.Sprintf("FUSE: /dev/fuse: %v: without root it must be readable and writable by you (mode 0666 is usual)", err)
		}
		if _, err := exec.LookPath("fusermount3"); err != nil {
			if _, err := exec.LookPath("fusermount"); err != nil {
				return "FUSE needs the fusermount3 helper when not root: install fuse3"
			}
		}
	}
	return ""
}

// raiseReadahead sets the mount's bdi read-ahead to 1 MiB so that the host
// sends 1 MiB reads (go-fuse can only lower the kernel's 128 KiB offer).
// Best effort: root only, failure ignored.
func raiseReadahead(mnt string) {
	if os.Geteuid() != 0 {
		return
	}
	if m, ok := mountAt(mnt); ok {
		os.WriteFile("/sys/class/bdi/"+m.dev+"/read_ahead_kb", []byte("1024\n"), 0)
	}
}

// detach unmounts mnt lazily: gone from the namespace now, the connection
// ends when the last open file on it is closed.
func detach(mnt string) error {
	if os.Geteuid() == 0 {
		return unix.Unmount(mnt, unix.MNT_DETACH)
	}
	return fusermount("-u", "-z", mnt)
}

// cutOff ends the FUSE connection of a busy mount (the open files get
// ENOTCONN) and detaches it, so that the server can halt now.
func cutOff(mnt string) {
	if os.Geteuid() == 0 {
		// For FUSE, umount_begin aborts the connection; the unmount
		// itself may still fail with EBUSY.
		if err := unix.Unmount(mnt, unix.MNT_FORCE); err == nil {
			return
		}
	} else if m, ok := mountAt(mnt); ok {
		// fusectl names a connection by the kernel's dev_t.
		var maj, min uint32
		if _, err := fmt.Sscanf(m.dev, "%d:%d", &maj, &min); err == nil {
			os.WriteFile(fmt.Sprintf("/sys/fs/fuse/connections/%d/abort", maj<<20|min), []byte("1"), 0)
		}
	}
	detach(mnt)
}

func fusermount(args ...string) error {
	bin, err := exec.LookPath("fusermount3")
	if err != nil {
		if bin, err = exec.LookPath("fusermount"); err != nil {
			return err
		}
	}
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v", strings.TrimSpace(string(out)), err)
	}
	return nil
}

func dup2(oldfd, newfd int) error { return unix.Dup3(oldfd, newfd, 0) }

// readOnlyMountFlags are mount(2)'s flags for a read-only direct mount.
const readOnlyMountFlags = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_RDONLY

// checkUnprivileged returns what fusermount3 would refuse a non-root user,
// or "": a mount point the user cannot write to, and allow_other without
// user_allow_other in /etc/fuse.conf.
func checkUnprivileged(mnt string, allowOther bool) string {
	if os.Geteuid() == 0 {
		return ""
	}
	if err := unix.Access(mnt, unix.W_OK); err != nil {
		return fmt.Sprintf("mount point %s: permission denied: without root, mount only on a directory you can write to", mnt)
	}
	if allowOther {
		conf, _ := os.ReadFile("/etc/fuse.conf")
		for _, line := range strings.Split(string(conf), "\n") {
			if strings.TrimSpace(line) == "user_allow_other" {
				return ""
			}
		}
		return "allow_other: permission denied: without root it needs user_allow_other in /etc/fuse.conf"
	}
	return ""
}

// waitMount returns at once: on Linux go-fuse's NewServer has mounted and
// answered INIT before it returns, so the host queues requests for us
// already. go-fuse's WaitMount would add its poll hack, which opens a file
// on the new mount from this very process; this process must never make
// a request to its own mount: killed while the host waits for our answer
// to it (a FLUSH, or any request our reader had taken), it hangs for ever
// in uninterruptible sleep, holding the connection open.
func waitMount(srv *fuse.Server, mnt string) error { return nil }
