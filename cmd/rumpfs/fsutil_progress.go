package main

// The progress line of get and put: on a terminal only, and only once a
// copy has run for a second, so short copies and scripts see nothing.

import (
	"fmt"
	"os"
	"sync/atomic"
	"time"

	humanize "github.com/dustin/go-humanize"
)

// meter counts what a copy has done; a nil meter counts nothing.
type meter struct {
	files, bytes           atomic.Int64
	totalFiles, totalBytes int64 // 0: unknown (no ETA)
	start                  time.Time
	stop, done             chan struct{}
}

// progressAfter is how long a copy runs before its progress is shown.
const progressAfter = time.Second

// startMeter starts the progress line on stderr if it is a terminal.
func startMeter(totalFiles, totalBytes int64) *meter {
	if !isTerminal(int(os.Stderr.Fd())) {
		return nil
	}
	m := &meter{totalFiles: totalFiles, totalBytes: totalBytes, start: time.Now(), stop: make(chan struct{}), done: make(chan struct{})}
	go m.run()
	return m
}

func (m *meter) add(files, bytes int64) {
	if m != nil {
		m.files.Add(files)
		m.bytes.Add(bytes)
	}
}

func (m *meter) run() {
	defer close(m.done)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	shown := false
	for {
		select {
		case <-m.stop:
			if shown {
				fmt.Fprint(os.Stderr, "\r\x1b[K")
			}
			return
		case <-tick.C:
			if time.Since(m.start) < progressAfter {
				continue
			}
			shown = true
			fmt.Fprint(os.Stderr, "\r\x1b[K"+m.line())
		}
	}
}

// line is "1234 files, 1.2 GiB of 3.4 GiB, 120 MiB/s, ETA 0:18".
func (m *meter) line() string {
	files, b := m.files.Load(), m.bytes.Load()
	secs := time.Since(m.start).Seconds()
	rate := float64(b) / secs
	s := fmt.Sprintf("%d files, %s", files, humanize.IBytes(uint64(b)))
	if m.totalFiles > 0 {
		s = fmt.Sprintf("%d of %d files, %s", files, m.totalFiles, humanize.IBytes(uint64(b)))
	}
	if m.totalBytes > 0 {
		s += " of " + humanize.IBytes(uint64(m.totalBytes))
	}
	s += fmt.Sprintf(", %s/s", humanize.IBytes(uint64(rate)))
	if m.totalBytes > 0 && rate > 0 {
		left := time.Duration(float64(m.totalBytes-b)/rate) * time.Second
		s += fmt.Sprintf(", ETA %d:%02d", int(left.Minutes()), int(left.Seconds())%60)
	}
	return s
}

// end clears the progress line.
func (m *meter) end() {
	if m != nil {
		close(m.stop)
		<-m.done
	}
}
