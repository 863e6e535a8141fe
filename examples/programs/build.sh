#!/bin/sh
# Builds the example BPF programs (*.bpf.c) into CO-RE objects (*.bpf.o) with clang against a
# kernel's BTF: vmlinux.h is dumped from it with bpftool. Reproducible: the same clang gives the
# same bytes (no DWARF, no build paths; the programs use only fixed-size types, so the kernel
# whose BTF is used does not change them). objects/SHA256SUMS lists what this script gave.
#
#   examples/programs/build.sh [--btf FILE] [--out DIR]
#
#   --btf FILE   the kernel BTF to build against (default /sys/kernel/btf/vmlinux; a vmlinux
#                ELF with .BTF works too)
#   --out DIR    where the objects go (default examples/programs/objects)
#
# Needs clang (with the BPF target), llvm-strip, bpftool and libbpf's headers (libbpf-dev).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
btf=/sys/kernel/btf/vmlinux
out="$here/objects"
while [ $# -gt 0 ]; do
  case "$1" in
    --btf) btf=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
for tool in clang llvm-strip bpftool; do
  command -v "$tool" >/dev/null 2>&1 || { echo "build.sh: $tool is not installed" >&2; exit 1; }
done
[ -r "$btf" ] || { echo "build.sh: cannot read the BTF $btf" >&2; exit 1; }
[ -r /usr/include/bpf/bpf_helpers.h ] || { echo "build.sh: libbpf headers missing (libbpf-dev)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bpftool btf dump file "$btf" format c > "$work/vmlinux.h"
cp "$here"/*.bpf.c "$here"/*.h "$work/"
mkdir -p "$out"
cd "$work"
for src in *.bpf.c; do
  obj="${src%.c}.o"
  # relative paths and a fixed compilation directory: nothing of this machine in the object
  clang -O2 -g -target bpf -D__TARGET_ARCH_x86 -I. -fdebug-compilation-dir=. \
    -Wall -Werror -c "$src" -o "$obj"
  # keep .BTF and .BTF.ext (CO-RE, line info), drop DWARF
  llvm-strip -g "$obj"
  cp "$obj" "$out/$obj"
  echo "built $out/$obj"
done
