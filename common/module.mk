# common/: small shared pieces (logging, time).
LIBS += common
common_SRCS := common/log.c common/clock.c common/hash.c
