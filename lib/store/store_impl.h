/* Private to the store (lib/store*.c): the handle, the databases of the environment,
 * the transaction loop every operation runs in, and the record encodings. Nothing
 * outside lib/store*.c includes this file. */
#ifndef CV_STORE_IMPL_H
#define CV_STORE_IMPL_H

#include <db.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "store.h"

/* The databases, one file each in the environment directory (so db_verify can check
 * each one by name). Keys are big-endian where they are numbers so that the default
 * btree order is numeric order. */
enum {
	ST_META,        /* name -> value: state, settings, genesis, tip, counters */
	ST_CANDIDATES,  /* u32 id -> name */
	ST_VALIDATORS,  /* key(65) -> name */
	ST_ELIGIBLE,    /* voter_id -> salt(16) || H(salt || code)(32) || u8 spent || [key(65)] */
	ST_ROLL,        /* key(65) -> "" */
	ST_BLOCKS,      /* u64 height -> stored block (st_block_encode) */
	ST_HASHES,      /* block hash(32) -> u64 height */
	ST_VOTED,       /* voter key(65) -> txid(32): the one vote (or ballot) of the voter,
	                 * pool or chain */
	ST_TXS,         /* txid(32) -> u8 0 || u64 pool seq, or u8 1 || u64 height || u32 index */
	ST_POOL,        /* u64 seq -> leaf, oldest first: a vote's (189 bytes) in an open
	                 * election; a ballot's or a decryption share's (their tags tell
	                 * which) in a secret one */
	ST_PROPOSALS,   /* hash(32) -> head (cv_st_proposal_head) || stored block */
	ST_VERDICTS,    /* hash(32) || key(65) -> u8 approve || sig(64) || u64 at || text(reason) */
	ST_HEIGHT_APPR, /* u64 height || key(65) -> hash(32): one approval per height */
	ST_EVIDENCE, /* u64 height || key(65) || hash(32) -> approved hash(32) || sig(64) || u64 at
	              * || the earlier approval's sig(64) */
	ST_TALLY,    /* u32 candidate id -> u64 votes */
	ST_N_DBS
};

struct cv_store {
	DB_ENV *env; /* an election handle's is its root's, borrowed */
	DB *db[ST_N_DBS];
	int lock_fd; /* recovery.lock, held shared while the handle is open (root only) */
	/* Root only: the key's password, for the databases of every election and for the
	 * backup's recovery of its copy; wiped at close. Empty: an unencrypted store. */
	char passwd[CV_STORE_KEY_HEX + 1];
	char dir[4096]; /* root only: the environment's directory */
	bool env_open;  /* root only: the environment's open succeeded */
	/* Elections: the root handle (cv_store_open) is the default election's; each other
	 * election has a handle of its own databases in the same environment, opened on
	 * first use and kept in the root's list until the root closes (cv_store_election). */
	cv_store *root;                      /* NULL for the root */
	char slug[CV_ELECTION_SLUG_MAX + 1]; /* "" for the root */
	pthread_mutex_t elections_lock;      /* root only: guards elections */
	cv_store *elections;                 /* root only: the election handles opened so far */
	cv_store *next_election;
	/* The genesis without voters, loaded once the election is open (it never changes
	 * after that). Guarded by lock because one handle may serve several threads. */
	pthread_mutex_t lock;
	bool have_genesis;
	cv_genesis genesis;
	uint8_t election_id[CV_HASH_LEN];
	uint64_t genesis_ts;
	/* A secret election's K and K_j (trustee order), derived with the genesis. */
	uint8_t election_key[CV_POINT_LEN];
	uint8_t (*trustee_keys)[CV_POINT_LEN];
	/* The parameters in force (docs/GOVERNANCE.md): the genesis with every committed
	 * change applied, rebuilt when another change commits (store_change.c). Every
	 * generation is kept until the handle closes, since a view lent to another thread
	 * may still point into an older one; changes are few. Guarded by lock. */
	size_t n_params;
	cv_params **params; /* the last is the current one */
	/* When the vote pre-check last read the election's state as open (monotonic ns;
	 * 0: never): store_pool.c reads it again only after OPEN_SEEN_NS. */
	atomic_llong open_seen_ns;
	/* When cv_st_params last read the count of changes and found its parameters current
	 * (monotonic ns; 0: never). */
	atomic_llong params_seen_ns;
	/* The node's replication settings (root only; NULL: not replicated). */
	cv_cluster_conf *cluster;
	/* Test hooks and counters. */
	atomic_int fault_deadlock;
	atomic_uint fault_stall_ms;
	atomic_ullong retries;
};

/* Replication (store_cluster.c). DB_INIT_REP when dir holds the node's
 * configuration, else 0; joining the group once the environment is open; whether a
 * handle's environment is replicated; a commit's acknowledgements: cleared before the
 * commit, read after it in the same thread. */
u_int32_t cv_st_cluster_open_flags(const char *dir);
cv_err cv_st_cluster_join(cv_store *s, const char *dir, unsigned flags);
bool cv_st_replicated(const cv_store *s);
bool cv_st_cluster_is_master(cv_store *s); /* this site is the group's master now */
/* Releases the node's settings and, in the replication process, its lock (after the
 * environment is closed). NULL is a no-op. */
void cv_st_cluster_free(cv_cluster_conf *c);
bool cv_st_checkpoints(const cv_store *s); /* not replicated, or the replication process */
void cv_st_cluster_commit_begin(void);
bool cv_st_cluster_commit_durable(void);
/* Every environment open: the subsystems. An encrypted environment adds DB_SYSTEM_MEM
 * (cv_st_env_flags): its regions in SysV shared memory (cv_st_env_at_rest) rather than
 * in __db.* files of the directory, because the cache holds pages decrypted and the
 * first region the key. An unencrypted one keeps them in files. */
#define ST_ENV_FLAGS (DB_CREATE | DB_INIT_TXN | DB_INIT_LOCK | DB_INIT_LOG | DB_INIT_MPOOL)
/* ST_ENV_FLAGS for a shared (not DB_PRIVATE) open of an environment under passwd ("":
 * none). */
uint32_t cv_st_env_flags(const char *passwd);
/* Encryption at rest, set on a new DB_ENV handle for the environment in dir before its
 * open: the error callback and, when passwd is a key (not "" or NULL), the key and the
 * base id of the regions' shared memory segments (derived from dir's device and inode,
 * so every process opening dir finds the same). */
cv_err cv_st_env_at_rest(DB_ENV *env, const char *dir, const char *passwd);
/* The file in an encrypted environment's directory holding its own random number, part
 * of the id of its regions' shared memory segments (made at its first open under a key):
 * a store that has it is encrypted, which a stat tells before anything joins it. */
#define ST_REGIONS_ID "regions.id"
/* Whether dir holds an environment (its meta.db); without CV_STORE_CREATE nothing is
 * created. */
bool cv_st_env_exists(const char *dir);
/* Reads the key for the environment in dir: key_file, or the default when NULL, into
 * passwd[CV_STORE_KEY_HEX + 1] ("" for CV_STORE_KEY_NONE, and for no key_file when the
 * default does not exist and dir holds a store with no ST_REGIONS_ID: one made without
 * a key); path[n] gets the file's name. CV_E_NOT_FOUND when the key file does not
 * exist for a store that needs it; CV_E_STORE_KEY (said on stderr)
 * when it is not a regular file, is open to group or others, or is malformed. */
cv_err cv_st_key_load(const char *dir, const char *key_file, char *passwd, char *path, size_t n);
/* Shared by store.c (the environment, opening and closing), store_registry.c and
 * store_recover.c. cv_st_env_config sets the environment's sizes and lock policy on a new
 * DB_ENV handle that may create its regions; cv_st_remove_regions removes the regions of
 * dir's environment once nobody has it open; cv_st_key_opens says whether passwd ("" for
 * none) opens dir's meta.db; cv_st_alive_cache_reset forgets the liveness answers cached
 * for failchk. */
cv_err cv_st_env_config(DB_ENV *env);
void cv_st_remove_regions(const char *dir, const char *passwd);
bool cv_st_key_opens(const char *dir, const char *passwd);
void cv_st_alive_cache_reset(void);
/* Recovery of dir's environment under passwd, made with the store's sizes; an encrypted
 * environment's regions are removed after it unless keep_regions (store_recover.c). */
cv_err cv_st_recover_with(const char *dir, const char *passwd, bool keep_regions);
/* Opens every database of the handle (creating the missing ones when create is set),
 * retrying on the lock timeouts a dead process leaves; releases an election handle's own
 * part: its databases, its genesis cache, itself (store.c). */
cv_err cv_st_open_dbs_patiently(cv_store *s, bool create);
void cv_st_election_free(cv_store *s);

/* Internal results of the transaction loop, never returned to callers: the operation
 * hit a deadlock (or a lock timeout) and is retried after the abort. Out of the range
 * of cv_err's public values. */
#define ST_RETRY   ((cv_err)(CV_E__COUNT + 1))
#define ST_TIMEOUT ((cv_err)(CV_E__COUNT + 2))
/* Answers of a scan callback (cv_st_scan). */
#define ST_STOP   ((cv_err)(CV_E__COUNT + 3))
#define ST_DELETE ((cv_err)(CV_E__COUNT + 4))

/* One operation: reads and writes through txn only. Returns CV_OK to commit, anything
 * else to abort. It may run several times (after a deadlock), so it must not keep
 * state across runs other than what it recomputes. */
typedef cv_err (*cv_st_op)(cv_store *s, DB_TXN *txn, void *ctx);
/* Begins a transaction, runs op, commits durably; on deadlock aborts and retries a
 * bounded number of times (then CV_E_BUSY). DB_RUNRECOVERY gives CV_E_RECOVER. */
cv_err cv_st_run(cv_store *s, cv_st_op op, void *ctx);

/* Berkeley DB return value to cv_err (deadlock -> ST_RETRY, lock timeout ->
 * ST_TIMEOUT, DB_NOTFOUND -> CV_E_NOT_FOUND, DB_KEYEXIST -> CV_E_EXISTS). */
cv_err cv_st_dberr(int rc);

/* get: *val is malloc'd (caller frees), *len its size. flags e.g. DB_RMW. */
cv_err cv_st_get(cv_store *s, int db, DB_TXN *txn, const void *key, size_t klen, void **val,
                 size_t *len, uint32_t flags);
/* get of a record that must be exactly len bytes (CV_E_STORE otherwise). */
cv_err cv_st_get_fixed(cv_store *s, int db, DB_TXN *txn, const void *key, size_t klen, void *val,
                       size_t len, uint32_t flags);
cv_err cv_st_exists(cv_store *s, int db, DB_TXN *txn, const void *key, size_t klen);
cv_err cv_st_put(cv_store *s, int db, DB_TXN *txn, const void *key, size_t klen, const void *val,
                 size_t len, uint32_t flags);
cv_err cv_st_del(cv_store *s, int db, DB_TXN *txn, const void *key, size_t klen);
/* Visits the records whose key starts with prefix (all when plen is 0) in key order.
 * fn returns CV_OK to go on, ST_STOP to stop (scan returns CV_OK), ST_DELETE to delete
 * the record and go on, or an error that ends the scan with it. The bytes are lent for
 * the call only. */
typedef cv_err (*cv_st_scan_fn)(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
                                size_t vlen);
cv_err cv_st_scan(cv_store *s, int db, DB_TXN *txn, const void *prefix, size_t plen,
                  cv_st_scan_fn fn, void *ctx);
cv_err cv_st_del_prefix(cv_store *s, int db, DB_TXN *txn, const void *prefix, size_t plen);

/* An eligibility record (ST_ELIGIBLE): salt || H(salt || code) || u8 spent, and when
 * spent the bound key after it. */
#define ST_SALT_LEN 16
#define ST_ELIG_LEN (ST_SALT_LEN + CV_HASH_LEN + 1)
/* H(salt || code) of a code already in normal form (cv_eligible_code_normalise). */
void cv_st_code_hash(const uint8_t salt[ST_SALT_LEN], const char *code, uint8_t out[CV_HASH_LEN]);
/* A fresh unspent record for a code: CV_E_MALFORMED when it does not normalise,
 * CV_E_WEAK_CODE when strong is asked and it is weak. */
cv_err cv_st_code_record(const char *code, bool strong, uint8_t rec[ST_ELIG_LEN]);

/* Meta records. */
cv_err cv_st_meta_u64(cv_store *s, DB_TXN *txn, const char *name, uint64_t *v);
cv_err cv_st_meta_put_u64(cv_store *s, DB_TXN *txn, const char *name, uint64_t v);
cv_err cv_st_meta_add(cv_store *s, DB_TXN *txn, const char *name, int64_t delta);
/* Reads the state. With write true the read takes the meta page's write lock first
 * (DB_RMW): every writing operation starts so, which orders writers on one lock
 * instead of letting them deadlock on the meta page later. CV_E_NOT_FOUND when no
 * election was created. */
cv_err cv_st_state(cv_store *s, DB_TXN *txn, bool write, cv_state *state);
cv_err cv_st_settings(cv_store *s, DB_TXN *txn, cv_settings *st);

typedef struct cv_st_tip {
	uint64_t height;
	uint8_t hash[CV_HASH_LEN];
	cv_header header;
} cv_st_tip;
cv_err cv_st_tip_get(cv_store *s, DB_TXN *txn, cv_st_tip *tip);

/* Where the election stands on its close at `now`: closed by the admin (state closed,
 * closed_at recorded) or by its clock (state still open, `closes` passed: closed_at is
 * `closes`). Once closed no vote enters the pool, so the pool is what was pending at
 * the close. write: the state is read with its write lock (cv_st_state). */
typedef struct cv_st_close {
	cv_state state;       /* as stored */
	bool closed;          /* closed at now, either way */
	uint64_t closed_at;   /* when closed */
	uint64_t closes;      /* the election's setting, 0 when unset */
	uint64_t seal_height; /* the committed seal block's height, 0 until then */
	uint64_t n_pending;   /* votes in the pool */
} cv_st_close;
cv_err cv_st_close_get(cv_store *s, DB_TXN *txn, uint64_t now, bool write, cv_st_close *c);
/* Whether an open election with this `closes` (0: unset) is closed by its clock at now:
 * the one statement of "the election closes when `closes` passes". */
bool cv_st_closed_by_clock(uint64_t closes, uint64_t now);
cv_err cv_st_tip_put(cv_store *s, DB_TXN *txn, const cv_st_tip *tip);

/* Encodings. Decoders are bounded and answer CV_E_STORE for a record that does not
 * parse (the store wrote it, so that is corruption). */
cv_err cv_st_settings_encode(const cv_settings *st, cv_buf *b);
cv_err cv_st_settings_decode(const uint8_t *p, size_t n, cv_settings *st);
/* text(s) filling the whole record, into out[CV_TEXT_MAX + 1]. */
cv_err cv_st_text_decode(const uint8_t *p, size_t n, char *out);
cv_err cv_st_header_decode(const uint8_t *p, size_t n, cv_header *h);
cv_err cv_st_vote_decode(const uint8_t *p, size_t n, cv_vote *v);
/* Stored block: header(96) || hash(32) || u32 n || n leaves || u32 m || m approvals
 * [|| seal leaf(56) when the block carries the seal] [|| change leaf, a change block]. */
cv_err cv_st_block_encode(const cv_block *b, cv_buf *out);
cv_err cv_st_block_decode(const uint8_t *p, size_t n, cv_block *b);

/* A proposal record begins with a fixed head, so that listings read the head alone
 * (DB_DBT_PARTIAL) and never a block: u64 seq || u64 received_at || u64 height ||
 * u32 n_votes || merkle_root(32) || the stored verdict: u32 code || u32 check ||
 * u32 vote (0xffffffff none) || u32 leading zero bits. */
#define ST_PROPOSAL_HEAD_LEN (8 + 8 + 8 + 4 + CV_HASH_LEN + 16)
/* Number of proposal records, read head by head. */
cv_err cv_st_proposal_count(cv_store *s, DB_TXN *txn, uint64_t *n);

/* The genesis as the setup databases hold it, in genesis order (not yet checked). */
cv_err cv_st_load_genesis(cv_store *s, DB_TXN *txn, bool with_voters, cv_genesis *g);
/* Fills a view for the rules from the cached genesis; the roll and has_voted callbacks
 * each run their own short transaction. CV_E_BAD_STATE in setup. */
cv_err cv_st_view(cv_store *s, cv_view *v);
/* cv_st_view on parameters that may be up to ST_PARAMS_RECENT_NS old (cv_st_params_recent):
 * for the vote checks, whose batch refuses a vote checked on parameters no longer in
 * force (cv_store_add_votes_checked). */
cv_err cv_st_view_recent(cv_store *s, cv_view *v);
/* A secret election's records in ST_META (store_secret.c): ST_AGGREGATE holds α then β
 * (k points each, CV_POINT_O while nothing is added) over the committed ballots;
 * ST_SHARE_PREFIX || trustee key(65) -> txid(32) is the trustee's one share, pool or
 * chain; ST_SECRET_TALLY holds u64 counts (candidate order) once quorum shares are
 * committed and decrypt. */
#define ST_AGGREGATE    "secret/aggregate"
#define ST_SHARE_PREFIX "secret/share/"
#define ST_SECRET_TALLY "secret/tally"
/* The view of cv_st_view with its secret part for a secret election (sv filled: K,
 * K_j, α, the seal's height, share_of marking trustees with a committed share), read
 * in txn (NULL: its own). cv_st_secret_view_free releases sv. */
cv_err cv_st_secret_view(cv_store *s, DB_TXN *txn, cv_view *v, cv_secret_view *sv);
void cv_st_secret_view_free(cv_secret_view *sv);
/* α and β of the committed ballots (k each, caller frees both). */
cv_err cv_st_aggregate(cv_store *s, DB_TXN *txn, size_t k, uint8_t (**alpha)[CV_POINT_LEN],
                       uint8_t (**beta)[CV_POINT_LEN]);

/* Whether the voter has a committed vote, inside txn: 1, 0 or -cv_err. */
int cv_st_has_voted_txn(cv_store *s, DB_TXN *txn, const uint8_t key[CV_KEY_LEN]);

/* The ceremony's records lie in ST_META under this prefix (store_ceremony.c). */
#define ST_CEREMONY_PREFIX "ceremony/"
/* Every set-up write that can change the setup_hash or the quorum calls this last in
 * its transaction: when ceremony records exist and were made for another setup, they
 * are dropped (DESIGN section 6: such a change voids every trustee entry). */
cv_err cv_st_ceremony_revise(cv_store *s, DB_TXN *txn);
/* The entries stored, key order, into sec (quorum from the settings): what a secret
 * genesis carries. */
/* cv_store_ceremony inside txn (c: cv_ceremony_free). */
cv_err cv_st_ceremony_status(cv_store *s, DB_TXN *txn, cv_ceremony *c);
cv_err cv_st_ceremony_entries(cv_store *s, DB_TXN *txn, uint8_t quorum, cv_secrecy *sec);

/* ---- changes of the parameters (store_change.c) ----
 * In ST_META: ST_CHANGE_PENDING || id(32) -> u64 proposed_at || the change leaf as signed so
 * far; ST_CHANGE_COMMITTED || u64 height -> the leaf as committed; ST_CHANGE_COUNT, the
 * number committed; ST_CHANGE_CLOSES and ST_CHANGE_DIFFICULTY (u64), the values in force
 * once a change of that kind committed (absent before: the settings' hold). */
#define ST_CHANGE_PENDING    "change/p/"
#define ST_CHANGE_COMMITTED  "change/c/"
#define ST_CHANGE_COUNT      "change/n"
#define ST_CHANGE_CLOSES     "change/closes"
#define ST_CHANGE_DIFFICULTY "change/difficulty"
/* The parameters in force after the committed chain (P(tip + 1)), owned by the handle:
 * cv_st_view's. Needs the genesis cached (the election open). */
cv_err cv_st_params(cv_store *s, const cv_params **out);
/* cv_st_params without reading the count of committed changes again when this handle
 * read it less than ST_PARAMS_RECENT_NS ago: the parameters may then be older than a
 * change just committed; params->n_changes says which they are. */
#define ST_PARAMS_RECENT_NS (100 * 1000000LL)
/* CLOCK_MONOTONIC in ns (store.c), for the trust windows above and in store_pool.c, and
 * the liveness cache's ages. */
long long cv_st_mono_ns(void);
cv_err cv_st_params_recent(cv_store *s, const cv_params **out);
/* The settings' closes and difficulty replaced by those in force, inside txn. */
cv_err cv_st_settings_in_force(cv_store *s, DB_TXN *txn, cv_settings *st);
/* Whether a complete change waits for block `height` and passes the rules at v (the
 * parameters in force; last_vote_time is read here, cv_st_latest_vote): then *out holds
 * it (cv_change_free). */
cv_err cv_st_change_ready(cv_store *s, DB_TXN *txn, const cv_view *v, uint64_t height, bool *ready,
                          cv_change *out);
/* The bookkeeping of a committed change block, in the commit's transaction. */
cv_err cv_st_change_commit(cv_store *s, DB_TXN *txn, const cv_block *b);
/* The latest stamp of a vote or ballot committed or pending: a change may not move
 * closes before it (the pool's would never be committed). */
cv_err cv_st_latest_vote(cv_store *s, DB_TXN *txn, uint64_t *latest);

/* Test hook: sleep inside the transaction before commit (see cv_store_fault_stall). */
void cv_st_stall(cv_store *s);

/* ---- shared by the chain's moving parts: store_pool.c, store_secret.c, store_work.c,
 * store_proposal.c and store_chain.c ---- */
#define PENDING_LEN     9  /* txs: u8 0 || u64 pool seq */
#define COMMITTED_LEN   13 /* txs: u8 1 || u64 height || u32 index */
#define VERDICT_KEY_LEN (CV_HASH_LEN + CV_KEY_LEN)
/* The state for operations that need the genesis fixed: CV_E_BAD_STATE in set-up
 * (store_chain.c). */
cv_err cv_st_past_setup(cv_store *s, DB_TXN *txn, bool write, cv_state *state);
/* A trustee's share guard key: the prefix's bytes (no terminator) then the key. */
#define SHARE_PREFIX_LEN (sizeof ST_SHARE_PREFIX - 1)
#define SHARE_KEY_LEN    (SHARE_PREFIX_LEN + CV_KEY_LEN)
/* store_secret.c: cv_st_share_key fills a trustee's share guard key;
 * cv_st_guard_committed says whether the item whose txid the guard record (db, key)
 * holds is committed: 1, 0 (in the pool or no record), or -cv_err. */
void cv_st_share_key(const uint8_t key[CV_KEY_LEN], uint8_t out[SHARE_KEY_LEN]);
int cv_st_guard_committed(cv_store *s, DB_TXN *txn, int db, const void *key, size_t klen,
                          uint8_t txid[CV_HASH_LEN], uint64_t *height, uint32_t *index);
/* store_proposal.c: a stored verdict, a stored proposal with its verdicts, and the
 * close's rule that needs the store (*bad_vote names the refused vote). */
cv_err cv_st_verdict_decode(const uint8_t *k, size_t kl, const uint8_t *v, size_t vl,
                            cv_verdict *out);
cv_err cv_st_proposal_load(cv_store *s, DB_TXN *txn, const uint8_t *k, const uint8_t *v, size_t vl,
                           cv_proposal *out, uint64_t *seq);
cv_err cv_st_close_admits(cv_store *s, DB_TXN *txn, const cv_st_close *cl, const cv_block *b,
                          size_t *bad_vote);

#endif
