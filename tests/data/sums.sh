#!/bin/sh
# sums.sh: prints the table of every file under tests/data (but
# SOURCES.md and this script) with its size and SHA-256, as the end of
# tests/data/SOURCES.md carries it.  After adding or changing test data:
#   sh tests/data/sums.sh > /tmp/t && sed -i '/^<!-- sums -->$/,$d' \
#     tests/data/SOURCES.md && cat /tmp/t >> tests/data/SOURCES.md
# (tests/bats/data.bats fails until the table is right.)
set -eu
cd "$(dirname "$0")"
echo '<!-- sums -->'
echo '| file | bytes | sha256 |'
echo '|---|---|---|'
LC_ALL=C find . -type f ! -name SOURCES.md ! -name sums.sh -printf '%P\n' | LC_ALL=C sort |
while IFS= read -r f; do
	printf '| %s | %s | %s |\n' "$f" "$(stat -c %s "$f")" \
	    "$(sha256sum "$f" | cut -d' ' -f1)"
done
