/* The election store's foundation: the Berkeley DB environment (liveness of the
 * processes sharing it, locks, encryption at rest, the store key's check) and the opening
 * and closing of a store. The transaction loop and record helpers are in store_txn.c,
 * the encodings in store_codec.c; the operations are in the other store_*.c. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store_impl.h"

/* Configuration. These are set through the API so that a new environment works with no
 * DB_CONFIG file; a DB_CONFIG in the environment directory (conf/DB_CONFIG documents
 * the same values) is read by Berkeley DB at open and overrides them, so an operator
 * can tune a deployment without rebuilding. */
#define ST_CACHE_BYTES (32u * 1024 * 1024)
#define ST_LOG_BUFFER  (1024u * 1024)
#define ST_MAX_LOCKS   50000
#define ST_MAX_LOCKERS 4000
#define ST_MAX_OBJECTS 50000
#define ST_MAX_TXNS    500
/* Threads of control tracked for failchk: every process (and thread) with the
 * environment open takes a slot. */
#define ST_THREADS 1000
/* A lock wait longer than this ends in DB_LOCK_NOTGRANTED: the loop then runs failchk
 * (the holder may be a dead process) and retries. Operations take milliseconds. */
#define ST_LOCK_TIMEOUT_US 2000000u

static const char *const db_files[ST_N_DBS] = {
    [ST_META] = "meta.db",
    [ST_CANDIDATES] = "candidates.db",
    [ST_VALIDATORS] = "validators.db",
    [ST_ELIGIBLE] = "eligible.db",
    [ST_ROLL] = "roll.db",
    [ST_BLOCKS] = "blocks.db",
    [ST_HASHES] = "block_hashes.db",
    [ST_VOTED] = "voted.db",
    [ST_TXS] = "txs.db",
    [ST_POOL] = "pool.db",
    [ST_PROPOSALS] = "proposals.db",
    [ST_VERDICTS] = "verdicts.db",
    [ST_HEIGHT_APPR] = "height_approvals.db",
    [ST_EVIDENCE] = "evidence.db",
    [ST_TALLY] = "tally.db",
};

const char *cv_state_name(cv_state s)
{
	switch (s) {
	case CV_STATE_SETUP:
		return "setup";
	case CV_STATE_OPEN:
		return "open";
	case CV_STATE_CLOSED:
		return "closed";
	}
	return "unknown";
}

/* ---- the environment ---- */

/* A process is dead when kill() finds no such process or /proc shows a zombie (a dead
 * child its parent has not reaped yet still answers kill()). Threads inside a live
 * process are taken as alive: our processes do not lose single threads. */
static int probe_alive(pid_t pid)
{
	char path[64], buf[256];
	const char *close_paren;
	ssize_t n;
	int fd;

	if (kill(pid, 0) != 0 && errno != EPERM)
		return 0;
	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 1;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 1;
	buf[n] = '\0';
	/* "pid (comm) S ...": the state follows the last ')' */
	close_paren = strrchr(buf, ')');
	if (close_paren != NULL && close_paren[1] == ' ' &&
	    (close_paren[2] == 'Z' || close_paren[2] == 'X'))
		return 0;
	return 1;
}

/* failchk asks about the same few processes once per mutex and lock, tens of thousands
 * of times in one pass; probing /proc each time made one pass take over a second, so a
 * dead worker's replacement waited that long. Answers are kept for a pass (a short
 * window, and cv_store_failchk starts afresh). Per thread, so no locking. */
#define ALIVE_CACHE  16
#define ALIVE_TTL_NS 50000000LL
static __thread struct {
	pid_t pid;
	int alive;
	long long at;
} alive_cache[ALIVE_CACHE];
static __thread unsigned alive_next;

long long cv_st_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void cv_st_alive_cache_reset(void)
{
	memset(alive_cache, 0, sizeof alive_cache);
}

/* The key of the environment open under way in this thread (NULL outside one).
 *
 * Berkeley DB 5.3 consumes the key when it attaches to the regions: it copies it into
 * the region and frees DB_ENV->passwd. With DB_REGISTER | DB_FAILCHK, an open that
 * finds a dead process attaches twice (once for failchk, then for real, or for recovery
 * when failchk fails), and the second attach finds no key: it fails ("Invalid
 * password") or crashes. failchk asks is_alive about the registered threads between
 * the two attaches, so is_alive puts the key back for the second one (allocated with
 * malloc, as Berkeley DB allocates and frees it). */
static __thread const char *opening_passwd;

static void key_back(DB_ENV *env)
{
	size_t len;
	char *p;

	if (opening_passwd == NULL || env->passwd != NULL)
		return;
	len = strlen(opening_passwd) + 1;
	if ((p = malloc(len)) == NULL)
		return;
	memcpy(p, opening_passwd, len);
	env->passwd = p;
	env->passwd_len = len;
}

static int is_alive(DB_ENV *env, pid_t pid, db_threadid_t tid, uint32_t flags)
{
	long long now;
	int alive;

	key_back(env);
	(void)tid;
	(void)flags;
	if (pid == getpid())
		return 1;
	now = cv_st_mono_ns();
	for (unsigned i = 0; i < ALIVE_CACHE; i++)
		if (alive_cache[i].pid == pid && now - alive_cache[i].at < ALIVE_TTL_NS)
			return alive_cache[i].alive;
	alive = probe_alive(pid);
	alive_cache[alive_next].pid = pid;
	alive_cache[alive_next].alive = alive;
	alive_cache[alive_next].at = now;
	alive_next = (alive_next + 1) % ALIVE_CACHE;
	return alive;
}

static void errcall(const DB_ENV *env, const char *prefix, const char *msg)
{
	(void)env;
	(void)prefix;
	fprintf(stderr, "chainvote store: %s\n", msg);
}

/* Informational messages (failchk names the dead processes whose locks it frees, once
 * per mutex: a repeat of the previous line is counted, not printed). */
static void msgcall(const DB_ENV *env, const char *msg)
{
	static __thread char last[256];
	static __thread unsigned repeats;

	(void)env;
	if (strncmp(msg, last, sizeof last - 1) == 0) {
		repeats++;
		return;
	}
	if (repeats > 0)
		fprintf(stderr, "chainvote store: (previous message %u more times)\n", repeats);
	repeats = 0;
	snprintf(last, sizeof last, "%s", msg);
	fprintf(stderr, "chainvote store: %s\n", msg);
}

bool cv_st_env_exists(const char *dir)
{
	char path[4096];
	struct stat st;

	if (snprintf(path, sizeof path, "%s/%s", dir, db_files[ST_META]) >= (int)sizeof path)
		return false;
	return stat(path, &st) == 0;
}

/* Every handle holds the environment's recovery.lock shared for its whole life, and
 * recovery takes it exclusively: so recovery runs only when no process has the
 * environment open, whichever program or tool opened it. Returns the descriptor
 * holding the lock, or -1 (errno EWOULDBLOCK when LOCK_NB and someone holds it). */
static int take_lock(const char *dir, int how)
{
	char path[4096];
	int fd;

	if (snprintf(path, sizeof path, "%s/recovery.lock", dir) >= (int)sizeof path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	while (flock(fd, how) != 0)
		if (errno != EINTR) {
			int saved = errno;

			close(fd);
			errno = saved;
			return -1;
		}
	return fd;
}

int cv_store_lock_exclusive(const char *dir)
{
	return take_lock(dir, LOCK_EX | LOCK_NB);
}

/* The environment's sizes and lock policy, set on every handle that may create its
 * regions: the open, and recovery, which makes them anew. Regions keep the sizes they
 * were made with, and the processes that join after a recovery use those: a recovery
 * made with Berkeley DB's defaults (a 256 KB cache) left every program a cache too small
 * for the election, and its own replay read and wrote each page many times over. */
cv_err cv_st_env_config(DB_ENV *env)
{
	int rc;

	if ((rc = env->set_cachesize(env, 0, ST_CACHE_BYTES, 1)) != 0 ||
	    (rc = env->set_lg_bsize(env, ST_LOG_BUFFER)) != 0 ||
	    (rc = env->set_lk_max_locks(env, ST_MAX_LOCKS)) != 0 ||
	    (rc = env->set_lk_max_lockers(env, ST_MAX_LOCKERS)) != 0 ||
	    (rc = env->set_lk_max_objects(env, ST_MAX_OBJECTS)) != 0 ||
	    (rc = env->set_tx_max(env, ST_MAX_TXNS)) != 0 ||
	    (rc = env->set_lk_detect(env, DB_LOCK_DEFAULT)) != 0 ||
	    (rc = env->set_timeout(env, ST_LOCK_TIMEOUT_US, DB_SET_LOCK_TIMEOUT)) != 0 ||
	    (rc = env->set_flags(env, DB_TIME_NOTGRANTED, 1)) != 0 ||
	    (rc = env->set_thread_count(env, ST_THREADS)) != 0 ||
	    (rc = env->set_isalive(env, is_alive)) != 0)
		return cv_st_dberr(rc);
	return CV_OK;
}

/* ---- encryption at rest ---- */

/* The environment's own random number, in dir/ST_REGIONS_ID (8 hex digits), made by the
 * first process that needs it: written under a private name and linked into place, so
 * that processes starting together all read the same one. 0 when it cannot be had. */
static uint32_t regions_id(const char *dir)
{
	char path[4096], tmp[4200], text[16] = {0};
	uint32_t id = 0;
	int fd;

	if (snprintf(path, sizeof path, "%s/" ST_REGIONS_ID, dir) >= (int)sizeof path)
		return 0;
	for (int attempt = 0; attempt < 2; attempt++) {
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
			ssize_t n = read(fd, text, 8);

			close(fd);
			return n == 8 ? (uint32_t)strtoul(text, NULL, 16) : 0;
		}
		if (errno != ENOENT || cv_random(&id, sizeof id) != CV_OK)
			return 0;
		snprintf(text, sizeof text, "%08x", (unsigned)id);
		snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
		if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
			return 0;
		/* EEXIST: another process's, read on the next turn */
		if (write(fd, text, 8) == 8 && link(tmp, path) != 0 && errno != EEXIST) {
			close(fd);
			unlink(tmp);
			return 0;
		}
		close(fd);
		unlink(tmp);
	}
	return 0;
}

/* The base id of the environment's SysV shared memory segments (one per region, a
 * handful). Every process that opens dir must find the same id, and two environments
 * must not share one (Berkeley DB takes over the segments of the id it is given when it
 * creates regions): so it comes from the directory's device and inode and its own
 * random number (a new directory on the inode of a deleted one whose segments a crash
 * left behind does not find them), hashed into 2^27 slots of 16 ids. */
static long shm_key_of(const char *dir)
{
	struct stat st;
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	uint64_t parts[3];

	if (stat(dir, &st) != 0)
		return -1;
	parts[0] = (uint64_t)st.st_dev;
	parts[1] = (uint64_t)st.st_ino;
	parts[2] = regions_id(dir);
	for (size_t i = 0; i < 3; i++)
		for (unsigned b = 0; b < 64; b += 8) {
			h ^= (parts[i] >> b) & 0xff;
			h *= 1099511628211ULL;
		}
	return (long)(h % 0x7ffffffULL + 1) * 16;
}

uint32_t cv_st_env_flags(const char *passwd)
{
	return passwd != NULL && passwd[0] != '\0' ? ST_ENV_FLAGS | DB_SYSTEM_MEM : ST_ENV_FLAGS;
}

cv_err cv_st_env_at_rest(DB_ENV *env, const char *dir, const char *passwd)
{
	long key;
	int rc;

	env->set_errcall(env, errcall);
	if (passwd == NULL || passwd[0] == '\0')
		return CV_OK; /* unencrypted: the regions in files, as always */
	if ((key = shm_key_of(dir)) < 0)
		return CV_E_NOT_FOUND;
	if ((rc = env->set_shm_key(env, key)) != 0 ||
	    (rc = env->set_encrypt(env, passwd, DB_ENCRYPT_AES)) != 0)
		return cv_st_dberr(rc);
	return CV_OK;
}

/* Removes the environment's regions (the shared memory segments; not the databases or
 * the log) once nobody has it open: they hold the decrypted cache and would outlive the
 * processes. The caller holds recovery.lock exclusively and has checkpointed (or
 * recovered), so the files hold every committed page and the next open makes the
 * regions anew. */
void cv_st_remove_regions(const char *dir, const char *passwd)
{
	DB_ENV *env = NULL;

	if (db_env_create(&env, 0) != 0)
		return;
	if (cv_st_env_at_rest(env, dir, passwd) != CV_OK) {
		env->close(env, 0);
		return;
	}
	/* DB_FORCE: the regions may still count a process that died with them attached;
	 * the caller knows no live process has them open (every handle holds
	 * recovery.lock shared). What the dead left undone is in the log and the register,
	 * and the next open recovers it. */
	(void)env->remove(env, dir, DB_FORCE);
}

static void quiet(const DB_ENV *env, const char *prefix, const char *msg)
{
	(void)env;
	(void)prefix;
	(void)msg;
}

/* Whether passwd ("" for none) opens meta.db of dir, read alone outside the environment:
 * its first page says whether it is encrypted, and its checksum is keyed. Tried before
 * the environment is joined, because the first opener with a wrong key would make the
 * regions under it (later openers with the right key then fail), or read the log as
 * garbage in a recovery. */
bool cv_st_key_opens(const char *dir, const char *passwd)
{
	char path[4096];
	DB *db = NULL;
	int rc = -1;

	if (snprintf(path, sizeof path, "%s/%s", dir, db_files[ST_META]) >= (int)sizeof path)
		return false;
	/* a page being written at the same moment can fail once: try again */
	for (int attempt = 0; attempt < 3 && rc != 0; attempt++) {
		if (attempt > 0) {
			struct timespec ts = {0, 50000000L};

			nanosleep(&ts, NULL);
		}
		if (db_create(&db, NULL, 0) != 0)
			return false;
		db->set_errcall(db, quiet);
		rc = passwd[0] != '\0' ? db->set_encrypt(db, passwd, DB_ENCRYPT_AES) : 0;
		if (rc == 0)
			rc = db->open(db, NULL, path, NULL, DB_UNKNOWN, DB_RDONLY, 0);
		db->close(db, 0);
	}
	return rc == 0;
}

/* The key of the store in dir, checked before anything opens the environment: read
 * from key_file, or the default key file when NULL (either made first when a new
 * environment is created and the file does not exist: a new store is encrypted unless
 * key_file is CV_STORE_KEY_NONE) and tried on meta.db. An existing store made without
 * a key, opened with no key_file and no default key file, has passwd "" and nothing
 * more is checked (its open is as before encryption existed; cv_st_key_load tells an
 * encrypted store whose key file is gone by its ST_REGIONS_ID). CV_E_STORE_KEY, said
 * on stderr, when the key is not the store's. */
static cv_err store_key(const char *dir, const char *key_file, bool exists, bool create,
                        char passwd[CV_STORE_KEY_HEX + 1])
{
	char key_path[4096];
	cv_err e = cv_st_key_load(dir, key_file, passwd, key_path, sizeof key_path);

	/* a new environment with a key named gets it (the directory is new, nothing can
	 * be lost); an existing one must have its own */
	if (e == CV_E_NOT_FOUND && !exists && create) {
		if ((e = cv_store_key_create(key_path)) == CV_OK || e == CV_E_EXISTS)
			e = cv_st_key_load(dir, key_file, passwd, key_path, sizeof key_path);
	}
	if (e == CV_E_NOT_FOUND) {
		fprintf(stderr,
		        "chainvote store: no key file %s for the store in %s (without its key "
		        "an encrypted store cannot be read; see README, \"The store key\")\n",
		        key_path, dir);
		return CV_E_STORE_KEY;
	}
	if (e != CV_OK || !exists || (key_file == NULL && passwd[0] == '\0') ||
	    cv_st_key_opens(dir, passwd))
		return e;
	if (passwd[0] != '\0' && cv_st_key_opens(dir, ""))
		fprintf(stderr,
		        "chainvote store: the store in %s is not encrypted: open it without a key "
		        "file, or encrypt it with chainvote rekey (README, \"The store key\")\n",
		        dir);
	else if (passwd[0] == '\0')
		fprintf(stderr, "chainvote store: the store in %s is encrypted: give its key\n",
		        dir);
	else
		fprintf(stderr, "chainvote store: the key %s does not open the store in %s\n",
		        key_path, dir);
	return CV_E_STORE_KEY;
}

/* A database's file: the default election's by its name, another election's with the
 * election's slug in front (e.<slug>.meta.db), in the one environment directory. */
static cv_err db_file(const cv_store *s, int i, char *out, size_t size)
{
	int n = s->slug[0] == '\0' ? snprintf(out, size, "%s", db_files[i])
	                           : snprintf(out, size, "e.%s.%s", s->slug, db_files[i]);

	return n > 0 && (size_t)n < size ? CV_OK : CV_E_INTERNAL;
}

/* Opens every database; creates the missing ones only when create is set. A plain
 * open of an existing file takes no exclusive lock, so processes joining a busy
 * environment do not queue behind its writers. */
static cv_err open_dbs(cv_store *s, bool create)
{
	/* every database is encrypted under the environment's key, when it has one */
	bool encrypted = (s->root != NULL ? s->root : s)->passwd[0] != '\0';
	char name[64];
	int rc;

	for (int i = 0; i < ST_N_DBS; i++) {
		if (db_file(s, i, name, sizeof name) != CV_OK)
			return CV_E_INTERNAL;
		rc = db_create(&s->db[i], s->env, 0);
		if (rc != 0) {
			s->db[i] = NULL;
			return cv_st_dberr(rc);
		}
		if (encrypted && (rc = s->db[i]->set_flags(s->db[i], DB_ENCRYPT)) != 0)
			return cv_st_dberr(rc);
		/* DB_AUTO_COMMIT: the open (and creation) is its own transaction. */
		rc = s->db[i]->open(s->db[i], NULL, name, NULL, DB_BTREE,
		                    DB_THREAD | DB_AUTO_COMMIT, 0600);
		if (rc == ENOENT && create) {
			s->db[i]->close(s->db[i], 0);
			rc = db_create(&s->db[i], s->env, 0);
			if (rc != 0) {
				s->db[i] = NULL;
				return cv_st_dberr(rc);
			}
			if (encrypted && (rc = s->db[i]->set_flags(s->db[i], DB_ENCRYPT)) != 0)
				return cv_st_dberr(rc);
			rc = s->db[i]->open(s->db[i], NULL, name, NULL, DB_BTREE,
			                    DB_CREATE | DB_THREAD | DB_AUTO_COMMIT, 0600);
		}
		if (rc == EINVAL) {
			/* a database written without encryption under a key, or the reverse */
			fprintf(stderr, "chainvote store: %s is %s\n", name,
			        encrypted ? "not encrypted, but the store has a key"
			                  : "encrypted, but no key was given");
			return CV_E_STORE_KEY;
		}
		if (rc != 0)
			return rc == ENOENT ? CV_E_NOT_FOUND : cv_st_dberr(rc);
	}
	return CV_OK;
}

static void close_dbs(cv_store *s)
{
	for (int i = 0; i < ST_N_DBS; i++)
		if (s->db[i] != NULL) {
			/* the log makes the transactions durable; pages reach the files at
			 * checkpoints, so closing need not write them */
			s->db[i]->close(s->db[i], DB_NOSYNC);
			s->db[i] = NULL;
		}
}

/* Opening reads each file's metadata page, which a process that died mid-write may
 * still hold locked: on a lock timeout release what the dead held, retry. */
cv_err cv_st_open_dbs_patiently(cv_store *s, bool create)
{
	cv_err e;

	for (int attempt = 0;; attempt++) {
		e = open_dbs(s, create);
		if (e == CV_OK)
			return CV_OK;
		close_dbs(s);
		if ((e != ST_TIMEOUT && e != ST_RETRY) || attempt >= 10)
			return e;
		if (cv_store_failchk(s) == CV_E_RECOVER)
			return CV_E_RECOVER;
	}
}

/* A replicated environment (dir holds CV_CLUSTER_CONF) is opened with DB_INIT_REP and
 * joins its replication group right after the open: the whole difference a replicated
 * store makes to the open (lib/store/store_cluster.c has the rest). */
static cv_err join_replication_group(cv_store *s, const char *dir, unsigned flags)
{
	return cv_st_cluster_join(s, dir, flags);
}

cv_err cv_store_open_key(const char *dir, const char *key_file, unsigned flags, cv_store **out)
{
	cv_store *s = NULL;
	bool exists;
	DB_ENV *env;
	cv_err e;
	int rc;

	*out = NULL;
	if (dir == NULL || *dir == '\0')
		return CV_E_NOT_FOUND;
	if (strlen(dir) >= sizeof s->dir)
		return CV_E_TOO_LARGE;
	exists = cv_st_env_exists(dir);
	if (!(flags & CV_STORE_CREATE) && !exists)
		return CV_E_NOT_FOUND;
	if ((flags & CV_STORE_CREATE) && mkdir(dir, 0700) != 0 && errno != EEXIST)
		return CV_E_IO;
	s = calloc(1, sizeof *s);
	if (s == NULL)
		return CV_E_NOMEM;
	if (pthread_mutex_init(&s->lock, NULL) != 0) {
		free(s);
		return CV_E_INTERNAL;
	}
	if (pthread_mutex_init(&s->elections_lock, NULL) != 0) {
		pthread_mutex_destroy(&s->lock);
		free(s);
		return CV_E_INTERNAL;
	}
	s->lock_fd = -1;
	snprintf(s->dir, sizeof s->dir, "%s", dir);
	if ((e = store_key(dir, key_file, exists, (flags & CV_STORE_CREATE) != 0, s->passwd)) !=
	    CV_OK)
		goto err;
	/* waits while a recovery runs */
	if ((s->lock_fd = take_lock(dir, LOCK_SH)) < 0) {
		e = CV_E_IO;
		goto err;
	}
	rc = db_env_create(&s->env, 0);
	if (rc != 0) {
		s->env = NULL;
		e = cv_st_dberr(rc);
		goto err;
	}
	env = s->env;
	if ((e = cv_st_env_at_rest(env, dir, s->passwd)) != CV_OK)
		goto err;
	env->set_msgcall(env, msgcall);
	if ((e = cv_st_env_config(env)) != CV_OK)
		goto err;
	/* DB_REGISTER notices processes that died with the environment open; DB_FAILCHK
	 * makes that first try failchk (abort their transactions, release their locks)
	 * so the live processes carry on, and only when that cannot work does DB_RECOVER
	 * run full recovery (then the other processes see DB_RUNRECOVERY and restart). */
	opening_passwd = s->passwd[0] != '\0' ? s->passwd : NULL;
	rc = env->open(env, dir,
	               cv_st_env_flags(s->passwd) | DB_REGISTER | DB_RECOVER | DB_FAILCHK |
	                   DB_THREAD | cv_st_cluster_open_flags(dir),
	               0600);
	opening_passwd = NULL;
	if (rc != 0) {
		/* The key was checked above: an "Invalid password" (EPERM) here is Berkeley
		 * DB losing it between two attaches (is_alive), which a new attempt does not
		 * meet, so it is not CV_E_STORE_KEY (which the services do not retry). */
		e = cv_st_dberr(rc);
		goto err;
	}
	s->env_open = true;
	if ((e = join_replication_group(s, dir, flags)) != CV_OK)
		goto err;
	/* the replication process reads no database (a new replica has none yet) */
	if (!(flags & CV_STORE_REPLICATION) &&
	    (e = cv_st_open_dbs_patiently(s, (flags & CV_STORE_CREATE) != 0)) != CV_OK)
		goto err;
	*out = s;
	return CV_OK;
err:
	cv_store_close(s);
	return e == ST_RETRY || e == ST_TIMEOUT ? CV_E_BUSY : e;
}

static void params_free(cv_store *s)
{
	for (size_t i = 0; i < s->n_params; i++) {
		cv_params_free(s->params[i]);
		free(s->params[i]);
	}
	free(s->params);
	s->params = NULL;
	s->n_params = 0;
}

cv_err cv_store_open(const char *dir, unsigned flags, cv_store **out)
{
	return cv_store_open_key(dir, NULL, flags, out);
}

/* After a handle closed and let go of recovery.lock: when no other handle is open (the
 * lock can be had exclusively), recovery and the removal of the regions, so that the
 * decrypted cache does not outlive the processes in system memory. Recovery rather than
 * a checkpoint: a process killed with the environment open may have left it so that
 * only recovery can work with it. Of several handles closing together, the last to try
 * gets the lock; one that finds the regions gone already does nothing. */
static void clean_up_if_last(const char *dir, const char *passwd)
{
	char path[4096];
	int fd = take_lock(dir, LOCK_EX | LOCK_NB);

	if (fd < 0)
		return;
	if (snprintf(path, sizeof path, "%s/__db.001", dir) < (int)sizeof path &&
	    access(path, F_OK) == 0)
		(void)cv_st_recover_with(dir, passwd, false);
	close(fd);
}

/* An election handle's own part: its databases, its genesis cache, itself. */
void cv_st_election_free(cv_store *s)
{
	close_dbs(s);
	cv_genesis_free(&s->genesis);
	free(s->trustee_keys);
	params_free(s);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static void store_close(cv_store *s, bool clean_up)
{
	if (s == NULL || s->root != NULL)
		return; /* an election handle is the root's, closed with it */
	while (s->elections != NULL) {
		cv_store *el = s->elections;

		s->elections = el->next_election;
		cv_st_election_free(el);
	}
	close_dbs(s);
	if (s->env != NULL)
		s->env->close(s->env, 0);
	/* A process that dies leaves the regions to the open or recovery after it. */
	if (s->lock_fd >= 0) {
		close(s->lock_fd);
		if (s->env_open && clean_up && s->passwd[0] != '\0')
			clean_up_if_last(s->dir, s->passwd);
	}
	explicit_bzero(s->passwd, sizeof s->passwd);
	cv_genesis_free(&s->genesis);
	free(s->trustee_keys);
	params_free(s);
	cv_st_cluster_free(s->cluster);
	pthread_mutex_destroy(&s->elections_lock);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void cv_store_close(cv_store *s)
{
	store_close(s, true);
}

void cv_store_close_keep_regions(cv_store *s)
{
	store_close(s, false);
}
