# common/: small shared pieces (logging, time, hashing, buffers).
LIBS += common
common_SRCS := common/log.c common/clock.c common/hash.c common/buf.c common/stream.c
