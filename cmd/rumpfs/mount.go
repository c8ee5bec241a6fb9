package main

import (
	"errors"
	"fmt"
	humanize "github.com/dustin/go-humanize"
	"io"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/rumpfs/rumpfs/etfs"
	"github.com/rumpfs/rumpfs/images"
	"github.com/rumpfs/rumpfs/internal/textesc"
	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/p2k"
	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

// The life of a mount (rclone's mountlib split): this file checks the
// request, boots the kernel, mounts the image inside it, serves the chosen
// vnode through p2k, and on every way out (external unmount, SIGINT,
// SIGTERM, SIGHUP, a failure after boot) closes the bridge and halts the
// kernel with a sync, so that everything written is on the host before
// the process exits. The per-OS parts (mount table, FUSE availability,
// forced unmount) are in mount_<os>.go, daemon mode in mount_daemon.go.

func init() {
	register("mount", "mount a file system image (or the kernel's root) on the host through FUSE", cmdMount)
}

// Where the image (and an external journal) are registered and mounted
// inside the kernel.
const (
	imageKey   = "/dev/rumpfs0"
	journalKey = "/dev/rumpfs0journal"
	kernelMntp = "/mnt"
)

// mountStdout receives --stats output (a variable for tests).
var mountStdout io.Writer = os.Stdout

// mountCmd is one parsed rumpfs mount request.
type mountCmd struct {
	source, mountpoint string
	fstype             string // as given with -t, "" to probe
	opts               mountOpts
	etfs               []etfsSpec
	verbose, stats     bool
	quiet              bool   // nothing printed once live
	pidfile, logFile   string // --pidfile, --log
	trace              string
	cacheBytes         int64  // buffer cache bound
	acls               bool   // the mounted file system stores POSIX ACLs
	name               string // the command, for messages ("" is mount)
}

// cmdName is the command messages are prefixed with.
func (mc *mountCmd) cmdName() string {
	if mc.name == "" {
		return "mount"
	}
	return mc.name
}

func cmdMount(args []string) int {
	fl := newFlags("mount", helpText{
		usage: "rumpfs mount [options] SOURCE MOUNTPOINT",
		about: "Boots a kernel in this process, mounts SOURCE in it and serves it on\n" +
			"MOUNTPOINT through FUSE. SOURCE is an image (IMAGE, IMAGE@N, IMAGE@NAME,\n" +
			"IMAGE%DISKLABEL:x%, IMAGE%OFFSET:off,size%) or none with -t rumpfs.\n" +
			"The type is probed unless -t gives it. A driver that can only read\n" +
			"(ext2fs today) mounts read-only, with a notice; so does an image\n" +
			"shorter than its file system, with a warning.\n\n" +
			"It stays in the foreground and prints one line once the mount is live\n" +
			"(-q: nothing); --daemon detaches instead. Stop it with\n" +
			"`fusermount -u MOUNTPOINT` (Linux), `umount MOUNTPOINT` (macOS), or\n" +
			"SIGINT/SIGTERM: every way out syncs and halts the kernel, so all data is\n" +
			"on the host when it exits 0. A busy mount point is not unmounted by the\n" +
			"first SIGINT; a second one detaches it (lazy unmount). SIGTERM detaches\n" +
			"a busy mount and cuts its open files off.",
		examples: "  rumpfs mount disk.ffs /mnt/x                # read-write FFS, Ctrl-C unmounts\n" +
			"  rumpfs mount -o ro disk.img@2 /mnt/x        # partition 2, read-only\n" +
			"  rumpfs mount sd.img@linuxdata /mnt/x        # GPT partition by name (ext4: read-only)\n" +
			"  rumpfs mount --daemon --pidfile /run/x.pid --log /var/log/x.log disk.ffs /mnt/x\n" +
			"  rumpfs mount -t rumpfs --etfs /f=host.txt none /mnt/x   # the kernel's root",
	})
	optArgs := fl.StringArrayP("options", "o", nil, "mount options, comma-separated, repeatable:\n"+
		"ro, rw, uid=N, gid=N, umask=OOO,\n"+
		"allow_other (users other than the one mounting may use the mount;\n"+
		"implies default_permissions),\n"+
		"default_permissions (the host kernel checks permissions as well, with\n"+
		"the caller's groups, and refuses opens of FIFOs and sockets that never\n"+
		"reach rumpfs; the kernel inside checks every change either way),\n"+
		"no_default_permissions (allow_other without the host's checks: rumpfs\n"+
		"alone decides, and anyone may open FIFOs and sockets),\n"+
		"grpid or bsdgroups (new files take the directory's group),\n"+
		"nogrpid or sysvgroups (the creator's group unless the directory is\n"+
		"setgid; the default on Linux),\n"+
		"fsname=NAME, subtype=NAME, debug (FUSE protocol trace on stderr),\n"+
		"nosuid, nodev, noexec,\n"+
		"journal_path=FILE (ext3/ext4: the external journal's image, read-only,\n"+
		"needed to replay a file system whose external journal needs recovery),\n"+
		"norecovery (ext3/ext4: no journal replay; the image as it is)")
	fstype := fl.StringP("type", "t", "", "file system type (ffs/ufs, ext2fs/ext2/ext3/ext4, msdos/vfat/fat,\ncd9660/iso9660, rumpfs);\nprobed from the image when omitted; rumpfs with SOURCE none\nserves the kernel's in-memory root")
	flagBool(fl, "foreground", "f", "stay in the foreground (the default; accepted as other FUSE servers take it)")
	daemon := flagBool(fl, "daemon", "", "run in the background: print the server's pid once the mount\nis live, or exit with the server's error and status")
	pidfile := fl.String("pidfile", "", "write the server's pid to `FILE` once the mount is live\n(removed when it exits)")
	logFile := fl.String("log", "", "append errors, kernel messages and --stats to `FILE`\n(with --daemon, where they would go to the terminal)")
	quiet := flagBool(fl, "quiet", "q", "print nothing once the mount is live (errors still)")
	etfsArgs := fl.StringArray("etfs", nil, "register a host file in the kernel before serving:\nKEY=HOSTPATH[:reg|blk|chr|dir|dirs][@begin,size], repeatable")
	verbose := flagBool(fl, "verbose", "", "show the kernel's boot and mount messages")
	trace := fl.String("trace", "", "write one line per vnode operation to `FILE`")
	stats := flagBool(fl, "stats", "", "print event counters and vnode counts at exit (SIGUSR1 prints them while running)")
	cache := fl.String("cache", "8MiB", "bound of the kernel's buffer cache (file system metadata), in `SIZE` units like 8MiB")
	if code, ok := parseArgs(fl, args, 2); !ok {
		return code
	}
	if *daemon && fl.Changed("foreground") {
		return usageError("mount", exitUsage, "--daemon and --foreground contradict each other")
	}
	mc := &mountCmd{
		source: fl.Arg(0), mountpoint: fl.Arg(1), fstype: *fstype,
		opts: defaultMountOpts(), verbose: *verbose, stats: *stats, trace: *trace,
		quiet: *quiet, pidfile: *pidfile, logFile: *logFile,
	}
	// Malformed options are usage errors (status 2), like flags.
	if err := parseMountOpts(&mc.opts, *optArgs); err != nil {
		return usageError("mount", exitUsage, "%v", err)
	}
	cb, err := humanize.ParseBytes(*cache)
	if err != nil || cb < 1<<20 || cb > 1<<40 {
		return usageError("mount", exitUsage, "--cache %q: want a size from 1MiB to 1TiB, like 16MiB", *cache)
	}
	mc.cacheBytes = int64(cb)
	for _, s := range *etfsArgs {
		sp, err := parseEtfsSpec(s)
		if err != nil {
			return fail("mount: %v", err)
		}
		mc.etfs = append(mc.etfs, sp)
	}
	if *daemon && !isDaemonChild() {
		return daemonize(args)
	}
	return mc.run(takeDaemonNotifier())
}

// plan says what the kernel mounts and serves.
type plan struct {
	typ    *vfs.FSType
	target *images.Target // nil when serving the kernel's root
	// notices are said before mounting (not with -q): a read-only
	// driver's mount made read-only; warnings are said even with -q.
	notices, warnings []string
	// missing bytes of a truncated image follow its window on the device.
	missing int64
}

// truncation describes a truncated image's shortfall.
func truncation(f *images.FS, have int64) string {
	return fmt.Sprintf("it holds %s of the %s its %s file system spans", humanize.IBytes(uint64(have)), humanize.IBytes(uint64(f.Span)), f.Variant)
}

// resolve checks the source and the type before anything boots.
func (mc *mountCmd) resolve() (plan, int) {
	fail := func(format string, args ...any) int { return fail(mc.cmdName()+": "+format, args...) }
	var p plan
	name := ""
	if mc.fstype != "" {
		name = canonicalFSType(mc.fstype)
		if name == "" {
			return p, fail("unknown file system type %q (known: %s)", mc.fstype, knownFSTypes())
		}
	} else if mc.source == "none" || mc.source == "rumpfs" {
		name = "rumpfs"
	}
	if name != "rumpfs" {
		path, _, _ := images.SplitSelector(mc.source)
		if _, err := os.Stat(path); err != nil {
			return p, fail("image %s: %s", path, errText(err))
		}
		t, err := images.Resolve(mc.source)
		if err != nil {
			return p, fail("%v", err)
		}
		p.target = t
		if c := t.Container; c != nil {
			return p, fail("mount: %s is a %s image; mounting containers is not supported yet (rumpfs parts and info read them; qemu-img convert -O raw makes a mountable copy)", path, c.Format)
		}
		if msg := mismatch(mc.source, t, name); msg != "" {
			return p, fail("%s", msg)
		}
		if name == "" {
			name = canonicalFSType(t.FSType)
			if name == "" {
				return p, fail("%s holds %s, which rumpfs has no driver for", mc.source, t.FS.Variant)
			}
		}
	}
	p.typ = vfs.LookupFSType(name)
	if p.typ == nil && mc.fstype == "" && p.target != nil {
		return p, fail("%s holds %s: this build has no %s driver (drivers: %s)", mc.source, p.target.FS.Variant, name, driverTypes())
	}
	if p.typ == nil {
		return p, fail("no driver for file system type %s in this build (drivers: %s)", name, driverTypes())
	}
	if t := p.target; t != nil && t.FS != nil && t.FS.Missing > 0 {
		// A truncated acquisition: served read-only, the missing
		// bytes answered with EIO, rather than refused.
		if mc.opts.rwAsked {
			return p, fail("%s is truncated (%s), so it can only be mounted read-only (drop -o rw)", mc.source, truncation(t.FS, t.Size))
		}
		mc.opts.readOnly = true
		p.missing = t.FS.Missing
		p.warnings = append(p.warnings, fmt.Sprintf("warning: %s is truncated (%s); mounted read-only, reads past its end fail with EIO", mc.source, truncation(t.FS, t.Size)))
	}
	if p.typ.ReadOnly && !mc.opts.readOnly {
		what := p.typ.Name
		if t := p.target; t != nil && t.FS != nil {
			what = t.FS.Variant
		}
		if mc.opts.rwAsked {
			return p, fail("%s: %s can only be mounted read-only: the %s driver cannot write yet (drop -o rw)", mc.source, what, p.typ.Name)
		}
		mc.opts.readOnly = true
		p.notices = append(p.notices, fmt.Sprintf("%s: %s mounted read-only: the %s driver cannot write yet", mc.source, what, p.typ.Name))
	}
	if p.target != nil && os.Getenv("GOGC") == "" {
		// An image server's heap is mostly vnodes and metadata the
		// host keeps looked up: collect at 50% growth rather than
		// 100% to keep the server small (about 64 MiB for a 50,000
		// file walk instead of 80).
		debug.SetGCPercent(50)
	}
	if p.target != nil && mc.opts.readOnly && os.Getenv("GOMEMLIMIT") == "" {
		// The live set of a read-only server is bounded by size (the
		// buffer cache, the vnode cache, go-fuse's request buffers:
		// about 20 MiB); a soft limit of the buffer cache plus 24 MiB
		// collects before garbage doubles that. Not on read-write
		// mounts: their bridge holds a vnode per file the host knows,
		// and a live set past the limit would keep the collector
		// running (untar of 50,000 files took minutes).
		debug.SetMemoryLimit(mc.cacheBytes + 24<<20)
	}
	return p, 0
}

// mismatch says why target t cannot be mounted as type name ("" when
// probing), or "": a partitioned disk with no partition selected, an image
// holding another file system than -t says, nothing recognised.
func mismatch(source string, t *images.Target, name string) string {
	if t.FS != nil {
		if name != "" && canonicalFSType(t.FS.Type) != name {
			alt := "drop -t: the type is probed"
			if c := canonicalFSType(t.FS.Type); c != "" {
				alt += ", or give -t " + c
			}
			return fmt.Sprintf("%s holds %s, not %s (%s)", source, t.FS.Name(), name, alt)
		}
		if t.FSType == "" && name == "" {
			return fmt.Sprintf("%s holds %s, which rumpfs cannot mount", source, t.FS.Name())
		}
		return ""
	}
	if t.Partition == nil && t.Begin == 0 && len(t.Layout.Partitions) > 0 {
		return partitionedDisk(source, t.Layout)
	}
	if name == "" {
		return fmt.Sprintf("%s: no file system found in it; give -t TYPE", source)
	}
	return ""
}

// partitionedDisk is the answer to mounting a whole partitioned disk: its
// partitions, with the selectors that pick each.
func partitionedDisk(source string, l *images.Layout) string {
	var schemes, parts []string
	for _, t := range l.Tables {
		schemes = append(schemes, strings.ToUpper(t.Scheme))
	}
	suggest := ""
	listed := 0
	for _, p := range l.Partitions {
		if p.Extended || p.Raw {
			continue
		}
		if listed == 8 {
			parts = append(parts, "...")
			break
		}
		listed++
		sel := fmt.Sprintf("%s@%d", source, p.Index)
		if p.Name != "" && !strings.ContainsAny(p.Name, "@%/ \t") {
			sel += " or " + source + "@" + p.Name
		}
		parts = append(parts, fmt.Sprintf("%s (%s)", sel, p.FS.Name()))
		if suggest == "" && p.FS != nil && p.FS.Driver {
			suggest = sel
		}
	}
	msg := fmt.Sprintf("%s is a partitioned disk (%s), not one file system; its partitions: %s",
		source, strings.Join(schemes, ", "), strings.Join(parts, ", "))
	if suggest != "" {
		msg += "; use " + suggest
	}
	return msg + " (rumpfs parts " + source + " lists them)"
}

// run mounts and serves until unmounted; ready is nil in the foreground.
func (mc *mountCmd) run(ready *daemonNotifier) int {
	defer ready.failed()
	// Until the kernel has the image mounted, SIGINT and SIGTERM stop
	// the command at once (stopOnSignals); from then on they wait in
	// this channel until the mount is served, and end in a clean halt.
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGUSR1)
	defer signal.Stop(sigs)
	var logOnly io.Writer = io.Discard // the --log file alone
	if mc.logFile != "" {
		f, err := os.OpenFile(mc.logFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return fail("mount: --log %s: %s", mc.logFile, errText(err))
		}
		defer f.Close()
		lw := &stampWriter{w: f}
		logOnly = lw
		stdout, stderr := mountStdout, errOut
		mountStdout, errOut = io.MultiWriter(mountStdout, lw), io.MultiWriter(errOut, lw)
		defer func() { mountStdout, errOut = stdout, stderr }()
	}
	mnt, err := filepath.Abs(mc.mountpoint)
	if err != nil {
		return fail("mount: mount point %s: %v", mc.mountpoint, err)
	}
	if msg := checkMountpoint(mnt, mc.opts.subtype); msg != "" {
		return fail("mount: %s", msg)
	}
	if msg := checkFUSE(); msg != "" {
		return fail("mount: %s", msg)
	}
	if msg := checkUnprivileged(mnt, mc.opts.allowOther); msg != "" {
		return fail("mount: %s", msg)
	}
	p, st := mc.resolve()
	if st != 0 {
		return st
	}
	var trace *os.File
	if mc.trace != "" {
		if trace, err = os.Create(mc.trace); err != nil {
			return fail("mount: trace file: %v", err)
		}
		defer trace.Close()
	}

	for _, n := range p.notices {
		if !mc.quiet {
			fmt.Fprintf(errOut, "rumpfs: mount: %s\n", textesc.Line(n))
		}
	}
	for _, w := range p.warnings {
		fmt.Fprintf(errOut, "rumpfs: mount: %s\n", textesc.Line(w))
	}
	k, l, root, msg := mc.bootImage(p)
	if msg != "" {
		return fail("mount: %s", msg)
	}
	var bridge *p2k.Bridge
	var vnodes string
	// halt is how every path after boot ends.
	halt := func() error {
		if bridge != nil {
			vnodes = vnodeCounts(k, bridge)
			bridge.Close()
		}
		return k.Reboot(l, kernel.RB_HALT)
	}
	failHalt := func(format string, args ...any) int {
		halt()
		return fail(format, args...)
	}
	mc.acls = vfs.ACLSupported(l, root)
	popts := p2k.Options{
		ReadOnly: mc.opts.readOnly,
		UID:      mc.opts.uid, GID: mc.opts.gid, Umask: mc.opts.umask,
		DefaultPermissions: mc.opts.hostChecks(),
	}
	// The host caches entries, attributes and pages for an hour on
	// every mount: every change comes through it (p2k's Options).
	popts.EntryTimeout, popts.AttrTimeout, popts.NegativeTimeout = time.Hour, time.Hour, time.Hour
	if trace != nil {
		popts.Trace = trace
	}
	bridge, err = p2k.New(k, root, popts)
	if err != nil {
		releaseVnode(l, root)
		return failHalt("mount: %v", err)
	}

	fuseLog := &fuseLogWriter{}
	mo := mc.fuseOptions()
	mo.Logger = log.New(fuseLog, "", log.LstdFlags)
	srv, err := fuse.NewServer(bridge, mnt, mo)
	if err != nil {
		return failHalt("mount: %s", explainMountError(mnt, err))
	}
	served := make(chan struct{})
	go func() {
		srv.Serve()
		close(served)
	}()
	if err := waitMount(srv, mnt); err != nil {
		srv.Unmount()
		<-served
		return failHalt("mount: %s: %v", mnt, err)
	}
	if mc.opts.readOnly {
		raiseReadahead(mnt)
	}
	if mc.pidfile != "" {
		if err := os.WriteFile(mc.pidfile, fmt.Appendf(nil, "%d\n", os.Getpid()), 0o644); err != nil {
			srv.Unmount()
			<-served
			return failHalt("mount: --pidfile %s: %s", mc.pidfile, errText(err))
		}
		defer os.Remove(mc.pidfile)
	}
	live := textesc.Line(fmt.Sprintf("rumpfs: mount: serving %s on %s (%s)", mc.source, mnt, mc.describe(p)))
	if ready == nil && !mc.quiet {
		fmt.Fprintf(os.Stdout, "%s; fusermount -u %s or Ctrl-C stops it\n", live, mnt)
	}
	fmt.Fprintf(logOnly, "%s, pid %d\n", live, os.Getpid())
	ready.ready()

	interrupts := 0
	for waiting := true; waiting; {
		select {
		case <-served:
			waiting = false
		case s := <-sigs:
			switch s {
			case unix.SIGUSR1:
				printStats(mountStdout, k, vnodeCounts(k, bridge))
				writeHeapProfile()
			case unix.SIGINT:
				interrupts++
				switch {
				case interrupts == 1:
					if err := srv.Unmount(); err != nil {
						fmt.Fprintf(errOut, "rumpfs: mount: %s is busy; interrupt again to detach it (lazy unmount)\n", mnt)
					}
				case interrupts == 2:
					if err := detach(mnt); err != nil {
						fmt.Fprintf(errOut, "rumpfs: mount: detach %s: %v\n", mnt, err)
					} else {
						// The connection ends when the last file
						// closes; the host kernel may report that end
						// to go-fuse's readers as an abort
						// (ECONNABORTED), which is not news.
						fuseLog.quiet.Store(true)
						fmt.Fprintf(errOut, "rumpfs: mount: detached %s; exiting once its open files are closed (interrupt again to cut them off)\n", mnt)
					}
				default:
					fuseLog.quiet.Store(true)
					cutOff(mnt)
				}
			default: // SIGTERM, SIGHUP: end now, cleanly.
				if err := srv.Unmount(); err != nil {
					fuseLog.quiet.Store(true)
					cutOff(mnt)
				}
			}
		}
	}
	if err := halt(); err != nil {
		return fail("mount: halt: %v", err)
	}
	if mc.stats {
		printStats(mountStdout, k, vnodes)
	}
	return 0
}

// bootImage boots a kernel and mounts plan p's image in it at kernelMntp
// (or readies the kernel's root when p has no image), and returns the
// referenced vnode to work on: the one way mount and the fs-utils commands
// get a kernel with an image. On failure the kernel is halted and msg says
// why.
func (mc *mountCmd) bootImage(p plan) (k *kernel.Kernel, l *kernel.LWP, root *vfs.Vnode, msg string) {
	// The kernel's console names the image as the user did, not by its
	// key in the kernel.
	names := []string{imageKey, mc.source}
	if mc.opts.journalPath != "" {
		names = append([]string{journalKey, mc.opts.journalPath}, names...)
	}
	console := escapingWriter{w: errOut, rename: strings.NewReplacer(names...)}
	k, err := kernel.Boot(kernel.Config{Verbose: mc.verbose, BufCacheBytes: mc.cacheBytes, Console: console})
	if err != nil {
		return nil, nil, nil, err.Error()
	}
	l, err = k.Rfork(nil, kernel.RFCFDG)
	if err != nil {
		k.Reboot(nil, kernel.RB_HALT)
		return nil, nil, nil, err.Error()
	}
	root, msg = mc.prepareKernel(l, p)
	if msg != "" {
		k.Reboot(l, kernel.RB_HALT)
		return nil, nil, nil, msg
	}
	return k, l, root, ""
}

// describe is the live line's note on what is served: type and mode.
func (mc *mountCmd) describe(p plan) string {
	what := p.typ.Name
	if t := p.target; t != nil && t.FS != nil && canonicalFSType(t.FS.Type) == p.typ.Name {
		what = t.FS.Variant
	}
	if mc.opts.readOnly {
		return what + ", read-only"
	}
	return what + ", read-write"
}

// prepareKernel registers the etfs keys, mounts the image inside the kernel
// when there is one, and returns the referenced vnode to serve, or a
// message.
func (mc *mountCmd) prepareKernel(l *kernel.LWP, p plan) (*vfs.Vnode, string) {
	k := l.Kernel()
	for _, sp := range mc.etfs {
		if err := etfsRegister(k, sp, mc.opts.readOnly); err != nil {
			return nil, fmt.Sprintf("--etfs %s=%s: %v", sp.key, sp.hostPath, err)
		}
	}
	if p.target == nil {
		if g := mc.opts.bsdGroups; g != nil {
			vfs.Of(k).RootMount().SetBSDGroups(*g)
		}
		signalsTaken.Store(true)
		root := vfs.Of(k).Root()
		vfs.Vref(root)
		return root, ""
	}
	t := p.target
	blk := etfsSpec{key: imageKey, hostPath: t.HostPath, typ: etfsBlk, windowed: true, begin: t.Begin, size: t.Size, missing: p.missing}
	if err := etfsRegister(k, blk, mc.opts.readOnly); err != nil {
		if strings.Contains(err.Error(), t.HostPath) {
			return nil, err.Error()
		}
		return nil, fmt.Sprintf("%s: %v", mc.source, err)
	}
	if e := vfs.Mkdir(l, kernelMntp, 0o755); e != 0 && e != unix.EEXIST {
		return nil, fmt.Sprintf("mkdir %s in the kernel: %v", kernelMntp, e)
	}
	opts := map[string]string{}
	if (mc.opts.journalPath != "" || mc.opts.noRecovery) && p.typ.Name != "ext2fs" {
		return nil, fmt.Sprintf("journal_path and norecovery are ext2fs (ext3/ext4) options, not %s ones", p.typ.Name)
	}
	if jp := mc.opts.journalPath; jp != "" {
		if err := images.CheckHostFile(jp); err != nil {
			return nil, fmt.Sprintf("journal_path: %v", err)
		}
		// The journal is only read, whatever the mount.
		if err := etfsRegister(k, etfsSpec{key: journalKey, hostPath: jp, typ: etfsBlk}, true); err != nil {
			return nil, fmt.Sprintf("journal_path=%s: %v", jp, err)
		}
		opts["journal_path"] = journalKey
	}
	if mc.opts.noRecovery {
		opts["norecovery"] = ""
	}
	flags := 0
	if mc.opts.readOnly {
		flags |= vfs.MNT_RDONLY
	}
	if g := mc.opts.bsdGroups; g != nil && *g {
		opts["grpid"] = ""
	} else if g != nil {
		opts["nogrpid"] = ""
	}
	seen := k.Dmesg()
	e := vfs.MountPath(l, p.typ.Name, imageKey, kernelMntp, flags, opts)
	if e == 0 {
		signalsTaken.Store(true)
	}
	if e != 0 {
		msg := fmt.Sprintf("%s: mount as %s: %v", mc.source, p.typ.Name, e)
		if why := driverReason(seen, k.Dmesg(), p.typ.Name); why != "" {
			msg = fmt.Sprintf("%s: mount as %s: %s (%v)", mc.source, p.typ.Name, why, e)
		}
		if e == unix.EROFS && mc.name == "" {
			msg += " (it can only be mounted read-only: the image, or the driver, allows no writes; use -o ro)"
		} else if e == unix.EROFS {
			msg += " (the image file, or the driver, allows no writes)"
		}
		return nil, msg
	}
	vp, e := lookupVnode(l, kernelMntp)
	if e != 0 {
		return nil, fmt.Sprintf("%s: root of the mounted file system: %v", mc.source, e)
	}
	return vp, ""
}

// driverReason is the driver's reason for refusing a mount: the last
// line it logged since the message buffer read before (dmesg lines are
// how every driver says why), without its "driver: source: " prefix.
func driverReason(before, after, driver string) string {
	logged := after
	if strings.HasPrefix(after, before) {
		logged = after[len(before):]
	}
	lines := strings.Split(strings.TrimSpace(logged), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		line := lines[i]
		if !strings.HasPrefix(line, driver+":") && !strings.HasPrefix(line, driver+" ") {
			continue
		}
		line = strings.TrimPrefix(strings.TrimPrefix(line, driver), ":")
		line = strings.TrimPrefix(strings.TrimSpace(line), imageKey+":")
		return strings.TrimSpace(line)
	}
	return ""
}

// lookupVnode returns the referenced vnode at path in the kernel, mount
// points crossed.
func lookupVnode(l *kernel.LWP, path string) (vp *vfs.Vnode, e unix.Errno) {
	if e = vfs.Enter(l); e != 0 {
		return nil, e
	}
	defer vfs.Leave(l, &e)
	res, e := vfs.Namei(l, nil, path, vfs.LOOKUP, vfs.Follow)
	if e != 0 {
		return nil, e
	}
	return res.Vp, 0
}

// releaseVnode drops a reference outside any other kernel entry.
func releaseVnode(l *kernel.LWP, vp *vfs.Vnode) {
	var e unix.Errno
	if e = vfs.Enter(l); e != 0 {
		return
	}
	defer vfs.Leave(l, &e)
	vfs.Vrele(l, vp)
}

// fuseOptions builds go-fuse's mount options (rclone's mount2 habit: in
// one place).
func (mc *mountCmd) fuseOptions() *fuse.MountOptions {
	o := mc.opts
	fsname := o.fsname
	if fsname == "" {
		fsname = mc.source
		if fsname == "none" {
			fsname = "rumpfs"
		}
	}
	mo := &fuse.MountOptions{
		MaxWrite:    1 << 20,
		Name:        o.subtype,
		FsName:      fsname,
		AllowOther:  o.allowOther,
		Debug:       o.debug,
		EnableLocks: false,
		DirectMount: os.Geteuid() == 0,
		// Replies come from memory, never from a file descriptor:
		// splicing them only adds a pipe (and fails past 1 MiB).
		DisableSplice: true,
	}
	if runtime.GOOS == "linux" && mc.acls {
		p2k.EnableACLs(mo)
	}
	if o.readOnly {
		mo.Options = append(mo.Options, "ro")
		mo.DirectMountFlags = readOnlyMountFlags
	}
	if o.hostChecks() {
		mo.Options = append(mo.Options, "default_permissions")
	}
	mo.ExtraCapabilities |= p2k.Capabilities
	mo.Options = append(mo.Options, o.hostFlags...)
	return mo
}

// fuseLogWriter passes go-fuse's log to stderr until the connection is
// cut off on purpose; after that, replies that cannot be sent are
// expected, not news.
type fuseLogWriter struct {
	quiet atomic.Bool
}

func (w *fuseLogWriter) Write(p []byte) (int, error) {
	if w.quiet.Load() {
		return len(p), nil
	}
	return errOut.Write(p)
}

// explainMountError turns a failed FUSE mount into one line with a hint.
func explainMountError(mnt string, err error) string {
	switch {
	case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
		return fmt.Sprintf("mount on %s: %v: permission denied (as a non-root user you need fusermount3 (fuse3), write access to the mount point, and user_allow_other in /etc/fuse.conf for allow_other)", mnt, err)
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENODEV):
		return fmt.Sprintf("mount on %s: %v (%s)", mnt, err, fuseHint)
	}
	return fmt.Sprintf("mount on %s: %v", mnt, err)
}

// vnodeCounts describes the vnodes in use while serving.
func vnodeCounts(k *kernel.Kernel, b *p2k.Bridge) string {
	total, free := vfs.Of(k).NumVnodes()
	return fmt.Sprintf("vnodes: %d (%d in use, %d free)\n%v", total, total-free, free, b.Stats())
}

// printStats prints event counters and vnode counts (rump_printevcnts and
// p2k's SIGINFO dump).
func printStats(w io.Writer, k *kernel.Kernel, vnodes string) {
	k.PrintEvcnts(w)
	fmt.Fprintln(w, vnodes)
}

// etfsRegister registers one --etfs key (or the image's block device);
// with ro the host file is opened O_RDONLY.
func etfsRegister(k *kernel.Kernel, sp etfsSpec, ro bool) error {
	typ, err := etfs.ParseType(string(sp.typ))
	if err != nil {
		return err
	}
	o := etfs.Options{Size: etfs.EndOff, ReadOnly: ro, Missing: sp.missing}
	if sp.windowed {
		o.Begin, o.Size = sp.begin, sp.size
	}
	e := etfs.Of(k)
	if e == nil {
		return fmt.Errorf("the kernel has no VFS")
	}
	return e.RegisterOpts(sp.key, sp.hostPath, typ, o)
}
