# tests/fuzz/fuzz.mk: the libFuzzer harnesses (tests/fuzz/README.md).
# The library is compiled again with clang, instrumented for coverage
# (fuzzer-no-link) and the sanitizers, into build/fuzz/; each harness
# links it with libFuzzer's main.

FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_CHECK_SECONDS ?= 3
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
FUZZ_CFLAGS := -g -O1 $(FUZZ_SAN) -fsanitize=fuzzer-no-link
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(FUZZ_SRC))
FUZZ_BIN := $(addprefix build/fuzz/bin/fuzz_,$(FUZZ_NAMES))
FUZZ_LIB_OBJ := $(patsubst %.c,build/fuzz/%.o,$(LIB_SRC)) \
	build/fuzz/gen/sql_embed.o

.PHONY: fuzz fuzz-build fuzz-check

build/fuzz/gen/%.o: build/gen/%.c
	@mkdir -p $(@D)
	@$(FUZZ_CC) $(WARN) $(DEFS) $(INC) $(PKG_CFLAGS) $(FUZZ_CFLAGS) -c $< -o $@
build/fuzz/%.o: %.c config.mk
	@mkdir -p $(@D)
	@echo '  CC fuzz $<'
	@$(FUZZ_CC) $(WARN) $(DEFS) $(INC) $(PKG_CFLAGS) $(MUPDF_CFLAGS) \
		$(FUZZ_CFLAGS) -MMD -MP -c $< -o $@
build/fuzz/librag.a: $(FUZZ_LIB_OBJ)
	@echo '  AR     $@'
	@rm -f $@ && ar rcs $@ $^
build/fuzz/bin/fuzz_%: build/fuzz/tests/fuzz/fuzz_%.o build/fuzz/librag.a
	@mkdir -p $(@D)
	@echo '  LD fuzz $@'
	@$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $< \
		build/fuzz/librag.a $(LIBS)

fuzz-build: $(FUZZ_BIN)

# Fuzzes each harness for FUZZ_SECONDS: what it learns goes to
# build/fuzz/corpus/NAME (merge the best into tests/fuzz/corpus by hand),
# what crashes to tests/fuzz/crashes/NAME.
fuzz: $(FUZZ_BIN)
	@tests/fuzz/run fuzz $(FUZZ_SECONDS) $(FUZZ_NAMES)

# Replays every corpus input and past crash, then fuzzes each harness
# for FUZZ_CHECK_SECONDS.
fuzz-check: $(FUZZ_BIN)
	@tests/fuzz/run check $(FUZZ_CHECK_SECONDS) $(FUZZ_NAMES)
