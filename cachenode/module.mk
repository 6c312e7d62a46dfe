# cachenode/: fncache-node, the function that holds chunks in RAM.
LIBS += cnstore
cnstore_SRCS := cachenode/store.c
cnstore_DEPS := mcpframe common

UNIT_TESTS += test_cn_store
test_cn_store_DEPS := cnstore
