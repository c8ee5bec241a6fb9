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
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rumpfs/rumpfs/internal/textesc"
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

// usage prints the list of commands to w.
func usage(w io.Writer) {
	fmt.Fprintf(w, "usage: rumpfs COMMAND [options] [args]\n       rumpfs --version\n\ncommands:\n")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, commands[n].summary)
	}
	fmt.Fprintf(w, "\nrumpfs help COMMAND (or rumpfs COMMAND --help) shows a command's options and examples.\n")
}

func main() { os.Exit(runMain(os.Args[1:])) }

// runMain runs the command line args (without the program name) and
// returns the exit status.
func runMain(args []string) int {
	if len(args) == 0 {
		usage(os.Stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "--help":
		usage(os.Stdout)
		return 0
	case "--version", "-V", "version":
		fmt.Print(versionText())
		return 0
	case "help":
		if len(args) == 1 {
			usage(os.Stdout)
			return 0
		}
		if _, ok := commands[args[1]]; !ok {
			fmt.Fprintf(os.Stderr, "rumpfs: help: unknown command %q (rumpfs --help lists them)\n", args[1])
			return exitUsage
		}
		args = []string{args[1], "--help"}
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(os.Stderr, "rumpfs: unknown command %q (rumpfs --help lists them)\n", args[0])
		return exitUsage
	}
	stopOnSignals(c.name)
	// RUMPFS_CPUPROFILE=FILE writes a CPU profile of the command (for
	// finding where a served workload spends its time).
	if p := os.Getenv("RUMPFS_CPUPROFILE"); p != "" {
		if f, err := os.Create(p); err == nil {
			pprof.StartCPUProfile(f)
			code := c.run(args[1:])
			pprof.StopCPUProfile()
			f.Close()
			return code
		}
	}
	return c.run(args[1:])
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

// fail prints one clear line (what, which path, why) and returns exit
// status 1. The reason can quote a driver's message or a name from the
// image: the line is escaped, so it stays one line and inert.
func fail(format string, args ...any) int {
	fmt.Fprintf(errOut, "rumpfs: %s\n", textesc.Line(fmt.Sprintf(format, args...)))
	return exitFail
}

// errOut receives errors, warnings and the kernel's console: stderr, and
// the --log file of a mount as well.
var errOut io.Writer = os.Stderr

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
// labels read from an image. rename, if set, replaces the kernel's names
// for devices with what the user gave (the image and partition).
type escapingWriter struct {
	w      io.Writer
	rename *strings.Replacer
}

func (e escapingWriter) Write(p []byte) (int, error) {
	s, nl := strings.CutSuffix(string(p), "\n")
	if e.rename != nil {
		s = e.rename.Replace(s)
	}
	s = textesc.Line(s)
	if nl {
		s += "\n"
	}
	if _, err := io.WriteString(e.w, s); err != nil {
		return 0, err
	}
	return len(p), nil
}

// stampWriter writes each line to w with the time in front: a log file.
type stampWriter struct {
	mu      sync.Mutex
	w       io.Writer
	midLine bool // the last write did not end a line
}

func (s *stampWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	for _, line := range strings.SplitAfter(string(p), "\n") {
		if line == "" {
			continue
		}
		if !s.midLine {
			b.WriteString(time.Now().UTC().Format("2006-01-02T15:04:05.000Z "))
		}
		b.WriteString(line)
		s.midLine = !strings.HasSuffix(line, "\n")
	}
	if _, err := io.WriteString(s.w, b.String()); err != nil {
		return 0, err
	}
	return len(p), nil
}
