#!/usr/bin/env bash
# A real one-node Slurm cluster of this machine, for the launcher's tests and for trying
# `flowformer reproduce --launcher slurm` without a cluster.
#
#   scripts/slurm-local.sh          install (if missing), configure, start; wait until the node is idle
#   scripts/slurm-local.sh --stop   stop the daemons this script started
#
# Debian's slurm-wlm and munge, run as root: munged, slurmctld, slurmd. The settings are the ones
# that work inside a container (no systemd, no cgroups, no accounting database):
# proctrack/linuxproc tracks a job's processes by parent pid, task/none binds nothing, and no
# job accounting is gathered or stored. Idempotent: when `sinfo` already shows the node up, it
# only prints it (well under a second).
set -euo pipefail

conf_dir=/etc/slurm
conf=$conf_dir/slurm.conf
state=/var/spool/slurm-local
log_dir=/var/log/slurm-local
host="$(hostname -s)"

stop_slurm() {
  for pidfile in "$state/slurmd.pid" "$state/slurmctld.pid"; do
    [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
  done
}
if [ "${1:-}" = "--stop" ]; then
  stop_slurm
  [ -f /run/munge/munged.pid ] && kill "$(cat /run/munge/munged.pid)" 2>/dev/null || true
  exit 0
fi

node_state() { timeout 5 sinfo -h -n "$host" -o '%t' 2>/dev/null | head -n 1; }
munge_ok() { timeout 2 munge -n </dev/null 2>/dev/null | timeout 2 unmunge >/dev/null 2>&1; }

# Already up: nothing to do.
if command -v sinfo >/dev/null 2>&1 && [ -f "$conf" ] && grep -q '^# written by scripts/slurm-local.sh' "$conf"; then
  case "$(node_state)" in
    idle|mix|alloc) echo "slurm-local: node $host is $(node_state)"; exit 0 ;;
  esac
fi

if [ "$(id -u)" != 0 ]; then
  echo "slurm-local: must run as root (it installs packages and starts the Slurm daemons)" >&2
  exit 1
fi

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null || ! command -v sbatch >/dev/null; then
  echo "slurm-local: installing slurm-wlm and munge (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
fi

mkdir -p "$conf_dir" "$state/ctld" "$state/d" "$log_dir"

# munge: the key is made by the package's postinst; make one if it is missing.
if [ ! -s /etc/munge/munge.key ]; then
  mkdir -p /etc/munge
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
  chown munge:munge /etc/munge/munge.key
  chmod 400 /etc/munge/munge.key
fi
mkdir -p /run/munge /var/lib/munge /var/log/munge
chown munge:munge /run/munge /var/lib/munge /var/log/munge
chmod 755 /run/munge
# munged runs as the munge user and, daemonising, opens /dev/null for writing. A container can
# come up with /dev/null at mode 0644 (or a root process's copy or chmod can leave it so), and
# munged then dies with "Failed to open /dev/null: Permission denied". Restore the standard 0666.
if [ -c /dev/null ] && [ "$(stat -c %a /dev/null)" != 666 ]; then
  echo "slurm-local: /dev/null had mode $(stat -c %a /dev/null); setting it to 666 so that munged (user munge) can open it" >&2
  chmod 666 /dev/null
fi
if ! munge_ok; then
  runuser -u munge -- /usr/sbin/munged
  for _ in $(seq 50); do munge_ok && break; sleep 0.1; done
fi

# The node line as slurmd sees this machine (CPUs, sockets, cores, memory).
node_line="$(slurmd -C | head -n 1)"
cat >"$conf.tmp" <<EOF
# written by scripts/slurm-local.sh: a one-node cluster of this machine ($host)
ClusterName=flowformer-local
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/d
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$log_dir/slurmctld.log
SlurmdLogFile=$log_dir/slurmd.log
# containers: no cgroups, no systemd
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
# no accounting (no slurmdbd)
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
# cores are the consumable resource: several one-core jobs share the node
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
# seconds between the SIGTERM and the SIGKILL of a job that is cancelled or runs out of time
KillWait=30
# a job stays visible to squeue this long after it ended
MinJobAge=600
SchedulerParameters=batch_sched_delay=0
$node_line State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
changed=1
if [ -f "$conf" ] && cmp -s "$conf.tmp" "$conf"; then changed=0; fi
mv "$conf.tmp" "$conf"

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
# A daemon started before munge was up cannot register: restart both then, as on a new config.
if [ "$changed" = 1 ] || [ "$(node_state)" = "" ] || [ "$(node_state)" = "unk*" ]; then stop_slurm; sleep 0.5; fi
alive "$state/slurmctld.pid" || /usr/sbin/slurmctld
alive "$state/slurmd.pid" || /usr/sbin/slurmd

for _ in $(seq 100); do
  case "$(node_state)" in
    idle|mix|alloc) echo "slurm-local: node $host is $(node_state)"; exit 0 ;;
    down*|drain*) scontrol update nodename="$host" state=resume >/dev/null 2>&1 || true ;;
  esac
  sleep 0.2
done
echo "slurm-local: the node did not come up; see $log_dir/slurmctld.log and $log_dir/slurmd.log" >&2
sinfo >&2 || true
exit 1
