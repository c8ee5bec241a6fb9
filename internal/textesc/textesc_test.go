package textesc

import (
	"strings"
	"testing"
)

func TestEscape(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"root", "root"},
		{"with space", "with space"},
		{"\x1b]0;pwned\x07", `\e]0;pwned\a`},
		{"\x1b[31mred\x1b[0m", `\e[31mred\e[0m`},
		{"a\nb\r\tc", `a\nb\r\tc`},
		{"nul\x00", `nul\x00`},
		{"del\x7f", `del\u007f`},
		{"c1\u009b2J", `c1\u009b2J`},
		{"bidi\u202etxt", `bidi\u202etxt`},
		{"ls\u2028", `ls\u2028`},
		{`back\slash`, `back\\slash`},
		{"bad\xff\xfeutf8", `bad\xff\xfeutf8`},
		{"données 数据", "données 数据"},
	} {
		if got := Escape(c.in); got != c.want {
			t.Errorf("Escape(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := Line(`entry "a\x1b" ` + "\x1b[2J\n"); got != `entry "a\x1b" \e[2J\n` {
		t.Errorf("Line = %s", got)
	}
	if got := Quote("a\"b\x1b"); got != `"a\"b\e"` {
		t.Errorf("Quote = %s", got)
	}
}

// Whatever the input, the output holds no byte a terminal acts on.
func FuzzEscape(f *testing.F) {
	f.Add("\x1b]0;x\x07\n\xff\u202e")
	f.Fuzz(func(t *testing.T, s string) {
		for _, out := range []string{Escape(s), Line(s)} {
			for i := 0; i < len(out); i++ {
				if c := out[i]; c < 0x20 || c == 0x7f {
					t.Fatalf("Escape(%q) = %q holds byte %#x", s, out, c)
				}
			}
			if strings.ContainsAny(out, "\u0085\u009b\u202e\u2028") {
				t.Fatalf("Escape(%q) = %q holds a C1 or format character", s, out)
			}
		}
	})
}
