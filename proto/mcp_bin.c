/* proto/mcp_bin.c — requests of memcached's binary protocol: the 24-byte
 * header, per-opcode extras/key/body rules, quiet and key-returning variants. */
#include "proto/mcp_int.h"

#include <stddef.h>
#include <string.h>

static uint16_t rd16(const unsigned char *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t rd32(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static uint64_t rd64(const unsigned char *p)
{
    return ((uint64_t)rd32(p) << 32) | rd32(p + 4);
}

/* What an opcode is: the command, quiet, key returned, and the shape its
 * request must have (extras length, key required, value allowed). */
struct op_shape {
    enum mcp_cmd cmd;
    uint8_t quiet, ret_key;
    int8_t extlen; /* required extras length, -1: 0 or 4 (flush) */
    int8_t key;    /* 1: key required, 0: no key, -1: optional (stat) */
    uint8_t value; /* value bytes allowed */
};

static int shape_of(uint8_t op, struct op_shape *s)
{
    memset(s, 0, sizeof(*s));
    switch (op) {
    case MCP_BOP_GETQ: s->quiet = 1; /* fall through */
    case MCP_BOP_GET:
        s->cmd = MCP_CMD_GET;
        s->key = 1;
        break;
    case MCP_BOP_GETKQ: s->quiet = 1; /* fall through */
    case MCP_BOP_GETK:
        s->cmd = MCP_CMD_GET;
        s->key = 1;
        s->ret_key = 1;
        break;
    case MCP_BOP_SETQ: s->quiet = 1; /* fall through */
    case MCP_BOP_SET: s->cmd = MCP_CMD_SET; break;
    case MCP_BOP_ADDQ: s->quiet = 1; /* fall through */
    case MCP_BOP_ADD: s->cmd = MCP_CMD_ADD; break;
    case MCP_BOP_REPLACEQ: s->quiet = 1; /* fall through */
    case MCP_BOP_REPLACE: s->cmd = MCP_CMD_REPLACE; break;
    case MCP_BOP_APPENDQ: s->quiet = 1; /* fall through */
    case MCP_BOP_APPEND:
        s->cmd = MCP_CMD_APPEND;
        s->key = 1;
        s->value = 1;
        return 0;
    case MCP_BOP_PREPENDQ: s->quiet = 1; /* fall through */
    case MCP_BOP_PREPEND:
        s->cmd = MCP_CMD_PREPEND;
        s->key = 1;
        s->value = 1;
        return 0;
    case MCP_BOP_DELETEQ: s->quiet = 1; /* fall through */
    case MCP_BOP_DELETE:
        s->cmd = MCP_CMD_DELETE;
        s->key = 1;
        return 0;
    case MCP_BOP_INCREMENTQ: s->quiet = 1; /* fall through */
    case MCP_BOP_INCREMENT:
        s->cmd = MCP_CMD_INCR;
        s->key = 1;
        s->extlen = 20;
        return 0;
    case MCP_BOP_DECREMENTQ: s->quiet = 1; /* fall through */
    case MCP_BOP_DECREMENT:
        s->cmd = MCP_CMD_DECR;
        s->key = 1;
        s->extlen = 20;
        return 0;
    case MCP_BOP_QUITQ: s->quiet = 1; /* fall through */
    case MCP_BOP_QUIT: s->cmd = MCP_CMD_QUIT; return 0;
    case MCP_BOP_FLUSHQ: s->quiet = 1; /* fall through */
    case MCP_BOP_FLUSH:
        s->cmd = MCP_CMD_FLUSH_ALL;
        s->extlen = -1;
        return 0;
    case MCP_BOP_NOOP: s->cmd = MCP_CMD_NOOP; return 0;
    case MCP_BOP_VERSION: s->cmd = MCP_CMD_VERSION; return 0;
    case MCP_BOP_STAT:
        s->cmd = MCP_CMD_STATS;
        s->key = -1;
        return 0;
    /* MCP_BOP_VERBOSITY: memcached 1.6.18 answers "Unknown command". */
    case MCP_BOP_TOUCH:
        s->cmd = MCP_CMD_TOUCH;
        s->key = 1;
        s->extlen = 4;
        return 0;
    case MCP_BOP_GATQ: s->quiet = 1; /* fall through */
    case MCP_BOP_GAT:
        s->cmd = MCP_CMD_GAT;
        s->key = 1;
        s->extlen = 4;
        return 0;
    case MCP_BOP_GATKQ: s->quiet = 1; /* fall through */
    case MCP_BOP_GATK:
        s->cmd = MCP_CMD_GAT;
        s->key = 1;
        s->extlen = 4;
        s->ret_key = 1;
        return 0;
    default: return -1;
    }
    if (s->cmd == MCP_CMD_GET) return 0;
    /* set/add/replace */
    s->key = 1;
    s->extlen = 8;
    s->value = 1;
    return 0;
}

int mcp_bin_request(const struct mcp_config *cfg, const char *buf, size_t len,
                    struct mcp_request *req, size_t *hdr_len, uint64_t *swallow)
{
    const unsigned char *h = (const unsigned char *)buf;
    struct op_shape s;
    *hdr_len = 0;
    if (len && h[0] != 0x80) {
        memset(req, 0, offsetof(struct mcp_request, keybuf));
        req->proto = MCP_PROTO_BINARY;
        *hdr_len = len;
        return MCP_E_BIN_BAD_MAGIC;
    }
    if (len < MCP_BIN_HDR_LEN) return MCP_AGAIN;
    memset(req, 0, offsetof(struct mcp_request, keybuf));
    req->proto = MCP_PROTO_BINARY;
    req->bin.opcode = h[1];
    req->bin.datatype = h[5];
    req->bin.vbucket = rd16(h + 6);
    req->bin.opaque = rd32(h + 12);
    req->bin.cas = rd64(h + 16);
    req->cas = req->bin.cas;
    req->has_cas = req->cas != 0;
    uint16_t keylen = rd16(h + 2);
    uint8_t extlen = h[4];
    uint32_t bodylen = rd32(h + 8);
    if (shape_of(h[1], &s) != 0) {
        /* memcached answers "Unknown command" and skips the body. */
        *hdr_len = MCP_BIN_HDR_LEN;
        *swallow = bodylen;
        return MCP_E_BIN_UNKNOWN;
    }
    req->cmd = s.cmd;
    req->noreply = s.quiet;
    req->ret_key = s.ret_key;
    bool ext_ok = s.extlen >= 0 ? extlen == (uint8_t)s.extlen : (extlen == 0 || extlen == 4);
    bool key_ok = s.key > 0 ? keylen > 0 : s.key == 0 ? keylen == 0 : true;
    if (!ext_ok || !key_ok || keylen > MCP_KEY_MAX || (uint64_t)extlen + keylen > bodylen ||
        (!s.value && bodylen != (uint32_t)extlen + keylen)) {
        /* memcached: "Invalid arguments", then closes the connection. */
        *hdr_len = MCP_BIN_HDR_LEN;
        return MCP_E_BIN_INVALID;
    }
    size_t need = MCP_BIN_HDR_LEN + (size_t)extlen + keylen;
    if (len < need) return MCP_AGAIN;
    const unsigned char *ext = h + MCP_BIN_HDR_LEN;
    req->key = (const char *)ext + extlen;
    req->nkey = keylen;
    req->nkeys = keylen ? 1 : 0;
    req->keys = req->key;
    req->nkeys_bytes = keylen;
    *hdr_len = need;
    switch (s.cmd) {
    case MCP_CMD_SET:
    case MCP_CMD_ADD:
    case MCP_CMD_REPLACE:
        req->flags = rd32(ext);
        req->exptime = (int32_t)rd32(ext + 4);
        break;
    case MCP_CMD_INCR:
    case MCP_CMD_DECR:
        req->delta = rd64(ext);
        req->initial = rd64(ext + 8);
        req->exptime = (int32_t)rd32(ext + 16);
        break;
    case MCP_CMD_FLUSH_ALL:
        if (extlen == 4) {
            req->exptime = (int32_t)rd32(ext);
            req->has_arg = 1;
        }
        break;
    case MCP_CMD_VERBOSITY: req->verbosity = rd32(ext); break;
    case MCP_CMD_TOUCH:
    case MCP_CMD_GAT: req->exptime = (int32_t)rd32(ext); break;
    case MCP_CMD_STATS:
        req->args = req->key;
        req->nargs = keylen;
        break;
    default: break;
    }
    if (!s.value) return MCP_REQUEST;
    req->vlen = bodylen - extlen - keylen;
    if (req->vlen > cfg->max_value) {
        *swallow = req->vlen;
        return MCP_E_BIN_TOO_LARGE;
    }
    return MCP_VALUE;
}
