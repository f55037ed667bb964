# torch_env.sh: sourced (from the repository root) by the bench scripts that run PyTorch: compare.sh, bf16.sh,
# epoch.sh, seq.sh. Two settings decide whether PyTorch's CPU numbers mean anything:
# - BLAS: Debian's default reference BLAS makes PyTorch ~10x slower. OB is OpenBLAS-openmp
#   (libopenblas0-openmp, scripts/install-deps.sh), put on LD_LIBRARY_PATH for the torch runs.
# - The allocator: PyTorch frees and re-allocates its activations every step, and glibc returns large blocks to
#   the kernel (mmap'd blocks, heap trimming), so every step page-faults them in again. On the Firecracker VMs
#   here (free page reporting) that was 60-75% of PyTorch's CPU time as system time (Zen 5, 2 threads, PyTorch
#   1.13: fmnist_2c2d 8.2 -> 19.2 steps/s, svhn_wrn164 0.35 -> 0.87). MALLOC_MMAP_MAX_=0 (no mmap'd blocks) and
#   a huge MALLOC_TRIM_THRESHOLD_ (no trimming) keep the memory, which is what a tuned PyTorch installation gets
#   from jemalloc or tcmalloc. Exported for dob's runs too: it allocates once per build, so it changes nothing
#   there, and both sides run alike.
OB=/usr/lib/x86_64-linux-gnu/openblas-openmp
[ -d $OB ] || { echo "install libopenblas0-openmp (scripts/install-deps.sh): torch on reference BLAS is meaningless"; exit 1; }
export MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=1000000000000
