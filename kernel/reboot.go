package kernel

import (
	"slices"

	"golang.org/x/sys/unix"
)

// Reboot flags, NetBSD's values.
const (
	RB_AUTOBOOT = 0
	RB_NOSYNC   = 0x4
	RB_HALT     = 0x8
	RB_DUMP     = 0x100
)

// Reboot halts the kernel as l (cpu_reboot in rump). It says "rump kernel
// halting...", then:
//   - RB_DUMP (alone or with other flags) ends the process as a panic does,
//     through Config.Abort: no sync, no hooks, a non-zero status;
//   - otherwise, unless RB_NOSYNC, the fini hooks run: the VFS syncs every
//     read-write mount, waits for buffers, unmounts everything in reverse
//     mount order and closes backing files;
//   - shutdown hooks run next, and "rump kernel halted";
//   - with RB_HALT the host process goes on; without it Config.Exit is
//     called (status 1 when a fini hook failed), as rump exits.
//
// Only root may reboot (EPERM). A second Reboot is a no-op.
func (k *Kernel) Reboot(l *LWP, howto int) error {
	if l == nil {
		l = k.lwp0
	}
	if e := k.Authorize(l.Cred(), ActionReboot); e != 0 {
		return e
	}
	if !k.halted.CompareAndSwap(false, true) {
		return nil
	}
	k.Printf("rump kernel halting...")
	if howto&RB_DUMP != 0 {
		k.dump()
		return nil
	}
	var first error
	k.hookMu.Lock()
	finis := slices.Clone(k.finis)
	shut := slices.Clone(k.shutdown)
	k.hookMu.Unlock()
	if howto&RB_NOSYNC == 0 {
		l.Schedule()
		for _, f := range finis {
			if err := f(l); err != nil && first == nil {
				first = err
			}
		}
		l.Unschedule()
	}
	for _, f := range shut {
		f(howto)
	}
	if howto&RB_HALT != 0 {
		k.Printf("rump kernel halted (with RB_HALT, not exiting)")
		return first
	}
	k.Printf("rump kernel halted")
	code := 0
	if first != nil {
		code = 1
	}
	k.cfg.Exit(code)
	return first
}

// ErrHalted is returned by entry points after the kernel halted.
const ErrHalted = unix.ENXIO
