# ssh.bash: loaded by the tests that fan work out with GNU parallel over
# ssh.  sshd_up (in setup_file) starts a private sshd (Debian's
# openssh-server, its own host key, config and authorized key) listening
# on 127.0.0.1 and 127.0.0.2, so that parallel sees two hosts; it writes
# an ssh client config that reaches both with a fresh key, and exports
# SSH_CMD ("ssh -F that-config") for parallel --ssh.  sshd_down (in
# teardown_file) stops it.  sshd refuses to start unless its
# privilege-separation folder /run/sshd exists: as root, sshd_up makes it.

sshd_up() {
	local d=$BATS_FILE_TMPDIR/ssh port
	[ -x /usr/sbin/sshd ] || fail "/usr/sbin/sshd is missing: run 'make deps'"
	command -v parallel >/dev/null || fail "GNU parallel is missing: run 'make deps'"
	mkdir -p "$d"
	[ -d /run/sshd ] || mkdir -m 755 /run/sshd ||
		fail "/run/sshd is missing and cannot be made (sshd needs it): run as root"
	ssh-keygen -q -t ed25519 -N '' -f "$d/hostkey"
	ssh-keygen -q -t ed25519 -N '' -f "$d/userkey"
	cp "$d/userkey.pub" "$d/authorized_keys"
	chmod 600 "$d/authorized_keys"
	port=$(free_ports 1)
	[ -n "$port" ] || fail "no free loopback port for sshd"
	cat >"$d/sshd_config" <<-EOF
	Port $port
	ListenAddress 127.0.0.1
	ListenAddress 127.0.0.2
	HostKey $d/hostkey
	PidFile $d/sshd.pid
	AuthorizedKeysFile $d/authorized_keys
	PasswordAuthentication no
	KbdInteractiveAuthentication no
	UsePAM no
	PermitRootLogin prohibit-password
	StrictModes no
	MaxStartups 20
	LogLevel VERBOSE
	EOF
	cat >"$d/ssh_config" <<-EOF
	Host *
		Port $port
		User $(id -un)
		IdentityFile $d/userkey
		IdentitiesOnly yes
		StrictHostKeyChecking no
		UserKnownHostsFile /dev/null
		BatchMode yes
		LogLevel ERROR
	EOF
	/usr/sbin/sshd -f "$d/sshd_config" -E "$d/sshd.log" ||
		fail "sshd did not start: $(cat "$d/sshd.log")"
	export SSH_CMD="ssh -F $d/ssh_config"
	for _ in $(seq 50); do
		$SSH_CMD 127.0.0.2 true 2>/dev/null && return 0
		sleep 0.1
	done
	fail "sshd on 127.0.0.2:$port does not let us in: $(tail -5 "$d/sshd.log")"
}

sshd_down() {
	local pid=$BATS_FILE_TMPDIR/ssh/sshd.pid
	[ -s "$pid" ] && kill "$(cat "$pid")" 2>/dev/null || true
}
