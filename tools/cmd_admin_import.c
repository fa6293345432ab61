/* Offline imports into an election's data directory in set-up: candidates and
 * validators from CSV, and the roll and eligibility entries in the admin API's formats
 * (lib/store/import.h). Each import is one transaction. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd_admin.h"
#include "cmd.h"
#include "import.h"

#define LINE_MAX_LEN 4096
#define MAX_ROWS     10000000

/* ---- CSV ---- */

typedef struct csv {
	FILE *f;
	const char *name;
	size_t line;
	char buf[LINE_MAX_LEN + 2];
} csv;

static bool csv_open(csv *c, const char *path)
{
	memset(c, 0, sizeof *c);
	c->name = path;
	if (strcmp(path, "-") == 0) {
		c->f = stdin;
		c->name = "stdin";
		return true;
	}
	c->f = fopen(path, "r");
	return c->f != NULL;
}

static void csv_close(csv *c)
{
	if (c->f != NULL && c->f != stdin)
		fclose(c->f);
}

/* Next data line without its line end, or NULL at the end; skips blank lines and
 * #-comments. *err is set for an over-long line or a NUL byte. */
static char *csv_next(csv *c, bool *err)
{
	size_t n;

	*err = false;
	while (fgets(c->buf, sizeof c->buf, c->f) != NULL) {
		c->line++;
		n = strlen(c->buf);
		if (n == sizeof c->buf - 1 && c->buf[n - 1] != '\n') {
			*err = true;
			return NULL;
		}
		while (n > 0 && (c->buf[n - 1] == '\n' || c->buf[n - 1] == '\r'))
			c->buf[--n] = '\0';
		if (n == 0 || c->buf[0] == '#')
			continue;
		return c->buf;
	}
	if (ferror(c->f))
		*err = true;
	return NULL;
}

/* A field that may be "quoted" (with "" for a quote): unquoted in place. */
static bool unquote(char *s)
{
	size_t n = strlen(s), j = 0;

	if (n == 0 || s[0] != '"')
		return true;
	if (n < 2 || s[n - 1] != '"')
		return false;
	for (size_t i = 1; i < n - 1; i++) {
		if (s[i] == '"') {
			if (s[i + 1] != '"' || i + 1 >= n - 1)
				return false;
			i++;
		}
		s[j++] = s[i];
	}
	s[j] = '\0';
	return true;
}

static int row_error(const char *cmd, const csv *c, const char *msg)
{
	fprintf(stderr, "chainvote %s: %s line %zu: %s; nothing was imported\n", cmd, c->name,
	        c->line, msg);
	return 1;
}

/* A growing array of rows with the line each came from. */
typedef struct rows {
	void *items;
	size_t *lines;
	size_t n, cap, size;
} rows;

static void *rows_add(rows *r, size_t line)
{
	void *p;
	size_t *l;

	if (r->n == MAX_ROWS)
		return NULL;
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;

		p = realloc(r->items, cap * r->size);
		if (p == NULL)
			return NULL;
		r->items = p;
		l = realloc(r->lines, cap * sizeof *l);
		if (l == NULL)
			return NULL;
		r->lines = l;
		r->cap = cap;
	}
	r->lines[r->n] = line;
	p = (char *)r->items + r->n * r->size;
	memset(p, 0, r->size);
	r->n++;
	return p;
}

static void rows_free(rows *r)
{
	free(r->items);
	free(r->lines);
}

/* A refused row of an import: says which line. */
static int import_error(const char *cmd, const rows *r, const char *file, size_t bad, cv_err e)
{
	char what[128];

	if (bad < r->n) {
		snprintf(what, sizeof what, "%s line %zu", file, r->lines[bad]);
		fail(cmd, e, what);
	} else {
		fail(cmd, e, NULL);
	}
	fprintf(stderr, "chainvote %s: nothing was imported\n", cmd);
	return 1;
}

/* ---- imports ---- */

static const struct option import_opts[] = {
    {"data", required_argument, NULL, OPT_DATA},
    {"store-key", required_argument, NULL, OPT_STORE_KEY},
    {"election", required_argument, NULL, OPT_ELECTION},
    {"key-file", required_argument, NULL, OPT_KEY_FILE},
    {"name", required_argument, NULL, OPT_NAME},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

static const char candidates_usage[] =
    "usage: chainvote candidates --data DIR [--election SLUG] FILE|-\n"
    "Adds or renames candidates from CSV lines \"id,name\" (id >= 1; the name is the rest\n"
    "of the line, optionally \"quoted\"). Blank lines and #-comments are skipped.\n"
    "All or nothing: the whole file is one transaction.\n";

/* Parses the CSV argument and reads each row with parse_row into r. */
typedef bool (*row_fn)(char *line, void *row, const char **why);

static int read_rows(const char *cmd, const char *path, row_fn parse_row, rows *r)
{
	const char *why = NULL;
	bool err;
	char *line;
	csv c;
	void *row;

	if (!csv_open(&c, path)) {
		fprintf(stderr, "chainvote %s: cannot read %s: %s\n", cmd, path, strerror(errno));
		return 1;
	}
	while ((line = csv_next(&c, &err)) != NULL) {
		row = rows_add(r, c.line);
		if (row == NULL) {
			csv_close(&c);
			return row_error(cmd, &c, "too many rows or out of memory");
		}
		if (!parse_row(line, row, &why)) {
			/* The first row may be a header naming the columns. */
			if (r->n == 1 && why != NULL && strcmp(why, "header") == 0) {
				r->n--;
				continue;
			}
			csv_close(&c);
			return row_error(cmd, &c, why ? why : "malformed");
		}
	}
	csv_close(&c);
	if (err)
		return row_error(cmd, &c, "line too long, NUL byte or read error");
	if (r->n == 0) {
		fprintf(stderr, "chainvote %s: %s has no rows\n", cmd, c.name);
		return 1;
	}
	return 0;
}

static bool parse_candidate(char *line, void *row, const char **why)
{
	cv_candidate *c = row;
	char *comma = strchr(line, ',');
	uint64_t id;

	*why = "expected id,name";
	if (comma == NULL)
		return false;
	*comma = '\0';
	if (strcmp(line, "id") == 0) {
		*why = "header";
		return false;
	}
	if (!parse_u64(line, UINT32_MAX, &id) || id < 1) {
		*why = "the id is not a number from 1 to 4294967295";
		return false;
	}
	if (!unquote(comma + 1) || !cv_text_ok(comma + 1)) {
		*why = "the name is empty, too long (200 bytes) or not UTF-8 text";
		return false;
	}
	c->id = (uint32_t)id;
	snprintf(c->name, sizeof c->name, "%s", comma + 1);
	return true;
}

/* Opens the argument list's store and FILE for an import; returns -1 to go on. */
static int import_args(const char *cmd, int argc, char **argv, const char *usage, const char **data,
                       const char **file, const char **key_file, const char **name)
{
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", import_opts, NULL)) != -1) {
		if (c == OPT_KEY_FILE && key_file != NULL) {
			*key_file = optarg;
			continue;
		}
		if (c == OPT_NAME && name != NULL) {
			*name = optarg;
			continue;
		}
		if (c == OPT_KEY_FILE || c == OPT_NAME) {
			fputs(usage, stderr);
			return 2;
		}
		if ((r = common_opt(cmd, c, usage, data)) >= 0)
			return r;
	}
	if (*data == NULL)
		return usage_error(cmd, "--data is required");
	if (key_file != NULL && *key_file != NULL) {
		if (optind != argc)
			return usage_error(cmd, "give either --key-file or a CSV file");
		return -1;
	}
	if (optind != argc - 1)
		return usage_error(cmd, "expected one CSV file (or - for stdin)");
	*file = argv[optind];
	return -1;
}

int cmd_candidates(int argc, char **argv)
{
	const char *data = NULL, *file = NULL;
	rows r = {NULL, NULL, 0, 0, sizeof(cv_candidate)};
	size_t bad = SIZE_MAX;
	cv_store *s = NULL;
	cv_err e;
	int rc;

	rc = import_args("candidates", argc, argv, candidates_usage, &data, &file, NULL, NULL);
	if (rc >= 0)
		return rc;
	rc = read_rows("candidates", file, parse_candidate, &r);
	if (rc == 0 && (s = open_store("candidates", data, 0)) == NULL)
		rc = 1;
	if (rc == 0) {
		e = cv_store_put_candidates(s, r.items, r.n, &bad);
		rc = e == CV_OK ? 0 : import_error("candidates", &r, file, bad, e);
		if (rc == 0)
			printf("%zu candidates stored\n", r.n);
	}
	close_store(s);
	rows_free(&r);
	return rc;
}

static const char validators_usage[] =
    "usage: chainvote validators --data DIR [--election SLUG] FILE|-\n"
    "       chainvote validators --data DIR --key-file KEYFILE --name NAME\n"
    "Adds or renames validators from CSV lines \"key_hex,name\" (the 65-byte public key\n"
    "in lowercase hex), or one validator from a key file written by chainvote keygen.\n"
    "All or nothing: the whole file is one transaction.\n";

static bool parse_validator(char *line, void *row, const char **why)
{
	cv_validator *v = row;
	char *comma = strchr(line, ',');

	*why = "expected key_hex,name";
	if (comma == NULL)
		return false;
	*comma = '\0';
	if (strcmp(line, "key_hex") == 0 || strcmp(line, "key") == 0) {
		*why = "header";
		return false;
	}
	if (cv_hex_decode(line, v->key, CV_KEY_LEN) != CV_OK) {
		*why = "the key is not 130 lowercase hex digits";
		return false;
	}
	if (!unquote(comma + 1) || !cv_text_ok(comma + 1)) {
		*why = "the name is empty, too long (200 bytes) or not UTF-8 text";
		return false;
	}
	snprintf(v->name, sizeof v->name, "%s", comma + 1);
	return true;
}

/* The public key of a key file. */
static cv_err key_from_file(const char *path, uint8_t key[CV_KEY_LEN])
{
	char buf[8192];
	size_t n;
	FILE *f = fopen(path, "r");
	cv_privkey *k = NULL;
	cv_err e;

	if (f == NULL)
		return CV_E_IO;
	n = fread(buf, 1, sizeof buf, f);
	e = ferror(f) ? CV_E_IO : !feof(f) ? CV_E_TOO_LARGE : CV_OK;
	fclose(f);
	if (e != CV_OK)
		return e;
	e = cv_keyfile_parse(buf, n, &k);
	if (e == CV_OK)
		cv_privkey_public(k, key);
	cv_privkey_free(k);
	return e;
}

int cmd_validators(int argc, char **argv)
{
	const char *data = NULL, *file = NULL, *key_file = NULL, *name = NULL;
	rows r = {NULL, NULL, 0, 0, sizeof(cv_validator)};
	size_t bad = SIZE_MAX;
	cv_store *s = NULL;
	cv_validator *v;
	cv_err e;
	int rc;

	rc =
	    import_args("validators", argc, argv, validators_usage, &data, &file, &key_file, &name);
	if (rc >= 0)
		return rc;
	if (key_file != NULL) {
		if (name == NULL || !cv_text_ok(name))
			return usage_error("validators",
			                   "--key-file needs --name with a valid name");
		v = rows_add(&r, 0);
		if (v == NULL) {
			rows_free(&r);
			return fail("validators", CV_E_NOMEM, NULL);
		}
		e = key_from_file(key_file, v->key);
		if (e != CV_OK) {
			rows_free(&r);
			return fail("validators", e, key_file);
		}
		snprintf(v->name, sizeof v->name, "%s", name);
		file = key_file;
	} else if (name != NULL) {
		return usage_error("validators", "--name goes with --key-file");
	} else {
		rc = read_rows("validators", file, parse_validator, &r);
	}
	if (rc == 0 && (s = open_store("validators", data, 0)) == NULL)
		rc = 1;
	if (rc == 0) {
		e = cv_store_put_validators(s, r.items, r.n, &bad);
		rc = e == CV_OK ? 0 : import_error("validators", &r, file, bad, e);
		if (rc == 0)
			printf("%zu validators stored\n", r.n);
	}
	close_store(s);
	rows_free(&r);
	return rc;
}

/* ---- the roll and eligibility: the formats of lib/store/import.h, shared with the admin API ----
 */

/* A whole import file (or stdin for "-"), at most this many bytes: CV_IMPORT_MAX_ROWS
 * lines of CV_IMPORT_LINE_MAX bytes. */
#define IMPORT_MAX_BYTES ((size_t)CV_IMPORT_MAX_ROWS * (CV_IMPORT_LINE_MAX + 2))

/* Reads path into *buf (malloc'd, caller frees) and parses it as kind: JSON when the name
 * ends in ".json", CSV otherwise (and for stdin). Prints the problem; 0 or the exit. */
static int read_import(const char *cmd, const char *path, cv_import_kind kind, cv_import *imp)
{
	char why[CV_IMPORT_WHY_MAX], *buf = NULL;
	size_t len = 0, cap = 0, n;
	size_t name_len = strlen(path);
	bool json = name_len > 5 && strcmp(path + name_len - 5, ".json") == 0;
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	cv_err e;

	memset(imp, 0, sizeof *imp);
	if (f == NULL) {
		fprintf(stderr, "chainvote %s: cannot read %s: %s\n", cmd, path, strerror(errno));
		return 1;
	}
	do {
		if (len == cap) {
			char *bigger;

			cap = cap ? cap * 2 : 1 << 20;
			if (cap > IMPORT_MAX_BYTES + 1)
				cap = IMPORT_MAX_BYTES + 1;
			if (len == cap || (bigger = realloc(buf, cap)) == NULL) {
				e = len == cap ? CV_E_TOO_LARGE : CV_E_NOMEM;
				goto fail;
			}
			buf = bigger;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	if (ferror(f)) {
		e = CV_E_IO;
		goto fail;
	}
	if (f != stdin)
		fclose(f);
	e = json ? cv_import_json_text(kind, buf, len, CV_IMPORT_MAX_ROWS, imp, why)
	         : cv_import_csv(kind, buf, len, CV_IMPORT_MAX_ROWS, imp, why);
	free(buf);
	if (e == CV_OK)
		return 0;
	if (why[0] != '\0')
		fprintf(stderr, "chainvote %s: %s %s; nothing was imported\n", cmd,
		        strcmp(path, "-") == 0 ? "stdin" : path, why);
	else
		fail(cmd, e, path);
	return 1;
fail:
	if (f != stdin)
		fclose(f);
	free(buf);
	return fail(cmd, e, path);
}

/* An entry the store refused: says where it came from. */
static int store_refused(const char *cmd, const cv_import *imp, const char *file, size_t bad,
                         cv_err e)
{
	char at[64], what[4200];

	cv_import_where(imp, bad, at, sizeof at);
	snprintf(what, sizeof what, "%s %s", strcmp(file, "-") == 0 ? "stdin" : file, at);
	if (e == CV_E_EXISTS && bad < imp->n)
		fprintf(stderr, "chainvote %s: %s: %s already\n", cmd, what,
		        imp->kind == CV_IMPORT_ROLL ? "the key is on the roll"
		                                    : "the voter id is stored");
	else
		fail(cmd, e, bad < imp->n ? what : NULL);
	fprintf(stderr, "chainvote %s: nothing was imported\n", cmd);
	return 1;
}

static const char voters_usage[] =
    "usage: chainvote voters --data DIR [--election SLUG] FILE|-\n"
    "Puts voters' public keys on the roll from CSV lines \"key_hex\" (65-byte keys in\n"
    "lowercase hex; an optional first line \"key_hex\"; blank lines and \"# \" comments\n"
    "are skipped), or from a FILE ending in .json: {\"keys\": [key_hex, ...]} (the\n"
    "admin API's formats). A key already on the roll, or twice in the file, refuses it.\n"
    "All or nothing: the whole file is one transaction (at most 1,000,000 keys).\n";

int cmd_voters(int argc, char **argv)
{
	const char *data = NULL, *file = NULL;
	size_t bad = SIZE_MAX;
	cv_store *s = NULL;
	cv_import imp = {0};
	cv_err e;
	int rc;

	rc = import_args("voters", argc, argv, voters_usage, &data, &file, NULL, NULL);
	if (rc >= 0)
		return rc;
	rc = read_import("voters", file, CV_IMPORT_ROLL, &imp);
	if (rc == 0 && (s = open_store("voters", data, 0)) == NULL)
		rc = 1;
	if (rc == 0) {
		e = cv_store_add_voters(s, (const uint8_t(*)[CV_KEY_LEN])imp.keys, imp.n, &bad);
		rc = e == CV_OK ? 0 : store_refused("voters", &imp, file, bad, e);
		if (rc == 0)
			printf("%zu voters put on the roll\n", imp.n);
	}
	close_store(s);
	cv_import_free(&imp);
	return rc;
}

static const char eligible_usage[] =
    "usage: chainvote eligible --data DIR [--election SLUG] FILE|-\n"
    "Adds eligibility entries from CSV lines \"voter_id[,code]\" (voter_id and code: 1-64\n"
    "printable ASCII characters, no spaces; an optional first line \"voter_id\" or\n"
    "\"voter_id,code\"; blank lines and \"# \" comments are skipped), or from a FILE ending\n"
    "in .json: {\"voters\": [{\"voter_id\", \"code\"?}, ...]} (the admin API's formats).\n"
    "Where the code is missing a random one is made (XXXX-XXXX-XXXX, no look-alike\n"
    "letters) and \"voter_id,code\" is printed to stdout, once: hand it to the voter, it is\n"
    "stored only as a salted hash. A voter id already stored, or twice in the file,\n"
    "refuses it. All or nothing: the whole file is one transaction (at most 1,000,000).\n";

int cmd_eligible(int argc, char **argv)
{
	const char *data = NULL, *file = NULL;
	size_t bad = SIZE_MAX;
	cv_store *s = NULL;
	cv_import imp = {0};
	cv_err e;
	int rc;

	rc = import_args("eligible", argc, argv, eligible_usage, &data, &file, NULL, NULL);
	if (rc >= 0)
		return rc;
	rc = read_import("eligible", file, CV_IMPORT_ELIGIBLE, &imp);
	if (rc == 0 && (e = cv_import_make_codes(&imp)) != CV_OK)
		rc = fail("eligible", e, NULL);
	if (rc == 0 && (s = open_store("eligible", data, 0)) == NULL)
		rc = 1;
	if (rc == 0) {
		e = cv_store_add_eligibles(s, imp.eligible, imp.n, &bad);
		rc = e == CV_OK ? 0 : store_refused("eligible", &imp, file, bad, e);
	}
	/* The generated codes are printed only once they are stored. */
	for (size_t i = 0; rc == 0 && i < imp.n; i++)
		if (imp.voters[i].generated)
			printf("%s,%s\n", imp.voters[i].voter_id, imp.voters[i].code);
	if (rc == 0)
		fprintf(stderr, "%zu eligibility entries stored\n", imp.n);
	close_store(s);
	cv_import_free(&imp);
	return rc;
}
