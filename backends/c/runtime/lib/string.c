/*
 * Freestanding memory and string functions.  GCC emits calls to memcpy,
 * memmove, memset and memcmp on its own (struct copies, zeroing), so these
 * must exist even when no source calls them.
 *
 * Built with -fno-tree-loop-distribute-patterns, or GCC would turn these
 * very loops back into calls to themselves.  Word-at-a-time loops rather
 * than `rep movsb`: under TCG a rep-prefixed instruction is re-dispatched
 * per element, plain loads and stores run as translated code.
 */
#include <stdint.h>
#include <string.h>

/* x86 tolerates unaligned accesses; these types tell the compiler so, and
 * that they may alias anything. */
typedef uint64_t __attribute__((may_alias, aligned(1))) word_t;

typedef uint32_t __attribute__((may_alias, aligned(1))) half_t;
typedef uint16_t __attribute__((may_alias, aligned(1))) quarter_t;

/* Copy forward, 32 bytes a loop, then what is left in 8, 4, 2 and 1: under
 * TCG each loop iteration is a jump between translated blocks, and a DNS
 * answer is copied three times (answer, datagram, transmit buffer).  Safe
 * for memmove when dst is below src: every word is read before a store
 * that could overlap it. */
static void copy_forward(unsigned char *d, const unsigned char *s, size_t n)
{
    for (; n >= 32; n -= 32, d += 32, s += 32) {
        word_t a = ((const word_t *)s)[0], b = ((const word_t *)s)[1];
        word_t c = ((const word_t *)s)[2], e = ((const word_t *)s)[3];
        ((word_t *)d)[0] = a;
        ((word_t *)d)[1] = b;
        ((word_t *)d)[2] = c;
        ((word_t *)d)[3] = e;
    }
    for (; n >= 8; n -= 8, d += 8, s += 8)
        *(word_t *)d = *(const word_t *)s;
    if (n >= 4) {
        *(half_t *)d = *(const half_t *)s;
        n -= 4, d += 4, s += 4;
    }
    if (n >= 2) {
        *(quarter_t *)d = *(const quarter_t *)s;
        n -= 2, d += 2, s += 2;
    }
    if (n)
        *d = *s;
}

void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
    copy_forward(dst, src, n);
    return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (d == s || n == 0)
        return dst;
    if (d < s) {
        copy_forward(d, s, n);
    } else {
        d += n;
        s += n;
        for (; n >= 8; n -= 8) {
            d -= 8;
            s -= 8;
            *(word_t *)d = *(const word_t *)s;
        }
        while (n--)
            *--d = *--s;
    }
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
    unsigned char *d = dst;
    uint64_t w = (unsigned char)c * 0x0101010101010101ull;
    for (; n >= 8; n -= 8, d += 8)
        *(word_t *)d = w;
    while (n--)
        *d++ = (unsigned char)c;
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    /* Equal words first (names in a DNS table, MAC addresses): the first
     * byte that differs still decides, compared below. */
    for (; n >= 8 && *(const word_t *)x == *(const word_t *)y; n -= 8, x += 8, y += 8)
        ;
    for (; n; n--, x++, y++)
        if (*x != *y)
            return *x - *y;
    return 0;
}

void *memchr(const void *s, int c, size_t n)
{
    const unsigned char *p = s;
    for (; n; n--, p++)
        if (*p == (unsigned char)c)
            return (void *)p;
    return NULL;
}

size_t strlen(const char *s)
{
    const char *p = s;
    while (*p)
        p++;
    return (size_t)(p - s);
}

size_t strnlen(const char *s, size_t max)
{
    size_t n = 0;
    while (n < max && s[n])
        n++;
    return n;
}

int strcmp(const char *a, const char *b)
{
    for (; *a && *a == *b; a++, b++)
        ;
    return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
    for (; n; n--, a++, b++) {
        if (*a != *b || !*a)
            return (unsigned char)*a - (unsigned char)*b;
    }
    return 0;
}

char *strchr(const char *s, int c)
{
    for (;; s++) {
        if (*s == (char)c)
            return (char *)s;
        if (!*s)
            return NULL;
    }
}

char *strstr(const char *haystack, const char *needle)
{
    size_t n = strlen(needle);
    for (; *haystack; haystack++)
        if (strncmp(haystack, needle, n) == 0)
            return (char *)haystack;
    return n == 0 ? (char *)haystack : NULL;
}
