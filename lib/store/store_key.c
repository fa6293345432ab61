/* The store key: where its file is, making one, reading it strictly, and moving a store
 * to a new key (Berkeley DB encrypts an environment under one key for its whole life, so
 * a new key means a new environment holding the same records). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_impl.h"

cv_err cv_store_key_default(const char *dir, char *out, size_t n)
{
	size_t len = strlen(dir);
	const char *slash;

	/* the parent of dir, trailing slashes aside: "DATA/election/" -> "DATA" */
	while (len > 1 && dir[len - 1] == '/')
		len--;
	while (len > 0 && dir[len - 1] != '/')
		len--;
	slash = len > 0 ? dir + len - 1 : NULL;
	while (len > 1 && dir[len - 1] == '/')
		len--;
	if (slash == NULL) /* a name in the working directory */
		return snprintf(out, n, "keys/store.key") < (int)n ? CV_OK : CV_E_TOO_LARGE;
	if (len == 1 && dir[0] == '/') /* a directory of / */
		return snprintf(out, n, "/keys/store.key") < (int)n ? CV_OK : CV_E_TOO_LARGE;
	return snprintf(out, n, "%.*s/keys/store.key", (int)len, dir) < (int)n ? CV_OK
	                                                                       : CV_E_TOO_LARGE;
}

/* fsync of a directory, so that a new entry in it survives a crash. */
static void sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

cv_err cv_store_key_create(const char *path)
{
	uint8_t key[CV_STORE_KEY_HEX / 2];
	char hex[CV_STORE_KEY_HEX + 2], parent[4096], tmp[4096];
	const char *slash = strrchr(path, '/');
	cv_err e = CV_E_IO;
	int fd = -1;

	if (slash != NULL) {
		if ((size_t)(slash - path) >= sizeof parent)
			return CV_E_TOO_LARGE;
		snprintf(parent, sizeof parent, "%.*s", slash == path ? 1 : (int)(slash - path),
		         path);
		if (mkdir(parent, 0700) != 0 && errno != EEXIST)
			return CV_E_IO;
	} else {
		snprintf(parent, sizeof parent, ".");
	}
	if ((e = cv_random(key, sizeof key)) != CV_OK)
		goto out;
	cv_hex_encode(key, sizeof key, hex);
	hex[CV_STORE_KEY_HEX] = '\n';
	hex[CV_STORE_KEY_HEX + 1] = '\0';
	/* Written whole under a private name, then linked to its own: processes starting
	 * together never read half a key, and link() never replaces a key, whoever made
	 * it first. */
	if (snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid()) >= (int)sizeof tmp) {
		e = CV_E_TOO_LARGE;
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		e = CV_E_IO;
		goto out;
	}
	e = write(fd, hex, CV_STORE_KEY_HEX + 1) == CV_STORE_KEY_HEX + 1 && fsync(fd) == 0
	        ? CV_OK
	        : CV_E_IO;
	close(fd);
	if (e == CV_OK && link(tmp, path) != 0)
		e = errno == EEXIST ? CV_E_EXISTS : CV_E_IO;
	unlink(tmp);
	if (e == CV_OK)
		sync_dir(parent);
out:
	explicit_bzero(key, sizeof key);
	explicit_bzero(hex, sizeof hex);
	return e;
}

static bool encrypted_store(const char *dir)
{
	char path[4096];

	return snprintf(path, sizeof path, "%s/" ST_REGIONS_ID, dir) < (int)sizeof path &&
	       access(path, F_OK) == 0;
}

cv_err cv_st_key_load(const char *dir, const char *key_file, char *passwd, char *path, size_t n)
{
	char buf[CV_STORE_KEY_HEX + 2];
	struct stat st;
	cv_err e = CV_E_STORE_KEY;
	ssize_t got;
	int fd;

	passwd[0] = '\0';
	if (key_file != NULL && strcmp(key_file, CV_STORE_KEY_NONE) == 0) {
		snprintf(path, n, "%s", CV_STORE_KEY_NONE);
		return CV_OK;
	}
	if (key_file != NULL) {
		if (snprintf(path, n, "%s", key_file) >= (int)n)
			return CV_E_TOO_LARGE;
	} else if ((e = cv_store_key_default(dir, path, n)) != CV_OK) {
		return e;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		/* Encrypted is the default: no key named and none at the default place is
		 * an unencrypted store only when one exists already, made without a key
		 * (`--store-key none`, or before encryption was the default) and not made
		 * encrypted (told by a stat, before anything joins it: an open without the
		 * key would wreck its regions). A new store gets the default key
		 * (store_key in store.c makes it). */
		if (errno == ENOENT)
			return key_file == NULL && !encrypted_store(dir) && cv_st_env_exists(dir)
			           ? CV_OK
			           : CV_E_NOT_FOUND;
		fprintf(stderr, "chainvote store: key file %s: %s\n", path, strerror(errno));
		return CV_E_STORE_KEY;
	}
	e = CV_E_STORE_KEY;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "chainvote store: key file %s is not a regular file\n", path);
		goto out;
	}
	/* like ssh with its private keys: a key others can read is not kept secret */
	if ((st.st_mode & 077) != 0) {
		fprintf(stderr,
		        "chainvote store: key file %s is open to group or others (mode %04o); "
		        "chmod 600 it\n",
		        path, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	got = read(fd, buf, sizeof buf);
	if (got == CV_STORE_KEY_HEX + 1 && buf[CV_STORE_KEY_HEX] == '\n')
		got--;
	if (got != CV_STORE_KEY_HEX) {
		fprintf(stderr,
		        "chainvote store: key file %s is not %d hex digits and a line end\n", path,
		        CV_STORE_KEY_HEX);
		goto out;
	}
	for (int i = 0; i < CV_STORE_KEY_HEX; i++)
		if (!((buf[i] >= '0' && buf[i] <= '9') || (buf[i] >= 'a' && buf[i] <= 'f'))) {
			fprintf(stderr,
			        "chainvote store: key file %s is not %d lowercase hex digits\n",
			        path, CV_STORE_KEY_HEX);
			goto out;
		}
	memcpy(passwd, buf, CV_STORE_KEY_HEX);
	passwd[CV_STORE_KEY_HEX] = '\0';
	e = CV_OK;
out:
	explicit_bzero(buf, sizeof buf);
	close(fd);
	return e;
}

/* ---- rekey ---- */

static bool is_db_file(const char *name)
{
	size_t len = strlen(name);

	return len > 3 && strcmp(name + len - 3, ".db") == 0;
}

/* One database file: every record read in the source environment, written in one
 * transaction of the new one (created there, encrypted under its key). Every database
 * of the store is a plain btree (open_dbs), whichever election it belongs to. */
static cv_err copy_db_file(DB_ENV *from, const char *from_pw, DB_ENV *to, const char *name)
{
	DB *src = NULL, *dst = NULL;
	DBC *cur = NULL;
	DB_TXN *txn = NULL;
	DBT k, v;
	int rc;

	if ((rc = db_create(&src, from, 0)) != 0 ||
	    (from_pw[0] != '\0' && (rc = src->set_flags(src, DB_ENCRYPT)) != 0) ||
	    (rc = src->open(src, NULL, name, NULL, DB_BTREE, DB_RDONLY, 0)) != 0)
		goto out;
	if ((rc = to->txn_begin(to, NULL, &txn, 0)) != 0 || (rc = db_create(&dst, to, 0)) != 0 ||
	    (rc = dst->set_flags(dst, DB_ENCRYPT)) != 0 ||
	    (rc = dst->open(dst, txn, name, NULL, DB_BTREE, DB_CREATE | DB_EXCL, 0600)) != 0 ||
	    (rc = src->cursor(src, NULL, &cur, 0)) != 0)
		goto out;
	memset(&k, 0, sizeof k);
	memset(&v, 0, sizeof v);
	while ((rc = cur->get(cur, &k, &v, DB_NEXT)) == 0)
		if ((rc = dst->put(dst, txn, &k, &v, 0)) != 0)
			break;
	if (rc == DB_NOTFOUND)
		rc = 0;
out:
	if (cur != NULL)
		cur->close(cur);
	if (dst != NULL)
		dst->close(dst, 0);
	if (txn != NULL) {
		int end = rc == 0 ? txn->commit(txn, 0) : txn->abort(txn);

		if (rc == 0)
			rc = end;
	}
	if (src != NULL)
		src->close(src, 0);
	return rc == 0 ? CV_OK : cv_st_dberr(rc);
}

/* A private environment in dir under passwd: this process alone, regions in its memory. */
static cv_err private_env(const char *dir, const char *passwd, DB_ENV **out)
{
	DB_ENV *env = NULL;
	cv_err e;
	int rc;

	*out = NULL;
	if (db_env_create(&env, 0) != 0)
		return CV_E_STORE;
	if ((e = cv_st_env_at_rest(env, dir, passwd)) != CV_OK) {
		env->close(env, 0);
		return e;
	}
	rc = env->open(env, dir, ST_ENV_FLAGS | DB_PRIVATE, 0600);
	if (rc != 0) {
		env->close(env, 0);
		return rc == EINVAL || rc == EPERM ? CV_E_STORE_KEY : CV_E_STORE;
	}
	*out = env;
	return CV_OK;
}

/* Copies the regular files of from that are not Berkeley DB's nor the store's own
 * (DB_CONFIG, the audit log, the admin's files) into to, as they are. */
static cv_err copy_others(const char *from, const char *to)
{
	char src[4096], dst[4096], buf[65536];
	struct dirent *de;
	cv_err e = CV_OK;
	DIR *d = opendir(from);

	if (d == NULL)
		return CV_E_IO;
	while (e == CV_OK && (de = readdir(d)) != NULL) {
		const char *name = de->d_name;
		struct stat st;
		int in, out;
		ssize_t n;

		if (strncmp(name, "__db.", 5) == 0 || strncmp(name, "log.", 4) == 0 ||
		    is_db_file(name) || strcmp(name, "recovery.lock") == 0 ||
		    strcmp(name, ST_REGIONS_ID) == 0) /* the new directory has its own */
			continue;
		if (snprintf(src, sizeof src, "%s/%s", from, name) >= (int)sizeof src ||
		    snprintf(dst, sizeof dst, "%s/%s", to, name) >= (int)sizeof dst) {
			e = CV_E_TOO_LARGE;
			break;
		}
		if (lstat(src, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if ((in = open(src, O_RDONLY | O_CLOEXEC)) < 0) {
			e = CV_E_IO;
			break;
		}
		out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 0777);
		if (out < 0) {
			close(in);
			e = CV_E_IO;
			break;
		}
		while ((n = read(in, buf, sizeof buf)) > 0)
			if (write(out, buf, (size_t)n) != n) {
				n = -1;
				break;
			}
		if (n < 0 || fsync(out) != 0)
			e = CV_E_IO;
		close(in);
		close(out);
	}
	closedir(d);
	return e;
}

cv_err cv_store_rekey(const char *dir, const char *key_file, const char *new_dir,
                      const char *new_key_file)
{
	char pw[CV_STORE_KEY_HEX + 1], new_pw[CV_STORE_KEY_HEX + 1], path[4096];
	DB_ENV *from = NULL, *to = NULL;
	struct dirent *de;
	struct stat st;
	DIR *d = NULL;
	cv_err e;

	pw[0] = new_pw[0] = '\0';
	if (new_key_file == NULL || strcmp(new_key_file, CV_STORE_KEY_NONE) == 0)
		return CV_E_STORE_KEY;
	if (stat(new_dir, &st) == 0)
		return CV_E_EXISTS;
	if ((e = cv_st_key_load(dir, key_file, pw, path, sizeof path)) != CV_OK ||
	    (e = cv_st_key_load(new_dir, new_key_file, new_pw, path, sizeof path)) != CV_OK) {
		e = e == CV_E_NOT_FOUND ? CV_E_STORE_KEY : e;
		goto out;
	}
	/* Recovery first (the caller holds recovery.lock exclusively: nobody has dir open),
	 * so that every committed record is in the database files the copy reads; it
	 * checks the key against the store before anything is made. */
	if ((e = cv_store_recover(dir, key_file, false)) != CV_OK)
		goto out;
	if ((e = private_env(dir, pw, &from)) != CV_OK)
		goto out;
	if (mkdir(new_dir, 0700) != 0) {
		e = CV_E_IO;
		goto out;
	}
	if ((e = private_env(new_dir, new_pw, &to)) != CV_OK)
		goto out;
	if ((d = opendir(dir)) == NULL) {
		e = CV_E_IO;
		goto out;
	}
	while (e == CV_OK && (de = readdir(d)) != NULL)
		if (is_db_file(de->d_name))
			e = copy_db_file(from, pw, to, de->d_name);
	/* a checkpoint writes every page into the new files, so the new directory is
	 * whole without its log's past */
	if (e == CV_OK && to->txn_checkpoint(to, 0, 0, DB_FORCE) != 0)
		e = CV_E_STORE;
	if (e == CV_OK)
		e = copy_others(dir, new_dir);
out:
	if (d != NULL)
		closedir(d);
	if (to != NULL)
		to->close(to, 0);
	if (from != NULL)
		from->close(from, 0);
	if (e == CV_OK)
		sync_dir(new_dir);
	explicit_bzero(pw, sizeof pw);
	explicit_bzero(new_pw, sizeof new_pw);
	return e;
}
