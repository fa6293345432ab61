/* Byte helpers: a growable buffer with the big-endian encoders of DESIGN section 2,
 * a bounded reader, and exact-length lowercase hex. */
#ifndef CV_BYTES_H
#define CV_BYTES_H

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
