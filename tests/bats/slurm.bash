# slurm.bash: loaded by the tests that run rag under Slurm.  slurm_up (in
# setup_file) starts a private cluster of one machine with
# tests/slurm/slurm-up.sh: a munged with its own key, a slurmctld and one
# slurmd with two CPUs (node "node1", partition "rag"), on two free ports,
# everything under BATS_FILE_TMPDIR/slurm.  It exports SLURM_CONF, so
# sbatch, squeue and scontrol reach that cluster and no other.
# slurm_down (in teardown_file) cancels what is left and stops the three
# daemons, whatever happened.  With the packages missing, slurm_missing
# says why, for the tests to skip (make deps installs them, and run-bats
# counts a skip as a failure); anything else that goes wrong fails.

SLURM_HARNESS=$BATS_TEST_DIRNAME/../slurm

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
	local port
	port=$(free_ports 2)
	[ -n "$port" ] || fail "no two free loopback ports for slurmctld and slurmd"
	sh "$SLURM_HARNESS/slurm-up.sh" "$BATS_FILE_TMPDIR/slurm" "$port" \
		>"$BATS_FILE_TMPDIR/slurm-up.out" 2>&1 ||
		fail "slurm-up.sh failed: $(cat "$BATS_FILE_TMPDIR/slurm-up.out")"
	export SLURM_CONF=$BATS_FILE_TMPDIR/slurm/slurm.conf
}

slurm_down() {
	sh "$SLURM_HARNESS/slurm-down.sh" "$BATS_FILE_TMPDIR/slurm"
}
