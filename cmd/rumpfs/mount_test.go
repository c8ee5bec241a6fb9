package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseMountOpts(t *testing.T) {
	o := defaultMountOpts()
	err := parseMountOpts(&o, []string{"ro,allow_other", "uid=1000,gid=100", "umask=022,fsname=disk,subtype=img", "debug", "default_permissions,nosuid"})
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	want := mountOpts{readOnly: true, allowOther: true, defaultPermissions: &yes, uid: 1000, gid: 100, umask: 0o22,
		fsname: "disk", subtype: "img", debug: true, hostFlags: []string{"nosuid"}}
	if !reflect.DeepEqual(o, want) {
		t.Fatalf("got %+v, want %+v", o, want)
	}
	// Later options win, as with mount(8).
	if err := parseMountOpts(&o, []string{"rw"}); err != nil || o.readOnly {
		t.Fatalf("rw after ro: readOnly=%v err=%v", o.readOnly, err)
	}
	for _, bad := range []string{"bogus", "uid=x", "uid", "gid=-1", "umask=999", "umask=8", "ro=1", "fsname=", "subtype=a,b"} {
		o := defaultMountOpts()
		if err := parseMountOpts(&o, strings.Split(bad, ";")); err == nil {
			t.Errorf("-o %s: accepted, want an error", bad)
		}
	}
}

// TestHostChecks: allow_other turns the host's permission checks on
// unless no_default_permissions says otherwise; grpid and nogrpid (and
// their aliases) choose the group of new files.
func TestHostChecks(t *testing.T) {
	for _, c := range []struct {
		opts      string
		checks    bool
		bsdGroups string
	}{
		{"ro", false, "host"},
		{"allow_other", true, "host"},
		{"allow_other,no_default_permissions", false, "host"},
		{"no_default_permissions,allow_other", false, "host"},
		{"default_permissions", true, "host"},
		{"grpid", false, "bsd"},
		{"bsdgroups,nogrpid", false, "sysv"},
		{"sysvgroups", false, "sysv"},
	} {
		o := defaultMountOpts()
		if err := parseMountOpts(&o, []string{c.opts}); err != nil {
			t.Fatalf("-o %s: %v", c.opts, err)
		}
		g := "host"
		if o.bsdGroups != nil {
			g = map[bool]string{true: "bsd", false: "sysv"}[*o.bsdGroups]
		}
		if o.hostChecks() != c.checks || g != c.bsdGroups {
			t.Errorf("-o %s: host checks %v groups %s, want %v %s", c.opts, o.hostChecks(), g, c.checks, c.bsdGroups)
		}
	}
}

// TestParseMountOptsJournal: journal_path= is made absolute (the daemon
// and the kernel registration must not depend on the working directory);
// norecovery and noload are one option.
func TestParseMountOptsJournal(t *testing.T) {
	o := defaultMountOpts()
	if err := parseMountOpts(&o, []string{"ro,journal_path=j.img,noload"}); err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	if want := filepath.Join(wd, "j.img"); o.journalPath != want || !o.noRecovery {
		t.Errorf("journal_path %q noRecovery %v, want %q true", o.journalPath, o.noRecovery, want)
	}
	for _, bad := range []string{"journal_path", "journal_path=", "norecovery=1"} {
		o := defaultMountOpts()
		if err := parseMountOpts(&o, []string{bad}); err == nil {
			t.Errorf("-o %s: accepted, want an error", bad)
		}
	}
}

func TestParseEtfsSpec(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "img")
	if err := os.WriteFile(file, make([]byte, 8192), 0o644); err != nil {
		t.Fatal(err)
	}
	odd := filepath.Join(dir, "a:b@c")
	if err := os.WriteFile(odd, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		in   string
		want etfsSpec
	}{
		{"/data=" + file, etfsSpec{key: "/data", hostPath: file, typ: etfsReg}},
		{"/dev/d0=" + file + ":blk", etfsSpec{key: "/dev/d0", hostPath: file, typ: etfsBlk}},
		{"/dev/d0=" + file + ":blk@512,4096", etfsSpec{key: "/dev/d0", hostPath: file, typ: etfsBlk, windowed: true, begin: 512, size: 4096}},
		{"/dev/d0=" + file + "@1KiB,2KiB", etfsSpec{key: "/dev/d0", hostPath: file, typ: etfsReg, windowed: true, begin: 1024, size: 2048}},
		{"/h=" + dir, etfsSpec{key: "/h", hostPath: dir, typ: etfsDir}},
		{"/h=" + dir + ":dirs", etfsSpec{key: "/h", hostPath: dir, typ: etfsDirSubs}},
		{"/odd=" + odd, etfsSpec{key: "/odd", hostPath: odd, typ: etfsReg}},
	}
	for _, c := range cases {
		got, err := parseEtfsSpec(c.in)
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if got != c.want {
			t.Errorf("%s: got %+v, want %+v", c.in, got, c.want)
		}
	}
	for _, bad := range []string{
		"data=" + file,                      // relative key
		"/=" + file,                         // the root
		"/data",                             // no host path
		"/data=" + filepath.Join(dir, "no"), // missing host file
		"/data=" + file + ":dir",            // a file as a directory
		"/h=" + dir + ":reg",                // a directory as a file
		"/h=" + dir + "@0,512",              // a window on a directory
		"/data=" + file + "@0,0",            // an empty window
	} {
		if _, err := parseEtfsSpec(bad); err == nil {
			t.Errorf("--etfs %s: accepted, want an error", bad)
		}
	}
}

func TestCanonicalFSType(t *testing.T) {
	for in, want := range map[string]string{"rumpfs": "rumpfs", "ufs": "ffs", "FFS": "ffs", "ext4": "ext2fs", "ext2": "ext2fs", "vfat": "msdos", "iso9660": "cd9660", "zfs": ""} {
		if got := canonicalFSType(in); got != want {
			t.Errorf("canonicalFSType(%q) = %q, want %q", in, got, want)
		}
	}
	if s := knownFSTypes(); !strings.Contains(s, "ffs (ufs)") || !strings.Contains(s, "rumpfs") {
		t.Errorf("knownFSTypes() = %q: want ffs with its alias and rumpfs", s)
	}
}
