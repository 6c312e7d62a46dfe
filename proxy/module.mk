# proxy/: fncache-proxy. So far: the Invoke API client.
LIBS += pxinvoke
pxinvoke_SRCS := proxy/invoker.c
pxinvoke_DEPS := common
pxinvoke_PKGS := libuv libcurl

UNIT_TESTS += test_px_invoker
test_px_invoker_DEPS := pxinvoke
test_px_invoker_PKGS := libmicrohttpd

LIBS += pxcore
pxcore_SRCS := proxy/index.c proxy/place.c
pxcore_DEPS := common

UNIT_TESTS += test_px_index
test_px_index_DEPS := pxcore
