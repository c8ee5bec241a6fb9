package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func TestParseImageArg(t *testing.T) {
	for in, want := range map[string]imageArg{
		"disk.img:/etc/fstab":            {image: "disk.img", path: "/etc/fstab"},
		"disk.img@2:etc":                 {image: "disk.img@2", path: "/etc"},
		"disk.img:":                      {image: "disk.img", path: "/"},
		"d.img%DISKLABEL:a%:/x":          {image: "d.img%DISKLABEL:a%", path: "/x"},
		"d.img%OFFSET:512,1024%:/x/../y": {image: "d.img%OFFSET:512,1024%", path: "/y"},
		"/dir/d.img:/../../..":           {image: "/dir/d.img", path: "/"},
	} {
		got, ok := parseImageArg(in)
		want.arg = in
		if !ok || got != want {
			t.Errorf("parseImageArg(%q) = %+v, %v; want %+v", in, got, ok, want)
		}
	}
	for _, in := range []string{"host/file", ":/x", ""} {
		if _, ok := parseImageArg(in); ok {
			t.Errorf("parseImageArg(%q) took a host path for an image one", in)
		}
	}
}

// Every fs-utils command has help in the house style: synopsis, text,
// examples, on stdout with status 0.
func TestFsutilHelp(t *testing.T) {
	for _, name := range []string{"ls", "cat", "stat", "find", "get", "cp", "diff", "getfattr", "setfattr", "put", "mkdir", "rm", "rmdir", "mv", "ln", "chmod", "touch", "readlink", "du", "df", "chown", "truncate"} {
		var buf bytes.Buffer
		helpStdout = &buf
		code := runMain([]string{"help", name})
		helpStdout = os.Stdout
		out := buf.String()
		if code != 0 || !strings.HasPrefix(out, "usage: rumpfs "+name+" ") || !strings.Contains(out, "\nexamples:\n  rumpfs "+name+" ") || strings.Contains(out, "stringArray") {
			t.Errorf("rumpfs help %s: status %d:\n%s", name, code, out)
		}
	}
}
