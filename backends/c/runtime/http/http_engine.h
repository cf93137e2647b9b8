/*
 * HTTP/1.1 over byte buffers: the C twin of
 * backends/python/runtime/http_engine.py, answering byte for byte as it does.
 *
 * The responses were built at compile time (backends/http/precompute.py);
 * backends/http/c_site.py writes them as a `const struct http_site`.  Every
 * byte string of the table (heads, entity tags, 304 heads, bodies, route
 * paths) lives in `data` and is named by an offset and a length.
 */
#ifndef SPECC_HTTP_ENGINE_H
#define SPECC_HTTP_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_REQUEST_LINE (8u * 1024u)   /* bytes, without the line ending */
#define HTTP_MAX_HEADER_BYTES (16u * 1024u)  /* the header section with the empty line */
#define HTTP_MAX_HEADERS 100u
/* The most an unfinished request can take: what a caller must be able to keep. */
#define HTTP_MAX_PENDING (HTTP_MAX_REQUEST_LINE + 2u + HTTP_MAX_HEADER_BYTES)

struct http_span { uint32_t off, len; };

struct http_response {
    uint32_t status;
    struct http_span head;          /* status line and headers, no final CRLF */
    struct http_span body;
    struct http_span etag;          /* with its quotes; len 0 when none */
    struct http_span not_modified;  /* head of the 304; len 0 when none */
};

struct http_route {
    struct http_span path;          /* percent-decoded UTF-8, sorted (memcmp, shorter first) */
    uint32_t response;
};

enum { HTTP_E400, HTTP_E404, HTTP_E405, HTTP_E414, HTTP_E431, HTTP_E505, HTTP_ERRORS };

struct http_site {
    const uint8_t *data;
    const struct http_response *responses;
    uint32_t response_count;
    const struct http_route *routes;
    uint32_t route_count;
    uint32_t errors[HTTP_ERRORS];   /* response of 400, 404, 405, 414, 431, 505 */
};

/* Answer every complete request at the start of buf[0..size) into
 * out[0..cap): handle() of the Python twin.  Returns how many bytes of buf
 * the answered requests took; *out_len is the length of the answers and
 * *close_after says to close the connection after sending them (then the
 * whole buffer counts as consumed).  When the next answer does not fit in
 * what is left of `out`, it stops before that request and sets *full: the
 * caller sends what there is and closes the connection.  Never reads outside
 * buf, never writes outside out, whatever the bytes. */
size_t http_handle(const struct http_site *site, const uint8_t *buf, size_t size,
                   uint8_t *out, size_t cap, size_t *out_len, bool *close_after, bool *full);

#endif
