#!/usr/bin/env bash
# mem.sh [DOB]: peak memory of dob runs, summed over the ranks of this node (issue 20). Not run by CTest.
#
# Each measurement starts a command in the background and samples every 0.1 s, for every `dob` process it
# started (the ranks under mpiexec), /proc/<pid>/smaps_rollup: Rss and Pss (PSS divides each shared page by the
# number of processes mapping it, so the PSS sum over the ranks counts the node's shared data window once), and
# from /proc/<pid>/smaps the Pss of the MPI shared-memory mappings (the data window of io/data_share.c, Open MPI's
# osc/sm segment files). Prints the peaks of the sums over ranks of one sample, in MB (2^20 bytes), and the sum
# of the ranks' VmHWM at the end (each rank's own peak RSS, transients between samples included: the figure
# /usr/bin/time -v reports for one process).
#
# Cases (real Fashion-MNIST; 1 thread per rank):
#   run1    dob run fmnist_logreg, 1 rank                     issue 20: <= 130 MB RSS (256 MB at 8f09731)
#   run2c2d dob run fmnist_2c2d, 1 rank                       (376 MB at 8f09731)
#   sweep4  dob sweep fmnist_logreg, 4 ranks, 1 rank per trial, data shared per node
#   sweep4p the same with DOB_SHARED_DATA=0 (one copy per rank, as before issue 20)
# The data part of a sweep: PSS sum of sweep4 - (PSS sum of sweep4p - 3 copies) = what the shared copy costs;
# directly: the window's PSS sum (shm column) against one copy (printed by -v as "data held as ... MB").
# Environment: CASES (default "run1 run2c2d sweep4 sweep4p"), STEPS (default 30), VFLAG (default -v; empty for a
# dob from before issue 20, which has no -v: the data column then shows ?).
set -eu
DOB=${1:-build/dob}
DOB=$(cd "$(dirname "$DOB")" && pwd)/$(basename "$DOB")
CASES=${CASES:-"run1 run2c2d sweep4 sweep4p"}
STEPS=${STEPS:-30}
VFLAG=${VFLAG--v}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
cores=$(nproc)
export OMP_NUM_THREADS=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
echo "machine: $cores cores, $(free -m | awk '/Mem:/ {print $2}') MB; load $(cut -d' ' -f1-3 /proc/loadavg)"

# the dob processes among the descendants of pid $1
dob_pids() {
  local all=" $1 " grew=1
  while [ $grew = 1 ]; do
    grew=0
    for p in $(ps -e -o pid=,ppid= | awk -v s="$all" 'index(s, " " $2 " ") && !index(s, " " $1 " ") {print $1}'); do
      all="$all$p "
      grew=1
    done
  done
  for p in $all; do [ "$(cat /proc/$p/comm 2>/dev/null)" = dob ] && echo "$p"; done
  return 0
}

# kB of the peak RSS so far (VmHWM) of pid $1: catches the transients between two samples
hwm() { awk '$1 == "VmHWM:" {v = $2} END {print v + 0}' "/proc/$1/status" 2>/dev/null || echo 0; }

# kB of field $2 (Rss, Pss) in smaps_rollup of pid $1
rollup() { awk -v f="$2:" '$1 == f {v = $2} END {print v + 0}' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }

# kB of Pss in the MPI shared-memory mappings of pid $1 (Open MPI names them after osc/sm or its shmem files)
shm_pss() {
  awk '/^[0-9a-f]+-[0-9a-f]+ / {m = ($6 ~ /(osc|shmem|vader|sm_segment|\/dev\/shm)/)} m && $1 == "Pss:" {s += $2}
       END {print s + 0}' "/proc/$1/smaps" 2>/dev/null || echo 0
}

# measure NAME COMMAND...: peaks of the per-sample sums over the dob processes
measure() {
  local name=$1
  shift
  "$@" >"$name.out" 2>&1 &
  local top=$! rss=0 pss=0 shm=0 n=0 peak=0
  while kill -0 $top 2>/dev/null; do
    local r=0 p=0 s=0 k=0 h=0
    for pid in $(dob_pids $top); do
      r=$((r + $(rollup "$pid" Rss))) p=$((p + $(rollup "$pid" Pss))) s=$((s + $(shm_pss "$pid"))) k=$((k + 1))
      h=$((h + $(hwm "$pid")))
    done
    [ $h -gt $peak ] && peak=$h
    [ $r -gt $rss ] && rss=$r
    [ $p -gt $pss ] && pss=$p
    [ $s -gt $shm ] && shm=$s
    [ $k -gt $n ] && n=$k
    sleep 0.1
  done
  wait $top || { echo "$name: the command failed:"; tail -5 "$name.out"; return 1; }
  local data
  data=$(grep -o 'data held as [0-9.]* MB' "$name.out" | head -1 | awk '{print $4}')
  printf '%-8s %d rank%s  VmHWM sum %7.1f MB  peak RSS sum %7.1f MB  peak PSS sum %7.1f MB  shared window PSS sum %6.1f MB  (one copy of the data: %s MB)\n' \
    "$name" "$n" "$([ "$n" = 1 ] && echo ' ' || echo s)" "$(echo "$peak / 1024" | bc -l)" "$(echo "$rss / 1024" | bc -l)" "$(echo "$pss / 1024" | bc -l)" \
    "$(echo "$shm / 1024" | bc -l)" "${data:-?}"
}

for c in $CASES; do
  case $c in
  run1) measure run1 "$DOB" run fmnist_logreg --optimizer sgd --lr 0.1 --max_steps "$STEPS" --no_logs $VFLAG ;;
  run2c2d) measure run2c2d "$DOB" run fmnist_2c2d --optimizer sgd --lr 0.01 --max_steps "$STEPS" --no_logs $VFLAG ;;
  sweep4 | sweep4p)
    [ $c = sweep4p ] && export DOB_SHARED_DATA=0
    measure $c mpiexec -n 4 --bind-to none "$DOB" sweep fmnist_logreg --optimizer sgd --lr 0.01,0.1,0.3,1 \
      --num_epochs 1 --max_steps "$STEPS" --out "$work/$c.h5" $VFLAG
    unset DOB_SHARED_DATA ;;
  *) echo "unknown case $c" >&2; exit 2 ;;
  esac
done
