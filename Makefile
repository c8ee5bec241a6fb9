# rumpfs: build, test, bench, lint. `make test` is what CI runs.
GO      ?= go
PKGS    := ./...
BIN     := bin/rumpfs
MNT     ?= /tmp/rumpfs-demo

.PHONY: all build deps test lint bench demo clean fuzz install

# bash with pipefail: a test run piped through its summariser still fails
# when go test does.
SHELL       := /bin/bash
.SHELLFLAGS := -o pipefail -c

PREFIX ?= /usr/local
# The commit --version names when Go's build information has none.
COMMIT := $(shell git rev-parse --short HEAD 2>/dev/null)

# staticcheck, fetched through the Go module proxy at a fixed version (a
# development tool, so it stays out of go.mod).
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

all: build

build:
	$(GO) build -ldflags "-X main.commit=$(COMMIT)" -o $(BIN) ./cmd/rumpfs

# rumpfs on PATH: $(PREFIX)/bin/rumpfs (PREFIX=$$HOME/.local for a user).
install: build
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/rumpfs

# The Debian packages the tests use (root).
DEBS := fuse3 fdisk gdisk sleuthkit makefs dosfstools mtools xorriso \
	libarchive-tools e2fsprogs attr acl util-linux fuse2fs qemu-utils
deps:
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(DEBS) >/dev/null

# The README's test command: lint, the whole suite, and the race detector
# over the kernel, the VFS core, both read-write and read-only drivers
# (FFS's allocator, ext2fs's background read-ahead), the FUSE bridge, etfs
# and its block device (node table, loans). Each run goes through
# internal/cmd/testsummary: plain go test output, then the skipped tests
# and why; it fails when a test fails.
SUMMARY := $(GO) run ./internal/cmd/testsummary
test: lint
	$(GO) test -json -count=1 -timeout 20m $(PKGS) | $(SUMMARY)
	$(GO) test -json -count=1 -race -timeout 15m ./kernel/... ./vfs/ ./vfs/bio/ ./vfs/ffs/ ./vfs/ext2fs/ ./p2k/ ./etfs/ ./vfs/rumpblk/ | $(SUMMARY)

lint:
	@unformatted=$$(gofmt -l . | grep -v '^vendor/'); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet $(PKGS)
	GOOS=darwin $(GO) vet ./kernel/... ./vfs/... ./p2k/... ./etfs/... ./images/... ./cmd/...
	$(GO) run $(STATICCHECK) $(PKGS)
	@# The import graph of docs/ARCHITECTURE.md: nothing imports upward.
	$(GO) test -count=1 ./internal/layers

# Benchmarks, side by side with the peers where a benchmark compares; see
# each package's bench_test.go. BENCHTIME and BENCH narrow a run.
BENCH     ?= .
BENCHTIME ?= 1x
bench:
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem -benchtime $(BENCHTIME) -timeout 60m $(PKGS)

# Short fuzzing pass over every fuzz target (FUZZTIME each).
FUZZTIME ?= 10s
fuzz:
	@for pkg in $$($(GO) list $(PKGS)); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done
	@# Every corpus replayed as whole images (TestFuzzCorpora, also in
	@# make test): the slowest image's walk time, per driver.
	@out=$$($(GO) test -count=1 -run '^TestFuzzCorpora$$' -v ./vfs/ffs ./vfs/ext2fs 2>&1) || { echo "$$out"; exit 1; }; \
	  echo "$$out" | grep 'slowest corpus image' | sed 's/^ *corpus_test.go:[0-9]*: /== /'

# The quick start's first command: mount the sample FFS image that ships
# with the project (vfs/ffs/testdata, made by mksample.sh) read-write at
# $(MNT), list it, and stay in the foreground (Ctrl-C unmounts and syncs).
SAMPLE := bin/sample.ffs
demo: build
	mkdir -p $(MNT)
	gunzip -c vfs/ffs/testdata/sample.ffs.gz > $(SAMPLE)
	@echo "mounting $(SAMPLE) (UFS2) at $(MNT); in another shell: ls -l $(MNT); Ctrl-C here unmounts"
	$(BIN) mount -t ffs $(SAMPLE) $(MNT)

clean:
	rm -rf bin
