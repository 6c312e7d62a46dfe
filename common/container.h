/* common/container.h — find the struct that embeds a member (libuv handles
 * and requests live inside their owner's struct). */
#ifndef FNCACHE_COMMON_CONTAINER_H
#define FNCACHE_COMMON_CONTAINER_H

#include <stddef.h>

#define cm_container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

#endif
