/* HTTP/1.1 request parsing and answering: the twin of
 * backends/python/runtime/http_engine.py (see its docstring for what is
 * accepted and how it is answered), function for function.  No allocation:
 * the state of a request lives on the stack, the answers go to the
 * caller's buffer. */
#include "http/http_engine.h"

#include <string.h>

#define MAX_RL HTTP_MAX_REQUEST_LINE
#define MAX_HB HTTP_MAX_HEADER_BYTES

static const char CLOSE_HDR[] = "Connection: close\r\n";
static const char KEEP_HDR[] = "Connection: keep-alive\r\n";

struct bytes { const uint8_t *p; size_t n; };

struct writer {
    uint8_t *p;
    size_t len, cap;
    bool full;
};

/* What _one gives: the end of the request, whether to close after it, or
 * that it is incomplete (or did not fit). */
enum outcome { DONE, INCOMPLETE, NO_ROOM };

static bool is_tchar(uint8_t c) {
    if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) return true;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_hex(uint8_t c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static unsigned hex_value(uint8_t c) {
    if (c >= '0' && c <= '9') return (unsigned)(c - '0');
    if (c >= 'a' && c <= 'f') return (unsigned)(c - 'a' + 10);
    return (unsigned)(c - 'A' + 10);
}

static uint8_t lower(uint8_t c) { return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c; }

static bool eq_nocase(struct bytes a, const char *lit) {
    size_t n = strlen(lit);
    if (a.n != n) return false;
    for (size_t i = 0; i < n; i++)
        if (lower(a.p[i]) != (uint8_t)lit[i]) return false;
    return true;
}

static bool eq(struct bytes a, const char *lit) {
    size_t n = strlen(lit);
    return a.n == n && memcmp(a.p, lit, n) == 0;
}

static struct bytes strip(struct bytes b) {  /* strip(b" \t") */
    while (b.n > 0 && (b.p[0] == ' ' || b.p[0] == '\t')) { b.p++; b.n--; }
    while (b.n > 0 && (b.p[b.n - 1] == ' ' || b.p[b.n - 1] == '\t')) b.n--;
    return b;
}

/* Index of the first LF in buf[start, min(stop, size)), or -1 (as ptrdiff). */
static ptrdiff_t line_end(const uint8_t *buf, size_t size, size_t start, size_t stop) {
    if (stop > size) stop = size;
    if (start >= stop) return -1;
    const uint8_t *hit = memchr(buf + start, '\n', stop - start);
    return hit == NULL ? -1 : hit - buf;
}

/* _finish: head, the Connection header when needed, CRLF, body. */
static bool finish(struct writer *w, const struct http_site *site, struct http_span head,
                   struct http_span body, bool close, bool keep_alive_header) {
    const char *extra = close ? CLOSE_HDR : keep_alive_header ? KEEP_HDR : "";
    size_t extra_len = strlen(extra);
    size_t need = (size_t)head.len + extra_len + 2 + body.len;
    if (w->cap - w->len < need) {
        w->full = true;
        return false;
    }
    memcpy(w->p + w->len, site->data + head.off, head.len);
    w->len += head.len;
    memcpy(w->p + w->len, extra, extra_len);
    w->len += extra_len;
    memcpy(w->p + w->len, "\r\n", 2);
    w->len += 2;
    if (body.len > 0) memcpy(w->p + w->len, site->data + body.off, body.len);
    w->len += body.len;
    return true;
}

static bool error(struct writer *w, const struct http_site *site, int which, bool head_only,
                  bool close, bool keep_alive_header) {
    const struct http_response *r = &site->responses[site->errors[which]];
    struct http_span body = head_only ? (struct http_span){ 0, 0 } : r->body;
    return finish(w, site, r->head, body, close, keep_alive_header);
}

static bool plausible_start(struct bytes p) {
    if (p.n > 0 && p.p[p.n - 1] == '\r') p.n--;
    for (size_t i = 0; i < p.n; i++)
        if (p.p[i] < 0x20 || p.p[i] > 0x7E) return false;
    size_t i = 0;
    while (i < p.n && p.p[i] != ' ') {
        if (!is_tchar(p.p[i])) return false;
        i++;
    }
    /* rest = p[i + 1:] when there is a space */
    return i >= p.n || i + 1 >= p.n || p.p[i + 1] != ' ';
}

struct request { struct bytes method, target; int major, minor; };

static bool request_line(struct bytes line, struct request *r) {
    size_t spaces[3], count = 0;
    for (size_t i = 0; i < line.n; i++) {
        if (line.p[i] == ' ') {
            if (count == 2) return false;
            spaces[count++] = i;
        }
    }
    if (count != 2) return false;
    struct bytes method = { line.p, spaces[0] };
    struct bytes target = { line.p + spaces[0] + 1, spaces[1] - spaces[0] - 1 };
    struct bytes version = { line.p + spaces[1] + 1, line.n - spaces[1] - 1 };
    if (method.n == 0) return false;
    for (size_t i = 0; i < method.n; i++)
        if (!is_tchar(method.p[i])) return false;
    if (target.n == 0) return false;
    for (size_t i = 0; i < target.n; i++)
        if (target.p[i] <= 0x20 || target.p[i] >= 0x7F) return false;
    if (version.n != 8 || memcmp(version.p, "HTTP/", 5) != 0 || version.p[6] != '.' ||
        version.p[5] < '0' || version.p[5] > '9' || version.p[7] < '0' || version.p[7] > '9')
        return false;
    *r = (struct request){ method, target, version.p[5] - '0', version.p[7] - '0' };
    return true;
}

static bool field(struct bytes line, struct bytes *name, struct bytes *value) {
    const uint8_t *colon = line.n > 0 ? memchr(line.p, ':', line.n) : NULL;
    if (colon == NULL || colon == line.p) return false;
    *name = (struct bytes){ line.p, (size_t)(colon - line.p) };
    for (size_t i = 0; i < name->n; i++)
        if (!is_tchar(name->p[i])) return false;
    *value = strip((struct bytes){ colon + 1, line.n - name->n - 1 });
    for (size_t i = 0; i < value->n; i++) {
        uint8_t c = value->p[i];
        if ((c < 0x20 && c != 0x09) || c == 0x7F) return false;
    }
    return true;
}

/* _content_length over the Content-Length values: -1 when invalid. */
static int64_t content_length(const struct bytes *values, size_t count) {
    if (count == 0) return 0;
    struct bytes first = { 0, 0 };
    bool have_first = false;
    for (size_t v = 0; v < count; v++) {
        size_t start = 0;
        for (;;) {
            size_t end = start;
            while (end < values[v].n && values[v].p[end] != ',') end++;
            struct bytes item = strip((struct bytes){ values[v].p + start, end - start });
            if (!have_first) {
                first = item;
                have_first = true;
                if (first.n == 0 || first.n > 18) return -1;
                for (size_t i = 0; i < first.n; i++)
                    if (first.p[i] < '0' || first.p[i] > '9') return -1;
            } else if (item.n != first.n || memcmp(item.p, first.p, first.n) != 0) {
                return -1;
            }
            if (end >= values[v].n) break;
            start = end + 1;
        }
    }
    int64_t n = 0;
    for (size_t i = 0; i < first.n; i++) n = n * 10 + (first.p[i] - '0');
    return n;
}

/* Strict UTF-8, as Python's bytes.decode("utf-8"). */
static bool valid_utf8(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c < 0x80) { i++; continue; }
        size_t more;
        uint8_t lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) more = 1;
        else if (c == 0xE0) { more = 2; lo = 0xA0; }
        else if (c == 0xED) { more = 2; hi = 0x9F; }
        else if (c >= 0xE1 && c <= 0xEF) more = 2;
        else if (c == 0xF0) { more = 3; lo = 0x90; }
        else if (c >= 0xF1 && c <= 0xF3) more = 3;
        else if (c == 0xF4) { more = 3; hi = 0x8F; }
        else return false;
        if (n - i - 1 < more) return false;
        if (s[i + 1] < lo || s[i + 1] > hi) return false;
        for (size_t k = 2; k <= more; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xBF) return false;
        i += 1 + more;
    }
    return true;
}

/* _path: the percent-decoded path of target into out (room for target.n + 1
 * bytes); its length, or -1 when not acceptable. */
static ptrdiff_t path_of(struct bytes target, uint8_t *out) {
    uint8_t low[8];
    size_t ln = target.n < 8 ? target.n : 8;
    for (size_t i = 0; i < ln; i++) low[i] = lower(target.p[i]);
    struct bytes t = target;
    size_t skip = 0;
    if (ln >= 7 && memcmp(low, "http://", 7) == 0) skip = 7;
    else if (ln >= 8 && memcmp(low, "https://", 8) == 0) skip = 8;
    bool slash_prefix = false;
    if (skip > 0) {
        struct bytes rest = { target.p + skip, target.n - skip };
        size_t cut = rest.n;
        for (size_t i = 0; i < rest.n; i++)
            if (rest.p[i] == '/' || rest.p[i] == '?') { cut = i; break; }
        if (cut == 0) return -1;  /* no authority */
        t = (struct bytes){ rest.p + cut, rest.n - cut };
        if (t.n == 0 || t.p[0] != '/') slash_prefix = true;
    } else if (t.n == 0 || t.p[0] != '/') {
        return -1;
    }
    if (t.n > 0 && memchr(t.p, '#', t.n) != NULL) return -1;
    const uint8_t *q = t.n > 0 ? memchr(t.p, '?', t.n) : NULL;
    struct bytes raw = { t.p, q == NULL ? t.n : (size_t)(q - t.p) };
    /* the raw path as Python sees it: "/" + raw when slash_prefix */
    size_t raw_n = raw.n + (slash_prefix ? 1 : 0);
#define RAW(i) (slash_prefix ? ((i) == 0 ? (uint8_t)'/' : raw.p[(i) - 1]) : raw.p[i])
    size_t n = 0, i = 0;
    while (i < raw_n) {
        uint8_t c = RAW(i);
        if (c == '%') {
            if (i + 2 >= raw_n) return -1;
            uint8_t h = RAW(i + 1), l = RAW(i + 2);
            if (!is_hex(h) || !is_hex(l)) return -1;
            out[n++] = (uint8_t)(hex_value(h) << 4 | hex_value(l));
            i += 3;
        } else {
            out[n++] = c;
            i++;
        }
    }
#undef RAW
    if (n > 0 && memchr(out, 0, n) != NULL) return -1;
    if (!valid_utf8(out, n)) return -1;
    size_t start = 0;
    for (size_t k = 0; k <= n; k++) {
        if (k == n || out[k] == '/') {
            if (k - start == 2 && out[start] == '.' && out[start + 1] == '.') return -1;
            start = k + 1;
        }
    }
    return (ptrdiff_t)n;
}

/* _matches over the If-None-Match values (weak comparison). */
static bool matches(const struct bytes *values, size_t count, struct bytes etag) {
    struct bytes opaque = etag;
    if (opaque.n >= 2 && opaque.p[0] == 'W' && opaque.p[1] == '/') {
        opaque.p += 2;
        opaque.n -= 2;
    }
    for (size_t v = 0; v < count; v++) {
        struct bytes value = values[v];
        if (eq(strip(value), "*")) return true;
        size_t pos = 0, size = value.n;
        while (pos < size) {
            uint8_t c = value.p[pos];
            if (c == ' ' || c == '\t' || c == ',') {
                pos++;
                continue;
            }
            if (size - pos >= 2 && value.p[pos] == 'W' && value.p[pos + 1] == '/') pos += 2;
            if (pos >= size || value.p[pos] != '"') break;
            const uint8_t *close = pos + 1 < size ? memchr(value.p + pos + 1, '"', size - pos - 1)
                                                  : NULL;
            if (close == NULL) break;
            size_t end = (size_t)(close - value.p);
            if (end + 1 - pos == opaque.n && memcmp(value.p + pos, opaque.p, opaque.n) == 0)
                return true;
            pos = end + 1;
        }
    }
    return false;
}

static const struct http_route *route(const struct http_site *site, const uint8_t *path,
                                      size_t n) {
    size_t lo = 0, hi = site->route_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct http_route *r = &site->routes[mid];
        size_t m = r->path.len < n ? r->path.len : n;
        int c = m > 0 ? memcmp(site->data + r->path.off, path, m) : 0;
        if (c == 0) c = r->path.len < n ? -1 : r->path.len > n ? 1 : 0;
        if (c == 0) return r;
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

/* _one: answer the request at start.  On DONE, *end and *close are set. */
static enum outcome one(const struct http_site *site, const uint8_t *buf, size_t size,
                        size_t start, struct writer *w, size_t *end, bool *close) {
#define ANSWER(e, status, head_only, cl, kah)                                   \
    do {                                                                        \
        if (!error(w, site, (status), (head_only), (cl), (kah))) return NO_ROOM; \
        *end = (e);                                                             \
        *close = (cl);                                                          \
        return DONE;                                                            \
    } while (0)
    ptrdiff_t eol = line_end(buf, size, start, start + MAX_RL + 2);
    if (eol < 0) {
        size_t stop = start + MAX_RL + 2 < size ? start + MAX_RL + 2 : size;
        struct bytes partial = { buf + start, stop - start };
        if (partial.n > MAX_RL + 1) ANSWER(size, HTTP_E414, false, true, false);
        if (!plausible_start(partial)) ANSWER(size, HTTP_E400, false, true, false);
        return INCOMPLETE;
    }
    struct bytes line = { buf + start, (size_t)eol - start };
    if (line.n > 0 && line.p[line.n - 1] == '\r') line.n--;
    if (line.n > MAX_RL) ANSWER(size, HTTP_E414, false, true, false);
    struct request req;
    if (!request_line(line, &req)) ANSWER(size, HTTP_E400, false, true, false);
    bool head_only = eq(req.method, "HEAD");

    size_t fields_start = (size_t)eol + 1;
    size_t limit = fields_start + MAX_HB;
    size_t pos = fields_start;
    struct bytes names[HTTP_MAX_HEADERS], values[HTTP_MAX_HEADERS];
    size_t nfields = 0;
    for (;;) {
        eol = line_end(buf, size, pos, limit);
        if (eol < 0) {
            if (size >= limit) ANSWER(size, HTTP_E431, head_only, true, false);
            return INCOMPLETE;
        }
        struct bytes f = { buf + pos, (size_t)eol - pos };
        pos = (size_t)eol + 1;
        if (f.n > 0 && f.p[f.n - 1] == '\r') f.n--;
        if (f.n == 0) break;
        if (nfields == HTTP_MAX_HEADERS) ANSWER(size, HTTP_E431, head_only, true, false);
        if (!field(f, &names[nfields], &values[nfields]))
            ANSWER(size, HTTP_E400, head_only, true, false);
        nfields++;
    }
    size_t request_end = pos;

    if (req.major != 1) ANSWER(size, HTTP_E505, head_only, true, false);
    size_t hosts = 0, nlengths = 0, ninm = 0;
    struct bytes lengths[HTTP_MAX_HEADERS], inm[HTTP_MAX_HEADERS];
    bool chunked = false, conn_close = false, conn_keep = false;
    for (size_t i = 0; i < nfields; i++) {
        struct bytes name = names[i], value = values[i];
        if (eq_nocase(name, "host")) {
            hosts++;
        } else if (eq_nocase(name, "content-length")) {
            lengths[nlengths++] = value;
        } else if (eq_nocase(name, "transfer-encoding")) {
            chunked = true;
        } else if (eq_nocase(name, "connection")) {
            size_t s = 0;
            for (;;) {
                size_t e = s;
                while (e < value.n && value.p[e] != ',') e++;
                struct bytes token = strip((struct bytes){ value.p + s, e - s });
                if (eq_nocase(token, "close")) conn_close = true;
                if (eq_nocase(token, "keep-alive")) conn_keep = true;
                if (e >= value.n) break;
                s = e + 1;
            }
        } else if (eq_nocase(name, "if-none-match")) {
            inm[ninm++] = value;
        }
    }
    if (hosts > 1 || (hosts == 0 && req.minor >= 1))
        ANSWER(size, HTTP_E400, head_only, true, false);
    int64_t length = content_length(lengths, nlengths);
    if (length < 0) ANSWER(size, HTTP_E400, head_only, true, false);
    bool has_body = chunked || length > 0;
    bool cl = req.minor >= 1 ? conn_close : (!conn_keep || conn_close);
    bool keep_alive_header = req.minor == 0 && !cl;

    if (!eq(req.method, "GET") && !eq(req.method, "HEAD")) {
        cl = cl || has_body;
        ANSWER(request_end, HTTP_E405, false, cl, keep_alive_header);
    }
    if (has_body) ANSWER(size, HTTP_E400, head_only, true, false);
    uint8_t path[MAX_RL + 2];
    if (req.target.n + 1 > sizeof path) ANSWER(size, HTTP_E400, head_only, true, false);
    ptrdiff_t n = path_of(req.target, path);
    if (n < 0) ANSWER(size, HTTP_E400, head_only, true, false);
    const struct http_route *r = route(site, path, (size_t)n);
    if (r == NULL) ANSWER(request_end, HTTP_E404, head_only, cl, keep_alive_header);
    const struct http_response *resp = &site->responses[r->response];
    bool ok;
    if (resp->etag.len > 0 && ninm > 0 &&
        matches(inm, ninm, (struct bytes){ site->data + resp->etag.off, resp->etag.len })) {
        ok = finish(w, site, resp->not_modified, (struct http_span){ 0, 0 }, cl,
                    keep_alive_header);
    } else {
        struct http_span body = head_only ? (struct http_span){ 0, 0 } : resp->body;
        ok = finish(w, site, resp->head, body, cl, keep_alive_header);
    }
    if (!ok) return NO_ROOM;
    *end = request_end;
    *close = cl;
    return DONE;
#undef ANSWER
}

size_t http_handle(const struct http_site *site, const uint8_t *buf, size_t size,
                   uint8_t *out, size_t cap, size_t *out_len, bool *close_after, bool *full) {
    struct writer w = { out, 0, cap, false };
    size_t pos = 0;
    *close_after = false;
    *full = false;
    while (pos < size) {
        if (size - pos >= 2 && buf[pos] == '\r' && buf[pos + 1] == '\n') {
            pos += 2;
            continue;
        }
        if (buf[pos] == '\n') {
            pos++;
            continue;
        }
        size_t end = 0;
        bool close = false;
        enum outcome o = one(site, buf, size, pos, &w, &end, &close);
        if (o == INCOMPLETE) break;
        if (o == NO_ROOM) {
            *full = true;
            break;
        }
        if (close) {
            *out_len = w.len;
            *close_after = true;
            return size;
        }
        pos = end;
    }
    *out_len = w.len;
    return pos;
}
