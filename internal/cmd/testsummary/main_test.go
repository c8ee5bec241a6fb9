package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestSummarise(t *testing.T) {
	in := `{"Action":"run","Package":"p","Test":"TestA"}
{"Action":"output","Package":"p","Test":"TestA","Output":"=== RUN   TestA\n"}
{"Action":"output","Package":"p","Test":"TestA","Output":"    a_test.go:9: *** SKIPPING: mke2fs is not installed (RUMPFS_E2E=1 makes this a failure) ***\n"}
{"Action":"output","Package":"p","Test":"TestA","Output":"--- SKIP: TestA (0.00s)\n"}
{"Action":"skip","Package":"p","Test":"TestA"}
{"Action":"output","Package":"p","Test":"TestB","Output":"    b_test.go:3: quiet on success\n"}
{"Action":"pass","Package":"p","Test":"TestB"}
{"Action":"output","Package":"p","Output":"PASS\n"}
{"Action":"output","Package":"p","Output":"ok  \tp\t0.1s\n"}
{"Action":"pass","Package":"p"}
`
	var out bytes.Buffer
	if code := summarise(strings.NewReader(in), &out); code != 0 {
		t.Errorf("exit %d", code)
	}
	want := "ok  \tp\t0.1s\n\nskipped 1 tests:\n  SKIPPING: mke2fs is not installed (RUMPFS_E2E=1 makes this a failure): p.TestA\n"
	if out.String() != want {
		t.Errorf("got:\n%q\nwant:\n%q", out.String(), want)
	}
	fail := `{"Action":"output","Package":"q","Test":"TestC","Output":"    c_test.go:1: broken\n"}
{"Action":"fail","Package":"q","Test":"TestC"}
{"Action":"output","Package":"q","Output":"FAIL\tq\t0.2s\n"}
{"Action":"fail","Package":"q"}
`
	out.Reset()
	if code := summarise(strings.NewReader(fail), &out); code != 1 || !strings.Contains(out.String(), "c_test.go:1: broken") {
		t.Errorf("a failure: exit %d, output:\n%s", code, out.String())
	}
}
