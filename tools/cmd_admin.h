/* What the offline administration commands share (private to them): the getopt values,
 * the messages, the data directory's store and the option parsing of cmd_admin.c, which
 * cmd_admin_import.c, cmd_admin_eligible.c and cmd_admin_backup.c use. */
#ifndef CV_CMD_ADMIN_H
#define CV_CMD_ADMIN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "store.h"

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
extern const char *store_key;
/* The key file the commands use for dir: --store-key, or the default beside dir. */
bool key_path_of(const char *dir, char *out, size_t n);

/* A refusal (the error's message and code after what) or a usage error, printed: the
 * exit status 1 or 2. usage_error is here whole so that the analyzer sees it is never
 * negative (the option parsers' "-1 to go on"). */
int fail(const char *cmd, cv_err e, const char *what);
static inline int usage_error(const char *cmd, const char *msg)
{
	fprintf(stderr, "chainvote %s: %s (see chainvote %s --help)\n", cmd, msg, cmd);
	return 2;
}
/* strtonum-style: decimal only, range checked, nothing trailing. */
bool parse_u64(const char *s, uint64_t max, uint64_t *out);
/* The store of the election the command works on (--election), or NULL with a message;
 * close_store closes what open_store opened (NULL is a no-op). */
cv_store *open_store(const char *cmd, const char *dir, unsigned flags);
void close_store(cv_store *s);
/* The commands that work on the whole data directory take no --election: -1 to go on,
 * else the exit status. */
int no_election(const char *cmd);
/* --data DIR, --election and --help: -1 to go on, else the exit status. */
int common_opt(const char *cmd, int c, const char *usage, const char **data);
/* --data and exactly n_args arguments (data_only: none): -1 to go on, else the exit. */
int data_and_args(const char *cmd, int argc, char **argv, const char *usage, const char **data,
                  int n_args);
int data_only(const char *cmd, int argc, char **argv, const char *usage, const char **data);
/* Copies the regular file `from` to dir/name (which must not exist) and syncs it. */
bool copy_file(const char *from, const char *dir, const char *name);

#endif
