# deploy/local/: fncache-faas, the local function platform (AWS Lambda Invoke
# and Runtime APIs), its test function and its benchmark.
LIBS += faas
faas_SRCS := deploy/local/faas_conf.c

BINS += fncache-faas
fncache-faas_SRCS := deploy/local/faas_main.c deploy/local/faas_platform.c deploy/local/faas_httpd.c
fncache-faas_DEPS := faas common
fncache-faas_PKGS := libuv libmicrohttpd libcjson

# The tiny function the integration tests and the benchmark run.
TOOLS += faas-testfn
faas-testfn_SRCS := tests/faas/faas_testfn.c
faas-testfn_PKGS := libcurl libcjson

UNIT_TESTS += test_faas
test_faas_DEPS := faas

BENCHES += bench_faas
bench_faas_SRCS := tests/faas/bench_faas.c
bench_faas_DEPS := common
bench_faas_PKGS := libcurl

.PHONY: bench-faas
bench-faas: build $(B)/bench/bench_faas
	@$(B)/bench/bench_faas bin/fncache-faas $(B)/tools/faas-testfn

# One Invoke call with libcurl (SigV4 optional), for tests and by hand.
TOOLS += faas-invoke
faas-invoke_SRCS := tests/faas/faas_invoke.c
faas-invoke_PKGS := libcurl
