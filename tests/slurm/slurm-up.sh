#!/bin/sh
# slurm-up.sh DIR PORT: start a private Slurm cluster of one machine for the
# tests and the benchmarks, from Debian's slurm-wlm (Slurm 22.05) and munge:
# a munged with its own key and socket, a slurmctld on PORT and one slurmd
# (node "node1", two CPUs, partition "rag") on PORT+1.  Everything lives
# under DIR: slurm.conf, the key, state, spool, pid and log files.  Point
# sbatch, squeue and scontrol at it with SLURM_CONF=DIR/slurm.conf;
# slurm-down.sh DIR cancels its jobs and stops the three daemons, and
# nothing else.  slurmd starts each job as its user, so this runs as root.
#
# Slurm 22.05 still ships auth/none, which needs no daemon, but it takes
# the uid a client claims: anyone who reached slurmctld could have slurmd
# (root) run a job as root.  And slurmctld listens on every address,
# whatever NoInAddrAny says (slurmd keeps to 127.0.0.1).  munge signs with
# a key only root can read.
#
# Exit status: 0 once the node is idle, 1 if something does not start (the
# reason and the log's tail go to stderr), 2 on a usage error, 3 when
# slurm-wlm or munge is not installed (make deps installs them).
set -eu

die() {
	echo "slurm-up.sh: $*" >&2
	exit 1
}

[ $# -eq 2 ] || { echo "usage: slurm-up.sh DIR PORT" >&2; exit 2; }
dir=$1
port=$2
case $port in
'' | *[!0-9]*) port=0 ;;
esac
if [ "$port" -lt 1024 ] || [ "$port" -gt 65534 ]; then
	echo "slurm-up.sh: the port must be a number from 1024 to 65534" >&2
	exit 2
fi
case $dir in
/*) ;;
*) dir=$(pwd)/$dir ;;
esac
for b in /usr/sbin/munged /usr/sbin/mungekey /usr/sbin/slurmctld \
	/usr/sbin/slurmd /usr/bin/sinfo; do
	if [ ! -x "$b" ]; then
		echo "slurm-up.sh: $b is missing: run 'make deps' (slurm-wlm, munge)" >&2
		exit 3
	fi
done
[ "$(id -u)" -eq 0 ] || die "slurmd must run as root to start jobs as their user"

mkdir -p "$dir/state" "$dir/spool" "$dir/munge" "$dir/sock"
chmod 700 "$dir/munge"
chmod 755 "$dir/sock"
[ -f "$dir/munge/munge.key" ] ||
	mungekey --create --keyfile="$dir/munge/munge.key" ||
	die "mungekey could not write $dir/munge/munge.key"
# --force: munged wants every folder above its socket searchable by all,
# and a test's temporary folder is not; nobody else needs in
/usr/sbin/munged --force --socket="$dir/sock/munge.socket" \
	--key-file="$dir/munge/munge.key" --pid-file="$dir/munge/munged.pid" \
	--log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed" ||
	die "munged did not start: $(tail -n 5 "$dir/munge/munged.log")"

cat >"$dir/slurm.conf" <<EOF
ClusterName=rag
SlurmctldHost=localhost
SlurmctldPort=$port
SlurmdPort=$((port + 1))
CommunicationParameters=NoInAddrAny
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/sock/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
MailProg=/bin/true
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ProctrackType=proctrack/pgid
TaskPlugin=task/none
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
ReturnToService=2
# sbatch --wait polls every 2 s only while MinJobAge is under 4 s (then
# 8, then 32); finished jobs are purged no sooner than a minute after
MinJobAge=4
# start the next array task as soon as one ends, not 3 s later
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
# two CPUs whatever the machine has, so that a test runs alike everywhere
SlurmdParameters=config_overrides
NodeName=node1 NodeHostname=localhost NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=rag Nodes=node1 Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$dir/slurm.conf"
/usr/sbin/slurmctld -f "$SLURM_CONF" ||
	die "slurmctld did not start: $(tail -n 5 "$dir/slurmctld.log")"
/usr/sbin/slurmd -f "$SLURM_CONF" -N node1 ||
	die "slurmd did not start: $(tail -n 5 "$dir/slurmd.log")"
i=0
while [ $i -lt 100 ]; do
	[ "$(sinfo -h -n node1 -o %t 2>/dev/null)" = idle ] && exit 0
	sleep 0.1
	i=$((i + 1))
done
die "node1 is not idle after 10 s: $(sinfo -N 2>&1)
slurmctld: $(tail -n 5 "$dir/slurmctld.log")
slurmd: $(tail -n 5 "$dir/slurmd.log")"
