# cachenode/: fncache-node, the function that holds chunks in RAM.
LIBS += cnstore
cnstore_SRCS := cachenode/store.c
cnstore_DEPS := mcpframe common

UNIT_TESTS += test_cn_store
test_cn_store_DEPS := cnstore

BINS += fncache-node
fncache-node_SRCS := cachenode/main.c cachenode/runtime.c cachenode/serve.c
fncache-node_DEPS := cnstore mcpframe common
fncache-node_PKGS := libuv libcurl libcjson

BENCHES += bench_node
bench_node_SRCS := cachenode/bench_node.c
bench_node_DEPS := mcpframe common
bench_node_PKGS := libcurl

.PHONY: bench-node
bench-node: build $(B)/bench/bench_node
	cachenode/bench-node.sh
