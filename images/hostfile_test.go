package images

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rumpfs/rumpfs/internal/testimg"
)

// TestOpenRefusesOddFiles: a FIFO, a socket, a character device and a
// directory are refused at once (a FIFO without a writer would hang the
// test if opened without O_NONBLOCK), read-only and read-write, and the
// message names the path and what it is.
func TestOpenRefusesOddFiles(t *testing.T) {
	for path, what := range testimg.OddFiles(t) {
		for _, w := range []bool{false, true} {
			img, err := Open(path, w)
			if err == nil {
				img.Close()
				t.Errorf("Open(%s, %v) succeeded", path, w)
				continue
			}
			if !errors.Is(err, unix.EINVAL) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), what) {
				t.Errorf("Open(%s, %v): %v; want EINVAL naming the path and %q", path, w, err, what)
			}
		}
		if _, err := Resolve(path + "@1"); err == nil || !strings.Contains(err.Error(), what) {
			t.Errorf("Resolve(%s@1): %v", path, err)
		}
	}
	// What is kept is a blocking file again.
	f := filepath.Join(t.TempDir(), "img")
	os.WriteFile(f, make([]byte, 4096), 0o644)
	img, err := Open(f, true)
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	// (Through SyscallConn: File.Fd would itself clear O_NONBLOCK.)
	rc, err := img.File().SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var fl int
	rc.Control(func(fd uintptr) { fl, err = unix.FcntlInt(fd, unix.F_GETFL, 0) })
	if err != nil || fl&unix.O_NONBLOCK != 0 {
		t.Errorf("image file flags %#x, %v: O_NONBLOCK left set", fl, err)
	}
}
