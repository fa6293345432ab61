/* What the validator's commands share (private to them): cmd_validator.c holds the check
 * every verdict rests on, the choice of the proposal to approve at a height and the
 * posting of verdicts, with approve and reject; cmd_validator_daemon.c the daemon, which
 * keeps what it signed in the journal of cmd_validator_journal.c. */
#ifndef CV_CMD_VALIDATOR_H
#define CV_CMD_VALIDATOR_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "api.h"
#include "chain.h"
#include "client.h"
#include "http.h"

/* The getopt values of approve, reject and validator, after the service options. */
enum {
	OPT_KEY = CLI_OPT_OWN,
	OPT_ALL,
	OPT_REASON,
	OPT_INTERVAL,
	OPT_JOURNAL,
	OPT_PROPOSE_AFTER,
	OPT_SHARE,
	OPT_HELP
};

/* ---- the check every verdict rests on (cmd_validator.c) ---- */

/* What a validator needs to check proposals: the genesis and the chain tip's block. */
typedef struct checker {
	const char *prog; /* the command, in messages */
	FILE *out;        /* where verdicts are reported: stdout, the daemon's stderr */
	const char *tag;  /* before each verdict line ("" or "chainvote validator: ") */
	cv_http *http;
	cv_block genesis;
	cv_block prev; /* the block below the proposals' height, when fetched */
	int have_prev;
	uint64_t failed_prev; /* a height whose block could not be fetched; 0: none */
	uint64_t closed_at;   /* the service's close (GET /api/election), 0 while open */
	/* the parameters in force below the height checked (docs/GOVERNANCE.md): the
	 * genesis with the committed changes that GET /api/changes lists applied */
	cv_params params;
	uint64_t params_below; /* the height they are for; 0: not read */
} checker;

/* One proposal, fetched whole (GET /api/proposals/{hash}), and what the local check
 * made of it. */
typedef struct proposal {
	cv_block block;
	int unreadable; /* not fetched or not parsed: verdict says why */
	int no_prev;    /* the block below it could not be fetched: unchecked */
	cv_err verdict; /* CV_OK: passes every rule checked here */
	size_t bad_vote;
} proposal;

/* What became of a verdict sent to the service. */
typedef enum sent {
	SENT = 0,         /* recorded, now or before */
	SENT_REFUSED = 1, /* the service refused it (reported): sending it again is no use */
	SENT_NOT = 2      /* it did not arrive (reported): it may be sent again */
} sent;

void checker_free(checker *k);
/* One verdict line, after the checker's tag. */
__attribute__((format(printf, 2, 3))) void report(const checker *k, const char *fmt, ...);
/* Fetches proposal hash whole and checks it here: 0 with p filled (caller frees
 * p->block), -1 when the service does not know it. */
int fetch_proposal(checker *k, const uint8_t hash[CV_HASH_LEN], proposal *p);
/* Why the rules refuse p, in one line (a rejection's reason). */
void refusal_text(const proposal *p, char text[CV_TEXT_MAX + 1]);
/* Reports why p is not signed; 1 when it is not, 0 when it may be signed. */
int refuse(const checker *k, const proposal *p, const char *hex);
/* Sign and post a verdict, reporting the outcome (height 0: not known). */
sent post_approval(const checker *k, const cv_privkey *key, const cv_block *b);
sent post_rejection(const checker *k, const cv_privkey *key, const uint8_t block_hash[CV_HASH_LEN],
                    uint64_t height, const char *reason);
/* The order in which the proposals at a height are considered for an approval. */
void choice_order(const cv_api_proposal_list *l, size_t *order);
/* GET /api/proposals into *list. 0, or -1 with a message printed. */
int fetch_list(const checker *k, cv_api_proposal_list *list);
/* Whether key is one of the validators of k's genesis: 0, or -1 with a message. */
int check_validator(checker *k, const cv_privkey *key, const char *key_path);

/* ---- the daemon's journal (cmd_validator_journal.c) ---- */

/* The journal is a text file, one line per signature, appended and synced before the
 * signature is sent:
 *     approve ELECTION_ID HEIGHT BLOCK_HASH
 *     reject ELECTION_ID HEIGHT BLOCK_HASH
 * (hashes in lowercase hex). An approval line for a height forbids an approval of any
 * other block at that height of that election. A last line without its newline is a
 * write cut short, whose signature was never sent: it is dropped. Any other line not
 * understood stops the daemon, since it might be a signature it would then forget. */
typedef struct entry {
	uint8_t election_id[CV_HASH_LEN];
	uint64_t height;
	uint8_t block_hash[CV_HASH_LEN];
	char kind;  /* 'a' approved, 'r' rejected (both in the file), 'n' declined: memory */
	int posted; /* the service has it (in this run) */
} entry;

typedef struct journal {
	const char *path;
	int fd;
	entry *items;
	size_t n, cap;
} journal;

void journal_close(journal *j);
/* Adds e to the entries in memory; -1 when out of memory. */
int journal_keep(journal *j, const entry *e);
/* Opens (creating, mode 0600), locks and reads the journal at path: 0, or -1 with a
 * message printed. */
int journal_open(journal *j, const char *path);
/* The entry of block_hash in election, or NULL. */
entry *journal_find(journal *j, const uint8_t election_id[CV_HASH_LEN],
                    const uint8_t block_hash[CV_HASH_LEN]);
/* The approval recorded at height in election, or NULL. */
const entry *journal_approved_at(const journal *j, const uint8_t election_id[CV_HASH_LEN],
                                 uint64_t height);
/* Appends e's line and syncs it, then keeps e in memory: 0, or -1 with a message
 * printed (nothing may then be signed). */
int journal_append(journal *j, const entry *e);
/* Syncs the directory that holds path: 0, or -1. */
int sync_parent(const char *path);

#endif
