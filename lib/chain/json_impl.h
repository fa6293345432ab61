/* Private to the public JSON's files (lib/chain/json*.c): where a parse is, for its
 * messages, the strict field readers every decoder uses (json.c), and the decoders the
 * export stream reuses (json_read.c). Nothing outside lib/chain/json*.c includes this
 * file. */
#ifndef CV_JSON_IMPL_H
#define CV_JSON_IMPL_H

#include <stdint.h>

#include "json.h"

/* Where a parse is, so that a failure can say "block 2 vote 0: candidate_id: ...".
 * Public entry points pass NULL and get only the error value. */
typedef struct pstate {
	char *why;
	size_t why_len;
	int64_t block;    /* block index in the export, or -1 */
	const char *item; /* "vote", "approval", "candidate", ... or NULL */
	int64_t item_index;
	cv_json_txid_fn bad_txid;
	void *ctx;
} pstate;

/* A failure at ps's place (ps may be NULL): CV_E_MALFORMED. */
cv_err cv_js_fail(pstate *ps, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The field readers of json.h (cv_json_get_hex, ...) with a parse's place (ps may be
 * NULL); cv_js_get_field lends *val, of the given type. */
cv_err cv_js_get_field(pstate *ps, const json_object *o, const char *key, json_type type,
                       json_object **val);
cv_err cv_js_get_hex(pstate *ps, const json_object *o, const char *key, uint8_t *out, size_t n);
cv_err cv_js_get_u64(pstate *ps, const json_object *o, const char *key, uint64_t max,
                     uint64_t *out);
cv_err cv_js_get_text(pstate *ps, const json_object *o, const char *key, char *out);
cv_err cv_js_only_keys(pstate *ps, const json_object *o, const char *const *allowed);

/* json_read.c: one key of the roll, and a block (the genesis form at height 0), as
 * cv_block_from_json reads them. */
cv_err cv_js_voter_parse(pstate *ps, json_object *item, uint8_t key[CV_KEY_LEN]);
cv_err cv_js_block_parse(pstate *ps, const json_object *o, cv_block *b);

#endif
