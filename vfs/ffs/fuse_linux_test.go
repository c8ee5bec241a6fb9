package ffs

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/rumpfs/rumpfs/internal/testenv"
	"github.com/rumpfs/rumpfs/p2k"
	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

// needFUSE skips loudly without /dev/fuse or root (fails under
// RUMPFS_E2E).
func needFUSE(t testing.TB) {
	t.Helper()
	testenv.FUSE(t)
}

// TestExtattrThroughFUSE serves a UFS2 image through p2k in this process
// and uses the host's xattr system calls on it; the image is fsck clean
// afterwards and a remount finds the attributes.
func TestExtattrThroughFUSE(t *testing.T) {
	needFUSE(t)
	img := emptyImage(t, 2, false, "4m", "bsize=4096,fsize=512,density=4096")
	k, l := bootKernel(t)
	if e := mountImage(t, k, l, img, "/mnt", 0); e != 0 {
		t.Fatalf("mount: %v\n%s", e, k.Dmesg())
	}
	res, e := vfs.Namei(l, nil, "/mnt", vfs.LOOKUP, vfs.Follow)
	if e != 0 {
		t.Fatal(e)
	}
	// The bridge takes the lookup's reference to the root.
	b, err := p2k.New(k, res.Vp, p2k.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	mnt := t.TempDir()
	srv, err := fuse.NewServer(b, mnt, &fuse.MountOptions{FsName: "rumpfs-ffs", Name: "rumpfs", DirectMount: true})
	if err != nil {
		t.Fatalf("FUSE mount: %v", err)
	}
	served := make(chan struct{})
	go func() { srv.Serve(); close(served) }()
	if err := srv.WaitMount(); err != nil {
		t.Fatal(err)
	}
	unmounted := false
	unmount := func() {
		if unmounted {
			return
		}
		unmounted = true
		if err := srv.Unmount(); err != nil {
			t.Errorf("unmount: %v", err)
			unix.Unmount(mnt, unix.MNT_DETACH)
		}
		<-served
		b.Close()
	}
	defer unmount()

	f := filepath.Join(mnt, "f")
	if err := os.WriteFile(f, []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	must := func(err error, what string) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	must(unix.Setxattr(f, "user.color", []byte("blue"), 0), "setxattr user.color")
	must(unix.Setxattr(f, "trusted.t", []byte("root only"), 0), "setxattr trusted.t")
	if err := unix.Setxattr(f, "user.color", []byte("red"), unix.XATTR_CREATE); err != unix.EEXIST {
		t.Errorf("XATTR_CREATE on an existing name: %v, want EEXIST", err)
	}
	if err := unix.Setxattr(f, "user.none", []byte("x"), unix.XATTR_REPLACE); err != unix.ENODATA {
		t.Errorf("XATTR_REPLACE on a missing name: %v, want ENODATA", err)
	}
	must(unix.Setxattr(f, "user.color", []byte("green"), unix.XATTR_REPLACE), "replace")
	buf := make([]byte, 64)
	n, err := unix.Getxattr(f, "user.color", buf)
	if err != nil || string(buf[:n]) != "green" {
		t.Errorf("getxattr user.color = %q, %v", buf[:max(n, 0)], err)
	}
	if _, err := unix.Getxattr(f, "user.color", buf[:2]); err != unix.ERANGE {
		t.Errorf("getxattr into 2 bytes: %v, want ERANGE", err)
	}
	if _, err := unix.Getxattr(f, "user.none", buf); err != unix.ENODATA {
		t.Errorf("getxattr of a missing name: %v, want ENODATA", err)
	}
	n, err = unix.Listxattr(f, buf)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Split(strings.TrimSuffix(string(buf[:n]), "\x00"), "\x00"); !sameNames(got, "user.color", "trusted.t") {
		t.Errorf("listxattr = %q", got)
	}
	// Fill the area through the host.
	val := bytes.Repeat([]byte("z"), 500)
	filled := 0
	for ; filled < 100; filled++ {
		err := unix.Setxattr(f, fmt.Sprintf("user.fill%02d", filled), val, 0)
		if err == unix.ENOSPC {
			break
		}
		must(err, "fill")
	}
	if filled == 0 || filled == 100 {
		t.Fatalf("filling the area stopped after %d values", filled)
	}
	must(unix.Removexattr(f, "user.fill00"), "removexattr")
	if err := unix.Removexattr(f, "user.fill00"); err != unix.ENODATA {
		t.Errorf("removexattr again: %v, want ENODATA", err)
	}
	unmount()
	halt(t, k, l)
	fsck(t, img)

	k, l = bootKernel(t)
	if e := mountImage(t, k, l, img, "/mnt", vfs.MNT_RDONLY); e != 0 {
		t.Fatalf("remount: %v\n%s", e, k.Dmesg())
	}
	if v, e := getx(t, l, "/mnt/f", "user.color"); e != 0 || string(v) != "green" {
		t.Errorf("user.color after remount: %q, %v", v, e)
	}
	if v, e := getx(t, l, "/mnt/f", "user.fill01"); e != 0 || !bytes.Equal(v, val) {
		t.Errorf("user.fill01 after remount: %d bytes, %v", len(v), e)
	}
	halt(t, k, l)
}
