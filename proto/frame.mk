# proto/frame.*: the node protocol's binary frames (proxy <-> node).
LIBS += mcpframe
mcpframe_SRCS := proto/frame.c

UNIT_TESTS += test_frame
test_frame_DEPS := mcpframe

# libFuzzer over the node protocol reader: make fuzz-frame FUZZ_TIME=seconds
build/fuzz/fuzz_frame: proto/frame.c proto/frame.h tests/fuzz/fuzz_frame.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ proto/frame.c tests/fuzz/fuzz_frame.c

.PHONY: fuzz-frame
fuzz-frame: build/fuzz/fuzz_frame
	@mkdir -p build/fuzz/frame-corpus
	@cp -n tests/fuzz/frame-seeds/* build/fuzz/frame-corpus/ 2>/dev/null || true
	cd build/fuzz && ./fuzz_frame -max_total_time=$(FUZZ_TIME) -max_len=8192 \
		-print_final_stats=1 frame-corpus
