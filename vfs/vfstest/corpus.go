package vfstest

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// CorpusEntry is one file of a fuzz target's corpus (testdata/fuzz).
type CorpusEntry struct {
	Name  string // target/file
	Bytes []byte // its first []byte argument
}

// ReadCorpus returns the entries of target's corpus in dir (a package's
// testdata/fuzz) that hold a []byte argument: what a test replays as a
// damaged structure. A missing corpus is no entries.
func ReadCorpus(t testing.TB, dir, target string) []CorpusEntry {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, target, "*"))
	var out []CorpusEntry
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(data), "\n")
		if len(lines) == 0 || strings.TrimSpace(lines[0]) != "go test fuzz v1" {
			t.Fatalf("%s: not a go fuzz corpus file", p)
		}
		for _, l := range lines[1:] {
			if s, ok := strings.CutPrefix(strings.TrimSpace(l), "[]byte("); ok {
				b, err := strconv.Unquote(strings.TrimSuffix(s, ")"))
				if err != nil {
					t.Fatalf("%s: %v", p, err)
				}
				out = append(out, CorpusEntry{Name: target + "/" + filepath.Base(p), Bytes: []byte(b)})
				break
			}
		}
	}
	return out
}
