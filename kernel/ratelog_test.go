package kernel

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestRatelog: the first ConsoleLines lines reach the console, a burst
// reaches dmesg, a flood after it is cut to RatelogPerSec a second, and
// the next kept line is preceded by the count of dropped ones.
func TestRatelog(t *testing.T) {
	var console bytes.Buffer
	k, err := Boot(Config{Console: &console})
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Unix(1000, 0)
	r := NewRatelog(k, "drv: img")
	r.now = func() time.Time { return clock }
	for i := range 10000 {
		r.Printf("drv: img: inode %d: bad", i)
	}
	d := k.Dmesg()
	if n := strings.Count(d, ": bad\n"); n != RatelogBurst {
		t.Errorf("%d lines of a flood of 10000 kept, want the burst of %d", n, RatelogBurst)
	}
	if n := strings.Count(console.String(), ": bad\n"); n != ConsoleLines {
		t.Errorf("%d lines on the console, want %d", n, ConsoleLines)
	}
	if !strings.Contains(console.String(), "drv: img: further messages in dmesg only") {
		t.Errorf("no notice that the console went quiet:\n%s", console.String())
	}
	if got := r.Suppressed(); got != 10000-RatelogBurst {
		t.Errorf("%d suppressed, want %d", got, 10000-RatelogBurst)
	}
	// One second later, RatelogPerSec more are kept, the first after
	// the count of those dropped.
	clock = clock.Add(time.Second)
	for i := range 100 {
		r.Printf("drv: img: block %d: bad", i)
	}
	d = k.Dmesg()
	if n := strings.Count(d, "drv: img: block "); n != RatelogPerSec {
		t.Errorf("%d lines kept a second later, want %d", n, RatelogPerSec)
	}
	want := fmt.Sprintf("drv: img: %d similar messages suppressed\ndrv: img: block 0: bad\n", 10000-RatelogBurst)
	if !strings.Contains(d, want) {
		t.Errorf("dmesg lacks %q:\n%s", want, d[max(0, len(d)-500):])
	}
}
