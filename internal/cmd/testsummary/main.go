// Command testsummary reads `go test -json` on stdin and prints what
// plain `go test` would (each package's result line, and the output of the
// tests that failed), then a summary of the skipped tests grouped by the
// reason they gave. It exits 1 if any test or package failed, so that
// `make test` still fails when a test does.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// event is one line of test2json's output.
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
}

func main() { os.Exit(summarise(os.Stdin, os.Stdout)) }

func summarise(in io.Reader, out io.Writer) int {
	type key struct{ pkg, test string }
	pending := map[key][]string{} // a running test's output
	skipped := map[string][]string{}
	failed := false
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			fmt.Fprintln(out, sc.Text()) // not JSON: go's own messages
			continue
		}
		k := key{e.Package, e.Test}
		switch e.Action {
		case "output", "build-output":
			if e.Test == "" {
				if e.Output != "PASS\n" && !strings.HasPrefix(e.Output, "=== ") && !strings.HasPrefix(e.Output, "--- ") {
					fmt.Fprint(out, e.Output)
				}
				continue
			}
			pending[k] = append(pending[k], e.Output)
		case "fail", "build-fail":
			failed = true
			for _, l := range pending[k] {
				fmt.Fprint(out, l)
			}
			delete(pending, k)
		case "skip":
			if e.Test != "" {
				why := skipReason(pending[k])
				skipped[why] = append(skipped[why], strings.TrimPrefix(e.Package, "github.com/rumpfs/rumpfs/")+"."+e.Test)
			}
			delete(pending, k)
		case "pass":
			delete(pending, k)
		}
	}
	if len(skipped) > 0 {
		reasons := make([]string, 0, len(skipped))
		n := 0
		for r, tests := range skipped {
			reasons = append(reasons, r)
			n += len(tests)
		}
		sort.Strings(reasons)
		fmt.Fprintf(out, "\nskipped %d tests:\n", n)
		for _, r := range reasons {
			tests := skipped[r]
			sort.Strings(tests)
			if len(tests) > 4 {
				tests = append(tests[:4], fmt.Sprintf("and %d more", len(tests)-4))
			}
			fmt.Fprintf(out, "  %s: %s\n", r, strings.Join(tests, ", "))
		}
	}
	if failed {
		fmt.Fprintln(out, "\nFAIL: see the failed tests' output above")
		return 1
	}
	return 0
}

// skipReason is the message a test gave when it skipped: its last output
// line other than the "--- SKIP" line, without the file:line prefix.
func skipReason(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l == "" || strings.HasPrefix(l, "--- SKIP") || strings.HasPrefix(l, "=== ") {
			continue
		}
		if _, rest, ok := strings.Cut(l, ".go:"); ok {
			if _, msg, ok := strings.Cut(rest, ": "); ok {
				l = msg
			}
		}
		return strings.Trim(l, "* ")
	}
	return "(no reason given)"
}
