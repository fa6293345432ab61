/* The import formats of an election's voters, read the same way by the admin API and the
 * CLI: eligibility entries (voter ids with optional one-time codes) and the roll (voters'
 * public keys), each as CSV or JSON. Parsing is bounded and all or nothing: the first bad
 * row is named (CSV line or JSON array position) and nothing is returned with it. */
#ifndef CV_IMPORT_H
#define CV_IMPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>
#include "chain.h"
#include "err.h"
#include "store.h"

/* At most this many rows per import: one transaction holds them all, and 1,000,000 rows
 * stay within conf/DB_CONFIG's lock table (a 200,000-row roll held 5,427 locks). */
#define CV_IMPORT_MAX_ROWS 1000000
/* A CSV line longer than this is refused: the longest valid one is 64 + 1 + 64 bytes. */
#define CV_IMPORT_LINE_MAX 256
/* Room for an error message (e.g. "line 7: the voter id must be ..."). */
#define CV_IMPORT_WHY_MAX 200

typedef enum cv_import_kind {
	/* CSV lines "voter_id" or "voter_id,code", an optional first line "voter_id" or
	 * "voter_id,code"; JSON {"voters": [{"voter_id", "code"?}, ...]}. */
	CV_IMPORT_ELIGIBLE,
	/* CSV lines "key_hex", an optional first line "key_hex" or "key"; JSON
	 * {"keys": [key_hex, ...]}. Keys are 130 lowercase hex digits of a P-256 point. */
	CV_IMPORT_ROLL
} cv_import_kind;

typedef struct cv_import_voter {
	char voter_id[CV_ELIGIBLE_TEXT_MAX + 1];
	char code[CV_ELIGIBLE_TEXT_MAX + 1]; /* "" where the import gave none */
	bool generated;                      /* code made by cv_import_make_codes */
} cv_import_voter;

/* A parsed import, sorted (ids in strcmp order, keys in byte order) and free of repeats,
 * so that the store writes it in key order. */
typedef struct cv_import {
	cv_import_kind kind;
	bool json;                   /* rows[] are JSON array positions, else CSV lines */
	size_t n;                    /* entries, >= 1 */
	cv_import_voter *voters;     /* CV_IMPORT_ELIGIBLE: n entries */
	cv_eligible *eligible;       /* the same n entries as the store takes them (lent) */
	uint8_t (*keys)[CV_KEY_LEN]; /* CV_IMPORT_ROLL: n keys */
	size_t *rows;                /* where entry i came from */
} cv_import;

/* CSV in exactly len bytes (NULs included, which are refused). Blank lines, lines "#" or
 * "# ..." (comments: an id never holds a space) and the header line are skipped; a line
 * may end in "\r\n". No quoting: a field that begins with '"' is refused, so an id or a
 * code that holds a comma or begins with a quote, or the id "#", comes only as JSON. */
cv_err cv_import_csv(cv_import_kind kind, const char *p, size_t len, size_t max_rows,
                     cv_import *out, char why[CV_IMPORT_WHY_MAX]);
/* JSON already parsed strictly (cv_json_parse); doc is borrowed. */
cv_err cv_import_json(cv_import_kind kind, const json_object *doc, size_t max_rows, cv_import *out,
                      char why[CV_IMPORT_WHY_MAX]);
/* JSON from bytes: cv_json_parse, then cv_import_json. */
cv_err cv_import_json_text(cv_import_kind kind, const char *p, size_t len, size_t max_rows,
                           cv_import *out, char why[CV_IMPORT_WHY_MAX]);
/* Each of these returns CV_OK with *out filled (free it with cv_import_free), or an
 * error with *out empty and why saying which row and what is wrong: CV_E_MALFORMED (the
 * format, a repeated id or key, no rows), CV_E_BAD_KEY (hex of a point off the curve),
 * CV_E_TOO_LARGE (more than max_rows rows, max_rows at most CV_IMPORT_MAX_ROWS),
 * CV_E_WEAK_CODE (a code under cv_eligible_code_strong), CV_E_NOMEM. Codes are kept as
 * given (the store normalises them); a code may hold spaces and dashes. */

/* Gives every eligibility entry without a code a fresh one (cv_eligible_make_code). */
cv_err cv_import_make_codes(cv_import *imp);
/* "line 7" or "voters[6]" / "keys[6]": where entry i came from, for messages. */
void cv_import_where(const cv_import *imp, size_t i, char *buf, size_t len);
/* Wipes the codes and frees; leaves *imp empty. NULL and empty imports are no-ops. */
void cv_import_free(cv_import *imp);

#endif
