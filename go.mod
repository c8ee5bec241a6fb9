module github.com/rumpfs/rumpfs

go 1.26.8

require (
	github.com/dustin/go-humanize v1.1.0
	github.com/hanwen/go-fuse/v2 v2.12.1
	github.com/spf13/pflag v1.1.0
	golang.org/x/sys v0.50.0
)
