/* The environment's upkeep and repair: checkpoints, failchk, hot backups and
 * catastrophic recovery of an environment directory. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "store_impl.h"

cv_err cv_store_checkpoint(cv_store *s)
{
	int rc;

	if (!cv_st_checkpoints(s))
		return CV_OK;
	rc = s->env->txn_checkpoint(s->env, 0, 0, 0);
	if (rc == 0)
		rc = s->env->log_archive(s->env, NULL, DB_ARCH_REMOVE);
	return rc == 0 ? CV_OK : cv_st_dberr(rc) == CV_E_RECOVER ? CV_E_RECOVER : CV_E_STORE;
}

cv_err cv_store_failchk(cv_store *s)
{
	int rc;

	cv_st_alive_cache_reset();
	rc = s->env->failchk(s->env, 0);

	if (rc == 0)
		return CV_OK;
	return rc == DB_RUNRECOVERY ? CV_E_RECOVER : CV_E_STORE;
}

/* ---- backups ---- */

/* Catastrophic recovery in a private environment: a hot copy's database files may hold
 * pages from different moments; replaying the whole copied log makes them consistent. */
static cv_err recover_copy(const char *dir, const char *passwd)
{
	DB_ENV *env = NULL;
	int rc;

	if ((rc = db_env_create(&env, 0)) != 0)
		return cv_st_dberr(rc);
	if (cv_st_env_at_rest(env, dir, passwd) != CV_OK || cv_st_env_config(env) != CV_OK) {
		env->close(env, 0);
		return CV_E_STORE;
	}
	/* private: the regions in this process's memory, gone with the handle; the copy
	 * stays under the store's key. The store's cache, so the replay of the copied log
	 * reads and writes (decrypts and encrypts) each page once. */
	rc = env->open(env, dir, ST_ENV_FLAGS | DB_PRIVATE | DB_RECOVER_FATAL, 0600);
	env->close(env, 0);
	return rc == 0 ? CV_OK : CV_E_STORE;
}

cv_err cv_store_backup(cv_store *s, const char *target)
{
	int rc;

	/* A checkpoint first, so the copy's recovery has little log to replay. */
	(void)s->env->txn_checkpoint(s->env, 0, 0, 0);
	rc = s->env->backup(s->env, target, DB_CREATE | DB_EXCL);
	if (rc == EEXIST)
		return CV_E_EXISTS;
	if (rc == DB_RUNRECOVERY)
		return CV_E_RECOVER;
	if (rc != 0)
		return CV_E_IO;
	return recover_copy(target, (s->root != NULL ? s->root : s)->passwd);
}

cv_err cv_store_recover(const char *dir, const char *key_file, bool keep_regions)
{
	char passwd[CV_STORE_KEY_HEX + 1], key_path[4096];
	cv_err e = cv_st_key_load(dir, key_file, passwd, key_path, sizeof key_path);

	if (e == CV_E_NOT_FOUND)
		fprintf(stderr, "chainvote store: no key file %s for the store in %s\n", key_path,
		        dir);
	/* an unencrypted store's recovery is as before encryption existed: no check first */
	if (e == CV_OK && passwd[0] != '\0' && !cv_st_key_opens(dir, passwd)) {
		fprintf(stderr, "chainvote store: the key %s does not open the store in %s\n",
		        key_path, dir);
		e = CV_E_STORE_KEY;
	}
	if (e == CV_OK)
		e = cv_st_recover_with(dir, passwd, keep_regions);
	explicit_bzero(passwd, sizeof passwd);
	return e == CV_E_NOT_FOUND ? CV_E_STORE_KEY : e;
}

cv_err cv_st_recover_with(const char *dir, const char *passwd, bool keep_regions)
{
	DB_ENV *env = NULL;
	char path[4096];
	cv_err e;
	int rc;

	/* The register lists processes that had the environment open; none has now (the
	 * caller holds the lock exclusively), and a stale list would only make the next
	 * open look for dead processes again. */
	if (snprintf(path, sizeof path, "%s/__db.register", dir) < (int)sizeof path)
		(void)unlink(path);
	if ((rc = db_env_create(&env, 0)) != 0)
		return cv_st_dberr(rc);
	if ((e = cv_st_env_at_rest(env, dir, passwd)) != CV_OK ||
	    (e = cv_st_env_config(env)) != CV_OK) {
		env->close(env, 0);
		return e;
	}
	/* The register is new, so DB_REGISTER | DB_RECOVER recovers (whatever any earlier
	 * register said) and makes the regions anew; and this handle's registration, ended
	 * by its close, leaves a register with no process in it. The next opener then
	 * joins the regions as they are: with no register it would take itself for the
	 * first process and recover again, every other opener waiting on it. Not for a
	 * replicated store: its regions need the replication subsystem, which its
	 * replication process (the first to open) makes when it recovers again. */
	rc = env->open(env, dir,
	               cv_st_env_flags(passwd) | DB_RECOVER |
	                   (cv_st_cluster_open_flags(dir) == 0 ? DB_REGISTER : 0),
	               0600);
	env->close(env, 0);
	if (passwd[0] == '\0') /* unencrypted: the regions stay in their files */
		return rc == 0 ? CV_OK : CV_E_STORE;
	/* The regions stay, in system memory, for the processes that open it next (the
	 * last of them to close removes them). Else they go: recovery ends in a
	 * checkpoint, so the files hold every committed page. With the regions goes the
	 * register: the next opener then takes itself for the first, recovers (nothing is
	 * left to replay) and makes the regions under the register's exclusive lock while
	 * the others wait. Openers that found a register and no regions would make them
	 * all at once, and a shared memory region raced for so can leave the others
	 * waiting on it for seconds. */
	if (rc == 0 && !keep_regions) {
		cv_st_remove_regions(dir, passwd);
		(void)unlink(path);
	}
	return rc == 0 ? CV_OK : rc == EINVAL || rc == EPERM ? CV_E_STORE_KEY : CV_E_STORE;
}
