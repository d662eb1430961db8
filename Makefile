# fdlab — top-level Makefile.
#
# Everything is discovered, nothing is listed by hand:
#   common/runtime/*.c    -> build/$(V)/libfdrt.a    what a server is built from
#   common/kit/*.c        -> build/$(V)/libfdkit.a   the course's kit for labs, benches, tests
#                            (common/*/test_*.c are their tests, one binary)
#   labs/NN-name/*.c      -> one program per file, build/$(V)/labs/NN-name/<file>
#                            (labs/NN-name/test_*.c are the lab's Criterion tests,
#                             labs/NN-name/lib/*.c are objects shared by that lab's programs,
#                             linked from an archive: a program takes only what it uses)
#   bench/*.c             -> one program per file, build/$(V)/bench/<file>
# A lab's entry point is the program `lab` (labs/NN-name/lab.c): `make lab-N` runs it.
# Optional per-directory extras live in labs/NN-name/lab.mk or bench/bench.mk (included).
# `make help` is written from these files: the `## text` after a target, and `#help`
# lines (common/mk/help.awk).
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
# DRAW=1 (any value but 0 or empty): `make lab-N` also draws lab N's descriptor tables.
DRAWING := $(filter-out 0,$(DRAW))
LAB_DIRS := $(patsubst %/,%,$(sort $(dir $(wildcard labs/[0-9][0-9]-*/lab.c))))
ALL_PROGS :=
ALL_TESTS := $(BUILD)/tests/common

# lab_rules(dir): programs, lab-local objects, the test binary and `make lab-N`.
#help make lab-N        build and run lab N (lab-1 or lab-01); exits 0 when it showed its claim
#help make build-lab-NN build lab NN's programs without running them (two digits: build-lab-01)
define lab_rules
$(1)_NAME := $(notdir $(1))
$(1)_NUM := $(shell echo $(notdir $(1)) | cut -c1-2)
$(1)_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(wildcard $(1)/lib/*.c))
# The lab's lib/ objects as an archive: each program takes only the objects it uses.
$(1)_LOCAL := $$(if $$($(1)_OBJS),$(BUILD)/$(1)/lib/liblab.a)
$(BUILD)/$(1)/lib/liblab.a: $$($(1)_OBJS)
	@mkdir -p $$(@D)
	rm -f $$@ && $(AR) rcs $$@ $$^
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
	@FDLAB_BUILD=$(BUILD) $(if $(DRAWING),FDLAB_DRAW=$(CURDIR)/results )$(BUILD)/$(1)/lab$(if $(DRAWING), && sh common/mk/draw.sh $$($(1)_NUM))
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

fuzz: $(FUZZ_BINS)   ## build the libFuzzer targets (common/fuzz/) and run each FUZZ_SECONDS (15)
	@set -e; for b in $(FUZZ_BINS); do \
	  t=$$(basename $$b); work=build/fuzz/$$t.corpus; rm -rf $$work; mkdir -p $$work; \
	  if [ -d common/fuzz/corpus/$$t ]; then cp common/fuzz/corpus/$$t/* $$work/ 2>/dev/null || true; fi; \
	  echo "fuzz: $$t for $(FUZZ_SECONDS)s"; \
	  $$b -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 -artifact_prefix=build/fuzz/ $$work 2>build/fuzz/$$t.log \
	    || { tail -n 40 build/fuzz/$$t.log; echo "fuzz: $$t FAILED (artifact in build/fuzz/)"; exit 1; }; \
	  runs=$$(sed -n 's/^stat::number_of_executed_units: *//p' build/fuzz/$$t.log); \
	  [ -n "$$runs" ] || { tail -n 20 build/fuzz/$$t.log; echo "fuzz: $$t printed no run count"; exit 1; }; \
	  echo "fuzz: $$t ran $$runs inputs, no crash"; \
	done

# ---------------------------------------------------------------- tests
$(BUILD)/tests/common: $(COMMON_TEST_SRC:%.c=$(BUILD)/%.o) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(CRITERION_LIBS) $(LDLIBS)

# Test objects need Criterion's include flags (empty on Debian, but be correct).
$(BUILD)/common/runtime/test_%.o $(BUILD)/common/kit/test_%.o $(BUILD)/labs/%.o: CFLAGS += $(CRITERION_CFLAGS)

.DEFAULT_GOAL := all
.PHONY: all help test check deps labs clean build-tests plots bench bench-deps fuzz server conformance docs check-docs pictures

# Descriptor-table pictures (common/kit/fdsnap.h): `make lab-N DRAW=1` lets lab N draw
# its key moments into results/NN-*.dot and renders them (common/mk/draw.sh);
# `make pictures` does it for every lab that draws.
#help make lab-N DRAW=1  run lab N and draw its descriptor tables (results/NN-*.dot, .svg, .png)
PICTURE_LABS := 01 02 03 04 08 09 12
pictures:   ## every lab that draws its descriptor tables, with DRAW=1: results/NN-*.dot, .svg, .png
	@set -e; for n in $(PICTURE_LABS); do $(MAKE) --no-print-directory lab-$$n DRAW=1; done

server: build-lab-11   ## build fdhttpd and serve the bundled site on 127.0.0.1:8080 (Ctrl-C stops)
	$(BUILD)/labs/11-fdhttpd/fdhttpd --listen 127.0.0.1:8080 --root labs/11-fdhttpd/site

# Benchmarks always use the -O2 gcc build, whatever V says.
QUICK ?= 0
bench-deps:   ## install gnuplot when missing (bench-N and plots do it themselves)
	@sh common/mk/deps.sh gnuplot-nox
# `make bench`: every bench in order (bench/NN-*.sh, ch30, server), then every plot and
# results/bench-summary.md; see common/mk/bench-all.sh. QUICK=1: a short rehearsal into
# build/bench-quick/ (results/ untouched).
bench: bench-deps   ## re-measure the whole course and redraw every plot (~13 min); QUICK=1 rehearses (~5 min)
	$(MAKE) --no-print-directory V=gcc all
	@QUICK=$(QUICK) sh common/mk/bench-all.sh
bench-%: bench-deps   ## run lab N's benchmark (bench/NN-*.sh): data and plot into results/
	$(MAKE) --no-print-directory V=gcc all
	@sh common/mk/bench.sh $*

plots: bench-deps   ## redraw every plot from the committed data in results/ (runs nothing)
	@sh common/mk/plots.sh

all: $(LIB) $(ALL_PROGS) $(ALL_TESTS)   ## build every library, program and test (V=gcc|clang|asan)

build-tests: $(ALL_TESTS) $(ALL_PROGS)   ## build every test binary and program of this variant

# `check` runs this variant's tests; `test` is the one command: deps, gcc, asan, clang.
check: build-tests   ## run the tests of this variant only (V=gcc|asan|clang)
	@echo "---- smoke: every design of bench/ch30srv and fdhttpd, 200 connections each"
	@FDLAB_BUILD=$(BUILD) sh bench/ch30.sh --smoke
	@FDLAB_BUILD=$(BUILD) sh common/mk/runtests.sh $(BUILD) $(ALL_TESTS)
	@$(MAKE) --no-print-directory conformance

docs: build-tests   ## rewrite the generated blocks of README.md and notes/ (lab output, tables from results/)
	@FDLAB_BUILD=$(BUILD) python3 common/mk/docs.py update

check-docs: build-tests   ## check that README.md's and the notes' generated blocks match the labs and results/
	@FDLAB_BUILD=$(BUILD) python3 common/mk/docs.py check

conformance: build-lab-11   ## fdhttpd against the HTTP/1.1 conformance and smuggling cases (labs/11-fdhttpd/conformance/)
	@echo "---- conformance: $(BUILD)/labs/11-fdhttpd/fdhttpd"
	@python3 labs/11-fdhttpd/conformance/run.py --fdhttpd $(BUILD)/labs/11-fdhttpd/fdhttpd

test: deps   ## the CI command: deps, gcc build + tests, ASan/UBSan build + tests, clang build, fuzz
	$(MAKE) --no-print-directory V=gcc check
	$(MAKE) --no-print-directory V=gcc check-docs
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

help:   ## this list, written from the makefiles' own comments
	@echo "fdlab make targets (V=gcc|clang|asan picks the build variant):"
	@awk -f common/mk/help.awk Makefile $(wildcard labs/*/lab.mk bench/bench.mk)
	@echo "labs:"; for d in $(LAB_DIRS); do echo "  $$d"; done

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
