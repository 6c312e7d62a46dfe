/* proto/frame.h — the node protocol: binary frames between proxy and node.
 *
 * Every message is a 24-byte header, then `meta_len` bytes of metadata, then
 * `body_len` bytes of body (chunk data, or inventory records). Integers are
 * big-endian. The layout of every message is in docs/node-protocol.md.
 *
 *   0  magic 0xFC     1  version (MCP_FRAME_VERSION)   2  op   3  status
 *   4  meta_len u16   6  reserved u16 (0)              8  seq u32
 *  12  reserved u32  16  body_len u64
 *
 * This codec only packs and unpacks: it never allocates and never copies a
 * body. Decoded strings (keys, names, tokens) point into the caller's meta
 * buffer and live as long as it does.
 */
#ifndef FNCACHE_PROTO_FRAME_H
#define FNCACHE_PROTO_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define MCP_FRAME_MAGIC 0xFC
#define MCP_FRAME_VERSION 1
#define MCP_FRAME_HEADER_LEN 24
#define MCP_FRAME_MAX_META 4096
#define MCP_FRAME_MAX_BODY ((uint64_t)1 << 31)
#define MCP_FRAME_MAX_KEY 250
#define MCP_FRAME_INSTANCE_LEN 16

/* op, value, direction: who sends the request. A reply carries the same op
 * with MCP_FRAME_REPLY set. */
#define MCP_FRAME_OPS(X)                                                     \
    X(MCP_OP_HELLO, 1, "hello")   /* node -> proxy, first frame */           \
    X(MCP_OP_PUT, 2, "put")       /* proxy -> node: store a chunk */         \
    X(MCP_OP_GET, 3, "get")       /* proxy -> node: fetch a chunk */         \
    X(MCP_OP_DEL, 4, "del")       /* proxy -> node: drop chunks */           \
    X(MCP_OP_LIST, 5, "list")     /* proxy -> node: inventory page */        \
    X(MCP_OP_PING, 6, "ping")     /* either way: liveness */                 \
    X(MCP_OP_BYE, 7, "bye")       /* node -> proxy: going to sleep */        \
    X(MCP_OP_TOUCH, 8, "touch")   /* proxy -> node: new expiry for chunks */

enum mcp_frame_op {
#define MCP_OP_ENUM(name, value, text) name = value,
    MCP_FRAME_OPS(MCP_OP_ENUM)
#undef MCP_OP_ENUM
};
#define MCP_FRAME_REPLY 0x80

#define MCP_FRAME_STATUSES(X)                                                \
    X(MCP_ST_OK, 0, "ok")                                                    \
    X(MCP_ST_NOT_FOUND, 1, "not found")                                      \
    X(MCP_ST_NO_SPACE, 2, "no space: node memory limit reached")             \
    X(MCP_ST_BAD_REQUEST, 3, "bad request")                                  \
    X(MCP_ST_BAD_TOKEN, 4, "bad token")                                      \
    X(MCP_ST_BAD_CHECKSUM, 5, "chunk checksum mismatch")                     \
    X(MCP_ST_BAD_VERSION, 6, "unsupported protocol version")

enum mcp_frame_status {
#define MCP_ST_ENUM(name, value, text) name = value,
    MCP_FRAME_STATUSES(MCP_ST_ENUM)
#undef MCP_ST_ENUM
};

#define MCP_FRAME_ERRORS(X)                                                  \
    X(MCP_FRAME_EMAGIC, -1, "bad magic byte")                                \
    X(MCP_FRAME_EVERSION, -2, "unsupported frame version")                   \
    X(MCP_FRAME_EOP, -3, "unknown op")                                       \
    X(MCP_FRAME_ETOOLONG, -4, "meta or body longer than allowed")            \
    X(MCP_FRAME_EMETA, -5, "malformed metadata")                             \
    X(MCP_FRAME_ESPACE, -6, "output buffer too small")

enum mcp_frame_error {
#define MCP_FE_ENUM(name, value, text) name = value,
    MCP_FRAME_ERRORS(MCP_FE_ENUM)
#undef MCP_FE_ENUM
};

struct mcp_frame_header {
    uint8_t op;       /* enum mcp_frame_op, | MCP_FRAME_REPLY on replies */
    uint8_t status;   /* enum mcp_frame_status; 0 on requests */
    uint16_t meta_len;
    uint32_t seq;     /* chosen by the requester, echoed in the reply */
    uint64_t body_len;
};

/* Metadata of one chunk: what the proxy needs to rebuild its index. */
struct mcp_chunk_meta {
    uint64_t version;  /* object version (changes on every SET) */
    uint64_t size;     /* object size in bytes */
    int64_t expiry;    /* unix seconds; 0 = never */
    uint32_t flags;    /* client flags */
    uint32_t crc;      /* CRC32C of the chunk */
    uint8_t index;     /* chunk number in the stripe */
    uint8_t d, p;
    uint16_t key_len;
    const unsigned char *key; /* borrowed: points into the decoded buffer */
};
#define MCP_CHUNK_META_FIXED 38 /* bytes before the key */

/* Node's first frame. */
struct mcp_hello {
    uint16_t proto_version;
    uint8_t instance[MCP_FRAME_INSTANCE_LEN];
    uint64_t mem_limit, chunks, bytes;
    uint16_t name_len, token_len;
    const char *name, *token; /* borrowed, not NUL-terminated */
};

/* An inventory page request, and the head of its reply. */
struct mcp_list_req {
    uint64_t cursor; /* 0 = from the start */
    uint32_t max;    /* records at most */
};
struct mcp_list_reply {
    uint64_t next;   /* cursor for the next page; 0 = listing done */
    uint32_t count;  /* records in the body */
};

/* Header: returns MCP_FRAME_HEADER_LEN when `len` bytes hold a valid header,
 * 0 when more bytes are needed, or a negative MCP_FRAME_E* code. */
int mcp_frame_header_decode(const unsigned char *buf, size_t len, struct mcp_frame_header *h);
void mcp_frame_header_encode(unsigned char out[MCP_FRAME_HEADER_LEN], const struct mcp_frame_header *h);

/* Metadata encoders return the bytes written or MCP_FRAME_ESPACE; decoders
 * return 0 or MCP_FRAME_EMETA (truncated, trailing bytes, key length out of
 * 1..250, chunk index outside d+p). */
int mcp_chunk_meta_encode(unsigned char *out, size_t cap, const struct mcp_chunk_meta *m);
int mcp_chunk_meta_decode(const unsigned char *buf, size_t len, struct mcp_chunk_meta *m);
/* One record of an inventory body: u16 length, then a chunk meta.
 * Decoding returns the bytes the record took, or MCP_FRAME_EMETA. */
int mcp_list_record_encode(unsigned char *out, size_t cap, const struct mcp_chunk_meta *m);
int mcp_list_record_decode(const unsigned char *buf, size_t len, struct mcp_chunk_meta *m);

int mcp_hello_encode(unsigned char *out, size_t cap, const struct mcp_hello *h);
int mcp_hello_decode(const unsigned char *buf, size_t len, struct mcp_hello *h);
int mcp_list_req_encode(unsigned char *out, size_t cap, const struct mcp_list_req *r);
int mcp_list_req_decode(const unsigned char *buf, size_t len, struct mcp_list_req *r);
int mcp_list_reply_encode(unsigned char *out, size_t cap, const struct mcp_list_reply *r);
int mcp_list_reply_decode(const unsigned char *buf, size_t len, struct mcp_list_reply *r);

/* Incremental frame reader: feed it bytes as they arrive, in any split.
 * It stops after the metadata of each frame (MCP_RD_META) so the caller can
 * name where the body goes: a buffer of its own (read straight into with
 * mcp_frame_reader_body_room, or copied from the feed), or nowhere (the body
 * is skipped). The reader owns no memory beyond its struct. */
enum mcp_frame_event {
    MCP_RD_MORE = 0, /* all input consumed, frame not complete */
    MCP_RD_META = 1, /* header and metadata in; a frame with a body then
                        needs mcp_frame_reader_body(), one without is done */
    MCP_RD_DONE = 2, /* frame complete (body in place) */
};

struct mcp_frame_reader {
    int state;                 /* private */
    size_t got;                /* bytes of the current part */
    unsigned char hdr[MCP_FRAME_HEADER_LEN];
    struct mcp_frame_header h; /* valid from MCP_RD_META on */
    unsigned char meta[MCP_FRAME_MAX_META];
    unsigned char *body;       /* destination, or NULL to skip */
};

void mcp_frame_reader_init(struct mcp_frame_reader *r);
/* Consume from buf[0..len). Sets *used to the bytes taken and returns an
 * event, or a negative MCP_FRAME_E* code for a malformed frame (the reader
 * must then be re-initialised; the stream is out of step). */
int mcp_frame_reader_feed(struct mcp_frame_reader *r, const unsigned char *buf, size_t len, size_t *used);
/* After MCP_RD_META: where the body goes (h.body_len bytes, or NULL to
 * skip). Returns MCP_RD_DONE at once when there is no body, else MCP_RD_MORE.
 * The metadata stays in r->meta until the next frame's metadata is read. */
int mcp_frame_reader_body(struct mcp_frame_reader *r, unsigned char *dest);
/* While a body is due: the part of the destination still to fill, for
 * reading straight from a socket; NULL when skipping or not in a body. */
unsigned char *mcp_frame_reader_body_room(const struct mcp_frame_reader *r, size_t *len);
/* Tell the reader that n bytes were written straight into the room. */
int mcp_frame_reader_body_filled(struct mcp_frame_reader *r, size_t n);
/* Drop the rest of the body being read (its destination is no longer to
 * be written). */
void mcp_frame_reader_skip_body(struct mcp_frame_reader *r);
/* 1 when no byte of a next frame has been read yet. */
int mcp_frame_reader_idle(const struct mcp_frame_reader *r);

/* A stream's input for a frame reader: headers and metadata pass through
 * the caller's buffer; a body with a destination is read straight into it
 * once the buffer holds nothing more, so a chunk is copied at most once
 * (its first bytes) and usually not at all. */
struct mcp_frame_inbuf {
    unsigned char *buf;        /* caller's, at least 2 * MCP_FRAME_MAX_META bytes */
    size_t cap;
    size_t pos, len;           /* unread bytes are buf[pos..len) */
    int direct;                /* the last room was the body's destination */
};

/* Where the next read should land, and how many bytes may go there. */
unsigned char *mcp_frame_inbuf_room(struct mcp_frame_inbuf *in, const struct mcp_frame_reader *r, size_t *n);
/* n bytes landed in the last room. Returns MCP_RD_DONE when that finished
 * a body, else MCP_RD_MORE; then call mcp_frame_inbuf_next() until it
 * returns MCP_RD_MORE. */
int mcp_frame_inbuf_landed(struct mcp_frame_inbuf *in, struct mcp_frame_reader *r, size_t n);
/* Feed buffered bytes to the reader: the next event, MCP_RD_MORE when the
 * buffer is used up, or a negative MCP_FRAME_E* code. */
int mcp_frame_inbuf_next(struct mcp_frame_inbuf *in, struct mcp_frame_reader *r);

const char *mcp_frame_op_name(int op);
const char *mcp_frame_status_text(int status);
const char *mcp_frame_strerror(int err);

#endif
