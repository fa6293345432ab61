/* Offline administration of an election's data directory: create the election and
 * change its settings, open and close it, and print its state; and what every
 * administration command shares (cmd_admin.h). The imports are in cmd_admin_import.c,
 * the eligibility entries' recovery in cmd_admin_eligible.c, the export, backups and
 * recovery in cmd_admin_backup.c. */
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

#include "cmd_admin.h"

/* ---- shared helpers ---- */

int fail(const char *cmd, cv_err e, const char *what)
{
	fprintf(stderr, "chainvote %s: %s%s%s (%s)\n", cmd, what ? what : "", what ? ": " : "",
	        cv_err_message(e), cv_err_code(e));
	return 1;
}

/* strtonum-style: decimal only, range checked, nothing trailing. */
bool parse_u64(const char *s, uint64_t max, uint64_t *out)
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
/* --store-key FILE (cmd_admin.h) */
const char *store_key;

static const char *opt_election;
/* The environment's handle while the command works on another election's handle. */
static cv_store *election_root;

/* Opens the data directory's store and gives the handle of the election the command
 * works on (--election; with CV_STORE_CREATE, init, the election is registered when it
 * is not yet). Pair with close_store. */
cv_store *open_store(const char *cmd, const char *dir, unsigned flags)
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
void close_store(cv_store *s)
{
	if (s != NULL && election_root != NULL) {
		cv_store_close(election_root);
		election_root = NULL;
		return;
	}
	cv_store_close(s);
}

/* The commands that work on the whole data directory take no --election. */
int no_election(const char *cmd)
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
int common_opt(const char *cmd, int c, const char *usage, const char **data)
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

/* ---- init and settings ---- */

static const char init_usage[] =
    "usage: chainvote init --data DIR [--election SLUG] --title TITLE --threshold N --difficulty "
    "N\n"
    "                      --max-block-votes N [--opens UNIX] [--closes UNIX]\n"
    "                      [--results-after-close] [--ballots open|secret] [--quorum N]\n"
    "                      [--db-config FILE] [--encrypt] [--store-key FILE]\n"
    "Creates the data directory and an election in set-up state. A new store is encrypted\n"
    "at rest (README, \"The store key\"): under keys/store.key beside DIR, or under\n"
    "--store-key FILE, the file made when missing; --store-key none makes it unencrypted.\n"
    "  --threshold N          approvals needed to commit a block (2..number of validators)\n"
    "  --difficulty N         leading zero bits of proof of work (0..255)\n"
    "  --max-block-votes N    at most N votes per block (1..2^32-1)\n"
    "  --opens, --closes      voting window in Unix seconds (0 or absent: unset)\n"
    "  --results-after-close  hide the tally from the public until the election is final (sealed)\n"
    "  --ballots secret       a secret election (DESIGN section 6): the validators are its\n"
    "                         trustees and run the key ceremony before it opens\n"
    "  --quorum N             trustees needed to decrypt (2..validators; default 2)\n"
    "  --db-config FILE       copy FILE (see conf/DB_CONFIG) into DIR as DB_CONFIG first\n"
    "  --encrypt              refuse --store-key none (encrypted is the default)\n"
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

/* Copies the regular file `from` to dir/name (which must not exist) and syncs it. */
bool copy_file(const char *from, const char *dir, const char *name)
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
	/* a new store is encrypted under the key named or the default one, which
	 * cv_store_open_key makes when missing */
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

/* ---- state changes ---- */

static const struct option data_opts[] = {
    {"data", required_argument, NULL, OPT_DATA},
    {"store-key", required_argument, NULL, OPT_STORE_KEY},
    {"election", required_argument, NULL, OPT_ELECTION},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

int data_and_args(const char *cmd, int argc, char **argv, const char *usage, const char **data,
                  int n_args)
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
int data_only(const char *cmd, int argc, char **argv, const char *usage, const char **data)
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

/* ---- status ---- */

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
