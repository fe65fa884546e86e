#!/bin/sh
# swift-down.sh DIR: stop the server swift-up.sh DIR started, and nothing
# else: a pid in DIR/pids is signalled only while it is still running
# DIR/serve.py (a pid can be reused once its process is gone).  Waits up
# to 5 s for it to exit, then kills it.  DIR itself is kept (rm -rf it to
# start afresh).  Exit status 0, also when nothing was running.
set -u

[ $# -eq 1 ] || { echo "usage: swift-down.sh DIR" >&2; exit 2; }
dir=$1
case $dir in
/*) ;;
*) dir=$(pwd)/$dir ;;
esac
[ -f "$dir/pids" ] || exit 0

ours() {
	tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null | grep -qF "$dir/serve.py"
}

pids=
for pid in $(cat "$dir/pids"); do
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
: > "$dir/pids"
exit 0
