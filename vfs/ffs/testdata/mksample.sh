#!/bin/sh
# mksample.sh builds the small sample FFS image shipped with rumpfs
# (sample.ffs.gz beside this script) from a tree written here, with
# fixed owners, modes and times, so the same makefs makes the same bytes.
#
#   usage: sh mksample.sh [OUT.gz]     (default: sample.ffs.gz next to it)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/sample.ffs.gz}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
T=1700000000 # 2023-11-14 22:13:20 UTC

src=$tmp/src
mkdir -p "$src/docs/notes"
cat >"$src/README" <<'TXT'
This is the rumpfs sample file system: a small UFS2 (FFS) image made by
NetBSD's makefs from vfs/ffs/testdata/mksample.sh. You are reading it
through rumpfs's own FFS driver, running in a rump kernel in userspace.
TXT
printf 'Hello from a Berkeley Fast File System.\n' >"$src/hello.txt"
seq 1 2000 | sed 's/^/line /' >"$src/docs/lines.txt"
printf 'Nested one level deeper.\n' >"$src/docs/notes/todo.txt"
ln -s docs/lines.txt "$src/lines"
ln -s hello.txt "$src/greeting"

# Owners, modes and times come from this spec, not from whoever runs us.
cat >"$tmp/spec" <<SPEC
/set type=file uid=0 gid=0 mode=0644 time=$T.0
.               type=dir mode=0755
README
hello.txt
greeting        type=link link=hello.txt mode=0755
lines           type=link link=docs/lines.txt mode=0755
docs            type=dir mode=0755
lines.txt
notes           type=dir mode=0755
todo.txt
..
..
..
SPEC

makefs -t ffs -o version=2,bsize=8192,fsize=1024 -s 384k -T $T \
	-F "$tmp/spec" "$tmp/sample.ffs" "$src" >/dev/null
# makefs writes its in-memory pointers (fs_ocsp..fs_active, bytes 728-855,
# never read from disk) into every superblock copy: zero them, or each run
# differs by heap addresses.
size=$(wc -c <"$tmp/sample.ffs")
off=0
while [ $off -lt "$size" ]; do
	magic=$(od -An -tx4 -j $((off + 1372)) -N4 "$tmp/sample.ffs" | tr -d ' ')
	if [ "$magic" = 19540119 ]; then
		dd if=/dev/zero of="$tmp/sample.ffs" bs=1 seek=$((off + 728)) count=128 conv=notrunc 2>/dev/null
	fi
	off=$((off + 8192))
done
gzip -9 -n -c "$tmp/sample.ffs" >"$out"
