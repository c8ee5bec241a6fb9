package main

import (
	"fmt"
	"github.com/rumpfs/rumpfs/images"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/dustin/go-humanize"
	"github.com/rumpfs/rumpfs/vfs"
)

// mountOpts are the -o options of rumpfs mount, in mount(8) and FUSE style.
type mountOpts struct {
	readOnly bool
	// rwAsked: -o rw was given (last of ro and rw), so a read-only
	// driver is an error rather than a read-only mount.
	rwAsked    bool
	allowOther bool
	// defaultPermissions: the host kernel checks permissions too. Unset
	// (nil) it follows allow_other, because some opens (FIFOs, sockets)
	// never reach the server and only the host can refuse them.
	defaultPermissions *bool
	// bsdGroups: new files take the directory's group (grpid,
	// bsdgroups) or the creator's (nogrpid, sysvgroups); nil, the host
	// kernel's rule.
	bsdGroups       *bool
	uid, gid        int64 // -1: as stored
	umask           int32 // -1: none
	fsname, subtype string
	debug           bool
	// hostFlags are mount(2) flags passed through to the host mount
	// (nosuid, nodev, noexec and their opposites).
	hostFlags []string
	// journalPath is the host file holding an ext3/ext4 file system's
	// external journal (journal_path=, as with Linux's ext4).
	journalPath string
	// noRecovery skips an ext3/ext4 journal's replay (norecovery, noload).
	noRecovery bool
}

// hostChecks reports whether the host kernel checks permissions
// (default_permissions): as asked, else whenever others may use the mount.
func (o *mountOpts) hostChecks() bool {
	if o.defaultPermissions != nil {
		return *o.defaultPermissions
	}
	return o.allowOther
}

func defaultMountOpts() mountOpts {
	return mountOpts{uid: -1, gid: -1, umask: -1, subtype: "rumpfs"}
}

// parseMountOpts applies each -o argument (comma lists, given any number
// of times, later options win) to o.
func parseMountOpts(o *mountOpts, args []string) error {
	for _, arg := range args {
		for _, opt := range strings.Split(arg, ",") {
			if opt == "" {
				continue
			}
			name, val, hasVal := strings.Cut(opt, "=")
			flag := func() error {
				if hasVal {
					return fmt.Errorf("option %s takes no value", name)
				}
				return nil
			}
			var err error
			switch name {
			case "ro", "rw":
				o.readOnly, o.rwAsked, err = name == "ro", name == "rw", flag()
			case "allow_other":
				o.allowOther, err = true, flag()
			case "default_permissions", "no_default_permissions":
				on := name == "default_permissions"
				o.defaultPermissions, err = &on, flag()
			case "grpid", "bsdgroups", "nogrpid", "sysvgroups":
				on := name == "grpid" || name == "bsdgroups"
				o.bsdGroups, err = &on, flag()
			case "debug":
				o.debug, err = true, flag()
			case "nosuid", "suid", "nodev", "dev", "noexec", "exec":
				o.hostFlags, err = append(o.hostFlags, name), flag()
			case "uid", "gid":
				n, perr := strconv.ParseUint(val, 10, 32)
				if !hasVal || perr != nil {
					return fmt.Errorf("option %s=%s: want a number", name, val)
				}
				if name == "uid" {
					o.uid = int64(n)
				} else {
					o.gid = int64(n)
				}
			case "umask":
				n, perr := strconv.ParseUint(val, 8, 32)
				if !hasVal || perr != nil || n > 0o777 {
					return fmt.Errorf("option umask=%s: want an octal mode up to 0777", val)
				}
				o.umask = int32(n)
			case "fsname", "subtype":
				if !hasVal || val == "" || strings.ContainsAny(val, ", \t\n") {
					return fmt.Errorf("option %s=%q: want a name without commas or spaces", name, val)
				}
				if name == "fsname" {
					o.fsname = val
				} else {
					o.subtype = val
				}
			case "norecovery", "noload":
				o.noRecovery, err = true, flag()
			case "journal_path":
				if !hasVal || val == "" {
					return fmt.Errorf("option journal_path: want journal_path=FILE, the external journal's image")
				}
				p, err := filepath.Abs(val)
				if err != nil {
					return fmt.Errorf("option journal_path=%s: %v", val, err)
				}
				o.journalPath = p
			default:
				return fmt.Errorf("unknown option %q (known: ro, rw, allow_other, default_permissions, no_default_permissions, grpid, nogrpid, uid=, gid=, umask=, fsname=, subtype=, debug, nosuid, nodev, noexec, journal_path=, norecovery)", opt)
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// fsTypeNames are the file system type names rumpfs knows, with their
// aliases: NetBSD's names first, Linux's accepted too. Whether a driver is
// linked into this build is vfs.LookupFSType's answer.
var fsTypeNames = map[string][]string{
	"ffs":    {"ufs"},
	"ext2fs": {"ext2", "ext3", "ext4"},
	"msdos":  {"msdosfs", "vfat", "fat"},
	"cd9660": {"iso9660"},
	"tmpfs":  nil,
	"rumpfs": nil,
}

// canonicalFSType maps a name or alias to rumpfs's name, "" if unknown.
func canonicalFSType(name string) string {
	name = strings.ToLower(name)
	if t := vfs.LookupFSType(name); t != nil {
		return t.Name
	}
	for n, aliases := range fsTypeNames {
		if n == name {
			return n
		}
		for _, a := range aliases {
			if a == name {
				return n
			}
		}
	}
	return ""
}

// knownFSTypes describes the known names for an error message, marking
// those without a driver in this build.
func knownFSTypes() string {
	seen := map[string]bool{}
	for n := range fsTypeNames {
		seen[n] = true
	}
	for _, n := range vfs.FSTypeNames() {
		seen[n] = true
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		s := n
		if a := fsTypeNames[n]; len(a) > 0 {
			s += " (" + strings.Join(a, ", ") + ")"
		}
		if vfs.LookupFSType(n) == nil {
			s += " [no driver in this build]"
		}
		names = append(names, s)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// driverTypes lists the registered file system types.
func driverTypes() string { return strings.Join(vfs.FSTypeNames(), ", ") }

// etfsType is an etfs registration type as written on the command line.
type etfsType string

const (
	etfsReg     etfsType = "reg"
	etfsBlk     etfsType = "blk"
	etfsChr     etfsType = "chr"
	etfsDir     etfsType = "dir"
	etfsDirSubs etfsType = "dirs"
)

// etfsSpec is one --etfs KEY=HOSTPATH[:type][@begin,size].
type etfsSpec struct {
	key, hostPath string
	typ           etfsType
	windowed      bool
	begin, size   int64
	missing       int64 // bytes past the window a truncated image lacks (etfs.Options.Missing)
}

// parseEtfsSpec parses an --etfs argument. Without a type, a host
// directory is "dir", a host block device "blk", anything else "reg".
// begin and size take humanized sizes (4096, 1MiB, 2G).
func parseEtfsSpec(s string) (etfsSpec, error) {
	var sp etfsSpec
	key, rest, ok := strings.Cut(s, "=")
	if !ok || rest == "" {
		return sp, fmt.Errorf("--etfs %q: want KEY=HOSTPATH[:reg|blk|chr|dir|dirs][@begin,size]", s)
	}
	if !strings.HasPrefix(key, "/") || key == "/" {
		return sp, fmt.Errorf("--etfs %q: the key must be an absolute path in the kernel, like /dev/img0 or /data", s)
	}
	sp.key = key
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		b, sz, isWin := strings.Cut(rest[i+1:], ",")
		if isWin {
			begin, err1 := humanize.ParseBytes(b)
			size, err2 := humanize.ParseBytes(sz)
			if err1 != nil || err2 != nil || size == 0 || begin > 1<<62 || size > 1<<62 {
				return sp, fmt.Errorf("--etfs %q: window %q: want @begin,size with size > 0", s, rest[i:])
			}
			sp.windowed, sp.begin, sp.size = true, int64(begin), int64(size)
			rest = rest[:i]
		}
	}
	if i := strings.LastIndexByte(rest, ':'); i >= 0 {
		switch t := etfsType(rest[i+1:]); t {
		case etfsReg, etfsBlk, etfsChr, etfsDir, etfsDirSubs:
			sp.typ = t
			rest = rest[:i]
		default:
			// A host path may hold a colon; a suffix that is no
			// path of an existing file is a mistyped type.
			if _, err := os.Stat(rest); err != nil && !strings.Contains(string(t), "/") {
				return sp, fmt.Errorf("--etfs %s: unknown type %q (want reg, blk, chr, dir or dirs)", key, t)
			}
		}
	}
	if rest == "" {
		return sp, fmt.Errorf("--etfs %q: no host path", s)
	}
	sp.hostPath = rest
	st, err := os.Stat(rest)
	if err != nil {
		return sp, fmt.Errorf("--etfs %s: host file %s: %v", key, rest, errText(err))
	}
	if sp.typ == "" {
		switch {
		case st.IsDir():
			sp.typ = etfsDir
		case st.Mode()&os.ModeDevice != 0 && st.Mode()&os.ModeCharDevice == 0:
			sp.typ = etfsBlk
		default:
			sp.typ = etfsReg
		}
	}
	if sp.typ != etfsDir && sp.typ != etfsDirSubs {
		// A file key's host file is read as a disk: a FIFO, socket or
		// character device is refused here, before anything waits.
		if err := images.CheckHostFile(rest); err != nil {
			return sp, fmt.Errorf("--etfs %s: %v", key, err)
		}
	}
	if (sp.typ == etfsDir || sp.typ == etfsDirSubs) != st.IsDir() {
		return sp, fmt.Errorf("--etfs %s: type %s does not fit host file %s", key, sp.typ, rest)
	}
	if sp.windowed && (sp.typ == etfsDir || sp.typ == etfsDirSubs) {
		return sp, fmt.Errorf("--etfs %s: a directory takes no window", key)
	}
	return sp, nil
}

// errText is an error's reason without the path os errors repeat.
func errText(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err.Error()
	}
	return err.Error()
}
