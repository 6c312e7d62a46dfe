# fncache top-level build.
#
# Each module folder has a module.mk (or more *.mk files) that declares its library, binaries and
# tests with the variables below; this file only knows how to build them.
#
#   LIBS += name                 a static library built from name_SRCS
#   name_SRCS, name_PKGS         its sources, the pkg-config packages it needs
#   name_DEPS                    the project libraries it links against
#   BINS += prog                 a program built from prog_SRCS, linked with
#   prog_SRCS, prog_DEPS, prog_PKGS   the libraries in prog_DEPS
#   UNIT_TESTS += test_x         tests/unit/test_x.c, linked with test_x_DEPS
#   BENCHES += bench_x           a benchmark program (build/<variant>/bench/),
#                                run by the module's own bench-* target
#   TOOLS += tool_x              a helper program for integration tests
#                                (build/<variant>/tools/), built with the tests
#
# Variants keep their objects apart: build/release (default) and build/asan.
# Release binaries are copied to bin/.

.DEFAULT_GOAL := all
VARIANT ?= release
B := build/$(VARIANT)

CC ?= cc
WARN := -Wall -Wextra -Wshadow -Wformat=2 -Werror
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -g $(WARN) -I. -MMD -MP
ifeq ($(VARIANT),asan)
  SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
  VCFLAGS := -O1 $(SAN)
  VLDFLAGS := $(SAN)
else
  VCFLAGS := -O2
  VLDFLAGS :=
endif

LIBS :=
BINS :=
UNIT_TESTS :=
BENCHES :=
TOOLS :=
include $(sort $(wildcard */*.mk */*/*.mk))

# Transitive closure of project libraries, in link order.
deps_of = $(foreach d,$($(1)_DEPS),$(d) $(call deps_of,$(d)))
link_order = $(shell echo $(1) | tr ' ' '\n' | awk 'NF' | tac | awk '!seen[$$0]++' | tac)
all_deps = $(call link_order,$(call deps_of,$(1)))
pkgs_of = $(sort $($(1)_PKGS) $(foreach d,$(call all_deps,$(1)),$($(d)_PKGS)))
pkg_cflags = $(if $(1),$(shell pkg-config --cflags $(1)))
pkg_libs = $(if $(1),$(shell pkg-config --libs $(1)))

define lib_rules
$(1)_OBJS := $$(patsubst %.c,$$(B)/obj/%.o,$$($(1)_SRCS))
$$($(1)_OBJS): EXTRA_CFLAGS := $$(call pkg_cflags,$$(call pkgs_of,$(1)))
$$(B)/lib/lib$(1).a: $$($(1)_OBJS)
	@mkdir -p $$(@D)
	$$(AR) rcs $$@ $$^
endef

define prog_rules
$(1)_OBJS := $$(patsubst %.c,$$(B)/obj/%.o,$$($(1)_SRCS))
$(1)_LIBFILES := $$(foreach d,$$(call all_deps,$(1)),$$(B)/lib/lib$$(d).a)
$$($(1)_OBJS): EXTRA_CFLAGS := $$(call pkg_cflags,$$(call pkgs_of,$(1)))
$$(B)/$(2)/$(1): $$($(1)_OBJS) $$($(1)_LIBFILES)
	@mkdir -p $$(@D)
	$$(CC) $$(VLDFLAGS) -o $$@ $$($(1)_OBJS) $$($(1)_LIBFILES) $$(call pkg_libs,$$(call pkgs_of,$(1))) -lpthread -lm
endef

$(foreach t,$(UNIT_TESTS),$(eval $(t)_SRCS ?= tests/unit/$(t).c)$(eval $(t)_PKGS += cmocka))
$(foreach l,$(LIBS),$(eval $(call lib_rules,$(l))))
$(foreach p,$(BINS),$(eval $(call prog_rules,$(p),bin)))
$(foreach t,$(UNIT_TESTS),$(eval $(call prog_rules,$(t),tests)))
$(foreach b,$(BENCHES),$(eval $(call prog_rules,$(b),bench)))
$(foreach t,$(TOOLS),$(eval $(call prog_rules,$(t),tools)))

$(B)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(VCFLAGS) $(EXTRA_CFLAGS) $(CFLAGS) -c -o $@ $<

BIN_FILES := $(addprefix $(B)/bin/,$(BINS))
TEST_FILES := $(addprefix $(B)/tests/,$(UNIT_TESTS)) $(addprefix $(B)/tools/,$(TOOLS))

.PHONY: all build tests deps test unit asan check clean format help run
all: deps build

# Build, then serve memcached on 127.0.0.1:11211 with a local fleet of
# nodes, in the foreground (Ctrl-C stops it all). RUN_ARGS adds flags.
run: deps build
	bin/fncache-proxy $(RUN_ARGS)

build: $(BIN_FILES)
ifeq ($(VARIANT),release)
	@mkdir -p bin
	@for f in $(BIN_FILES); do cp -f $$f bin/; done
endif

tests: $(TEST_FILES)

deps:
	@scripts/deps.sh

# Unit tests of one variant (used by test and asan).
unit: build tests
	@tests/run-unit.sh $(B)/tests

asan:
	@$(MAKE) --no-print-directory VARIANT=asan unit

check: asan

# The whole suite: release unit tests, the same under ASan+UBSan, then the
# integration tests against the release binaries. One summary line at the end.
test: deps
	@tests/run-all.sh

clean:
	rm -rf build bin

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

help:
	@echo "make            install missing Debian packages, build bin/"
	@echo "make run        build, then run the proxy and its local fleet on 127.0.0.1:11211"
	@echo "make test       the whole test suite (unit, unit under ASan+UBSan, integration)"
	@echo "make asan       unit tests under ASan+UBSan"
	@echo "make bench-ec   erasure-coding throughput against direct isa-l"
	@echo "make bench-proto memcached parser throughput"
	@echo "make bench-faas warm/cold invoke latency and invocations/s of fncache-faas"
	@echo "make bench-node node PUT/GET throughput beside plain TCP"
	@echo "make bench-proxy fncache-proxy beside memcached and twemproxy (BENCH_ARGS=\"--sizes 1k,100m --clients 1 --rounds 3\")"
	@echo "make bench      fncache beside memcached and twemproxy: 100 B to 100 MB values, one table"
	@echo "make fuzz       libFuzzer on the memcached parser (FUZZ_TIME=seconds)"
	@echo "make fuzz-frame libFuzzer on the node frame reader (FUZZ_TIME=seconds)"
	@echo "make soak       Lambda-like reclamation with repair on and off (SOAK_ARGS=...)"
	@echo "make paper-bench the InfiniCache paper's experiments, quick mode (PAPER_ARGS=--full)"
	@echo "make lambda-zip deploy/aws/fncache-node.zip, the node as an AWS Lambda custom runtime"
	@echo "make clean      remove build/ and bin/"

-include $(shell find $(B) -name '*.d' 2>/dev/null)
