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

// Reboot halts the kernel as l (cpu_reboot in rump). RB_DUMP stops with no
// sync at all. Otherwise, unless RB_NOSYNC, the fini hooks run: the VFS
// syncs every read-write mount, waits for buffers, unmounts everything in
// reverse mount order and closes backing files. Shutdown hooks run next.
// With RB_HALT the host process goes on; without it Config.Exit(0) is
// called, as rump exits. Only root may reboot (EPERM). A second Reboot is
// a no-op.
func (k *Kernel) Reboot(l *LWP, howto int) error {
	if l == nil {
		l = k.lwp0
	}
	if e := Authorize(l.Cred(), ActionReboot); e != 0 {
		return e
	}
	if !k.halted.CompareAndSwap(false, true) {
		return nil
	}
	var first error
	if howto&RB_DUMP == 0 {
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
		k.Printf("rump kernel halted")
	} else {
		k.Printf("rump kernel dumped: no sync")
	}
	if howto&RB_HALT == 0 {
		code := 0
		if first != nil {
			code = 1
		}
		k.cfg.Exit(code)
	}
	return first
}

// ErrHalted is returned by entry points after the kernel halted.
const ErrHalted = unix.ENXIO
