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
    {"store-key", required_argument, NULL, OPT_STORE_KEY},
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

static const char release_usage[] =
    "usage: chainvote release --data DIR\n"
    "Removes the shared memory of the encrypted store in DIR (Berkeley DB's regions: its\n"
    "cache, pages in the clear, and the key) while no process has it open. The last\n"
    "process to close the store removes it, but processes killed with the store open\n"
    "(kill -9, a crash) leave it behind until reboot, even once DIR is deleted: run this\n"
    "before deleting such a directory. Needs no key and leaves the store as it is (the\n"
    "next start recovers it). Prints {\"shm_key\": K, \"shm_keys\": N, \"removed\": R}:\n"
    "the store's segments have keys K to K+N-1 (null for an unencrypted store); exits 1\n"
    "while a process has the store open.\n";

int cmd_release(int argc, char **argv)
{
	const char *data = NULL;
	unsigned removed = 0;
	long first = 0;
	cv_err e;
	int r;

	if ((r = data_only("release", argc, argv, release_usage, &data)) >= 0 ||
	    (r = no_election("release")) >= 0)
		return r;
	e = cv_store_release(data, &removed);
	if (e == CV_E_BUSY) {
		fprintf(stderr, "chainvote release: %s: a process has the store open\n", data);
		return 1;
	}
	if (e != CV_OK)
		return fail("release", e, data);
	if (cv_store_shm_keys(data, &first))
		printf("{\"shm_key\": %ld, \"shm_keys\": %d, \"removed\": %u}\n", first,
		       CV_STORE_SHM_KEYS, removed);
	else
		printf("{\"shm_key\": null, \"shm_keys\": 0, \"removed\": %u}\n", removed);
	return 0;
}

/* ---- backups ---- */

/* The key file the commands use for dir: --store-key, or the default beside dir. */
bool key_path_of(const char *dir, char *out, size_t n)
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
    "files, syncs them to disk and opens the result to check it (a restore that fails\n"
    "removes DIR again). DIR must not exist; stop the service, move the old directory\n"
    "aside, restore, start the service.\n"
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

/* Removes the directory restore made, with whatever it put there (the copies and what
 * the check's open made): a failed restore leaves nothing, so it can be run again. */
static void undo_restore(const char *data)
{
	char path[4096];
	struct dirent *de;
	DIR *d = opendir(data);

	if (d != NULL) {
		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] != '.' &&
			    snprintf(path, sizeof path, "%s/%s", data, de->d_name) < (int)sizeof path)
				(void)unlink(path);
		closedir(d);
	}
	(void)rmdir(data);
}

/* Copies BACKUP's files into the new directory data and syncs them; false (the cause
 * in *e, the file's path in from[4096], which outlives the directory's listing) when
 * one cannot be. */
static bool copy_backup(const char *backup, const char *data, cv_err *e, char from[4096])
{
	struct dirent *de;
	DIR *d = opendir(backup);
	int dirfd_;

	snprintf(from, 4096, "%s", backup);
	if (d == NULL) {
		*e = CV_E_NOT_FOUND;
		return false;
	}
	while ((de = readdir(d)) != NULL) {
		struct stat st;

		if (snprintf(from, 4096, "%s/%s", backup, de->d_name) >= 4096) {
			closedir(d);
			*e = CV_E_TOO_LARGE;
			return false;
		}
		/* region files belong to a running environment, never to a copy; but a
		 * replicated node's backup holds its replication group's membership database
		 * (__db.rep.system), which a restored node needs to rejoin as the member it
		 * was, knowing the group's size (docs/ARCHITECTURE.md, "Past one machine") */
		if (stat(from, &st) != 0 || !S_ISREG(st.st_mode) ||
		    (strncmp(de->d_name, "__db.", 5) == 0 &&
		     strcmp(de->d_name, "__db.rep.system") != 0))
			continue;
		if (!copy_file(from, data, de->d_name)) {
			closedir(d);
			*e = CV_E_IO;
			return false;
		}
	}
	closedir(d);
	if ((dirfd_ = open(data, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		(void)fsync(dirfd_);
		close(dirfd_);
	}
	return true;
}

int cmd_restore(int argc, char **argv)
{
	const char *data = NULL, *backup;
	char key[4096], what[4096];
	struct stat st;
	cv_store *s;
	cv_info info;
	cv_err e = CV_OK;
	int r;

	if ((r = data_and_args("restore", argc, argv, restore_usage, &data, 1)) >= 0 ||
	    (r = no_election("restore")) >= 0)
		return r;
	backup = argv[optind];
	if (stat(backup, &st) != 0 || !S_ISDIR(st.st_mode))
		return fail("restore", CV_E_NOT_FOUND, backup);
	if (mkdir(data, 0700) != 0) {
		int err = errno;

		if (err == ENOENT)
			fprintf(stderr, "chainvote restore: the directory that is to hold %s does "
			                "not exist\n",
			        data);
		return fail("restore", err == EEXIST ? CV_E_EXISTS : CV_E_IO, data);
	}
	/* from here on, a failure removes DIR again */
	if (!copy_backup(backup, data, &e, what)) {
		undo_restore(data);
		return fail("restore", e, what);
	}
	if ((s = open_store("restore", data, 0)) == NULL) {
		undo_restore(data);
		return 1;
	}
	e = cv_store_info(s, &info);
	close_store(s);
	if (e != CV_OK) {
		undo_restore(data);
		return fail("restore", e, data);
	}
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
