/* The election store's foundation: the Berkeley DB environment (open, recovery,
 * failchk, checkpoints), the one transaction loop every operation runs in, record
 * helpers and the encodings of stored records. The operations are in store_*.c. */
#include <assert.h>
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
#define ST_MAX_ATTEMPTS    50

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

cv_err cv_st_dberr(int rc)
{
	switch (rc) {
	case 0:
		return CV_OK;
	case DB_LOCK_DEADLOCK:
		return ST_RETRY;
	case DB_LOCK_NOTGRANTED:
		return ST_TIMEOUT;
	case DB_NOTFOUND:
		return CV_E_NOT_FOUND;
	case DB_KEYEXIST:
		return CV_E_EXISTS;
	case DB_RUNRECOVERY:
		return CV_E_RECOVER;
	case ENOMEM:
		return CV_E_NOMEM;
	case DB_REP_LOCKOUT: /* a replica catching up with a new master */
		return CV_E_BUSY;
	case DB_REP_HANDLE_DEAD: /* a replica rolled back: the handles must be opened anew */
		return CV_E_RECOVER;
	default:
		return CV_E_STORE;
	}
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

static long long mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void alive_cache_reset(void)
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
	now = mono_ns();
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
static cv_err env_config(DB_ENV *env)
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

static cv_err recover_with(const char *dir, const char *passwd, bool keep_regions);

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
static void remove_regions(const char *dir, const char *passwd)
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
static bool key_opens(const char *dir, const char *passwd)
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
	    key_opens(dir, passwd))
		return e;
	if (passwd[0] != '\0' && key_opens(dir, ""))
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
static cv_err open_dbs_patiently(cv_store *s, bool create)
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
	if ((e = env_config(env)) != CV_OK)
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
	    (e = open_dbs_patiently(s, (flags & CV_STORE_CREATE) != 0)) != CV_OK)
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
		(void)recover_with(dir, passwd, false);
	close(fd);
}

/* An election handle's own part: its databases, its genesis cache, itself. */
static void election_free(cv_store *s)
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
		election_free(el);
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

/* ---- elections ---- */

/* The registry: one record per election in the default election's meta database,
 * "election/<slug>" -> u64 registered at. */
#define REGISTRY_PREFIX "election/"

bool cv_election_slug_ok(const char *slug)
{
	size_t n;

	if (slug == NULL)
		return false;
	n = strlen(slug);
	return n >= 1 && n <= CV_ELECTION_SLUG_MAX &&
	       strspn(slug, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

const char *cv_store_slug(const cv_store *s)
{
	return s->root == NULL ? CV_ELECTION_DEFAULT : s->slug;
}

static size_t registry_key(const char *slug,
                           char key[sizeof REGISTRY_PREFIX + CV_ELECTION_SLUG_MAX])
{
	return (size_t)snprintf(key, sizeof REGISTRY_PREFIX + CV_ELECTION_SLUG_MAX, "%s%s",
	                        REGISTRY_PREFIX, slug);
}

static cv_err registered_op(cv_store *s, DB_TXN *txn, void *ctx)
{
	char key[sizeof REGISTRY_PREFIX + CV_ELECTION_SLUG_MAX];
	size_t klen = registry_key(ctx, key);

	return cv_st_exists(s, ST_META, txn, key, klen);
}

typedef struct register_ctx {
	const char *slug;
	uint64_t now;
} register_ctx;

static cv_err register_op(cv_store *s, DB_TXN *txn, void *ctx)
{
	const register_ctx *c = ctx;
	char key[sizeof REGISTRY_PREFIX + CV_ELECTION_SLUG_MAX];
	size_t klen = registry_key(c->slug, key);
	uint8_t at[8];

	cv_put_u64(at, c->now);
	return cv_st_put(s, ST_META, txn, key, klen, at, sizeof at, DB_NOOVERWRITE);
}

/* A handle of election slug on root's environment, its databases opened (created
 * with create). */
static cv_err election_new(cv_store *root, const char *slug, bool create, cv_store **out)
{
	cv_store *el = calloc(1, sizeof *el);
	cv_err e;

	*out = NULL;
	if (el == NULL)
		return CV_E_NOMEM;
	if (pthread_mutex_init(&el->lock, NULL) != 0) {
		free(el);
		return CV_E_INTERNAL;
	}
	el->env = root->env;
	el->lock_fd = -1;
	el->root = root;
	snprintf(el->slug, sizeof el->slug, "%s", slug);
	if ((e = open_dbs_patiently(el, create)) != CV_OK) {
		election_free(el);
		return e == ST_RETRY || e == ST_TIMEOUT ? CV_E_BUSY : e;
	}
	*out = el;
	return CV_OK;
}

/* The handle of slug among those root opened already, or NULL. Holds elections_lock. */
static cv_store *election_cached(cv_store *root, const char *slug)
{
	for (cv_store *el = root->elections; el != NULL; el = el->next_election)
		if (strcmp(el->slug, slug) == 0)
			return el;
	return NULL;
}

cv_err cv_store_add_election(cv_store *root, const char *slug, uint64_t now)
{
	register_ctx c = {slug, now};
	cv_store *el = NULL;
	cv_err e;

	assert(root->root == NULL);
	if (!cv_election_slug_ok(slug))
		return CV_E_MALFORMED;
	if (strcmp(slug, CV_ELECTION_DEFAULT) == 0)
		return CV_E_EXISTS;
	pthread_mutex_lock(&root->elections_lock);
	if (election_cached(root, slug) != NULL) {
		e = CV_E_EXISTS;
		goto out;
	}
	/* The databases first, then the record: an election is listed only once its files
	 * are there. A crash between leaves empty files that the next try opens again. */
	if ((e = election_new(root, slug, true, &el)) != CV_OK)
		goto out;
	if ((e = cv_st_run(root, register_op, &c)) != CV_OK) {
		election_free(el);
		goto out;
	}
	el->next_election = root->elections;
	root->elections = el;
out:
	pthread_mutex_unlock(&root->elections_lock);
	return e;
}

cv_err cv_store_election(cv_store *root, const char *slug, cv_store **out)
{
	cv_store *el;
	cv_err e = CV_OK;

	*out = NULL;
	assert(root->root == NULL);
	if (!cv_election_slug_ok(slug))
		return CV_E_MALFORMED;
	if (strcmp(slug, CV_ELECTION_DEFAULT) == 0) {
		*out = root;
		return CV_OK;
	}
	pthread_mutex_lock(&root->elections_lock);
	if ((el = election_cached(root, slug)) == NULL) {
		/* elections are never removed, so only a found one is remembered */
		if ((e = cv_st_run(root, registered_op, (void *)slug)) == CV_OK &&
		    (e = election_new(root, slug, false, &el)) == CV_OK) {
			el->next_election = root->elections;
			root->elections = el;
		}
	}
	pthread_mutex_unlock(&root->elections_lock);
	*out = el;
	return e;
}

typedef struct list_ctx {
	cv_election_listing *list;
	size_t n, cap;
} list_ctx;

static cv_err list_one(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	list_ctx *c = ctx;
	size_t slen = klen - strlen(REGISTRY_PREFIX);

	if (vlen != 8 || slen == 0 || slen > CV_ELECTION_SLUG_MAX)
		return CV_E_STORE;
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 16;
		cv_election_listing *p = realloc(c->list, cap * sizeof *p);

		if (p == NULL)
			return CV_E_NOMEM;
		c->list = p;
		c->cap = cap;
	}
	memcpy(c->list[c->n].slug, key + strlen(REGISTRY_PREFIX), slen);
	c->list[c->n].slug[slen] = '\0';
	c->list[c->n].created = cv_get_u64(val);
	c->n++;
	return CV_OK;
}

static cv_err list_op(cv_store *s, DB_TXN *txn, void *ctx)
{
	list_ctx *c = ctx;

	c->n = 0; /* the op may run again after a deadlock */
	return cv_st_scan(s, ST_META, txn, REGISTRY_PREFIX, strlen(REGISTRY_PREFIX), list_one, c);
}

cv_err cv_store_elections(cv_store *root, cv_election_listing **out, size_t *n)
{
	list_ctx c = {0};
	cv_err e;

	assert(root->root == NULL);
	*out = NULL;
	*n = 0;
	if ((e = cv_st_run(root, list_op, &c)) != CV_OK) {
		free(c.list);
		return e;
	}
	*out = c.list;
	*n = c.n;
	return CV_OK;
}

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

	alive_cache_reset();
	rc = s->env->failchk(s->env, 0);

	if (rc == 0)
		return CV_OK;
	return rc == DB_RUNRECOVERY ? CV_E_RECOVER : CV_E_STORE;
}

void cv_store_fault_deadlock(cv_store *s, int n)
{
	atomic_store(&s->fault_deadlock, n);
}

void cv_store_fault_stall(cv_store *s, unsigned ms)
{
	atomic_store(&s->fault_stall_ms, ms);
}

unsigned long long cv_store_retries(cv_store *s)
{
	return atomic_load(&s->retries);
}

void cv_st_stall(cv_store *s)
{
	unsigned ms = atomic_exchange(&s->fault_stall_ms, 0);
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	if (ms > 0)
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
}

/* True when the deadlock fault fires for this commit. */
static bool fault_fires(cv_store *s)
{
	int n = atomic_load(&s->fault_deadlock);

	while (n > 0) {
		if (atomic_compare_exchange_weak(&s->fault_deadlock, &n, n - 1))
			return n == 1;
	}
	return false;
}

/* A short randomised pause so that transactions that deadlocked do not collide again
 * in lock step. Grows with the attempt number, at most ~20 ms. */
static void backoff(int attempt)
{
	unsigned max_us = 500u * (unsigned)(attempt < 40 ? attempt + 1 : 40);
	struct timespec ts = {0, 0};
	unsigned r;

	if (cv_random(&r, sizeof r) != CV_OK)
		r = (unsigned)attempt * 7919u;
	ts.tv_nsec = (long)(r % max_us) * 1000L;
	nanosleep(&ts, NULL);
}

cv_err cv_st_run(cv_store *s, cv_st_op op, void *ctx)
{
	cv_err e = CV_E_BUSY;
	DB_TXN *txn;
	int rc;

	for (int attempt = 0; attempt < ST_MAX_ATTEMPTS; attempt++) {
		if (attempt > 0) {
			atomic_fetch_add(&s->retries, 1);
			/* A lock held past the timeout may belong to a dead process. */
			if (e == ST_TIMEOUT && cv_store_failchk(s) == CV_E_RECOVER)
				return CV_E_RECOVER;
			backoff(attempt);
		}
		txn = NULL;
		rc = s->env->txn_begin(s->env, NULL, &txn, 0);
		if (rc != 0) {
			e = cv_st_dberr(rc);
			if (e == ST_RETRY || e == ST_TIMEOUT)
				continue;
			return e == CV_E_RECOVER ? e : CV_E_STORE;
		}
		e = op(s, txn, ctx);
		if (e == CV_OK) {
			cv_st_stall(s);
			if (fault_fires(s)) {
				txn->abort(txn);
				e = ST_RETRY;
				continue;
			}
			/* Group commit: the commit releases its locks without waiting for the
			 * disk, then the log is flushed before anyone is told CV_OK. Writers
			 * that commit while another process flushes are covered by one fsync
			 * instead of queueing one each behind the writers' lock. A failed
			 * commit has ended the transaction either way. */
			if (cv_st_replicated(s)) {
				/* Replicated: a synchronous commit, whose log record the replicas
				 * flush before they acknowledge it (REPCTL_FLUSH); the commit
				 * returns once a quorum did, or the wait failed (the event). */
				cv_st_cluster_commit_begin();
				rc = txn->commit(txn, 0);
				if (rc == 0)
					return cv_st_cluster_commit_durable() ? CV_OK
					                                      : CV_E_NOT_DURABLE;
				e = cv_st_dberr(rc);
				if (e != ST_RETRY && e != ST_TIMEOUT)
					return e;
				continue;
			}
			rc = txn->commit(txn, DB_TXN_NOSYNC);
			if (rc == 0) {
				rc = s->env->log_flush(s->env, NULL);
				return rc == 0                ? CV_OK
				       : rc == DB_RUNRECOVERY ? CV_E_RECOVER
				                              : CV_E_STORE;
			}
			e = cv_st_dberr(rc);
		} else {
			rc = txn->abort(txn);
			if (rc == DB_RUNRECOVERY)
				return CV_E_RECOVER;
			/* a write refused because this site became a replica (EACCES) */
			if (e == CV_E_STORE && cv_st_replicated(s) && !cv_st_cluster_is_master(s))
				return CV_E_NOT_MASTER;
		}
		if (e != ST_RETRY && e != ST_TIMEOUT)
			return e;
	}
	return CV_E_BUSY;
}

/* ---- records ---- */

static void dbt_in(DBT *d, const void *p, size_t n)
{
	memset(d, 0, sizeof *d);
	d->data = (void *)p;
	d->size = (uint32_t)n;
}

cv_err cv_st_get(cv_store *s, int db, DB_TXN *txn, const void *key, size_t klen, void **val,
                 size_t *len, uint32_t flags)
{
	DBT k, v;
	int rc;

	*val = NULL;
	*len = 0;
	dbt_in(&k, key, klen);
	memset(&v, 0, sizeof v);
	v.flags = DB_DBT_MALLOC;
	rc = s->db[db]->get(s->db[db], txn, &k, &v, flags);
	if (rc != 0)
		return cv_st_dberr(rc);
	*val = v.data;
	*len = v.size;
	return CV_OK;
}

cv_err cv_st_get_fixed(cv_store *s, int db, DB_TXN *txn, const void *key, size_t klen, void *val,
                       size_t len, uint32_t flags)
{
	DBT k, v;
	int rc;

	dbt_in(&k, key, klen);
	memset(&v, 0, sizeof v);
	v.data = val;
	v.ulen = (uint32_t)len;
	v.flags = DB_DBT_USERMEM;
	rc = s->db[db]->get(s->db[db], txn, &k, &v, flags);
	if (rc == DB_BUFFER_SMALL)
		return CV_E_STORE;
	if (rc != 0)
		return cv_st_dberr(rc);
	return v.size == len ? CV_OK : CV_E_STORE;
}

cv_err cv_st_exists(cv_store *s, int db, DB_TXN *txn, const void *key, size_t klen)
{
	DBT k, v;
	int rc;

	dbt_in(&k, key, klen);
	/* A partial get of zero bytes: only whether the key is there. */
	memset(&v, 0, sizeof v);
	v.flags = DB_DBT_PARTIAL | DB_DBT_USERMEM;
	rc = s->db[db]->get(s->db[db], txn, &k, &v, 0);
	return cv_st_dberr(rc);
}

cv_err cv_st_put(cv_store *s, int db, DB_TXN *txn, const void *key, size_t klen, const void *val,
                 size_t len, uint32_t flags)
{
	DBT k, v;

	dbt_in(&k, key, klen);
	dbt_in(&v, val, len);
	return cv_st_dberr(s->db[db]->put(s->db[db], txn, &k, &v, flags));
}

cv_err cv_st_del(cv_store *s, int db, DB_TXN *txn, const void *key, size_t klen)
{
	DBT k;

	dbt_in(&k, key, klen);
	return cv_st_dberr(s->db[db]->del(s->db[db], txn, &k, 0));
}

cv_err cv_st_scan(cv_store *s, int db, DB_TXN *txn, const void *prefix, size_t plen,
                  cv_st_scan_fn fn, void *ctx)
{
	DBC *c = NULL;
	DBT k, v;
	cv_err e;
	int rc;

	memset(&k, 0, sizeof k);
	memset(&v, 0, sizeof v);
	k.flags = DB_DBT_REALLOC;
	v.flags = DB_DBT_REALLOC;
	rc = s->db[db]->cursor(s->db[db], txn, &c, 0);
	if (rc != 0)
		return cv_st_dberr(rc);
	if (plen > 0) {
		k.data = malloc(plen);
		if (k.data == NULL) {
			e = CV_E_NOMEM;
			goto out;
		}
		memcpy(k.data, prefix, plen);
		k.size = (uint32_t)plen;
		rc = c->get(c, &k, &v, DB_SET_RANGE);
	} else {
		rc = c->get(c, &k, &v, DB_FIRST);
	}
	for (;;) {
		if (rc == DB_NOTFOUND) {
			e = CV_OK;
			break;
		}
		if (rc != 0) {
			e = cv_st_dberr(rc);
			break;
		}
		if (plen > 0 && (k.size < plen || memcmp(k.data, prefix, plen) != 0)) {
			e = CV_OK;
			break;
		}
		e = fn(ctx, k.data, k.size, v.data, v.size);
		if (e == ST_DELETE) {
			rc = c->del(c, 0);
			if (rc != 0) {
				e = cv_st_dberr(rc);
				break;
			}
			e = CV_OK;
		}
		if (e == ST_STOP) {
			e = CV_OK;
			break;
		}
		if (e != CV_OK)
			break;
		rc = c->get(c, &k, &v, DB_NEXT);
	}
out:
	if (c != NULL) {
		rc = c->close(c);
		if (rc != 0 && e == CV_OK)
			e = cv_st_dberr(rc);
	}
	free(k.data);
	free(v.data);
	return e;
}

static cv_err delete_each(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	(void)ctx;
	(void)k;
	(void)kl;
	(void)v;
	(void)vl;
	return ST_DELETE;
}

cv_err cv_st_del_prefix(cv_store *s, int db, DB_TXN *txn, const void *prefix, size_t plen)
{
	return cv_st_scan(s, db, txn, prefix, plen, delete_each, NULL);
}

/* ---- meta ---- */

cv_err cv_st_meta_u64(cv_store *s, DB_TXN *txn, const char *name, uint64_t *v)
{
	uint8_t b[8];
	cv_err e = cv_st_get_fixed(s, ST_META, txn, name, strlen(name), b, sizeof b, 0);

	*v = 0;
	if (e == CV_E_NOT_FOUND)
		return CV_OK;
	if (e == CV_OK)
		*v = cv_get_u64(b);
	return e;
}

cv_err cv_st_meta_put_u64(cv_store *s, DB_TXN *txn, const char *name, uint64_t v)
{
	uint8_t b[8];

	cv_put_u64(b, v);
	return cv_st_put(s, ST_META, txn, name, strlen(name), b, sizeof b, 0);
}

cv_err cv_st_meta_add(cv_store *s, DB_TXN *txn, const char *name, int64_t delta)
{
	uint64_t v;
	cv_err e = cv_st_meta_u64(s, txn, name, &v);

	if (e != CV_OK)
		return e;
	/* Counters never go below zero; a negative result would mean a bookkeeping bug. */
	if (delta < 0 && (uint64_t)-delta > v)
		return CV_E_INTERNAL;
	return cv_st_meta_put_u64(s, txn, name, v + (uint64_t)delta);
}

cv_err cv_st_state(cv_store *s, DB_TXN *txn, bool write, cv_state *state)
{
	uint8_t b;
	cv_err e = cv_st_get_fixed(s, ST_META, txn, "state", 5, &b, 1, write ? DB_RMW : 0);

	if (e != CV_OK)
		return e;
	if (b > CV_STATE_CLOSED)
		return CV_E_STORE;
	*state = (cv_state)b;
	return CV_OK;
}

cv_err cv_st_settings(cv_store *s, DB_TXN *txn, cv_settings *st)
{
	void *p;
	size_t n;
	cv_err e = cv_st_get(s, ST_META, txn, "settings", 8, &p, &n, 0);

	if (e != CV_OK)
		return e;
	e = cv_st_settings_decode(p, n, st);
	free(p);
	return e;
}

cv_err cv_st_tip_get(cv_store *s, DB_TXN *txn, cv_st_tip *tip)
{
	uint8_t b[8 + CV_HASH_LEN + CV_HEADER_LEN];
	cv_err e = cv_st_get_fixed(s, ST_META, txn, "tip", 3, b, sizeof b, 0);

	memset(tip, 0, sizeof *tip);
	if (e != CV_OK)
		return e;
	tip->height = cv_get_u64(b);
	memcpy(tip->hash, b + 8, CV_HASH_LEN);
	return cv_st_header_decode(b + 8 + CV_HASH_LEN, CV_HEADER_LEN, &tip->header);
}

bool cv_st_closed_by_clock(uint64_t closes, uint64_t now)
{
	return closes != 0 && now > closes;
}

cv_err cv_st_close_get(cv_store *s, DB_TXN *txn, uint64_t now, bool write, cv_st_close *c)
{
	cv_settings st;
	cv_err e;

	memset(c, 0, sizeof *c);
	if ((e = cv_st_state(s, txn, write, &c->state)) != CV_OK ||
	    (e = cv_st_settings(s, txn, &st)) != CV_OK ||
	    (e = cv_st_meta_u64(s, txn, "closed_at", &c->closed_at)) != CV_OK ||
	    (e = cv_st_meta_u64(s, txn, "seal_height", &c->seal_height)) != CV_OK ||
	    (e = cv_st_meta_u64(s, txn, "n_pending", &c->n_pending)) != CV_OK)
		return e;
	if (c->state != CV_STATE_SETUP && (e = cv_st_settings_in_force(s, txn, &st)) != CV_OK)
		return e;
	c->closes = st.election.closes;
	if (c->state == CV_STATE_CLOSED) {
		c->closed = true;
	} else if (c->state == CV_STATE_OPEN && cv_st_closed_by_clock(c->closes, now)) {
		/* the election closed by its clock: nothing was written, nothing needs to be */
		c->closed = true;
		c->closed_at = c->closes;
	}
	return CV_OK;
}

cv_err cv_st_tip_put(cv_store *s, DB_TXN *txn, const cv_st_tip *tip)
{
	uint8_t b[8 + CV_HASH_LEN + CV_HEADER_LEN];

	cv_put_u64(b, tip->height);
	memcpy(b + 8, tip->hash, CV_HASH_LEN);
	cv_header_encode(&tip->header, b + 8 + CV_HASH_LEN);
	return cv_st_put(s, ST_META, txn, "tip", 3, b, sizeof b, 0);
}

/* ---- encodings ---- */

/* A bounded reader over a stored record: any read past the end sets bad. */
typedef struct reader {
	const uint8_t *p;
	size_t n, off;
	bool bad;
} reader;

static const uint8_t *rd(reader *r, size_t n)
{
	const uint8_t *p;

	if (r->bad || r->n - r->off < n) {
		r->bad = true;
		return NULL;
	}
	p = r->p + r->off;
	r->off += n;
	return p;
}

static uint8_t rd_u8(reader *r)
{
	const uint8_t *p = rd(r, 1);
	return p ? p[0] : 0;
}

static uint32_t rd_u32(reader *r)
{
	const uint8_t *p = rd(r, 4);
	return p ? cv_get_u32(p) : 0;
}

static uint64_t rd_u64(reader *r)
{
	const uint8_t *p = rd(r, 8);
	return p ? cv_get_u64(p) : 0;
}

static void rd_copy(reader *r, void *out, size_t n)
{
	const uint8_t *p = rd(r, n);

	if (p)
		memcpy(out, p, n);
	else
		memset(out, 0, n);
}

/* text(s) into out[CV_TEXT_MAX + 1] */
static void rd_text(reader *r, char *out)
{
	const uint8_t *p = rd(r, 2);
	size_t len = p ? ((size_t)p[0] << 8 | p[1]) : 0;

	out[0] = '\0';
	if (len > CV_TEXT_MAX) {
		r->bad = true;
		return;
	}
	p = rd(r, len);
	if (p == NULL)
		return;
	memcpy(out, p, len);
	out[len] = '\0';
	if (strlen(out) != len)
		r->bad = true;
}

cv_err cv_st_text_decode(const uint8_t *p, size_t n, char *out)
{
	reader r = {p, n, 0, false};

	rd_text(&r, out);
	return r.bad || r.off != n ? CV_E_STORE : CV_OK;
}

cv_err cv_st_settings_encode(const cv_settings *st, cv_buf *b)
{
	cv_err e = cv_buf_text(b, st->election.title);

	if (e != CV_OK)
		return e;
	cv_buf_u8(b, st->election.threshold);
	cv_buf_u8(b, st->election.difficulty);
	cv_buf_u32(b, st->election.max_block_votes);
	cv_buf_u64(b, st->election.opens);
	cv_buf_u64(b, st->election.closes);
	cv_buf_u8(b, st->results_after_close ? 1 : 0);
	/* a secret election's record goes on; an open one's keeps its old bytes */
	if (st->secret) {
		cv_buf_u8(b, 1);
		cv_buf_u8(b, st->quorum);
	}
	return b->failed ? CV_E_NOMEM : CV_OK;
}

cv_err cv_st_settings_decode(const uint8_t *p, size_t n, cv_settings *st)
{
	reader r = {p, n, 0, false};

	memset(st, 0, sizeof *st);
	rd_text(&r, st->election.title);
	st->election.threshold = rd_u8(&r);
	st->election.difficulty = rd_u8(&r);
	st->election.max_block_votes = rd_u32(&r);
	st->election.opens = rd_u64(&r);
	st->election.closes = rd_u64(&r);
	st->results_after_close = rd_u8(&r) != 0;
	if (!r.bad && r.off < n) {
		st->secret = rd_u8(&r) == 1;
		st->quorum = rd_u8(&r);
		if (!st->secret)
			r.bad = true;
	}
	return r.bad || r.off != n ? CV_E_STORE : CV_OK;
}

cv_err cv_st_header_decode(const uint8_t *p, size_t n, cv_header *h)
{
	reader r = {p, n, 0, false};

	h->version = rd_u32(&r);
	h->height = rd_u64(&r);
	rd_copy(&r, h->prev_hash, CV_HASH_LEN);
	rd_copy(&r, h->merkle_root, CV_HASH_LEN);
	h->timestamp = rd_u64(&r);
	h->difficulty = rd_u32(&r);
	h->nonce = rd_u64(&r);
	return r.bad || r.off != n ? CV_E_STORE : CV_OK;
}

static void vote_read(reader *r, cv_vote *v)
{
	const uint8_t *tag = rd(r, strlen(CV_TAG_VOTE));

	if (tag != NULL && memcmp(tag, CV_TAG_VOTE, strlen(CV_TAG_VOTE)) != 0)
		r->bad = true;
	rd_copy(r, v->election_id, CV_HASH_LEN);
	rd_copy(r, v->voter_key, CV_KEY_LEN);
	v->candidate_id = rd_u32(r);
	v->timestamp = rd_u64(r);
	rd_copy(r, v->signature, CV_SIG_LEN);
}

cv_err cv_st_vote_decode(const uint8_t *p, size_t n, cv_vote *v)
{
	reader r = {p, n, 0, false};

	vote_read(&r, v);
	return r.bad || r.off != n ? CV_E_STORE : CV_OK;
}

/* A secret election's block (DESIGN section 6) keeps its leaves as they are hashed:
 * after the hash, u32 ST_SECRET_MARK (a vote count no block can have), then u32 n ||
 * n × (u32 len || ballot leaf) and u32 m || m × (u32 len || decryption leaf). An open
 * election's record has the vote count there, so its bytes are what they always were. */
#define ST_SECRET_MARK UINT32_MAX

static cv_err secret_leaves_encode(const cv_block *b, cv_buf *out)
{
	cv_buf leaf = {0};
	cv_err e = CV_OK;

	cv_buf_u32(out, ST_SECRET_MARK);
	cv_buf_u32(out, (uint32_t)b->n_ballots);
	for (size_t i = 0; e == CV_OK && i < b->n_ballots; i++) {
		cv_buf_reset(&leaf);
		if ((e = cv_ballot_leaf(&b->ballots[i], &leaf)) == CV_OK) {
			cv_buf_u32(out, (uint32_t)leaf.len);
			cv_buf_put(out, leaf.data, leaf.len);
		}
	}
	cv_buf_u32(out, (uint32_t)b->n_decryptions);
	for (size_t i = 0; e == CV_OK && i < b->n_decryptions; i++) {
		cv_buf_reset(&leaf);
		if ((e = cv_decryption_leaf(&b->decryptions[i], &leaf)) == CV_OK) {
			cv_buf_u32(out, (uint32_t)leaf.len);
			cv_buf_put(out, leaf.data, leaf.len);
		}
	}
	cv_buf_free(&leaf);
	return e != CV_OK ? e : out->failed ? CV_E_NOMEM : CV_OK;
}

/* The leaves secret_leaves_encode wrote, after the mark; each count is bounded by the
 * bytes left before anything is allocated. */
static cv_err secret_leaves_decode(reader *r, cv_block *b)
{
	uint32_t n, len;
	const uint8_t *p;

	b->secret = true;
	n = rd_u32(r);
	if (r->bad || n > (r->n - r->off) / 4)
		return CV_E_STORE;
	if (n > 0 && (b->ballots = calloc(n, sizeof *b->ballots)) == NULL)
		return CV_E_NOMEM;
	for (uint32_t i = 0; i < n; i++) {
		len = rd_u32(r);
		if ((p = rd(r, len)) == NULL ||
		    cv_ballot_from_leaf(p, len, &b->ballots[i]) != CV_OK)
			return CV_E_STORE;
		b->n_ballots = i + 1;
	}
	n = rd_u32(r);
	if (r->bad || n > (r->n - r->off) / 4)
		return CV_E_STORE;
	if (n > 0 && (b->decryptions = calloc(n, sizeof *b->decryptions)) == NULL)
		return CV_E_NOMEM;
	for (uint32_t i = 0; i < n; i++) {
		len = rd_u32(r);
		if ((p = rd(r, len)) == NULL ||
		    cv_decryption_from_leaf(p, len, &b->decryptions[i]) != CV_OK)
			return CV_E_STORE;
		b->n_decryptions = i + 1;
	}
	return CV_OK;
}

cv_err cv_st_block_encode(const cv_block *b, cv_buf *out)
{
	uint8_t hdr[CV_HEADER_LEN], leaf[CV_LEAF_LEN];

	cv_header_encode(&b->header, hdr);
	cv_buf_put(out, hdr, sizeof hdr);
	cv_buf_put(out, b->hash, CV_HASH_LEN);
	if (b->secret) {
		cv_err e = secret_leaves_encode(b, out);

		if (e != CV_OK)
			return e;
	} else {
		cv_buf_u32(out, (uint32_t)b->n_votes);
		for (size_t i = 0; i < b->n_votes; i++) {
			cv_vote_leaf(&b->votes[i], leaf);
			cv_buf_put(out, leaf, sizeof leaf);
		}
	}
	cv_buf_u32(out, (uint32_t)b->n_approvals);
	for (size_t i = 0; i < b->n_approvals; i++) {
		cv_buf_put(out, b->approvals[i].validator_key, CV_KEY_LEN);
		cv_buf_put(out, b->approvals[i].signature, CV_SIG_LEN);
	}
	if (b->has_seal) {
		uint8_t seal[CV_SEAL_LEN];

		cv_seal_leaf(&b->seal, seal);
		cv_buf_put(out, seal, sizeof seal);
	}
	if (b->change != NULL) {
		cv_err e = cv_change_leaf(b->change, out);

		if (e != CV_OK)
			return e;
	}
	return out->failed ? CV_E_NOMEM : CV_OK;
}

cv_err cv_st_block_decode(const uint8_t *p, size_t n, cv_block *b)
{
	reader r = {p, n, 0, false};
	const uint8_t *hdr;
	uint32_t nv, na;
	cv_err e = CV_E_STORE;

	memset(b, 0, sizeof *b);
	hdr = rd(&r, CV_HEADER_LEN);
	if (hdr == NULL || cv_st_header_decode(hdr, CV_HEADER_LEN, &b->header) != CV_OK)
		goto err;
	rd_copy(&r, b->hash, CV_HASH_LEN);
	nv = rd_u32(&r);
	if (!r.bad && nv == ST_SECRET_MARK) {
		if ((e = secret_leaves_decode(&r, b)) != CV_OK)
			goto err;
		nv = 0;
		e = CV_E_STORE;
	}
	/* Bounded by the record's size before any allocation. */
	if (r.bad || nv > (r.n - r.off) / CV_LEAF_LEN)
		goto err;
	if (nv > 0) {
		b->votes = calloc(nv, sizeof *b->votes);
		if (b->votes == NULL) {
			e = CV_E_NOMEM;
			goto err;
		}
	}
	b->n_votes = nv;
	for (uint32_t i = 0; i < nv; i++)
		vote_read(&r, &b->votes[i]);
	na = rd_u32(&r);
	if (r.bad || na > (r.n - r.off) / (CV_KEY_LEN + CV_SIG_LEN))
		goto err;
	if (na > 0) {
		b->approvals = calloc(na, sizeof *b->approvals);
		if (b->approvals == NULL) {
			e = CV_E_NOMEM;
			goto err;
		}
	}
	b->n_approvals = na;
	for (uint32_t i = 0; i < na; i++) {
		rd_copy(&r, b->approvals[i].validator_key, CV_KEY_LEN);
		rd_copy(&r, b->approvals[i].signature, CV_SIG_LEN);
	}
	if (!r.bad && n - r.off == CV_SEAL_LEN) {
		const uint8_t *leaf = rd(&r, CV_SEAL_LEN);

		if (memcmp(leaf, CV_TAG_SEAL, 16) != 0)
			goto err;
		b->has_seal = true;
		memcpy(b->seal.election_id, leaf + 16, CV_HASH_LEN);
		b->seal.closed_at = cv_get_u64(leaf + 16 + CV_HASH_LEN);
	}
	/* a change block's leaf is the rest of the record, after its approvals */
	if (!r.bad && n - r.off > strlen(CV_TAG_CHANGE) &&
	    memcmp(p + r.off, CV_TAG_CHANGE, strlen(CV_TAG_CHANGE)) == 0) {
		if ((b->change = calloc(1, sizeof *b->change)) == NULL) {
			e = CV_E_NOMEM;
			goto err;
		}
		if ((e = cv_change_from_leaf(p + r.off, n - r.off, b->change)) != CV_OK) {
			e = e == CV_E_NOMEM ? e : CV_E_STORE;
			goto err;
		}
		r.off = n;
	}
	if (r.bad || r.off != n)
		goto err;
	return CV_OK;
err:
	cv_block_free(b);
	return e;
}

/* ---- the genesis from the setup databases ---- */

typedef struct load_ctx {
	cv_genesis *g;
	size_t cap;
	cv_err bad;
} load_ctx;

static bool grow(void **arr, size_t *cap, size_t n, size_t size)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return true;
	ncap = *cap ? *cap * 2 : 16;
	p = realloc(*arr, ncap * size);
	if (p == NULL)
		return false;
	*arr = p;
	*cap = ncap;
	return true;
}

static cv_err load_candidate(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	load_ctx *l = ctx;
	cv_candidate *c;

	if (kl != 4 || vl > CV_TEXT_MAX)
		return CV_E_STORE;
	if (!grow((void **)&l->g->candidates, &l->cap, l->g->n_candidates, sizeof *c))
		return CV_E_NOMEM;
	c = &l->g->candidates[l->g->n_candidates++];
	c->id = cv_get_u32(k);
	memcpy(c->name, v, vl);
	c->name[vl] = '\0';
	return CV_OK;
}

static cv_err load_validator(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	load_ctx *l = ctx;
	cv_validator *val;

	if (kl != CV_KEY_LEN || vl > CV_TEXT_MAX)
		return CV_E_STORE;
	if (!grow((void **)&l->g->validators, &l->cap, l->g->n_validators, sizeof *val))
		return CV_E_NOMEM;
	val = &l->g->validators[l->g->n_validators++];
	memcpy(val->key, k, CV_KEY_LEN);
	memcpy(val->name, v, vl);
	val->name[vl] = '\0';
	return CV_OK;
}

static cv_err load_voter(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	load_ctx *l = ctx;

	(void)v;
	(void)vl;
	if (kl != CV_KEY_LEN)
		return CV_E_STORE;
	if (!grow((void **)&l->g->voters, &l->cap, l->g->n_voters, CV_KEY_LEN))
		return CV_E_NOMEM;
	memcpy(l->g->voters[l->g->n_voters++], k, CV_KEY_LEN);
	return CV_OK;
}

cv_err cv_st_load_genesis(cv_store *s, DB_TXN *txn, bool with_voters, cv_genesis *g)
{
	cv_settings st;
	load_ctx l = {g, 0, CV_OK};
	cv_err e;

	memset(g, 0, sizeof *g);
	e = cv_st_settings(s, txn, &st);
	if (e != CV_OK)
		goto err;
	g->election = st.election;
	e = cv_st_scan(s, ST_CANDIDATES, txn, NULL, 0, load_candidate, &l);
	if (e != CV_OK)
		goto err;
	l.cap = 0;
	e = cv_st_scan(s, ST_VALIDATORS, txn, NULL, 0, load_validator, &l);
	if (e != CV_OK)
		goto err;
	l.cap = 0;
	if (with_voters) {
		e = cv_st_scan(s, ST_ROLL, txn, NULL, 0, load_voter, &l);
		if (e != CV_OK)
			goto err;
	}
	if (st.secret) {
		/* a secret election's genesis: the secrecy entry and the trustee entries
		 * of its key ceremony, in key order (once open, frozen as the rest) */
		if ((g->secrecy = calloc(1, sizeof *g->secrecy)) == NULL) {
			e = CV_E_NOMEM;
			goto err;
		}
		e = cv_st_ceremony_entries(s, txn, st.quorum, g->secrecy);
		if (e != CV_OK)
			goto err;
	}
	return CV_OK;
err:
	cv_genesis_free(g);
	return e;
}

/* ---- the rules' view ---- */

typedef struct cache_ctx {
	cv_state state;
	cv_genesis g;
	uint8_t id[CV_HASH_LEN];
	uint64_t ts;
} cache_ctx;

static cv_err load_cache(cv_store *s, DB_TXN *txn, void *ctx)
{
	cache_ctx *c = ctx;
	uint8_t b[CV_HASH_LEN + 8];
	cv_err e;

	cv_genesis_free(&c->g);
	e = cv_st_state(s, txn, false, &c->state);
	if (e != CV_OK || c->state == CV_STATE_SETUP)
		return e;
	e = cv_st_get_fixed(s, ST_META, txn, "genesis", 7, b, sizeof b, 0);
	if (e != CV_OK)
		return e == CV_E_NOT_FOUND ? CV_E_STORE : e;
	memcpy(c->id, b, CV_HASH_LEN);
	c->ts = cv_get_u64(b + CV_HASH_LEN);
	return cv_st_load_genesis(s, txn, false, &c->g);
}

/* The cached genesis, loaded on first need once the election is open. */
static cv_err genesis_cached(cv_store *s)
{
	uint8_t(*keys)[CV_POINT_LEN] = NULL;
	uint8_t K[CV_POINT_LEN];
	cache_ctx c;
	cv_err e;

	pthread_mutex_lock(&s->lock);
	if (s->have_genesis) {
		pthread_mutex_unlock(&s->lock);
		return CV_OK;
	}
	pthread_mutex_unlock(&s->lock);
	memset(&c, 0, sizeof c);
	e = cv_st_run(s, load_cache, &c);
	if (e == CV_E_NOT_FOUND)
		e = CV_E_BAD_STATE;
	if (e == CV_OK && c.state == CV_STATE_SETUP)
		e = CV_E_BAD_STATE;
	if (e != CV_OK) {
		cv_genesis_free(&c.g);
		return e;
	}
	/* a secret election's K and every K_j, derived once: every ballot and share is
	 * checked against them */
	if (c.g.secrecy != NULL) {
		size_t n = c.g.secrecy->n_trustees;

		if ((keys = calloc(n ? n : 1, CV_POINT_LEN)) == NULL) {
			cv_genesis_free(&c.g);
			return CV_E_NOMEM;
		}
		if (cv_election_key(c.g.secrecy, K) != CV_OK)
			memcpy(K, CV_POINT_O, CV_POINT_LEN);
		for (size_t j = 0; j < n; j++)
			if (cv_trustee_key(c.g.secrecy, j + 1, keys[j]) != CV_OK)
				memcpy(keys[j], CV_POINT_O, CV_POINT_LEN);
	}
	pthread_mutex_lock(&s->lock);
	if (!s->have_genesis) {
		memcpy(s->election_key, K, CV_POINT_LEN);
		s->trustee_keys = keys;
		keys = NULL;
		s->genesis = c.g;
		memcpy(s->election_id, c.id, CV_HASH_LEN);
		s->genesis_ts = c.ts;
		s->have_genesis = true;
	} else {
		cv_genesis_free(&c.g);
	}
	pthread_mutex_unlock(&s->lock);
	free(keys);
	return CV_OK;
}

static cv_err roll_op(cv_store *s, DB_TXN *txn, void *ctx)
{
	return cv_st_exists(s, ST_ROLL, txn, ctx, CV_KEY_LEN);
}

static int view_on_roll(void *ctx, const uint8_t key[CV_KEY_LEN])
{
	cv_err e = cv_st_run(ctx, roll_op, (void *)key);

	if (e == CV_OK)
		return 1;
	return e == CV_E_NOT_FOUND ? 0 : -(int)e;
}

int cv_st_has_voted_txn(cv_store *s, DB_TXN *txn, const uint8_t key[CV_KEY_LEN])
{
	uint8_t txid[CV_HASH_LEN];
	bool committed;
	void *loc;
	size_t n;
	cv_err e;

	e = cv_st_get_fixed(s, ST_VOTED, txn, key, CV_KEY_LEN, txid, sizeof txid, 0);
	if (e == CV_E_NOT_FOUND)
		return 0;
	if (e != CV_OK)
		return -(int)e;
	e = cv_st_get(s, ST_TXS, txn, txid, CV_HASH_LEN, &loc, &n, 0);
	if (e != CV_OK)
		return -(int)(e == CV_E_NOT_FOUND ? CV_E_STORE : e);
	committed = n > 0 && ((uint8_t *)loc)[0] == 1;
	free(loc);
	return committed ? 1 : 0;
}

typedef struct voted_ctx {
	const uint8_t *key;
	int result;
} voted_ctx;

static cv_err voted_op(cv_store *s, DB_TXN *txn, void *ctx)
{
	voted_ctx *v = ctx;

	v->result = cv_st_has_voted_txn(s, txn, v->key);
	return v->result < 0 ? (cv_err)-v->result : CV_OK;
}

static int view_has_voted(void *ctx, const uint8_t key[CV_KEY_LEN])
{
	voted_ctx v = {key, 0};
	cv_err e = cv_st_run(ctx, voted_op, &v);

	return e == CV_OK ? v.result : -(int)e;
}

static cv_err view_with(cv_store *s, bool recent, cv_view *v)
{
	const cv_params *params = NULL;
	cv_err e = genesis_cached(s);

	memset(v, 0, sizeof *v);
	if (e == CV_OK)
		e = recent ? cv_st_params_recent(s, &params) : cv_st_params(s, &params);
	if (e != CV_OK)
		return e;
	/* every rule reads the parameters in force (docs/GOVERNANCE.md) */
	v->genesis = &params->genesis;
	v->params = params;
	memcpy(v->election_id, s->election_id, CV_HASH_LEN);
	v->genesis_timestamp = s->genesis_ts;
	v->ctx = s;
	v->on_roll = view_on_roll;
	v->has_voted = view_has_voted;
	return CV_OK;
}

cv_err cv_st_view(cv_store *s, cv_view *v)
{
	return view_with(s, false, v);
}

cv_err cv_st_view_recent(cv_store *s, cv_view *v)
{
	return view_with(s, true, v);
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
	if (cv_st_env_at_rest(env, dir, passwd) != CV_OK || env_config(env) != CV_OK) {
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
	if (e == CV_OK && passwd[0] != '\0' && !key_opens(dir, passwd)) {
		fprintf(stderr, "chainvote store: the key %s does not open the store in %s\n",
		        key_path, dir);
		e = CV_E_STORE_KEY;
	}
	if (e == CV_OK)
		e = recover_with(dir, passwd, keep_regions);
	explicit_bzero(passwd, sizeof passwd);
	return e == CV_E_NOT_FOUND ? CV_E_STORE_KEY : e;
}

static cv_err recover_with(const char *dir, const char *passwd, bool keep_regions)
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
	if ((e = cv_st_env_at_rest(env, dir, passwd)) != CV_OK || (e = env_config(env)) != CV_OK) {
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
		remove_regions(dir, passwd);
		(void)unlink(path);
	}
	return rc == 0 ? CV_OK : rc == EINVAL || rc == EPERM ? CV_E_STORE_KEY : CV_E_STORE;
}
