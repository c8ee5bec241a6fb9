package images

import (
	"bytes"
	"compress/gzip"
	"os"
	"testing"
)

// TestProbeShippedFixtures probes the images that ship with the project:
// the sample FFS image the README's quick start mounts.
func TestProbeShippedFixtures(t *testing.T) {
	for _, tc := range []struct {
		path, typ, variant string
	}{
		{"../vfs/ffs/testdata/sample.ffs.gz", "ffs", "FFSv2"},
	} {
		f, err := os.Open(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		z, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		var img bytes.Buffer
		if _, err := img.ReadFrom(z); err != nil {
			t.Fatal(err)
		}
		f.Close()
		fs := Probe(bytes.NewReader(img.Bytes()), int64(img.Len()))
		if fs == nil || fs.Type != tc.typ || fs.Variant != tc.variant || !fs.Driver || fs.State != "clean" {
			t.Fatalf("%s: probed %+v, want %s %s with a driver, clean", tc.path, fs, tc.typ, tc.variant)
		}
	}
}
