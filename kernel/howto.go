package kernel

import (
	"fmt"
	"os"
	"runtime/debug"
	"time"

	"golang.org/x/sys/unix"
)

// Boot flags in boothowto (AB_*), NetBSD's values.
const (
	AB_NORMAL  = 0
	AB_QUIET   = 0x10000
	AB_VERBOSE = 0x20000 // show verbose messages (aprint_verbose) on the console
	AB_SILENT  = 0x40000
	AB_DEBUG   = 0x80000
)

// BootHowto returns the kernel's boothowto (rump_boot_gethowto).
func (k *Kernel) BootHowto() int { return int(k.howto.Load()) }

// SetBootHowto replaces boothowto (rump_boot_sethowto). Unlike rump, it
// may be called after boot too: AB_VERBOSE takes effect at the next
// message.
func (k *Kernel) SetBootHowto(howto int) { k.howto.Store(int32(howto)) }

func (k *Kernel) verbose() bool { return k.howto.Load()&AB_VERBOSE != 0 }

// Version is the kernel's numeric version as rump_getversion reports it:
// __NetBSD_Version__ of the release rumpfs follows (MMmmrrpp00).
const Version = 1001000000

// GetVersion returns Version (rump_getversion).
func GetVersion() int { return Version }

// Banner is the line a kernel prints first at boot.
func Banner() string {
	return fmt.Sprintf("rumpfs: %s %s rump kernel (version %d)", OSType, OSRelease, Version)
}

// Panic is a kernel panic that cannot be contained: the message goes to the
// console and the message buffer and the process ends as RB_DUMP ends it,
// with no sync. Panics inside system calls are contained (EIO and a
// read-only mount) and do not come here.
func (k *Kernel) Panic(format string, args ...any) {
	k.Warnf("panic: "+format, args...)
	k.halted.Store(true)
	k.dump()
}

// dump ends the process the way a panic does. With a test's Config.Abort
// that returns, the caller goes on.
func (k *Kernel) dump() {
	k.Warnf("rump kernel dumping: no sync")
	k.cfg.Abort()
}

// abortProcess is the default Config.Abort: SIGABRT with the Go runtime
// told to crash, so the process dies of the signal with a stack dump and a
// core where the host's core limit allows.
func abortProcess() {
	debug.SetTraceback("crash")
	unix.Kill(os.Getpid(), unix.SIGABRT)
	// The signal is asynchronous; should it not end us, still not return.
	time.Sleep(time.Second)
	os.Exit(134)
}
