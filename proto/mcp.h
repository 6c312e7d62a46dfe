/* proto/mcp.h — the memcached protocol codec: an incremental, zero-copy
 * request parser (text, meta and binary protocols) and a response writer
 * that produces memcached 1.6's exact bytes as iovec pieces.
 *
 * Parsing
 *   The caller keeps the bytes it has read but not yet consumed at the start
 *   of its read buffer and calls mcp_parse(p, buf, len, &req, &used) after
 *   every read. The parser eats `used` bytes (the caller drops them) and
 *   returns a status (>= 0) or an error (< 0):
 *     MCP_AGAIN       nothing more can be done with these bytes; read more.
 *                     A partial header line is not consumed (used = 0): the
 *                     caller keeps it and appends; the parser remembers how
 *                     far it already scanned for '\n' and resumes there.
 *     MCP_REQUEST     `req` holds a complete request without a value.
 *     MCP_VALUE       `req` holds a storage request whose value of
 *                     req->vlen bytes follows. Before the next mcp_parse the
 *                     caller names the destination with mcp_value_dest()
 *                     (or mcp_value_discard()). The parser then copies value
 *                     bytes from the read buffer straight into it, once;
 *                     alternatively the caller reads into the destination
 *                     itself with mcp_value_want()/mcp_value_wrote().
 *     MCP_VALUE_DONE  the whole value and its "\r\n" trailer have arrived.
 *   After an error the parser is ready for the next command (it has already
 *   consumed the bad line, and it swallows a value that must be skipped,
 *   as memcached does); only errors for which mcp_err_fatal() is true
 *   require the caller to close the connection (after sending the reply
 *   mcp_w_error() writes, if any).
 *
 * Ownership
 *   struct mcp_parser and struct mcp_request belong to the caller; the
 *   codec allocates nothing. Pointers in a request (key, keys, args) point
 *   into the caller's `buf` given to the mcp_parse call that returned it,
 *   or into req->keybuf (base64-decoded meta keys); they are valid until
 *   the caller moves or overwrites those bytes, so a caller that must keep
 *   a key past the value's arrival copies it (at most MCP_KEY_MAX bytes).
 *   The value destination is the caller's; the parser writes into it only
 *   during mcp_parse/mcp_value_wrote and never keeps it past MCP_VALUE_DONE
 *   or an error. The writer's iovecs point into the caller's scratch buffer
 *   and at the caller's value bytes, which must live until the write ends.
 *   mcp_parse_reply() follows the same rules with struct mcp_response
 *   (key and msg point into buf or resp->keybuf).
 *
 * Errors
 *   Every client-visible error line comes from MCP_ERR_LIST below, the
 *   parser's and the server's (MCP_E_NON_NUMERIC, MCP_E_NO_MEMORY) alike:
 *   write them with mcp_w_error(). All functions return 0 / a status or a
 *   negative MCP_E_* code; mcp_err_name() names it.
 */
#ifndef FNCACHE_PROTO_MCP_H
#define FNCACHE_PROTO_MCP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define MCP_KEY_MAX 250                  /* key length limit, bytes */
#define MCP_LINE_MAX 2048                /* header line cap (non-get commands) */
#define MCP_GET_LINE_MAX (1u << 20)      /* default cap for get/gets/gat/gats lines */
#define MCP_VALUE_MAX_DEFAULT (1u << 20) /* memcached's default item size */
#define MCP_META_TOKENS_MAX 19           /* memcached: more tokens -> too long */
#define MCP_OPAQUE_MAX 31                /* meta O token payload, bytes */
#define MCP_BIN_HDR_LEN 24

/* Protocol of a connection: decided by its first byte (0x80 = binary). */
enum mcp_proto { MCP_PROTO_UNKNOWN = 0, MCP_PROTO_TEXT, MCP_PROTO_BINARY };

/* Commands. X(name, text-verb). Binary opcodes map onto the same list. */
#define MCP_CMD_LIST(X)                                                                            \
    X(GET, "get")                                                                                  \
    X(GETS, "gets")                                                                                \
    X(GAT, "gat")                                                                                  \
    X(GATS, "gats")                                                                                \
    X(SET, "set")                                                                                  \
    X(ADD, "add")                                                                                  \
    X(REPLACE, "replace")                                                                          \
    X(APPEND, "append")                                                                            \
    X(PREPEND, "prepend")                                                                          \
    X(CAS, "cas")                                                                                  \
    X(DELETE, "delete")                                                                            \
    X(INCR, "incr")                                                                                \
    X(DECR, "decr")                                                                                \
    X(TOUCH, "touch")                                                                              \
    X(FLUSH_ALL, "flush_all")                                                                      \
    X(VERSION, "version")                                                                          \
    X(VERBOSITY, "verbosity")                                                                      \
    X(STATS, "stats")                                                                              \
    X(QUIT, "quit")                                                                                \
    X(MN, "mn")                                                                                    \
    X(MG, "mg")                                                                                    \
    X(MS, "ms")                                                                                    \
    X(MD, "md")                                                                                    \
    X(MA, "ma")                                                                                    \
    X(NOOP, "noop")

enum mcp_cmd {
    MCP_CMD_NONE = 0,
#define MCP_X_ENUM(n, s) MCP_CMD_##n,
    MCP_CMD_LIST(MCP_X_ENUM)
#undef MCP_X_ENUM
        MCP_CMD__COUNT
};

/* Parser statuses (never negative). MCP_RESPONSE: mcp_parse_reply's name
 * for a complete reply without a value. */
enum mcp_status {
    MCP_AGAIN = 0,
    MCP_REQUEST = 1,
    MCP_RESPONSE = 1,
    MCP_VALUE = 2,
    MCP_VALUE_DONE = 3
};

/* Errors: X(name, client-visible reply line without "\r\n" or NULL when the
 * connection is closed without a reply, fatal?). Replies are memcached's. */
#define MCP_ERR_LIST(X)                                                                            \
    X(UNKNOWN_CMD, "ERROR", 0)                                                                     \
    X(BAD_FORMAT, "CLIENT_ERROR bad command line format", 0)                                       \
    X(BAD_CHUNK, "CLIENT_ERROR bad data chunk", 0)                                                 \
    X(TOO_LARGE, "SERVER_ERROR object too large for cache", 0)                                     \
    X(BAD_EXPTIME, "CLIENT_ERROR invalid exptime argument", 0)                                     \
    X(BAD_DELTA, "CLIENT_ERROR invalid numeric delta argument", 0)                                 \
    X(DELETE_USAGE, "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]", 0)     \
    X(META_INVALID_FLAG, "CLIENT_ERROR invalid flag", 0)                                           \
    X(META_DUP_FLAG, "CLIENT_ERROR duplicate flag", 0)                                             \
    X(META_FLAG_OR_DUP, "CLIENT_ERROR invalid or duplicate flag", 0)                               \
    X(META_BAD_TOKEN, "CLIENT_ERROR bad token in command line format", 0)                          \
    X(META_M_LENGTH, "CLIENT_ERROR incorrect length for M token", 0)                               \
    X(META_BAD_INITIAL, "CLIENT_ERROR invalid numeric initial value", 0)                           \
    X(META_BAD_DELTA, "CLIENT_ERROR invalid numeric delta value", 0)                               \
    X(META_BAD_KEY, "CLIENT_ERROR error decoding key", 0)                                          \
    X(META_OPAQUE_LONG, "CLIENT_ERROR opaque token too long", 0)                                   \
    X(MG_TOO_MANY, "CLIENT_ERROR options flags are too long", 0)                                   \
    X(META_TOO_MANY, "CLIENT_ERROR options flags too long", 0)                                     \
    X(MS_BAD_MODE, "CLIENT_ERROR invalid mode for ms M token", 0)                                  \
    X(MA_BAD_MODE, "CLIENT_ERROR invalid mode for ma M token", 0)                                  \
    X(NON_NUMERIC, "CLIENT_ERROR cannot increment or decrement non-numeric value", 0)              \
    X(NO_MEMORY, "SERVER_ERROR out of memory storing object", 0)                                   \
    X(LINE_TOO_LONG, NULL, 1)                                                                      \
    X(BIN_BAD_MAGIC, NULL, 1)                                                                      \
    X(BIN_INVALID, "Invalid arguments", 1)                                                         \
    X(BIN_UNKNOWN, "Unknown command", 0)                                                           \
    X(BIN_TOO_LARGE, "Too large.", 0)                                                              \
    X(NO_DEST, NULL, 1)                                                                            \
    X(NOSPACE, NULL, 1)                                                                            \
    X(INVAL, NULL, 1)

enum mcp_err {
    MCP_E__FIRST = -1000,
#define MCP_X_ERR(n, s, f) MCP_E_##n,
    MCP_ERR_LIST(MCP_X_ERR)
#undef MCP_X_ERR
        MCP_E__END
};
/* MCP_E_NON_NUMERIC, MCP_E_NO_MEMORY: for the server to report (incr/decr on
 * a non-number, no memory for a value). MCP_E_NO_DEST: value bytes fed
 * before mcp_value_dest(); MCP_E_NOSPACE: the writer's iovec array or
 * scratch buffer is full; MCP_E_INVAL: bad argument. */

const char *mcp_err_name(int err);        /* "MCP_E_BAD_FORMAT"; static string */
const char *mcp_err_reply(int err);       /* client line w/o CRLF or NULL; static */
int mcp_err_fatal(int err);               /* 1: close the connection after it */
const char *mcp_cmd_name(enum mcp_cmd c); /* "get"; static string */

/* Meta flags: one bit per flag character 'A'..'z' (bit = c - 'A'). */
#define MCP_MF(c) (UINT64_C(1) << ((c) - 'A'))

/* Meta request details (mg, ms, md, ma, mn). */
struct mcp_meta {
    uint64_t seen;                   /* MCP_MF() bits of the flags present */
    char order[MCP_META_TOKENS_MAX]; /* flag characters in request order */
    uint8_t norder;
    uint8_t nopaque;
    char opaque[MCP_OPAQUE_MAX + 1]; /* O token payload, NUL-terminated */
    char mode;                       /* M token character, 0 if absent */
    int32_t ttl;                     /* T */
    int32_t vivify_ttl;              /* N */
    int32_t recache;                 /* R */
    uint32_t client_flags;           /* F */
    uint64_t cas_in;                 /* C */
    uint64_t delta;                  /* D (ma; 1 when absent) */
    uint64_t initial;                /* J (ma) */
};

/* Binary request header fields, host order. */
struct mcp_bin {
    uint8_t opcode;
    uint8_t datatype;
    uint16_t vbucket;
    uint32_t opaque;
    uint64_t cas;
};

/* One parsed request. Filled by mcp_parse on MCP_REQUEST/MCP_VALUE and on
 * errors that know the command (req->cmd, key when parsed). */
struct mcp_request {
    enum mcp_cmd cmd;
    enum mcp_proto proto;
    unsigned noreply : 1;    /* text "noreply", meta q, binary quiet opcode */
    unsigned ret_key : 1;    /* binary getk/getkq/gatk/gatkq */
    unsigned has_cas : 1;    /* cas / binary cas != 0 / meta C */
    unsigned key_binary : 1; /* meta b: key was base64, decoded in keybuf */
    const char *key;         /* first key; into buf or keybuf */
    size_t nkey;
    const char *keys; /* get/gets/gat/gats: the key list (space
                         separated, trimmed); iterate mcp_key_next */
    size_t nkeys_bytes;
    unsigned nkeys;       /* number of keys */
    uint32_t flags;       /* client flags (set..cas, binary set) */
    int32_t exptime;      /* set.., touch, gat, flush_all delay, binary */
    uint64_t vlen;        /* value length that follows (MCP_VALUE) */
    uint64_t cas;         /* cas unique (cas, binary header) */
    uint64_t delta;       /* incr/decr, binary incr/decr */
    uint64_t initial;     /* binary incr/decr initial */
    uint32_t verbosity;   /* verbosity level */
    unsigned has_arg : 1; /* flush_all delay given / binary flush extras */
    const char *args;     /* stats: text after "stats " (may be empty) */
    size_t nargs;
    struct mcp_meta meta; /* filled for mg, ms, md, ma, mn only */
    struct mcp_bin bin;   /* filled for binary requests only */
    char keybuf[MCP_KEY_MAX + 1];
};

/* Iterate the keys of a get-family request: *pos starts at 0. Returns 1
 * and sets *key and *nkey, or 0 at the end. */
int mcp_key_next(const struct mcp_request *req, size_t *pos, const char **key, size_t *nkey);

struct mcp_config {
    uint64_t max_value;  /* larger values: MCP_E_TOO_LARGE, swallowed */
    size_t max_line;     /* longest header line, get-family excepted */
    size_t max_get_line; /* longest get, gets, gat or gats line */
};

/* Parser state: all of it. Private fields; zeroed by mcp_parser_init. */
struct mcp_parser {
    struct mcp_config cfg;
    enum mcp_proto proto;
    int state;          /* enum in mcp_parse.c */
    size_t scanned;     /* header bytes already searched for '\n' */
    uint64_t remaining; /* value or swallow bytes still expected */
    char *dst;          /* value destination (caller's) */
    uint64_t got;       /* value bytes written to dst */
    uint8_t ntrail;     /* trailer bytes seen */
    uint8_t trail_bad;  /* trailer mismatch seen */
    uint8_t has_dest;
    uint8_t trailer; /* 1: text value ends with "\r\n" */
};

/* cfg may be NULL: memcached's defaults (1 MiB values, 2048-byte lines). */
void mcp_parser_init(struct mcp_parser *p, const struct mcp_config *cfg);
/* Force a protocol (e.g. the node connection) instead of sniffing. */
void mcp_parser_set_proto(struct mcp_parser *p, enum mcp_proto proto);

int mcp_parse(struct mcp_parser *p, const char *buf, size_t len, struct mcp_request *req,
              size_t *used);

/* After MCP_VALUE: the value's destination, req->vlen bytes (caller's). */
void mcp_value_dest(struct mcp_parser *p, void *dst);
/* After MCP_VALUE: skip the value (the parser swallows it). */
void mcp_value_discard(struct mcp_parser *p);
/* Reading straight into the destination: where the next value bytes go and
 * how many are still wanted (0 when only the trailer is left) ... */
size_t mcp_value_want(const struct mcp_parser *p, char **at);
/* ... and how many the caller put there. */
void mcp_value_wrote(struct mcp_parser *p, size_t n);

/* ---- Replies of the meta protocol (the proxy's side of the node
 * connection): "VA <len> <flags>" + value, "HD|EN|NF|NS|EX <flags>", "MN",
 * "ERROR", "CLIENT_ERROR msg", "SERVER_ERROR msg". ---- */
enum mcp_resp_kind {
    MCP_RESP_META = 0, /* code holds HD, VA, EN, NF, NS or EX */
    MCP_RESP_MN,
    MCP_RESP_ERROR,
    MCP_RESP_CLIENT_ERROR,
    MCP_RESP_SERVER_ERROR,
};

struct mcp_response {
    enum mcp_resp_kind kind;
    int code;                        /* enum mcp_meta_code when kind == MCP_RESP_META */
    uint64_t vlen;                   /* VA: value bytes that follow */
    uint64_t have;                   /* MCP_MF() bits of the flags returned */
    char opaque[MCP_OPAQUE_MAX + 1]; /* O, NUL-terminated */
    uint8_t nopaque;
    const char *key; /* k: into buf, or keybuf when b (decoded) */
    size_t nkey;
    uint64_t cas;            /* c */
    uint32_t flags;          /* f */
    uint64_t size;           /* s */
    int64_t ttl;             /* t (-1: no expiry) */
    uint32_t la;             /* l */
    unsigned hit : 1;        /* h */
    unsigned win : 1;        /* W */
    unsigned stale : 1;      /* X */
    unsigned token_sent : 1; /* Z */
    const char *msg;         /* CLIENT_/SERVER_ERROR text, into buf */
    size_t nmsg;
    char keybuf[MCP_KEY_MAX + 1];
};

/* Parse replies instead of requests: the same framing, value delivery
 * (mcp_value_dest, mcp_value_want/wrote) and ownership rules as
 * mcp_parse, with struct mcp_response for struct mcp_request. Returns
 * MCP_AGAIN, MCP_RESPONSE, MCP_VALUE (VA; resp->vlen bytes follow),
 * MCP_VALUE_DONE, or an error (MCP_E_BAD_FORMAT for a line that is no
 * reply, MCP_E_BAD_CHUNK, MCP_E_LINE_TOO_LONG). Unknown flags are ignored. */
int mcp_parse_reply(struct mcp_parser *p, const char *buf, size_t len, struct mcp_response *resp,
                    size_t *used);

/* Text replies that are one fixed line. X(name, bytes without CRLF). */
#define MCP_REPLY_LIST(X)                                                                          \
    X(STORED, "STORED")                                                                            \
    X(NOT_STORED, "NOT_STORED")                                                                    \
    X(EXISTS, "EXISTS")                                                                            \
    X(NOT_FOUND, "NOT_FOUND")                                                                      \
    X(DELETED, "DELETED")                                                                          \
    X(TOUCHED, "TOUCHED")                                                                          \
    X(OK, "OK")                                                                                    \
    X(END, "END")                                                                                  \
    X(ERROR, "ERROR")                                                                              \
    X(MN, "MN")                                                                                    \
    X(RESET, "RESET")

enum mcp_reply {
#define MCP_X_REPLY(n, s) MCP_R_##n,
    MCP_REPLY_LIST(MCP_X_REPLY)
#undef MCP_X_REPLY
        MCP_R__COUNT
};

/* Meta result codes. */
#define MCP_META_CODE_LIST(X)                                                                      \
    X(HD, "HD") X(VA, "VA") X(EN, "EN") X(NF, "NF") X(NS, "NS") X(EX, "EX")

enum mcp_meta_code {
#define MCP_X_MC(n, s) MCP_M_##n,
    MCP_META_CODE_LIST(MCP_X_MC)
#undef MCP_X_MC
        MCP_M__COUNT
};

/* What a meta reply returns. `have` says which flag values are known (MCP_MF
 * bits of s t c f l h); O and k are echoed whenever the request had them.
 * Flags are written in the request's order, as memcached does; then Z, X, W. */
struct mcp_meta_res {
    uint64_t have;
    uint64_t size;           /* s */
    int64_t ttl;             /* t: seconds left, -1 = never expires */
    uint64_t cas;            /* c */
    uint32_t flags;          /* f */
    uint32_t la;             /* l: seconds since last access */
    unsigned hit : 1;        /* h: fetched before */
    unsigned win : 1;        /* W */
    unsigned stale : 1;      /* X */
    unsigned token_sent : 1; /* Z */
};

/* Output under construction: iovecs (caller's array) whose header bytes live
 * in the caller's scratch buffer; adjacent scratch bytes share one iovec. */
struct mcp_wbuf {
    struct iovec *iov;
    size_t niov, iov_cap;
    char *buf;
    size_t used, cap;
};

void mcp_wbuf_init(struct mcp_wbuf *w, struct iovec *iov, size_t iov_cap, char *buf, size_t cap);
/* Total bytes described by w's iovecs. */
size_t mcp_wbuf_len(const struct mcp_wbuf *w);

/* All writers return 0 or MCP_E_NOSPACE (w unchanged on failure). */
int mcp_w_reply(struct mcp_wbuf *w, enum mcp_reply r);
/* The client-visible line for a parser error of the text and meta
 * protocols (nothing for errors without one, e.g. MCP_E_LINE_TOO_LONG).
 * Binary connections answer with mcp_w_bin_status(mcp_err_bin_status(err)). */
int mcp_w_error(struct mcp_wbuf *w, int err);
/* "SERVER_ERROR msg" / "CLIENT_ERROR msg" for server-side conditions. */
int mcp_w_server_error(struct mcp_wbuf *w, const char *msg);
int mcp_w_client_error(struct mcp_wbuf *w, const char *msg);
/* "VALUE key flags vlen [cas]\r\n" + value (an iovec of the caller's bytes;
 * val may be NULL to add the pieces with mcp_w_data) + "\r\n". */
int mcp_w_value(struct mcp_wbuf *w, const char *key, size_t nkey, uint32_t flags, const void *val,
                uint64_t vlen, const uint64_t *cas);
/* The value header only (then mcp_w_data pieces, then mcp_w_crlf). */
int mcp_w_value_hdr(struct mcp_wbuf *w, const char *key, size_t nkey, uint32_t flags, uint64_t vlen,
                    const uint64_t *cas);
int mcp_w_data(struct mcp_wbuf *w, const void *p, size_t n);
int mcp_w_crlf(struct mcp_wbuf *w);
int mcp_w_number(struct mcp_wbuf *w, uint64_t n); /* incr/decr */
int mcp_w_version(struct mcp_wbuf *w, const char *version);
int mcp_w_stat(struct mcp_wbuf *w, const char *name, const char *value);
/* A meta reply: code, flags (from req's order and res), and for VA the
 * value (val may be NULL: add pieces with mcp_w_data, then mcp_w_crlf).
 * key/nkey: the (decoded) key for k; base64-encoded again if req->key_binary. */
int mcp_w_meta(struct mcp_wbuf *w, enum mcp_meta_code code, const struct mcp_request *req,
               const char *key, size_t nkey, const struct mcp_meta_res *res, const void *val,
               uint64_t vlen);

/* Does meta q hide this reply? memcached 1.6.18: mg hides EN; md and ms
 * hide HD; ma hides HD and VA (a successful update; when N creates the
 * item it still answers). Errors and other codes are always sent. */
int mcp_meta_quiet(const struct mcp_request *req, enum mcp_meta_code code);

/* Binary response: 24-byte header + extras + key + value (value iovec is the
 * caller's). */
struct mcp_bin_res {
    uint8_t opcode;
    uint16_t status;
    uint32_t opaque;
    uint64_t cas;
    const void *extras;
    uint8_t nextras;
    const char *key;
    uint16_t nkey;
};
int mcp_w_bin(struct mcp_wbuf *w, const struct mcp_bin_res *r, const void *val, uint32_t vlen);
/* Binary status codes memcached uses, and their message bodies. */
#define MCP_BIN_STATUS_LIST(X)                                                                     \
    X(SUCCESS, 0x00, "")                                                                           \
    X(KEY_ENOENT, 0x01, "Not found")                                                               \
    X(KEY_EEXISTS, 0x02, "Data exists for key.")                                                   \
    X(E2BIG, 0x03, "Too large.")                                                                   \
    X(EINVAL, 0x04, "Invalid arguments")                                                           \
    X(NOT_STORED, 0x05, "Not stored.")                                                             \
    X(DELTA_BADVAL, 0x06, "Non-numeric server-side value for incr or decr")                        \
    X(UNKNOWN_COMMAND, 0x81, "Unknown command")                                                    \
    X(ENOMEM, 0x82, "Out of memory")

enum mcp_bin_status {
#define MCP_X_BS(n, v, s) MCP_BS_##n = v,
    MCP_BIN_STATUS_LIST(MCP_X_BS)
#undef MCP_X_BS
};
/* An error response with memcached's message body for that status. */
int mcp_w_bin_status(struct mcp_wbuf *w, uint8_t opcode, uint32_t opaque,
                     enum mcp_bin_status status);
/* Binary status for a parser error (MCP_E_BIN_*, MCP_E_TOO_LARGE...). */
enum mcp_bin_status mcp_err_bin_status(int err);

/* Does memcached stay silent about this error for this request? (text
 * noreply hides every error once the command was recognised with the right
 * argument count; meta q and binary quiet never hide errors). */
int mcp_err_silent(const struct mcp_request *req, int err);

/* Binary opcodes (memcached protocol_binary.h). */
#define MCP_BIN_OP_LIST(X)                                                                         \
    X(GET, 0x00)                                                                                   \
    X(SET, 0x01)                                                                                   \
    X(ADD, 0x02)                                                                                   \
    X(REPLACE, 0x03)                                                                               \
    X(DELETE, 0x04) X(INCREMENT, 0x05) X(DECREMENT, 0x06) X(QUIT, 0x07) X(FLUSH, 0x08)             \
        X(GETQ, 0x09) X(NOOP, 0x0a) X(VERSION, 0x0b) X(GETK, 0x0c) X(GETKQ, 0x0d) X(APPEND, 0x0e)  \
            X(PREPEND, 0x0f) X(STAT, 0x10) X(SETQ, 0x11) X(ADDQ, 0x12) X(REPLACEQ, 0x13)           \
                X(DELETEQ, 0x14) X(INCREMENTQ, 0x15) X(DECREMENTQ, 0x16) X(QUITQ, 0x17)            \
                    X(FLUSHQ, 0x18) X(APPENDQ, 0x19) X(PREPENDQ, 0x1a) X(VERBOSITY, 0x1b)          \
                        X(TOUCH, 0x1c) X(GAT, 0x1d) X(GATQ, 0x1e) X(GATK, 0x23) X(GATKQ, 0x24)

enum mcp_bin_op {
#define MCP_X_OP(n, v) MCP_BOP_##n = v,
    MCP_BIN_OP_LIST(MCP_X_OP)
#undef MCP_X_OP
};

#endif
