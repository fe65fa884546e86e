# rag: GNU Makefile.  "make" builds the tools into bin/; "make check"
# installs what is missing, builds, and runs every test; "make demo" runs
# the main job on the embedded default.  See README.md.

SHELL := /bin/bash
.DEFAULT_GOAL := all
PREFIX ?= /usr/local
DESTDIR ?=

# Goals that must work before configure can: they call make again for the
# goals that need config.mk, after installing what configure looks for.
NOCONF_GOALS := deps clean distclean check demo help bench
ifneq ($(filter-out $(NOCONF_GOALS),$(or $(MAKECMDGOALS),all)),)
-include config.mk
endif

configure: configure.ac
	@command -v autoconf >/dev/null || { echo "make: autoconf is missing: run 'make deps' first" >&2; exit 1; }
	autoconf

config.mk: configure config.mk.in
	./configure --quiet --prefix=$(PREFIX)

# ---- sources -----------------------------------------------------------
LIB_SRC := $(sort $(wildcard lib/*.c))
CMD_SRC := $(sort $(wildcard cmd/rag-*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
TOOLS := $(patsubst cmd/%.c,%,$(CMD_SRC))
SQL := $(sort $(wildcard sql/[0-9][0-9][0-9][0-9]-*.sql))
MAN := $(sort $(wildcard man/*.[157]))

WARN := -std=c17 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wformat=2 -Wno-format-nonliteral
DEFS := -D_GNU_SOURCE -DRAG_VERSION='"$(VERSION)"' \
	-DRAG_PG_BINDIR='"$(PG_BINDIR)"'
INC := -Ilib -Ibuild/gen
LIBS := $(PKG_LIBS) $(MUPDF_LIBS) -lm -lpthread

SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined
REL_CFLAGS := $(CFLAGS_USER) $(if $(filter yes,$(SANITIZE)),$(SAN_FLAGS))
SAN_CFLAGS := -g -O1 $(SAN_FLAGS)

# Two builds from one tree: build/rel (bin/, what users run) and build/san
# (sanitizers, what the tests run).
REL_LIB_OBJ := $(patsubst %.c,build/rel/%.o,$(LIB_SRC)) build/rel/gen/sql_embed.o
SAN_LIB_OBJ := $(patsubst %.c,build/san/%.o,$(LIB_SRC)) build/san/gen/sql_embed.o
REL_BIN := $(addprefix bin/,$(TOOLS))
SAN_BIN := $(addprefix build/san/bin/,$(TOOLS))
UNIT_BIN := $(patsubst tests/unit/%.c,build/san/tests/%,$(UNIT_SRC))

.PHONY: all san check deps demo install uninstall clean distclean help \
	install-ext install-ext-yes install-ext-no install-ext-auto \
	unit bats check-build lint bench bench-tools ext

all: $(REL_BIN) ext

# rag's PostgreSQL extension (ext/rag_bm25), built with PGXS against the
# server's pg_config; make deps installs it (rag_search does without it).
PG_CONFIG = $(PG_BINDIR)/pg_config
ext:
	@$(MAKE) --no-print-directory -s -C ext/rag_bm25 PG_CONFIG=$(PG_CONFIG)

help:
	@echo "make            build the tools into bin/"
	@echo "make check      install what is missing, build, run every test"
	@echo "make demo       install what is missing, build, ingest the sample PDFs, answer a question"
	@echo "make bench      run the benchmarks: each stage next to its baseline (tests/bench/README.md)"
	@echo "make deps       install the Debian packages and pgvector rag needs"
	@echo "make install    install into \$$DESTDIR\$$PREFIX (PREFIX=$(PREFIX))"
	@echo "make install-ext  install the BM25 extension into PostgreSQL's folders (needs their owner)"
	@echo "make uninstall  remove what install put there"
	@echo "make clean      remove build products"

build/gen/sql_embed.c: $(SQL) scripts/embed-sql.sh
	@mkdir -p $(@D)
	@echo '  GEN    $@'
	@sh scripts/embed-sql.sh $(SQL) > $@.tmp && mv $@.tmp $@

build/rel/gen/%.o: build/gen/%.c
	@mkdir -p $(@D)
	@$(CC) $(WARN) $(DEFS) $(INC) $(PKG_CFLAGS) $(REL_CFLAGS) -c $< -o $@
build/san/gen/%.o: build/gen/%.c
	@mkdir -p $(@D)
	@$(CC) $(WARN) $(DEFS) $(INC) $(PKG_CFLAGS) $(SAN_CFLAGS) -c $< -o $@

build/rel/%.o: %.c config.mk
	@mkdir -p $(@D)
	@echo '  CC     $<'
	@$(CC) $(WARN) $(DEFS) $(INC) $(PKG_CFLAGS) $(MUPDF_CFLAGS) $(REL_CFLAGS) -MMD -MP -c $< -o $@
build/san/%.o: %.c config.mk
	@mkdir -p $(@D)
	@echo '  CC san $<'
	@$(CC) $(WARN) $(DEFS) $(INC) -Itests/unit $(PKG_CFLAGS) $(MUPDF_CFLAGS) $(SAN_CFLAGS) -MMD -MP -c $< -o $@

build/rel/librag.a: $(REL_LIB_OBJ)
	@echo '  AR     $@'
	@rm -f $@ && ar rcs $@ $^
build/san/librag.a: $(SAN_LIB_OBJ)
	@echo '  AR     $@'
	@rm -f $@ && ar rcs $@ $^

# A tool is cmd/<tool>.c, plus the files of cmd/<tool>/ when it has one
# (as rag-db's upkeep commands), as git keeps builtin/ beside git.c.
.SECONDEXPANSION:
tool_objs = $(patsubst %.c,build/$(1)/%.o,$(wildcard cmd/$(2)/*.c))
bin/%: build/rel/cmd/%.o $$(call tool_objs,rel,$$*) build/rel/librag.a
	@mkdir -p $(@D)
	@echo '  LD     $@'
	@$(CC) $(REL_CFLAGS) $(LDFLAGS_USER) -Wl,--as-needed -o $@ $(filter %.o,$^) build/rel/librag.a $(LIBS)
build/san/bin/%: build/san/cmd/%.o $$(call tool_objs,san,$$*) build/san/librag.a
	@mkdir -p $(@D)
	@echo '  LD san $@'
	@$(CC) $(SAN_CFLAGS) -o $@ $(filter %.o,$^) build/san/librag.a $(LIBS)
build/san/tests/%: build/san/tests/unit/%.o build/san/librag.a
	@mkdir -p $(@D)
	@echo '  LD san $@'
	@$(CC) $(SAN_CFLAGS) -o $@ $< build/san/librag.a $(LIBS)

san: $(SAN_BIN) $(UNIT_BIN)

include tests/fuzz/fuzz.mk

-include $(shell find build -name '*.d' 2>/dev/null)

# ---- tests -------------------------------------------------------------
check-build: all san lint

unit: $(UNIT_BIN)
	@tests/run-unit $(UNIT_BIN)

bats: $(SAN_BIN)
	@RAG_BIN=$(abspath build/san/bin) tests/run-bats

lint:
	@tests/lint-man $(MAN)

# The builds use every core (a plain 'make check' would build one file
# at a time); the tests then run as they are.
NPROC := $(shell nproc 2>/dev/null || echo 2)

check:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory -j$(NPROC) check-build fuzz-build
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory fuzz-check
	@$(MAKE) --no-print-directory bats

deps:
	@sh scripts/deps.sh

demo:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory -j$(NPROC) all
	@scripts/demo.sh

bench:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory all bench-tools
	@tests/bench/run

# Programs the benchmarks run beside the tools (release build).
BENCH_BIN := build/rel/bench/answer_bench
bench-tools: $(BENCH_BIN)
build/rel/bench/%: build/rel/tests/bench/%.o build/rel/librag.a
	@mkdir -p $(@D)
	@echo '  LD     $@'
	@$(CC) $(REL_CFLAGS) -o $@ $< build/rel/librag.a $(LIBS)

# ---- install -----------------------------------------------------------
BINDIR := $(DESTDIR)$(PREFIX)/bin
MANDIR := $(DESTDIR)$(PREFIX)/share/man
DATADIR := $(DESTDIR)$(PREFIX)/share/rag
BASHCOMPDIR := $(DESTDIR)$(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR := $(DESTDIR)$(PREFIX)/share/zsh/vendor-completions

install: all
	install -d $(BINDIR) $(DATADIR)/sql $(BASHCOMPDIR) $(ZSHCOMPDIR)
	install -m 755 $(REL_BIN) $(BINDIR)
	install -m 644 $(SQL) $(DATADIR)/sql
	for m in $(MAN); do s=$${m##*.}; install -d $(MANDIR)/man$$s; \
		install -m 644 $$m $(MANDIR)/man$$s; done
	install -m 644 completions/rag.bash $(BASHCOMPDIR)/rag
	for t in $(TOOLS); do ln -sf rag $(BASHCOMPDIR)/$$t; done
	install -m 644 completions/_rag $(ZSHCOMPDIR)/_rag
	@$(MAKE) --no-print-directory install-ext-$(INSTALL_EXT)

# The BM25 extension goes into PostgreSQL's own folders, not PREFIX's:
# INSTALL_EXT=auto (the default) installs it when those are writable (or
# with DESTDIR, for a package) and otherwise says how; yes always, no never.
# rag works without it, ranking by every posting (rag-query(1), BM25).
INSTALL_EXT ?= auto
EXT_DIRS = $$($(PG_CONFIG) --pkglibdir) $$($(PG_CONFIG) --sharedir)/extension
install-ext install-ext-yes:
	$(MAKE) -C ext/rag_bm25 PG_CONFIG=$(PG_CONFIG) DESTDIR=$(DESTDIR) install
install-ext-no:
install-ext-auto:
	@if [ -n "$(DESTDIR)" ] || ( for d in $(EXT_DIRS); do \
		[ -w "$$d" ] || exit 1; done ); then \
		$(MAKE) --no-print-directory install-ext-yes; \
	else \
		echo "rag_bm25 not installed: PostgreSQL's folders ($(EXT_DIRS)) are not writable; run 'sudo make install-ext' (or 'make deps') for pruned BM25"; \
	fi

uninstall:
	rm -f $(addprefix $(BINDIR)/,$(TOOLS))
	rm -rf $(DATADIR)
	for m in $(MAN); do s=$${m##*.}; rm -f $(MANDIR)/man$$s/$${m##*/}; done
	rm -f $(BASHCOMPDIR)/rag $(addprefix $(BASHCOMPDIR)/,$(TOOLS))
	rm -f $(ZSHCOMPDIR)/_rag
	@if [ "$(INSTALL_EXT)" != no ]; then \
		$(MAKE) -C ext/rag_bm25 PG_CONFIG=$(PG_CONFIG) DESTDIR=$(DESTDIR) uninstall; fi

clean:
	rm -rf build bin
	rm -f ext/rag_bm25/*.o ext/rag_bm25/*.so ext/rag_bm25/*.bc

distclean: clean
	rm -rf config.mk config.log config.status configure autom4te.cache
.SECONDARY:
