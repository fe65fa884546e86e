#!/bin/sh
# slurm-down.sh DIR: cancel the jobs of the cluster slurm-up.sh DIR started
# and stop its slurmd, slurmctld and munged, and nothing else: a pid in
# DIR's pid files is signalled only while its command line names DIR (a
# pid can be reused once its process is gone), and a slurmstepd only when
# it has a file in DIR open.  Waits up to 5 s for the jobs to end and 5 s
# for the daemons to exit, then kills what is left.  DIR itself is kept.
# Exit status 0, also when nothing was running.
set -u

[ $# -eq 1 ] || { echo "usage: slurm-down.sh DIR" >&2; exit 2; }
dir=$1
case $dir in
/*) ;;
*) dir=$(pwd)/$dir ;;
esac

# an exited daemon may stay a zombie for a while, with no command line
ours() {
	tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline" | grep -qF "$dir/"
}

# a slurmstepd (one a job) writes to DIR's slurmd.log
stepd() {
	for fd in "/proc/$1/fd/"*; do
		case $(readlink "$fd" 2>/dev/null) in
		"$dir"/*) return 0 ;;
		esac
	done
	return 1
}

# Jobs still running would outlive slurmd in their slurmstepd, which
# then waits for a slurmctld that is gone: cancel them, and give their
# steps 5 s to report the end.
if [ -f "$dir/slurm.conf" ] && [ -s "$dir/slurmctld.pid" ] &&
    ours "$(cat "$dir/slurmctld.pid")"; then
	export SLURM_CONF="$dir/slurm.conf"
	scancel --quiet -p rag 2>/dev/null
	i=0
	while [ -n "$(squeue -h -p rag 2>/dev/null)" ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
fi
pids=
for f in slurmd.pid slurmctld.pid munge/munged.pid; do
	[ -s "$dir/$f" ] || continue
	pid=$(cat "$dir/$f")
	if ours "$pid"; then
		kill -TERM "$pid" 2>/dev/null && pids="$pids $pid"
	fi
done
i=0
while [ -n "$pids" ] && [ $i -lt 50 ]; do
	left=
	for pid in $pids; do
		ours "$pid" && left="$left $pid"
	done
	pids=$left
	[ -n "$pids" ] || break
	sleep 0.1
	i=$((i + 1))
done
for pid in $pids; do
	ours "$pid" && kill -KILL "$pid" 2>/dev/null
done
# Left behind only when the daemons died first.  A job's script runs from
# DIR's spool, the leader of its process group (proctrack/pgid); its step
# never heard back, and ignores SIGTERM.
for proc in /proc/[0-9]*; do
	pid=${proc#/proc/}
	case $(tr '\0' ' ' 2>/dev/null <"$proc/cmdline") in
	*"$dir/spool/"*) ;;
	*) continue ;;
	esac
	if [ "$(ps -o pgid= -p "$pid" | tr -d ' ')" = "$pid" ]; then
		kill -KILL "-$pid" 2>/dev/null
	else
		kill -KILL "$pid" 2>/dev/null
	fi
done
for pid in $(pgrep -x slurmstepd); do
	stepd "$pid" && kill -KILL "$pid" 2>/dev/null
done
exit 0
