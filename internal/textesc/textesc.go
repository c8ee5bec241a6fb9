// Package textesc makes strings that come from disk images safe to print on
// a terminal. One rule everywhere (GNU ls -b's C-style escapes): control
// characters become \a \b \t \n \v \f \r \e or \xNN, other characters a
// terminal does not print as themselves (DEL, C1 controls, bidirectional
// and zero-width format characters, U+2028/9) become \uXXXX, a byte that
// is not UTF-8 becomes \xNN, and a backslash becomes \\ so that every
// escaped string reads back to exactly one original. Printable text,
// spaces and non-ASCII letters pass through unchanged. JSON output needs
// none of this: encoding/json escapes control characters itself (and
// turns invalid UTF-8 into U+FFFD).
package textesc

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Escape returns s with every character a terminal could act on (or would
// not show) escaped: for a name, label or other field read from an image.
func Escape(s string) string { return escape(s, true) }

// Line escapes a line of text composed elsewhere that can quote strings
// from an image (a driver's message, a kernel console line) by the same
// rule, except that a backslash is left as it is: such text often quotes
// names already (Go's %q), and doubling its backslashes would garble it
// without making it any safer.
func Line(s string) string { return escape(s, false) }

func escape(s string, backslash bool) string {
	if clean(s, backslash) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\\' && backslash:
			b.WriteString(`\\`)
		case r < 0x20:
			if e := cEscapes[r]; e != "" {
				b.WriteString(e)
			} else {
				fmt.Fprintf(&b, `\x%02x`, r)
			}
		case r == ' ' || (r < 0x7f) || (r > 0x9f && unicode.IsGraphic(r) && r != 0x2028 && r != 0x2029):
			b.WriteString(s[i : i+n])
		case r <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
		i += n
	}
	return b.String()
}

// Quote is Escape between double quotes, with a double quote inside
// escaped as \" (for a label or name set in running text).
func Quote(s string) string {
	return `"` + strings.ReplaceAll(Escape(s), `"`, `\"`) + `"`
}

var cEscapes = [0x20]string{'\a': `\a`, '\b': `\b`, '\t': `\t`, '\n': `\n`, '\v': `\v`, '\f': `\f`, '\r': `\r`, 0x1b: `\e`}

// clean reports whether s is printable ASCII (without a backslash, when
// backslashes are escaped), the common case, returned as it is.
func clean(s string, backslash bool) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || (c == '\\' && backslash) {
			return false
		}
	}
	return true
}
