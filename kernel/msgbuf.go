package kernel

import (
	"fmt"
	"sync"
	"time"
)

const msgbufSize = 16 << 10

// msgbuf is the kernel message buffer: a ring of the last 16 KiB of
// messages, read as dmesg.
type msgbuf struct {
	mu   sync.Mutex
	buf  []byte
	w    int  // next write position
	full bool // wrapped at least once
}

func (m *msgbuf) init(n int) { m.buf = make([]byte, n) }

func (m *msgbuf) write(p []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(p) >= len(m.buf) {
		p = p[len(p)-len(m.buf):]
	}
	for len(p) > 0 {
		n := copy(m.buf[m.w:], p)
		p = p[n:]
		m.w += n
		if m.w == len(m.buf) {
			m.w, m.full = 0, true
		}
	}
}

func (m *msgbuf) String() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.full {
		return string(m.buf[:m.w])
	}
	s := string(m.buf[m.w:]) + string(m.buf[:m.w])
	// Drop the partial first line left by wrapping.
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			return s[i+1:]
		}
	}
	return s
}

// Printf logs a kernel message (aprint_normal): always to the message
// buffer, to the console only when verbose.
func (k *Kernel) Printf(format string, args ...any) {
	k.log(k.verbose(), format, args...)
}

// Warnf logs a message the user must see (aprint_error): to the message
// buffer and always to the console.
func (k *Kernel) Warnf(format string, args ...any) {
	k.log(true, format, args...)
}

func (k *Kernel) log(console bool, format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	if len(line) == 0 || line[len(line)-1] != '\n' {
		line += "\n"
	}
	if k.msgbuf.buf == nil {
		k.msgbuf.init(msgbufSize)
	}
	k.msgbuf.write([]byte(line))
	if console && k.cfg.Console != nil {
		fmt.Fprintf(k.cfg.Console, "[%9.6f] %s", time.Since(k.BootTime).Seconds(), line)
	}
}

// Dmesg returns the message buffer's contents.
func (k *Kernel) Dmesg() string { return k.msgbuf.String() }
