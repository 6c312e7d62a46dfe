# client/: fncache, the command-line tool and load generator (libmemcached).
LIBS += clcore
clcore_SRCS := client/hist.c client/keys.c client/workload.c client/trace.c client/value.c client/out.c \
	client/stats.c
clcore_DEPS := common

BINS += fncache
fncache_SRCS := client/main.c client/conn.c client/transfer.c client/bench.c
fncache_DEPS := clcore
fncache_PKGS := libmemcached

UNIT_TESTS += test_cl_hist test_cl_value test_cl_workload test_cl_stats
test_cl_hist_DEPS := clcore
test_cl_value_DEPS := clcore
test_cl_workload_DEPS := clcore
test_cl_stats_DEPS := clcore

# make bench: fncache-proxy beside memcached and twemproxy, the same
# `fncache bench` workloads, one table (BENCH_ARGS: see the script's top).
.PHONY: bench
bench: deps build
	client/bench-compare.sh $(BENCH_ARGS)
