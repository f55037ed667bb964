#!/usr/bin/env bash
# Build dob and run every test: the default CTest suite (unit suites, CLI error handling, a real 3-epoch
# Fashion-MNIST run, MPI tests under mpiexec), then the unit suites again under ASan+UBSan and with OpenMP off.
# Usage: scripts/test.sh [--quick]   (--quick: skip the sanitizer and no-OpenMP builds)
# Long runs (100-epoch baseline reproduction) carry the CTest label "long" and are not run here:
#   ctest --test-dir build -L long
# The jobs/ templates on a private single-node Slurm cluster (label "slurm", ~4 min) run here when the machine
# allows it (root, Slurm from scripts/install-deps.sh); otherwise CTest lists the test as skipped, saying why.
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0
[ "${1:-}" = "--quick" ] && quick=1
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
jobs=$(nproc)

step() { printf '\n=== %s ===\n' "$*"; }

step "build (Release, -Werror)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DDOB_WERROR=ON >/dev/null
cmake --build build -j "$jobs"
step "tests"
ctest --test-dir build --output-on-failure -LE long -j 1

if [ $quick -eq 0 ]; then
  step "unit tests under AddressSanitizer + UndefinedBehaviorSanitizer"
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DDOB_SANITIZE=ON -DDOB_WERROR=ON >/dev/null
  cmake --build build-asan -j "$jobs" --target dob_tests
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp:print_suppressions=0 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --test-dir build-asan --output-on-failure -L unit
  step "unit tests with OpenMP off (dob's own loops serial)"
  cmake -S . -B build-noomp -G Ninja -DCMAKE_BUILD_TYPE=Release -DDOB_OPENMP=OFF -DDOB_WERROR=ON >/dev/null
  cmake --build build-noomp -j "$jobs" --target dob_tests
  ctest --test-dir build-noomp --output-on-failure -L unit
fi
step "all tests passed"
