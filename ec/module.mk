# ec/: Reed-Solomon stripes over isa-l.
LIBS += ecs
ecs_SRCS := ec/ecs.c
ecs_PKGS := libisal

UNIT_TESTS += test_ec
test_ec_DEPS := ecs

BENCHES += bench_ec
bench_ec_SRCS := ec/bench_ec.c
bench_ec_DEPS := ecs common

.PHONY: bench-ec
bench-ec: $(B)/bench/bench_ec
	$(B)/bench/bench_ec
