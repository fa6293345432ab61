/* Byte helpers: a growable buffer with the big-endian encoders of DESIGN section 2,
 * a bounded reader, and exact-length lowercase hex. */
#ifndef CV_BYTES_H
#define CV_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "err.h"

/* A growable byte buffer. Zero-initialise ({0}) before use; cv_buf_free releases it.
 * Every append returns CV_OK or CV_E_NOMEM; after a failed append the buffer's content
 * is unchanged and `failed` is set so a run of appends may be checked once at the end. */
typedef struct cv_buf {
	uint8_t *data;
	size_t len, cap;
	int failed;
} cv_buf;

cv_err cv_buf_put(cv_buf *b, const void *p, size_t n);
cv_err cv_buf_u8(cv_buf *b, uint8_t v);
cv_err cv_buf_u16(cv_buf *b, uint16_t v);
cv_err cv_buf_u32(cv_buf *b, uint32_t v);
cv_err cv_buf_u64(cv_buf *b, uint64_t v);
/* text(s) = u16(len) || bytes; CV_E_TOO_LARGE when strlen(s) > CV_TEXT_MAX. */
cv_err cv_buf_text(cv_buf *b, const char *s);
/* Tag bytes, no length, no terminator. */
cv_err cv_buf_tag(cv_buf *b, const char *tag);
void cv_buf_reset(cv_buf *b); /* len = 0, failed = 0, keeps memory */
void cv_buf_free(cv_buf *b);  /* no-op on a zeroed buffer */

/* A bounded reader over n bytes at p, the inverse of cv_buf's encoders: start one as
 * {.p = p, .n = n}. Every read checks the bytes left first; one that would pass the end
 * takes nothing, sets bad, and answers NULL, 0 or zeroed bytes, as every later read
 * does, so that a run of reads is checked once at the end (cv_rd_end). */
typedef struct cv_reader {
	const uint8_t *p;
	size_t n, off; /* off <= n always */
	bool bad;
} cv_reader;

/* The next len bytes, lent from p (NULL when fewer are left). */
const uint8_t *cv_rd_take(cv_reader *r, size_t len);
uint8_t cv_rd_u8(cv_reader *r);
uint16_t cv_rd_u16(cv_reader *r);
uint32_t cv_rd_u32(cv_reader *r);
uint64_t cv_rd_u64(cv_reader *r);
/* len bytes into out (zeroed when fewer are left). */
void cv_rd_copy(cv_reader *r, void *out, size_t len);
/* tag's bytes, as cv_buf_tag wrote them; other bytes set bad. Returns !bad. */
bool cv_rd_tag(cv_reader *r, const char *tag);
/* text(s) as cv_buf_text wrote it, into out[CV_TEXT_MAX + 1], NUL-terminated: a length
 * over CV_TEXT_MAX or a NUL inside sets bad. */
void cv_rd_text(cv_reader *r, char *out);
/* The bytes not read yet. */
size_t cv_rd_left(const cv_reader *r);
/* Whether every read succeeded and every byte was read. */
bool cv_rd_end(const cv_reader *r);

/* Big-endian stores and loads into fixed places. */
void cv_put_u32(uint8_t *p, uint32_t v);
void cv_put_u64(uint8_t *p, uint64_t v);
uint32_t cv_get_u32(const uint8_t *p);
uint64_t cv_get_u64(const uint8_t *p);

/* Lowercase hex of n bytes into out, which must hold 2n+1 chars (NUL-terminated). */
void cv_hex_encode(const uint8_t *p, size_t n, char *out);
/* Decodes exactly n bytes from hex; CV_E_MALFORMED unless strlen(hex) == 2n and every
 * char is [0-9a-f] (lowercase only, as section 2 says). */
cv_err cv_hex_decode(const char *hex, uint8_t *out, size_t n);
/* The same on the first 2n chars of hex, whatever follows them (text being read in
 * place): hex must hold at least 2n readable chars (a NUL among them is not hex). */
cv_err cv_hex_decode_prefix(const char *hex, uint8_t *out, size_t n);

/* Constant-time comparison, 0 when equal. */
int cv_memeq_ct(const void *a, const void *b, size_t n);

#endif
