/* Private to lib/service/: what the process supervisor (supervisor.c) and the request
 * pipeline its workers run (request.c) share. Nothing outside lib/service/ includes
 * this file. */
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

#endif
