/* proto/mcp_int.h — internals shared by the codec's files (not installed). */
#ifndef FNCACHE_PROTO_MCP_INT_H
#define FNCACHE_PROTO_MCP_INT_H

#include "proto/mcp.h"

#include <stdbool.h>

#define MCP_TOKENS_MAX 24 /* tokens kept per line, as memcached's MAX_TOKENS */

/* One token of a header line: offset and length inside the line. */
struct mcp_tok {
    const char *s;
    size_t n;
};

/* Parse one text/meta header line (without "\n" and a trailing "\r").
 * Returns MCP_REQUEST, MCP_VALUE or an error; *swallow is set to the number
 * of bytes to skip after the line when an error leaves a value to discard. */
int mcp_text_line(const struct mcp_config *cfg, const char *line, size_t n, struct mcp_request *req,
                  uint64_t *swallow);

/* Parse a binary request at buf (len bytes available). Returns MCP_AGAIN
 * (need more bytes, *hdr_len = 0), MCP_REQUEST or MCP_VALUE (*hdr_len = the
 * bytes of header+extras+key consumed, req->vlen = value bytes that
 * follow), or an error (*hdr_len consumed, *swallow bytes to skip). */
int mcp_bin_request(const struct mcp_config *cfg, const char *buf, size_t len,
                    struct mcp_request *req, size_t *hdr_len, uint64_t *swallow);

/* Parse one meta reply line; MCP_RESPONSE, MCP_VALUE (VA) or an error. */
int mcp_reply_line(const char *line, size_t n, struct mcp_response *resp);

/* memcached's safe_strto* rules on one token. */
bool mcp_tok_u64(const char *s, size_t n, uint64_t *out);
bool mcp_tok_u32(const char *s, size_t n, uint32_t *out); /* truncates, as memcached */
bool mcp_tok_i32(const char *s, size_t n, int32_t *out);

/* Strict base64 decode; returns decoded length or 0 on failure. */
size_t mcp_b64_decode(const char *in, size_t n, char *out, size_t cap);
size_t mcp_b64_encode(const unsigned char *in, size_t n, char *out, size_t cap);

#endif
