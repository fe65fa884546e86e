# slurm.bash: loaded by the tests that run rag under Slurm.  slurm_up (in
# setup_file) starts a private cluster of one machine from Debian's
# slurm-wlm (Slurm 22.05): a munged with its own key and socket, a
# slurmctld and one slurmd with two CPUs, on two free ports, their
# state, spool, pid and log files all under BATS_FILE_TMPDIR/slurm.  It
# exports SLURM_CONF, so sbatch, squeue and scontrol reach that cluster
# and no other.  slurm_down (in teardown_file) cancels what is left and
# stops the three daemons.  With the packages missing, slurm_missing
# says why, for the tests to skip (make deps installs them, and run-bats
# counts a skip as a failure); anything else that goes wrong fails.
#
# Slurm 22.05 still ships auth/none, which needs no daemon, but it takes
# the uid a client claims: while the test ran, anyone who reached
# slurmctld could have had slurmd (root) run a job as root.  And
# slurmctld listens on every address, whatever NoInAddrAny says (slurmd
# keeps to 127.0.0.1).  munge signs with a key that only this file's
# processes can read.

SLURM_NODE=node1

# True, with SLURM_MISSING exported saying what is missing, when Slurm or
# munge is not installed.  A skip in setup_file fails the file without
# its reason, so the tests' setup skips instead.
slurm_missing() {
	local b
	for b in /usr/sbin/munged /usr/sbin/mungekey /usr/sbin/slurmctld \
		/usr/sbin/slurmd /usr/bin/sbatch /usr/bin/sinfo; do
		if [ ! -x "$b" ]; then
			export SLURM_MISSING="$b is missing: run 'make deps' (slurm-wlm, munge)"
			return 0
		fi
	done
	return 1
}

slurm_up() {
	local d=$BATS_FILE_TMPDIR/slurm port
	# slurmd becomes each job's user, which only root can do
	[ "$(id -u)" -eq 0 ] || fail "slurmd must run as root to start jobs: run the test as root"
	mkdir -p "$d/state" "$d/spool" "$d/munge" "$d/sock"
	chmod 700 "$d/munge"
	chmod 755 "$d/sock"
	mungekey --create --keyfile="$d/munge/munge.key" ||
		fail "mungekey could not write $d/munge/munge.key"
	# --force: munged wants every folder above its socket searchable by
	# all, and bats's temporary folder is not; nobody else needs in
	/usr/sbin/munged --force --socket="$d/sock/munge.socket" \
		--key-file="$d/munge/munge.key" --pid-file="$d/munge/munged.pid" \
		--log-file="$d/munge/munged.log" --seed-file="$d/munge/munged.seed" ||
		fail "munged did not start: $(tail -n 5 "$d/munge/munged.log")"
	port=$(free_ports 2)
	[ -n "$port" ] || fail "no two free loopback ports for slurmctld and slurmd"
	cat >"$d/slurm.conf" <<-EOF
	ClusterName=rag
	SlurmctldHost=localhost
	SlurmctldPort=$port
	SlurmdPort=$((port + 1))
	CommunicationParameters=NoInAddrAny
	SlurmUser=root
	SlurmdUser=root
	AuthType=auth/munge
	CredType=cred/munge
	AuthInfo=socket=$d/sock/munge.socket
	StateSaveLocation=$d/state
	SlurmdSpoolDir=$d/spool
	SlurmctldPidFile=$d/slurmctld.pid
	SlurmdPidFile=$d/slurmd.pid
	SlurmctldLogFile=$d/slurmctld.log
	SlurmdLogFile=$d/slurmd.log
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
	# sbatch --wait polls every 2 s only while MinJobAge is under 4 s
	# (then 8, then 32); finished jobs are purged no sooner than a minute
	MinJobAge=4
	# start the next array task as soon as one ends, not 3 s later
	SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
	NodeName=$SLURM_NODE NodeHostname=localhost NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
	PartitionName=rag Nodes=$SLURM_NODE Default=YES MaxTime=INFINITE State=UP
	EOF
	export SLURM_CONF=$d/slurm.conf
	/usr/sbin/slurmctld -f "$SLURM_CONF" ||
		fail "slurmctld did not start: $(tail -n 5 "$d/slurmctld.log")"
	/usr/sbin/slurmd -f "$SLURM_CONF" -N "$SLURM_NODE" ||
		fail "slurmd did not start: $(tail -n 5 "$d/slurmd.log")"
	for _ in $(seq 100); do
		[ "$(sinfo -h -n "$SLURM_NODE" -o %t 2>/dev/null)" = idle ] && return 0
		sleep 0.1
	done
	fail "node $SLURM_NODE is not idle after 10 s: $(sinfo -N 2>&1)
slurmctld: $(tail -n 5 "$d/slurmctld.log")
slurmd: $(tail -n 5 "$d/slurmd.log")"
}

slurm_down() {
	local d=$BATS_FILE_TMPDIR/slurm f pids=()
	# jobs a failed test left running outlive slurmd in their slurmstepd
	[ -n "${SLURM_CONF:-}" ] && scancel --quiet -p rag 2>/dev/null
	for f in slurmd.pid slurmctld.pid munge/munged.pid; do
		[ -s "$d/$f" ] && pids+=("$(cat "$d/$f")")
	done
	[ ${#pids[@]} -gt 0 ] || return 0
	kill "${pids[@]}" 2>/dev/null
	# gone before bats deletes their folder
	for _ in $(seq 50); do
		slurm_alive "${pids[@]}" || return 0
		sleep 0.1
	done
	kill -9 "${pids[@]}" 2>/dev/null || true
}

# True while any of the processes runs: an exited daemon may stay a zombie
# for a while, and kill -0 would count it.
slurm_alive() {
	ps -o stat= -p "$(IFS=,; echo "$*")" | grep -qv '^Z'
}
