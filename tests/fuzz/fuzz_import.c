/* Fuzz target: the import formats the admin API and the CLI read (lib/store/import.c). The
 * first byte picks the kind (bit 0: roll, else eligibility) and the format (bit 1: JSON,
 * else CSV); the rest is the input. A refusal leaves the import empty and says why. An
 * accepted import is sorted without repeats, every entry passes the rules the store
 * applies, and written back as CSV it reads to the same entries. */
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "fuzz.h"
#include "import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whether a field can be written in the CSV dialect: no comma, no leading quote. */
static bool csv_field_ok(const char *s)
{
	return strchr(s, ',') == NULL && s[0] != '"';
}

/* The import as CSV with a header line, so that no entry is taken for one. NULL when an
 * entry cannot be written as CSV (lib/store/import.h): the id "#" reads as a comment there, and
 * fields holding a comma or beginning with a quote come only through JSON. */
static char *to_csv(const cv_import *imp, size_t *len)
{
	size_t cap = 16 + imp->n * (2 * CV_KEY_LEN + 2), n = 0;
	char *out = malloc(cap);

	FUZZ_CHECK(out != NULL);
	n += (size_t)snprintf(out, cap, "%s\n",
	                      imp->kind == CV_IMPORT_ROLL ? "key_hex" : "voter_id,code");
	for (size_t i = 0; i < imp->n; i++) {
		if (imp->kind == CV_IMPORT_ROLL) {
			cv_hex_encode(imp->keys[i], CV_KEY_LEN, out + n);
			n += 2 * CV_KEY_LEN;
			out[n++] = '\n';
			continue;
		}
		if (strcmp(imp->voters[i].voter_id, "#") == 0 ||
		    !csv_field_ok(imp->voters[i].voter_id) || !csv_field_ok(imp->voters[i].code)) {
			free(out);
			return NULL;
		}
		n += (size_t)snprintf(out + n, cap - n, "%s%s%s\n", imp->voters[i].voter_id,
		                      imp->voters[i].code[0] ? "," : "", imp->voters[i].code);
	}
	*len = n;
	return out;
}

static void check_good(const cv_import *imp)
{
	FUZZ_CHECK(imp->n >= 1 && imp->rows != NULL);
	for (size_t i = 0; i < imp->n; i++) {
		char normal[CV_ELIGIBLE_TEXT_MAX + 1];

		if (imp->kind == CV_IMPORT_ROLL) {
			FUZZ_CHECK(cv_pubkey_check(imp->keys[i]) == CV_OK);
			FUZZ_CHECK(i == 0 ||
			           memcmp(imp->keys[i - 1], imp->keys[i], CV_KEY_LEN) < 0);
			continue;
		}
		FUZZ_CHECK(cv_eligible_text_ok(imp->voters[i].voter_id));
		/* a code is kept as given; the store takes it: normal form, strong */
		FUZZ_CHECK(imp->voters[i].code[0] == '\0' ||
		           (cv_eligible_code_normalise(imp->voters[i].code, normal) &&
		            cv_eligible_code_strong(normal)));
		FUZZ_CHECK(imp->eligible[i].voter_id == imp->voters[i].voter_id);
		FUZZ_CHECK(i == 0 ||
		           strcmp(imp->voters[i - 1].voter_id, imp->voters[i].voter_id) < 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[CV_IMPORT_WHY_MAX];
	cv_import imp, again;
	cv_import_kind kind;
	char *csv;
	size_t len = 0;
	cv_err e;

	if (size < 1)
		return 0;
	kind = data[0] & 1 ? CV_IMPORT_ROLL : CV_IMPORT_ELIGIBLE;
	if (data[0] & 2)
		e = cv_import_json_text(kind, (const char *)data + 1, size - 1, 1000, &imp, why);
	else
		e = cv_import_csv(kind, (const char *)data + 1, size - 1, 1000, &imp, why);
	if (e != CV_OK) {
		FUZZ_CHECK(imp.n == 0 && imp.voters == NULL && imp.keys == NULL &&
		           imp.rows == NULL);
		FUZZ_CHECK(e == CV_E_NOMEM || why[0] != '\0');
		return 0;
	}
	check_good(&imp);
	if ((csv = to_csv(&imp, &len)) != NULL) {
		FUZZ_CHECK(cv_import_csv(kind, csv, len, 1000, &again, why) == CV_OK);
		FUZZ_CHECK(again.n == imp.n);
		for (size_t i = 0; i < imp.n; i++)
			FUZZ_CHECK(kind == CV_IMPORT_ROLL
			               ? memcmp(again.keys[i], imp.keys[i], CV_KEY_LEN) == 0
			               : strcmp(again.voters[i].voter_id, imp.voters[i].voter_id) ==
			                         0 &&
			                     strcmp(again.voters[i].code, imp.voters[i].code) == 0);
		cv_import_free(&again);
		free(csv);
	}
	cv_import_free(&imp);
	return 0;
}
