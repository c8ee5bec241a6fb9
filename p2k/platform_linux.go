package p2k

import (
	"bytes"
	"strconv"
	"sync/atomic"

	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

// hostProc is what the host says about a caller: its process id (the
// thread group of the thread FUSE names), its supplementary groups, and a
// pidfd that tells whether that very thread still lives.
type hostProc struct {
	pid    uint32
	groups []uint32
	fd     int // pidfd, -1: none (the entry cannot be kept)
}

// threadPidfds is cleared when the host refuses PIDFD_THREAD (before
// Linux 6.9); only thread-group leaders can then be followed.
var threadPidfds atomic.Bool

func init() { threadPidfds.Store(true) }

// pidfdThread is PIDFD_THREAD: a pidfd on a thread, not its process.
const pidfdThread = unix.O_EXCL

// lookupHostProc opens a pidfd on thread tid, then reads its thread group
// and groups from /proc/TID/status; the pidfd, still quiet after the read,
// proves the status was that thread's.
func lookupHostProc(tid, uid uint32) (hostProc, bool) {
	fd := -1
	if threadPidfds.Load() {
		var err error
		fd, err = unix.PidfdOpen(int(tid), pidfdThread)
		if err == unix.EINVAL {
			threadPidfds.Store(false)
		}
		if err != nil {
			fd = -1
		}
	}
	if fd < 0 {
		// Succeeds for a thread-group leader only, whose id stays
		// taken while any of its threads live.
		if f, err := unix.PidfdOpen(int(tid), 0); err == nil {
			fd = f
		}
	}
	hp := hostProc{fd: fd}
	st, ok := readStatus(tid)
	if ok {
		hp.pid, ok = statusField(st, "Tgid:")
		hp.groups = statusGroups(st)
	}
	if !ok || (fd >= 0 && !hp.alive()) {
		hp.release()
		return hostProc{}, false
	}
	return hp, true
}

func (hp *hostProc) cacheable() bool { return hp.fd >= 0 }

// alive polls the pidfd: readable once the thread has exited.
func (hp *hostProc) alive() bool {
	if hp.fd < 0 {
		return false
	}
	pfd := [1]unix.PollFd{{Fd: int32(hp.fd), Events: unix.POLLIN}}
	n, err := unix.Poll(pfd[:], 0)
	return err == nil && n == 0
}

func (hp *hostProc) release() {
	if hp.fd >= 0 {
		unix.Close(hp.fd)
		hp.fd = -1
	}
}

// readStatus reads /proc/<tid>/status whole.
func readStatus(tid uint32) ([]byte, bool) {
	fd, err := unix.Open("/proc/"+strconv.FormatUint(uint64(tid), 10)+"/status", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, false
	}
	defer unix.Close(fd)
	buf := make([]byte, 0, 4096)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := unix.Read(fd, buf[len(buf):cap(buf)])
		if err != nil {
			return nil, false
		}
		if n == 0 {
			return buf, true
		}
		buf = buf[:len(buf)+n]
	}
}

// statusLine returns the rest of the line starting with key in a /proc
// status file.
func statusLine(b []byte, key string) ([]byte, bool) {
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		if bytes.HasPrefix(line, []byte(key)) {
			return line[len(key):], true
		}
	}
	return nil, false
}

// statusField parses the number after key ("Tgid:\t4242").
func statusField(b []byte, key string) (uint32, bool) {
	v, ok := statusLine(b, key)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(string(bytes.TrimSpace(v)), 10, 32)
	return uint32(n), err == nil
}

// statusGroups parses "Groups:\t50 100 \n" (empty without groups).
func statusGroups(b []byte) []uint32 {
	v, _ := statusLine(b, "Groups:")
	var out []uint32
	for _, f := range bytes.Fields(v) {
		if n, err := strconv.ParseUint(string(f), 10, 32); err == nil {
			out = append(out, uint32(n))
		}
	}
	return out
}

// setattrExtra adds the platform's extra SETATTR fields (none on Linux).
func setattrExtra(in *fuse.SetAttrIn, va *vfs.Vattr) {}

// attrExtra fills the platform's extra attribute fields (none on Linux).
func attrExtra(a *fuse.Attr, va *vfs.Vattr) {}

// xattrErrno maps a driver's "no such attribute" to the host's spelling:
// on Linux ENOATTR is ENODATA.
func xattrErrno(e unix.Errno) unix.Errno { return e }

// renameFlags decodes a rename's flags into vfs.Rename* (Linux's values):
// only RENAME2 carries them (a plain RENAME's RenameIn.Flags overlaps the
// names that follow the header).
func renameFlags(in *fuse.RenameIn) int {
	const opRename2 = 45
	if in.Opcode != opRename2 {
		return 0
	}
	return int(in.Flags)
}

// Kill-priv (FUSE_HANDLE_KILLPRIV_V2, Linux 5.11): instead of a SETATTR
// of the mode, which a writer who does not own the file may not make, the
// host flags the write, truncate, chown or O_TRUNC open after which setuid
// and setgid must go, and p2k drops them (vfs.VOPKillPriv).
const (
	fattrKillSUIDGID = fuse.FATTR_KILL_SUIDGID
	writeKillSUIDGID = fuse.WRITE_KILL_SUIDGID
	openKillSUIDGID  = fuse.OPEN_KILL_SUIDGID
)

// Capabilities are the FUSE INIT capabilities p2k handles beyond go-fuse's
// defaults; pass them as fuse.MountOptions.ExtraCapabilities.
const Capabilities = fuse.CAP_HANDLE_KILLPRIV_V2
