package kernel

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestNCPUDefaultsAndClamps(t *testing.T) {
	os.Unsetenv("RUMP_NCPU")
	if k := boot(t, Config{}); k.NCPU() != runtime.NumCPU() {
		t.Fatalf("default ncpu %d, want the host's %d", k.NCPU(), runtime.NumCPU())
	}
	for _, tc := range []struct {
		env  string
		want int
		warn string
	}{
		{"host", runtime.NumCPU(), ""},
		{"3", 3, ""},
		{"0", 1, "fewer than one CPU"},
		{"-5", 1, "fewer than one CPU"},
		{"-1", 1, "fewer than one CPU"},
		{"zero", runtime.NumCPU(), "not a number"},
		{"5000", MaxCPUs, "more than 1024"},
	} {
		t.Setenv("RUMP_NCPU", tc.env)
		var console bytes.Buffer
		k, err := Boot(Config{Console: &console})
		if err != nil {
			t.Fatalf("RUMP_NCPU=%s: %v", tc.env, err)
		}
		if k.NCPU() != tc.want {
			t.Errorf("RUMP_NCPU=%s: %d CPUs, want %d", tc.env, k.NCPU(), tc.want)
		}
		if tc.warn != "" && !strings.Contains(console.String(), tc.warn) {
			t.Errorf("RUMP_NCPU=%s: no warning %q on the console: %q", tc.env, tc.warn, console.String())
		}
		if tc.warn == "" && console.Len() != 0 {
			t.Errorf("RUMP_NCPU=%s: unexpected console output %q", tc.env, console.String())
		}
	}
	// An explicit value below one is clamped too.
	if k := boot(t, Config{NCPU: -7}); k.NCPU() != 1 {
		t.Fatalf("NCPU -7 gave %d CPUs", k.NCPU())
	}
}

func TestBadEnvWarnsAndDefaults(t *testing.T) {
	t.Setenv("RUMP_NVNODES", "lots")
	t.Setenv("RUMP_MEMLIMIT", "12q")
	var console bytes.Buffer
	k, err := Boot(Config{Console: &console})
	if err != nil {
		t.Fatal(err)
	}
	c := k.Config()
	if c.MaxVnodes != 8192 || c.MemLimit != 0 {
		t.Fatalf("bad values not defaulted: %+v", c)
	}
	for _, w := range []string{`RUMP_NVNODES="lots"`, `RUMP_MEMLIMIT="12q"`} {
		if !strings.Contains(console.String(), w) || !strings.Contains(k.Dmesg(), w) {
			t.Errorf("no warning naming %s: console %q", w, console.String())
		}
	}
}

func TestBootHowtoAndBanner(t *testing.T) {
	var console bytes.Buffer
	k, err := Boot(Config{Console: &console})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(k.Dmesg(), Banner()+" booting, ") {
		t.Fatalf("dmesg does not start with the banner:\n%s", k.Dmesg())
	}
	if console.Len() != 0 || k.BootHowto()&AB_VERBOSE != 0 {
		t.Fatalf("quiet boot printed %q, howto %#x", console.String(), k.BootHowto())
	}
	k.SetBootHowto(AB_VERBOSE)
	if k.BootHowto() != AB_VERBOSE {
		t.Fatalf("howto %#x", k.BootHowto())
	}
	k.Printf("now verbose")
	if !strings.Contains(console.String(), "now verbose") {
		t.Fatalf("AB_VERBOSE did not reach the console: %q", console.String())
	}
	console.Reset()
	t.Setenv("RUMP_VERBOSE", "1")
	k, _ = Boot(Config{Console: &console})
	if k.BootHowto()&AB_VERBOSE == 0 || !strings.Contains(console.String(), Banner()) {
		t.Fatalf("RUMP_VERBOSE: howto %#x console %q", k.BootHowto(), console.String())
	}
	if k := boot(t, Config{Howto: AB_VERBOSE | AB_DEBUG}); k.BootHowto() != AB_VERBOSE|AB_DEBUG {
		t.Fatalf("Config.Howto not kept: %#x", k.BootHowto())
	}
	// The numeric version is the release's __NetBSD_Version__.
	maj, min, _ := strings.Cut(OSRelease, ".")
	a, _ := strconv.Atoi(maj)
	b, _ := strconv.Atoi(min)
	if GetVersion() != a*100000000+b*1000000 || !strings.Contains(Banner(), strconv.Itoa(GetVersion())) {
		t.Fatalf("version %d for release %s, banner %q", GetVersion(), OSRelease, Banner())
	}
}

func TestHaltMessagesInOrder(t *testing.T) {
	k := boot(t, Config{})
	k.RegisterFini(func(l *LWP) error { k.Printf("test: syncing"); return nil })
	k.RegisterShutdown(func(int) { k.Printf("test: shutdown hook") })
	if err := k.Reboot(nil, RB_HALT); err != nil {
		t.Fatal(err)
	}
	d := k.Dmesg()
	last := -1
	for _, m := range []string{"rump kernel halting...", "test: syncing", "test: shutdown hook", "rump kernel halted"} {
		i := strings.Index(d, m)
		if i <= last {
			t.Fatalf("%q missing or out of order in:\n%s", m, d)
		}
		last = i
	}
}

// TestDumpEndsProcess runs RB_DUMP for real in a child process: the
// process must die with a non-zero status before any sync runs.
func TestDumpEndsProcess(t *testing.T) {
	if how := os.Getenv("RUMPFS_TEST_DUMP"); how != "" {
		dumpChild(how)
		return
	}
	for _, how := range []int{RB_DUMP, RB_DUMP | RB_HALT} {
		marker := filepath.Join(t.TempDir(), "synced")
		cmd := exec.Command(os.Args[0], "-test.run=^TestDumpEndsProcess$")
		cmd.Env = append(os.Environ(), fmt.Sprintf("RUMPFS_TEST_DUMP=%d:%s", how, marker))
		out, err := cmd.CombinedOutput()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() == 0 {
			t.Fatalf("howto %#x: child did not die (%v):\n%s", how, err, out)
		}
		if strings.Contains(string(out), "child survived") {
			t.Fatalf("howto %#x: Reboot returned:\n%s", how, out)
		}
		if !strings.Contains(string(out), "rump kernel dumping") {
			t.Errorf("howto %#x: no dump message:\n%s", how, out)
		}
		if _, err := os.Stat(marker); err == nil {
			t.Errorf("howto %#x: the fini hook (sync) ran before the dump", how)
		}
	}
}

func dumpChild(arg string) {
	hs, marker, _ := strings.Cut(arg, ":")
	how, _ := strconv.Atoi(hs)
	// No core file in the test directory.
	unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{})
	k, err := Boot(Config{NCPU: 1})
	if err != nil {
		fmt.Println(err)
		os.Exit(0)
	}
	k.RegisterFini(func(*LWP) error { return os.WriteFile(marker, nil, 0o644) })
	k.Reboot(nil, how)
	fmt.Println("child survived")
	os.Exit(0)
}

func TestDefaultHostname(t *testing.T) {
	k := boot(t, Config{})
	h, _ := os.Hostname()
	want := fmt.Sprintf("rump-%05d.%s", os.Getpid(), h)
	if got, _ := k.SysctlGet("kern.hostname"); got != want {
		t.Fatalf("default hostname %q, want %q", got, want)
	}
}

func TestRlimitNproc(t *testing.T) {
	k := boot(t, Config{})
	l, _ := k.Rfork(nil, RFCFDG)
	l.Proc().SetCred(CredCreate(1000, 1000, nil))
	if e := l.Setrlimit(RLIMIT_NPROC, Rlimit{Cur: 2, Max: 2}); e != 0 {
		t.Fatal(e)
	}
	c, err := k.Rfork(l, RFCFDG)
	if err != nil {
		t.Fatalf("second process of the user: %v", err)
	}
	if _, err := k.Rfork(l, RFCFDG); err != unix.EAGAIN {
		t.Fatalf("third process past RLIMIT_NPROC 2: %v", err)
	}
	k.ReleaseLWP(c)
	if _, err := k.Rfork(l, RFCFDG); err != nil {
		t.Fatalf("after one exited: %v", err)
	}
	// Root is not bound by it.
	if _, err := k.Rfork(nil, RFCFDG); err != nil {
		t.Fatal(err)
	}
}
