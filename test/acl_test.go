package test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
)

// POSIX ACLs through real mounts, with the Linux kernel's own ext4 as the
// reference: the same tree is made (or read) on a kernel loop mount and
// on a rumpfs mount, and every answer (access as several callers,
// getfacl, modes) must be the same.

// aclCallers are the setpriv prefixes of the callers in the table.
var aclCallers = []struct {
	name string
	args []string
}{
	{"root", nil},
	{"u1000", []string{"--reuid=1000", "--regid=1000", "--clear-groups"}},
	{"u1000+50", []string{"--reuid=1000", "--regid=1000", "--groups=50"}},
	{"u2000", []string{"--reuid=2000", "--regid=2000", "--clear-groups"}},
	{"u2000+50", []string{"--reuid=2000", "--regid=2000", "--groups=50"}},
	{"g50", []string{"--reuid=3000", "--regid=50", "--clear-groups"}},
}

// aclTreeScript makes the table's files in ./t (run as root). Each name
// is one row: owner, owning group, other, named user, a named user
// refused, named group, the mask limiting named entries, a group entry
// refusing a member whom other would let in, a zero mask (Linux then
// ignores the ACL), and directories with ACLs.
const aclTreeScript = `set -e
umask 022
mkdir t
cd t
for f in owner group other nu deny ng mask ngdeny maskzero; do echo data > $f; done
chown 1000 owner; chmod 600 owner
chgrp 1000 group; chmod 640 group
chmod 644 other
chmod 600 nu; setfacl -m u:1000:r nu
chmod 644 deny; setfacl -m u:1000:- deny
chmod 600 ng; setfacl -m g:50:r ng
chmod 600 mask; setfacl -m u:1000:rw,g:50:rw,m::r mask
chmod 604 ngdeny; setfacl -m g::r,g:50:-,o::r ngdeny
chmod 604 maskzero; setfacl -m u:1000:rw,m::- maskzero
mkdir dnu dden plain
echo in > dnu/in; echo in > dden/in; echo in > plain/in
chmod 700 dnu; setfacl -m u:1000:rx dnu
setfacl -m u:1000:- dden
`

// aclRWScript adds what needs a writable file system: inheritance from
// default ACLs under two umasks, creation by a named user, and chmod
// after setfacl.
const aclRWScript = `set -e
cd t
mkdir inh
chgrp 1000 inh
setfacl -m u:1000:rwx inh
setfacl -d -m u:1000:rwx,g::rx,g:50:r,o::- inh
# root with gid 1000: new files' group is 1000 under BSD's rule and Linux's
G="setpriv --regid=1000 --clear-groups"
(umask 077; $G sh -c 'echo x > inh/f077; mkdir inh/d077; mkfifo inh/p077')
(umask 022; $G sh -c 'echo x > inh/f022; mkdir inh/d022')
setpriv --reuid=1000 --regid=1000 --clear-groups sh -c 'umask 022; echo x > inh/byuser; mkdir inh/userdir'
echo x > chm; setfacl -m u:1000:rw,g:50:rwx chm; chmod 640 chm
mkdir chd; setfacl -m u:1000:rwx chd; setfacl -d -m u:1000:rx chd; chmod 750 chd
echo x > eq; setfacl -m u::rwx,g::r,o::- eq
echo x > rm; setfacl -m u:1000:r rm; setfacl -b rm
`

// run a shell script as root in dir.
func aclShell(t *testing.T, dir, script string) {
	t.Helper()
	cmd := exec.Command("sh", "-c", script)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("in %s: %v\n%s\nscript:\n%s", dir, err, out, script)
	}
}

// aclTry runs argv in dir as the caller and returns "ok" or the error
// message the tool printed (names are relative, so equal on both mounts).
func aclTry(dir string, caller []string, argv ...string) string {
	if caller != nil {
		argv = append(append([]string{"setpriv"}, caller...), argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err == nil {
		return "ok"
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return "fails: " + lines[len(lines)-1]
}

// aclPaths lists the tree under dir/t, sorted, relative to dir.
func aclPaths(t *testing.T, dir string) []string {
	t.Helper()
	var paths []string
	err := filepath.Walk(filepath.Join(dir, "t"), func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		paths = append(paths, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(paths)
	return paths
}

// aclSnapshot is every path's type, mode, owner and getfacl output.
func aclSnapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	snap := map[string]string{}
	for _, p := range aclPaths(t, dir) {
		var st syscall.Stat_t
		if err := syscall.Lstat(filepath.Join(dir, p), &st); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("getfacl", "-n", "-p", p)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("getfacl %s: %v\n%s", p, err, out)
		}
		snap[p] = fmt.Sprintf("%s\nmode %o owner %d:%d", strings.TrimSpace(string(out)), st.Mode, st.Uid, st.Gid)
	}
	return snap
}

// aclAccessTable tries every caller on every row: read each file, list
// and read in each directory, and (writable) append to each file.
func aclAccessTable(t *testing.T, dir string, write bool) map[string]string {
	t.Helper()
	res := map[string]string{}
	files := []string{"owner", "group", "other", "nu", "deny", "ng", "mask", "ngdeny", "maskzero"}
	for _, c := range aclCallers {
		for _, f := range files {
			res[c.name+" read "+f] = aclTry(filepath.Join(dir, "t"), c.args, "cat", f)
			if write {
				res[c.name+" write "+f] = aclTry(filepath.Join(dir, "t"), c.args, "sh", "-c", "echo more >> "+f)
			}
		}
		for _, d := range []string{"dnu", "dden", "plain"} {
			res[c.name+" list "+d] = aclTry(filepath.Join(dir, "t"), c.args, "ls", d)
			res[c.name+" read "+d+"/in"] = aclTry(filepath.Join(dir, "t"), c.args, "cat", d+"/in")
		}
	}
	return res
}

// diffMaps reports every key where got and want differ.
func diffMaps(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	keys := map[string]bool{}
	for k := range got {
		keys[k] = true
	}
	for k := range want {
		keys[k] = true
	}
	var ks []string
	for k := range keys {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	for _, k := range ks {
		if got[k] != want[k] {
			t.Errorf("%s: %s:\nrumpfs: %q\nkernel: %q", what, k, got[k], want[k])
		}
	}
}

// kernelExt4 makes an ext4 image and loop-mounts it read-write, with the
// unmount as a cleanup (earlier if the test calls the returned func).
func kernelExt4(t *testing.T, img string) (mnt string, unmount func()) {
	t.Helper()
	mke2fs := needTool(t, "mke2fs")
	if out, err := exec.Command(mke2fs, "-q", "-F", "-t", "ext4", img, "32M").CombinedOutput(); err != nil {
		t.Fatalf("mke2fs: %v\n%s", err, out)
	}
	mnt = mountDir(t)
	if out, err := exec.Command("mount", "-o", "loop", img, mnt).CombinedOutput(); err != nil {
		t.Fatalf("loop mount: %v\n%s", err, out)
	}
	done := false
	unmount = func() {
		if done {
			return
		}
		done = true
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Fatalf("umount %s: %v\n%s", mnt, err, out)
		}
	}
	t.Cleanup(unmount)
	return mnt, unmount
}

// TestACLExt4ReadOnly: ACLs set by the kernel on ext4 are what rumpfs
// enforces and shows, read-only, for every caller in the table.
func TestACLExt4ReadOnly(t *testing.T) {
	needFUSE(t)
	needTool(t, "setfacl")
	needTool(t, "setpriv")
	img := filepath.Join(t.TempDir(), "acl.ext4")
	kmnt, unmount := kernelExt4(t, img)
	aclShell(t, kmnt, aclTreeScript)
	unmount()
	kro := mountDir(t)
	if out, err := exec.Command("mount", "-o", "loop,ro", img, kro).CombinedOutput(); err != nil {
		t.Fatalf("loop mount ro: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", kro).Run() })
	rmnt := mountDir(t)
	s := startServer(t, rmnt, "-o", "ro,allow_other", "-t", "ext4", img)
	diffMaps(t, "access", aclAccessTable(t, rmnt, false), aclAccessTable(t, kro, false))
	diffMaps(t, "getfacl", aclSnapshot(t, rmnt), aclSnapshot(t, kro))
	s.unmount()
}

// TestACLReadWrite: the table made through a read-write rumpfs mount
// (UFS2, the in-memory root) answers as the same made on a kernel ext4
// mount, including inheritance, chmod, cp -a and tar --acls copies of
// the kernel's tree, and (UFS2) a remount.
func TestACLReadWrite(t *testing.T) {
	needFUSE(t)
	needTool(t, "setfacl")
	needTool(t, "setpriv")
	tarBin := needTool(t, "tar")
	for _, kind := range []string{"ufs2", "memory"} {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			kmnt, _ := kernelExt4(t, filepath.Join(dir, "ref.ext4"))
			rmnt := mountDir(t)
			var img string
			args := []string{"-o", "allow_other"}
			if kind == "ufs2" {
				img = emptyFFS(t, dir, ufs2, "32m")
				args = append(args, "-t", "ffs", img)
			} else {
				args = append(args, rootArgs...)
			}
			s := startServer(t, rmnt, args...)
			for _, m := range []string{kmnt, rmnt} {
				aclShell(t, m, aclTreeScript)
				aclShell(t, m, aclRWScript)
			}
			want := aclSnapshot(t, kmnt)
			diffMaps(t, "getfacl", aclSnapshot(t, rmnt), want)
			diffMaps(t, "access", aclAccessTable(t, rmnt, true), aclAccessTable(t, kmnt, true))

			// Copies of the kernel's tree, with and without ACLs.
			aclShell(t, rmnt, "mkdir cpa tarx")
			aclShell(t, kmnt, "cp -a t "+filepath.Join(rmnt, "cpa"))
			aclShell(t, kmnt, tarBin+" --acls -cpf "+filepath.Join(dir, "t.tar")+" t")
			aclShell(t, filepath.Join(rmnt, "tarx"), tarBin+" --acls -xpf "+filepath.Join(dir, "t.tar"))
			want = aclSnapshot(t, kmnt)
			diffMaps(t, "cp -a", aclSnapshot(t, filepath.Join(rmnt, "cpa")), want)
			diffMaps(t, "tar --acls", aclSnapshot(t, filepath.Join(rmnt, "tarx")), want)
			if kind != "ufs2" {
				s.unmount()
				return
			}
			before := aclSnapshot(t, rmnt)
			s.unmountFFS()
			fsckClean(t, "after the ACL table", img)
			s = startServer(t, rmnt, args...)
			diffMaps(t, "after a remount", aclSnapshot(t, rmnt), before)
			s.unmountFFS()
		})
	}
}

// TestACLUFS1NotSupported: UFS1 has no extended attributes: setfacl says
// so (and tools fall back to chmod), chmod works.
func TestACLUFS1NotSupported(t *testing.T) {
	needFUSE(t)
	needTool(t, "setfacl")
	img := emptyFFS(t, t.TempDir(), ufs1, "16m")
	mnt := mountDir(t)
	s := startServer(t, mnt, "-t", "ffs", img)
	aclShell(t, mnt, "echo x > f")
	out, err := exec.Command("setfacl", "-m", "u:1000:r", filepath.Join(mnt, "f")).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "Operation not supported") {
		t.Errorf("setfacl on UFS1: %v %s; want Operation not supported", err, out)
	}
	aclShell(t, mnt, "chmod 600 f")
	if st, err := os.Stat(filepath.Join(mnt, "f")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("chmod on UFS1: %v %v", st.Mode(), err)
	}
	aclShell(t, mnt, "mkdir d && chmod 755 d && cp -a d d2")
	if st, err := os.Stat(filepath.Join(mnt, "d2")); err != nil || st.Mode().Perm() != 0o755 {
		t.Errorf("cp -a of a directory on UFS1: %v %v", st.Mode(), err)
	}
	s.unmountFFS()
}
