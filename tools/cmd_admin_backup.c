/* Copies and repair of a data directory: the chain export, Berkeley DB recovery of a
 * stopped directory, hot backups and their restore. */
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

#include "cmd_admin.h"
#include "cmd.h"
#include "json.h"

static const struct option export_opts[] = {
    {"data", required_argument, NULL, OPT_DATA},
    {"election", required_argument, NULL, OPT_ELECTION},
    {"output", required_argument, NULL, OPT_OUTPUT},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

/* Parses --data and exactly n_args arguments (from argv[optind]); returns -1 to go on. */
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
    "usage: chainvote recover --data DIR\n"
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
	e = cv_store_recover(data);
	close(lock);
	return e == CV_OK ? 0 : fail("recover", e, data);
}

/* ---- backups ---- */

static const char backup_usage[] =
    "usage: chainvote backup --data DIR TARGET\n"
    "Hot backup of the election in DIR into the new directory TARGET while the service\n"
    "keeps running: the databases and the log are copied, then the copy is recovered so\n"
    "that it is a consistent data directory of its own (restore it with chainvote\n"
    "restore). Prints the chain height the backup holds.\n";

int cmd_backup(int argc, char **argv)
{
	const char *data = NULL;
	cv_store *s = NULL, *copy = NULL;
	cv_info info;
	cv_err e;
	int r;

	if ((r = data_and_args("backup", argc, argv, backup_usage, &data, 1)) >= 0 ||
	    (r = no_election("backup")) >= 0)
		return r;
	if ((s = open_store("backup", data, 0)) == NULL)
		return 1;
	e = cv_store_backup(s, argv[optind]);
	close_store(s);
	if (e != CV_OK)
		return fail("backup", e, argv[optind]);
	/* the copy must open as a store of its own */
	if ((copy = open_store("backup", argv[optind], 0)) == NULL)
		return 1;
	e = cv_store_info(copy, &info);
	close_store(copy);
	if (e != CV_OK)
		return fail("backup", e, argv[optind]);
	printf("backup of %s in %s: %s, chain height %" PRIu64 "\n", data, argv[optind],
	       cv_state_name(info.state), info.tip_height);
	return 0;
}

static const char restore_usage[] =
    "usage: chainvote restore --data DIR BACKUP\n"
    "Makes the new data directory DIR from BACKUP (made by chainvote backup): copies its\n"
    "files, syncs them to disk and opens the result to check it. DIR must not exist; stop\n"
    "the service, move the old directory aside, restore, start the service.\n";

int cmd_restore(int argc, char **argv)
{
	const char *data = NULL, *backup;
	char from[4096];
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
	printf("restored %s from %s: %s, chain height %" PRIu64 "\n", data, backup,
	       cv_state_name(info.state), info.tip_height);
	return 0;
}
