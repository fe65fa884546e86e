#!/bin/sh
# demo.sh: run by "make demo" after the build.  Shows the embedded default
# as far as it exists: the pipeline tools arrive with their own commits.
set -eu
cd "$(dirname "$0")/.."
PATH=$PWD/bin:$PATH
export PATH
echo "demo: starting the embedded database (RAG_HOME=${RAG_HOME:-~/.local/share/rag})"
rag-db start
rag-db status
echo "demo: the ingestion tools (rag-upload ... rag-query) are not built yet;"
echo "demo: this demo shows the database they will use."
