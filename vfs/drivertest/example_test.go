package drivertest_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"

	"github.com/rumpfs/rumpfs/vfs"
	"github.com/rumpfs/rumpfs/vfs/drivertest"
	"github.com/rumpfs/rumpfs/vfs/ffs"
	"golang.org/x/sys/unix"
)

// sampleImage is the FFS sample image the ffs package's tests use.
func sampleImage() []byte {
	f, err := os.Open("../ffs/testdata/sample.ffs.gz")
	if err != nil {
		panic(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		panic(err)
	}
	img, err := io.ReadAll(z)
	if err != nil {
		panic(err)
	}
	return img
}

// A driver test: mount FFS on a memory disk, make system calls as root
// and as a user, trace the vnode operations, fail a block read, and check
// the image at the end. In go test, pass the *testing.T where this passes
// the Program.
func Example() {
	t := &drivertest.Program{}
	defer t.Close()
	k, root := drivertest.Boot(t)
	// Every vnode made from now on is lock-checked, and traced on demand.
	c := drivertest.InstallLockChecker(t)
	disk := drivertest.MemDisk(t, k, sampleImage())
	if e := drivertest.MountDev(t, k, root, disk, "ffs", "/mnt", 0, nil); e != 0 {
		t.Fatalf("mount: %v", e)
	}

	// System calls as uid 1000: the root directory is root's, 0755.
	user := drivertest.As(t, k, root, 1000, 1000)
	_, e := vfs.Open(user, "/mnt/mine", unix.O_CREAT|unix.O_WRONLY, 0o644)
	fmt.Println("create as uid 1000:", e)

	// The VOP trace of one stat(2), with the caller's pid and lid.
	c.Trace()
	var va vfs.Vattr
	vfs.Stat(root, "/mnt/hello.txt", &va)
	for _, call := range c.Traced() {
		fmt.Println(call.Op, call.Pid == root.Proc().Pid(), call.Lid == root.Lid())
	}

	// A block fault: the next read of the disk fails.
	disk.FailNthRead(1)
	fd, e := vfs.Open(root, "/mnt/docs/lines.txt", unix.O_RDONLY, 0)
	if e == 0 {
		_, e = vfs.Read(root, fd, make([]byte, 100))
		vfs.Close(root, fd)
	}
	fmt.Println("open and read with a failing disk:", e)
	disk.ClearFaults()
	fmt.Println("breaches:", c.Breaches())

	// Halt, then check the image with the driver's checker.
	drivertest.Halt(t, k, root)
	img := make([]byte, disk.Size())
	disk.ReadBytes(nil, img, 0)
	r, err := ffs.Check(nil, drivertest.MemDev(img))
	fmt.Println("check:", err, r.OK(), bytes.Contains(img, []byte("Berkeley")))

	// Output:
	// create as uid 1000: permission denied
	// Lookup true true
	// Getattr true true
	// Inactive true true
	// open and read with a failing disk: input/output error
	// breaches: []
	// check: <nil> true true
}
