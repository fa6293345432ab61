/* Byte helpers: the growable buffer behind every encoding of DESIGN section 2, the
 * bounded reader that reads such bytes back, the big-endian integer stores and loads,
 * and exact-length lowercase hex. Nothing here
 * knows about the chain; chain.c composes these into entries, payloads and headers. */
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "chain.h"

/* Grows b so that n more bytes fit. Leaves the content untouched on failure. */
static cv_err buf_reserve(cv_buf *b, size_t n)
{
	size_t want, cap;
	uint8_t *p;

	if (n > SIZE_MAX - b->len)
		return CV_E_NOMEM;
	want = b->len + n;
	if (want <= b->cap)
		return CV_OK;
	cap = b->cap ? b->cap : 64;
	while (cap < want)
		cap = cap > SIZE_MAX / 2 ? want : cap * 2;
	p = realloc(b->data, cap);
	if (p == NULL)
		return CV_E_NOMEM;
	b->data = p;
	b->cap = cap;
	return CV_OK;
}

cv_err cv_buf_put(cv_buf *b, const void *p, size_t n)
{
	if (n == 0)
		return CV_OK;
	if (buf_reserve(b, n) != CV_OK) {
		b->failed = 1;
		return CV_E_NOMEM;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return CV_OK;
}

cv_err cv_buf_u8(cv_buf *b, uint8_t v)
{
	return cv_buf_put(b, &v, 1);
}

cv_err cv_buf_u16(cv_buf *b, uint16_t v)
{
	uint8_t p[2] = {(uint8_t)(v >> 8), (uint8_t)v};

	return cv_buf_put(b, p, sizeof p);
}

cv_err cv_buf_u32(cv_buf *b, uint32_t v)
{
	uint8_t p[4];

	cv_put_u32(p, v);
	return cv_buf_put(b, p, sizeof p);
}

cv_err cv_buf_u64(cv_buf *b, uint64_t v)
{
	uint8_t p[8];

	cv_put_u64(p, v);
	return cv_buf_put(b, p, sizeof p);
}

cv_err cv_buf_text(cv_buf *b, const char *s)
{
	size_t n = strnlen(s, CV_TEXT_MAX + 1);
	size_t before = b->len;

	/* A too-long text is an input error, not a memory one, so `failed` stays clear. */
	if (n > CV_TEXT_MAX)
		return CV_E_TOO_LARGE;
	if (cv_buf_u16(b, (uint16_t)n) != CV_OK || cv_buf_put(b, s, n) != CV_OK) {
		b->len = before;
		return CV_E_NOMEM;
	}
	return CV_OK;
}

cv_err cv_buf_tag(cv_buf *b, const char *tag)
{
	return cv_buf_put(b, tag, strlen(tag));
}

void cv_buf_reset(cv_buf *b)
{
	b->len = 0;
	b->failed = 0;
}

void cv_buf_free(cv_buf *b)
{
	if (b == NULL)
		return;
	free(b->data);
	memset(b, 0, sizeof *b);
}

const uint8_t *cv_rd_take(cv_reader *r, size_t len)
{
	const uint8_t *at;

	if (r->bad || len > r->n - r->off) {
		r->bad = true;
		return NULL;
	}
	at = r->p + r->off;
	r->off += len;
	return at;
}

uint8_t cv_rd_u8(cv_reader *r)
{
	const uint8_t *at = cv_rd_take(r, 1);

	return at ? at[0] : 0;
}

uint16_t cv_rd_u16(cv_reader *r)
{
	const uint8_t *at = cv_rd_take(r, 2);

	return at ? (uint16_t)(at[0] << 8 | at[1]) : 0;
}

uint32_t cv_rd_u32(cv_reader *r)
{
	const uint8_t *at = cv_rd_take(r, 4);

	return at ? cv_get_u32(at) : 0;
}

uint64_t cv_rd_u64(cv_reader *r)
{
	const uint8_t *at = cv_rd_take(r, 8);

	return at ? cv_get_u64(at) : 0;
}

void cv_rd_copy(cv_reader *r, void *out, size_t len)
{
	const uint8_t *at = cv_rd_take(r, len);

	if (at != NULL)
		memcpy(out, at, len);
	else
		memset(out, 0, len);
}

bool cv_rd_tag(cv_reader *r, const char *tag)
{
	size_t len = strlen(tag);
	const uint8_t *at = cv_rd_take(r, len);

	if (at != NULL && memcmp(at, tag, len) != 0)
		r->bad = true;
	return !r->bad;
}

void cv_rd_text(cv_reader *r, char *out)
{
	size_t len = cv_rd_u16(r);
	const uint8_t *at;

	out[0] = '\0';
	if (len > CV_TEXT_MAX) {
		r->bad = true;
		return;
	}
	if ((at = cv_rd_take(r, len)) == NULL)
		return;
	memcpy(out, at, len);
	out[len] = '\0';
	if (strlen(out) != len)
		r->bad = true;
}

size_t cv_rd_left(const cv_reader *r)
{
	return r->n - r->off;
}

bool cv_rd_end(const cv_reader *r)
{
	return !r->bad && r->off == r->n;
}

void cv_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

void cv_put_u64(uint8_t *p, uint64_t v)
{
	cv_put_u32(p, (uint32_t)(v >> 32));
	cv_put_u32(p + 4, (uint32_t)v);
}

uint32_t cv_get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

uint64_t cv_get_u64(const uint8_t *p)
{
	return (uint64_t)cv_get_u32(p) << 32 | cv_get_u32(p + 4);
}

void cv_hex_encode(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

/* One more than the value of each lowercase hex digit, 0 for every other byte (so
 * that value - 1 is 0xff there). Uppercase is refused: section 2 fixes one spelling so
 * that a hash has exactly one textual form. A table, since an audit decodes some 300
 * hex bytes per vote. */
static const uint8_t hex_value[256] = {
    ['0'] = 1, ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,  ['6'] = 7,  ['7'] = 8,
    ['8'] = 9, ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
};

cv_err cv_hex_decode_prefix(const char *hex, uint8_t *out, size_t n)
{
	const unsigned char *h = (const unsigned char *)hex;
	uint8_t bad = 0;
	size_t i;

	if (hex == NULL || n > SIZE_MAX / 2 - 1)
		return CV_E_MALFORMED;
	/* Validate everything first so that out is untouched on failure. */
	for (i = 0; i < 2 * n; i++)
		bad |= (uint8_t)(hex_value[h[i]] - 1);
	if (bad & 0xf0)
		return CV_E_MALFORMED;
	for (i = 0; i < n; i++)
		out[i] = (uint8_t)((hex_value[h[2 * i]] - 1) << 4 | (hex_value[h[2 * i + 1]] - 1));
	return CV_OK;
}

cv_err cv_hex_decode(const char *hex, uint8_t *out, size_t n)
{
	if (hex == NULL || n > SIZE_MAX / 2 - 1 || strnlen(hex, 2 * n + 1) != 2 * n)
		return CV_E_MALFORMED;
	return cv_hex_decode_prefix(hex, out, n);
}

int cv_memeq_ct(const void *a, const void *b, size_t n)
{
	const volatile uint8_t *x = a, *y = b;
	uint8_t diff = 0;
	size_t i;

	for (i = 0; i < n; i++)
		diff |= x[i] ^ y[i];
	return diff != 0;
}
