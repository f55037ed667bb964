#!/usr/bin/env bash
# peak.sh: this machine's FP32 FMA peak with ../shared/tools/peak_fma.c (all threads, then 1 thread).
# On CPUs without AVX-512 the AVX-512 measurement is replaced by 0 (it would be an illegal instruction).
set -eu
cd "$(dirname "$0")/.."
src=../shared/tools/peak_fma.c
[ -f "$src" ] || { echo "peak: $src not found"; exit 1; }
tmp=$(mktemp -d)
if grep -qw avx512f /proc/cpuinfo; then cp "$src" "$tmp/p.c"; else sed 's/fma_gflops(512, 50000000)/0.0/g' "$src" > "$tmp/p.c"; fi
gcc -O2 -fopenmp "$tmp/p.c" -o "$tmp/peak" && "$tmp/peak" | sed 's/^/peak: /'
rm -rf "$tmp"
