# ec/: Reed-Solomon stripes over isa-l.
LIBS += ecs
ecs_SRCS := ec/ecs.c
ecs_PKGS := libisal
