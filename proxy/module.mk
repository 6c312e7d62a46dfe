# proxy/: fncache-proxy. So far: the fleet (invoker, pool), index, placement.
LIBS += pxfleet
pxfleet_SRCS := proxy/invoker.c proxy/pool.c proxy/stripe.c proxy/cache.c proxy/frontend.c proxy/commands.c \
               proxy/repair.c proxy/rebuild.c proxy/fleet.c
pxfleet_DEPS := pxcore mcp ecs mcpframe common
pxfleet_PKGS := libuv libcurl

UNIT_TESTS += test_px_invoker
test_px_invoker_DEPS := pxfleet
test_px_invoker_PKGS := libmicrohttpd

UNIT_TESTS += test_px_stripe
test_px_stripe_DEPS := pxfleet pxcore

LIBS += pxcore
pxcore_SRCS := proxy/index.c proxy/place.c
pxcore_DEPS := common

UNIT_TESTS += test_px_index
test_px_index_DEPS := pxcore

TOOLS += pool_driver
pool_driver_SRCS := tests/tools/pool_driver.c
pool_driver_DEPS := pxfleet

TOOLS += stripe_driver
stripe_driver_SRCS := tests/tools/stripe_driver.c
stripe_driver_DEPS := pxfleet pxcore

# AWS credentials for signed Lambda invocations (env, shared file, EC2 metadata).
LIBS += pxaws
pxaws_SRCS := proxy/aws.c
pxaws_DEPS := common
pxaws_PKGS := libuv libcurl libcjson

UNIT_TESTS += test_px_aws
test_px_aws_DEPS := pxaws

BINS += fncache-proxy
fncache-proxy_SRCS := proxy/main.c
fncache-proxy_DEPS := pxfleet pxaws

BENCHES += bench_proxy
bench_proxy_SRCS := proxy/bench_proxy.c
bench_proxy_DEPS := common
bench_proxy_PKGS := libmemcached

.PHONY: bench-proxy
bench-proxy: build $(B)/bench/bench_proxy
	proxy/bench-proxy.sh $(BENCH_ARGS)

TOOLS += libmc_check
libmc_check_SRCS := tests/tools/libmc_check.c
libmc_check_PKGS := libmemcached

# Lambda-like reclamation with repair on and off: make soak SOAK_ARGS="--hours 6"
.PHONY: soak
soak: build
	tests/soak/soak.py $(SOAK_ARGS)

# A ketama (consistent hashing) client over several proxies, for test_proxies.py.
TOOLS += ketama_check
ketama_check_SRCS := tests/tools/ketama_check.c
ketama_check_PKGS := libmemcached
