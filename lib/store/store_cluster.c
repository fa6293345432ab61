/* Replication: an election environment that is one site of a Berkeley DB replication
 * group run by the replication manager (repmgr). The node's configuration file
 * (CV_CLUSTER_CONF in the environment directory) names the sites; every process that
 * opens the environment joins the group, one of them (`chainvote replicate`) as the
 * site's replication process. Durability across machines is Berkeley DB's: the
 * commit's log record is acknowledged by a quorum of the electable sites
 * (DB_REPMGR_ACKS_QUORUM) or the commit thread is told DB_EVENT_REP_PERM_FAILED, which
 * cv_st_run turns into CV_E_NOT_DURABLE. The timeouts below are the ones
 * docs/ARCHITECTURE.md ("Past one machine") explains. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/file.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store_impl.h"

/* Election and failure detection (microseconds). A replica that hears nothing from the
 * master (no log record, no heartbeat) for HEARTBEAT_MONITOR calls an election; a
 * killed master's connections close at once, so its replicas elect without waiting for
 * that. An election waits ELECTION_TIMEOUT for votes, and a failed one is retried after
 * ELECTION_RETRY. A commit waits at most ACK_TIMEOUT for its acknowledgements. */
#define CL_ACK_TIMEOUT       1000000u
#define CL_ELECTION_TIMEOUT  2000000u
#define CL_ELECTION_RETRY    1000000u
#define CL_CONNECTION_RETRY  1000000u
#define CL_HEARTBEAT_SEND    500000u
#define CL_HEARTBEAT_MONITOR 2500000u
#define CL_DEFAULT_PRIORITY  100u
#define CL_MAX_PRIORITY      1000u
/* The replication process's message threads (it applies the master's log with them). */
#define CL_MESSAGE_THREADS 3
/* A subordinate process of the master waits this long at open for its connections to
 * the other sites, so that its first commits are not refused for want of them. */
#define CL_CONNECT_WAIT_MS 2000
/* A worker waits this long for the replication process (back after a recovery). */
#define CL_LISTENER_WAIT_MS 10000

static void sleep_ms(long ms);

/* Set by the event callback in the thread whose commit's acknowledgements failed
 * (repmgr fires DB_EVENT_REP_PERM_FAILED in the committing thread, in whichever process
 * committed, before the commit returns). */
static _Thread_local bool perm_failed;

static void on_event(DB_ENV *env, u_int32_t event, void *info)
{
	(void)env;
	(void)info;
	if (event == DB_EVENT_REP_PERM_FAILED)
		perm_failed = true;
}

void cv_st_cluster_commit_begin(void)
{
	perm_failed = false;
}

bool cv_st_cluster_commit_durable(void)
{
	return !perm_failed;
}

void cv_st_cluster_free(cv_cluster_conf *c)
{
	if (c == NULL)
		return;
	if (c->lock_fd >= 0)
		close(c->lock_fd);
	free(c);
}

bool cv_st_checkpoints(const cv_store *s)
{
	const cv_store *root = s->root != NULL ? s->root : s;

	return root->cluster == NULL || root->cluster->replication_process;
}

bool cv_st_replicated(const cv_store *s)
{
	const cv_store *root = s->root != NULL ? s->root : s;

	return root->cluster != NULL;
}

/* A decimal number in [0, max] and nothing else. */
static bool parse_number(const char *text, unsigned long max, unsigned long *out)
{
	char *end = NULL;

	if (text[0] < '0' || text[0] > '9' || strlen(text) > 7)
		return false;
	errno = 0;
	*out = strtoul(text, &end, 10);
	return errno == 0 && *end == '\0' && *out <= max;
}

/* "HOST:PORT" into site (host at most 63 bytes, port 1-65535). */
static bool parse_address(const char *text, cv_cluster_site *site)
{
	const char *colon = strrchr(text, ':');
	unsigned long port;

	if (colon == NULL || colon == text || (size_t)(colon - text) >= sizeof site->host)
		return false;
	if (!parse_number(colon + 1, 65535, &port) || port == 0)
		return false;
	memcpy(site->host, text, (size_t)(colon - text));
	site->host[colon - text] = '\0';
	site->port = (unsigned)port;
	return true;
}

static bool parse_site(char *rest, cv_cluster_site *site)
{
	char *save = NULL;
	char *addr = strtok_r(rest, " \t", &save);
	char *url = strtok_r(NULL, " \t", &save);

	if (addr == NULL || url == NULL || strtok_r(NULL, " \t", &save) != NULL)
		return false;
	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
		return false;
	if (strlen(url) >= sizeof site->url)
		return false;
	memset(site, 0, sizeof *site);
	snprintf(site->url, sizeof site->url, "%s", url);
	/* no trailing slash: paths are appended to it */
	while (site->url[0] != '\0' && site->url[strlen(site->url) - 1] == '/')
		site->url[strlen(site->url) - 1] = '\0';
	return parse_address(addr, site);
}

cv_err cv_cluster_conf_read(const char *path, cv_cluster_conf *c, unsigned *line)
{
	char buf[512];
	bool have_self = false;
	FILE *f;

	memset(c, 0, sizeof *c);
	c->priority = CL_DEFAULT_PRIORITY;
	*line = 0;
	f = fopen(path, "r");
	if (f == NULL)
		return errno == ENOENT ? CV_E_NOT_FOUND : CV_E_IO;
	while (fgets(buf, sizeof buf, f) != NULL) {
		char *save = NULL, *word, *rest, *hash = strchr(buf, '#');
		bool ok = true;

		(*line)++;
		if (strchr(buf, '\n') == NULL && !feof(f))
			goto bad; /* a line longer than the buffer */
		if (hash != NULL)
			*hash = '\0';
		buf[strcspn(buf, "\r\n")] = '\0';
		word = strtok_r(buf, " \t", &save);
		if (word == NULL)
			continue;
		rest = strtok_r(NULL, "", &save);
		if (strcmp(word, "self") == 0) {
			ok = !have_self && rest != NULL && parse_site(rest, &c->self);
			have_self = true;
		} else if (strcmp(word, "peer") == 0) {
			ok = rest != NULL && c->n_peers < CV_CLUSTER_MAX_SITES - 1 &&
			     parse_site(rest, &c->peers[c->n_peers]);
			c->n_peers++;
		} else if (strcmp(word, "priority") == 0) {
			unsigned long p = 0;

			ok = rest != NULL && parse_number(rest, CL_MAX_PRIORITY, &p);
			c->priority = ok ? (unsigned)p : 0;
		} else if (strcmp(word, "creator") == 0) {
			ok = rest == NULL;
			c->creator = true;
		} else {
			ok = false;
		}
		if (!ok)
			goto bad;
	}
	fclose(f);
	if (!have_self) {
		(*line)++;
		return CV_E_MALFORMED;
	}
	*line = 0;
	return CV_OK;
bad:
	fclose(f);
	return CV_E_MALFORMED;
}

u_int32_t cv_st_cluster_open_flags(const char *dir)
{
	char path[4096];

	if (snprintf(path, sizeof path, "%s/%s", dir, CV_CLUSTER_CONF) >= (int)sizeof path)
		return 0;
	return access(path, F_OK) == 0 ? DB_INIT_REP : 0;
}

static int add_site(DB_ENV *env, const cv_cluster_site *site, u_int32_t which, int on)
{
	DB_SITE *handle = NULL;
	int rc = env->repmgr_site(env, site->host, site->port, &handle, 0);

	if (rc != 0)
		return rc;
	if (which != 0)
		rc = handle->set_config(handle, which, (u_int32_t)on);
	handle->close(handle);
	return rc;
}

/* The site's settings: every process sets the same ones (Berkeley DB keeps them in the
 * shared region; a later process may only repeat them). */
static int configure(DB_ENV *env, const cv_cluster_conf *c)
{
	DB_SITE *local = NULL;
	int rc;

	/* CV_REPLICATION_VERBOSE=1: repmgr's own account of connections, elections and
	 * acknowledgements in the processes' logs (for diagnosing a group) */
	if (getenv("CV_REPLICATION_VERBOSE") != NULL) {
		(void)env->set_verbose(env, DB_VERB_REPMGR_CONNFAIL, 1);
		(void)env->set_verbose(env, DB_VERB_REPMGR_MISC, 1);
	}
	if ((rc = env->set_event_notify(env, on_event)) != 0 ||
	    (rc = env->repmgr_set_ack_policy(env, DB_REPMGR_ACKS_QUORUM)) != 0 ||
	    (rc = env->rep_set_priority(env, c->priority)) != 0 ||
	    (rc = env->rep_set_timeout(env, DB_REP_ACK_TIMEOUT, CL_ACK_TIMEOUT)) != 0 ||
	    (rc = env->rep_set_timeout(env, DB_REP_ELECTION_TIMEOUT, CL_ELECTION_TIMEOUT)) != 0 ||
	    (rc = env->rep_set_timeout(env, DB_REP_ELECTION_RETRY, CL_ELECTION_RETRY)) != 0 ||
	    (rc = env->rep_set_timeout(env, DB_REP_CONNECTION_RETRY, CL_CONNECTION_RETRY)) != 0 ||
	    (rc = env->rep_set_timeout(env, DB_REP_HEARTBEAT_SEND, CL_HEARTBEAT_SEND)) != 0 ||
	    (rc = env->rep_set_timeout(env, DB_REP_HEARTBEAT_MONITOR, CL_HEARTBEAT_MONITOR)) != 0 ||
	    /* a master's checkpoint would otherwise hold the checkpoint mutex 30 s (time
	     * for the replicas to flush their caches) while every checkpointing process
	     * queued behind it */
	    (rc = env->rep_set_timeout(env, DB_REP_CHECKPOINT_DELAY, 0)) != 0 ||
	    /* two sites: neither may call itself master alone (no split brain) */
	    (rc = env->rep_set_config(env, DB_REPMGR_CONF_2SITE_STRICT, 1)) != 0)
		return rc;
	if ((rc = env->repmgr_site(env, c->self.host, c->self.port, &local, 0)) != 0)
		return rc;
	rc = local->set_config(local, DB_LOCAL_SITE, 1);
	if (rc == 0 && c->creator)
		rc = local->set_config(local, DB_GROUP_CREATOR, 1);
	local->close(local);
	for (size_t i = 0; rc == 0 && i < c->n_peers; i++)
		rc = add_site(env, &c->peers[i], DB_BOOTSTRAP_HELPER, 1);
	return rc;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* How many other sites this process is connected to. */
static size_t connected_sites(DB_ENV *env)
{
	DB_REPMGR_SITE *list = NULL;
	u_int n = 0;
	size_t connected = 0;

	if (env->repmgr_site_list(env, &n, &list) != 0)
		return 0;
	for (u_int i = 0; i < n; i++)
		if (list[i].status == DB_REPMGR_CONNECTED)
			connected++;
	free(list);
	return connected;
}

/* The replication process holds this file locked for as long as it runs. */
#define CL_LOCK "replication.lock"

static int lock_path(const char *dir, char *path, size_t n)
{
	return snprintf(path, n, "%s/%s", dir, CL_LOCK) < (int)n ? 0 : -1;
}

static bool replication_process_runs(const char *dir)
{
	char path[4096];
	bool runs = false;
	int fd;

	if (lock_path(dir, path, sizeof path) != 0 || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	if (flock(fd, LOCK_SH | LOCK_NB) != 0)
		runs = errno == EWOULDBLOCK;
	close(fd);
	return runs;
}

/* Taken once this process is the listener; the descriptor stays open (and the lock
 * held) until the process exits. */
static cv_err hold_replication_lock(const char *dir, cv_cluster_conf *c)
{
	char path[4096];
	int fd;

	if (lock_path(dir, path, sizeof path) != 0 ||
	    (fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return CV_E_IO;
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		close(fd);
		fprintf(stderr, "store: %s: another replication process runs\n", dir);
		return CV_E_BUSY;
	}
	c->lock_fd = fd; /* closed with the handle (cv_st_cluster_free) */
	return CV_OK;
}

cv_err cv_st_cluster_join(cv_store *s, const char *dir, unsigned flags)
{
	char path[4096];
	cv_cluster_conf *c;
	unsigned line;
	DB_REP_STAT *st = NULL;
	sigset_t all, before;
	cv_err e;
	int rc;

	if (cv_st_cluster_open_flags(dir) == 0)
		return CV_OK;
	if (snprintf(path, sizeof path, "%s/%s", dir, CV_CLUSTER_CONF) >= (int)sizeof path)
		return CV_E_IO;
	c = calloc(1, sizeof *c);
	if (c == NULL)
		return CV_E_NOMEM;
	if ((e = cv_cluster_conf_read(path, c, &line)) != CV_OK) {
		fprintf(stderr, "store: %s: %s at line %u\n", path, cv_err_code(e), line);
		free(c);
		return e;
	}
	c->lock_fd = -1;
	s->cluster = c;
	c->replication_process = (flags & CV_STORE_REPLICATION) != 0;
	if ((rc = configure(s->env, c)) != 0)
		return cv_st_dberr(rc);
	/* The first process to start repmgr listens on the site's port and runs the
	 * elections; every later one is subordinate (DB_REP_IGNORE) and only ships its own
	 * commits. The replication process must be that first one, so another process
	 * starts repmgr only while the replication process runs (it holds
	 * CL_LOCK); without it, a process works on the local environment alone, and a
	 * commit it makes on a master is never acknowledged (CV_E_NOT_DURABLE). */
	for (int waited = 0; (flags & CV_STORE_WAIT_REPLICATION) && waited < CL_LISTENER_WAIT_MS &&
	                     !replication_process_runs(dir);
	     waited += 50)
		sleep_ms(50);
	if (!(flags & CV_STORE_REPLICATION) && !replication_process_runs(dir))
		return CV_OK;
	/* repmgr's threads (and those they start) inherit this mask: signals meant for the
	 * process (a worker's SIGTERM that must interrupt its accept) reach its own thread */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &before);
	rc = s->env->repmgr_start(s->env, (flags & CV_STORE_REPLICATION) ? CL_MESSAGE_THREADS : 0,
	                          DB_REP_ELECTION);
	pthread_sigmask(SIG_SETMASK, &before, NULL);
	if (rc != 0 && rc != DB_REP_IGNORE) {
		fprintf(stderr, "store: %s: repmgr_start: %s\n", dir, db_strerror(rc));
		return cv_st_dberr(rc);
	}
	if ((flags & CV_STORE_REPLICATION) && (e = hold_replication_lock(dir, c)) != CV_OK)
		return e;
	if (!(flags & CV_STORE_REPLICATION) && s->env->rep_stat(s->env, &st, 0) == 0) {
		bool master = st->st_status == DB_REP_MASTER;

		free(st);
		for (int waited = 0; master && waited < CL_CONNECT_WAIT_MS; waited += 20) {
			if (connected_sites(s->env) * 2 >= c->n_peers)
				break;
			sleep_ms(20);
		}
	}
	return CV_OK;
}

/* The configured site (self or a peer) at host:port, for its URL. */
static const cv_cluster_site *conf_site(const cv_cluster_conf *c, const char *host, unsigned port)
{
	if (strcmp(c->self.host, host) == 0 && c->self.port == port)
		return &c->self;
	for (size_t i = 0; i < c->n_peers; i++)
		if (strcmp(c->peers[i].host, host) == 0 && c->peers[i].port == port)
			return &c->peers[i];
	return NULL;
}

/* The URL of the site at host:port into url (n bytes; "" when unknown): from the
 * configuration this process read at its open, else from the file as it is now. A site
 * added to the running group (tools/cluster.sh add) is named in the other nodes' files
 * only after it joined, so processes that opened the store before learn its URL here,
 * with no restart. The file is read again only for a site the first lookup missed. */
static void site_url(const char *dir, const cv_cluster_conf *c, const char *host, unsigned port,
                     char *url, size_t n)
{
	const cv_cluster_site *known = conf_site(c, host, port);
	cv_cluster_conf *now;
	char path[4096];
	unsigned line;

	url[0] = '\0';
	if (known != NULL) {
		snprintf(url, n, "%s", known->url);
		return;
	}
	if (snprintf(path, sizeof path, "%s/%s", dir, CV_CLUSTER_CONF) >= (int)sizeof path ||
	    (now = calloc(1, sizeof *now)) == NULL)
		return;
	if (cv_cluster_conf_read(path, now, &line) == CV_OK &&
	    (known = conf_site(now, host, port)) != NULL)
		snprintf(url, n, "%s", known->url);
	free(now);
}

cv_err cv_store_cluster_info(cv_store *s, cv_cluster_info *out)
{
	const cv_store *root = s->root != NULL ? s->root : s;
	const cv_cluster_conf *c = root->cluster;
	DB_REP_STAT *st = NULL;
	DB_LOG_STAT *ls = NULL;
	DB_REPMGR_SITE *list = NULL;
	u_int n = 0;
	int rc;

	memset(out, 0, sizeof *out);
	out->role = "single";
	if (c == NULL)
		return CV_OK;
	out->replicated = true;
	out->self = c->self;
	if ((rc = s->env->rep_stat(s->env, &st, 0)) != 0)
		return cv_st_dberr(rc);
	out->generation = st->st_gen;
	if (s->env->rep_get_nsites(s->env, &out->group_size) != 0)
		out->group_size = 0;
	out->startup_done = st->st_startup_complete != 0;
	if (st->st_status == DB_REP_MASTER) {
		out->role = "master";
		out->master_known = true;
		out->master = c->self;
		out->master.is_master = true;
		out->self.is_master = true;
	} else {
		out->role = st->st_master != DB_EID_INVALID ? "replica" : "starting";
	}
	if (s->env->log_stat(s->env, &ls, 0) == 0) {
		out->lsn_file = ls->st_cur_file;
		out->lsn_offset = ls->st_cur_offset;
		free(ls);
	}
	if (s->env->repmgr_site_list(s->env, &n, &list) == 0) {
		for (u_int i = 0; i < n && out->n_sites < CV_CLUSTER_MAX_SITES; i++) {
			cv_cluster_site *site = &out->sites[out->n_sites++];

			snprintf(site->host, sizeof site->host, "%s", list[i].host);
			site->port = list[i].port;
			site_url(root->dir, c, list[i].host, list[i].port, site->url,
			         sizeof site->url);
			site->connected = list[i].status == DB_REPMGR_CONNECTED;
			site->is_master = list[i].eid == st->st_master;
			if (site->is_master && st->st_status != DB_REP_MASTER) {
				out->master_known = true;
				out->master = *site;
			}
		}
		free(list);
	}
	free(st);
	return CV_OK;
}

bool cv_st_cluster_is_master(cv_store *s)
{
	DB_REP_STAT *st = NULL;
	bool master;

	if (s->env->rep_stat(s->env, &st, 0) != 0)
		return false;
	master = st->st_status == DB_REP_MASTER;
	free(st);
	return master;
}

bool cv_store_is_replica(cv_store *s, char *master_url, size_t n)
{
	cv_cluster_info info;

	if (n > 0)
		master_url[0] = '\0';
	if (!cv_st_replicated(s) || cv_store_cluster_info(s, &info) != CV_OK)
		return false;
	if (strcmp(info.role, "master") == 0)
		return false;
	if (info.master_known && n > 0)
		snprintf(master_url, n, "%s", info.master.url);
	return true;
}

cv_err cv_store_cluster_remove(cv_store *s, const char *address)
{
	const cv_store *root = s->root != NULL ? s->root : s;
	cv_cluster_site site;
	DB_REPMGR_SITE *list = NULL;
	DB_SITE *handle = NULL;
	bool member = false, connected = false;
	u_int n = 0;
	int rc;

	if (root->cluster == NULL)
		return CV_E_NOT_FOUND;
	memset(&site, 0, sizeof site);
	if (address == NULL || !parse_address(address, &site))
		return CV_E_MALFORMED;
	if (!replication_process_runs(root->dir))
		return CV_E_BUSY;
	if (strcmp(site.host, root->cluster->self.host) == 0 &&
	    site.port == root->cluster->self.port)
		return CV_E_BAD_STATE;
	/* only a site the group lists: repmgr_site would add an unknown one to it */
	if ((rc = s->env->repmgr_site_list(s->env, &n, &list)) != 0)
		return cv_st_dberr(rc);
	for (u_int i = 0; i < n; i++)
		if (strcmp(list[i].host, site.host) == 0 && list[i].port == site.port) {
			member = true;
			connected = list[i].status == DB_REPMGR_CONNECTED;
		}
	free(list);
	if (!member)
		return CV_E_NOT_FOUND;
	if (connected)
		return CV_E_BAD_STATE;
	if ((rc = s->env->repmgr_site(s->env, site.host, site.port, &handle, 0)) != 0)
		return cv_st_dberr(rc);
	/* remove frees the handle, whatever it returns */
	rc = handle->remove(handle);
	return rc == 0 ? CV_OK : cv_st_dberr(rc);
}
