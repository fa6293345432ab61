/* Offline administration of an election's data directory: create the election, import
 * candidates and validators from CSV and the roll and eligibility entries in the admin
 * API's formats (lib/store/import.h), open and close it, list the eligibility entries with
 * their states, reissue codes and revoke keys in set-up, print its state and write the
 * chain export. Each import is one transaction. */
#include <dirent.h>
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

#include <json-c/json.h>

#include "cmd.h"
#include "import.h"
#include "json.h"
#include "store.h"

#define LINE_MAX_LEN 4096
#define MAX_ROWS     10000000

enum {
	OPT_DATA = 256,
	OPT_TITLE,
	OPT_THRESHOLD,
	OPT_DIFFICULTY,
	OPT_MAX_VOTES,
	OPT_OPENS,
	OPT_CLOSES,
	OPT_BALLOTS,
	OPT_QUORUM,
	OPT_RESULTS,
	OPT_DB_CONFIG,
	OPT_KEY_FILE,
	OPT_NAME,
	OPT_OUTPUT,
	OPT_ELECTION,
	OPT_CODE,
	OPT_STORE_KEY,
	OPT_NEW_KEY,
	OPT_ENCRYPT,
	OPT_HELP
};

/* --store-key FILE: the store's key file, for every command that opens a data
 * directory (NULL: the default, keys/store.key beside it, when it exists, else none:
 * an unencrypted store; "none": unencrypted). */
static const char *store_key;

/* ---- shared helpers ---- */

static int fail(const char *cmd, cv_err e, const char *what)
{
	fprintf(stderr, "chainvote %s: %s%s%s (%s)\n", cmd, what ? what : "", what ? ": " : "",
	        cv_err_message(e), cv_err_code(e));
	return 1;
}

static int usage_error(const char *cmd, const char *msg)
{
	fprintf(stderr, "chainvote %s: %s (see chainvote %s --help)\n", cmd, msg, cmd);
	return 2;
}

/* strtonum-style: decimal only, range checked, nothing trailing. */
static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (s == NULL || *s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return false;
	*out = v;
	return true;
}

/* --election SLUG of the command line: NULL for the default election. */
static const char *opt_election;
/* The environment's handle while the command works on another election's handle. */
static cv_store *election_root;

/* Opens the data directory's store and gives the handle of the election the command
 * works on (--election; with CV_STORE_CREATE, init, the election is registered when it
 * is not yet). Pair with close_store. */
static cv_store *open_store(const char *cmd, const char *dir, unsigned flags)
{
	cv_store *s = NULL, *el = NULL;
	cv_err e = cv_store_open_key(dir, store_key, flags, &s);

	if (e == CV_E_NOT_FOUND) {
		fprintf(stderr, "chainvote %s: no election data in %s (run chainvote init)\n", cmd,
		        dir);
		return NULL;
	}
	if (e != CV_OK) {
		fail(cmd, e, dir);
		return NULL;
	}
	if (opt_election == NULL)
		return s;
	e = CV_OK;
	if (flags & CV_STORE_CREATE)
		e = cv_store_add_election(s, opt_election, (uint64_t)time(NULL));
	if (e == CV_OK || e == CV_E_EXISTS)
		e = cv_store_election(s, opt_election, &el);
	if (e != CV_OK) {
		if (e == CV_E_NOT_FOUND)
			fprintf(stderr,
			        "chainvote %s: no election %s in %s (chainvote init --election)\n",
			        cmd, opt_election, dir);
		else
			fail(cmd, e, opt_election);
		cv_store_close(s);
		return NULL;
	}
	election_root = s;
	return el;
}

/* Closes what open_store opened (the whole environment). NULL is a no-op. */
static void close_store(cv_store *s)
{
	if (s != NULL && election_root != NULL) {
		cv_store_close(election_root);
		election_root = NULL;
		return;
	}
	cv_store_close(s);
}

/* The commands that work on the whole data directory take no --election. */
static int no_election(const char *cmd)
{
	if (opt_election == NULL)
		return -1;
	fprintf(stderr,
	        "chainvote %s: --election does not apply: this works on the whole data "
	        "directory, every election in it\n",
	        cmd);
	return 2;
}

/* The common options: --data DIR and --help. Returns -1 to go on, else the exit. */
static int common_opt(const char *cmd, int c, const char *usage, const char **data)
{
	switch (c) {
	case OPT_DATA:
		*data = optarg;
		return -1;
	case OPT_STORE_KEY:
		store_key = optarg;
		return -1;
	case OPT_ELECTION:
		if (!cv_election_slug_ok(optarg)) {
			fprintf(stderr,
			        "chainvote %s: --election wants 1-32 characters of a-z, 0-9 "
			        "and -\n",
			        cmd);
			return 2;
		}
		opt_election = optarg;
		return -1;
	case OPT_HELP:
		fputs(usage, stdout);
		return 0;
	default:
		fputs(usage, stderr);
		return 2;
	}
}

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

/* ---- init and settings ---- */

static const char init_usage[] =
    "usage: chainvote init --data DIR [--election SLUG] --title TITLE --threshold N --difficulty "
    "N\n"
    "                      --max-block-votes N [--opens UNIX] [--closes UNIX]\n"
    "                      [--results-after-close] [--ballots open|secret] [--quorum N]\n"
    "                      [--db-config FILE] [--encrypt] [--store-key FILE]\n"
    "Creates the data directory and an election in set-up state. The store is encrypted\n"
    "at rest when asked (off by default; README, \"The store key\"): with --encrypt, under\n"
    "keys/store.key beside DIR, made when missing; with --store-key FILE, under FILE, made\n"
    "when missing; and when keys/store.key beside DIR exists already.\n"
    "  --threshold N          approvals needed to commit a block (2..number of validators)\n"
    "  --difficulty N         leading zero bits of proof of work (0..255)\n"
    "  --max-block-votes N    at most N votes per block (1..2^32-1)\n"
    "  --opens, --closes      voting window in Unix seconds (0 or absent: unset)\n"
    "  --results-after-close  hide the tally from the public until the election is final (sealed)\n"
    "  --ballots secret       a secret election (DESIGN section 6): the validators are its\n"
    "                         trustees and run the key ceremony before it opens\n"
    "  --quorum N             trustees needed to decrypt (2..validators; default 2)\n"
    "  --db-config FILE       copy FILE (see conf/DB_CONFIG) into DIR as DB_CONFIG first\n"
    "  --encrypt              encrypt the store under keys/store.key beside DIR\n"
    "  --store-key FILE       the store's key file (every command that takes --data takes it;\n"
    "                         \"none\": an unencrypted store). Without the key an encrypted\n"
    "                         election and its backups cannot be read: keep a copy apart.\n";

static const char settings_usage[] =
    "usage: chainvote settings --data DIR [--election SLUG] [--title T] [--threshold N] "
    "[--difficulty N]\n"
    "                          [--max-block-votes N] [--opens UNIX] [--closes UNIX]\n"
    "                          [--results-after-close yes|no] [--ballots open|secret] "
    "[--quorum N]\n"
    "Changes the election's settings while it is in set-up; options not given stay.\n"
    "A change voids the trustee entries of a secret election's key ceremony.\n";

static const struct option settings_opts[] = {
    {"data", required_argument, NULL, OPT_DATA},
    {"store-key", required_argument, NULL, OPT_STORE_KEY},
    {"election", required_argument, NULL, OPT_ELECTION},
    {"title", required_argument, NULL, OPT_TITLE},
    {"threshold", required_argument, NULL, OPT_THRESHOLD},
    {"difficulty", required_argument, NULL, OPT_DIFFICULTY},
    {"max-block-votes", required_argument, NULL, OPT_MAX_VOTES},
    {"opens", required_argument, NULL, OPT_OPENS},
    {"closes", required_argument, NULL, OPT_CLOSES},
    {"results-after-close", optional_argument, NULL, OPT_RESULTS},
    {"ballots", required_argument, NULL, OPT_BALLOTS},
    {"quorum", required_argument, NULL, OPT_QUORUM},
    {"db-config", required_argument, NULL, OPT_DB_CONFIG},
    {"encrypt", no_argument, NULL, OPT_ENCRYPT},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

/* Applies one settings option to st; false for a bad value. */
static bool apply_setting(int c, cv_settings *st, unsigned *seen)
{
	uint64_t v;

	switch (c) {
	case OPT_TITLE:
		if (strlen(optarg) > CV_TEXT_MAX)
			return false;
		snprintf(st->election.title, sizeof st->election.title, "%s", optarg);
		*seen |= 1;
		return true;
	case OPT_THRESHOLD:
		if (!parse_u64(optarg, 255, &v))
			return false;
		st->election.threshold = (uint8_t)v;
		*seen |= 2;
		return true;
	case OPT_DIFFICULTY:
		if (!parse_u64(optarg, 255, &v))
			return false;
		st->election.difficulty = (uint8_t)v;
		*seen |= 4;
		return true;
	case OPT_MAX_VOTES:
		if (!parse_u64(optarg, UINT32_MAX, &v))
			return false;
		st->election.max_block_votes = (uint32_t)v;
		*seen |= 8;
		return true;
	case OPT_OPENS:
		return parse_u64(optarg, INT64_MAX, &st->election.opens);
	case OPT_CLOSES:
		return parse_u64(optarg, INT64_MAX, &st->election.closes);
	case OPT_BALLOTS:
		if (strcmp(optarg, "secret") == 0) {
			st->secret = true;
		} else if (strcmp(optarg, "open") == 0) {
			st->secret = false;
			st->quorum = 0;
		} else {
			return false;
		}
		return true;
	case OPT_QUORUM:
		if (!parse_u64(optarg, 255, &v) || v < 2)
			return false;
		st->quorum = (uint8_t)v;
		return true;
	case OPT_RESULTS:
		if (optarg == NULL || strcmp(optarg, "yes") == 0)
			st->results_after_close = true;
		else if (strcmp(optarg, "no") == 0)
			st->results_after_close = false;
		else
			return false;
		return true;
	}
	return false;
}

/* A secret election without a quorum given gets the least: 2. */
static void settings_fixup(cv_settings *st)
{
	if (st->secret && st->quorum == 0)
		st->quorum = 2;
}

static bool key_path_of(const char *dir, char *out, size_t n);

/* Copies the regular file `from` to dir/name (which must not exist) and syncs it. */
static bool copy_file(const char *from, const char *dir, const char *name)
{
	char path[4096], buf[65536];
	int in, out;
	ssize_t n;
	bool ok;

	if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
		return false;
	if ((in = open(from, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	if ((out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
		close(in);
		return false;
	}
	while ((n = read(in, buf, sizeof buf)) > 0)
		if (write(out, buf, (size_t)n) != n) {
			n = -1;
			break;
		}
	ok = n == 0 && fsync(out) == 0;
	close(in);
	return close(out) == 0 && ok;
}

int cmd_init(int argc, char **argv)
{
	const char *data = NULL, *db_config = NULL;
	static char key[4096];
	bool encrypt = false;
	cv_settings st;
	unsigned seen = 0;
	cv_store *s;
	cv_err e;
	int c, r;

	memset(&st, 0, sizeof st);
	optind = 1;
	while ((c = getopt_long(argc, argv, "", settings_opts, NULL)) != -1) {
		if (c == OPT_DB_CONFIG) {
			db_config = optarg;
			continue;
		}
		if (c == OPT_ENCRYPT) {
			encrypt = true;
			continue;
		}
		if (c >= OPT_TITLE && c <= OPT_RESULTS) {
			if (!apply_setting(c, &st, &seen))
				return usage_error("init", "bad value for an option");
			continue;
		}
		if ((r = common_opt("init", c, init_usage, &data)) >= 0)
			return r;
	}
	if (optind != argc)
		return usage_error("init", "unexpected argument");
	if (data == NULL || seen != 15)
		return usage_error("init", "--data, --title, --threshold, --difficulty and "
		                           "--max-block-votes are required");
	if (encrypt && store_key != NULL && strcmp(store_key, CV_STORE_KEY_NONE) == 0)
		return usage_error("init", "--encrypt with --store-key none");
	/* the key named makes the new store encrypted (cv_store_open_key makes the file) */
	if (encrypt && store_key == NULL) {
		if (cv_store_key_default(data, key, sizeof key) != CV_OK)
			return fail("init", CV_E_TOO_LARGE, data);
		store_key = key;
	}
	if (db_config != NULL) {
		if ((mkdir(data, 0700) != 0 && errno != EEXIST) ||
		    !copy_file(db_config, data, "DB_CONFIG"))
			return fail("init", CV_E_IO, db_config);
	}
	s = open_store("init", data, CV_STORE_CREATE);
	if (s == NULL)
		return 1;
	settings_fixup(&st);
	e = cv_store_create_election(s, &st);
	close_store(s);
	if (e == CV_E_EXISTS) {
		fprintf(stderr, "chainvote init: %s already holds an election\n", data);
		return 1;
	}
	if (e != CV_OK)
		return fail("init", e, NULL);
	printf("created election \"%s\" in %s (set-up)\n", st.election.title, data);
	if (key_path_of(data, key, sizeof key) && access(key, F_OK) == 0)
		printf("its store is encrypted under the key %s: keep a copy of it apart\n", key);
	return 0;
}

int cmd_settings(int argc, char **argv)
{
	const char *data = NULL;
	cv_settings st;
	cv_info in;
	unsigned seen = 0;
	cv_store *s;
	cv_err e;
	int c, r;

	/* Options are applied over the current settings, so they are read first. */
	optind = 1;
	while ((c = getopt_long(argc, argv, "", settings_opts, NULL)) != -1)
		if (c < OPT_TITLE || c > OPT_RESULTS)
			if ((r = common_opt("settings", c, settings_usage, &data)) >= 0)
				return r;
	if (optind != argc)
		return usage_error("settings", "unexpected argument");
	if (data == NULL)
		return usage_error("settings", "--data is required");
	s = open_store("settings", data, 0);
	if (s == NULL)
		return 1;
	e = cv_store_info(s, &in);
	if (e != CV_OK) {
		close_store(s);
		return fail("settings", e, NULL);
	}
	st = in.settings;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", settings_opts, NULL)) != -1)
		if (c >= OPT_TITLE && c <= OPT_RESULTS && !apply_setting(c, &st, &seen)) {
			close_store(s);
			return usage_error("settings", "bad value for an option");
		}
	settings_fixup(&st);
	e = cv_store_set_settings(s, &st);
	close_store(s);
	return e == CV_OK ? 0 : fail("settings", e, NULL);
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

/* ---- state changes ---- */

static const struct option data_opts[] = {
    {"data", required_argument, NULL, OPT_DATA},
    {"store-key", required_argument, NULL, OPT_STORE_KEY},
    {"election", required_argument, NULL, OPT_ELECTION},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

static const struct option export_opts[] = {
    {"data", required_argument, NULL, OPT_DATA},
    {"store-key", required_argument, NULL, OPT_STORE_KEY},
    {"election", required_argument, NULL, OPT_ELECTION},
    {"output", required_argument, NULL, OPT_OUTPUT},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

/* Parses --data and exactly n_args arguments (from argv[optind]); returns -1 to go on. */
static int data_and_args(const char *cmd, int argc, char **argv, const char *usage,
                         const char **data, int n_args)
{
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", data_opts, NULL)) != -1)
		if ((r = common_opt(cmd, c, usage, data)) >= 0)
			return r;
	if (optind != argc - n_args)
		return usage_error(cmd,
		                   n_args ? "wrong number of arguments" : "unexpected argument");
	if (*data == NULL)
		return usage_error(cmd, "--data is required");
	return -1;
}

/* Parses --data only; returns -1 to go on. */
static int data_only(const char *cmd, int argc, char **argv, const char *usage, const char **data)
{
	return data_and_args(cmd, argc, argv, usage, data, 0);
}

static uint64_t now_s(void)
{
	time_t t = time(NULL);

	return t < 0 ? 0 : (uint64_t)t;
}

static const char open_usage[] =
    "usage: chainvote open --data DIR [--election SLUG]\n"
    "Seals the genesis block (election, candidates, validators, roll; timestamp now),\n"
    "prints its hash (the election id) and opens the election. Set-up ends here.\n";

int cmd_open(int argc, char **argv)
{
	const char *data = NULL;
	uint8_t hash[CV_HASH_LEN];
	char hex[2 * CV_HASH_LEN + 1];
	cv_store *s;
	cv_err e;
	int rc = data_only("open", argc, argv, open_usage, &data);

	if (rc >= 0)
		return rc;
	if ((s = open_store("open", data, 0)) == NULL)
		return 1;
	e = cv_store_open_election(s, now_s(), hash);
	if (e == CV_OK)
		cv_store_checkpoint(s);
	close_store(s);
	if (e != CV_OK)
		return fail("open", e, NULL);
	cv_hex_encode(hash, CV_HASH_LEN, hex);
	printf("%s\n", hex);
	return 0;
}

static const char close_usage[] =
    "usage: chainvote close --data DIR [--election SLUG]\n"
    "Closes the election: no more votes are admitted; the votes pending at the close\n"
    "(and only those) can still be mined and approved, then the seal block that makes\n"
    "the result final (DESIGN section 2, \"The close\").\n";

int cmd_close(int argc, char **argv)
{
	const char *data = NULL;
	cv_store *s;
	cv_err e;
	int rc = data_only("close", argc, argv, close_usage, &data);

	if (rc >= 0)
		return rc;
	if ((s = open_store("close", data, 0)) == NULL)
		return 1;
	e = cv_store_close_election(s, now_s());
	if (e == CV_OK)
		cv_store_checkpoint(s);
	close_store(s);
	return e == CV_OK ? 0 : fail("close", e, NULL);
}

/* ---- voter recovery ---- */

static const char eligible_list_usage[] =
    "usage: chainvote eligible-list --data DIR\n"
    "Prints every eligibility entry as CSV \"voter_id,state,public_key,txid\" (state:\n"
    "unused, registered or voted; the key once registered, the vote's txid once voted),\n"
    "in voter id order, and the counts per state on stderr. Never a code: the store\n"
    "holds only their salted hashes.\n";

int cmd_eligible_list(int argc, char **argv)
{
	const char *data = NULL;
	char after[CV_ELIGIBLE_TEXT_MAX + 1] = "", key[2 * CV_KEY_LEN + 1],
	                                  txid[2 * CV_HASH_LEN + 1];
	cv_eligible_entry *page = NULL;
	cv_eligible_counts counts = {0};
	bool more = true;
	size_t n;
	cv_store *s;
	cv_err e = CV_OK;
	int rc = data_only("eligible-list", argc, argv, eligible_list_usage, &data);

	if (rc >= 0)
		return rc;
	if ((s = open_store("eligible-list", data, 0)) == NULL)
		return 1;
	if ((page = malloc(CV_ELIGIBLE_PAGE_MAX * sizeof *page)) == NULL)
		e = CV_E_NOMEM;
	if (e == CV_OK)
		printf("voter_id,state,public_key,txid\n");
	while (e == CV_OK && more) {
		e = cv_store_eligible_page(s, after, CV_ELIGIBLE_PAGE_MAX, page, &n, &more);
		for (size_t i = 0; e == CV_OK && i < n; i++) {
			const cv_eligible_entry *en = &page[i];

			key[0] = txid[0] = '\0';
			if (en->state != CV_VOTER_UNUSED)
				cv_hex_encode(en->key, CV_KEY_LEN, key);
			if (en->state == CV_VOTER_VOTED)
				cv_hex_encode(en->txid, CV_HASH_LEN, txid);
			printf("%s,%s,%s,%s\n", en->voter_id, cv_voter_state_name(en->state), key,
			       txid);
		}
		if (e == CV_OK && n > 0)
			memcpy(after, page[n - 1].voter_id, sizeof after);
	}
	if (e == CV_OK)
		e = cv_store_eligible_counts(s, &counts);
	free(page);
	cv_store_close(s);
	if (e != CV_OK)
		return fail("eligible-list", e, NULL);
	fprintf(stderr,
	        "%" PRIu64 " eligible: %" PRIu64 " unused, %" PRIu64 " registered, %" PRIu64
	        " voted\n",
	        counts.eligible, counts.unused, counts.registered, counts.voted);
	return 0;
}

static const struct option recovery_opts[] = {
    {"data", required_argument, NULL, OPT_DATA},
    {"store-key", required_argument, NULL, OPT_STORE_KEY},
    {"code", required_argument, NULL, OPT_CODE},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

static const char reissue_usage[] =
    "usage: chainvote reissue --data DIR [--code CODE] VOTER_ID\n"
    "Gives an eligibility entry whose code is unused a new code: the old one stops\n"
    "working. Without --code a random one is made. Prints \"voter_id,code\" once: hand it\n"
    "to the voter. Set-up only (the roll is sealed in the genesis block at the opening).\n"
    "A chosen code needs 40 bits: e.g. 8 letters and digits, 10 hex digits, 13 digits;\n"
    "case, spaces and dashes do not matter. A registered voter needs revoke instead.\n";

static const char revoke_usage[] =
    "usage: chainvote revoke --data DIR [--code CODE] VOTER_ID\n"
    "Takes a registered voter's key off the roll (a vote signed with it is refused,\n"
    "not_on_roll) and gives the entry a new code to register again with another key;\n"
    "refused for a key that has voted. Prints \"voter_id,code\" once. Set-up only; --code\n"
    "as for chainvote reissue.\n";

/* reissue and revoke: one entry, a new code, printed once it is stored. */
static int recovery_cmd(const char *cmd, int argc, char **argv, const char *usage, bool revoke)
{
	const char *data = NULL, *given = NULL, *voter_id;
	char code[CV_CODE_INPUT_MAX + 1], hex[2 * CV_KEY_LEN + 1];
	uint8_t key[CV_KEY_LEN];
	cv_store *s;
	cv_err e;
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", recovery_opts, NULL)) != -1) {
		if (c == OPT_CODE) {
			given = optarg;
			continue;
		}
		if ((r = common_opt(cmd, c, usage, &data)) >= 0)
			return r;
	}
	if (optind != argc - 1)
		return usage_error(cmd, "expected one VOTER_ID");
	if (data == NULL)
		return usage_error(cmd, "--data is required");
	voter_id = argv[optind];
	/* no --code: "" has the store make one, left in code */
	code[0] = '\0';
	if (given != NULL) {
		if (given[0] == '\0' || strlen(given) >= sizeof code)
			return fail(cmd, CV_E_MALFORMED, "--code");
		memcpy(code, given, strlen(given) + 1);
	}
	if ((s = open_store(cmd, data, 0)) == NULL)
		return 1;
	e = revoke ? cv_store_revoke_key(s, voter_id, code, key)
	           : cv_store_reissue_code(s, voter_id, code);
	cv_store_close(s);
	if (e != CV_OK)
		return fail(cmd, e, voter_id);
	printf("%s,%s\n", voter_id, code);
	if (revoke) {
		cv_hex_encode(key, CV_KEY_LEN, hex);
		fprintf(stderr, "key %s taken off the roll\n", hex);
	}
	return 0;
}

int cmd_reissue(int argc, char **argv)
{
	return recovery_cmd("reissue", argc, argv, reissue_usage, false);
}

int cmd_revoke(int argc, char **argv)
{
	return recovery_cmd("revoke", argc, argv, revoke_usage, true);
}

/* ---- status and export ---- */

static const char status_usage[] =
    "usage: chainvote status --data DIR [--election SLUG]\n"
    "Prints the election's state as JSON: settings, state, genesis and tip, counts,\n"
    "candidates, validators and the tally of committed votes.\n";

static json_object *status_json(cv_store *s, cv_err *err)
{
	json_object *o = NULL, *arr, *item;
	cv_genesis g = {0};
	cv_tally t = {0};
	cv_info in;

	if ((*err = cv_store_info(s, &in)) != CV_OK ||
	    (*err = cv_store_genesis(s, false, &g)) != CV_OK ||
	    (*err = cv_store_tally(s, &t)) != CV_OK)
		goto out;
	o = json_object_new_object();
	json_object_object_add(o, "title", json_object_new_string(in.settings.election.title));
	json_object_object_add(o, "state", json_object_new_string(cv_state_name(in.state)));
	json_object_object_add(o, "threshold", json_object_new_int(in.settings.election.threshold));
	json_object_object_add(o, "difficulty",
	                       json_object_new_int(in.settings.election.difficulty));
	json_object_object_add(o, "max_block_votes",
	                       json_object_new_int64(in.settings.election.max_block_votes));
	json_object_object_add(o, "opens",
	                       json_object_new_int64((int64_t)in.settings.election.opens));
	json_object_object_add(o, "closes",
	                       json_object_new_int64((int64_t)in.settings.election.closes));
	json_object_object_add(o, "results_after_close",
	                       json_object_new_boolean(in.settings.results_after_close));
	if (in.state == CV_STATE_SETUP) {
		json_object_object_add(o, "genesis_hash", NULL);
	} else {
		cv_json_add_hex(o, "genesis_hash", in.genesis_hash, CV_HASH_LEN);
		json_object_object_add(o, "genesis_timestamp",
		                       json_object_new_int64((int64_t)in.genesis_timestamp));
		json_object_object_add(o, "tip_height",
		                       json_object_new_int64((int64_t)in.tip_height));
		cv_json_add_hex(o, "tip_hash", in.tip_hash, CV_HASH_LEN);
	}
	if (in.state == CV_STATE_CLOSED)
		json_object_object_add(o, "closed_at",
		                       json_object_new_int64((int64_t)in.closed_at));
	json_object_object_add(o, "final", json_object_new_boolean(in.final));
	if (in.final)
		json_object_object_add(o, "seal_height",
		                       json_object_new_int64((int64_t)in.seal_height));
	json_object_object_add(o, "voters", json_object_new_int64((int64_t)in.n_voters));
	json_object_object_add(o, "eligible", json_object_new_int64((int64_t)in.n_eligible));
	json_object_object_add(o, "registered", json_object_new_int64((int64_t)in.n_registered));
	json_object_object_add(o, "pending", json_object_new_int64((int64_t)in.n_pending));
	json_object_object_add(o, "committed", json_object_new_int64((int64_t)in.n_committed));
	json_object_object_add(o, "proposals", json_object_new_int64((int64_t)in.n_proposals));
	arr = json_object_new_array();
	for (size_t i = 0; i < g.n_candidates; i++) {
		item = json_object_new_object();
		json_object_object_add(item, "id", json_object_new_int64(g.candidates[i].id));
		json_object_object_add(item, "name", json_object_new_string(g.candidates[i].name));
		for (size_t j = 0; j < t.n; j++)
			if (t.ids[j] == g.candidates[i].id)
				json_object_object_add(item, "votes",
				                       json_object_new_int64((int64_t)t.votes[j]));
		json_object_array_add(arr, item);
	}
	json_object_object_add(o, "candidates", arr);
	arr = json_object_new_array();
	for (size_t i = 0; i < g.n_validators; i++) {
		item = json_object_new_object();
		cv_json_add_hex(item, "key", g.validators[i].key, CV_KEY_LEN);
		json_object_object_add(item, "name", json_object_new_string(g.validators[i].name));
		json_object_array_add(arr, item);
	}
	json_object_object_add(o, "validators", arr);
out:
	cv_genesis_free(&g);
	cv_tally_free(&t);
	return o;
}

int cmd_status(int argc, char **argv)
{
	const char *data = NULL;
	json_object *o;
	cv_store *s;
	cv_err e;
	int rc = data_only("status", argc, argv, status_usage, &data);

	if (rc >= 0)
		return rc;
	if ((s = open_store("status", data, 0)) == NULL)
		return 1;
	o = status_json(s, &e);
	close_store(s);
	if (o == NULL)
		return fail("status", e, NULL);
	printf("%s\n",
	       json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
	                                             JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return 0;
}

static const char export_usage[] =
    "usage: chainvote export --data DIR [--election SLUG] [--output FILE]\n"
    "Writes the chain export {\"format\": \"chainvote-chain/1\", \"blocks\": [...]} of the\n"
    "committed blocks to FILE (written whole, then renamed into place) or stdout.\n";

static int file_write(void *ctx, const char *p, size_t n)
{
	return fwrite(p, 1, n, ctx) == n ? 0 : -1;
}

int cmd_export(int argc, char **argv)
{
	const char *data = NULL, *output = NULL;
	char tmp[4096];
	cv_store *s = NULL;
	FILE *f = stdout;
	cv_err e;
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", export_opts, NULL)) != -1) {
		if (c == OPT_OUTPUT) {
			output = optarg;
			continue;
		}
		if ((r = common_opt("export", c, export_usage, &data)) >= 0)
			return r;
	}
	if (optind != argc)
		return usage_error("export", "unexpected argument");
	if (data == NULL)
		return usage_error("export", "--data is required");
	if ((s = open_store("export", data, 0)) == NULL)
		return 1;
	if (output != NULL) {
		if (snprintf(tmp, sizeof tmp, "%s.tmp", output) >= (int)sizeof tmp ||
		    (f = fopen(tmp, "w")) == NULL) {
			close_store(s);
			return fail("export", CV_E_IO, output);
		}
	}
	e = cv_store_export(s, file_write, f);
	close_store(s);
	if (output != NULL) {
		if (fclose(f) != 0 && e == CV_OK)
			e = CV_E_IO;
		if (e == CV_OK && rename(tmp, output) != 0)
			e = CV_E_IO;
		if (e != CV_OK)
			unlink(tmp);
	} else if (fflush(stdout) != 0 && e == CV_OK) {
		e = CV_E_IO;
	}
	return e == CV_OK ? 0 : fail("export", e, output);
}

/* ---- recovery ---- */

static const char recover_usage[] =
    "usage: chainvote recover --data DIR [--store-key FILE]\n"
    "Berkeley DB recovery of the election in DIR, as after a crash: only while no process\n"
    "has it open (the service stopped; exits 1 otherwise). tools/run.sh runs it before\n"
    "starting the programs when none of them runs.\n";

int cmd_recover(int argc, char **argv)
{
	const char *data = NULL;
	cv_err e;
	int r, lock;

	if ((r = data_only("recover", argc, argv, recover_usage, &data)) >= 0 ||
	    (r = no_election("recover")) >= 0)
		return r;
	if ((lock = cv_store_lock_exclusive(data)) < 0) {
		fprintf(stderr, "chainvote recover: %s: %s\n", data,
		        errno == EWOULDBLOCK ? "a process has the store open" : strerror(errno));
		return 1;
	}
	/* the regions (the decrypted cache) go: the programs make them anew */
	e = cv_store_recover(data, store_key, false);
	close(lock);
	return e == CV_OK ? 0 : fail("recover", e, data);
}

/* ---- backups ---- */

/* The key file the commands use for dir: --store-key, or the default beside dir. */
static bool key_path_of(const char *dir, char *out, size_t n)
{
	if (store_key != NULL)
		return snprintf(out, n, "%s", store_key) < (int)n;
	return cv_store_key_default(dir, out, n) == CV_OK;
}

static const char backup_usage[] =
    "usage: chainvote backup --data DIR [--store-key FILE] TARGET\n"
    "Hot backup of the election in DIR into the new directory TARGET while the service\n"
    "keeps running: the databases and the log are copied, then the copy is recovered so\n"
    "that it is a consistent data directory of its own (restore it with chainvote\n"
    "restore). An encrypted store's copy stays encrypted under the store key, which it\n"
    "does not hold: keep the key file apart from the backups; without it they cannot be\n"
    "read. Prints the\n"
    "chain height the backup holds.\n";

int cmd_backup(int argc, char **argv)
{
	const char *data = NULL;
	char key[4096];
	cv_store *s = NULL, *copy = NULL;
	bool encrypted;
	cv_info info;
	cv_err e;
	int r;

	if ((r = data_and_args("backup", argc, argv, backup_usage, &data, 1)) >= 0 ||
	    (r = no_election("backup")) >= 0)
		return r;
	if (!key_path_of(data, key, sizeof key))
		return fail("backup", CV_E_TOO_LARGE, data);
	if ((s = open_store("backup", data, 0)) == NULL)
		return 1;
	e = cv_store_backup(s, argv[optind]);
	close_store(s);
	if (e != CV_OK)
		return fail("backup", e, argv[optind]);
	/* the copy must open as a store of its own, under the same key or none */
	encrypted = access(key, F_OK) == 0;
	store_key = encrypted ? key : CV_STORE_KEY_NONE;
	if ((copy = open_store("backup", argv[optind], 0)) == NULL)
		return 1;
	e = cv_store_info(copy, &info);
	close_store(copy);
	if (e != CV_OK)
		return fail("backup", e, argv[optind]);
	printf("backup of %s in %s: %s, chain height %" PRIu64 "; %s%s\n", data, argv[optind],
	       cv_state_name(info.state), info.tip_height,
	       encrypted ? "encrypted under " : "not encrypted", encrypted ? key : "");
	return 0;
}

static const char restore_usage[] =
    "usage: chainvote restore --data DIR [--store-key FILE] BACKUP\n"
    "Makes the new data directory DIR from BACKUP (made by chainvote backup): copies its\n"
    "files, syncs them to disk and opens the result to check it. DIR must not exist; stop\n"
    "the service, move the old directory aside, restore, start the service.\n"
    "  --store-key FILE  the key the backup was made under (default: DIR's key,\n"
    "                    keys/store.key beside DIR); when DIR has no key there yet, FILE\n"
    "                    is copied there, where the service looks for it.\n";

/* Copies the key file from to the new path to (mode 0600, its directory 0700 when
 * made), synced. */
static bool install_key(const char *from, const char *to)
{
	char dir[4096];
	const char *slash = strrchr(to, '/');

	if (slash != NULL) {
		if (snprintf(dir, sizeof dir, "%.*s", slash == to ? 1 : (int)(slash - to), to) >=
		    (int)sizeof dir)
			return false;
		if (mkdir(dir, 0700) != 0 && errno != EEXIST)
			return false;
	} else {
		snprintf(dir, sizeof dir, ".");
	}
	return copy_file(from, dir, slash ? slash + 1 : to);
}

int cmd_restore(int argc, char **argv)
{
	const char *data = NULL, *backup;
	char from[4096], key[4096];
	struct dirent *de;
	cv_store *s;
	cv_info info;
	DIR *d;
	cv_err e;
	int r, dirfd_;

	if ((r = data_and_args("restore", argc, argv, restore_usage, &data, 1)) >= 0 ||
	    (r = no_election("restore")) >= 0)
		return r;
	backup = argv[optind];
	if ((d = opendir(backup)) == NULL)
		return fail("restore", CV_E_NOT_FOUND, backup);
	if (mkdir(data, 0700) != 0) {
		closedir(d);
		return fail("restore", errno == EEXIST ? CV_E_EXISTS : CV_E_IO, data);
	}
	while ((de = readdir(d)) != NULL) {
		struct stat st;

		if (snprintf(from, sizeof from, "%s/%s", backup, de->d_name) >= (int)sizeof from) {
			closedir(d);
			return fail("restore", CV_E_TOO_LARGE, de->d_name);
		}
		/* region files belong to a running environment, never to a copy */
		if (stat(from, &st) != 0 || !S_ISREG(st.st_mode) ||
		    strncmp(de->d_name, "__db.", 5) == 0)
			continue;
		if (!copy_file(from, data, de->d_name)) {
			closedir(d);
			return fail("restore", CV_E_IO, de->d_name);
		}
	}
	closedir(d);
	if ((dirfd_ = open(data, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		(void)fsync(dirfd_);
		close(dirfd_);
	}
	if ((s = open_store("restore", data, 0)) == NULL)
		return 1;
	e = cv_store_info(s, &info);
	close_store(s);
	if (e != CV_OK)
		return fail("restore", e, data);
	/* the service opens DIR with its default key: put the backup's key there when
	 * nothing is (never over another key) */
	if (store_key != NULL && strcmp(store_key, CV_STORE_KEY_NONE) != 0 &&
	    cv_store_key_default(data, key, sizeof key) == CV_OK && access(key, F_OK) != 0) {
		if (!install_key(store_key, key))
			return fail("restore", CV_E_IO, key);
		printf("installed the key %s as %s\n", store_key, key);
	}
	printf("restored %s from %s: %s, chain height %" PRIu64 "\n", data, backup,
	       cv_state_name(info.state), info.tip_height);
	return 0;
}
/* ---- a new key ---- */

static const char rekey_usage[] =
    "usage: chainvote rekey --data DIR [--store-key FILE|none] [--new-key FILE]\n"
    "Moves the store in DIR to a new key, offline (the service stopped; exits 1 while a\n"
    "process has DIR open). Berkeley DB cannot change an environment's key in place, so\n"
    "every record of every election is copied into a new environment DIR.rekey under the\n"
    "new key, which then takes DIR's place; the old directory is deleted.\n"
    "  --store-key FILE  the current key (default keys/store.key beside DIR); \"none\" for a\n"
    "                    store made before encryption, which this encrypts\n"
    "  --new-key FILE    where the new key goes (default: the current key's file, or\n"
    "                    keys/store.key beside DIR); the old key is kept as FILE.old,\n"
    "                    for the backups made under it\n";

static const struct option rekey_opts[] = {
    {"data", required_argument, NULL, OPT_DATA},
    {"store-key", required_argument, NULL, OPT_STORE_KEY},
    {"new-key", required_argument, NULL, OPT_NEW_KEY},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

/* Deletes the flat directory dir (an environment: files only). */
static bool remove_env_dir(const char *dir)
{
	char path[4096];
	struct dirent *de;
	DIR *d = opendir(dir);
	bool ok = true;

	if (d == NULL)
		return false;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >= (int)sizeof path ||
		    unlink(path) != 0)
			ok = false;
	}
	closedir(d);
	return rmdir(dir) == 0 && ok;
}

int cmd_rekey(int argc, char **argv)
{
	const char *data = NULL, *new_key = NULL;
	char key[4096], fresh[4096], next[4096], old_dir[4096], old_key[4096];
	bool from_none;
	cv_store *s;
	cv_info info;
	cv_err e;
	int c, r, lock;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", rekey_opts, NULL)) != -1) {
		if (c == OPT_NEW_KEY) {
			new_key = optarg;
			continue;
		}
		if ((r = common_opt("rekey", c, rekey_usage, &data)) >= 0)
			return r;
	}
	if ((r = no_election("rekey")) >= 0)
		return r;
	if (optind != argc)
		return usage_error("rekey", "unexpected argument");
	if (data == NULL)
		return usage_error("rekey", "--data is required");
	from_none = store_key != NULL && strcmp(store_key, CV_STORE_KEY_NONE) == 0;
	if (new_key != NULL && strcmp(new_key, CV_STORE_KEY_NONE) == 0)
		return usage_error("rekey", "the new key cannot be none");
	/* key: where the new key ends up; fresh: made first beside it */
	if (new_key != NULL)
		r = snprintf(key, sizeof key, "%s", new_key) < (int)sizeof key;
	else if (from_none || store_key == NULL)
		r = cv_store_key_default(data, key, sizeof key) == CV_OK;
	else
		r = snprintf(key, sizeof key, "%s", store_key) < (int)sizeof key;
	if (!r || snprintf(fresh, sizeof fresh, "%s.new", key) >= (int)sizeof fresh ||
	    snprintf(old_key, sizeof old_key, "%s.old", key) >= (int)sizeof old_key ||
	    snprintf(next, sizeof next, "%s.rekey", data) >= (int)sizeof next ||
	    snprintf(old_dir, sizeof old_dir, "%s.old", data) >= (int)sizeof old_dir)
		return fail("rekey", CV_E_TOO_LARGE, data);
	if ((lock = cv_store_lock_exclusive(data)) < 0) {
		fprintf(stderr, "chainvote rekey: %s: %s\n", data,
		        errno == EWOULDBLOCK ? "a process has the store open; stop the service"
		                             : strerror(errno));
		return 1;
	}
	if ((e = cv_store_key_create(fresh)) != CV_OK) {
		close(lock);
		if (e == CV_E_EXISTS)
			fprintf(
			    stderr,
			    "chainvote rekey: %s exists: an earlier rekey stopped before the end; "
			    "see README, \"The store key\"\n",
			    fresh);
		return fail("rekey", e, fresh);
	}
	e = cv_store_rekey(data, store_key, next, fresh);
	if (e != CV_OK) {
		close(lock);
		remove_env_dir(next);
		unlink(fresh);
		return fail("rekey", e, data);
	}
	/* The switch: the new directory in DIR's place, then the new key in the key's. A
	 * crash in between leaves every piece by name (DIR.old with the old key, DIR with
	 * KEY.new): README, "The store key", says how to finish by hand. */
	if (rename(data, old_dir) != 0 || rename(next, data) != 0 ||
	    (access(key, F_OK) == 0 && rename(key, old_key) != 0) || rename(fresh, key) != 0) {
		close(lock);
		fprintf(stderr, "chainvote rekey: switching to the new store failed: %s\n",
		        strerror(errno));
		return 1;
	}
	close(lock);
	if (!remove_env_dir(old_dir))
		fprintf(stderr, "chainvote rekey: could not delete %s; delete it by hand\n",
		        old_dir);
	/* the new store must open under the new key */
	store_key = key;
	if ((s = open_store("rekey", data, 0)) == NULL)
		return 1;
	e = cv_store_info(s, &info);
	close_store(s);
	if (e != CV_OK)
		return fail("rekey", e, data);
	printf("%s is encrypted under the new key %s: %s, chain height %" PRIu64 "\n", data, key,
	       cv_state_name(info.state), info.tip_height);
	if (access(old_key, F_OK) == 0)
		printf("the old key is kept as %s: backups made before this need it; delete it "
		       "once they are gone\n",
		       old_key);
	return 0;
}
