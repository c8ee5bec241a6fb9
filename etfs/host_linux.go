package etfs

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// lockWindow takes an open-file-description byte-range lock on
// [begin, begin+length) (length 0: to the end of the file and beyond), a
// write lock unless shared. OFD locks belong to the descriptor, so a second
// registration in this very process conflicts too, and closing the
// descriptor releases them. On a conflict it returns the holder's pid as
// the kernel reports it (-1 when the holder is itself an OFD lock).
func lockWindow(fd int, begin, length int64, shared bool) (conflict bool, pid int32, err error) {
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: begin, Len: length}
	if shared {
		lk.Type = unix.F_RDLCK
	}
	err = unix.FcntlFlock(uintptr(fd), unix.F_OFD_SETLK, &lk)
	if err == nil {
		return false, 0, nil
	}
	if err != unix.EAGAIN && err != unix.EACCES {
		return false, 0, err
	}
	q := unix.Flock_t{Type: lk.Type, Whence: 0, Start: begin, Len: length}
	pid = -1
	if unix.FcntlFlock(uintptr(fd), unix.F_OFD_GETLK, &q) == nil && q.Type != unix.F_UNLCK {
		pid = q.Pid
	}
	return true, pid, nil
}

// readHostDir lists the regular files and directories in the directory
// open as dirfd, through a descriptor of its own.
func readHostDir(dirfd int) ([]hostDirent, error) {
	fd, err := unix.Openat(dirfd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	var out []hostDirent
	buf := make([]byte, 32<<10)
	for {
		n, err := unix.Getdents(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return out, nil
		}
		// struct linux_dirent64: ino u64, off s64, reclen u16,
		// type u8, name NUL-terminated.
		for b := buf[:n]; len(b) >= 19; {
			reclen := int(binary.NativeEndian.Uint16(b[16:]))
			if reclen < 19 || reclen > len(b) {
				return out, unix.EIO
			}
			ino := binary.NativeEndian.Uint64(b)
			dt := b[18]
			name := b[19:reclen]
			if i := bytes.IndexByte(name, 0); i >= 0 {
				name = name[:i]
			}
			b = b[reclen:]
			s := string(name)
			if s == "." || s == ".." {
				continue
			}
			if dt == unix.DT_UNKNOWN {
				var st unix.Stat_t
				if unix.Fstatat(fd, s, &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
					continue
				}
				switch st.Mode & unix.S_IFMT {
				case unix.S_IFREG:
					dt = unix.DT_REG
				case unix.S_IFDIR:
					dt = unix.DT_DIR
				}
			}
			if dt == unix.DT_REG || dt == unix.DT_DIR {
				out = append(out, hostDirent{s, ino, dt})
			}
		}
	}
}

// findLockHolder names the process holding a conflicting OFD lock, which
// F_OFD_GETLK and /proc/locks report as pid -1: each process's
// /proc/PID/fdinfo lists the locks held through its descriptors. -1 when
// none is found (another user's processes are not readable).
func findLockHolder(dev, ino uint64, begin, length int64) int32 {
	want := fmt.Sprintf("%02x:%02x:%d", unix.Major(dev), unix.Minor(dev), ino)
	end := int64(math.MaxInt64)
	if length > 0 {
		end = begin + length - 1
	}
	procs, _ := os.ReadDir("/proc")
	self := int32(os.Getpid())
	found := int32(-1)
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		dir := "/proc/" + p.Name() + "/fdinfo/"
		fds, _ := os.ReadDir(dir)
		for _, fd := range fds {
			b, err := os.ReadFile(dir + fd.Name())
			if err != nil || !bytes.Contains(b, []byte(want)) {
				continue
			}
			for _, line := range strings.Split(string(b), "\n") {
				// lock:	1: OFDLCK ADVISORY  WRITE -1 fe:00:123 0 EOF
				f := strings.Fields(line)
				if len(f) < 8 || f[0] != "lock:" || f[2] != "OFDLCK" || f[len(f)-3] != want {
					continue
				}
				s, err1 := strconv.ParseInt(f[len(f)-2], 10, 64)
				e, err2 := strconv.ParseInt(f[len(f)-1], 10, 64)
				if f[len(f)-1] == "EOF" {
					e, err2 = math.MaxInt64, nil
				}
				if err1 != nil || err2 != nil || s > end || e < begin {
					continue
				}
				if int32(pid) != self {
					return int32(pid)
				}
				found = self
			}
		}
	}
	return found
}
