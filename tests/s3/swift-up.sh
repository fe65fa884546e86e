#!/bin/sh
# swift-up.sh DIR PORT: serve an S3 API on 127.0.0.1:PORT for the tests,
# using OpenStack Swift's s3api middleware (Debian package python3-swift).
#
# Credentials: access key "test:tester", secret "testing", region
# us-east-1, path-style addressing only.  Swift's account, container and
# object servers listen on PORT+1, PORT+2 and PORT+3, also on loopback
# only; all four run in one Python process.  Everything lives under DIR
# (configuration, rings, data, log); DIR/pids names the process started,
# and swift-down.sh DIR stops it and nothing else.  Data survives a
# restart on the same DIR; rm -rf DIR starts afresh.  When
# RAG_S3_WATCH_PID is set, the server also exits on its own within a
# second of that process ending, so a test that dies without cleaning up
# leaves nothing running.
#
# Exit status: 0 once the S3 endpoint answers, 1 if it does not start
# (the reason and the log tail go to stderr), 2 on a usage error.
set -eu

PY=/usr/bin/python3	# Debian's: pyenv's python3 cannot import swift
INSTALL="apt-get install -y --no-install-recommends python3-swift"

die() {
	echo "swift-up.sh: $*" >&2
	exit 1
}

[ $# -eq 2 ] || { echo "usage: swift-up.sh DIR PORT" >&2; exit 2; }
dir=$1
port=$2
case $port in
'' | *[!0-9]*) port=0 ;;
esac
if [ "$port" -lt 1024 ] || [ "$port" -gt 65532 ]; then
	echo "swift-up.sh: the port must be a number from 1024 to 65532" >&2
	exit 2
fi
case $dir in
/*) ;;
*) dir=$(pwd)/$dir ;;
esac

[ -x "$PY" ] || die "$PY is missing: $INSTALL"
"$PY" -c 'import swift.common.middleware.s3api' 2>/dev/null ||
	die "OpenStack Swift is not installed for $PY: $INSTALL"
command -v curl >/dev/null || die "curl is missing: apt-get install -y curl"

if [ -s "$dir/pids" ]; then
	for pid in $(cat "$dir/pids"); do
		if tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null |
			grep -qF "$dir/serve.py"; then
			die "a server is running in '$dir' already (pid $pid):" \
				"run swift-down.sh '$dir' first"
		fi
	done
fi

mkdir -p "$dir/etc" "$dir/srv/d1" "$dir/log"

# Swift keeps object metadata in extended attributes.
probe=$dir/srv/d1/.xattr-probe
: > "$probe"
if ! "$PY" - "$probe" <<'PY'
import os, sys
os.setxattr(sys.argv[1], 'user.rag-probe', b'1')
PY
then
	rm -f "$probe"
	die "the file system under '$dir' has no user extended attributes," \
		"which Swift needs: use a folder on ext4, xfs, btrfs or tmpfs"
fi
rm -f "$probe"

cat > "$dir/etc/swift.conf" <<CONF
[swift-hash]
swift_hash_path_prefix = rag-test
swift_hash_path_suffix = rag-test

[storage-policy:0]
name = only
default = yes
CONF

# The account, container and object servers share one layout.  The ports
# are not here: serve.py binds them.
for server in account container object; do
	cat > "$dir/etc/$server-server.conf" <<CONF
[DEFAULT]
devices = $dir/srv
mount_check = false
disable_fallocate = true
swift_dir = $dir/etc
log_level = WARNING

[pipeline:main]
pipeline = $server-server

[app:$server-server]
use = egg:swift#$server
CONF
done

# s3api checks SigV4 strictly (signature, scope region, clock skew,
# x-amz-content-sha256 against the body) and implements multipart.
# AWS and MinIO allow 10000 parts; Swift's default is 1000.
cat > "$dir/etc/proxy-server.conf" <<CONF
[DEFAULT]
swift_dir = $dir/etc
log_level = WARNING

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache
	listing_formats s3api tempauth copy slo dlo proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:s3api]
use = egg:swift#s3api
location = us-east-1
max_upload_part_num = 10000

[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin

[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:cache]
use = egg:swift#memcache
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
CONF

# One device, one replica.  The rings name the ports, so they are rebuilt
# on every start (the data under srv/ survives: the partition of a name
# depends only on the hash prefix and suffix and the partition power).
"$PY" - "$dir/etc" "$port" <<'PY' || die "cannot build Swift's rings in '$dir/etc'"
import sys
from swift.common.ring import RingBuilder
etc, port = sys.argv[1], int(sys.argv[2])
for n, server in enumerate(('account', 'container', 'object'), 1):
    builder = RingBuilder(6, 1, 1)
    builder.add_dev({'id': 0, 'region': 1, 'zone': 1, 'ip': '127.0.0.1',
                     'port': port + n, 'device': 'd1', 'weight': 1})
    builder.rebalance()
    builder.get_ring().save('%s/%s.ring.gz' % (etc, server))
PY

# One Python process serves all four (Swift's own in-process functional
# tests do the same): the imports, most of the start-up time, happen once.
# Swift reads /etc/swift/swift.conf unless told otherwise before anything
# else is loaded.  Warnings and errors go to DIR/log/swift.log.
cat > "$dir/serve.py" <<'PY'
import os, sys, time
etc, port = sys.argv[1], int(sys.argv[2])

from swift.common import utils
utils.SWIFT_CONF_FILE = os.path.join(etc, 'swift.conf')
utils.eventlet_monkey_patch()
utils.validate_configuration()
_get_logger = utils.get_logger
def get_logger(conf, name=None, log_to_console=False, *args, **kwargs):
    return _get_logger(conf, name, True, *args, **kwargs)
utils.get_logger = get_logger

# tempauth and the proxy need memcached; a dict in this process does,
# and keeps two test servers from sharing a machine-wide one.
class LocalCache(object):
    def __init__(self, *args, **kwargs):
        self.items = {}

    def _live(self, key):
        item = self.items.get(key)
        if item is not None and item[1] and item[1] < time.time():
            del self.items[key]
            return None
        return item

    def set(self, key, value, serialize=True, time=0, **kwargs):
        self.items[key] = (value, time and _now() + time)

    def get(self, key, raise_on_error=False):
        item = self._live(key)
        return item[0] if item else None

    def incr(self, key, delta=1, time=0):
        item = self._live(key)
        value = (int(item[0]) if item else 0) + delta
        self.set(key, max(value, 0), time=time)
        return max(value, 0)

    def decr(self, key, delta=1, time=0):
        return self.incr(key, -delta, time)

    def delete(self, key, server_key=None):
        self.items.pop(key, None)

    def set_multi(self, mapping, server_key, serialize=True, time=0,
                  **kwargs):
        for key, value in mapping.items():
            self.set(key, value, time=time)

    def get_multi(self, keys, server_key):
        return [self.get(key) for key in keys]

_now = time.time
import swift.common.middleware.memcache
swift.common.middleware.memcache.MemcacheRing = LocalCache

import eventlet, eventlet.wsgi
from swift.common import constraints, storage_policy
from swift.common.wsgi import loadapp, SwiftHttpProtocol
storage_policy.reload_storage_policies()
constraints.reload_constraints()
os.environ['TZ'] = 'UTC+0'
time.tzset()

servers = (('account', port + 1), ('container', port + 2),
           ('object', port + 3), ('proxy', port))
socks = [eventlet.listen(('127.0.0.1', p), reuse_port=False)
         for _, p in servers]
for (name, _), sock in zip(servers, socks):
    app = loadapp(os.path.join(etc, name + '-server.conf'),
                  global_conf={'log_name': name})
    eventlet.spawn(eventlet.wsgi.server, sock, app, utils.NullLogger(),
                   protocol=SwiftHttpProtocol, socket_timeout=60,
                   capitalize_response_headers=False)

# The ports are ours (not another server's that happens to answer).
open(os.path.join(os.path.dirname(etc), 'ready'), 'w').close()

watch = int(os.environ.get('RAG_S3_WATCH_PID') or 0)
while True:
    eventlet.sleep(1)
    if watch > 0:
        try:
            os.kill(watch, 0)
        except ProcessLookupError:
            os._exit(0)
        except PermissionError:
            pass
PY

: > "$dir/pids"
rm -f "$dir/ready"
"$PY" "$dir/serve.py" "$dir/etc" "$port" </dev/null \
	>"$dir/log/swift.log" 2>&1 &
pid=$!
echo "$pid" > "$dir/pids"

# Up when all four answer HTTP (the proxy's health check does not look at
# the others); failed for good as soon as the server exits.  A loaded
# machine can take half a minute.
answers() {
	curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$1/"
}
failed() {
	echo "swift-up.sh: $*; the end of '$dir/log/swift.log':" >&2
	tail -n 20 "$dir/log/swift.log" >&2
	sh "$(dirname "$0")/swift-down.sh" "$dir" >/dev/null 2>&1 || true
	exit 1
}
deadline=$(($(date +%s) + 90))
while [ "$(date +%s)" -lt "$deadline" ]; do
	if [ -f "$dir/ready" ] &&
		answers $((port + 1)) && answers $((port + 2)) &&
		answers $((port + 3)) &&
		curl -fs -o /dev/null --max-time 2 \
			"http://127.0.0.1:$port/healthcheck"; then
		echo "swift s3api on http://127.0.0.1:$port (pid $pid)"
		exit 0
	fi
	kill -0 "$pid" 2>/dev/null ||
		failed "Swift exited while starting" \
			"(is a port in $port-$((port + 3)) taken?)"
	sleep 0.1
done
failed "no answer on 127.0.0.1:$port after 90 s"
