/* A worker process as the master sees it: its phase on the master's board (for the
 * watchdog, supervisor.c) and the program's name in its log lines (cv_log). */
#include "service_impl.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static const char *prog_name = "service";

/* This worker's slots on the master's board; NULL outside a worker (unit tests). */
static _Atomic int *my_phase;
static _Atomic long long *my_phase_since;

long long cv_sv_mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec;
}

void cv_sv_set_name(const char *name)
{
	prog_name = name;
}

void cv_sv_worker_attach(_Atomic int *phase, _Atomic long long *phase_since,
                         _Atomic unsigned *generation)
{
	my_phase = phase;
	my_phase_since = phase_since;
	cv_sv_audit_follow(generation);
}

/* The time is stored first: a master that reads the new phase then reads its time
 * too. */
int cv_sv_set_phase(int phase)
{
	int was = CV_SV_IDLE;

	if (my_phase != NULL) {
		was = atomic_load(my_phase);
		atomic_store(my_phase_since, cv_sv_mono_s());
		atomic_store(my_phase, phase);
	}
	return was;
}

void cv_log(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	struct timespec now;
	struct tm tm;
	char when[32] = "";

	clock_gettime(CLOCK_REALTIME, &now);
	if (gmtime_r(&now.tv_sec, &tm) != NULL)
		strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	/* one write per line so that lines of several processes do not interleave */
	fprintf(stderr, "%s.%03ldZ chainvote-%s[%d]: %s\n", when, now.tv_nsec / 1000000, prog_name,
	        (int)getpid(), line);
	fflush(stderr);
}
