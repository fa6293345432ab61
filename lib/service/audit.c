/* The audit log (audit.log in the data directory): one JSON line per answered write it
 * keeps (cv_audit_wanted), synced as it is written; opened again after a rotation
 * (SIGHUP to the master, which counts it on the board for its workers). */
#include "service_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"

/* The audit log the workers inherit from the master (-1: none), its directory, and
 * which opening of it this process holds: the master counts its SIGHUPs on the board
 * (audit_generation), and a worker that sees a newer count opens the file again
 * before its next line. */
static int audit_fd = -1;
static const char *audit_dir;
static unsigned audit_held;
static _Atomic unsigned *audit_generation;

void cv_sv_audit_follow(_Atomic unsigned *generation)
{
	audit_generation = generation;
	audit_held = atomic_load(generation);
}

int cv_sv_audit_start(const char *data_dir, bool audit)
{
	audit_dir = data_dir;
	if (audit && (audit_fd = cv_audit_open(data_dir)) < 0)
		return -1;
	return 0;
}

/* Opens dir/audit.log again in place of audit_fd (same descriptor number), so that
 * lines go to the new file after a rotation renamed the old one. */
void cv_sv_audit_reopen(void)
{
	int fd;

	if (audit_fd < 0 || audit_dir == NULL)
		return;
	if ((fd = cv_audit_open(audit_dir)) < 0) {
		cv_log("audit log: cannot open it again: %s", strerror(errno));
		return;
	}
	if (dup2(fd, audit_fd) < 0)
		cv_log("audit log: cannot open it again: %s", strerror(errno));
	close(fd);
}

bool cv_audit_wanted(int status, cv_err e, const char *user)
{
	/* an equivocation is refused, but the store keeps both signed messages as evidence */
	return (status >= 200 && status < 300) || e == CV_E_EQUIVOCATION ||
	       (user != NULL && user[0] != '\0');
}

int cv_audit_open(const char *dir)
{
	char path[4096];

	if (snprintf(path, sizeof path, "%s/audit.log", dir) >= (int)sizeof path)
		return -1;
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
}

void cv_audit(int fd, const char *program, const cv_req *r, cv_err e)
{
	json_object *o = json_object_new_object(), *key = NULL;
	const char *addr = cv_req_param(r, "REMOTE_ADDR"), *user = cv_req_param(r, "REMOTE_USER");
	const char *line;
	char *buf;
	size_t len;

	if ((user == NULL || user[0] == '\0') && r->audit_user != NULL)
		user = r->audit_user;
	if (fd < 0 || o == NULL) {
		json_object_put(o);
		return;
	}
	json_object_object_add(o, "at", json_object_new_uint64(cv_now()));
	json_object_object_add(o, "program", json_object_new_string(program));
	json_object_object_add(o, "remote_addr", addr ? json_object_new_string(addr) : NULL);
	json_object_object_add(o, "remote_user",
	                       user && *user ? json_object_new_string(user) : NULL);
	json_object_object_add(o, "method", json_object_new_string(r->method ? r->method : "-"));
	json_object_object_add(o, "path", json_object_new_string(r->path ? r->path : "-"));
	if (r->election[0] != '\0')
		json_object_object_add(o, "election", json_object_new_string(r->election));
	json_object_object_add(o, "status", json_object_new_int(r->status));
	json_object_object_add(o, "code", json_object_new_string(cv_err_code(e)));
	/* the eligibility entry an admin action changed (never its code) */
	if (r->audit_voter_id != NULL)
		json_object_object_add(o, "voter_id", json_object_new_string(r->audit_voter_id));
	/* who signed a verdict: public, and what an auditor looks for */
	if (r->json != NULL && json_object_is_type(r->json, json_type_object) &&
	    json_object_object_get_ex(r->json, "validator_key", &key) &&
	    json_object_is_type(key, json_type_string))
		json_object_object_add(o, "validator_key", json_object_get(key));
	line = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	len = strlen(line);
	/* one write per line: O_APPEND keeps workers' lines whole and in order */
	buf = malloc(len + 1);
	if (buf != NULL) {
		memcpy(buf, line, len);
		buf[len] = '\n';
		if (write(fd, buf, len + 1) != (ssize_t)(len + 1))
			cv_log("audit log: write failed: %s", strerror(errno));
		else if (fdatasync(fd) != 0)
			cv_log("audit log: sync failed: %s", strerror(errno));
	}
	free(buf);
	json_object_put(o);
}

void cv_sv_audit_request(const cv_program *p, const cv_req *r, cv_err e)
{
	unsigned now_gen;

	if (!p->audit || r->method == NULL || strcmp(r->method, "GET") == 0 || !r->answered ||
	    !cv_audit_wanted(r->status, e,
	                     r->audit_user ? r->audit_user : cv_req_param(r, "REMOTE_USER")))
		return;
	now_gen = audit_generation ? atomic_load(audit_generation) : 0;
	if (now_gen != audit_held) {
		cv_sv_audit_reopen();
		audit_held = now_gen;
	}
	cv_audit(audit_fd, p->name, r, e);
}
