# client/: fncache, the command-line tool and load generator (libmemcached).
LIBS += clcore
clcore_SRCS := client/hist.c
clcore_DEPS := common

UNIT_TESTS += test_cl_hist
test_cl_hist_DEPS := clcore
