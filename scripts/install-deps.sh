#!/usr/bin/env bash
# Install every Debian package dob needs to build, test and benchmark. Idempotent: packages already present
# are skipped by apt. Run as root (or through sudo) on Debian 12.
set -euo pipefail

pkgs=(
  # build
  cmake ninja-build gcc pkg-config
  # core: oneDNN (+ OpenCL headers its CMake config requires), OpenMP comes with gcc (libgomp)
  libdnnl-dev ocl-icd-opencl-dev
  # MPI and parallel HDF5
  libopenmpi-dev openmpi-bin libhdf5-openmpi-dev hdf5-tools
  # tests, RNG, data formats, JSON
  libcunit1-dev librandom123-dev libjpeg62-turbo-dev zlib1g-dev libjansson-dev libpng-dev
  # fuzzing (tests/fuzz: libFuzzer + ASan/UBSan runtimes come with clang's compiler-rt)
  clang libclang-rt-14-dev
  # a private single-node Slurm cluster for the jobs/ template test (tests/slurm)
  slurmctld slurmd slurm-client munge
  # the real data set used by the quickstart and end-to-end tests
  dataset-fashion-mnist
  # tools/ and bench/ (h5py analysis, PyTorch reference with an OpenMP OpenBLAS); scipy writes the SVHN .mat
  # files of tests/e2e_svhn_mat.sh with an implementation independent of dob's reader (io/mat5.c; libmatio is not
  # used: Debian's depends on the serial HDF5, which cannot sit beside the Open MPI one)
  python3-h5py python3-numpy python3-matplotlib python3-torch libopenblas0-openmp python3-scipy
  # the tiny ImageNet of real JPEG files the imagenet tests write (tests/gen_imagenet.py)
  python3-pil
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#pkgs[@]} packages already installed"
  exit 0
fi
echo "install-deps: installing ${#missing[@]} packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: done"
