package testenv

import "testing"

// recorder stands in for a test: it records Skipf and Fatalf instead of
// stopping.
type recorder struct {
	testing.TB
	skipped, failed bool
}

func (r *recorder) Helper()                        {}
func (r *recorder) Skipf(format string, a ...any)  { r.skipped = true }
func (r *recorder) Fatalf(format string, a ...any) { r.failed = true }

func TestUnmetSkipsOrFails(t *testing.T) {
	t.Setenv("RUMPFS_E2E", "")
	r := &recorder{TB: t}
	Tool(r, "no-such-tool-anywhere")
	if !r.skipped || r.failed {
		t.Fatalf("without RUMPFS_E2E a missing tool must skip: %+v", *r)
	}
	t.Setenv("RUMPFS_E2E", "1")
	r = &recorder{TB: t}
	Tool(r, "no-such-tool-anywhere")
	if !r.failed || r.skipped {
		t.Fatalf("with RUMPFS_E2E a missing tool must fail: %+v", *r)
	}
	r = &recorder{TB: t}
	if p := Tool(r, "sh"); p == "" || r.failed || r.skipped {
		t.Fatalf("sh: %q %+v", p, *r)
	}
}

func TestRun(t *testing.T) {
	if out := Run(t, "in\n", "cat"); out != "in\n" {
		t.Errorf("cat: %q", out)
	}
	r := &recorder{TB: t}
	Run(r, "", "sh", "-c", "echo out; echo err >&2; exit 3")
	if !r.failed {
		t.Errorf("a failing program must fail the test")
	}
}

func TestSyncBuffer(t *testing.T) {
	var b SyncBuffer
	done := make(chan bool)
	for range 4 {
		go func() {
			for range 100 {
				b.Write([]byte("x"))
				_ = b.String()
			}
			done <- true
		}()
	}
	for range 4 {
		<-done
	}
	if n := len(b.String()); n != 400 {
		t.Errorf("%d bytes, want 400", n)
	}
}
