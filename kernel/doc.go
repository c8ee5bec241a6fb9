// Package kernel is the bottom of rumpfs: a small kernel that boots inside an
// ordinary Go process, the way NetBSD's rump kernel boots inside a host
// process (sys/rump/librump/rumpkern).
//
// It owns:
//   - boot and halt (Boot, Kernel.Reboot) and the components linked in by
//     blank imports (RegisterComponent), initialised by class in the rump
//     order KERN, VFS, NET, DEV, KERN_VFS, POSTINIT, SYSCALL;
//   - modules (RegisterModule, ModuleLoad, ModuleUnload, ModuleInit,
//     ModuleFini, Modstat): file system drivers are modules of class VFS
//     with their requirements, initialised by class at boot and held by
//     every mount made from them;
//   - virtual CPUs: an LWP must hold one (LWP.Schedule) to run kernel code,
//     so at most NCPU LWPs compute inside the kernel at once; blocking host
//     calls give it back (LWP.BlockBegin / LWP.BlockEnd);
//   - processes and LWPs (proc0/lwp0, initproc, Rfork, NewLWP, ReleaseLWP,
//     AllBetsAreOffSetID) and their resource limits (Getrlimit,
//     Setrlimit; RLIMIT_NOFILE is enforced by the VFS's descriptor table);
//   - credentials and kauth (CredCreate, VAccess; Kernel.Authorize asks
//     the listeners of the action's scope, ListenScope adds one; the suser
//     secmodel is the listener every kernel starts with);
//   - uio (UioSetup, UioGetResid, UioGetOff, UioFree, Uiomove);
//   - the sysctl tree (SysctlCreate, Sysctl, SysctlList): nodes with names
//     and numbers, typed leaves, descriptions; subsystems add their own;
//   - event counters, and the message buffer (dmesg).
//
// Where rumpfs deliberately differs from rump.c:
//   - without RUMP_NCPU a kernel has as many virtual CPUs as the host
//     (rumpuser's default is 2): a file server should use the machine.
//   - RUMP_NCPU below 1 (and an explicit Config.NCPU below 1) is clamped
//     to 1 with a warning where rump panics, and any bad RUMP_* value is a
//     warning and the default: a typo in the environment should not stop
//     a file server from starting.
//   - boothowto may be changed after boot (SetBootHowto); AB_VERBOSE
//     decides at each message whether it reaches the console.
//   - the halt messages ("rump kernel halting...", "halted") are verbose
//     messages: always in dmesg, on the console only with AB_VERBOSE, so
//     that every unmount of the command line does not print them. The
//     dump message is always shown.
//   - RB_DUMP ends the process through Config.Abort (SIGABRT by default:
//     a non-zero status and a core where allowed) rather than
//     rumpuser_exit(RUMPUSER_PANIC); tests substitute a function.
//   - the package-level Authorize is the suser secmodel alone, for callers
//     with no kernel at hand; kernel code asks Kernel.Authorize.
//   - kauth has no NOCRED/FSCRED short cut: kernel work runs as RootCred,
//     which suser allows. With every listener deferring the answer is
//     EPERM even when no secmodel is left (NetBSD then allows).
//   - the usermount policy (vfs) lets a user mount on a directory they
//     own and unmount what they mounted; rumpfs has no nosuid/nodev flags
//     to force on such mounts, and the device must be readable (and
//     writable unless read-only) by the user.
//   - sysctl node names cannot be numbers (a number always names a node
//     by its number), reading an inner node is EISDIR rather than a query,
//     and values are Go values (int64, string, bool, any struct) rather
//     than bytes.
//   - builtin modules are initialised right after the KERN components,
//     before the VFS (rump does it after KERN_VFS): the root file system
//     is a module too and the VFS mounts it at boot. Go loads no code at
//     run time, so ModuleLoad loads only modules linked in (registered)
//     or given to ModuleInit; unloading de-initialises the module in
//     that kernel only, and other kernels of the process keep theirs.
//     A module registered after a kernel booted is known to it, not
//     loaded, until asked for.
//
// Go has no thread-local curlwp: the LWP is passed explicitly as the first
// argument of every kernel entry point. Errors inside the kernel are
// unix.Errno values in host numbering.
//
// Lock order (outermost first):
//
//	Kernel.bootMu
//	  modules.mu (module Init and Fini run under it)
//	  Kernel.procMu
//	    Proc.mu
//	Kernel.evMu, Kernel.sysctlM, kauth.mu, msgbuf.mu (leaves)
//
// A virtual CPU is not a lock in this order: it is released around every
// blocking wait, so holding one never blocks another LWP's progress on a
// lock.
package kernel
