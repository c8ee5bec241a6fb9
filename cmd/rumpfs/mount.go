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
	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/p2k"
	"github.com/rumpfs/rumpfs/vfs"
	"github.com/spf13/pflag"
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
	trace              string
	cacheBytes         int64 // buffer cache bound
	acls               bool  // the mounted file system stores POSIX ACLs
}

func cmdMount(args []string) int {
	fl := pflag.NewFlagSet("mount", pflag.ContinueOnError)
	fl.SortFlags = false
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
	fstype := fl.StringP("type", "t", "", "file system type (ffs/ufs, ext2fs/ext2/ext3/ext4, rumpfs);\nprobed from the image when omitted; rumpfs with SOURCE none\nserves the kernel's in-memory root")
	fl.BoolP("foreground", "f", true, "stay in the foreground")
	daemon := fl.Bool("daemon", false, "run in the background: return once the mount is live,\nor exit with the server's error and status")
	etfsArgs := fl.StringArray("etfs", nil, "register a host file in the kernel before serving:\nKEY=HOSTPATH[:reg|blk|chr|dir|dirs][@begin,size], repeatable")
	verbose := fl.Bool("verbose", false, "show the kernel's boot and mount messages")
	trace := fl.String("trace", "", "write one line per vnode operation to `FILE`")
	stats := fl.Bool("stats", false, "print event counters and vnode counts at exit (SIGUSR1 prints them while running)")
	cache := fl.String("cache", "8MiB", "bound of the kernel's buffer cache (file system metadata), in `SIZE` units like 8MiB")
	fl.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: rumpfs mount [options] SOURCE MOUNTPOINT\n\n"+
			"Boots a kernel in this process, mounts SOURCE in it and serves it on\n"+
			"MOUNTPOINT through FUSE. SOURCE is an image (IMAGE, IMAGE@N, ...) or\n"+
			"none with -t rumpfs. Stop it with `fusermount -u MOUNTPOINT` (Linux),\n"+
			"`umount MOUNTPOINT` (macOS), or SIGINT/SIGTERM: every way out syncs\n"+
			"and halts the kernel, so all data is on the host when it exits 0.\n"+
			"A busy mount point is not unmounted by the first SIGINT; a second\n"+
			"one detaches it (lazy unmount). SIGTERM detaches a busy mount and\n"+
			"cuts its open files off.\n\n")
		fl.PrintDefaults()
	}
	if code, ok := parseArgs(fl, args, 2); !ok {
		return code
	}
	mc := &mountCmd{
		source: fl.Arg(0), mountpoint: fl.Arg(1), fstype: *fstype,
		opts: defaultMountOpts(), verbose: *verbose, stats: *stats, trace: *trace,
	}
	if err := parseMountOpts(&mc.opts, *optArgs); err != nil {
		return fail("mount: %v", err)
	}
	cb, err := humanize.ParseBytes(*cache)
	if err != nil || cb < 1<<20 || cb > 1<<40 {
		return fail("mount: --cache %q: want a size from 1MiB to 1TiB, like 16MiB", *cache)
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
}

// resolve checks the source and the type before anything boots.
func (mc *mountCmd) resolve() (plan, int) {
	var p plan
	name := ""
	if mc.fstype != "" {
		name = canonicalFSType(mc.fstype)
		if name == "" {
			return p, fail("mount: unknown file system type %q (known: %s)", mc.fstype, knownFSTypes())
		}
	} else if mc.source == "none" || mc.source == "rumpfs" {
		name = "rumpfs"
	}
	if name != "rumpfs" {
		path, _, _ := images.SplitSelector(mc.source)
		if _, err := os.Stat(path); err != nil {
			return p, fail("mount: image %s: %s", path, errText(err))
		}
		t, err := images.Resolve(mc.source)
		if err != nil {
			return p, fail("mount: %v", err)
		}
		p.target = t
		if name == "" {
			if t.FS == nil {
				return p, fail("mount: %s: no file system found in it; give -t TYPE", mc.source)
			}
			if t.FSType == "" {
				return p, fail("mount: %s holds %s, which rumpfs cannot mount", mc.source, t.FS.Name())
			}
			name = canonicalFSType(t.FSType)
			if name == "" {
				return p, fail("mount: %s holds %s, which rumpfs has no driver for", mc.source, t.FS.Name())
			}
		}
	}
	p.typ = vfs.LookupFSType(name)
	if p.typ == nil {
		return p, fail("mount: no driver for file system type %s in this build (drivers: %s)", name, driverTypes())
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

// run mounts and serves until unmounted; ready is nil in the foreground.
func (mc *mountCmd) run(ready *daemonNotifier) int {
	defer ready.failed()
	// Until the kernel has the image mounted, SIGINT and SIGTERM stop
	// the command at once (stopOnSignals); from then on they wait in
	// this channel until the mount is served, and end in a clean halt.
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGUSR1)
	defer signal.Stop(sigs)
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

	k, err := kernel.Boot(kernel.Config{Verbose: mc.verbose, BufCacheBytes: mc.cacheBytes, Console: escapingWriter{os.Stderr}})
	if err != nil {
		return fail("mount: %v", err)
	}
	l, err := k.Rfork(nil, kernel.RFCFDG)
	if err != nil {
		k.Reboot(nil, kernel.RB_HALT)
		return fail("mount: %v", err)
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

	root, msg := mc.prepareKernel(l, p)
	if msg != "" {
		return failHalt("mount: %s", msg)
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
						fmt.Fprintf(os.Stderr, "rumpfs: mount: %s is busy; interrupt again to detach it (lazy unmount)\n", mnt)
					}
				case interrupts == 2:
					if err := detach(mnt); err != nil {
						fmt.Fprintf(os.Stderr, "rumpfs: mount: detach %s: %v\n", mnt, err)
					} else {
						fmt.Fprintf(os.Stderr, "rumpfs: mount: detached %s; exiting once its open files are closed (interrupt again to cut them off)\n", mnt)
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
	blk := etfsSpec{key: imageKey, hostPath: t.HostPath, typ: etfsBlk, windowed: true, begin: t.Begin, size: t.Size}
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
		if e == unix.EROFS {
			msg += " (it can only be mounted read-only: the image, or the driver, allows no writes; use -o ro)"
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
	return os.Stderr.Write(p)
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
	o := etfs.Options{Size: etfs.EndOff, ReadOnly: ro}
	if sp.windowed {
		o.Begin, o.Size = sp.begin, sp.size
	}
	e := etfs.Of(k)
	if e == nil {
		return fmt.Errorf("the kernel has no VFS")
	}
	return e.RegisterOpts(sp.key, sp.hostPath, typ, o)
}
