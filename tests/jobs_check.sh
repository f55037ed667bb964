#!/usr/bin/env bash
# jobs_check.sh JOBS_DIR: static checks of every Slurm template jobs/*.sbatch, without Slurm (the private-cluster
# test, tests/slurm/slurm_test.sh, needs root and Slurm's packages and runs the templates themselves):
#   - bash -n: the script parses;
#   - every #SBATCH line comes before the first command: sbatch reads directives only up to there and silently
#     ignores later ones;
#   - a template that requeues itself (--requeue) also asks for the warning signal (--signal=B:USR1@...), traps
#     it, forwards it to srun and requeues on dob's exit code 3.
# Prints "N passed, M failed" and exits with the failures.
set -u
dir=${1:?usage: jobs_check.sh JOBS_DIR}
pass=0; fail=0
bad() { fail=$((fail+1)); printf 'FAIL: %s\n' "$*"; }
n=0
for f in "$dir"/*.sbatch; do
  n=$((n+1))
  name=$(basename "$f")
  bash -n "$f" && pass=$((pass+1)) || bad "$name: bash -n"
  first=$(grep -n -v -E '^[[:space:]]*(#|$)' "$f" | head -1 | cut -d: -f1)
  late=$(awk -v first="$first" 'NR > first && /^#SBATCH/ {print NR}' "$f" | head -1)
  [ -z "$late" ] && pass=$((pass+1)) || bad "$name: #SBATCH on line $late comes after the first command (line $first)"
  if grep -q '^#SBATCH --requeue' "$f"; then
    grep -q '^#SBATCH --signal=B:USR1@' "$f" && grep -q "^trap .* USR1" "$f" && grep -q 'kill -USR1 "\$pid"' "$f" &&
      grep -q '"\$rc" -eq 3' "$f" && grep -q 'scontrol requeue' "$f" && pass=$((pass+1)) ||
      bad "$name: --requeue without the USR1 signal, its trap and forwarding, or the requeue on exit code 3"
  fi
done
[ "$n" -gt 0 ] || bad "no templates in $dir"
echo "$pass passed, $fail failed ($n templates)"
exit "$fail"
