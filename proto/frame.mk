# proto/frame.*: the node protocol's binary frames (proxy <-> node).
LIBS += mcpframe
mcpframe_SRCS := proto/frame.c

UNIT_TESTS += test_frame
test_frame_DEPS := mcpframe
