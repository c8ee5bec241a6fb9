package p2k

import (
	"strconv"

	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

// Linux's FUSE header carries the calling thread's id; its process is the
// thread group.
const threadIDs = true

// hostTgid reads the thread group id of thread tid from
// /proc/<tid>/status ("Tgid:" is among the first lines).
func hostTgid(tid uint32) (uint32, bool) {
	var path [32]byte
	p := append(path[:0], "/proc/"...)
	p = strconv.AppendUint(p, uint64(tid), 10)
	p = append(p, "/status"...)
	fd, err := unix.Open(string(p), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, false
	}
	defer unix.Close(fd)
	var buf [512]byte
	n, err := unix.Read(fd, buf[:])
	if err != nil || n <= 0 {
		return 0, false
	}
	return parseTgid(buf[:n])
}

// parseTgid finds "Tgid:\t<n>" in a /proc status file.
func parseTgid(b []byte) (uint32, bool) {
	const key = "\nTgid:"
	for i := 0; i+len(key) <= len(b); i++ {
		if string(b[i:i+len(key)]) != key {
			continue
		}
		j := i + len(key)
		for j < len(b) && (b[j] == ' ' || b[j] == '\t') {
			j++
		}
		k := j
		for k < len(b) && b[k] >= '0' && b[k] <= '9' {
			k++
		}
		v, err := strconv.ParseUint(string(b[j:k]), 10, 32)
		if err != nil {
			return 0, false
		}
		return uint32(v), true
	}
	return 0, false
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
