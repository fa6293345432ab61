/* Codes, messages and HTTP statuses of cv_err, in one table so that the services, the
 * CLI and the verifier name every failure the same way. */
#include <stddef.h>

#include "err.h"

static const struct {
	const char *code;
	const char *message;
	int status;
} err_table[CV_E__COUNT] = {
    [CV_OK] = {"ok", "No error.", 200},
    [CV_E_NOMEM] = {"no_memory", "The server ran out of memory.", 503},
    [CV_E_INTERNAL] = {"internal", "An internal error occurred.", 500},
    [CV_E_STORE] = {"store_error", "The election store failed.", 500},
    [CV_E_BUSY] = {"busy", "The server is busy; try again.", 503},
    [CV_E_RECOVER] = {"recovering", "The store is recovering; try again.", 503},
    [CV_E_IO] = {"io_error", "A file could not be read or written.", 500},
    [CV_E_MALFORMED] = {"malformed", "The request is not well formed.", 400},
    [CV_E_TOO_LARGE] = {"too_large", "The request is too large.", 413},
    [CV_E_BAD_KEY] = {"bad_key", "The key is not a valid P-256 public key.", 400},
    [CV_E_BAD_SIGNATURE] = {"bad_signature", "The signature does not verify.", 422},
    [CV_E_WRONG_ELECTION] = {"wrong_election", "The vote is for another election.", 422},
    [CV_E_NOT_ON_ROLL] = {"not_on_roll", "The voter is not on the roll.", 403},
    [CV_E_UNKNOWN_CANDIDATE] = {"unknown_candidate", "There is no such candidate.", 422},
    [CV_E_ALREADY_VOTED] = {"already_voted", "This voter has already voted.", 409},
    [CV_E_VOTE_TIME] = {"vote_time", "The vote's timestamp is outside the voting window.", 422},
    [CV_E_NOT_OPEN] = {"not_open", "The election is not open.", 409},
    [CV_E_CLOSED] = {"closed", "The election is closed.", 409},
    [CV_E_DOUBLE_VOTE] = {"double_vote", "A voter has more than one vote.", 422},
    [CV_E_BAD_VERSION] = {"bad_version", "The block version is not 1.", 422},
    [CV_E_BAD_HEIGHT] = {"bad_height", "The block height does not follow.", 422},
    [CV_E_BAD_PREV] = {"bad_prev_hash", "The block does not link to the previous block.", 422},
    [CV_E_BAD_DIFFICULTY] = {"bad_difficulty", "The block difficulty is not the election's.", 422},
    [CV_E_WEAK_POW] = {"weak_pow", "The proof of work does not hold.", 422},
    [CV_E_BAD_TIMESTAMP] = {"bad_timestamp", "The block timestamp is out of range.", 422},
    [CV_E_VOTE_COUNT] = {"vote_count", "The block has no votes or too many.", 422},
    [CV_E_BAD_MERKLE] = {"bad_merkle_root", "The merkle root does not match the votes.", 422},
    [CV_E_BAD_HASH] = {"bad_hash", "A stated hash is not the computed one.", 422},
    [CV_E_STALE] = {"stale", "The block does not extend the current chain tip.", 409},
    [CV_E_BAD_GENESIS] = {"bad_genesis", "The genesis block breaks a rule.", 422},
    [CV_E_BAD_SEAL] = {"bad_seal", "The seal breaks a rule of the close.", 422},
    [CV_E_SEALED] = {"sealed", "The election is sealed: no block follows the seal.", 409},
    [CV_E_LATE_VOTE] = {"late_vote",
                        "After the close only votes pending at the close may be committed.", 422},
    [CV_E_SEAL_EARLY] = {"seal_early",
                         "The seal comes after the close, once every vote pending at the close "
                         "is committed.",
                         409},
    [CV_E_NOT_VALIDATOR] = {"not_validator", "The signer is not a validator of this election.",
                            403},
    [CV_E_DUPLICATE_APPROVAL] = {"duplicate_approval",
                                 "This validator's verdict is already recorded.", 409},
    [CV_E_TOO_FEW_APPROVALS] = {"too_few_approvals",
                                "The block has fewer approvals than the threshold.", 422},
    [CV_E_EQUIVOCATION] = {"equivocation",
                           "This validator already approved another block at this height.", 409},
    [CV_E_NOT_FOUND] = {"not_found", "Not found.", 404},
    [CV_E_EXISTS] = {"exists", "It exists already.", 409},
    [CV_E_BAD_STATE] = {"bad_state", "Not allowed in the election's current state.", 409},
    [CV_E_BAD_CODE] = {"bad_code", "Unknown voter id, or wrong or used registration code.", 403},
    [CV_E_BAD_ELECTION] = {"bad_election", "The election settings break a rule.", 422},
    [CV_E_PROPOSALS_FULL] = {"proposals_full",
                             "This height holds as many proposals as it keeps, none with "
                             "fewer votes than this block; approve one of them.",
                             409},
    [CV_E_SAME_VOTES] = {"same_votes",
                         "A proposal with the same votes in the same order (the same merkle "
                         "root) is already waiting at this height.",
                         409},
    [CV_E_WRONG_MODE] = {"wrong_mode",
                         "The item belongs to the other mode of election (open or secret).", 422},
    [CV_E_MIXED_BLOCK] = {"mixed_block",
                          "A block carries ballots only, decryption shares only, or the seal "
                          "only.",
                          422},
    [CV_E_BALLOT_COUNT] = {"ballot_count",
                           "The number of ciphertexts or shares is not the number of "
                           "candidates.",
                           422},
    [CV_E_BALLOT_POINT] = {"ballot_point", "A point is not a P-256 point.", 422},
    [CV_E_BALLOT_SCALAR] = {"ballot_scalar", "A scalar is not below the group order.", 422},
    [CV_E_BALLOT_PROOF] = {"ballot_proof", "A ciphertext's 0/1 proof does not verify.", 422},
    [CV_E_BALLOT_SUM_PROOF] = {"ballot_sum_proof", "The ballot's sum proof does not verify.", 422},
    [CV_E_BALLOT_AFTER_SEAL] = {"ballot_after_seal", "No ballot follows the seal.", 422},
    [CV_E_DECRYPTION_PROOF] = {"decryption_proof", "A decryption share's proof does not verify.",
                               422},
    [CV_E_DECRYPTION_NOT_TRUSTEE] = {"decryption_not_trustee",
                                     "The signer of the share is not a trustee.", 403},
    [CV_E_DECRYPTION_DUPLICATE] = {"decryption_duplicate",
                                   "This trustee's share is in the chain already.", 409},
    [CV_E_DECRYPTION_BEFORE_SEAL] = {"decryption_before_seal",
                                     "Decryption shares come only after the seal.", 422},
    [CV_E_DECRYPTION_THROUGH_HEIGHT] = {"decryption_through_height",
                                        "A share's through_height is not the last ballot "
                                        "block (the seal's height - 1).",
                                        422},
    [CV_E_SECRECY_PARAMS] = {"secrecy_params",
                             "The secrecy settings break a rule (quorum, trustees, key).", 422},
    [CV_E_TRUSTEE_NOT_VALIDATOR] = {"trustee_not_validator",
                                    "A trustee is not a validator of this election.", 422},
    [CV_E_TRUSTEE_SETUP_HASH] = {"trustee_setup_hash",
                                 "A trustee entry was made for another election setup.", 422},
    [CV_E_TRUSTEE_PROOF] = {"trustee_proof", "A trustee's commitment proof does not verify.", 422},
    [CV_E_TRUSTEE_SIGNATURE] = {"trustee_signature", "A trustee entry's signature does not verify.",
                                422},
    [CV_E_TALLY] = {"tally", "The decryption shares give no count.", 422},
    [CV_E_ARCHIVED] = {"archived", "The election is archived: nothing in it changes any more.",
                       409},
    [CV_E_REGISTERED] = {"registered",
                         "The voter has registered a key: revoke it to issue a new code.", 409},
    [CV_E_NOT_REGISTERED] = {"not_registered",
                             "The voter has no key registered: reissue the code instead.", 409},
    [CV_E_WEAK_CODE] = {"weak_code",
                        "The code is too easy to guess: it needs at least 40 bits, e.g. 8 "
                        "letters and digits, 10 hex digits or 13 digits.",
                        422},
    [CV_E_SEALED_OPEN] = {"sealed_open", "The sealed share does not open with the recipient's key.",
                          422},
    [CV_E_SHARE_MISMATCH] = {"share_mismatch", "The share does not match its sender's commitments.",
                             422},
    [CV_E_CEREMONY] = {"ceremony_incomplete",
                       "The trustees' key ceremony is not complete: every trustee entry, "
                       "every share and every share's confirmation are needed, and no "
                       "complaint.",
                       409},
    [CV_E_SECRET_UNSERVED] = {"secret_not_served",
                              "This is a secret election: this service does not take its "
                              "ballots, work or blocks yet (only its key ceremony and its "
                              "opened genesis).",
                              409},
    [CV_E_BAD_CHANGE] = {"bad_change", "The change breaks a rule of the chain's changes.", 422},
    [CV_E_CHANGE_SIGNATURES] = {"change_signatures",
                                "The change is not co-signed by enough validators in force.", 422},
    [CV_E_CHANGE_CLOSES] = {"change_closes",
                            "The change moves closes before a vote already committed.", 422},
    [CV_E_NOT_DURABLE] = {"not_durable",
                          "A majority of the replication group did not acknowledge the write; "
                          "it is not known to be durable: try again.",
                          503},
    [CV_E_NOT_MASTER] = {"not_master",
                         "This node is a replica and no master is reachable now; try again.", 503},
    [CV_E_STORE_KEY] = {"store_key",
                        "The store key is missing, unreadable or not the one of this store.", 500},
};

static int known(cv_err e)
{
	return (unsigned)e < CV_E__COUNT && err_table[e].code != NULL;
}

const char *cv_err_code(cv_err e)
{
	return known(e) ? err_table[e].code : "internal";
}

const char *cv_err_message(cv_err e)
{
	return known(e) ? err_table[e].message : "An internal error occurred.";
}

int cv_err_http_status(cv_err e)
{
	return known(e) ? err_table[e].status : 500;
}
