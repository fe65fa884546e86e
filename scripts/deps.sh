#!/bin/sh
# deps.sh: install what rag needs to build and test; `make deps` runs it.
# This is the only place the project installs anything.  It is idempotent:
# when everything is present it prints one line and changes nothing.
set -eu

# Debian packages the project needs, one group per purpose.  To add a
# package, append it to the line of its group.
PACKAGES=
# build: compilers and build tools
PACKAGES="$PACKAGES build-essential autoconf pkg-config clang"
# fuzzing: libFuzzer and the sanitizer runtimes clang links (make fuzz)
PACKAGES="$PACKAGES libclang-rt-14-dev"
# libraries: headers the library and tools link against
PACKAGES="$PACKAGES libpq-dev libjansson-dev libcurl4-openssl-dev"
PACKAGES="$PACKAGES libarchive-dev libssl-dev libutf8proc-dev libstemmer-dev libexttextcat-dev libexttextcat-data libmupdf-dev"
PACKAGES="$PACKAGES libjbig2dec0-dev libopenjp2-7-dev libgumbo-dev libmujs-dev"
PACKAGES="$PACKAGES libjpeg-dev zlib1g-dev libharfbuzz-dev libfreetype-dev"
PACKAGES="$PACKAGES libfribidi-dev"
# OCR of scanned pages (rag-parse --ocr): Tesseract, its English model and
# its orientation and script detection
PACKAGES="$PACKAGES libtesseract-dev tesseract-ocr-eng tesseract-ocr-osd"
# database: the server the tests run, and its headers for building pgvector
# and rag's own extension (ext/rag_bm25); PgBouncer, which keeps the
# embedded cluster's backends warm between tools
PACKAGES="$PACKAGES postgresql postgresql-contrib postgresql-server-dev-15"
PACKAGES="$PACKAGES pgbouncer"
# tests: runners, checkers, and the clients the tests drive
PACKAGES="$PACKAGES bats bats-assert bats-support jq mandoc valgrind parallel"
PACKAGES="$PACKAGES python3-swift s3cmd awscli mupdf-tools poppler-utils"
PACKAGES="$PACKAGES tesseract-ocr"
# the cluster tests: shards fanned out by GNU parallel over ssh to sshd
# listening on two loopback addresses
PACKAGES="$PACKAGES openssh-server openssh-client"
# the Slurm recipe: a private slurmctld and slurmd run a job array, with
# their own munged for authentication (auth/none would trust any user id)
PACKAGES="$PACKAGES slurm-wlm munge"
PACKAGES="$PACKAGES curl procps python3 time zip zstd strace git"

# pgvector is built from Debian's own source package in trixie, because
# bookworm ships no pgvector for PostgreSQL 15.
PG_VERSION=15
PG_CONFIG=/usr/lib/postgresql/$PG_VERSION/bin/pg_config
VECTOR_CONTROL=/usr/share/postgresql/$PG_VERSION/extension/vector.control
PGVECTOR_SUITE=trixie
PGVECTOR_SOURCE=pgvector
PGVECTOR_SERIES=0.8
# only needed to unpack the source package (apt-get source runs dpkg-source)
PGVECTOR_BUILD_PACKAGES=dpkg-dev
# rag's own extension: installed when the server lacks it or has another
# build of it, told by a stamp of its sources' checksum beside the control
BM25_DIR=$(cd "$(dirname "$0")/../ext/rag_bm25" && pwd)
BM25_STAMP=/usr/share/postgresql/$PG_VERSION/extension/rag_bm25.sha256
DEBIAN_MIRROR=http://deb.debian.org/debian
DEFAULT_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

die()
{
	printf 'deps: %s\n' "$*" >&2
	exit 1
}

say()
{
	printf 'deps: %s\n' "$*" >&2
}

# Prints, space separated, those of the named packages that are not fully
# installed.  One dpkg-query call keeps the everything-present case fast.
missing_packages()
{
	# dpkg-query exits non-zero when it has never heard of a package;
	# such a package is simply missing, so its status does not matter.
	{ dpkg-query -W -f='${Package} ${Status}\n' "$@" 2>/dev/null || :; } |
	awk -v want="$*" '
		$4 == "installed" { have[$1] = 1 }
		END {
			n = split(want, w, " ")
			sep = ""
			for (i = 1; i <= n; i++)
				if (!(w[i] in have)) {
					printf "%s%s", sep, w[i]
					sep = " "
				}
		}'
}

# Sets SUDO to the command that gives root, or fails saying how to get it.
need_root()
{
	if [ "$(id -u)" -eq 0 ]; then
		SUDO=
	elif command -v sudo >/dev/null 2>&1; then
		SUDO=sudo
	else
		die "need root to $1, and sudo is not installed:" \
		    "run 'make deps' as root, or install sudo"
	fi
}

APT_UPDATED=no

install_packages()
{
	need_root "install $*"
	# Another apt (an unattended upgrade, a second make deps) may hold
	# dpkg's lock: wait for it rather than fail.
	APT_LOCK="-o DPkg::Lock::Timeout=600"
	if [ "$APT_UPDATED" = no ]; then
		say "apt-get update"
		$SUDO apt-get $APT_LOCK update -q ||
		    die "'apt-get update' failed: check the network" \
		        "and /etc/apt/sources.list.d, then run 'make deps' again"
		APT_UPDATED=yes
	fi
	say "installing $*"
	$SUDO env DEBIAN_FRONTEND=noninteractive \
	    apt-get $APT_LOCK install -y --no-install-recommends "$@" ||
	    die "'apt-get install' failed for: $*;" \
	        "read apt's message above, fix it, then run 'make deps' again"
}

# The keyring the system's own Debian sources trust, so the temporary
# trixie source list is checked against the same keys as everything else.
debian_keyring()
{
	keyring=
	if [ -r /etc/apt/sources.list.d/debian.sources ]; then
		keyring=$(sed -n 's/^Signed-By:[[:space:]]*//p' \
		    /etc/apt/sources.list.d/debian.sources | sed -n 1p)
	fi
	# An inline key block or no field at all: use Debian's own keyring.
	case $keyring in
	/*) ;;
	*) keyring=$DEFAULT_KEYRING ;;
	esac
	[ -r "$keyring" ] ||
	    die "cannot read the Debian archive keyring '$keyring':" \
	        "install debian-archive-keyring, then run 'make deps' again"
	printf '%s\n' "$keyring"
}

WORKDIR=

cleanup()
{
	if [ -n "$WORKDIR" ]; then
		# make install may have left root-owned files in the build tree
		${SUDO:-} rm -rf "$WORKDIR"
	fi
}

# Fetches Debian's pgvector source for $PGVECTOR_SUITE through a temporary
# source list (the system's apt configuration and lists stay untouched),
# builds it with PGXS against PostgreSQL $PG_VERSION, and installs it.
build_pgvector()
{
	need_root "install pgvector into PostgreSQL $PG_VERSION"
	[ -x "$PG_CONFIG" ] ||
	    die "'$PG_CONFIG' is missing: install postgresql-server-dev-$PG_VERSION"
	keyring=$(debian_keyring)

	trap cleanup EXIT
	trap 'exit 130' INT TERM
	WORKDIR=$(mktemp -d "${TMPDIR:-/tmp}/rag-deps.XXXXXX")
	# apt downloads as the unprivileged _apt user when run as root, and
	# that user must be able to reach the lists and the download directory
	chmod 755 "$WORKDIR"
	mkdir "$WORKDIR/lists" "$WORKDIR/cache" "$WORKDIR/src"
	if [ "$(id -u)" -eq 0 ] && id _apt >/dev/null 2>&1; then
		chown _apt "$WORKDIR/src"
	fi
	printf 'deb-src [signed-by=%s] %s %s main\n' \
	    "$keyring" "$DEBIAN_MIRROR" "$PGVECTOR_SUITE" \
	    >"$WORKDIR/sources.list"

	# apt-get runs as the invoking user: everything it writes is in
	# WORKDIR, so fetching the source needs no root.
	set -- -q \
	    -o Dir::Etc::SourceList="$WORKDIR/sources.list" \
	    -o Dir::Etc::SourceParts=/dev/null \
	    -o Dir::State::Lists="$WORKDIR/lists" \
	    -o Dir::Cache="$WORKDIR/cache" \
	    -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=

	say "fetching the $PGVECTOR_SUITE source index for $PGVECTOR_SOURCE"
	apt-get "$@" update ||
	    die "cannot fetch Debian's $PGVECTOR_SUITE source index;" \
	        "if apt says NO_PUBKEY, '$keyring' lacks $PGVECTOR_SUITE's key:" \
	        "upgrade debian-archive-keyring, then run 'make deps' again"

	say "fetching $PGVECTOR_SOURCE from $PGVECTOR_SUITE"
	(cd "$WORKDIR/src" && apt-get "$@" source "$PGVECTOR_SOURCE") ||
	    die "'apt-get source $PGVECTOR_SOURCE' failed: read apt's" \
	        "message above, then run 'make deps' again"

	dsc=
	for f in "$WORKDIR/src/$PGVECTOR_SOURCE"_*.dsc; do
		[ -f "$f" ] && dsc=$f
	done
	[ -n "$dsc" ] || die "apt-get source left no .dsc for $PGVECTOR_SOURCE"
	version=$(sed -n 's/^Version:[[:space:]]*//p' "$dsc" | sed -n 1p)
	case $version in
	"$PGVECTOR_SERIES".*) ;;
	*) die "$PGVECTOR_SUITE has $PGVECTOR_SOURCE '$version'," \
	       "not $PGVECTOR_SERIES.x: update PGVECTOR_SUITE or" \
	       "PGVECTOR_SERIES in scripts/deps.sh" ;;
	esac
	upstream=${version#*:}
	upstream=${upstream%-*}
	srcdir=$WORKDIR/src/$PGVECTOR_SOURCE-$upstream
	[ -d "$srcdir" ] ||
	    die "'$srcdir' is missing: did dpkg-source fail to unpack it?"

	# Debian's no-native patch already drops upstream's -march=native;
	# OPTFLAGS= says so again in case a later upload loses the patch, so
	# the library never depends on this machine's CPU.
	say "building $PGVECTOR_SOURCE $version for PostgreSQL $PG_VERSION"
	make -C "$srcdir" -s PG_CONFIG="$PG_CONFIG" OPTFLAGS= ||
	    die "building $PGVECTOR_SOURCE failed: read the compiler's" \
	        "message above, then run 'make deps' again"
	$SUDO make -C "$srcdir" -s PG_CONFIG="$PG_CONFIG" OPTFLAGS= install ||
	    die "installing $PGVECTOR_SOURCE failed: read the message above"

	cleanup
	WORKDIR=
	trap - EXIT INT TERM
	[ -f "$VECTOR_CONTROL" ] ||
	    die "pgvector installed, but '$VECTOR_CONTROL' is still missing:" \
	        "check that '$PG_CONFIG --sharedir' is" \
	        "/usr/share/postgresql/$PG_VERSION"
	say "installed $PGVECTOR_SOURCE $version"
}

bm25_sum()
{
	(cd "$BM25_DIR" && cat Makefile rag_bm25.c rag_bm25.control \
	    rag_bm25--*.sql) | sha256sum | cut -d' ' -f1
}

# Builds ext/rag_bm25 with PGXS in a copy (the tree stays the user's even
# when this runs as root) and installs it into PostgreSQL $PG_VERSION.
install_bm25()
{
	need_root "install rag_bm25 into PostgreSQL $PG_VERSION"
	[ -x "$PG_CONFIG" ] ||
	    die "'$PG_CONFIG' is missing: install postgresql-server-dev-$PG_VERSION"
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	WORKDIR=$(mktemp -d "${TMPDIR:-/tmp}/rag-deps.XXXXXX")
	cp -R "$BM25_DIR" "$WORKDIR/rag_bm25"
	rm -f "$WORKDIR"/rag_bm25/*.o "$WORKDIR"/rag_bm25/*.so \
	    "$WORKDIR"/rag_bm25/*.bc
	say "building rag_bm25 (ext/rag_bm25) for PostgreSQL $PG_VERSION"
	make -C "$WORKDIR/rag_bm25" -s PG_CONFIG="$PG_CONFIG" ||
	    die "building rag_bm25 failed: read the compiler's message above"
	$SUDO make -C "$WORKDIR/rag_bm25" -s PG_CONFIG="$PG_CONFIG" install ||
	    die "installing rag_bm25 failed: read the message above"
	bm25_sum | $SUDO tee "$BM25_STAMP" >/dev/null ||
	    die "cannot write '$BM25_STAMP'"
	cleanup
	WORKDIR=
	trap - EXIT INT TERM
	say "installed rag_bm25"
}

main()
{
	want=$PACKAGES
	need_vector=no
	if [ ! -f "$VECTOR_CONTROL" ]; then
		need_vector=yes
		want="$want $PGVECTOR_BUILD_PACKAGES"
	fi
	# shellcheck disable=SC2086 # the package list is meant to split
	missing=$(missing_packages $want)

	need_bm25=no
	if [ "$(cat "$BM25_STAMP" 2>/dev/null)" != "$(bm25_sum)" ]; then
		need_bm25=yes
	fi

	if [ -z "$missing" ] && [ "$need_vector" = no ] &&
	    [ "$need_bm25" = no ]; then
		echo "deps: all present"
		return 0
	fi
	if [ -n "$missing" ]; then
		# shellcheck disable=SC2086
		install_packages $missing
		# shellcheck disable=SC2086
		still=$(missing_packages $missing)
		[ -z "$still" ] ||
		    die "still missing after apt-get install: $still"
	fi
	if [ "$need_vector" = yes ]; then
		build_pgvector
	fi
	if [ "$need_bm25" = yes ]; then
		install_bm25
	fi
	echo "deps: done"
}

main "$@"
