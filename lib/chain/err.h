/* Error values shared by every module of libchainvote.
 * Each value has a stable machine code (used in JSON errors and verifier output), a
 * human message and the HTTP status a service answers with. */
#ifndef CV_ERR_H
#define CV_ERR_H

typedef enum cv_err {
	CV_OK = 0,
	/* environment */
	CV_E_NOMEM,    /* out of memory */
	CV_E_INTERNAL, /* a library call failed unexpectedly */
	CV_E_STORE,    /* Berkeley DB error other than deadlock */
	CV_E_BUSY,     /* deadlock retries exhausted; try again */
	CV_E_RECOVER,  /* DB_RUNRECOVERY: the process must exit, recovery runs */
	CV_E_IO,       /* a file could not be read or written */
	/* input shape */
	CV_E_MALFORMED,     /* not the expected JSON or byte layout */
	CV_E_TOO_LARGE,     /* over a size bound */
	CV_E_BAD_KEY,       /* not a valid P-256 public key */
	CV_E_BAD_SIGNATURE, /* signature does not verify (or r/s out of range) */
	/* votes (rule 5) */
	CV_E_WRONG_ELECTION, /* election_id is not this election's genesis hash */
	CV_E_NOT_ON_ROLL,    /* voter key not in the roll */
	CV_E_UNKNOWN_CANDIDATE,
	CV_E_ALREADY_VOTED, /* voter already has a vote in the chain or pool */
	CV_E_VOTE_TIME,     /* vote timestamp outside the allowed window */
	CV_E_NOT_OPEN,      /* election not open (setup, or before opens) */
	CV_E_CLOSED,        /* election closed */
	CV_E_DOUBLE_VOTE,   /* two votes by one voter in a block / chain */
	/* blocks (rules 1-4) */
	CV_E_BAD_VERSION,
	CV_E_BAD_HEIGHT,
	CV_E_BAD_PREV,       /* prev_hash does not link */
	CV_E_BAD_DIFFICULTY, /* difficulty is not the election's */
	CV_E_WEAK_POW,       /* proof of work does not hold */
	CV_E_BAD_TIMESTAMP,  /* block timestamp before previous or too far ahead */
	CV_E_VOTE_COUNT,     /* zero votes or more than max_block_votes */
	CV_E_BAD_MERKLE,     /* merkle_root does not match the leaves */
	CV_E_BAD_HASH,       /* stated hash (or txid) is not the computed one */
	CV_E_STALE,          /* block does not extend the current tip */
	CV_E_BAD_GENESIS,    /* genesis block breaks a rule */
	/* the close (the seal) */
	CV_E_BAD_SEAL,   /* a seal breaks a rule of "The close" */
	CV_E_SEALED,     /* the chain is sealed: no block follows the seal */
	CV_E_LATE_VOTE,  /* a vote after the close (or not pending at the close) */
	CV_E_SEAL_EARLY, /* a seal before the close, or with votes pending at the close left */
	/* approvals (rule 6) */
	CV_E_NOT_VALIDATOR,
	CV_E_DUPLICATE_APPROVAL,
	CV_E_TOO_FEW_APPROVALS,
	CV_E_EQUIVOCATION, /* validator already approved another block at this height */
	/* store and service */
	CV_E_NOT_FOUND,
	CV_E_EXISTS,         /* the thing being added exists already */
	CV_E_BAD_STATE,      /* operation not allowed in the election's current state */
	CV_E_BAD_CODE,       /* unknown voter id, wrong or used registration code */
	CV_E_BAD_ELECTION,   /* election settings break a rule (threshold, ids, texts) */
	CV_E_PROPOSALS_FULL, /* the height holds its bound of proposals, none to give way */
	CV_E_SAME_VOTES,     /* a proposal with the same votes waits at this height already */
	/* secret ballots (DESIGN section 6) */
	CV_E_WRONG_MODE,       /* a vote in a secret election, a ballot or share in an open one */
	CV_E_MIXED_BLOCK,      /* a block mixes ballots, shares and the seal */
	CV_E_BALLOT_COUNT,     /* a ballot or share's k is not the number of candidates */
	CV_E_BALLOT_POINT,     /* a ballot or share carries a byte string that is no point */
	CV_E_BALLOT_SCALAR,    /* a ballot or share carries a scalar >= n */
	CV_E_BALLOT_PROOF,     /* a 0/1 proof does not verify */
	CV_E_BALLOT_SUM_PROOF, /* the sum proof does not verify */
	CV_E_BALLOT_AFTER_SEAL,
	CV_E_DECRYPTION_PROOF, /* a Chaum-Pedersen proof does not verify (or α_i = O) */
	CV_E_DECRYPTION_NOT_TRUSTEE,
	CV_E_DECRYPTION_DUPLICATE, /* the trustee has a share in the chain already */
	CV_E_DECRYPTION_BEFORE_SEAL,
	CV_E_DECRYPTION_THROUGH_HEIGHT,
	CV_E_SECRECY_PARAMS, /* quorum, trustee count or order, or K = O */
	CV_E_TRUSTEE_NOT_VALIDATOR,
	CV_E_TRUSTEE_SETUP_HASH, /* a trustee entry was made for another setup */
	CV_E_TRUSTEE_PROOF,
	CV_E_TRUSTEE_SIGNATURE,
	CV_E_TALLY, /* the shares decrypt to no count in 0..ballots */
	/* after the others: stored verdicts keep their numbers */
	CV_E_ARCHIVED,       /* the election is archived: nothing in it changes any more */
	CV_E_REGISTERED,     /* the entry has a key bound: revoke it, not reissue the code */
	CV_E_NOT_REGISTERED, /* the entry has no key bound: nothing to revoke */
	CV_E_WEAK_CODE,      /* an administrator's code under CV_CODE_MIN_BITS of strength */
	/* the key ceremony (lib/chain/sealed.c, the store's ceremony) */
	CV_E_SEALED_OPEN,     /* a sealed share does not open with the recipient's key */
	CV_E_SHARE_MISMATCH,  /* a share does not match its sender's commitments */
	CV_E_CEREMONY,        /* the key ceremony is not complete (open refused) */
	CV_E_SECRET_UNSERVED, /* no longer answered (secret elections are served); keeps its number
	                       */
	/* changes of the parameters in force (docs/GOVERNANCE.md) */
	CV_E_BAD_CHANGE, /* a change breaks a rule of its own, or is not alone in its block */
	CV_E_CHANGE_SIGNATURES, /* too few co-signatures, out of order, or not by validators */
	CV_E_CHANGE_CLOSES,     /* closes moved before a committed vote */
	/* a replicated store (lib/store/store_cluster.c) */
	CV_E_NOT_DURABLE, /* committed here, but a majority of the group did not acknowledge */
	CV_E_NOT_MASTER,  /* a write on a replica, or no master is known */
	CV_E_STORE_KEY,   /* the store key is missing, unreadable, or not the store's */
	CV_E__COUNT
} cv_err;

/* Stable snake_case code, e.g. "already_voted". Never NULL. */
const char *cv_err_code(cv_err e);
/* One-sentence English message. Never NULL. */
const char *cv_err_message(cv_err e);
/* HTTP status the services answer with for this error (200 for CV_OK). */
int cv_err_http_status(cv_err e);

#endif
