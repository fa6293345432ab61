/* A node of a replication group (docs/ARCHITECTURE.md, "Past one machine"): the site's
 * replication process (`chainvote replicate`), and the group's state as the nodes'
 * GET /api/cluster tell it (`chainvote cluster status`). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "cmd.h"
#include "store.h"

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static const char replicate_usage[] =
    "usage: chainvote replicate --data DIR [--ready FILE] [--store-key FILE|none]\n"
    "The replication process of this node: joins the replication group that\n"
    "DIR/" CV_CLUSTER_CONF " describes (listens on its replication port, takes part in\n"
    "elections, applies the master's log) and runs until SIGTERM. Start it before the\n"
    "programs. It logs each change of role; --ready FILE is written once this node is\n"
    "master or a replica that has caught up (the programs can then open the store).\n"
    "--store-key FILE|none: the store's key file, as for every command with --data\n"
    "(README, \"The store key\"; by default keys/store.key beside DIR, made when missing).\n"
    "A node that joins with no store yet makes its copy encrypted under its own key:\n"
    "the log and the pages travel between the nodes decrypted, and each node encrypts\n"
    "what it writes.\n";

/* How long the programs' recovery may take before this process joins again anyway
 * (theirs gives up after 60 s). */
#define RECOVERY_WAIT_TICKS 700

static bool recovery_requested(const char *data)
{
	char path[4096];

	return snprintf(path, sizeof path, "%s/recovery.request", data) < (int)sizeof path &&
	       access(path, F_OK) == 0;
}

/* A checkpoint every 30 s (150 turns of 200 ms) on the master. */
#define CHECKPOINT_TICKS 150

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

int cmd_replicate(int argc, char **argv)
{
	static const struct option opts[] = {{"data", required_argument, NULL, 'd'},
	                                     {"ready", required_argument, NULL, 'r'},
	                                     {"store-key", required_argument, NULL, 'k'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	const char *data = NULL, *ready = NULL, *key = NULL;
	struct sigaction sa = {0};
	char role[16] = "";
	bool announced = false;
	unsigned ticks = 0;
	cv_store *s = NULL;
	cv_err e;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			data = optarg;
			break;
		case 'r':
			ready = optarg;
			break;
		case 'k':
			key = optarg;
			break;
		case 'h':
			fputs(replicate_usage, stdout);
			return 0;
		default:
			fputs(replicate_usage, stderr);
			return 2;
		}
	}
	if (data == NULL || optind != argc) {
		fputs(replicate_usage, stderr);
		return 2;
	}
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if ((e = cv_store_open_key(data, key, CV_STORE_CREATE | CV_STORE_REPLICATION, &s)) !=
	    CV_OK) {
		fprintf(stderr, "chainvote replicate: %s: %s\n", data, cv_err_message(e));
		return 1;
	}
	while (!stop) {
		cv_cluster_info info;

		/* The programs recover the store together when one of their workers died
		 * inside it (lib/service/supervisor.c): recovery needs every handle closed,
		 * this one too. Closed until the request is gone, then joined again. */
		if (recovery_requested(data)) {
			printf("replicate: the programs recover the store; leaving the group "
			       "meanwhile\n");
			fflush(stdout);
			cv_store_close(s);
			s = NULL;
			for (int i = 0;
			     i < RECOVERY_WAIT_TICKS && !stop && recovery_requested(data); i++)
				sleep_ms(100);
			if (stop)
				break;
			if ((e = cv_store_open_key(data, key, CV_STORE_REPLICATION, &s)) != CV_OK) {
				fprintf(stderr, "chainvote replicate: %s: %s\n", data,
				        cv_err_message(e));
				return 1;
			}
			role[0] = '\0';
			continue;
		}

		if (cv_store_cluster_info(s, &info) == CV_OK) {
			if (strcmp(role, info.role) != 0) {
				snprintf(role, sizeof role, "%s", info.role);
				printf("replicate: role %s, master %s, generation %u\n", info.role,
				       info.master_known ? info.master.url : "unknown",
				       info.generation);
				fflush(stdout);
			}
			if (!announced && ready != NULL &&
			    (strcmp(info.role, "master") == 0 ||
			     (strcmp(info.role, "replica") == 0 && info.startup_done))) {
				FILE *f = fopen(ready, "w");

				if (f != NULL) {
					fprintf(f, "%s\n", info.role);
					fclose(f);
					announced = true;
				}
			}
		}
		/* the group's checkpoints are the master's, written here (the programs'
		 * processes do not checkpoint a replicated store); replicas replay them */
		if (++ticks % CHECKPOINT_TICKS == 0 && strcmp(role, "master") == 0 &&
		    (e = cv_store_checkpoint(s)) != CV_OK)
			fprintf(stderr, "replicate: checkpoint: %s\n", cv_err_message(e));
		sleep_ms(200);
	}
	cv_store_close(s);
	return 0;
}

static const char cluster_usage[] =
    "usage: chainvote cluster status --url URL [--cacert FILE]\n"
    "       chainvote cluster remove --data DIR [--store-key FILE] HOST:PORT\n"
    "status: the replication group as the node at URL sees it (GET /api/cluster): its\n"
    "role, the master, the group's size, and each site's address, connection and lag\n"
    "behind the master in bytes of log. Exit 1 when the node knows no master.\n"
    "remove: takes the site at HOST:PORT (its replication address) out of the group's\n"
    "membership, through this node (DIR, its store; its replication process must run)\n"
    "and the master: the group's size, quorum and elections no longer count it. Stop\n"
    "that node first; a removed node does not come back (add it again as a new one).\n";

/* chainvote cluster remove: argv[0] is "remove". */
static int cluster_remove(int argc, char **argv)
{
	static const struct option opts[] = {{"data", required_argument, NULL, 'd'},
	                                     {"store-key", required_argument, NULL, 'k'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	const char *data = NULL, *key = NULL;
	cv_store *s = NULL;
	cv_err e;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'd')
			data = optarg;
		else if (c == 'k')
			key = optarg;
		else {
			fputs(cluster_usage, c == 'h' ? stdout : stderr);
			return c == 'h' ? 0 : 2;
		}
	}
	if (data == NULL || optind + 1 != argc) {
		fputs(cluster_usage, stderr);
		return 2;
	}
	if ((e = cv_store_open_key(data, key, 0, &s)) != CV_OK) {
		fprintf(stderr, "chainvote cluster remove: %s: %s\n", data, cv_err_message(e));
		return 1;
	}
	e = cv_store_cluster_remove(s, argv[optind]);
	cv_store_close(s);
	if (e != CV_OK) {
		fprintf(stderr, "chainvote cluster remove: %s: %s%s\n", argv[optind],
		        cv_err_message(e),
		        e == CV_E_BAD_STATE   ? " (this node itself, or a node still running: stop "
		                                "it first)"
		        : e == CV_E_NOT_FOUND ? " (not a member of this node's group)"
		        : e == CV_E_BUSY      ? " (this node's replication process does not run)"
		                              : "");
		return 1;
	}
	printf("removed %s from the group\n", argv[optind]);
	return 0;
}

static const char *str_of(json_object *o, const char *key)
{
	json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return "-";
	return json_object_get_string(v);
}

static void print_lag(json_object *o)
{
	json_object *v;

	if (json_object_object_get_ex(o, "lag_bytes", &v) && json_object_is_type(v, json_type_int))
		printf("%lld", (long long)json_object_get_int64(v));
	else
		printf("-");
}

int cmd_cluster(int argc, char **argv)
{
	static const struct option opts[] = {
	    CLI_SERVICE_OPTIONS, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	cli_service svc = {0};
	cv_http_reply r = {0};
	json_object *v, *sites, *master, *self;
	cv_http *http;
	int c, rc;

	if (argc >= 2 && strcmp(argv[1], "remove") == 0)
		return cluster_remove(argc - 1, argv + 1);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (cli_service_opt(c, optarg, &svc))
			continue;
		if (c == 'h') {
			fputs(cluster_usage, stdout);
			return 0;
		}
		fputs(cluster_usage, stderr);
		return 2;
	}
	if (optind + 1 != argc || strcmp(argv[optind], "status") != 0 || svc.url == NULL) {
		fputs(cluster_usage, stderr);
		return 2;
	}
	if ((http = cli_open_http("cluster", &svc)) == NULL)
		return 1;
	rc = cli_get_json("cluster", http, "/api/cluster", &r);
	cli_close_http(http);
	if (rc != 0)
		return rc;
	if (!json_object_object_get_ex(r.body, "replicated", &v) || !json_object_get_boolean(v)) {
		printf("not replicated: a single machine's store\n");
		cv_http_reply_free(&r);
		return 0;
	}
	master = json_object_object_get_ex(r.body, "master", &v) ? v : NULL;
	printf("role: %s\n", str_of(r.body, "role"));
	self = json_object_object_get_ex(r.body, "self", &v) ? v : NULL;
	printf("self: %s %s\n", str_of(self, "address"), str_of(self, "url"));
	printf("master: %s %s\n", str_of(master, "address"), str_of(master, "url"));
	if (json_object_object_get_ex(r.body, "group_size", &v))
		printf("group: %lld sites\n", (long long)json_object_get_int64(v));
	if (json_object_object_get_ex(r.body, "lag_bytes", &v)) {
		printf("lag: ");
		print_lag(r.body);
		printf(" bytes\n");
	}
	if (json_object_object_get_ex(r.body, "sites", &sites) &&
	    json_object_is_type(sites, json_type_array)) {
		printf("sites:\n");
		for (size_t i = 0; i < json_object_array_length(sites); i++) {
			json_object *s = json_object_array_get_idx(sites, i);

			printf("  %s %s %s%s lag ", str_of(s, "address"), str_of(s, "url"),
			       json_object_object_get_ex(s, "connected", &v) &&
			               json_object_get_boolean(v)
			           ? "connected"
			           : "disconnected",
			       json_object_object_get_ex(s, "master", &v) &&
			               json_object_get_boolean(v)
			           ? " master"
			           : "");
			print_lag(s);
			printf("\n");
		}
	}
	rc = master != NULL && json_object_is_type(master, json_type_object) ? 0 : 1;
	cv_http_reply_free(&r);
	return rc;
}
