#!/usr/bin/env bash
# Build dob and train fmnist_2c2d on the real Fashion-MNIST data (DeepOBS's momentum baseline setting).
# Usage: scripts/quickstart.sh [EPOCHS]   (default 10; DeepOBS's protocol is 100 epochs, about an hour here)
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS=${1:-10}
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(nproc)}
build/dob run fmnist_2c2d --optimizer momentum --momentum 0.99 --lr 2.51e-3 -N "$EPOCHS" --output_dir results
