/* Private to lib/service/: what the process supervisor (supervisor.c), a worker's place
 * on its board (worker.c), the request pipeline its workers run (request.c, answering
 * through reply.c), the audit log (audit.c), the commit queue (commit.c) and the
 * forwarding of writes (cluster.c) share. Nothing outside lib/service/ includes this
 * file. */
#ifndef CV_SERVICE_IMPL_H
#define CV_SERVICE_IMPL_H

#include <stdatomic.h>
#include <stdbool.h>

#include "service.h"

/* Where a worker is, for the master's watchdog: a worker stuck inside the store may
 * hold a Berkeley DB mutex, and only its death with a recovery after it frees that; a
 * worker stuck reading a request or writing an answer holds nothing of the store's and
 * is simply replaced. */
enum cv_sv_phase { CV_SV_IDLE = 0, CV_SV_READING, CV_SV_STORE, CV_SV_WRITING };

/* Monotonic seconds, the clock of the board. */
long long cv_sv_mono_s(void);
/* The program's name in cv_log lines. */
void cv_sv_set_name(const char *name);
/* A worker's slots on the master's board: where it is and since when, and the count of
 * audit log rotations it follows. */
void cv_sv_worker_attach(_Atomic int *phase, _Atomic long long *phase_since,
                         _Atomic unsigned *audit_generation);
/* Records this worker's move to phase (enum cv_sv_phase); returns the phase left. A
 * no-op outside a worker. */
int cv_sv_set_phase(int phase);
/* The master, at start: remembers data_dir for the audit log and, when audit, opens
 * it for the workers to inherit. 0, or -1 with errno. */
int cv_sv_audit_start(const char *data_dir, bool audit);
/* Opens the audit log again in place (log rotation: the master on SIGHUP, a worker
 * when the board's count moved). */
void cv_sv_audit_reopen(void);
/* A worker follows the count of audit log rotations at generation (its board slot's),
 * from its value now. */
void cv_sv_audit_follow(_Atomic unsigned *generation);
/* The audit log's line for an answered request of program p, when p keeps the log and
 * the request is one it keeps (not a GET; cv_audit_wanted): the log is opened again
 * first when it was rotated since this process's last line. */
void cv_sv_audit_request(const cv_program *p, const cv_req *r, cv_err e);

/* The most workers a program runs. */
#define CV_SV_MAX_WORKERS 64

/* The vote commit queue (commit.c): an anonymous shared mapping the master makes
 * before the first fork, one slot per worker. cv_sv_commit_new: NULL on failure.
 * cv_sv_commit_reset makes it anew; only with no worker alive (after a recovery
 * stopped them all). cv_sv_commit_free: NULL is a no-op. */
typedef struct cv_sv_commit cv_sv_commit;
cv_sv_commit *cv_sv_commit_new(void);
cv_err cv_sv_commit_reset(cv_sv_commit *q);
void cv_sv_commit_free(cv_sv_commit *q);
/* A worker, after the fork: its slot in q (its board slot). */
void cv_sv_commit_attach(cv_sv_commit *q, int slot);
/* Votes written and batches written since the last reset. */
void cv_sv_commit_stats(const cv_sv_commit *q, unsigned long long *n_votes,
                        unsigned long long *n_batches);
/* Writes a vote that passed cv_store_check_vote_at (on the parameters of n_changes)
 * together with those the other workers bring at the same time
 * (cv_store_add_votes_checked: one transaction, one flush) and returns its own outcome:
 * CV_OK only once the batch is durable. Outside a worker attached to a queue, a batch
 * of one. */
cv_err cv_sv_commit_vote(cv_store *s, const cv_vote *v, uint64_t now, uint64_t n_changes);

/* cluster.c: a write that reached a replica is sent to the master's front end at
 * master_url ("" when none is known: CV_E_NOT_MASTER) and its answer relayed, status,
 * body and headers; CV_E_NOT_MASTER when the master does not answer, or when the
 * request was itself forwarded (no second hop). */
cv_err cv_sv_forward_to_master(cv_req *r, const char *master_url);
/* Whether r came from another node's forward. */
bool cv_sv_forwarded(cv_req *r);

#endif
