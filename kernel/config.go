package kernel

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// HostNCPU asks for as many virtual CPUs as the host has (RUMP_NCPU=host).
const HostNCPU = -1

// Config holds the boot knobs of a kernel. Zero values mean "the rump
// default", and the rump environment variables override those defaults
// (never an explicitly set field).
type Config struct {
	// NCPU is the number of virtual CPUs. 0 means RUMP_NCPU, or the
	// host's CPU count without it; HostNCPU means the host's CPU count.
	// Below 1 is 1 and above MaxCPUs is MaxCPUs, each with a warning.
	NCPU int
	// Verbose shows boot and verbose messages on Console (RUMP_VERBOSE);
	// it is AB_VERBOSE in Howto.
	Verbose bool
	// Howto is the initial boothowto (AB_* flags), as
	// rump_boot_sethowto sets it before boot.
	Howto int
	// NoThreads turns off background threads: no syncer, I/O inline
	// (RUMP_THREADS=0).
	NoThreads bool
	// MaxVnodes bounds the vnode cache (RUMP_NVNODES); default 8192.
	MaxVnodes int
	// MemLimit is the kernel's memory limit in bytes (RUMP_MEMLIMIT, with
	// k/m/g suffixes); 0 means none.
	MemLimit int64
	// BufCacheBytes bounds the buffer cache. 0 means 5% of MemLimit, or
	// 64 MiB without a limit (at least 1 MiB).
	BufCacheBytes int64
	// SyncInterval is the syncer's rhythm; default 30 s.
	SyncInterval time.Duration
	// Hostname defaults to rump-<pid>.<host>, the pid in five digits at
	// least, as rumpuser makes it.
	Hostname string
	// Console receives messages shown to the user; default os.Stderr.
	Console io.Writer
	// Exit is called by Reboot without RB_HALT, as rump exits the host
	// process; default os.Exit.
	Exit func(code int)
	// Abort ends the process the way a kernel panic does (RB_DUMP): no
	// sync, a non-zero status, a core where the host allows one. The
	// default raises SIGABRT.
	Abort func()
}

// MaxCPUs bounds the number of virtual CPUs (NetBSD's MAXCPUS).
const MaxCPUs = 1024

// resolve fills defaults and environment overrides. A bad value is never a
// boot error: it is a warning (returned, printed once the message buffer
// exists) and the default.
func (c Config) resolve() (Config, []string) {
	var warns []string
	warn := func(format string, args ...any) { warns = append(warns, fmt.Sprintf(format, args...)) }
	if c.NCPU == 0 {
		c.NCPU = HostNCPU
		if v, ok := os.LookupEnv("RUMP_NCPU"); ok {
			n, err := ParseNCPU(v)
			switch {
			case err != nil:
				warn("RUMP_NCPU=%q: not a number or \"host\"; using the host's %d CPUs", v, runtime.NumCPU())
			case n < 1 && v != "host":
				warn("RUMP_NCPU=%q: fewer than one CPU; using 1", v)
				n = 1
			}
			if err == nil {
				c.NCPU = n
			}
		}
	}
	if c.NCPU == HostNCPU {
		c.NCPU = runtime.NumCPU()
	}
	if c.NCPU < 1 {
		warn("ncpu %d: fewer than one CPU; using 1", c.NCPU)
		c.NCPU = 1
	}
	if c.NCPU > MaxCPUs {
		warn("ncpu %d: more than %d CPUs; using %d", c.NCPU, MaxCPUs, MaxCPUs)
		c.NCPU = MaxCPUs
	}
	if c.Verbose {
		c.Howto |= AB_VERBOSE
	}
	if v, ok := os.LookupEnv("RUMP_VERBOSE"); ok && c.Howto&AB_VERBOSE == 0 && v != "" && v[0] != '0' {
		c.Howto |= AB_VERBOSE
	}
	c.Verbose = c.Howto&AB_VERBOSE != 0
	if v, ok := os.LookupEnv("RUMP_THREADS"); ok && !c.NoThreads {
		c.NoThreads = v != "" && v[0] == '0'
	}
	if c.MaxVnodes == 0 {
		c.MaxVnodes = 8192
		if v, ok := os.LookupEnv("RUMP_NVNODES"); ok {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				warn("RUMP_NVNODES=%q: not a positive number; using %d", v, c.MaxVnodes)
			} else {
				c.MaxVnodes = n
			}
		}
	}
	if c.MemLimit == 0 {
		if v, ok := os.LookupEnv("RUMP_MEMLIMIT"); ok {
			n, err := ParseSize(v)
			if err != nil {
				warn("RUMP_MEMLIMIT=%q: %v; no limit", v, err)
			} else {
				c.MemLimit = n
			}
		}
	}
	if c.BufCacheBytes == 0 {
		c.BufCacheBytes = 64 << 20
		if c.MemLimit > 0 {
			c.BufCacheBytes = c.MemLimit / 20
		}
		if c.BufCacheBytes < 1<<20 {
			c.BufCacheBytes = 1 << 20
		}
	}
	if c.SyncInterval == 0 {
		c.SyncInterval = 30 * time.Second
	}
	if c.Hostname == "" {
		c.Hostname = fmt.Sprintf("rump-%05d", os.Getpid())
		if h, err := os.Hostname(); err == nil {
			c.Hostname += "." + h
		}
	}
	if c.Console == nil {
		c.Console = os.Stderr
	}
	if c.Exit == nil {
		c.Exit = os.Exit
	}
	if c.Abort == nil {
		c.Abort = abortProcess
	}
	return c, warns
}

// ParseNCPU parses a RUMP_NCPU value: a number or "host" (HostNCPU). The
// number is not range-checked: boot clamps it.
func ParseNCPU(s string) (int, error) {
	if s == "host" {
		return HostNCPU, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("ncpu %q: want a number or \"host\"", s)
	}
	return n, nil
}

// ParseSize parses a number with an optional k, m or g suffix (powers of
// 1024), as RUMP_MEMLIMIT takes.
func ParseSize(s string) (int64, error) {
	mult := int64(1)
	t := strings.ToLower(strings.TrimSpace(s))
	if t == "" {
		return 0, fmt.Errorf("empty size")
	}
	switch t[len(t)-1] {
	case 'k':
		mult, t = 1<<10, t[:len(t)-1]
	case 'm':
		mult, t = 1<<20, t[:len(t)-1]
	case 'g':
		mult, t = 1<<30, t[:len(t)-1]
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return n * mult, nil
}
