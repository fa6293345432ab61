/* The process supervisor of a FastCGI program: a master that opens the listen socket
 * once, pre-forks workers sharing it, and looks after them and the store: replaces the
 * dead, kills the stuck (the board says where each worker is), runs one recovery of
 * every program when a worker died inside the store, and takes turns at checkpoints.
 * Each worker runs the request pipeline of request.c. */
#include "service_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_WORKERS      CV_SV_MAX_WORKERS
#define MAX_BODY_LIMIT   (1024u * 1024 * 1024) /* FCGX_GetStr counts in int */
#define CHECKPOINT_EVERY 5                     /* seconds: also bounds the log a recovery replays */
#define READY_LIMIT      3                     /* seconds a new worker may take to open the store */
#define READY_LIMIT_REPL 15                    /* the same in a replicated store (ready_limit) */
#define BUSY_LIMIT       20   /* seconds one store operation may take before the watchdog */
#define READ_LIMIT       15   /* seconds reading one request may take, in all */
#define WRITE_LIMIT      60   /* seconds one write of an answer may take, in all */
#define READ_TIMEOUT_S   3    /* a read from the front end that gets no byte gives up */
#define SEND_TIMEOUT_S   30   /* a write to the front end that moves no byte gives up */
#define STOP_GRACE_MS    5000 /* SIGTERM to SIGKILL when the program stops */
#define RECOVER_GRACE_MS 100  /* SIGTERM to SIGKILL before a recovery */
#define TICK_MS          20   /* the master's round: reap, watchdog, recovery requests */
#define SLOW_OPEN_MS     100  /* a worker's store open this slow is logged */
#define EXIT_RECOVER     3    /* a worker saw DB_RUNRECOVERY or could not open the store */
/* Connections nginx may have opened that no worker has accepted yet. nginx opens one
 * per request it passes on at once, up to every client connection it holds (its
 * worker_connections); a full backlog fails its connect() at once (EAGAIN on a unix
 * socket), which it answers 502 and the client sees as 503. 128 turned 256 clients
 * posting votes into mostly 503s; the kernel caps this at net.core.somaxconn (4096). */
#define LISTEN_BACKLOG 4096
/* What the master's watchdog reads of its workers: an anonymous shared mapping made
 * before the first fork. Each worker says where it is (enum phase) and since when. A
 * worker blocked for good inside Berkeley DB (on a mutex a killed process held) shows
 * as in the store for too long, and is killed and replaced with a recovery; one that
 * is slow reading a request or writing an answer (a client that sends one byte, a
 * front end that does not read) holds nothing of the store's and is replaced without. */
struct board {
	_Atomic int phase[MAX_WORKERS];             /* enum phase */
	_Atomic long long phase_since[MAX_WORKERS]; /* monotonic seconds */
	_Atomic int ready[MAX_WORKERS];             /* the worker's store is open */
	_Atomic long long last_checkpoint;          /* monotonic seconds */
	_Atomic unsigned audit_generation;          /* SIGHUPs the master has seen */
};

struct service {
	const cv_program *p;
	pid_t master;
	struct board *board;
	cv_sv_commit *commit;    /* the workers' vote commit queue */
	bool must_recover;       /* a worker died inside the store: recover everything */
	const char *socket_path; /* NULL when listening on a TCP port */
	const char *data_dir;
	const char *store_key; /* --store-key: the store's key file (NULL: the default) */
	int ready_limit;       /* READY_LIMIT, or READY_LIMIT_REPL */
	int n_workers;
	size_t max_body;
	int listen_fd;
	pid_t pids[MAX_WORKERS]; /* 0: slot empty */
	/* monotonic seconds (cv_sv_mono_s): the wall clock may step */
	long long started[MAX_WORKERS];
	long long restart_at[MAX_WORKERS];
	/* a rolling restart (SIGUSR2): the next slot to replace (-1: none), and the worker
	 * told to stop last, whose slot must hold a new, ready worker before the next */
	int roll_next;
	pid_t roll_pid;
};

static volatile sig_atomic_t worker_stop;

static void on_worker_stop(int sig)
{
	(void)sig;
	worker_stop = 1;
	FCGX_ShutdownPending();
}

static void on_sigchld(int sig)
{
	(void)sig; /* only so that SIGCHLD is delivered to sigtimedwait */
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Opens the store, trying again every pause milliseconds, at most attempts times: an
 * open fails for a moment while another process runs failchk or recovery on the same
 * environment. *out is NULL on failure, which is logged. */
static cv_err open_store_patiently(const char *dir, const char *key_file, unsigned flags,
                                   int attempts, long pause, cv_store **out)
{
	cv_err e = CV_E_STORE;

	*out = NULL;
	for (int i = 0; i < attempts && e != CV_OK; i++)
		if ((e = cv_store_open_key(dir, key_file, flags, out)) != CV_OK) {
			*out = NULL;
			/* a missing or wrong key does not come right by waiting */
			if (e == CV_E_STORE_KEY)
				break;
			sleep_ms(pause);
		}
	if (e != CV_OK)
		cv_log("cannot open the store in %s: %s", dir, cv_err_message(e));
	return e;
}

static long ms_between(const struct timespec *a, const struct timespec *b)
{
	return (long)((b->tv_sec - a->tv_sec) * 1000 + (b->tv_nsec - a->tv_nsec) / 1000000);
}

/* Every CHECKPOINT_EVERY seconds one worker (whichever claims the turn first)
 * checkpoints and removes log files no longer needed. */
static void maybe_checkpoint(struct service *sv, cv_store *store)
{
	long long now = cv_sv_mono_s(), last = atomic_load(&sv->board->last_checkpoint);
	cv_err e;

	if (now - last < CHECKPOINT_EVERY ||
	    !atomic_compare_exchange_strong(&sv->board->last_checkpoint, &last, now))
		return;
	if ((e = cv_store_checkpoint(store)) != CV_OK)
		cv_log("checkpoint: %s", cv_err_message(e));
}

/* Accepts one connection from the front end, with deadlines on it: a read that gets
 * no byte for READ_TIMEOUT_S, or a write that moves none for SEND_TIMEOUT_S, fails
 * instead of pinning the worker (a client that connects to the socket and sends one
 * byte, a front end that stopped reading). Returns the descriptor, or -1 with errno
 * (EINTR when a signal came). */
static int accept_connection(int listen_fd)
{
	struct timeval rcv = {READ_TIMEOUT_S, 0}, snd = {SEND_TIMEOUT_S, 0};
	int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &rcv, sizeof rcv) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &snd, sizeof snd) != 0) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

static bool recovery_requested(const struct service *sv);

/* A worker: its own store handle (Berkeley DB handles must not cross fork), then
 * accept and dispatch until told to stop. The board tells the master whether it is
 * inside a request (and so possibly inside the store) and whether its store is open:
 * the master decides from that what a death of this worker needs. Never returns. */
static void worker_main(struct service *sv, int slot)
{
	struct sigaction sa = {0};
	sigset_t none;
	FCGX_Request req;
	cv_store *store = NULL;
	struct timespec t0, t1;
	int status = 0;
	cv_err e;

	sa.sa_handler = on_worker_stop; /* no SA_RESTART: accept() must return */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* a worker whose master is gone stops too (after its request) */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != sv->master)
		_exit(1);
	cv_sv_worker_attach(&sv->board->phase[slot], &sv->board->phase_since[slot],
	                    &sv->board->audit_generation);
	cv_sv_commit_attach(sv->commit, slot);

	/* Another process may be running failchk or recovery: wait for the store rather
	 * than answering the first requests 503; a store that will not open is the
	 * master's to recover. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (open_store_patiently(sv->data_dir, sv->store_key, CV_STORE_WAIT_REPLICATION, 100, 20,
	                         &store) != CV_OK)
		_exit(EXIT_RECOVER);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (ms_between(&t0, &t1) >= SLOW_OPEN_MS)
		cv_log("worker opened the store in %ld ms", ms_between(&t0, &t1));
	atomic_store(&sv->board->ready[slot], 1);
	/* libfcgi's own accept would read the request with no time limit; it gets no
	 * listen socket (-1), and each connection comes from accept_connection instead */
	if (FCGX_InitRequest(&req, -1, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
		cv_log("cannot set up a FastCGI request");
		_exit(1);
	}
	while (!worker_stop) {
		int fd = accept_connection(sv->listen_fd);

		if (fd < 0) {
			if (worker_stop || errno == EINTR || errno == ECONNABORTED)
				continue;
			cv_log("accept failed: %s", strerror(errno));
			status = 1;
			break;
		}
		cv_sv_set_phase(CV_SV_READING);
		/* a connection already open: FCGX_Accept_r reads the request from it, and
		 * keepConnection stops it from closing it before it starts */
		req.ipcFd = fd;
		req.keepConnection = 1;
		/* and a connection dropped for want of a whole request is closed at once,
		 * not drained for seconds more (libfcgi's close of an attached one) */
		req.detached = 1;
		if (FCGX_Accept_r(&req) < 0) {
			/* the request did not arrive whole in time (or did not parse); libfcgi
			 * has closed the connection */
			if (req.ipcFd >= 0)
				close(req.ipcFd);
			req.ipcFd = -1;
			cv_log("a request did not arrive whole in time; connection dropped");
			cv_sv_set_phase(CV_SV_IDLE);
			continue;
		}
		req.detached = 0;
		e = cv_service_dispatch(sv->p, sv->max_body, store, req.in, req.out, req.envp);
		cv_sv_set_phase(CV_SV_WRITING); /* the rest of the answer leaves here */
		/* A connection closed with unread input would be reset, and the front end
		 * could lose the answer, so libfcgi's close shuts down its side and waits for
		 * the front end's (a poll, a read, a context switch: about a tenth of a vote
		 * worker's CPU). A request whose input was read to its end (nginx sends the
		 * body and its end mark together, and nothing after) leaves nothing unread:
		 * its connection is closed at once. One that was not (an answer given without
		 * reading the body) is drained as before. */
		if (FCGX_GetChar(req.in) == EOF)
			req.detached = 1;
		FCGX_Finish_r(&req);
		if (req.ipcFd >= 0) {
			/* one request per connection (a kept connection would pin a worker) */
			close(req.ipcFd);
			req.ipcFd = -1;
		}
		if (e != CV_E_RECOVER) {
			cv_sv_set_phase(CV_SV_STORE);
			maybe_checkpoint(sv, store);
		}
		cv_sv_set_phase(CV_SV_IDLE);
		if (e == CV_E_RECOVER) {
			/* DB_RUNRECOVERY: this handle is useless; the master recovers */
			cv_log("store needs recovery; worker exits");
			_exit(EXIT_RECOVER);
		}
	}
	FCGX_Free(&req, 1);
	/* inside the store again, closing it: the watchdog counts from here (a worker
	 * renewed by a rolling restart closes while its program runs on) */
	cv_sv_set_phase(CV_SV_STORE);
	atomic_store(&sv->board->ready[slot], 0);
	if (recovery_requested(sv))
		cv_store_close_keep_regions(store);
	else
		cv_store_close(store);
	_exit(status);
}

static void spawn(struct service *sv, int slot)
{
	pid_t pid;

	atomic_store(&sv->board->ready[slot], 0);
	atomic_store(&sv->board->phase[slot], CV_SV_IDLE);
	atomic_store(&sv->board->phase_since[slot], 0);
	pid = fork();
	if (pid < 0) {
		cv_log("fork failed: %s", strerror(errno));
		sv->restart_at[slot] = cv_sv_mono_s() + 1;
		return;
	}
	if (pid == 0)
		worker_main(sv, slot);
	sv->pids[slot] = pid;
	sv->started[slot] = cv_sv_mono_s();
	sv->restart_at[slot] = 0;
}

/* SIGTERM to every worker, SIGKILL to those still running after grace_ms. */
static void stop_workers(struct service *sv, long grace_ms)
{
	int alive = 0;

	for (int i = 0; i < sv->n_workers; i++)
		if (sv->pids[i] > 0 && kill(sv->pids[i], SIGTERM) == 0)
			alive++;
	for (long waited = 0; alive > 0; waited += 10) {
		int st;
		pid_t pid = waitpid(-1, &st, WNOHANG);

		if (pid > 0) {
			for (int i = 0; i < sv->n_workers; i++)
				if (sv->pids[i] == pid) {
					sv->pids[i] = 0;
					alive--;
				}
			continue;
		}
		if (pid < 0 && errno == ECHILD)
			break;
		if (waited >= grace_ms) {
			for (int i = 0; i < sv->n_workers; i++)
				if (sv->pids[i] > 0) {
					cv_log("worker %d did not stop; killing it",
					       (int)sv->pids[i]);
					kill(sv->pids[i], SIGKILL);
					waitpid(sv->pids[i], &st, 0);
					sv->pids[i] = 0;
				}
			break;
		}
		sleep_ms(10);
	}
}

/* READY_LIMIT_REPL for the store in dir when it is replicated (it holds the node's
 * CV_CLUSTER_CONF), else READY_LIMIT: a replicated store's open may wait, on purpose and
 * outside any Berkeley DB mutex, up to 10 s for the node's replication process (back
 * after a recovery) and 2 s for a master's connections to the other sites
 * (store_cluster.c), and a worker killed there would start a recovery, which takes the
 * node out of the group. */
static int ready_limit(const char *dir)
{
	char conf[4096];

	if (snprintf(conf, sizeof conf, "%s/%s", dir, CV_CLUSTER_CONF) >= (int)sizeof conf)
		return READY_LIMIT;
	return access(conf, F_OK) == 0 ? READY_LIMIT_REPL : READY_LIMIT;
}

/* Kills a worker that has not opened the store ready_limit seconds after it started,
 * or has spent BUSY_LIMIT seconds in one store operation: it is blocked, most likely
 * on what a killed process held, and its death there starts a recovery (reap). A
 * worker that has spent READ_LIMIT seconds reading one request or WRITE_LIMIT seconds
 * writing one answer is waiting on its peer, not on the store: it is killed and
 * replaced, and nothing else stops. */
static void watchdog(struct service *sv)
{
	long long now = cv_sv_mono_s();

	for (int i = 0; i < sv->n_workers; i++) {
		int phase = atomic_load(&sv->board->phase[i]);
		long long for_s = now - atomic_load(&sv->board->phase_since[i]);
		const char *why = NULL;

		if (sv->pids[i] <= 0)
			continue;
		if (!atomic_load(&sv->board->ready[i])) {
			/* opening the store (no phase yet: the time since its start is what it
			 * has spent) or closing it (since the phase it set then) */
			long long since = atomic_load(&sv->board->phase_since[i]);

			for_s = now - (since > sv->started[i] ? since : sv->started[i]);
			if (phase == CV_SV_STORE ? for_s > BUSY_LIMIT : for_s > sv->ready_limit)
				why = phase == CV_SV_STORE ? "closing the store"
				                           : "opening the store";
		} else if (phase == CV_SV_STORE && for_s > BUSY_LIMIT)
			why = "inside the store";
		else if (phase == CV_SV_READING && for_s > READ_LIMIT)
			why = "reading a request";
		else if (phase == CV_SV_WRITING && for_s > WRITE_LIMIT)
			why = "writing an answer";
		if (why == NULL)
			continue;
		cv_log("worker %d is stuck (%s for %lld s); killing it", (int)sv->pids[i], why,
		       for_s);
		kill(sv->pids[i], SIGKILL);
	}
}

/* Recovery of every program together. Berkeley DB's POSIX mutexes do not survive a
 * process killed while it held one or waited on one (a condition variable with a dead
 * waiter can hang the next signal, and failchk with it); only recovery with every
 * process out of the environment is sure to mend that. So when a worker dies inside a
 * request, or cannot open the store, the programs recover together through the data
 * directory: the master that saw it writes recovery.request; every master that sees the
 * request stops its workers (a short grace, then SIGKILL), which lets go of their
 * handles' shared recovery.lock (lib/store/store.c); the first master to get that lock
 * exclusively recovers in a child and removes the request; then all start their
 * workers again. Masters look every TICK_MS, so this takes a fraction of a second. */
#define RECOVERY_WAIT_S   60
#define RECOVERY_RETRY_MS 500

static void recovery_request_path(const struct service *sv, char *path, size_t len)
{
	snprintf(path, len, "%s/recovery.request", sv->data_dir);
}

static bool recovery_requested(const struct service *sv)
{
	char path[4096];

	recovery_request_path(sv, path, sizeof path);
	return access(path, F_OK) == 0;
}

static void recover_together(struct service *sv)
{
	char path[4096];
	long long until = cv_sv_mono_s() + RECOVERY_WAIT_S;
	struct timespec t0, t1, t2;
	long stopped_ms;
	int fd;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	recovery_request_path(sv, path, sizeof path);
	if (sv->must_recover && (fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) >= 0)
		close(fd);
	sv->must_recover = false;
	stop_workers(sv, RECOVER_GRACE_MS);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	stopped_ms = ms_between(&t0, &t1);
	while (recovery_requested(sv) && cv_sv_mono_s() < until) {
		int lock = cv_store_lock_exclusive(sv->data_dir);

		if (lock >= 0) {
			/* nobody has the environment open */
			pid_t pid = fork();
			int st = 0;
			bool done;

			if (pid == 0)
				_exit(cv_store_recover(sv->data_dir, sv->store_key, true) == CV_OK
				          ? 0
				          : 1);
			done = pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
			       WEXITSTATUS(st) == 0;
			clock_gettime(CLOCK_MONOTONIC, &t2);
			cv_log("recovery of the store %s in %ld ms (workers stopped in %ld ms, "
			       "recovery itself %ld ms)",
			       done ? "done" : "failed", ms_between(&t0, &t2), stopped_ms,
			       ms_between(&t1, &t2));
			if (done)
				unlink(path);
			close(lock);
			if (done)
				break;
			sleep_ms(
			    RECOVERY_RETRY_MS); /* a failed recovery is not retried in a spin */
		}
		sleep_ms(5);
	}
	/* every worker is stopped: a leader killed mid-batch may have left the commit
	 * queue's mutex and slots as they were */
	if (cv_sv_commit_reset(sv->commit) != CV_OK)
		cv_log("cannot reset the vote commit queue");
	for (int i = 0; i < sv->n_workers; i++)
		spawn(sv, i);
}

/* One step of a rolling restart: once the worker stopped last has been replaced and its
 * successor has the store open, the next one is told to stop (SIGTERM: it finishes the
 * request it serves, closes the store and exits; reap and spawn replace it). One worker
 * at a time, so the program keeps answering. A replicated store's processes learn the
 * group's members when they open it (docs/ARCHITECTURE.md, "Past one machine"), so
 * tools/cluster.sh add renews every node's workers this way once a new node has joined. */
static void roll(struct service *sv)
{
	int slot;

	if (sv->roll_next < 0)
		return;
	if (sv->roll_next > 0) {
		int prev = sv->roll_next - 1;

		if (sv->pids[prev] == 0 || sv->pids[prev] == sv->roll_pid ||
		    !atomic_load(&sv->board->ready[prev]))
			return;
	}
	if (sv->roll_next == sv->n_workers) {
		cv_log("rolling restart done: every worker opened the store anew");
		sv->roll_next = -1;
		return;
	}
	slot = sv->roll_next++;
	sv->roll_pid = sv->pids[slot];
	if (sv->roll_pid > 0)
		kill(sv->roll_pid, SIGTERM);
}

/* Reaps dead workers. One that died outside the store (waiting in accept, reading a
 * request or writing an answer, its store open) held nothing of the store's but its
 * registration, which the replacement's open releases (DB_REGISTER with DB_FAILCHK):
 * it is simply replaced. One that died inside a store operation or while opening the
 * store, or saw DB_RUNRECOVERY, may have left a Berkeley DB mutex that nothing but
 * recovery releases: sets must_recover. */
static void reap(struct service *sv)
{
	int st;
	pid_t pid;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		int slot = -1;
		long long now = cv_sv_mono_s();
		bool in_store;
		int phase;

		for (int i = 0; i < sv->n_workers; i++)
			if (sv->pids[i] == pid)
				slot = i;
		if (slot < 0)
			continue;
		sv->pids[slot] = 0;
		phase = atomic_load(&sv->board->phase[slot]);
		in_store = !atomic_load(&sv->board->ready[slot]) || phase == CV_SV_STORE;
		/* a worker that fails at once would otherwise restart in a tight loop; one
		 * killed from outside (SIGKILL) did not fail by itself and is replaced at
		 * once, so that the program answers again within a second */
		sv->restart_at[slot] =
		    !(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) && now - sv->started[slot] < 1
		        ? now + 1
		        : 0;
		if (WIFSIGNALED(st)) {
			cv_log("worker %d died %s (signal %d)", (int)pid,
			       in_store                 ? "inside the store"
			       : phase == CV_SV_READING ? "reading a request"
			       : phase == CV_SV_WRITING ? "writing an answer"
			                                : "idle",
			       WTERMSIG(st));
			if (in_store)
				sv->must_recover = true;
		} else if (WEXITSTATUS(st) == EXIT_RECOVER) {
			cv_log("worker %d found the store in need of recovery", (int)pid);
			sv->must_recover = true;
		} else if (WEXITSTATUS(st) != 0) {
			cv_log("worker %d exited (status %d), restarted", (int)pid,
			       WEXITSTATUS(st));
		}
	}
}

/* Creates the environment if it is missing, in a child process: the master itself
 * never holds a store handle (DB_REGISTER allows one per process, and a handle in the
 * master could only hang it when a killed worker leaves the environment wedged). */
static int prepare_store(const char *dir, const char *key_file)
{
	int st;
	pid_t pid = fork();

	if (pid < 0) {
		cv_log("fork failed: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		cv_store *s;
		/* the other programs start at the same moment and open it too */
		cv_err e = open_store_patiently(dir, key_file, CV_STORE_CREATE, 50, 100, &s);

		/* the workers open it next */
		cv_store_close_keep_regions(s);
		_exit(e == CV_OK ? 0 : 1);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return -1;
	return 0;
}

static int usage(const char *name)
{
	fprintf(stderr,
	        "usage: chainvote-%s.fcgi (--socket PATH | --port N) --data DIR "
	        "[--store-key FILE|none] [--workers N] [--max-body BYTES]\n",
	        name);
	return 2;
}

static int parse_args(struct service *sv, int argc, char **argv, const char **port)
{
	for (int i = 1; i < argc; i++) {
		const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		uint64_t n;

		if (strcmp(opt, "--help") == 0 || strcmp(opt, "-h") == 0 || val == NULL)
			return -1;
		i++;
		if (strcmp(opt, "--socket") == 0) {
			sv->socket_path = val;
		} else if (strcmp(opt, "--port") == 0) {
			if (cv_parse_u64(val, 1, 65535, &n) != CV_OK)
				return -1;
			*port = val;
		} else if (strcmp(opt, "--data") == 0) {
			sv->data_dir = val;
		} else if (strcmp(opt, "--store-key") == 0) {
			sv->store_key = val;
		} else if (strcmp(opt, "--workers") == 0) {
			if (cv_parse_u64(val, 1, MAX_WORKERS, &n) != CV_OK)
				return -1;
			sv->n_workers = (int)n;
		} else if (strcmp(opt, "--max-body") == 0) {
			if (cv_parse_u64(val, 1, MAX_BODY_LIMIT, &n) != CV_OK)
				return -1;
			sv->max_body = (size_t)n;
		} else {
			return -1;
		}
	}
	if (sv->data_dir == NULL || (sv->socket_path == NULL) == (*port == NULL))
		return -1;
	return 0;
}

static int open_listener(struct service *sv, const char *port)
{
	char addr[32];
	struct stat st;

	if (port != NULL) {
		snprintf(addr, sizeof addr, "127.0.0.1:%s", port);
		sv->listen_fd = FCGX_OpenSocket(addr, LISTEN_BACKLOG);
		return sv->listen_fd < 0 ? -1 : 0;
	}
	if (strchr(sv->socket_path, ':') != NULL) {
		cv_log("a socket path must not contain ':' (it would be read as host:port)");
		return -1;
	}
	/* a socket left by an earlier run would make bind fail */
	if (lstat(sv->socket_path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(sv->socket_path);
	sv->listen_fd = FCGX_OpenSocket(sv->socket_path, LISTEN_BACKLOG);
	if (sv->listen_fd < 0)
		return -1;
	if (chmod(sv->socket_path, 0660) != 0) {
		cv_log("chmod %s: %s", sv->socket_path, strerror(errno));
		return -1;
	}
	return 0;
}

int cv_service_main(int argc, char **argv, const cv_program *p)
{
	struct service sv = {0};
	const char *port = NULL;
	struct sigaction sa = {0};
	sigset_t set;
	unsigned long long n_votes, n_batches;
	int status = 0;
	cv_err e;

	cv_sv_set_name(p->name);
	sv.p = p;
	sv.master = getpid();
	sv.roll_next = -1;
	sv.n_workers = CV_DEFAULT_WORKERS;
	sv.max_body = p->max_body ? p->max_body : CV_DEFAULT_MAX_BODY;
	if (parse_args(&sv, argc, argv, &port) != 0)
		return usage(p->name);
	if (FCGX_Init() != 0) {
		cv_log("cannot initialise the FastCGI library");
		return 1;
	}
	if (open_listener(&sv, port) != 0) {
		cv_log("cannot listen on %s: %s", port ? port : sv.socket_path, strerror(errno));
		return 1;
	}
	if (cv_sv_audit_start(sv.data_dir, p->audit) != 0) {
		cv_log("cannot open the audit log in %s: %s", sv.data_dir, strerror(errno));
		status = 1;
		goto out;
	}
	if (prepare_store(sv.data_dir, sv.store_key) != 0) {
		status = 1;
		goto out;
	}
	sv.ready_limit = ready_limit(sv.data_dir);
	if (p->start != NULL && (e = p->start(sv.data_dir)) != CV_OK) {
		cv_log("start-up in %s failed: %s", sv.data_dir, cv_err_message(e));
		status = 1;
		goto out;
	}
	sv.board =
	    mmap(NULL, sizeof *sv.board, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sv.board == MAP_FAILED) {
		cv_log("cannot map the workers' board: %s", strerror(errno));
		sv.board = NULL;
		status = 1;
		goto out;
	}
	atomic_store(&sv.board->last_checkpoint, cv_sv_mono_s());
	if ((sv.commit = cv_sv_commit_new()) == NULL) {
		cv_log("cannot map the vote commit queue: %s", strerror(errno));
		status = 1;
		goto out;
	}

	/* The master waits for its signals synchronously; workers unblock them. */
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sa.sa_handler = on_sigchld;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	cv_log("listening on %s%s with %d workers", port ? "127.0.0.1:" : "",
	       port ? port : sv.socket_path, sv.n_workers);
	for (int i = 0; i < sv.n_workers; i++)
		spawn(&sv, i);
	for (;;) {
		struct timespec tick = {0, TICK_MS * 1000000L};
		int sig = sigtimedwait(&set, NULL, &tick);
		long long now;

		if (sig == SIGTERM || sig == SIGINT) {
			cv_log("stopping on signal %d", sig);
			break;
		}
		if (sig == SIGHUP) {
			/* log rotation: new workers inherit the new file, running ones see
			 * the count move and open it before their next line */
			cv_sv_audit_reopen();
			atomic_fetch_add(&sv.board->audit_generation, 1);
			if (p->audit)
				cv_log("audit log opened again");
		}
		if (sig == SIGUSR2 && sv.roll_next < 0) {
			cv_log("rolling restart of the workers, one at a time (SIGUSR2)");
			sv.roll_next = 0;
			sv.roll_pid = 0;
		}
		reap(&sv);
		watchdog(&sv);
		if (sv.must_recover || recovery_requested(&sv))
			recover_together(&sv);
		now = cv_sv_mono_s();
		for (int i = 0; i < sv.n_workers; i++)
			if (sv.pids[i] == 0 && now >= sv.restart_at[i])
				spawn(&sv, i);
		roll(&sv);
	}
	stop_workers(&sv, STOP_GRACE_MS);
	cv_sv_commit_stats(sv.commit, &n_votes, &n_batches);
	if (n_batches > 0)
		cv_log("%llu votes written in %llu batches (one log flush each) since the last "
		       "start or recovery",
		       n_votes, n_batches);
out:
	if (sv.board != NULL)
		munmap(sv.board, sizeof *sv.board);
	cv_sv_commit_free(sv.commit);
	if (sv.listen_fd >= 0)
		close(sv.listen_fd);
	if (sv.socket_path != NULL)
		unlink(sv.socket_path);
	return status;
}
