/* Tests of the import formats (lib/store/import.c) the admin API and the CLI share: good CSV
 * and JSON of both kinds, and hostile input (NULs, over-long lines and fields, bytes
 * outside printable ASCII, quoting, extra fields, repeats, keys off the curve, too many
 * rows, buffers that end without a line end), each refused with the row named. Inputs
 * are copied into buffers of their exact length, so ASan sees any read past the end. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "crypto.h"
#include "import.h"
#include "json.h"

static char why[CV_IMPORT_WHY_MAX];
static char key_hex[3][2 * CV_KEY_LEN + 1]; /* valid public keys, ascending */

/* cv_import_csv over an exact-length copy of len bytes of text. */
static cv_err csv_n(cv_import_kind kind, const char *text, size_t len, size_t max_rows,
                    cv_import *imp)
{
	char *copy = malloc(len ? len : 1);
	cv_err e;

	memcpy(copy, text, len);
	e = cv_import_csv(kind, copy, len, max_rows, imp, why);
	free(copy);
	return e;
}

static cv_err csv(cv_import_kind kind, const char *text, cv_import *imp)
{
	return csv_n(kind, text, strlen(text), CV_IMPORT_MAX_ROWS, imp);
}

static cv_err json(cv_import_kind kind, const char *text, size_t max_rows, cv_import *imp)
{
	return cv_import_json_text(kind, text, strlen(text), max_rows, imp, why);
}

/* A refused CSV eligibility import: the error, *imp empty, and why as expected. */
static void refused(const char *text, cv_err want, const char *want_why)
{
	cv_import imp;

	CHECK_EQ_INT(csv(CV_IMPORT_ELIGIBLE, text, &imp), want);
	CHECK(imp.n == 0 && imp.voters == NULL && imp.rows == NULL);
	CHECK_STR(why, want_why);
}

static void test_csv_eligible_sorted_with_rows(void)
{
	cv_import imp;
	char at[32];

	CHECK_EQ_INT(csv(CV_IMPORT_ELIGIBLE,
	                 "voter_id,code\r\n"
	                 "zed,Z-CODE-7K3M-Q9XD\r\n"
	                 "\n"
	                 "# a comment\n"
	                 "  \t\n"
	                 "#hash-id\n"
	                 "amy,\n"
	                 "bob",
	                 &imp),
	             CV_OK);
	CHECK_EQ_INT(imp.n, 4);
	if (imp.n == 4) {
		CHECK_STR(imp.voters[0].voter_id, "#hash-id");
		CHECK_STR(imp.voters[1].voter_id, "amy");
		CHECK_STR(imp.voters[2].voter_id, "bob");
		CHECK_STR(imp.voters[3].voter_id, "zed");
		CHECK_STR(imp.voters[3].code, "Z-CODE-7K3M-Q9XD");
		CHECK_STR(imp.voters[1].code, "");
		CHECK_EQ_INT(imp.rows[0], 6);
		CHECK_EQ_INT(imp.rows[3], 2);
		CHECK(imp.eligible[3].voter_id == imp.voters[3].voter_id);
		CHECK(imp.eligible[3].code == imp.voters[3].code);
		cv_import_where(&imp, 2, at, sizeof at);
		CHECK_STR(at, "line 8");
		CHECK_EQ_INT(cv_import_make_codes(&imp), CV_OK);
		CHECK(imp.voters[1].generated && strlen(imp.voters[1].code) == CV_CODE_LEN);
		CHECK(!imp.voters[3].generated &&
		      strcmp(imp.voters[3].code, "Z-CODE-7K3M-Q9XD") == 0);
	}
	cv_import_free(&imp);
	CHECK(imp.voters == NULL && imp.n == 0);
	cv_import_free(&imp); /* twice, and NULL, are no-ops */
	cv_import_free(NULL);
}

static void test_csv_header_only_once_and_first(void)
{
	cv_import imp;

	/* a later "voter_id" line is an id like any other */
	CHECK_EQ_INT(csv(CV_IMPORT_ELIGIBLE, "a\nvoter_id\n", &imp), CV_OK);
	CHECK_EQ_INT(imp.n, 2);
	cv_import_free(&imp);
	refused("voter_id,code\n", CV_E_MALFORMED, "the import holds no voters");
	refused("", CV_E_MALFORMED, "the import holds no voters");
	refused("\n\r\n# only comments\n", CV_E_MALFORMED, "the import holds no voters");
}

static void test_csv_bad_fields_named_by_line(void)
{
	static const char id_rule[] =
	    "the voter id must be 1-64 printable ASCII characters without spaces";
	char line[80], text[200], want[CV_IMPORT_WHY_MAX];

	refused("ok\nbad id\n", CV_E_MALFORMED,
	        "line 2: the voter id must be 1-64 printable "
	        "ASCII characters without spaces");
	refused("ok\n,CODE\n", CV_E_MALFORMED,
	        "line 2: the voter id must be 1-64 printable "
	        "ASCII characters without spaces");
	refused("ok\nid,caf\xc3\xa9-code-1234\n", CV_E_MALFORMED,
	        "line 2: the code must be 1-64 printable ASCII characters (spaces and dashes are "
	        "ignored)");
	/* a code with spaces is a code (they are ignored); a weak one is refused by name */
	{
		cv_import imp;

		CHECK_EQ_INT(csv(CV_IMPORT_ELIGIBLE, "id,two words here\n", &imp), CV_OK);
		CHECK(imp.n == 1 && strcmp(imp.voters[0].code, "two words here") == 0);
		cv_import_free(&imp);
	}
	refused("ok\nid,ab-12 cd\n", CV_E_WEAK_CODE,
	        "line 2: the code is too easy to guess: it needs at least 40 bits, e.g. 8 letters "
	        "and digits, 10 hex digits or 13 digits");
	refused("caf\xc3\xa9\n", CV_E_MALFORMED,
	        "line 1: the voter id must be 1-64 printable "
	        "ASCII characters without spaces");
	refused("del\x7f\n", CV_E_MALFORMED,
	        "line 1: the voter id must be 1-64 printable ASCII "
	        "characters without spaces");
	refused("tab\there\n", CV_E_MALFORMED,
	        "line 1: the voter id must be 1-64 printable "
	        "ASCII characters without spaces");
	/* old Mac line ends: one line with CRs inside */
	refused("a\rb\r", CV_E_MALFORMED,
	        "line 1: the voter id must be 1-64 printable ASCII "
	        "characters without spaces");
	refused("a,b,c\n", CV_E_MALFORMED,
	        "line 1: expected voter_id or voter_id,code: more "
	        "than two fields");
	refused("\"quoted\",CODE\n", CV_E_MALFORMED,
	        "line 1: a field begins with a double quote: CSV quoting is not supported (ids "
	        "and codes need none)");
	refused("id,\"CODE\"\n", CV_E_MALFORMED,
	        "line 1: a field begins with a double quote: CSV quoting is not supported (ids "
	        "and codes need none)");
	/* 64 characters pass, 65 do not, in either field */
	memset(line, 'x', 65);
	line[65] = '\0';
	snprintf(text, sizeof text, "%.64s,%.64s\n", line, line);
	{
		cv_import imp;

		CHECK_EQ_INT(csv(CV_IMPORT_ELIGIBLE, text, &imp), CV_OK);
		cv_import_free(&imp);
	}
	snprintf(text, sizeof text, "%s,C\n", line);
	snprintf(want, sizeof want, "line 1: %s", id_rule);
	refused(text, CV_E_MALFORMED, want);
	snprintf(text, sizeof text, "a\nb,%s\n", line);
	refused(text, CV_E_MALFORMED,
	        "line 2: the code must be 1-64 printable ASCII characters (spaces and dashes are "
	        "ignored)");
}

static void test_csv_nul_and_long_lines_refused(void)
{
	cv_import imp;
	char big[400];

	CHECK_EQ_INT(csv_n(CV_IMPORT_ELIGIBLE, "a\nb\0c\n", 6, CV_IMPORT_MAX_ROWS, &imp),
	             CV_E_MALFORMED);
	CHECK_STR(why, "line 2: the line holds a NUL byte");
	/* a NUL where the line would end in a C string */
	CHECK_EQ_INT(csv_n(CV_IMPORT_ELIGIBLE, "abc\0", 4, CV_IMPORT_MAX_ROWS, &imp),
	             CV_E_MALFORMED);
	CHECK_STR(why, "line 1: the line holds a NUL byte");
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	CHECK_EQ_INT(csv(CV_IMPORT_ELIGIBLE, big, &imp), CV_E_MALFORMED);
	CHECK_STR(why, "line 1: the line is longer than 256 bytes");
	CHECK(imp.n == 0 && imp.voters == NULL);
}

static void test_csv_buffer_ending_mid_line(void)
{
	cv_import imp;

	/* a trailing comma (empty code) as the very last byte of the buffer */
	CHECK_EQ_INT(csv(CV_IMPORT_ELIGIBLE, "a,", &imp), CV_OK);
	CHECK(imp.n == 1 && strcmp(imp.voters[0].code, "") == 0);
	cv_import_free(&imp);
	CHECK_EQ_INT(csv(CV_IMPORT_ELIGIBLE, "a\r", &imp), CV_OK);
	CHECK(imp.n == 1 && strcmp(imp.voters[0].voter_id, "a") == 0);
	cv_import_free(&imp);
	CHECK_EQ_INT(csv(CV_IMPORT_ELIGIBLE, "#", &imp), CV_E_MALFORMED);
}

static void test_repeats_name_the_earliest_pair(void)
{
	cv_import imp;

	refused("b\na\nc\nb\na\n", CV_E_MALFORMED, "line 4: repeats the voter id of line 1");
	refused("x\ny\ny\ny\n", CV_E_MALFORMED, "line 3: repeats the voter id of line 2");
	CHECK_EQ_INT(json(CV_IMPORT_ELIGIBLE,
	                  "{\"voters\": [{\"voter_id\": \"q\"}, {\"voter_id\": \"p\"}, "
	                  "{\"voter_id\": \"q\", \"code\": \"XXXX-XXXX-XXXX\"}]}",
	                  CV_IMPORT_MAX_ROWS, &imp),
	             CV_E_MALFORMED);
	CHECK_STR(why, "voters[2]: repeats the voter id of voters[0]");
}

static void test_too_many_rows_refused(void)
{
	cv_import imp;

	CHECK_EQ_INT(csv_n(CV_IMPORT_ELIGIBLE, "a\nb\n", 4, 2, &imp), CV_OK);
	cv_import_free(&imp);
	CHECK_EQ_INT(csv_n(CV_IMPORT_ELIGIBLE, "a\nb\nc\n", 6, 2, &imp), CV_E_TOO_LARGE);
	CHECK_STR(why, "line 3: more than 2 rows, the most one import takes");
	CHECK(imp.n == 0 && imp.voters == NULL);
	CHECK_EQ_INT(json(CV_IMPORT_ROLL, "{\"keys\": [\"a\", \"b\", \"c\"]}", 2, &imp),
	             CV_E_TOO_LARGE);
	CHECK_STR(why, "3 keys: more than 2, the most one import takes");
}

static void test_csv_roll_keys(void)
{
	char text[600], off_curve[2 * CV_KEY_LEN + 1], upper[2 * CV_KEY_LEN + 1];
	cv_import imp;

	snprintf(text, sizeof text, "key_hex\n%s\n# two more\n%s\r\n%s", key_hex[2], key_hex[0],
	         key_hex[1]);
	CHECK_EQ_INT(csv(CV_IMPORT_ROLL, text, &imp), CV_OK);
	CHECK_EQ_INT(imp.n, 3);
	if (imp.n == 3) {
		uint8_t k[CV_KEY_LEN];

		cv_hex_decode(key_hex[0], k, CV_KEY_LEN);
		CHECK(memcmp(imp.keys[0], k, CV_KEY_LEN) == 0);
		CHECK_EQ_INT(imp.rows[0], 4);
		CHECK_EQ_INT(imp.rows[2], 2);
		CHECK(imp.voters == NULL);
	}
	cv_import_free(&imp);

	memset(off_curve, '0', sizeof off_curve - 1);
	off_curve[0] = '0';
	off_curve[1] = '4';
	off_curve[sizeof off_curve - 1] = '\0';
	snprintf(text, sizeof text, "%s\n%s\n", key_hex[0], off_curve);
	CHECK_EQ_INT(csv(CV_IMPORT_ROLL, text, &imp), CV_E_BAD_KEY);
	CHECK_STR(why, "line 2: the key is not a point of P-256 in uncompressed form (04 || X "
	               "|| Y)");
	snprintf(upper, sizeof upper, "%s", key_hex[0]);
	for (char *c = upper; *c; c++)
		if (*c >= 'a' && *c <= 'f')
			*c = (char)(*c - 'a' + 'A');
	CHECK_EQ_INT(csv(CV_IMPORT_ROLL, upper, &imp), CV_E_MALFORMED);
	CHECK_STR(why, "line 1: expected a public key of 130 lowercase hex digits");
	snprintf(text, sizeof text, "%.128s\n", key_hex[0]);
	CHECK_EQ_INT(csv(CV_IMPORT_ROLL, text, &imp), CV_E_MALFORMED);
	snprintf(text, sizeof text, "%s,Name\n", key_hex[0]);
	CHECK_EQ_INT(csv(CV_IMPORT_ROLL, text, &imp), CV_E_MALFORMED);
	CHECK_STR(why, "line 1: expected one field: a public key of 130 lowercase hex digits");
	snprintf(text, sizeof text, "key\n%s\n%s\n", key_hex[1], key_hex[1]);
	CHECK_EQ_INT(csv(CV_IMPORT_ROLL, text, &imp), CV_E_MALFORMED);
	CHECK_STR(why, "line 3: repeats the key of line 2");
	CHECK_EQ_INT(csv(CV_IMPORT_ROLL, "key_hex\n", &imp), CV_E_MALFORMED);
	CHECK_STR(why, "the import holds no keys");
}

static void test_json_eligible(void)
{
	cv_import imp;
	char at[32];

	CHECK_EQ_INT(json(CV_IMPORT_ELIGIBLE,
	                  "{\"voters\": [{\"voter_id\": \"b\", \"code\": \"\"}, "
	                  "{\"code\": \"C-1234-5678-9ABC\", \"voter_id\": \"a\"}]}",
	                  CV_IMPORT_MAX_ROWS, &imp),
	             CV_OK);
	CHECK_EQ_INT(imp.n, 2);
	if (imp.n == 2) {
		CHECK_STR(imp.voters[0].code, "C-1234-5678-9ABC");
		CHECK_STR(imp.voters[1].code, ""); /* an empty code is none: one is made */
		cv_import_where(&imp, 0, at, sizeof at);
		CHECK_STR(at, "voters[1]");
	}
	cv_import_free(&imp);
}

static void test_json_hostile_refused(void)
{
	static const struct {
		const char *text;
		cv_err want;
		const char *why;
	} cases[] = {
	    {"{\"voters\": []}", CV_E_MALFORMED, "the import holds no voters"},
	    {"{\"voter\": []}", CV_E_MALFORMED,
	     "expected {\"voters\": [{\"voter_id\", \"code\" (optional)}, ...]}"},
	    {"{\"voters\": [], \"x\": 1}", CV_E_MALFORMED,
	     "expected {\"voters\": [{\"voter_id\", \"code\" (optional)}, ...]}"},
	    {"{\"voters\": {\"voter_id\": \"a\"}}", CV_E_MALFORMED,
	     "expected {\"voters\": [{\"voter_id\", \"code\" (optional)}, ...]}"},
	    {"[]", CV_E_MALFORMED,
	     "expected {\"voters\": [{\"voter_id\", \"code\" (optional)}, ...]}"},
	    {"{\"voters\": [\"a\"]}", CV_E_MALFORMED,
	     "voters[0]: expected {\"voter_id\", \"code\" (optional)} with string values"},
	    {"{\"voters\": [{\"voter_id\": \"a\"}, {\"voter_id\": 5}]}", CV_E_MALFORMED,
	     "voters[1]: expected {\"voter_id\", \"code\" (optional)} with string values"},
	    {"{\"voters\": [{\"voter_id\": \"a\", \"code\": 5}]}", CV_E_MALFORMED,
	     "voters[0]: expected {\"voter_id\", \"code\" (optional)} with string values"},
	    {"{\"voters\": [{\"voter_id\": \"a\", \"name\": \"x\"}]}", CV_E_MALFORMED,
	     "voters[0]: expected {\"voter_id\", \"code\" (optional)} with string values"},
	    {"{\"voters\": [{\"code\": \"a\"}]}", CV_E_MALFORMED,
	     "voters[0]: expected {\"voter_id\", \"code\" (optional)} with string values"},
	    {"{\"voters\": [{\"voter_id\": \"a\\u0000b\"}]}", CV_E_MALFORMED,
	     "voters[0]: the voter id must be 1-64 printable ASCII characters without spaces"},
	    {"{\"voters\": [{\"voter_id\": \"a\", \"code\": \"c\\u0000\"}]}", CV_E_MALFORMED,
	     "voters[0]: the code must be 1-64 printable ASCII characters (spaces and dashes are "
	     "ignored)"},
	    {"{\"voters\": [{\"voter_id\": \"\\u00e9\"}]}", CV_E_MALFORMED,
	     "voters[0]: the voter id must be 1-64 printable ASCII characters without spaces"},
	    {"{\"voters\": [{\"voter_id\": \"a\"}]} x", CV_E_MALFORMED,
	     "not strict JSON (or nested too deeply, or bytes after the value)"},
	};
	cv_import imp;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		CHECK_EQ_INT(json(CV_IMPORT_ELIGIBLE, cases[i].text, CV_IMPORT_MAX_ROWS, &imp),
		             cases[i].want);
		CHECK_STR(why, cases[i].why);
		CHECK(imp.n == 0 && imp.voters == NULL && imp.eligible == NULL);
	}
}

static void test_json_roll(void)
{
	char text[600];
	cv_import imp;

	snprintf(text, sizeof text, "{\"keys\": [\"%s\", \"%s\"]}", key_hex[1], key_hex[0]);
	CHECK_EQ_INT(json(CV_IMPORT_ROLL, text, CV_IMPORT_MAX_ROWS, &imp), CV_OK);
	CHECK(imp.n == 2 && imp.rows[0] == 1 && imp.rows[1] == 0);
	cv_import_free(&imp);
	snprintf(text, sizeof text, "{\"keys\": [\"%s\", 5]}", key_hex[1]);
	CHECK_EQ_INT(json(CV_IMPORT_ROLL, text, CV_IMPORT_MAX_ROWS, &imp), CV_E_MALFORMED);
	CHECK_STR(why, "keys[1]: expected a public key of 130 lowercase hex digits");
	snprintf(text, sizeof text, "{\"keys\": [\"02%.64s\"]}", key_hex[1] + 2);
	CHECK_EQ_INT(json(CV_IMPORT_ROLL, text, CV_IMPORT_MAX_ROWS, &imp), CV_E_MALFORMED);
	CHECK_EQ_INT(json(CV_IMPORT_ROLL, "{\"keys\": []}", CV_IMPORT_MAX_ROWS, &imp),
	             CV_E_MALFORMED);
	CHECK_STR(why, "the import holds no keys");
	CHECK_EQ_INT(json(CV_IMPORT_ROLL, "{\"voters\": []}", CV_IMPORT_MAX_ROWS, &imp),
	             CV_E_MALFORMED);
	CHECK_STR(why, "expected {\"keys\": [public keys as 130 lowercase hex digits]}");
}

static int hex_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

int main(void)
{
	for (int i = 0; i < 3; i++) {
		cv_privkey *k = NULL;
		uint8_t pub[CV_KEY_LEN];

		if (cv_privkey_generate(&k) != CV_OK)
			return 1;
		cv_privkey_public(k, pub);
		cv_hex_encode(pub, CV_KEY_LEN, key_hex[i]);
		cv_privkey_free(k);
	}
	qsort(key_hex, 3, sizeof key_hex[0], hex_cmp);

	RUN(test_csv_eligible_sorted_with_rows);
	RUN(test_csv_header_only_once_and_first);
	RUN(test_csv_bad_fields_named_by_line);
	RUN(test_csv_nul_and_long_lines_refused);
	RUN(test_csv_buffer_ending_mid_line);
	RUN(test_repeats_name_the_earliest_pair);
	RUN(test_too_many_rows_refused);
	RUN(test_csv_roll_keys);
	RUN(test_json_eligible);
	RUN(test_json_hostile_refused);
	RUN(test_json_roll);
	return CHECK_DONE("test_import");
}
