# proto/: the memcached protocol codec (parser + writer), libmcp.
LIBS += mcp
mcp_SRCS := proto/mcp_parse.c proto/mcp_text.c proto/mcp_bin.c proto/mcp_reply.c \
	proto/mcp_write.c

UNIT_TESTS += test_proto
test_proto_DEPS := mcp

BENCHES += bench_proto
bench_proto_SRCS := proto/bench_proto.c
bench_proto_DEPS := mcp

.PHONY: bench-proto fuzz fuzz-build

# Parse throughput (release build, one core).
bench-proto:
	@$(MAKE) --no-print-directory VARIANT=release build/release/bench/bench_proto
	@build/release/bench/bench_proto

# libFuzzer target over the parser (clang, ASan+UBSan). Time-boxed:
#   make fuzz FUZZ_TIME=600
# The working corpus is build/fuzz/corpus (seeded from tests/fuzz/seeds);
# crashes land in build/fuzz/ as crash-*; add them to tests/fuzz/seeds.
FUZZ_TIME ?= 60
FUZZ_CC ?= clang
FUZZ_FLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -I. $(WARN) \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_SRCS := $(mcp_SRCS) tests/fuzz/fuzz_proto.c

build/fuzz/fuzz_proto: $(FUZZ_SRCS) proto/mcp.h proto/mcp_int.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $(FUZZ_SRCS)

fuzz-build: build/fuzz/fuzz_proto

fuzz: build/fuzz/fuzz_proto
	@mkdir -p build/fuzz/corpus
	@cp -n tests/fuzz/seeds/* build/fuzz/corpus/ 2>/dev/null || true
	cd build/fuzz && ./fuzz_proto -max_total_time=$(FUZZ_TIME) -max_len=4096 \
		-print_final_stats=1 corpus

# The differential test's server (tests/integration/test_proto_reference.py):
# a tiny memcached built from this codec.
TOOLS += mcp_miniserver
mcp_miniserver_SRCS := tests/integration/mcp_miniserver.c
mcp_miniserver_DEPS := mcp
