/* Voter recovery in an election's data directory: the eligibility entries with their
 * states, a new code for an unused entry, a registered key revoked in set-up. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd_admin.h"
#include "cmd.h"

/* ---- voter recovery ---- */

static const char eligible_list_usage[] =
    "usage: chainvote eligible-list --data DIR\n"
    "Prints every eligibility entry as CSV \"voter_id,state,public_key,txid\" (state:\n"
    "unused, registered or voted; the key once registered, the vote's txid once voted),\n"
    "in voter id order, and the counts per state on stderr. Never a code: the store\n"
    "holds only their salted hashes.\n";

int cmd_eligible_list(int argc, char **argv)
{
	const char *data = NULL;
	char after[CV_ELIGIBLE_TEXT_MAX + 1] = "", key[2 * CV_KEY_LEN + 1],
	                                  txid[2 * CV_HASH_LEN + 1];
	cv_eligible_entry *page = NULL;
	cv_eligible_counts counts = {0};
	bool more = true;
	size_t n;
	cv_store *s;
	cv_err e = CV_OK;
	int rc = data_only("eligible-list", argc, argv, eligible_list_usage, &data);

	if (rc >= 0)
		return rc;
	if ((s = open_store("eligible-list", data, 0)) == NULL)
		return 1;
	if ((page = malloc(CV_ELIGIBLE_PAGE_MAX * sizeof *page)) == NULL)
		e = CV_E_NOMEM;
	if (e == CV_OK)
		printf("voter_id,state,public_key,txid\n");
	while (e == CV_OK && more) {
		e = cv_store_eligible_page(s, after, CV_ELIGIBLE_PAGE_MAX, page, &n, &more);
		for (size_t i = 0; e == CV_OK && i < n; i++) {
			const cv_eligible_entry *en = &page[i];

			key[0] = txid[0] = '\0';
			if (en->state != CV_VOTER_UNUSED)
				cv_hex_encode(en->key, CV_KEY_LEN, key);
			if (en->state == CV_VOTER_VOTED)
				cv_hex_encode(en->txid, CV_HASH_LEN, txid);
			printf("%s,%s,%s,%s\n", en->voter_id, cv_voter_state_name(en->state), key,
			       txid);
		}
		if (e == CV_OK && n > 0)
			memcpy(after, page[n - 1].voter_id, sizeof after);
	}
	if (e == CV_OK)
		e = cv_store_eligible_counts(s, &counts);
	free(page);
	cv_store_close(s);
	if (e != CV_OK)
		return fail("eligible-list", e, NULL);
	fprintf(stderr,
	        "%" PRIu64 " eligible: %" PRIu64 " unused, %" PRIu64 " registered, %" PRIu64
	        " voted\n",
	        counts.eligible, counts.unused, counts.registered, counts.voted);
	return 0;
}

static const struct option recovery_opts[] = {
    {"data", required_argument, NULL, OPT_DATA},
    {"store-key", required_argument, NULL, OPT_STORE_KEY},
    {"code", required_argument, NULL, OPT_CODE},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

static const char reissue_usage[] =
    "usage: chainvote reissue --data DIR [--code CODE] VOTER_ID\n"
    "Gives an eligibility entry whose code is unused a new code: the old one stops\n"
    "working. Without --code a random one is made. Prints \"voter_id,code\" once: hand it\n"
    "to the voter. Set-up only (the roll is sealed in the genesis block at the opening).\n"
    "A chosen code needs 40 bits: e.g. 8 letters and digits, 10 hex digits, 13 digits;\n"
    "case, spaces and dashes do not matter. A registered voter needs revoke instead.\n";

static const char revoke_usage[] =
    "usage: chainvote revoke --data DIR [--code CODE] VOTER_ID\n"
    "Takes a registered voter's key off the roll (a vote signed with it is refused,\n"
    "not_on_roll) and gives the entry a new code to register again with another key;\n"
    "refused for a key that has voted. Prints \"voter_id,code\" once. Set-up only; --code\n"
    "as for chainvote reissue.\n";

/* reissue and revoke: one entry, a new code, printed once it is stored. */
static int recovery_cmd(const char *cmd, int argc, char **argv, const char *usage, bool revoke)
{
	const char *data = NULL, *given = NULL, *voter_id;
	char code[CV_CODE_INPUT_MAX + 1], hex[2 * CV_KEY_LEN + 1];
	uint8_t key[CV_KEY_LEN];
	cv_store *s;
	cv_err e;
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", recovery_opts, NULL)) != -1) {
		if (c == OPT_CODE) {
			given = optarg;
			continue;
		}
		if ((r = common_opt(cmd, c, usage, &data)) >= 0)
			return r;
	}
	if (optind != argc - 1)
		return usage_error(cmd, "expected one VOTER_ID");
	if (data == NULL)
		return usage_error(cmd, "--data is required");
	voter_id = argv[optind];
	/* no --code: "" has the store make one, left in code */
	code[0] = '\0';
	if (given != NULL) {
		if (given[0] == '\0' || strlen(given) >= sizeof code)
			return fail(cmd, CV_E_MALFORMED, "--code");
		memcpy(code, given, strlen(given) + 1);
	}
	if ((s = open_store(cmd, data, 0)) == NULL)
		return 1;
	e = revoke ? cv_store_revoke_key(s, voter_id, code, key)
	           : cv_store_reissue_code(s, voter_id, code);
	cv_store_close(s);
	if (e != CV_OK)
		return fail(cmd, e, voter_id);
	printf("%s,%s\n", voter_id, code);
	if (revoke) {
		cv_hex_encode(key, CV_KEY_LEN, hex);
		fprintf(stderr, "key %s taken off the roll\n", hex);
	}
	return 0;
}

int cmd_reissue(int argc, char **argv)
{
	return recovery_cmd("reissue", argc, argv, reissue_usage, false);
}

int cmd_revoke(int argc, char **argv)
{
	return recovery_cmd("revoke", argc, argv, revoke_usage, true);
}
