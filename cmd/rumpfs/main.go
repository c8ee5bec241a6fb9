// Command rumpfs boots a rump kernel in this process, mounts disk images
// with its file system drivers, and serves them to the host over FUSE or
// through fs-utils-style commands.
package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/rumpfs/rumpfs/internal/textesc"
	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"
)

// command is one subcommand. run gets the arguments after the command name
// and returns the exit status.
type command struct {
	name, summary string
	run           func(args []string) int
}

var commands = map[string]command{}

// register adds a subcommand; each command's file calls it from init.
func register(name, summary string, run func(args []string) int) {
	commands[name] = command{name, summary, run}
}

func usage() {
	fmt.Fprintf(os.Stderr, "usage: rumpfs COMMAND [options] [args]\n\ncommands:\n")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "  %-8s %s\n", n, commands[n].summary)
	}
	fmt.Fprintf(os.Stderr, "\nrumpfs COMMAND --help shows a command's options.\n")
}

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		usage()
		if len(os.Args) < 2 {
			os.Exit(2)
		}
		return
	}
	c, ok := commands[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "rumpfs: unknown command %q (rumpfs --help lists them)\n", os.Args[1])
		os.Exit(2)
	}
	stopOnSignals(c.name)
	// RUMPFS_CPUPROFILE=FILE writes a CPU profile of the command (for
	// finding where a served workload spends its time).
	if p := os.Getenv("RUMPFS_CPUPROFILE"); p != "" {
		if f, err := os.Create(p); err == nil {
			pprof.StartCPUProfile(f)
			code := c.run(os.Args[2:])
			pprof.StopCPUProfile()
			f.Close()
			os.Exit(code)
		}
	}
	os.Exit(c.run(os.Args[2:]))
}

// writeHeapProfile writes a heap profile to RUMPFS_MEMPROFILE, if set; the
// mount command calls it on SIGUSR1 with its statistics.
func writeHeapProfile() {
	p := os.Getenv("RUMPFS_MEMPROFILE")
	if p == "" {
		return
	}
	if f, err := os.Create(p); err == nil {
		pprof.WriteHeapProfile(f)
		f.Close()
	}
}

// parseArgs parses a command's flags and checks it got nargs arguments.
// When not ok, the command returns code: 0 after --help, 2 for a usage
// error (the usage is printed).
func parseArgs(fl *pflag.FlagSet, args []string, nargs int) (code int, ok bool) {
	if err := fl.Parse(args); err != nil {
		if err == pflag.ErrHelp {
			return 0, false
		}
		return 2, false
	}
	if fl.NArg() != nargs {
		fl.Usage()
		return 2, false
	}
	return 0, true
}

// fail prints one clear line (what, which path, why) and returns exit
// status 1. The reason can quote a driver's message or a name from the
// image: the line is escaped, so it stays one line and inert.
func fail(format string, args ...any) int {
	fmt.Fprintf(os.Stderr, "rumpfs: %s\n", textesc.Line(fmt.Sprintf(format, args...)))
	return 1
}

// signalsTaken is set by a command that has started holding something a
// signal must not cut short (mount, once the kernel has the image
// mounted: from then on its own loop unmounts, syncs and halts).
var signalsTaken atomic.Bool

// stopOnSignals makes SIGINT and SIGTERM end the command at once, at any
// stage (opening, probing, a listing, a check, mount set-up), with one
// line and status 128+signal (130, 143), until the command takes them
// over. Nothing held before that needs flushing: the commands only read,
// and a mount that has not finished mounting has nothing to sync (ext2fs
// replays its journal in memory; an FFS cut off while mounting is left as
// a crash would leave it, marked not clean).
func stopOnSignals(name string) {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, unix.SIGINT, unix.SIGTERM)
	go func() {
		for s := range sigs {
			if signalsTaken.Load() {
				continue
			}
			what := "terminated"
			if s == unix.SIGINT {
				what = "interrupted"
			}
			fmt.Fprintf(os.Stderr, "rumpfs: %s: %s; stopped\n", name, what)
			os.Exit(128 + int(s.(syscall.Signal)))
		}
	}()
}

// escapingWriter escapes each write as a line (textesc.Line), keeping its
// final newline: the kernel's console, whose lines can quote names and
// labels read from an image.
type escapingWriter struct{ w io.Writer }

func (e escapingWriter) Write(p []byte) (int, error) {
	s, nl := strings.CutSuffix(string(p), "\n")
	s = textesc.Line(s)
	if nl {
		s += "\n"
	}
	if _, err := io.WriteString(e.w, s); err != nil {
		return 0, err
	}
	return len(p), nil
}
