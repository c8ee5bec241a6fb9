package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/rumpfs/rumpfs/vfs"
	"github.com/spf13/pflag"
)

// Exit statuses of every command but fsck (fsck uses fsck(8)'s).
const (
	exitFail  = 1 // the command ran and failed
	exitUsage = 2 // the command line was wrong
)

// helpText is what `rumpfs CMD --help` prints around the options.
type helpText struct {
	usage    string // the synopsis after "usage: "
	about    string // a paragraph or two
	examples string // lines "  rumpfs CMD ...   # what it does"
}

// newFlags makes a command's flag set. --help, -h and `rumpfs help CMD`
// print the whole help on stdout (it was asked for); a usage error prints
// the error, the synopsis and where the help is on stderr (parseArgs).
func newFlags(name string, h helpText) *pflag.FlagSet {
	fl := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fl.SortFlags = false
	fl.SetOutput(io.Discard) // parseArgs prints the errors
	fl.Usage = func() {
		w := helpStdout
		fmt.Fprintf(w, "usage: %s\n\n%s\n", h.usage, strings.TrimSpace(h.about))
		if fl.HasAvailableFlags() {
			fmt.Fprintf(w, "\noptions:\n%s", fl.FlagUsagesWrapped(0))
		}
		if h.examples != "" {
			fmt.Fprintf(w, "\nexamples:\n%s\n", strings.TrimRight(h.examples, "\n"))
		}
	}
	usageLines[name] = h.usage
	return fl
}

// helpStdout is where asked-for help goes (a variable for tests).
var helpStdout io.Writer = os.Stdout

// usageLines are the synopses, for usage errors.
var usageLines = map[string]string{}

// boolValue is a boolean flag shown as a plain flag in the help
// ("--json", not "--json[=true|false]"): pflag only adds that suffix to
// values that say IsBoolFlag, so this one does not, and sets NoOptDefVal
// itself. --json=false still parses.
type boolValue struct{ p *bool }

func (b boolValue) String() string {
	if b.p == nil {
		return "false"
	}
	return strconv.FormatBool(*b.p)
}
func (b boolValue) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("want true or false, not %q", s)
	}
	*b.p = v
	return nil
}
func (boolValue) Type() string { return "bool" }

// flagBool defines a boolean flag (short may be "") that defaults to false.
func flagBool(fl *pflag.FlagSet, name, short, usage string) *bool {
	p := new(bool)
	f := fl.VarPF(boolValue{p}, name, short, usage)
	f.NoOptDefVal = "true"
	return p
}

// parseArgs parses a command's flags and checks it got nargs arguments.
// When not ok, the command returns code: 0 after --help, exitUsage for a
// usage error, printed on stderr with the synopsis.
func parseArgs(fl *pflag.FlagSet, args []string, nargs int) (code int, ok bool) {
	return parseArgsStatus(fl, args, nargs, exitUsage)
}

// parseArgsStatus is parseArgs with the usage error's status (fsck's is
// 16).
func parseArgsStatus(fl *pflag.FlagSet, args []string, nargs, usageStatus int) (code int, ok bool) {
	err := fl.Parse(args)
	switch {
	case err == pflag.ErrHelp:
		return 0, false
	case err != nil:
		return usageError(fl.Name(), usageStatus, "%v", err), false
	case fl.NArg() < nargs:
		return usageError(fl.Name(), usageStatus, "missing arguments"), false
	case fl.NArg() > nargs:
		return usageError(fl.Name(), usageStatus, "unexpected argument %q", fl.Arg(nargs)), false
	}
	return 0, true
}

// usageError prints what was wrong with the command line, the synopsis and
// where the help is, and returns status.
func usageError(cmd string, status int, format string, args ...any) int {
	fmt.Fprintf(os.Stderr, "rumpfs %s: %s\nusage: %s\n(rumpfs help %s shows the options and examples)\n",
		cmd, fmt.Sprintf(format, args...), usageLines[cmd], cmd)
	return status
}

// version and commit can be set at link time (make build sets commit:
// -ldflags "-X main.commit=..."); otherwise they come from the build
// information Go records (the module version, vcs.revision).
var version, commit = "", ""

// versionText is `rumpfs --version`: version, commit, Go version, and the
// drivers linked in.
func versionText() string {
	v, rev, dirty := version, commit, ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = " (modified)"
				}
			}
		}
	}
	if rev == "" {
		rev = "unknown"
	}
	if v == "" || v == "(devel)" {
		v = "devel"
	}
	return fmt.Sprintf("rumpfs %s\ncommit %s%s\n%s %s/%s\ndrivers: %s\n",
		v, rev, dirty, runtime.Version(), runtime.GOOS, runtime.GOARCH, strings.Join(vfs.FSTypeNames(), ", "))
}
