/* chainvote change: a validator's side of the changes of the parameters in force during
 * an open election (docs/GOVERNANCE.md): propose one signed with its key, sign one that
 * waits, list them with their signers. The key never leaves this process: only the
 * signature over the change's message is sent. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "client.h"
#include "cmd.h"
#include "crypto.h"
#include "json.h"

enum {
	OPT_KEY = CLI_OPT_OWN,
	OPT_CLOSES,
	OPT_DIFFICULTY,
	OPT_OLD_KEY,
	OPT_NEW_KEY,
	OPT_HEIGHT,
	OPT_HELP
};

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: chainvote change propose --url URL [--cacert FILE] [--election SLUG] "
	        "--key FILE\n"
	        "                                (--closes UNIX | --difficulty N |\n"
	        "                                 --old-key HEX --new-key HEX) [--height H]\n"
	        "       chainvote change sign --url URL [--cacert FILE] [--election SLUG] --key "
	        "FILE ID\n"
	        "       chainvote change list --url URL [--cacert FILE] [--election SLUG]\n"
	        "propose signs a change of the election's closes, difficulty or a validator's key\n"
	        "with the validator key in FILE and sends it; it is for block H (default: the\n"
	        "next block) and in force from H + 1. sign adds this validator's signature to\n"
	        "the waiting change ID (its id is checked against what is signed). Once\n"
	        "threshold validators have signed, the change is offered as block H alone and\n"
	        "approved as any block. A change whose block height passes before that is\n"
	        "missed: propose it again. list prints every change with its signers.\n" CACERT_HELP
	        "Exit status: 0 done, 1 refused or a problem, 2 usage.\n");
}

typedef struct opts {
	cli_service svc;
	const char *key_path, *old_key, *new_key;
	const char *closes, *difficulty, *height;
} opts;

/* Strict decimal within max: 0, or -1 with a message. */
static int parse_u64(const char *what, const char *s, uint64_t max, uint64_t *out)
{
	char *end = NULL;
	unsigned long long v;

	if (s[0] < '0' || s[0] > '9' || strlen(s) > 20)
		goto bad;
	v = strtoull(s, &end, 10);
	if (*end != '\0' || v > max)
		goto bad;
	*out = v;
	return 0;
bad:
	fprintf(stderr, "chainvote change: %s wants a number from 0 to %" PRIu64 "\n", what, max);
	return -1;
}

static void print_change(const cv_change *c)
{
	char hex[2 * CV_KEY_LEN + 1], hex2[2 * CV_KEY_LEN + 1];

	switch (c->kind) {
	case CV_CHANGE_CLOSES:
		printf("closes -> %" PRIu64, c->closes);
		break;
	case CV_CHANGE_DIFFICULTY:
		printf("difficulty -> %u", (unsigned)c->difficulty);
		break;
	default:
		cv_hex_encode(c->old_key, 8, hex);
		cv_hex_encode(c->new_key, 8, hex2);
		printf("validator key %s… -> %s…", hex, hex2);
	}
}

/* The change's fields from the options (exactly one kind). 0, or -1 with a message. */
static int change_fields(const opts *o, cv_change *c)
{
	uint64_t v;
	int kinds = (o->closes != NULL) + (o->difficulty != NULL) +
	            (o->old_key != NULL || o->new_key != NULL);

	if (kinds != 1) {
		fprintf(stderr, "chainvote change: propose wants one of --closes, --difficulty, "
		                "or --old-key with --new-key\n");
		return -1;
	}
	if (o->closes != NULL) {
		if (parse_u64("--closes", o->closes, UINT64_MAX, &v) != 0)
			return -1;
		c->kind = CV_CHANGE_CLOSES;
		c->closes = v;
	} else if (o->difficulty != NULL) {
		if (parse_u64("--difficulty", o->difficulty, 255, &v) != 0)
			return -1;
		c->kind = CV_CHANGE_DIFFICULTY;
		c->difficulty = (uint8_t)v;
	} else {
		if (o->old_key == NULL || o->new_key == NULL ||
		    cv_hex_decode(o->old_key, c->old_key, CV_KEY_LEN) != CV_OK ||
		    cv_hex_decode(o->new_key, c->new_key, CV_KEY_LEN) != CV_OK) {
			fprintf(stderr,
			        "chainvote change: --old-key and --new-key want public keys "
			        "(130 lowercase hex digits)\n");
			return -1;
		}
		c->kind = CV_CHANGE_VALIDATOR_KEY;
	}
	return 0;
}

/* POSTs body to path and prints the answer's signature count. 0, or -1 printed. */
static int post_change(cv_http *http, const char *path, json_object *body, const char *what)
{
	cv_http_reply r = {0};
	uint64_t n = 0;
	cv_err err = cv_http_request(http, "POST", path, body, &r);
	int ok = -1;

	if (err == CV_OK && r.status == 201 &&
	    cv_json_get_u64(r.body, "n_signatures", UINT64_MAX, &n) == CV_OK) {
		json_object *id;
		const char *id_hex =
		    json_object_object_get_ex(r.body, "id", &id) ? json_object_get_string(id) : "?";

		printf("change %s %s: %" PRIu64 " signature%s\n", id_hex, what, n,
		       n == 1 ? "" : "s");
		ok = 0;
	} else {
		cli_print_refusal("change", path, &r);
	}
	cv_http_reply_free(&r);
	return ok;
}

static int do_propose(cv_http *http, const opts *o, cv_privkey *key)
{
	cv_http_reply r = {0};
	cv_api_election el = {0};
	cv_change c = {0};
	json_object *body = NULL;
	uint64_t height = 0, next = 0;
	int status = 1;

	if (change_fields(o, &c) != 0)
		return 2;
	if (o->height != NULL && parse_u64("--height", o->height, UINT64_MAX - 1, &height) != 0)
		return 2;
	if (cli_get_json("change", http, "/api/election", &r) != 0)
		goto out;
	if (cv_api_election_read(r.body, &el) != CV_OK || !el.opened) {
		fprintf(stderr, "chainvote change: the election is not open\n");
		goto out;
	}
	memcpy(c.election_id, el.genesis_hash, CV_HASH_LEN);
	next = el.tip_height + 1;
	c.effective_height = (o->height != NULL ? height : next) + 1;
	if (cv_change_sign(&c, key) != CV_OK || (body = cv_change_to_json(&c)) == NULL) {
		fprintf(stderr, "chainvote change: the change could not be signed\n");
		goto out;
	}
	printf("proposing ");
	print_change(&c);
	printf(" for block %" PRIu64 " (in force from %" PRIu64 ")\n", c.effective_height - 1,
	       c.effective_height);
	if (post_change(http, "/api/changes", body, "proposed") == 0)
		status = 0;
out:
	json_object_put(body);
	cv_api_election_free(&el);
	cv_http_reply_free(&r);
	cv_change_free(&c);
	return status;
}

static int do_sign(cv_http *http, const char *id_hex, cv_privkey *key)
{
	uint8_t id[CV_HASH_LEN], computed[CV_HASH_LEN], ours[CV_KEY_LEN];
	char status_word[16] = "", path[128];
	cv_http_reply r = {0};
	cv_change c = {0};
	json_object *body = NULL;
	cv_err err;
	int status = 1;

	if (cli_parse_hash("change", "ID", id_hex, id) != 0)
		return 2;
	if (cli_get_json("change", http, "/api/changes", &r) != 0)
		goto out;
	err = cv_api_change_find(r.body, id_hex, &c, status_word, sizeof status_word);
	if (err != CV_OK) {
		fprintf(stderr, "chainvote change: %s\n",
		        err == CV_E_NOT_FOUND ? "no change has that id"
		                              : "/api/changes is malformed");
		goto out;
	}
	/* what is signed is what the id names: the service cannot swap the change */
	if (cv_change_id(&c, computed) != CV_OK || memcmp(computed, id, CV_HASH_LEN) != 0) {
		fprintf(stderr, "chainvote change: the change listed is not the one ID names\n");
		goto out;
	}
	if (strcmp(status_word, "committed") == 0 || strcmp(status_word, "missed") == 0) {
		fprintf(stderr, "chainvote change: the change is %s: nothing to sign\n",
		        status_word);
		goto out;
	}
	printf("signing ");
	print_change(&c);
	printf(" for block %" PRIu64 "\n", c.effective_height - 1);
	if ((err = cv_change_sign(&c, key)) != CV_OK) {
		fprintf(stderr, "chainvote change: %s\n",
		        err == CV_E_EXISTS ? "this key has signed it already" : cv_err_code(err));
		goto out;
	}
	cv_privkey_public(key, ours);
	for (size_t i = 0; i < c.n_signatures && body == NULL; i++)
		if (memcmp(c.signatures[i].validator_key, ours, CV_KEY_LEN) == 0)
			body = cv_approval_to_json(&c.signatures[i]);
	if (body == NULL) {
		fprintf(stderr, "chainvote change: out of memory\n");
		goto out;
	}
	snprintf(path, sizeof path, "/api/changes/%s/signatures", id_hex);
	if (post_change(http, path, body, "signed") == 0)
		status = 0;
out:
	json_object_put(body);
	cv_http_reply_free(&r);
	cv_change_free(&c);
	return status;
}

static int do_list(cv_http *http)
{
	cv_http_reply r = {0};
	json_object *list, *item, *v;
	uint64_t height = 0, threshold = 0;
	int status = 1;

	if (cli_get_json("change", http, "/api/changes", &r) != 0)
		return 1;
	if (cv_json_get_u64(r.body, "height", UINT64_MAX, &height) != CV_OK ||
	    cv_json_get_u64(r.body, "threshold", 255, &threshold) != CV_OK ||
	    cv_json_get_array(r.body, "changes", &list) != CV_OK) {
		fprintf(stderr, "chainvote change: /api/changes is malformed\n");
		goto out;
	}
	printf("next block %" PRIu64 ", threshold %" PRIu64 ", %zu change%s\n", height, threshold,
	       json_object_array_length(list), json_object_array_length(list) == 1 ? "" : "s");
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		cv_change c;
		json_object *signers;
		uint64_t at = 0;

		item = json_object_array_get_idx(list, i);
		if (!json_object_object_get_ex(item, "change", &v) ||
		    cv_change_from_json(v, &c) != CV_OK ||
		    cv_json_get_u64(item, "height", UINT64_MAX, &at) != CV_OK ||
		    cv_json_get_array(item, "signers", &signers) != CV_OK) {
			fprintf(stderr, "chainvote change: /api/changes is malformed\n");
			goto out;
		}
		json_object_object_get_ex(item, "id", &v);
		printf("%s ", json_object_get_string(v));
		json_object_object_get_ex(item, "status", &v);
		printf("%s block %" PRIu64 ": ", json_object_get_string(v), at);
		print_change(&c);
		printf(", %zu of %" PRIu64 " signatures:", c.n_signatures, threshold);
		for (size_t k = 0; k < json_object_array_length(signers); k++) {
			json_object *name;

			if (json_object_object_get_ex(json_object_array_get_idx(signers, k), "name",
			                              &name) &&
			    json_object_is_type(name, json_type_string))
				printf("%s %s", k ? "," : "", json_object_get_string(name));
			else
				printf("%s (a key no longer in force)", k ? "," : "");
		}
		printf("\n");
		cv_change_free(&c);
	}
	status = 0;
out:
	cv_http_reply_free(&r);
	return status;
}

int cmd_change(int argc, char **argv)
{
	static const struct option longopts[] = {
	    CLI_SERVICE_OPTIONS,
	    {"key", required_argument, NULL, OPT_KEY},
	    {"closes", required_argument, NULL, OPT_CLOSES},
	    {"difficulty", required_argument, NULL, OPT_DIFFICULTY},
	    {"old-key", required_argument, NULL, OPT_OLD_KEY},
	    {"new-key", required_argument, NULL, OPT_NEW_KEY},
	    {"height", required_argument, NULL, OPT_HEIGHT},
	    {"help", no_argument, NULL, OPT_HELP},
	    {NULL, 0, NULL, 0},
	};
	opts o = {0};
	const char *action;
	cv_privkey *key = NULL;
	cv_http *http = NULL;
	int c, status = 1;

	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	action = argv[1];
	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (cli_service_opt(c, optarg, &o.svc))
			continue;
		switch (c) {
		case OPT_KEY:
			o.key_path = optarg;
			break;
		case OPT_CLOSES:
			o.closes = optarg;
			break;
		case OPT_DIFFICULTY:
			o.difficulty = optarg;
			break;
		case OPT_OLD_KEY:
			o.old_key = optarg;
			break;
		case OPT_NEW_KEY:
			o.new_key = optarg;
			break;
		case OPT_HEIGHT:
			o.height = optarg;
			break;
		case OPT_HELP:
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (o.svc.url == NULL ||
	    (strcmp(action, "list") == 0 ? argc != optind
	     : strcmp(action, "sign") == 0
	         ? o.key_path == NULL || argc - optind != 1
	         : strcmp(action, "propose") != 0 || o.key_path == NULL || argc != optind)) {
		usage(stderr);
		return 2;
	}
	if (o.key_path != NULL && (key = cli_load_key("change", o.key_path)) == NULL)
		goto out;
	if ((http = cli_open_http("change", &o.svc)) == NULL)
		goto out;
	if (strcmp(action, "list") == 0)
		status = do_list(http);
	else if (strcmp(action, "sign") == 0)
		status = do_sign(http, argv[optind], key);
	else
		status = do_propose(http, &o, key);
out:
	cli_close_http(http);
	cv_privkey_free(key);
	return status;
}
