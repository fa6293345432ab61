/* The election store: one Berkeley DB transactional environment per installation, holding
 * every election (see "many elections" below), shared by many processes (DB_REGISTER |
 * DB_RECOVER, deadlock detection, failchk). Every
 * operation is one transaction, retried on DB_LOCK_DEADLOCK, committed durably before it
 * returns CV_OK. Rules are not written here: the store calls rules*.c. */
#ifndef CV_STORE_H
#define CV_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "chain.h"
#include "err.h"
#include "merkle.h"
#include "rules.h"
#include "sealed.h"
#include "secret.h"

typedef enum cv_state { CV_STATE_SETUP = 0, CV_STATE_OPEN = 1, CV_STATE_CLOSED = 2 } cv_state;
const char *cv_state_name(cv_state s); /* "setup", "open", "closed" */

typedef struct cv_store cv_store;

#define CV_STORE_CREATE 0x1 /* create the environment if it does not exist */

/* The store key: encryption at rest is the default (README, "The store key"). A new
 * store is encrypted, under the key file named or the default one (made when missing),
 * unless it is created with CV_STORE_KEY_NONE; then it is unencrypted for its whole
 * life (chainvote rekey moves it to an encrypted one), as is a store made before
 * encryption was the default.
 * Every database and log file of an encrypted environment is encrypted with
 * Berkeley DB's AES (DB_ENCRYPT_AES: AES-128-CBC, the key derived from the password by
 * SHA-1, each page and log record checked with HMAC-SHA1) under the password held in a
 * key file: CV_STORE_KEY_HEX lowercase hex digits (256 bits from the system's
 * generator) and a line end, readable by its owner only. The shared regions (the cache
 * holds pages in the clear, the first region the key) are in system memory, never in
 * files, and the last handle to close removes them. Without the key the store cannot
 * be opened, recovered or restored; there is no other copy of it. */
#define CV_STORE_KEY_HEX 64
/* key_file value that makes or opens an unencrypted store (the explicit opt-out; such a
 * store, or one from before encryption, also opens with no key_file): benchmarks, and
 * the way to encrypt one (cv_store_rekey). */
#define CV_STORE_KEY_NONE "none"
/* The default key file of the environment in dir: keys/store.key beside dir, outside the
 * directory that backups copy (DATA/election -> DATA/keys/store.key). CV_E_TOO_LARGE
 * when it does not fit in n bytes. */
cv_err cv_store_key_default(const char *dir, char *out, size_t n);
/* Writes a new key file at path (mode 0600; its directory made 0700 when missing) and
 * syncs it. CV_E_EXISTS when path exists (it is never overwritten). */
cv_err cv_store_key_create(const char *path);

/* Opens (and with CV_STORE_CREATE creates) the environment in dir with the key in
 * key_file (NULL: cv_store_key_default; an existing store made without a key, when that
 * file does not exist, opens unencrypted exactly as before encryption existed).
 * Creating a new environment with a key file (named or the default) that does not exist
 * makes the key first; CV_STORE_KEY_NONE creates an unencrypted one. CV_E_STORE_KEY (the reason on
 * stderr) when the key file is missing for an existing store, is open to others, is malformed or is
 * not the store's key, and when an unencrypted store is opened with a key. Runs recovery when the
 * register says a process died. One handle per process (not per thread). */
cv_err cv_store_open_key(const char *dir, const char *key_file, unsigned flags, cv_store **out);
/* cv_store_open_key with the default key file. */
cv_err cv_store_open(const char *dir, unsigned flags, cv_store **out);
/* NULL is a no-op. Of an encrypted store, the last handle to close runs recovery and
 * removes the regions (the decrypted cache in shared memory). */
void cv_store_close(cv_store *s);
/* cv_store_close leaving the regions as they are, for a process after which others
 * open the store at once: a worker stopped because a recovery is about to run (which
 * makes them anew), the services' first open before their workers start. */
void cv_store_close_keep_regions(cv_store *s);
/* Checkpoint and removal of log files no longer needed. In a replicated store only the
 * replication process checkpoints (a no-op elsewhere). */
cv_err cv_store_checkpoint(cv_store *s);
/* Hot backup while other processes keep working: copies the databases and the log into
 * target (created; CV_E_EXISTS when it exists), then runs catastrophic recovery on the
 * copy so that it is a consistent environment of its own. Restoring is using (or
 * copying back) that directory as a data directory. */
cv_err cv_store_backup(cv_store *s, const char *target);
/* Every open handle holds dir/recovery.lock shared (cv_store_open waits while it is
 * held exclusively). This takes it exclusively without waiting: a descriptor to close
 * to let go, or -1 (errno EWOULDBLOCK) while any process has the environment open. */
int cv_store_lock_exclusive(const char *dir);
/* Normal recovery of the environment in dir under the key in key_file (NULL: the
 * default when it exists, else none; CV_E_STORE_KEY when it is missing or not the
 * store's), regions made anew. An encrypted store's are left for the processes that
 * open it next (the last to close removes them) with keep_regions, else removed; an
 * unencrypted store's stay in their files. The caller holds
 * cv_store_lock_exclusive (in its own process or a parent's), so nobody else has the
 * environment open: the services call it after a process died inside the store (see
 * lib/service/supervisor.c). */
cv_err cv_store_recover(const char *dir, const char *key_file, bool keep_regions);
/* The same store under another key, offline: Berkeley DB cannot change the key of an
 * environment in place, so dir is recovered, then every record of every database file
 * (every election's) is copied into a new environment in new_dir (made here;
 * CV_E_EXISTS when it exists) encrypted under new_key_file (which must exist;
 * CV_STORE_KEY_NONE is refused), which is checkpointed so that it needs no log of
 * dir's. dir is opened with key_file (NULL: the default, or none when that does not
 * exist; CV_STORE_KEY_NONE for an unencrypted store, which this encrypts) and only read. The caller
 * holds cv_store_lock_exclusive(dir). Other files of dir (DB_CONFIG, the audit log) are copied as
 * they are. */
cv_err cv_store_rekey(const char *dir, const char *key_file, const char *new_dir,
                      const char *new_key_file);
/* DB_ENV->failchk: releases what dead processes held. CV_E_RECOVER if recovery needed. */
cv_err cv_store_failchk(cv_store *s);
/* Test hook: when n > 0, the n-th following transaction commit fails as a deadlock
 * would (once), so the retry path runs. */
void cv_store_fault_deadlock(cv_store *s, int n);
/* Test hook: the next transaction that is about to commit first sleeps ms milliseconds
 * holding its locks (so a test can kill the process mid-transaction). */
void cv_store_fault_stall(cv_store *s, unsigned ms);
/* Number of transaction retries (deadlocks, lock timeouts) this handle has made. */
unsigned long long cv_store_retries(cv_store *s);

/* ---- replication (lib/store/store_cluster.c, docs/ARCHITECTURE.md "Past one machine") ----
 * An environment whose directory holds CV_CLUSTER_CONF is one site of a Berkeley DB
 * replication group run by the replication manager: every process that opens it joins
 * the group (a subordinate process: it ships the log records of its own commits and
 * waits for their acknowledgements), and one process per site, the replication process
 * (cv_store_open with CV_STORE_REPLICATION, `chainvote replicate`), listens, elects
 * and applies. A commit is answered CV_OK only once a majority of the group holds its
 * log record on disk (DB_REPMGR_ACKS_QUORUM); a commit whose acknowledgements failed
 * is CV_E_NOT_DURABLE, and a write on a replica CV_E_NOT_MASTER. */
#define CV_CLUSTER_CONF      "replication.conf"
#define CV_CLUSTER_MAX_SITES 16
#define CV_STORE_REPLICATION 0x2 /* this process is the site's replication process */
/* A program's worker: in a replicated store, waits (a few seconds) for the site's
 * replication process when it is not running, as after a recovery that closed it. */
#define CV_STORE_WAIT_REPLICATION 0x4
typedef struct cv_cluster_site {
	char host[64];
	unsigned port;  /* the replication port */
	char url[256];  /* the node's HTTP front, where writes are sent when it is master */
	bool connected; /* (info) this process has a connection to it */
	bool is_master; /* (info) */
} cv_cluster_site;
/* A node's configuration file, lines of `directive value...` (# starts a comment):
 *   self HOST:PORT URL     this site's replication address and HTTP front (once)
 *   peer HOST:PORT URL     another site of the group (each, at most 15)
 *   priority N             election priority, 0-1000 (0: never master; default 100)
 *   creator                this site creates the group when it has no membership yet */
typedef struct cv_cluster_conf {
	cv_cluster_site self;
	cv_cluster_site peers[CV_CLUSTER_MAX_SITES - 1];
	size_t n_peers;
	unsigned priority;
	bool creator;
	bool replication_process; /* (set at open) this process is the site's */
	int lock_fd;              /* (set at open) its replication.lock, or -1 */
} cv_cluster_conf;
/* Reads path (CV_E_NOT_FOUND when missing, CV_E_MALFORMED naming the line in *line). */
cv_err cv_cluster_conf_read(const char *path, cv_cluster_conf *c, unsigned *line);
typedef struct cv_cluster_info {
	bool replicated;   /* false: a single machine's store, the rest is zero */
	const char *role;  /* "master", "replica" or "starting" (no master known yet) */
	bool startup_done; /* a replica has caught up with the master once */
	cv_cluster_site self;
	bool master_known;
	cv_cluster_site master;
	uint32_t lsn_file, lsn_offset; /* the end of this site's log */
	uint32_t generation;           /* the election generation */
	uint32_t group_size;           /* the group's members, self included */
	size_t n_sites;                /* every site but self, as the group knows them */
	cv_cluster_site sites[CV_CLUSTER_MAX_SITES];
} cv_cluster_info;
/* What this site knows of the group now. */
cv_err cv_store_cluster_info(cv_store *s, cv_cluster_info *out);
/* Whether the environment is replicated and this site is not the master: a write here
 * would fail (CV_E_NOT_MASTER); the caller sends it to the master's URL (*master_url,
 * "" when no master is known) instead. */
bool cv_store_is_replica(cv_store *s, char *master_url, size_t n);
/* Removes the site at address ("HOST:PORT") from the group's membership (Berkeley DB's
 * DB_SITE->remove: done by the master, asked by any other site): the group's size, its
 * quorum and its elections no longer count it. The site must be stopped first.
 * CV_E_NOT_FOUND: not a member this site knows (or not replicated); CV_E_BAD_STATE: this
 * site itself, or a site still connected; CV_E_BUSY: this site's replication process does
 * not run (nor, then, repmgr in this process); CV_E_MALFORMED: not HOST:PORT. */
cv_err cv_store_cluster_remove(cv_store *s, const char *address);

/* ---- many elections in one environment ----
 * The handle cv_store_open gives is the default election's (the databases meta.db,
 * ... that a data directory has always had). Any number of other elections live in
 * the same environment, each in databases of its own named after its slug
 * (e.<slug>.meta.db, ...), so recovery, checkpoints, backups and db_verify stay one.
 * A registry in the default election's meta database lists them. */
#define CV_ELECTION_SLUG_MAX 32
/* The default election's slug in URLs and listings; never a registered election's. */
#define CV_ELECTION_DEFAULT "default"
/* The one rule of an election's slug: 1-32 bytes of [a-z0-9-]. */
bool cv_election_slug_ok(const char *slug);
/* Registers the election slug (CV_ELECTION_DEFAULT or a known one: CV_E_EXISTS; a slug
 * that breaks the rule: CV_E_MALFORMED) and creates its databases. It has no settings
 * yet: cv_store_create_election on its handle makes it an election in setup. */
cv_err cv_store_add_election(cv_store *root, const char *slug, uint64_t now);
/* The handle of election slug: root itself for CV_ELECTION_DEFAULT, else a handle that
 * shares root's environment and is borrowed (valid until cv_store_close(root);
 * cv_store_close on it is a no-op). Every function of this header works on it.
 * CV_E_MALFORMED for a bad slug, CV_E_NOT_FOUND for one not registered. Threads may
 * share root. */
cv_err cv_store_election(cv_store *root, const char *slug, cv_store **out);
/* The slug of a handle's election (CV_ELECTION_DEFAULT for the root). */
const char *cv_store_slug(const cv_store *s);
typedef struct cv_election_listing {
	char slug[CV_ELECTION_SLUG_MAX + 1];
	uint64_t created; /* when registered */
} cv_election_listing;
/* The registered elections in slug order, the default one not among them (caller frees
 * *out). */
cv_err cv_store_elections(cv_store *root, cv_election_listing **out, size_t *n);
/* Archives the election: only one still in setup (abandoned) or final (sealed), which
 * nothing may change any more; from then on set-up writes are refused (CV_E_ARCHIVED)
 * and cv_info says archived. CV_E_BAD_STATE for an election open or closed but not
 * sealed; CV_E_ARCHIVED when archived already. */
cv_err cv_store_archive(cv_store *s, uint64_t now);

/* ---- election set-up (state setup unless said) ---- */
typedef struct cv_settings {
	cv_election election;
	bool results_after_close; /* tally hidden from the public until closed */
	/* Secret ballots (DESIGN section 6): the trustees are every validator of the
	 * election, quorum (2-255) of them decrypt; quorum <= validators is checked at the
	 * ceremony and the open. An open election has secret false and quorum 0. */
	bool secret;
	uint8_t quorum;
} cv_settings;

/* Creates the election in setup state; CV_E_EXISTS when there is one. */
cv_err cv_store_create_election(cv_store *s, const cv_settings *st);
cv_err cv_store_set_settings(cv_store *s, const cv_settings *st);
cv_err cv_store_put_candidate(cv_store *s, const cv_candidate *c); /* add or rename */
cv_err cv_store_del_candidate(cv_store *s, uint32_t id);
cv_err cv_store_put_validator(cv_store *s, const cv_validator *v); /* add or rename */
cv_err cv_store_del_validator(cv_store *s, const uint8_t key[CV_KEY_LEN]);
/* Voter ids and one-time codes: 1-64 printable ASCII characters without spaces, so
 * that they survive CSV, copying and typing. Every way in (the admin API, the CLI,
 * registration) is held to this one rule. */
#define CV_ELIGIBLE_TEXT_MAX 64
bool cv_eligible_text_ok(const char *s);
/* A fresh one-time code from the OS generator: 12 symbols of Crockford's base32 in
 * groups of four, e.g. "7K3M-Q9XD-2HFB" (60 bits). The one generator of codes. */
#define CV_CODE_LEN 14
cv_err cv_eligible_make_code(char out[CV_CODE_LEN + 1]);
/* The one form in which a code is stored and compared: ASCII spaces, tabs and dashes
 * dropped and letters upper-cased ("7k3m q9xd-2hfb" is "7K3MQ9XD2HFB"), so that a code
 * read aloud, retyped or pasted with its grouping still matches. Every store function
 * that takes a code normalises it first; callers may pass it as typed. True when in (at
 * most CV_CODE_INPUT_MAX bytes) normalises to a valid code (cv_eligible_text_ok), then
 * out holds it; else out is "". */
#define CV_CODE_INPUT_MAX 256
bool cv_eligible_code_normalise(const char *in, char out[CV_ELIGIBLE_TEXT_MAX + 1]);
/* Whether an administrator's code (in normal form) is strong enough: its length over
 * the smallest alphabet that holds all its symbols (digits 10, hex 16, Crockford's
 * base32 32, letters and digits 36, any printable 67) gives at least CV_CODE_MIN_BITS
 * bits: 13 digits, 10 hex digits, 8 letters and digits, 7 of anything. Codes the store
 * makes have 60. */
#define CV_CODE_MIN_BITS 40
bool cv_eligible_code_strong(const char *code);
/* Eligibility entry: voter_id (1-64 printable ASCII) with a one-time code, stored as a
 * salted hash of its normal form. CV_E_EXISTS for a known voter_id, CV_E_MALFORMED for
 * an id or code that breaks the rules above, CV_E_WEAK_CODE for a weak code (so for the
 * batch forms below too). */
cv_err cv_store_add_eligible(cv_store *s, const char *voter_id, const char *code);
/* Binds key to the entry when the code matches and is unused; the code is then spent.
 * CV_E_BAD_CODE (unknown id, wrong or spent code), CV_E_EXISTS (key already on roll). */
cv_err cv_store_register(cv_store *s, const char *voter_id, const char *code,
                         const uint8_t key[CV_KEY_LEN]);
/* Puts a key on the roll directly (bulk rolls from the CLI). */
cv_err cv_store_add_voter(cv_store *s, const uint8_t key[CV_KEY_LEN]);
/* Batch forms for imports: all entries in one transaction, all or nothing. On a
 * refused entry nothing is written and *bad (may be NULL) is its index. */
cv_err cv_store_put_candidates(cv_store *s, const cv_candidate *c, size_t n, size_t *bad);
cv_err cv_store_put_validators(cv_store *s, const cv_validator *v, size_t n, size_t *bad);
cv_err cv_store_add_voters(cv_store *s, const uint8_t (*keys)[CV_KEY_LEN], size_t n, size_t *bad);
typedef struct cv_eligible {
	const char *voter_id;
	const char *code;
	/* the code came from cv_eligible_make_code: 60 random bits, strong whichever
	 * symbols came out (an all-digit draw would fail the chosen-code rule) */
	bool generated;
} cv_eligible;
cv_err cv_store_add_eligibles(cv_store *s, const cv_eligible *e, size_t n, size_t *bad);
/* Merges for imports that may be run again (the admin API): as the batch forms, one
 * transaction, but an entry stored already (same key, or same voter_id) is left as it is
 * and flagged in known[i] (n flags, set by the call) instead of refusing the batch. */
cv_err cv_store_merge_voters(cv_store *s, const uint8_t (*keys)[CV_KEY_LEN], size_t n, bool *known,
                             size_t *bad);
cv_err cv_store_merge_eligibles(cv_store *s, const cv_eligible *e, size_t n, bool *known,
                                size_t *bad);
/* ---- voter recovery (the admin's view of eligibility entries) ----
 * An entry is unused (its code not spent), registered (a key bound and on the roll, no
 * vote) or voted (its key has a vote in the pool or the chain). The roll is sealed in
 * the genesis block when the election opens (DESIGN section 2), and registration ends
 * there: codes are reissued and keys revoked in set-up only. */
typedef enum cv_voter_state {
	CV_VOTER_UNUSED = 0,
	CV_VOTER_REGISTERED = 1,
	CV_VOTER_VOTED = 2
} cv_voter_state;
const char *cv_voter_state_name(cv_voter_state s); /* "unused", "registered", "voted" */
typedef struct cv_eligible_entry {
	char voter_id[CV_ELIGIBLE_TEXT_MAX + 1];
	cv_voter_state state;
	uint8_t key[CV_KEY_LEN];   /* registered and voted: the bound key */
	uint8_t txid[CV_HASH_LEN]; /* voted: the vote's txid */
} cv_eligible_entry;
/* The most entries one page holds. */
#define CV_ELIGIBLE_PAGE_MAX 1000
/* Up to max (1 to CV_ELIGIBLE_PAGE_MAX) entries in voter_id byte order, from the first
 * after `after` (NULL or "": from the start), into out[max]; *n how many, *more whether
 * any follow. One read transaction. */
cv_err cv_store_eligible_page(cv_store *s, const char *after, size_t max, cv_eligible_entry *out,
                              size_t *n, bool *more);
typedef struct cv_eligible_counts {
	uint64_t eligible;   /* every entry */
	uint64_t unused;     /* code not spent */
	uint64_t registered; /* key bound, no vote */
	uint64_t voted;      /* key bound, vote in the pool or the chain */
} cv_eligible_counts;
/* The entries counted by state. In set-up (nobody can have voted) from the counters
 * registration keeps; once open page by page, each page its own short transaction so
 * that votes are not held up: a vote taken meanwhile may or may not be counted. */
cv_err cv_store_eligible_counts(cv_store *s, cv_eligible_counts *out);
/* Replaces the code of an unused entry: the old code stops working, code works instead.
 * code (a buffer of at least CV_CODE_LEN + 1 bytes) is the administrator's choice, as
 * typed (normalised, and strong: CV_E_WEAK_CODE otherwise), or "" to have one made
 * (cv_eligible_make_code), which it then holds. CV_E_NOT_FOUND
 * (unknown voter_id), CV_E_ALREADY_VOTED (its key voted), CV_E_REGISTERED (a key is
 * bound: revoke), CV_E_BAD_STATE (not in set-up), CV_E_MALFORMED (id or code). Nothing
 * is changed on an error. */
cv_err cv_store_reissue_code(cv_store *s, const char *voter_id, char *code);
/* Takes a registered entry's key off the roll and gives the entry the unused code code
 * (as for reissue: chosen, or "" to have one made), so that the voter registers again, with another
 * key. The revoked key is copied to revoked_key (may be NULL). CV_E_NOT_FOUND, CV_E_ALREADY_VOTED
 * (its key has a vote, pending or committed: it stays), CV_E_NOT_REGISTERED (no key bound:
 * reissue), CV_E_BAD_STATE (not in set-up: the roll is sealed in the genesis),
 * CV_E_MALFORMED, CV_E_WEAK_CODE. Nothing is changed on an error. */
cv_err cv_store_revoke_key(cv_store *s, const char *voter_id, char *code,
                           uint8_t revoked_key[CV_KEY_LEN]);

/* ---- the key ceremony of a secret election (DESIGN 6.2; lib/store/store_ceremony.c) ----
 * The trustees are the election's validators, all of them. In set-up each posts its
 * trustee entry (made for the current setup_hash and quorum), then, once every entry is
 * in, a share sealed to every other trustee (cv_sealed_share, signed by its sender),
 * then a signed check of every share it received: confirmed, or a complaint. The store
 * keeps only what is signed and sealed: it cannot read a share. Changing the settings
 * (ballots, quorum, or anything of the election entry), a candidate or a validator
 * changes what the entries are bound to, so every ceremony record is dropped in that
 * same transaction (cv_ceremony.voided counts how often); an entry, share or check
 * for another setup_hash is refused (CV_E_TRUSTEE_SETUP_HASH). The election opens only
 * when the ceremony is complete (cv_ceremony.complete), with the secrecy entry and the
 * trustee entries in its genesis. */
typedef struct cv_ceremony {
	bool secret;
	uint8_t quorum;
	uint8_t setup_hash[CV_HASH_LEN]; /* the current one, of the settings as they stand */
	size_t n_validators;             /* = the number of trustees the ceremony needs */
	cv_validator *validators;        /* key order, which is trustee order */
	cv_secrecy entries;              /* the entries posted, key order (quorum as set) */
	size_t n_shares;                 /* shares posted, of n_validators·(n_validators−1) */
	uint8_t (*share_from)[CV_KEY_LEN], (*share_to)[CV_KEY_LEN];
	size_t n_checks;
	cv_share_check *checks; /* trustee then sender order */
	uint64_t voided;        /* times the records were dropped by a set-up change */
	size_t n_complaints;    /* checks that are not good */
	/* 2 <= quorum <= validators, every entry, share and confirmation in, no complaint */
	bool complete;
} cv_ceremony;
void cv_ceremony_free(cv_ceremony *c); /* NULL and zeroed are fine */
/* The ceremony as it stands; CV_E_NOT_FOUND without an election. */
cv_err cv_store_ceremony(cv_store *s, cv_ceremony *out);
/* A trustee entry: the election in set-up and secret (CV_E_BAD_STATE), made for the
 * current setup_hash (CV_E_TRUSTEE_SETUP_HASH) with quorum commitments
 * (CV_E_SECRECY_PARAMS), by a validator (CV_E_TRUSTEE_NOT_VALIDATOR), proofs and
 * signature valid (cv_trustee_verify's codes); one per trustee (CV_E_EXISTS). */
cv_err cv_store_put_trustee(cv_store *s, const cv_trustee *t);
/* A sealed share: as above for state and setup_hash; every entry in (CV_E_BAD_STATE),
 * sender and recipient distinct trustees (CV_E_DECRYPTION_NOT_TRUSTEE), the sender's
 * signature (cv_sealed_verify's codes); one per sender and recipient (CV_E_EXISTS). */
cv_err cv_store_put_share(cv_store *s, const cv_sealed_share *sh);
/* The shares addressed to recipient, by sender (caller frees *out). */
cv_err cv_store_shares_to(cv_store *s, const uint8_t recipient[CV_KEY_LEN], cv_sealed_share **out,
                          size_t *n);
/* A trustee's check of the share it received from sender: the share must be stored
 * (CV_E_NOT_FOUND), the signature valid; one per share (CV_E_EXISTS: a complaint stands
 * until the ceremony is reset). */
cv_err cv_store_put_check(cv_store *s, const cv_share_check *c);
/* The admin's remedy for a complaint (or a lost secret): drops every entry, share and
 * check so that the ceremony runs again. CV_E_BAD_STATE unless secret and in set-up. */
cv_err cv_store_ceremony_reset(cv_store *s);

/* Fixes the genesis block (timestamp now) and opens the election; checks the genesis
 * rules first, and that `closes`, when set, is still ahead (CV_E_BAD_ELECTION). A
 * secret election opens only with its key ceremony complete (CV_E_CEREMONY); its
 * genesis then carries the secrecy entry and the trustee entries and passes
 * cv_check_genesis. */
cv_err cv_store_open_election(cv_store *s, uint64_t now, uint8_t genesis_hash[CV_HASH_LEN]);
/* Closes an open election (CV_E_BAD_STATE otherwise): no vote enters the pool after
 * this, and what the pool holds is what was pending at the close, the only votes that
 * may still be committed. closed_at (cv_info) is now, or `closes` when that passed
 * first, moved on to the latest vote stamped after it (rule 5's 300 s of slack), so that
 * the seal leaves no accepted vote out. */
cv_err cv_store_close_election(cv_store *s, uint64_t now);

/* ---- reading ---- */
typedef struct cv_info {
	cv_state state;
	cv_settings settings;
	uint8_t genesis_hash[CV_HASH_LEN]; /* zero in setup */
	uint64_t genesis_timestamp;
	/* state is closed once the admin closed or `closes` passed (closed_at then is
	 * `closes`); final once the seal block is committed, at seal_height. */
	uint64_t closed_at;
	bool final;
	uint64_t seal_height;
	uint64_t tip_height;
	uint8_t tip_hash[CV_HASH_LEN];
	uint64_t tip_timestamp;
	uint64_t n_voters;     /* roll size */
	uint64_t n_eligible;   /* eligibility entries */
	uint64_t n_registered; /* entries with a key bound */
	/* everyone entitled to vote: the keys on the roll and the entries that never bound
	 * one (n_voters + n_eligible - n_registered); turnout's denominator */
	uint64_t n_electorate;
	uint64_t n_pending;   /* votes in the pool */
	uint64_t n_committed; /* votes in the chain */
	uint64_t n_proposals;
	uint64_t archived_at; /* 0 unless archived (cv_store_archive) */
} cv_info;
cv_err cv_store_info(cv_store *s, cv_info *out);
/* The genesis content (in setup: the draft). with_voters false leaves voters empty. */
cv_err cv_store_genesis(cv_store *s, bool with_voters, cv_genesis *out);
cv_err cv_store_tally(cv_store *s, cv_tally *out);
bool cv_store_on_roll(cv_store *s, const uint8_t key[CV_KEY_LEN]);

/* Committed blocks, in the public form (genesis with the full roll). */
cv_err cv_store_block(cv_store *s, uint64_t height, cv_block *out);
cv_err cv_store_block_by_hash(cv_store *s, const uint8_t hash[CV_HASH_LEN], cv_block *out);
/* Streams the chain export JSON through write (returns 0 on success). Blocks are
 * immutable once committed, so each block is read in its own short transaction. */
cv_err cv_store_export(cv_store *s, int (*write)(void *ctx, const char *p, size_t n), void *ctx);
/* The same, blocks 0 to height (a committed height, such as a tip read before): an
 * export whose content is fixed by that block's hash (CV_E_NOT_FOUND past the tip,
 * once the head is written). */
cv_err cv_store_export_through(cv_store *s, uint64_t height,
                               int (*write)(void *ctx, const char *p, size_t n), void *ctx);

/* ---- voting ---- */
/* Admits a vote to the pool: election open, cv_check_vote with latest = now, and
 * atomically no other vote by the voter in pool or chain (CV_E_ALREADY_VOTED). It is
 * cv_store_check_vote, then cv_store_add_votes with this one vote. */
cv_err cv_store_add_vote(cv_store *s, const cv_vote *v, uint64_t now, uint8_t txid[CV_HASH_LEN]);
/* The checks of a vote that need no transaction (the genesis and the roll are fixed
 * once the election is open): the election open and not closed at now, then rule 5
 * bar "no earlier vote" (cv_check_vote, the signature check) with latest = now. CV_OK
 * and the vote's txid (txid may be NULL), or why the vote is refused. Nothing is
 * written. */
cv_err cv_store_check_vote(cv_store *s, const cv_vote *v, uint64_t now, uint8_t txid[CV_HASH_LEN]);
/* Writes n votes that passed cv_store_check_vote into the pool in one transaction,
 * made durable by one log flush (group commit). The close is checked inside it, at
 * now: an election not open (CV_E_NOT_OPEN) or closed by the admin or the clock
 * (CV_E_CLOSED) refuses the whole batch. Otherwise CV_OK, and outcome[i] (n of them,
 * set by the call) says for each vote: CV_OK, in the pool and durable, or
 * CV_E_ALREADY_VOTED (its voter has a vote in the pool or chain, or earlier in the
 * batch), which wrote nothing and did not stop the others. Any other error is the
 * whole batch's: nothing was written (or, when the flush failed, nothing may be
 * taken as durable), and outcome is not to be read. */
cv_err cv_store_add_votes(cv_store *s, const cv_vote *votes, size_t n, uint64_t now,
                          cv_err *outcome);
/* The pair for a vote program's batches, which spares each vote a read of the rule
 * parameters' change count (it waits behind the flushing batch). cv_store_check_vote_at
 * is cv_store_check_vote, with recent: on parameters that may be up to 100 ms older than
 * a change just committed; *n_changes (may be NULL) says which (the count of changes
 * committed). cv_store_add_votes_checked is cv_store_add_votes, n_changes[i] being vote
 * i's: one checked on other parameters than those in force in the batch's transaction
 * is not written, and its outcome is CV_E_BUSY: check it again with recent false and
 * write it again. */
cv_err cv_store_check_vote_at(cv_store *s, const cv_vote *v, uint64_t now, bool recent,
                              uint8_t txid[CV_HASH_LEN], uint64_t *n_changes);
cv_err cv_store_add_votes_checked(cv_store *s, const cv_vote *votes, const uint64_t *n_changes,
                                  size_t n, uint64_t now, cv_err *outcome);

/* ---- secret ballots (DESIGN section 6) ----
 * A secret election's pool holds ballots while it is open and the trustees' decryption
 * shares after the seal; they share the pool's sequence, ST_TXS and n_pending with votes.
 * Its committed ballots count in n_committed. */
/* Admits a ballot to the pool: the election open, secret (CV_E_WRONG_MODE) and not
 * closed at now, cv_check_ballot with latest = now (the proofs against K, the roll,
 * the time window), and atomically no other ballot by the voter in pool or chain
 * (CV_E_ALREADY_VOTED). *pos (may be NULL): the ballot position a proof failed at, or
 * SIZE_MAX. Durable on CV_OK, with its txid. Nothing is written otherwise. */
cv_err cv_store_add_ballot(cv_store *s, const cv_ballot *bl, uint64_t now,
                           uint8_t txid[CV_HASH_LEN], size_t *pos);
/* Admits a trustee's decryption share to the pool: the seal committed
 * (CV_E_DECRYPTION_BEFORE_SEAL), cv_check_decryption against the chain (the trustee,
 * through_height, the proofs against K_j and α; a share of the trustee in the chain is
 * CV_E_DECRYPTION_DUPLICATE), and atomically no other share of the trustee in the pool
 * (CV_E_DECRYPTION_DUPLICATE). Durable on CV_OK, with its txid. */
cv_err cv_store_add_decryption(cv_store *s, const cv_decryption *d, uint64_t now,
                               uint8_t txid[CV_HASH_LEN]);

typedef struct cv_vote_status {
	bool committed;
	/* what the txid names: a vote (open election), or a ballot or a share (secret:
	 * kind, and the item owned here: cv_vote_status_free) */
	enum { CV_ITEM_VOTE = 0, CV_ITEM_BALLOT, CV_ITEM_DECRYPTION } kind;
	cv_ballot ballot;
	cv_decryption decryption;
	cv_vote vote;
	uint64_t height; /* committed only */
	uint8_t block_hash[CV_HASH_LEN];
	uint64_t index, tree_size;
	size_t path_len;
	uint8_t path[CV_MERKLE_MAX_PATH][CV_HASH_LEN];
} cv_vote_status;
/* CV_E_NOT_FOUND when the txid is neither pending nor committed. The index and path
 * are the leaf's among the block's leaves (ballots, then shares, then the seal). */
cv_err cv_store_vote_status(cv_store *s, const uint8_t txid[CV_HASH_LEN], cv_vote_status *out);
void cv_vote_status_free(cv_vote_status *st); /* the ballot or share; NULL is fine */
/* Whether key is on the roll, and the txid of its one vote (pool or chain) if it has
 * one. Public facts: the roll is in the genesis block and votes are in the chain. */
cv_err cv_store_voter(cv_store *s, const uint8_t key[CV_KEY_LEN], bool *on_roll, bool *has_vote,
                      uint8_t txid[CV_HASH_LEN]);
/* Pending votes in pool order, at most max (caller frees *out). A secret election's
 * ballots and shares are not votes: cv_store_pool_secret lists them. */
cv_err cv_store_pool(cv_store *s, size_t max, cv_vote **out, size_t *n);
/* A secret election's pending item as GET /api/pool lists it: what names it and whose
 * it is, never its ciphertexts (GET /api/votes/{txid} has the whole ballot). Every
 * pooled item passed its proofs' check at admission (cv_store_add_ballot,
 * cv_store_add_decryption). */
typedef struct cv_pool_entry {
	int kind; /* CV_ITEM_BALLOT or CV_ITEM_DECRYPTION */
	uint8_t txid[CV_HASH_LEN];
	uint8_t key[CV_KEY_LEN]; /* the voter's (ballot) or the trustee's (share) */
	uint64_t at;             /* a ballot's timestamp; a share's through_height */
} cv_pool_entry;
/* A secret election's pending ballots and shares in pool order, at most max (caller
 * frees *out); an open election's votes are skipped (cv_store_pool lists them). */
cv_err cv_store_pool_secret(cv_store *s, size_t max, cv_pool_entry **out, size_t *n);

/* ---- mining ---- */
/* Template for the next block: version, height tip+1, prev_hash, difficulty, timestamp
 * max(now, tip timestamp), nonce 0, the oldest pending votes (at most max_block_votes)
 * and their merkle root. n_votes 0 when the pool is empty. Once the election is closed
 * and the pool empty, the template is the seal block (has_seal, timestamp at least
 * closed_at). CV_E_BAD_STATE in setup, CV_E_SEALED once the seal is committed. */
cv_err cv_store_work(cv_store *s, uint64_t now, cv_block *out);
/* The most proposals kept at one height. Each validator approves at most one block per
 * height, so a handful of rival blocks is all a height ever needs; the bound keeps the
 * validators' listing and the store small whatever a miner sends. A flood cannot keep
 * the votes out: a proposal that carries more votes than the smallest one without
 * approvals takes its place (see cv_store_add_proposal). */
#define CV_PROPOSALS_PER_HEIGHT 64

/* Adds a mined block as a proposal after rules 1-5 against the tip (CV_E_STALE when it
 * does not extend the tip; CV_E_EXISTS when already proposed; CV_E_SAME_VOTES when a
 * proposal with the same merkle root waits already). When the height holds
 * CV_PROPOSALS_PER_HEIGHT proposals the block is admitted only in place of the one with
 * the fewest votes, fewer than the block's, that has no approval (the newest of those
 * on a tie; it leaves with its rejections); else CV_E_PROPOSALS_FULL. The rules' verdict
 * (every check's result, cv_check_proposal_checks) is stored with the proposal. After
 * the close only votes pending at the close are admitted (CV_E_LATE_VOTE) and a seal
 * only once none is left (CV_E_SEAL_EARLY); nothing after the seal (CV_E_SEALED). */
cv_err cv_store_add_proposal(cv_store *s, const cv_block *b, uint64_t now, size_t *bad_vote);

typedef struct cv_verdict {
	cv_approval sig; /* validator key and signature */
	bool approve;
	char reason[CV_TEXT_MAX + 1]; /* rejections only */
	uint64_t at;
} cv_verdict;
typedef struct cv_proposal {
	cv_block block; /* approvals empty; see verdicts */
	uint64_t received_at;
	cv_checks checks; /* the rules' verdict at admission, as stored */
	size_t n_verdicts;
	cv_verdict *verdicts;
} cv_proposal;
void cv_proposal_free(cv_proposal *p);
void cv_proposals_free(cv_proposal *p, size_t n);
/* Proposals at the next height (tip+1), oldest first, whole (blocks and verdicts). */
cv_err cv_store_proposals(cv_store *s, cv_proposal **out, size_t *n);
cv_err cv_store_proposal(cv_store *s, const uint8_t hash[CV_HASH_LEN], cv_proposal *out);

/* A proposal in a few bytes, read without its block: what a listing shows. */
typedef struct cv_proposal_summary {
	uint8_t hash[CV_HASH_LEN];
	uint64_t height;
	uint32_t n_votes;
	uint8_t merkle_root[CV_HASH_LEN];
	uint64_t received_at;
	cv_checks checks; /* as stored at admission */
	size_t n_approvals, n_rejections;
} cv_proposal_summary;
/* Summaries of the proposals at the next height, oldest first; at most
 * CV_PROPOSALS_PER_HEIGHT (caller frees *out). */
cv_err cv_store_proposal_summaries(cv_store *s, cv_proposal_summary **out, size_t *n);
/* Records an approval (cv_check_approval; one approval per validator per height:
 * CV_E_EQUIVOCATION for a second block, CV_E_DUPLICATE_APPROVAL for the same one).
 * The close holds here too, whenever the block was proposed: after it a block with a
 * vote that was not pending at the close is refused (CV_E_LATE_VOTE), a seal before it
 * or with pending votes left is refused (CV_E_SEAL_EARLY); nothing is recorded then.
 * When it reaches the threshold the block is committed in the same transaction: its
 * votes and any other pool vote of its voters leave the pool, rival proposals at that
 * height are discarded, the tally is updated. *committed tells which happened. */
cv_err cv_store_approve(cv_store *s, const uint8_t hash[CV_HASH_LEN], const cv_approval *a,
                        bool *committed);
cv_err cv_store_reject(cv_store *s, const uint8_t hash[CV_HASH_LEN], const char *reason,
                       const cv_approval *a);

/* ---- changes of the parameters in force (docs/GOVERNANCE.md; store_change.c) ----
 * A validator proposes a change with its own signature over it; others add theirs; once
 * it has threshold signatures, the work template for the block before its effective
 * height is that change alone (cv_store_work), which validators approve as any block.
 * From its commit, every rule here reads the parameters in force: who may approve
 * (cv_store_approve), closes (votes, the close), difficulty (templates, proposals). */
typedef struct cv_change_record {
	uint8_t id[CV_HASH_LEN]; /* cv_change_id */
	cv_change change;        /* its signatures so far (pending) or as committed */
	bool committed;
	uint64_t height;      /* committed: its block's height */
	uint64_t proposed_at; /* pending: when proposed */
} cv_change_record;
void cv_change_records_free(cv_change_record *r, size_t n);
/* The most changes waiting at once; those whose height passed are dropped first. */
#define CV_CHANGES_PENDING_MAX 64
/* Takes a change with its proposer's signature (or none: the administrator's draft, for
 * validators to sign), no other (CV_E_CHANGE_SIGNATURES),
 * for a height still ahead (effective_height >= tip + 2; CV_E_STALE), judged by
 * cv_check_change (not complete) at the parameters in force with every vote committed or
 * pending: the election open (CV_E_BAD_STATE in set-up), not sealed (CV_E_SEALED), a closes
 * only before the close (CV_E_CLOSED); CV_E_EXISTS when proposed already,
 * CV_E_PROPOSALS_FULL. id receives its id. why (why_len bytes) says what a rule refused. */
cv_err cv_store_change_propose(cv_store *s, const cv_change *c, uint64_t now,
                               uint8_t id[CV_HASH_LEN], char *why, size_t why_len);
/* Adds a validator's signature to the pending change id (CV_E_NOT_FOUND), judged as the
 * proposal is with the signature in its place (a key that signed already: CV_E_EXISTS).
 * *n_signatures (may be NULL): how many it has now. Nothing is written on an error. */
cv_err cv_store_change_sign(cv_store *s, const uint8_t id[CV_HASH_LEN], const cv_approval *sig,
                            size_t *n_signatures, char *why, size_t why_len);
/* The committed changes by height, then the pending ones by id (caller frees). */
cv_err cv_store_changes(cv_store *s, cv_change_record **out, size_t *n);
/* The validators in force (key order; caller frees *out). CV_E_BAD_STATE in set-up. */
cv_err cv_store_validators_in_force(cv_store *s, cv_validator **out, size_t *n);

/* An equivocation attempt: a validator's signed approval of a second block at a height
 * where it had approved another. Kept as evidence; never counted. */
typedef struct cv_equivocation {
	uint64_t height;
	uint8_t block_hash[CV_HASH_LEN];        /* the block of the refused approval */
	uint8_t approved_hash[CV_HASH_LEN];     /* the block it had approved before */
	uint8_t approved_signature[CV_SIG_LEN]; /* that earlier approval's signature */
	cv_approval sig;                        /* the refused approval */
	uint64_t at;
} cv_equivocation;
/* Every recorded equivocation, by height then validator (caller frees *out). */
cv_err cv_store_equivocations(cv_store *s, cv_equivocation **out, size_t *n);

#endif
