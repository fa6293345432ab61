/* One reader of the voter import formats (eligibility entries and the roll, CSV or JSON)
 * for the admin API and the CLI. Every row is checked against the same rules the store
 * and registration apply, repeats are found by sorting, and the first problem is named by
 * its row so that an administrator can fix the file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto.h"
#include "import.h"
#include "json.h"

/* A row while parsing: the entry and where it came from. Sorting moves the two
 * together; the public arrays are filled from these once the import is known good. */
typedef struct voter_row {
	cv_import_voter v;
	size_t row;
} voter_row;

typedef struct key_row {
	uint8_t key[CV_KEY_LEN];
	size_t row;
} key_row;

typedef struct acc {
	cv_import_kind kind;
	bool json;
	size_t max_rows;
	size_t n, cap;
	voter_row *voters;
	key_row *keys;
} acc;

static const char id_rule[] = "the voter id must be 1-64 printable ASCII characters without "
                              "spaces";
static const char code_rule[] = "the code must be 1-64 printable ASCII characters (spaces and "
                                "dashes are ignored)";
static const char weak_rule[] = "the code is too easy to guess: it needs at least 40 bits, e.g. "
                                "8 letters and digits, 10 hex digits or 13 digits";

static void where(bool json, cv_import_kind kind, size_t row, char *buf, size_t len)
{
	if (json)
		snprintf(buf, len, "%s[%zu]", kind == CV_IMPORT_ELIGIBLE ? "voters" : "keys", row);
	else
		snprintf(buf, len, "line %zu", row);
}

/* "where: msg" into why. */
static void say(const acc *a, size_t row, const char *msg, char why[CV_IMPORT_WHY_MAX])
{
	char at[48];

	where(a->json, a->kind, row, at, sizeof at);
	snprintf(why, CV_IMPORT_WHY_MAX, "%s: %s", at, msg);
}

static void acc_free(acc *a)
{
	if (a->voters != NULL)
		OPENSSL_cleanse(a->voters, a->cap * sizeof *a->voters);
	free(a->voters);
	free(a->keys);
	a->voters = NULL;
	a->keys = NULL;
	a->n = a->cap = 0;
}

/* Room for one more row (zeroed), or NULL: *e says CV_E_TOO_LARGE or CV_E_NOMEM. */
static void *acc_add(acc *a, size_t row, cv_err *e)
{
	size_t size = a->kind == CV_IMPORT_ELIGIBLE ? sizeof(voter_row) : sizeof(key_row);
	void **items = a->kind == CV_IMPORT_ELIGIBLE ? (void **)&a->voters : (void **)&a->keys;
	char *slot;

	if (a->n == a->max_rows) {
		*e = CV_E_TOO_LARGE;
		return NULL;
	}
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 256;
		void *bigger;

		if (cap > a->max_rows)
			cap = a->max_rows;
		bigger = realloc(*items, cap * size);
		if (bigger == NULL) {
			*e = CV_E_NOMEM;
			return NULL;
		}
		*items = bigger;
		a->cap = cap;
	}
	slot = (char *)*items + a->n * size;
	memset(slot, 0, size);
	if (a->kind == CV_IMPORT_ELIGIBLE)
		((voter_row *)slot)->row = row;
	else
		((key_row *)slot)->row = row;
	a->n++;
	return slot;
}

/* Copies one text field of len bytes (not NUL-terminated, may hold NULs) into out and
 * checks it against the rule every way in shares (cv_eligible_text_ok). */
static bool text_field(const char *p, size_t len, char out[CV_ELIGIBLE_TEXT_MAX + 1])
{
	if (len == 0 || len > CV_ELIGIBLE_TEXT_MAX || memchr(p, '\0', len) != NULL)
		return false;
	memcpy(out, p, len);
	out[len] = '\0';
	return cv_eligible_text_ok(out);
}

/* A code field as given (at most 64 bytes, as typed: the store normalises it), held to
 * the rules the store applies to an administrator's code: it normalises
 * (cv_eligible_code_normalise) and is strong (cv_eligible_code_strong). NULL or the
 * problem (*e says which error). */
static const char *code_field(const char *p, size_t len, char out[CV_ELIGIBLE_TEXT_MAX + 1],
                              cv_err *e)
{
	char normal[CV_ELIGIBLE_TEXT_MAX + 1];

	*e = CV_E_MALFORMED;
	if (len == 0 || len > CV_ELIGIBLE_TEXT_MAX || memchr(p, '\0', len) != NULL)
		return code_rule;
	memcpy(out, p, len);
	out[len] = '\0';
	if (!cv_eligible_code_normalise(out, normal))
		return code_rule;
	if (!cv_eligible_code_strong(normal)) {
		*e = CV_E_WEAK_CODE;
		return weak_rule;
	}
	return NULL;
}

/* An eligibility entry from its fields; code_len 0 means none. NULL or the problem (*e
 * says which error). */
static const char *voter_fields(const char *id, size_t id_len, const char *code, size_t code_len,
                                cv_import_voter *v, cv_err *e)
{
	*e = CV_E_MALFORMED;
	if (!text_field(id, id_len, v->voter_id))
		return id_rule;
	return code_len > 0 ? code_field(code, code_len, v->code, e) : NULL;
}

/* A public key from len bytes of hex. NULL or the problem (*e says which error). */
static const char *key_field(const char *hex, size_t len, uint8_t key[CV_KEY_LEN], cv_err *e)
{
	char buf[2 * CV_KEY_LEN + 1];

	*e = CV_E_MALFORMED;
	if (len != 2 * CV_KEY_LEN || memchr(hex, '\0', len) != NULL)
		return "expected a public key of 130 lowercase hex digits";
	memcpy(buf, hex, len);
	buf[len] = '\0';
	if (cv_hex_decode(buf, key, CV_KEY_LEN) != CV_OK)
		return "expected a public key of 130 lowercase hex digits";
	if ((*e = cv_pubkey_check(key)) != CV_OK)
		return "the key is not a point of P-256 in uncompressed form (04 || X || Y)";
	return NULL;
}

/* ---- CSV ---- */

static bool blank_or_comment(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i == n)
		return true;
	/* "# ..." but not "#123": a voter id may begin with '#', never hold a space */
	return s[0] == '#' && (n == 1 || s[1] == ' ' || s[1] == '\t');
}

static bool is_header(cv_import_kind kind, const char *s, size_t n)
{
	static const char *const eligible[] = {"voter_id", "voter_id,code", NULL};
	static const char *const roll[] = {"key_hex", "key", NULL};
	const char *const *names = kind == CV_IMPORT_ELIGIBLE ? eligible : roll;

	for (size_t i = 0; names[i] != NULL; i++)
		if (strlen(names[i]) == n && memcmp(names[i], s, n) == 0)
			return true;
	return false;
}

/* One data line of n bytes (line end removed) into a new row. */
static cv_err csv_row(acc *a, const char *s, size_t n, size_t line, char why[CV_IMPORT_WHY_MAX])
{
	const char *comma = memchr(s, ',', n), *msg;
	cv_err e = CV_E_MALFORMED;
	void *slot;

	if ((slot = acc_add(a, line, &e)) == NULL) {
		if (e == CV_E_TOO_LARGE) {
			char m[96];

			snprintf(m, sizeof m, "more than %zu rows, the most one import takes",
			         a->max_rows);
			say(a, line, m, why);
		}
		return e;
	}
	if (a->kind == CV_IMPORT_ROLL) {
		msg = comma != NULL ? "expected one field: a public key of 130 lowercase hex digits"
		                    : key_field(s, n, ((key_row *)slot)->key, &e);
	} else if (s[0] == '"' || (comma != NULL && comma + 1 < s + n && comma[1] == '"')) {
		msg = "a field begins with a double quote: CSV quoting is not supported (ids and "
		      "codes need none)";
	} else if (comma != NULL && memchr(comma + 1, ',', n - (size_t)(comma + 1 - s)) != NULL) {
		msg = "expected voter_id or voter_id,code: more than two fields";
	} else {
		size_t id_len = comma ? (size_t)(comma - s) : n;

		msg = voter_fields(s, id_len, comma ? comma + 1 : "", comma ? n - id_len - 1 : 0,
		                   &((voter_row *)slot)->v, &e);
	}
	if (msg == NULL)
		return CV_OK;
	say(a, line, msg, why);
	return e;
}

static cv_err csv_rows(acc *a, const char *p, size_t len, char why[CV_IMPORT_WHY_MAX])
{
	size_t off = 0, line = 0;
	bool first = true;
	cv_err e;

	while (off < len) {
		const char *s = p + off, *eol = memchr(s, '\n', len - off);
		const char *end = eol != NULL ? eol : p + len;
		size_t n;

		off = (size_t)(end - p) + (eol != NULL ? 1 : 0);
		line++;
		/* "\r\n" ends a line too */
		if (end > s && end[-1] == '\r')
			end--;
		n = (size_t)(end - s);
		if (n > CV_IMPORT_LINE_MAX) {
			say(a, line, "the line is longer than 256 bytes", why);
			return CV_E_MALFORMED;
		}
		if (memchr(s, '\0', n) != NULL) {
			say(a, line, "the line holds a NUL byte", why);
			return CV_E_MALFORMED;
		}
		if (blank_or_comment(s, n))
			continue;
		if (first) {
			first = false;
			if (is_header(a->kind, s, n))
				continue;
		}
		if ((e = csv_row(a, s, n, line, why)) != CV_OK)
			return e;
	}
	return CV_OK;
}

/* ---- JSON ---- */

static cv_err json_rows(acc *a, const json_object *doc, char why[CV_IMPORT_WHY_MAX])
{
	static const char *const top_voters[] = {"voters", NULL};
	static const char *const top_keys[] = {"keys", NULL};
	static const char *const entry_keys[] = {"voter_id", "code", NULL};
	bool eligible = a->kind == CV_IMPORT_ELIGIBLE;
	const char *name = eligible ? "voters" : "keys";
	json_object *arr;
	size_t n;
	cv_err e = CV_E_MALFORMED;

	if (cv_json_only_keys(doc, eligible ? top_voters : top_keys) != CV_OK ||
	    cv_json_get_array(doc, name, &arr) != CV_OK) {
		snprintf(why, CV_IMPORT_WHY_MAX, "%s",
		         eligible
		             ? "expected {\"voters\": [{\"voter_id\", \"code\" (optional)}, ...]}"
		             : "expected {\"keys\": [public keys as 130 lowercase hex digits]}");
		return CV_E_MALFORMED;
	}
	n = json_object_array_length(arr);
	if (n > a->max_rows) {
		snprintf(why, CV_IMPORT_WHY_MAX, "%zu %s: more than %zu, the most one import takes",
		         n, name, a->max_rows);
		return CV_E_TOO_LARGE;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *item = json_object_array_get_idx(arr, i), *id, *code = NULL;
		const char *msg = "expected {\"voter_id\", \"code\" (optional)} with string values";
		void *slot = acc_add(a, i, &e);

		if (slot == NULL)
			return e;
		e = CV_E_MALFORMED;
		if (!eligible) {
			msg = "expected a public key of 130 lowercase hex digits";
			if (json_object_is_type(item, json_type_string))
				msg = key_field(json_object_get_string(item),
				                (size_t)json_object_get_string_len(item),
				                ((key_row *)slot)->key, &e);
		} else if (cv_json_only_keys(item, entry_keys) == CV_OK &&
		           json_object_object_get_ex(item, "voter_id", &id) &&
		           json_object_is_type(id, json_type_string) &&
		           (!json_object_object_get_ex(item, "code", &code) ||
		            json_object_is_type(code, json_type_string))) {
			msg = voter_fields(json_object_get_string(id),
			                   (size_t)json_object_get_string_len(id),
			                   code ? json_object_get_string(code) : "",
			                   code ? (size_t)json_object_get_string_len(code) : 0,
			                   &((voter_row *)slot)->v, &e);
		}
		if (msg != NULL) {
			say(a, i, msg, why);
			return e;
		}
	}
	return CV_OK;
}

/* ---- sorting, repeats, the result ---- */

static int voter_cmp(const void *x, const void *y)
{
	const voter_row *a = x, *b = y;
	int c = strcmp(a->v.voter_id, b->v.voter_id);

	return c != 0 ? c : (a->row > b->row) - (a->row < b->row);
}

static int key_cmp(const void *x, const void *y)
{
	const key_row *a = x, *b = y;
	int c = memcmp(a->key, b->key, CV_KEY_LEN);

	return c != 0 ? c : (a->row > b->row) - (a->row < b->row);
}

/* Sorts the rows and refuses a repeat, naming the earliest row that repeats another. */
static cv_err no_repeats(acc *a, char why[CV_IMPORT_WHY_MAX])
{
	bool eligible = a->kind == CV_IMPORT_ELIGIBLE;
	size_t later = SIZE_MAX, earlier = 0;
	char at[48], msg[96];

	if (eligible)
		qsort(a->voters, a->n, sizeof *a->voters, voter_cmp);
	else
		qsort(a->keys, a->n, sizeof *a->keys, key_cmp);
	/* Equal entries sort by row, so the first of a run is where the value first came. */
	for (size_t i = 1, first = 0; i < a->n; i++) {
		bool same = eligible
		                ? strcmp(a->voters[i - 1].v.voter_id, a->voters[i].v.voter_id) == 0
		                : memcmp(a->keys[i - 1].key, a->keys[i].key, CV_KEY_LEN) == 0;
		size_t row = eligible ? a->voters[i].row : a->keys[i].row;

		if (!same) {
			first = i;
			continue;
		}
		if (row < later) {
			later = row;
			earlier = eligible ? a->voters[first].row : a->keys[first].row;
		}
	}
	if (later == SIZE_MAX)
		return CV_OK;
	where(a->json, a->kind, earlier, at, sizeof at);
	snprintf(msg, sizeof msg, "repeats the %s of %s", eligible ? "voter id" : "key", at);
	say(a, later, msg, why);
	return CV_E_MALFORMED;
}

/* Moves a good, sorted set of rows into out. */
static cv_err finish(acc *a, cv_import *out, char why[CV_IMPORT_WHY_MAX])
{
	cv_err e;

	if (a->n == 0) {
		snprintf(why, CV_IMPORT_WHY_MAX, "the import holds no %s",
		         a->kind == CV_IMPORT_ELIGIBLE ? "voters" : "keys");
		return CV_E_MALFORMED;
	}
	if ((e = no_repeats(a, why)) != CV_OK)
		return e;
	out->kind = a->kind;
	out->json = a->json;
	out->rows = malloc(a->n * sizeof *out->rows);
	if (a->kind == CV_IMPORT_ELIGIBLE) {
		out->voters = malloc(a->n * sizeof *out->voters);
		out->eligible = malloc(a->n * sizeof *out->eligible);
	} else {
		out->keys = malloc(a->n * sizeof *out->keys);
	}
	if (out->rows == NULL ||
	    (a->kind == CV_IMPORT_ELIGIBLE ? out->voters == NULL || out->eligible == NULL
	                                   : out->keys == NULL)) {
		cv_import_free(out);
		return CV_E_NOMEM;
	}
	out->n = a->n;
	for (size_t i = 0; i < a->n; i++) {
		if (a->kind == CV_IMPORT_ELIGIBLE) {
			out->voters[i] = a->voters[i].v;
			out->eligible[i].voter_id = out->voters[i].voter_id;
			out->eligible[i].code = out->voters[i].code;
			out->eligible[i].generated = out->voters[i].generated;
			out->rows[i] = a->voters[i].row;
		} else {
			memcpy(out->keys[i], a->keys[i].key, CV_KEY_LEN);
			out->rows[i] = a->keys[i].row;
		}
	}
	return CV_OK;
}

static void start(acc *a, cv_import_kind kind, bool json, size_t max_rows, cv_import *out,
                  char why[CV_IMPORT_WHY_MAX])
{
	memset(a, 0, sizeof *a);
	a->kind = kind;
	a->json = json;
	a->max_rows = max_rows < CV_IMPORT_MAX_ROWS ? max_rows : CV_IMPORT_MAX_ROWS;
	memset(out, 0, sizeof *out);
	why[0] = '\0';
}

cv_err cv_import_csv(cv_import_kind kind, const char *p, size_t len, size_t max_rows,
                     cv_import *out, char why[CV_IMPORT_WHY_MAX])
{
	acc a;
	cv_err e;

	start(&a, kind, false, max_rows, out, why);
	e = csv_rows(&a, p, len, why);
	if (e == CV_OK)
		e = finish(&a, out, why);
	acc_free(&a);
	return e;
}

cv_err cv_import_json(cv_import_kind kind, const json_object *doc, size_t max_rows, cv_import *out,
                      char why[CV_IMPORT_WHY_MAX])
{
	acc a;
	cv_err e;

	start(&a, kind, true, max_rows, out, why);
	e = json_rows(&a, doc, why);
	if (e == CV_OK)
		e = finish(&a, out, why);
	acc_free(&a);
	return e;
}

cv_err cv_import_json_text(cv_import_kind kind, const char *p, size_t len, size_t max_rows,
                           cv_import *out, char why[CV_IMPORT_WHY_MAX])
{
	json_object *doc = NULL;
	cv_err e = cv_json_parse(p, len, &doc);

	if (e != CV_OK) {
		memset(out, 0, sizeof *out);
		snprintf(why, CV_IMPORT_WHY_MAX, "%s",
		         "not strict JSON (or nested too deeply, or bytes after the value)");
		return e;
	}
	e = cv_import_json(kind, doc, max_rows, out, why);
	json_object_put(doc);
	return e;
}

cv_err cv_import_make_codes(cv_import *imp)
{
	cv_err e;

	for (size_t i = 0; imp->kind == CV_IMPORT_ELIGIBLE && i < imp->n; i++) {
		if (imp->voters[i].code[0] != '\0')
			continue;
		if ((e = cv_eligible_make_code(imp->voters[i].code)) != CV_OK)
			return e;
		imp->voters[i].generated = true;
		imp->eligible[i].generated = true;
	}
	return CV_OK;
}

void cv_import_where(const cv_import *imp, size_t i, char *buf, size_t len)
{
	if (i < imp->n)
		where(imp->json, imp->kind, imp->rows[i], buf, len);
	else
		snprintf(buf, len, "the import");
}

void cv_import_free(cv_import *imp)
{
	if (imp == NULL)
		return;
	if (imp->voters != NULL)
		OPENSSL_cleanse(imp->voters, imp->n * sizeof *imp->voters);
	free(imp->voters);
	free(imp->eligible);
	free(imp->keys);
	free(imp->rows);
	memset(imp, 0, sizeof *imp);
}
