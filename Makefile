# fdlab — top-level Makefile.
#
# Everything is discovered, nothing is listed by hand:
#   common/runtime/*.c    -> build/$(V)/libfdrt.a    what a server is built from
#   common/kit/*.c        -> build/$(V)/libfdkit.a   the course's kit for labs, benches, tests
#                            (common/*/test_*.c are their tests, one binary)
#   labs/NN-name/*.c      -> one program per file, build/$(V)/labs/NN-name/<file>
#                            (labs/NN-name/test_*.c are the lab's Criterion tests,
#                             labs/NN-name/lib/*.c are objects shared by that lab's programs)
#   bench/*.c             -> one program per file, build/$(V)/bench/<file>
# A lab's entry point is the program `lab` (labs/NN-name/lab.c): `make lab-N` runs it.
# Optional per-directory extras live in labs/NN-name/lab.mk or bench/bench.mk (included).
#
# Build variants (V=...), each in its own directory under build/:
#   gcc    -O2, the default                      clang  same flags, clang
#   asan   gcc with -fsanitize=address,undefined
# Every variant uses -std=gnu17 -Wall -Wextra -Werror.

V ?= gcc
BUILD ?= build/$(V)

ifeq ($(V),gcc)
  override CC := gcc
  VFLAGS := -O2 -g
else ifeq ($(V),clang)
  override CC := clang
  VFLAGS := -O2 -g
else ifeq ($(V),asan)
  override CC := gcc
  VFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
  VLDFLAGS := -fsanitize=address,undefined
else
  $(error unknown variant V=$(V): use gcc, clang or asan)
endif

CFLAGS := -std=gnu17 -Wall -Wextra -Werror -D_GNU_SOURCE -Icommon/runtime -Icommon/kit -MMD -MP $(VFLAGS)
LDFLAGS := $(VLDFLAGS)
LDLIBS := -lpthread
# Criterion is only needed by tests; pkg-config is asked lazily so that `make lab-1`
# works on a machine where `make deps` has not run yet.
CRITERION_CFLAGS = $(shell pkg-config --cflags criterion 2>/dev/null)
CRITERION_LIBS = $(shell pkg-config --libs criterion 2>/dev/null || echo -lcriterion)

# ---------------------------------------------------------------- common libraries
# Two archives: the runtime (no course code in it) and the kit, which may use the
# runtime. A program names both and the linker takes only the objects it uses.
RT_SRC := $(filter-out common/runtime/test_%.c,$(wildcard common/runtime/*.c))
KIT_SRC := $(filter-out common/kit/test_%.c,$(wildcard common/kit/*.c))
COMMON_SRC := $(RT_SRC) $(KIT_SRC)
COMMON_TEST_SRC := $(wildcard common/runtime/test_*.c common/kit/test_*.c)
RT_LIB := $(BUILD)/libfdrt.a
KIT_LIB := $(BUILD)/libfdkit.a
LIB := $(KIT_LIB) $(RT_LIB)

$(RT_LIB): $(RT_SRC:%.c=$(BUILD)/%.o)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^
$(KIT_LIB): $(KIT_SRC:%.c=$(BUILD)/%.o)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

# ---------------------------------------------------------------- labs
LAB_DIRS := $(patsubst %/,%,$(sort $(dir $(wildcard labs/[0-9][0-9]-*/lab.c))))
ALL_PROGS :=
ALL_TESTS := $(BUILD)/tests/common

# lab_rules(dir): programs, lab-local objects, the test binary and `make lab-N`.
define lab_rules
$(1)_NAME := $(notdir $(1))
$(1)_NUM := $(shell echo $(notdir $(1)) | cut -c1-2)
$(1)_LOCAL := $(patsubst %.c,$(BUILD)/%.o,$(wildcard $(1)/lib/*.c))
$(1)_PROGS := $(patsubst %.c,$(BUILD)/%,$(filter-out $(1)/test_%.c,$(wildcard $(1)/*.c)))
$(1)_TEST_SRC := $(wildcard $(1)/test_*.c)
ALL_PROGS += $$($(1)_PROGS)
ifneq ($$($(1)_TEST_SRC),)
ALL_TESTS += $(BUILD)/tests/$$($(1)_NAME)
$(BUILD)/tests/$$($(1)_NAME): $$($(1)_TEST_SRC:%.c=$(BUILD)/%.o) $$($(1)_LOCAL) $(LIB)
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(CRITERION_LIBS) $$(LDLIBS)
endif
$$($(1)_PROGS): $(BUILD)/$(1)/%: $(BUILD)/$(1)/%.o $$($(1)_LOCAL) $(LIB)
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
$(1)_ALIASES := $$(sort lab-$$($(1)_NUM) lab-$$(patsubst 0%,%,$$($(1)_NUM)))
.PHONY: $$($(1)_ALIASES) build-lab-$$($(1)_NUM)
build-lab-$$($(1)_NUM): $$($(1)_PROGS)
$$($(1)_ALIASES): build-lab-$$($(1)_NUM)
	@FDLAB_BUILD=$(BUILD) $(BUILD)/$(1)/lab
-include $(1)/lab.mk
endef
$(foreach d,$(LAB_DIRS),$(eval $(call lab_rules,$(d))))

# ---------------------------------------------------------------- bench programs
BENCH_LOCAL := $(patsubst %.c,$(BUILD)/%.o,$(wildcard bench/lib/*.c))
BENCH_PROGS := $(patsubst %.c,$(BUILD)/%,$(wildcard bench/*.c))
ALL_PROGS += $(BENCH_PROGS)
$(BENCH_PROGS): $(BUILD)/bench/%: $(BUILD)/bench/%.o $(BENCH_LOCAL) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
-include bench/bench.mk

# ---------------------------------------------------------------- fuzzing
# Each common/fuzz/fuzz_*.c is a libFuzzer target over the runtime library,
# built with clang -fsanitize=fuzzer,address,undefined into build/fuzz/.
# `make fuzz` runs each for FUZZ_SECONDS on a scratch copy of its seed corpus
# (common/fuzz/corpus/<target>/ when present), so the repository is never written.
FUZZ_SECONDS ?= 15
FUZZ_SRC := $(wildcard common/fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRC:common/fuzz/%.c=build/fuzz/%)
FUZZ_FLAGS := -std=gnu17 -D_GNU_SOURCE -Wall -Wextra -Werror -Icommon/runtime -g -O1 \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
build/fuzz/%: common/fuzz/%.c $(RT_SRC) $(wildcard common/runtime/*.h)
	@mkdir -p $(@D)
	clang $(FUZZ_FLAGS) -o $@ $< $(RT_SRC) -lpthread

fuzz: $(FUZZ_BINS)   ## build the libFuzzer targets and run each for FUZZ_SECONDS
	@set -e; for b in $(FUZZ_BINS); do \
	  t=$$(basename $$b); work=build/fuzz/$$t.corpus; rm -rf $$work; mkdir -p $$work; \
	  if [ -d common/fuzz/corpus/$$t ]; then cp common/fuzz/corpus/$$t/* $$work/ 2>/dev/null || true; fi; \
	  echo "fuzz: $$t for $(FUZZ_SECONDS)s"; \
	  $$b -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 -artifact_prefix=build/fuzz/ $$work 2>build/fuzz/$$t.log \
	    || { tail -n 40 build/fuzz/$$t.log; echo "fuzz: $$t FAILED (artifact in build/fuzz/)"; exit 1; }; \
	  grep -E '^stat::number_of_executed_runs' build/fuzz/$$t.log | sed "s/^/fuzz: $$t /"; \
	done

# ---------------------------------------------------------------- tests
$(BUILD)/tests/common: $(COMMON_TEST_SRC:%.c=$(BUILD)/%.o) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(CRITERION_LIBS) $(LDLIBS)

# Test objects need Criterion's include flags (empty on Debian, but be correct).
$(BUILD)/common/runtime/test_%.o $(BUILD)/common/kit/test_%.o $(BUILD)/labs/%.o: CFLAGS += $(CRITERION_CFLAGS)

.DEFAULT_GOAL := all
.PHONY: all help test check deps labs clean build-tests plots bench bench-deps fuzz server

server: build-lab-11   ## build fdhttpd and serve the bundled site on 127.0.0.1:8080 (Ctrl-C stops)
	$(BUILD)/labs/11-fdhttpd/fdhttpd --listen 127.0.0.1:8080 --root labs/11-fdhttpd/site

# Benchmarks always use the -O2 gcc build, whatever V says.
QUICK ?= 0
bench-deps:
	@sh common/mk/deps.sh gnuplot-nox
# `make bench`: every bench in order (bench/NN-*.sh, ch30, server), then every plot and
# results/bench-summary.md; see common/mk/bench-all.sh. QUICK=1: a short rehearsal into
# build/bench-quick/ (results/ untouched).
bench: bench-deps   ## re-measure the whole course: every bench, every plot, results/bench-summary.md
	$(MAKE) --no-print-directory V=gcc all
	@QUICK=$(QUICK) sh common/mk/bench-all.sh
bench-%: bench-deps   ## make bench-N: run lab N's benchmark, write results/ and its plot
	$(MAKE) --no-print-directory V=gcc all
	@sh common/mk/bench.sh $*

plots: bench-deps   ## redraw every plot from the committed data in results/ (runs nothing)
	@sh common/mk/plots.sh

all: $(LIB) $(ALL_PROGS) $(ALL_TESTS)   ## build every library, program and test (V=gcc|clang|asan)

build-tests: $(ALL_TESTS) $(ALL_PROGS)

# `check` runs this variant's tests; `test` is the one command: deps, gcc, asan, clang.
check: build-tests
	@echo "---- smoke: every design of bench/ch30srv and fdhttpd, 200 connections each"
	@FDLAB_BUILD=$(BUILD) sh bench/ch30.sh --smoke
	@FDLAB_BUILD=$(BUILD) sh common/mk/runtests.sh $(BUILD) $(ALL_TESTS)

test: deps   ## the test command: gcc build + tests, ASan/UBSan build + tests, clang build
	$(MAKE) --no-print-directory V=gcc check
	$(MAKE) --no-print-directory V=asan check
	$(MAKE) --no-print-directory V=clang all
	$(MAKE) --no-print-directory fuzz
	@echo "test: all variants passed (gcc, asan+ubsan, clang build, fuzz)"

deps:   ## install missing build/test dependencies (apt-get; sudo when not root)
	@sh common/mk/deps.sh

labs: $(addprefix build-lab-,$(foreach d,$(LAB_DIRS),$($(d)_NUM)))   ## run every lab in order
	@set -e; for d in $(LAB_DIRS); do \
	  echo "======== $$d"; FDLAB_BUILD=$(BUILD) $(BUILD)/$$d/lab; done

clean:   ## remove every build output
	rm -rf build

help:   ## list every target
	@echo "fdlab make targets:"
	@echo "  make lab-N        build and run lab N (lab-1 or lab-01), exit 0 if it showed its claim"
	@echo "  make build-lab-N  build lab N's programs without running them (N two digits: build-lab-01)"
	@echo "  make labs         run every lab in order"
	@echo "  make server       build fdhttpd (lab 11) and serve the bundled site on 127.0.0.1:8080"
	@echo "  make test         install deps, run all tests with gcc, then ASan+UBSan, build with clang, fuzz briefly"
	@echo "  make check        run the tests of one variant only (V=gcc|asan|clang)"
	@echo "  make all          build everything for one variant (V=gcc by default)"
	@echo "  make build-tests  build every test binary and program for one variant"
	@echo "  make deps         install missing build/test dependencies"
	@echo "  make fuzz         build the libFuzzer targets (common/fuzz/) and run each FUZZ_SECONDS (15)"
	@echo "  make clean        remove build/"
	@echo "  make bench        re-measure everything (every bench-N, bench-ch30, bench-server), redraw every"
	@echo "                    plot, write results/bench-summary.md: 8 m 30 s measured on 2 cores (server 4 min,"
	@echo "                    bench-12 75 s, bench-5 55 s); each bench capped at BENCH_LIMIT=900 s."
	@echo "                    QUICK=1: a 1.5-2 min rehearsal into build/bench-quick/, results/ untouched"
	@echo "  make bench-N      run lab N's benchmark (bench/NN-*.sh): data and plot into results/"
	@echo "  make plots        redraw every plot from committed data, without re-running anything"
	@echo "  make bench-deps   install gnuplot when missing (bench-N and plots do it themselves)"
	@$(foreach f,$(wildcard labs/*/lab.mk bench/bench.mk),grep -h '^#help ' $(f) | sed 's/^#help /  /';)
	@echo "labs:"; for d in $(LAB_DIRS); do echo "  $$d"; done

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
