#!/usr/bin/env bash
# cluster.sh start DIR | stop DIR: a private single-node Slurm cluster for the tests, from Debian's packages
# (slurmctld, slurmd, munge, slurm-client: scripts/install-deps.sh). Everything lives in DIR: its own munge key
# and socket, slurm.conf derived from `slurmd -C` (this machine's CPUs and memory), state, spool, logs, pid files,
# and ports 16817/16818, so it neither needs nor disturbs a system Slurm. Runs as root (slurmd must). Clients
# find it through SLURM_CONF=DIR/slurm.conf, which `start` prints as an export line to eval.
set -euo pipefail
cmd=${1:?usage: cluster.sh start|stop DIR}
dir=$(realpath -m "${2:?usage: cluster.sh start|stop DIR}")

stop() {
  for p in slurmd slurmctld munged; do
    [ -f "$dir/$p.pid" ] && kill "$(cat "$dir/$p.pid")" 2>/dev/null || true
  done
  sleep 1
  for p in slurmd slurmctld munged; do
    [ -f "$dir/$p.pid" ] && kill -9 "$(cat "$dir/$p.pid")" 2>/dev/null || true
    rm -f "$dir/$p.pid"
  done
}

start() {
  for b in slurmctld slurmd munged sbatch; do
    command -v "$b" >/dev/null || { echo "cluster.sh: $b not found: install slurmctld slurmd munge slurm-client"; exit 2; }
  done
  [ "$(id -u)" -eq 0 ] || { echo "cluster.sh: slurmd must run as root"; exit 2; }
  mkdir -p "$dir"/{state,spool,munge}
  chmod 700 "$dir/munge"
  dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
  chmod 400 "$dir/munge/munge.key"
  munged --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.sock" --pid-file="$dir/munged.pid" \
         --log-file="$dir/munged.log" --seed-file="$dir/munge/seed" -f 2>/dev/null ||
    munged --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.sock" --pid-file="$dir/munged.pid" \
           --log-file="$dir/munged.log" --seed-file="$dir/munge/seed" --force
  local host node
  host=$(hostname -s)
  node=$(slurmd -C | head -1 | sed -E 's/^NodeName=[^ ]+ //; s/ ?Boards=[0-9]+//')
  cat > "$dir/slurm.conf" <<CONF
ClusterName=dobtest
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
SlurmctldPort=16817
SlurmdPort=16818
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.sock
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=pmix
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
JobRequeue=1
MinJobAge=600
KillWait=10
SlurmdTimeout=60
InactiveLimit=0
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
NodeName=$host $node State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF
  export SLURM_CONF="$dir/slurm.conf"
  slurmctld -i -f "$dir/slurm.conf"
  slurmd -f "$dir/slurm.conf"
  local i
  for i in $(seq 60); do
    if sinfo -h -o '%T' 2>/dev/null | grep -q -E '^idle'; then
      echo "export SLURM_CONF=$dir/slurm.conf"
      return 0
    fi
    sleep 1
  done
  echo "cluster.sh: the node did not come up in 60 s; logs in $dir" >&2
  sinfo >&2 || true
  tail -5 "$dir/slurmctld.log" "$dir/slurmd.log" >&2 || true
  stop
  exit 1
}

case $cmd in
  start) start ;;
  stop) stop ;;
  *) echo "usage: cluster.sh start|stop DIR"; exit 2 ;;
esac
