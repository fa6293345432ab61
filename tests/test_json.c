/* Tests of the public JSON (lib/chain/json*.c): the reference chain survives a round trip
 * byte for byte, txids match, and every kind of hostile input is refused. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "json.h"

static char *chain_text; /* vectors/chain.json */
static size_t chain_len;

static char *slurp(const char *name, size_t *len)
{
	const char *dir = getenv("VECTORS") ? getenv("VECTORS") : "../shared/vectors";
	char path[4096];
	FILE *f;
	char *buf = NULL;
	long n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) != NULL) {
		*len = fread(buf, 1, (size_t)n, f);
		buf[*len] = '\0';
	}
	fclose(f);
	return buf;
}

static cv_err parse_chain(const char *text, size_t len, cv_chain *c)
{
	json_object *o;
	cv_err rc = cv_json_parse(text, len, &o);

	memset(c, 0, sizeof(*c));
	if (rc != CV_OK)
		return rc;
	rc = cv_chain_from_json(o, c);
	json_object_put(o);
	return rc;
}

static cv_err parse_text(const char *text, json_object **o)
{
	return cv_json_parse(text, strlen(text), o);
}

/* The reference chain's first vote as compact JSON, to make variants of. */
static char vote_text[1024];
static char block_text[8192];

static void make_templates(void)
{
	json_object *o, *blocks, *block, *vote;

	if (parse_text(chain_text, &o) != CV_OK)
		return;
	json_object_object_get_ex(o, "blocks", &blocks);
	block = json_object_array_get_idx(blocks, 1);
	vote = json_object_array_get_idx(json_object_object_get(block, "votes"), 0);
	snprintf(vote_text, sizeof(vote_text), "%s",
	         json_object_to_json_string_ext(vote, JSON_C_TO_STRING_PLAIN));
	snprintf(block_text, sizeof(block_text), "%s",
	         json_object_to_json_string_ext(block, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

/* base with the first `from` replaced by `to`; static storage. */
static const char *variant(const char *base, const char *from, const char *to)
{
	static char out[65536];
	const char *p = strstr(base, from);

	if (p == NULL) {
		fprintf(stderr, "  template lacks %s\n", from);
		return "";
	}
	snprintf(out, sizeof(out), "%.*s%s%s", (int)(p - base), base, to, p + strlen(from));
	return out;
}

static cv_err vote_from_text(const char *text)
{
	json_object *o;
	cv_vote v;
	cv_err rc = parse_text(text, &o);

	if (rc != CV_OK)
		return rc;
	rc = cv_vote_from_json(o, &v);
	json_object_put(o);
	return rc;
}

static cv_err block_from_text(const char *text, cv_block *b)
{
	json_object *o;
	cv_err rc = parse_text(text, &o);

	memset(b, 0, sizeof(*b));
	if (rc != CV_OK)
		return rc;
	rc = cv_block_from_json(o, b);
	json_object_put(o);
	return rc;
}

static bool votes_equal(const cv_vote *a, const cv_vote *b)
{
	return memcmp(a->election_id, b->election_id, CV_HASH_LEN) == 0 &&
	       memcmp(a->voter_key, b->voter_key, CV_KEY_LEN) == 0 &&
	       a->candidate_id == b->candidate_id && a->timestamp == b->timestamp &&
	       memcmp(a->signature, b->signature, CV_SIG_LEN) == 0;
}

static bool genesis_equal(const cv_genesis *a, const cv_genesis *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	if (strcmp(a->election.title, b->election.title) != 0 ||
	    a->election.threshold != b->election.threshold ||
	    a->election.difficulty != b->election.difficulty ||
	    a->election.max_block_votes != b->election.max_block_votes ||
	    a->election.opens != b->election.opens || a->election.closes != b->election.closes ||
	    a->n_candidates != b->n_candidates || a->n_validators != b->n_validators ||
	    a->n_voters != b->n_voters)
		return false;
	for (size_t i = 0; i < a->n_candidates; i++)
		if (a->candidates[i].id != b->candidates[i].id ||
		    strcmp(a->candidates[i].name, b->candidates[i].name) != 0)
			return false;
	for (size_t i = 0; i < a->n_validators; i++)
		if (memcmp(a->validators[i].key, b->validators[i].key, CV_KEY_LEN) != 0 ||
		    strcmp(a->validators[i].name, b->validators[i].name) != 0)
			return false;
	return a->n_voters == 0 || memcmp(a->voters, b->voters, a->n_voters * CV_KEY_LEN) == 0;
}

static bool blocks_equal(const cv_block *a, const cv_block *b)
{
	const cv_header *x = &a->header, *y = &b->header;

	if (x->version != y->version || x->height != y->height || x->timestamp != y->timestamp ||
	    x->difficulty != y->difficulty || x->nonce != y->nonce ||
	    memcmp(x->prev_hash, y->prev_hash, CV_HASH_LEN) != 0 ||
	    memcmp(x->merkle_root, y->merkle_root, CV_HASH_LEN) != 0 ||
	    memcmp(a->hash, b->hash, CV_HASH_LEN) != 0 || a->n_votes != b->n_votes ||
	    a->n_approvals != b->n_approvals || !genesis_equal(a->genesis, b->genesis))
		return false;
	for (size_t i = 0; i < a->n_votes; i++)
		if (!votes_equal(&a->votes[i], &b->votes[i]))
			return false;
	for (size_t i = 0; i < a->n_approvals; i++)
		if (memcmp(&a->approvals[i], &b->approvals[i], sizeof(cv_approval)) != 0)
			return false;
	return true;
}

/* ---- round trips ---- */

static void chain_json_parses_with_its_shape(void)
{
	cv_chain c;

	CHECK_EQ_INT(parse_chain(chain_text, chain_len, &c), CV_OK);
	CHECK_EQ_INT(c.n_blocks, 3);
	if (c.n_blocks == 3) {
		CHECK(c.blocks[0].genesis != NULL);
		CHECK_EQ_INT(c.blocks[0].genesis->n_candidates, 3);
		CHECK_EQ_INT(c.blocks[0].genesis->n_validators, 3);
		CHECK_EQ_INT(c.blocks[0].genesis->n_voters, 6);
		CHECK_EQ_INT(c.blocks[0].genesis->election.threshold, 2);
		CHECK_EQ_INT(c.blocks[0].genesis->election.difficulty, 8);
		CHECK_EQ_INT(c.blocks[1].n_votes, 3);
		CHECK_EQ_INT(c.blocks[1].n_approvals, 2);
		CHECK_EQ_INT(c.blocks[1].header.nonce, 440);
		CHECK_EQ_INT(c.blocks[2].n_votes, 2);
	}
	cv_chain_free(&c);
}

static void chain_round_trip_gives_identical_structs(void)
{
	cv_chain a, b;
	json_object *o;
	const char *text;

	CHECK_EQ_INT(parse_chain(chain_text, chain_len, &a), CV_OK);
	o = cv_chain_to_json(&a);
	CHECK(o != NULL);
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	CHECK_EQ_INT(parse_chain(text, strlen(text), &b), CV_OK);
	CHECK_EQ_INT(a.n_blocks, b.n_blocks);
	for (size_t i = 0; i < a.n_blocks && i < b.n_blocks; i++)
		CHECK(blocks_equal(&a.blocks[i], &b.blocks[i]));
	json_object_put(o);
	cv_chain_free(&a);
	cv_chain_free(&b);
}

static void chain_output_is_stable_text(void)
{
	cv_chain a, b;
	json_object *oa, *ob;

	CHECK_EQ_INT(parse_chain(chain_text, chain_len, &a), CV_OK);
	oa = cv_chain_to_json(&a);
	const char *ta = json_object_to_json_string_ext(oa, JSON_C_TO_STRING_PLAIN);
	CHECK_EQ_INT(parse_chain(ta, strlen(ta), &b), CV_OK);
	ob = cv_chain_to_json(&b);
	CHECK_STR(json_object_to_json_string_ext(ob, JSON_C_TO_STRING_PLAIN), ta);
	json_object_put(oa);
	json_object_put(ob);
	cv_chain_free(&a);
	cv_chain_free(&b);
}

static void vote_txids_match_the_reference(void)
{
	json_object *o, *blocks, *votes, *txid;
	cv_chain c;
	uint8_t computed[CV_HASH_LEN];
	char hex[2 * CV_HASH_LEN + 1];
	size_t checked = 0;

	CHECK_EQ_INT(parse_chain(chain_text, chain_len, &c), CV_OK);
	CHECK_EQ_INT(parse_text(chain_text, &o), CV_OK);
	json_object_object_get_ex(o, "blocks", &blocks);
	for (size_t i = 1; i < c.n_blocks; i++) {
		votes = json_object_object_get(json_object_array_get_idx(blocks, i), "votes");
		for (size_t j = 0; j < c.blocks[i].n_votes; j++) {
			txid = json_object_object_get(json_object_array_get_idx(votes, j), "txid");
			cv_vote_txid(&c.blocks[i].votes[j], computed);
			cv_hex_encode(computed, CV_HASH_LEN, hex);
			CHECK_STR(hex, json_object_get_string(txid));
			checked++;
		}
	}
	CHECK_EQ_INT(checked, 5);
	json_object_put(o);
	cv_chain_free(&c);
}

static void vote_output_carries_txid_only_when_asked(void)
{
	json_object *o, *out, *val;
	cv_vote v;

	CHECK_EQ_INT(parse_text(vote_text, &o), CV_OK);
	CHECK_EQ_INT(cv_vote_from_json(o, &v), CV_OK);
	out = cv_vote_to_json(&v, true);
	CHECK(json_object_object_get_ex(out, "txid", &val));
	CHECK_STR(json_object_get_string(val),
	          "4e01c03645335055d8695535924bd0b32f7162a6317c1aada12dc3218e54d34b");
	json_object_put(out);
	out = cv_vote_to_json(&v, false);
	CHECK(!json_object_object_get_ex(out, "txid", &val));
	json_object_put(out);
	json_object_put(o);
}

static void block_output_keys_in_section_3_order(void)
{
	static const char *const want[] = {"version",     "height",    "hash",       "prev_hash",
	                                   "merkle_root", "timestamp", "difficulty", "nonce",
	                                   "votes",       "approvals"};
	static const char *const want_genesis[] = {
	    "version",    "height", "hash",     "prev_hash",  "merkle_root", "timestamp",
	    "difficulty", "nonce",  "election", "candidates", "validators",  "voters"};
	cv_chain c;
	json_object *o;
	size_t i;

	CHECK_EQ_INT(parse_chain(chain_text, chain_len, &c), CV_OK);
	o = cv_block_to_json(&c.blocks[1]);
	i = 0;
	json_object_object_foreach(o, key, val)
	{
		(void)val;
		CHECK(i < 10 && strcmp(key, want[i]) == 0);
		i++;
	}
	CHECK_EQ_INT(i, 10);
	json_object_put(o);
	o = cv_block_to_json(&c.blocks[0]);
	i = 0;
	json_object_object_foreach(o, gkey, gval)
	{
		(void)gval;
		CHECK(i < 12 && strcmp(gkey, want_genesis[i]) == 0);
		i++;
	}
	CHECK_EQ_INT(i, 12);
	json_object_put(o);
	cv_chain_free(&c);
}

static void error_json_has_code_and_message(void)
{
	json_object *o = cv_error_json(CV_E_ALREADY_VOTED, NULL);

	CHECK_STR(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
	          "{\"error\":{\"code\":\"already_voted\",\"message\":\"This voter has already "
	          "voted.\"}}");
	json_object_put(o);
	o = cv_error_json(CV_E_MALFORMED, "candidate_id: not an int");
	CHECK_STR(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
	          "{\"error\":{\"code\":\"malformed\",\"message\":\"candidate_id: not an int\"}}");
	json_object_put(o);
}

static void get_array_lends_only_an_array(void)
{
	json_object *o, *arr;

	CHECK_EQ_INT(parse_text("{\"a\":[1,2],\"n\":null,\"s\":\"x\",\"o\":{}}", &o), CV_OK);
	CHECK_EQ_INT(cv_json_get_array(o, "a", &arr), CV_OK);
	CHECK_EQ_INT(json_object_array_length(arr), 2);
	CHECK_EQ_INT(cv_json_get_array(o, "n", &arr), CV_E_MALFORMED);
	CHECK_EQ_INT(cv_json_get_array(o, "s", &arr), CV_E_MALFORMED);
	CHECK_EQ_INT(cv_json_get_array(o, "o", &arr), CV_E_MALFORMED);
	CHECK_EQ_INT(cv_json_get_array(o, "missing", &arr), CV_E_MALFORMED);
	json_object_put(o);
	CHECK_EQ_INT(parse_text("[[1]]", &o), CV_OK);
	CHECK_EQ_INT(cv_json_get_array(o, "a", &arr), CV_E_MALFORMED); /* not an object */
	json_object_put(o);
}

/* ---- the parser ---- */

static void trailing_whitespace_is_accepted(void)
{
	json_object *o;

	CHECK_EQ_INT(parse_text("{\"a\":1} \n\t\r ", &o), CV_OK);
	json_object_put(o);
}

static void trailing_bytes_are_refused(void)
{
	json_object *o;

	CHECK_EQ_INT(parse_text("{\"a\":1} x", &o), CV_E_MALFORMED);
	CHECK(o == NULL);
	CHECK_EQ_INT(parse_text("{\"a\":1}{}", &o), CV_E_MALFORMED);
	CHECK_EQ_INT(parse_text("[1] 2", &o), CV_E_MALFORMED);
}

static void bare_number_parses_whole(void)
{
	json_object *o;

	CHECK_EQ_INT(parse_text("42", &o), CV_OK);
	CHECK(json_object_is_type(o, json_type_int) && json_object_get_int64(o) == 42);
	json_object_put(o);
}

static void nesting_over_the_limit_is_refused(void)
{
	char deep[64];
	json_object *o;
	int d;

	for (d = 0; d < CV_JSON_MAX_DEPTH; d++) {
		deep[d] = '[';
		deep[2 * CV_JSON_MAX_DEPTH - 1 - d] = ']';
	}
	deep[2 * CV_JSON_MAX_DEPTH] = '\0';
	CHECK_EQ_INT(parse_text(deep, &o), CV_OK);
	json_object_put(o);
	for (d = 0; d <= CV_JSON_MAX_DEPTH; d++) {
		deep[d] = '[';
		deep[2 * CV_JSON_MAX_DEPTH + 1 - d] = ']';
	}
	deep[2 * CV_JSON_MAX_DEPTH + 2] = '\0';
	CHECK_EQ_INT(parse_text(deep, &o), CV_E_MALFORMED);
}

static void bad_utf8_is_refused(void)
{
	json_object *o;

	CHECK_EQ_INT(parse_text("{\"a\":\"\xff\"}", &o), CV_E_MALFORMED);
	CHECK_EQ_INT(parse_text("{\"a\":\"\xc0\xaf\"}", &o), CV_E_MALFORMED);
	CHECK_EQ_INT(parse_text("{\"a\":\"\xed\xa0\x80\"}", &o), CV_E_MALFORMED);
	CHECK_EQ_INT(parse_text("{\"a\":\"\xe2\x82\"}", &o), CV_E_MALFORMED);
	json_object_put(o);
}

static void good_utf8_is_accepted(void)
{
	json_object *o;

	CHECK_EQ_INT(parse_text("{\"a\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x97\xb3\"}", &o), CV_OK);
	json_object_put(o);
}

static void nul_byte_in_input_is_refused(void)
{
	json_object *o;

	CHECK_EQ_INT(cv_json_parse("{\"a\":1}\0", 8, &o), CV_E_MALFORMED);
	CHECK_EQ_INT(cv_json_parse("{\"a\":\"x\0y\"}", 11, &o), CV_E_MALFORMED);
}

static void non_json_literals_are_refused(void)
{
	json_object *o;

	CHECK_EQ_INT(parse_text("{'a':1}", &o), CV_E_MALFORMED);
	CHECK_EQ_INT(parse_text("{\"a\":NaN}", &o), CV_E_MALFORMED);
	CHECK_EQ_INT(parse_text("{\"a\":Infinity}", &o), CV_E_MALFORMED);
	CHECK_EQ_INT(parse_text("{\"a\":1,}", &o), CV_E_MALFORMED);
	CHECK_EQ_INT(parse_text("", &o), CV_E_MALFORMED);
}

/* ---- field rules, on variants of a real vote ---- */

static void reference_vote_parses(void)
{
	CHECK_EQ_INT(vote_from_text(vote_text), CV_OK);
}

static void vote_unknown_key_is_refused(void)
{
	CHECK_EQ_INT(vote_from_text(variant(vote_text, "\"txid\"", "\"extra\":1,\"txid\"")),
	             CV_E_MALFORMED);
}

static void vote_missing_key_is_refused(void)
{
	CHECK_EQ_INT(vote_from_text(variant(vote_text, "\"candidate_id\":2,", "")), CV_E_MALFORMED);
}

static void vote_without_txid_is_accepted(void)
{
	const char *p = strstr(vote_text, ",\"txid\"");
	char text[1024];

	CHECK(p != NULL);
	snprintf(text, sizeof(text), "%.*s}", (int)(p - vote_text), vote_text);
	CHECK_EQ_INT(vote_from_text(text), CV_OK);
}

static void vote_wrong_txid_is_bad_hash(void)
{
	CHECK_EQ_INT(vote_from_text(variant(vote_text, "\"txid\":\"4e", "\"txid\":\"4f")),
	             CV_E_BAD_HASH);
}

static void float_where_int_is_refused(void)
{
	CHECK_EQ_INT(
	    vote_from_text(variant(vote_text, "\"candidate_id\":2", "\"candidate_id\":2.0")),
	    CV_E_MALFORMED);
	CHECK_EQ_INT(
	    vote_from_text(variant(vote_text, "\"candidate_id\":2", "\"candidate_id\":2e0")),
	    CV_E_MALFORMED);
}

static void negative_is_refused(void)
{
	CHECK_EQ_INT(vote_from_text(variant(vote_text, "\"timestamp\":", "\"timestamp\":-")),
	             CV_E_MALFORMED);
}

static void too_big_is_refused(void)
{
	CHECK_EQ_INT(
	    vote_from_text(variant(vote_text, "\"candidate_id\":2", "\"candidate_id\":4294967296")),
	    CV_E_MALFORMED);
	/* json-c would clamp this to UINT64_MAX */
	CHECK_EQ_INT(vote_from_text(variant(vote_text, "\"timestamp\":1767225607",
	                                    "\"timestamp\":18446744073709551616")),
	             CV_E_MALFORMED);
}

static void string_number_is_refused(void)
{
	CHECK_EQ_INT(
	    vote_from_text(variant(vote_text, "\"candidate_id\":2", "\"candidate_id\":\"2\"")),
	    CV_E_MALFORMED);
}

static void uppercase_hex_is_refused(void)
{
	CHECK_EQ_INT(
	    vote_from_text(variant(vote_text, "\"voter_key\":\"049c", "\"voter_key\":\"049C")),
	    CV_E_MALFORMED);
}

static void wrong_hex_length_is_refused(void)
{
	CHECK_EQ_INT(
	    vote_from_text(variant(vote_text, "\"voter_key\":\"049c", "\"voter_key\":\"04")),
	    CV_E_MALFORMED);
	CHECK_EQ_INT(
	    vote_from_text(variant(vote_text, "\"voter_key\":\"049c", "\"voter_key\":\"049c00")),
	    CV_E_MALFORMED);
}

/* ---- blocks ---- */

static void block_without_approvals_is_a_proposal(void)
{
	const char *p = strstr(block_text, ",\"approvals\"");
	char text[8192];
	cv_block b;

	CHECK(p != NULL);
	snprintf(text, sizeof(text), "%.*s}", (int)(p - block_text), block_text);
	CHECK_EQ_INT(block_from_text(text, &b), CV_OK);
	CHECK_EQ_INT(b.n_votes, 3);
	CHECK_EQ_INT(b.n_approvals, 0);
	cv_block_free(&b);
}

static void nonce_must_stay_below_2_53(void)
{
	cv_block b;

	CHECK_EQ_INT(
	    block_from_text(variant(block_text, "\"nonce\":440", "\"nonce\":9007199254740991"), &b),
	    CV_OK);
	CHECK_EQ_INT(b.header.nonce, 9007199254740991ULL);
	cv_block_free(&b);
	CHECK_EQ_INT(
	    block_from_text(variant(block_text, "\"nonce\":440", "\"nonce\":9007199254740992"), &b),
	    CV_E_MALFORMED);
}

static void block_with_genesis_keys_is_refused(void)
{
	cv_block b;

	CHECK_EQ_INT(
	    block_from_text(variant(block_text, "\"votes\"", "\"voters\":[],\"votes\""), &b),
	    CV_E_MALFORMED);
	CHECK(b.votes == NULL && b.genesis == NULL);
}

static void block_bad_vote_fails_whole_block(void)
{
	cv_block b;

	CHECK_EQ_INT(
	    block_from_text(variant(block_text, "\"candidate_id\":2", "\"candidate_id\":-2"), &b),
	    CV_E_MALFORMED);
	CHECK(b.votes == NULL && b.n_votes == 0);
}

/* A genesis block's text with one substitution, parsed as a chain's block 0. */
static cv_err genesis_variant(const char *from, const char *to)
{
	json_object *o, *blocks;
	cv_block b;
	cv_err rc;
	char *text;

	CHECK_EQ_INT(parse_text(chain_text, &o), CV_OK);
	json_object_object_get_ex(o, "blocks", &blocks);
	text = strdup(json_object_to_json_string_ext(json_object_array_get_idx(blocks, 0),
	                                             JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	rc = block_from_text(variant(text, from, to), &b);
	cv_block_free(&b);
	free(text);
	return rc;
}

static void genesis_name_over_200_bytes_is_refused(void)
{
	char name[256], repl[300];

	memset(name, 'x', 200);
	name[200] = '\0';
	snprintf(repl, sizeof(repl), "\"name\":\"%s\"", name);
	CHECK_EQ_INT(genesis_variant("\"name\":\"Candidate public 1\"", repl), CV_OK);
	name[200] = 'x';
	name[201] = '\0';
	snprintf(repl, sizeof(repl), "\"name\":\"%s\"", name);
	CHECK_EQ_INT(genesis_variant("\"name\":\"Candidate public 1\"", repl), CV_E_MALFORMED);
}

static void genesis_nul_in_name_is_refused(void)
{
	CHECK_EQ_INT(
	    genesis_variant("\"name\":\"Candidate public 1\"", "\"name\":\"Cand\\u0000idate\""),
	    CV_E_MALFORMED);
}

static void genesis_control_char_in_title_is_refused(void)
{
	CHECK_EQ_INT(genesis_variant("\"title\":\"Reference", "\"title\":\"Ref\\nerence"),
	             CV_E_MALFORMED);
}

static void genesis_threshold_over_255_is_refused(void)
{
	CHECK_EQ_INT(genesis_variant("\"threshold\":2", "\"threshold\":256"), CV_E_MALFORMED);
	CHECK_EQ_INT(genesis_variant("\"threshold\":2", "\"threshold\":255"), CV_OK);
}

static void genesis_missing_voters_is_refused(void)
{
	CHECK_EQ_INT(genesis_variant("\"voters\":", "\"voterz\":"), CV_E_MALFORMED);
}

/* ---- the export ---- */

static void export_wrong_format_is_refused(void)
{
	cv_chain c;
	const char *t = variant(chain_text, "chainvote-chain/1", "chainvote-chain/2");

	CHECK_EQ_INT(parse_chain(t, strlen(t), &c), CV_E_MALFORMED);
	CHECK(c.blocks == NULL);
}

static void export_unknown_top_level_key_is_ignored(void)
{
	cv_chain c;
	const char *t = variant(chain_text, "\"format\"", "\"note\":{\"x\":[1]},\"format\"");

	CHECK_EQ_INT(parse_chain(t, strlen(t), &c), CV_OK);
	CHECK_EQ_INT(c.n_blocks, 3);
	cv_chain_free(&c);
}

static size_t txid_calls, txid_block, txid_vote;

static void note_txid(void *ctx, size_t block, size_t vote)
{
	(void)ctx;
	txid_calls++;
	txid_block = block;
	txid_vote = vote;
}

static void audit_parse_reports_bad_txid_and_goes_on(void)
{
	const char *t = variant(chain_text, "d2cdd598ab", "d2cdd598ac");
	json_object *o;
	cv_chain c;
	char why[128];

	CHECK_EQ_INT(parse_text(t, &o), CV_OK);
	CHECK_EQ_INT(cv_chain_from_json(o, &c), CV_E_BAD_HASH);
	CHECK_EQ_INT(cv_chain_from_json_audit(o, &c, note_txid, NULL, why, sizeof(why)), CV_OK);
	CHECK_EQ_INT(txid_calls, 1);
	CHECK_EQ_INT(txid_block, 2);
	CHECK_EQ_INT(txid_vote, 0);
	CHECK_EQ_INT(c.n_blocks, 3);
	cv_chain_free(&c);
	json_object_put(o);
}

static void audit_parse_says_where(void)
{
	const char *t = variant(chain_text, "\"candidate_id\": 3", "\"candidate_id\": 3.5");
	json_object *o;
	cv_chain c;
	char why[128];

	CHECK_EQ_INT(parse_text(t, &o), CV_OK);
	CHECK_EQ_INT(cv_chain_from_json_audit(o, &c, NULL, NULL, why, sizeof(why)), CV_E_MALFORMED);
	CHECK_STR(why, "block 1 vote 1 candidate_id: not an int");
	json_object_put(o);
}

/* ---- the export as a stream ---- */

typedef struct collected {
	cv_chain c;
	size_t cap;
	size_t stop_at; /* on_block fails at this index (SIZE_MAX: never) */
} collected;

static cv_err collect_block(void *ctx, size_t index, cv_block *b)
{
	collected *k = ctx;

	if (index == k->stop_at)
		return CV_E_IO;
	if (k->c.n_blocks == k->cap) {
		cv_block *more = realloc(k->c.blocks, (k->cap + 8) * sizeof(*more));

		if (more == NULL)
			return CV_E_NOMEM;
		k->c.blocks = more;
		k->cap += 8;
	}
	k->c.blocks[k->c.n_blocks++] = *b;
	memset(b, 0, sizeof(*b));
	return CV_OK;
}

/* Streams text in pieces of `piece` bytes: the reader's verdict (feed's, else end's),
 * the blocks in *k, and why in why[256]. */
static cv_err stream(const char *text, size_t len, size_t piece, collected *k, char *why)
{
	cv_chain_reader *r = cv_chain_reader_new(collect_block, NULL, k);
	cv_err rc = CV_OK;

	for (size_t off = 0; r != NULL && rc == CV_OK && off < len; off += piece)
		rc = cv_chain_reader_feed(r, text + off, len - off < piece ? len - off : piece);
	if (r != NULL && rc == CV_OK)
		rc = cv_chain_reader_end(r);
	snprintf(why, 256, "%s", r ? cv_chain_reader_why(r) : "");
	cv_chain_reader_free(r);
	return r == NULL ? CV_E_NOMEM : rc;
}

static cv_err stream_text(const char *text, char *why)
{
	collected k = {.stop_at = SIZE_MAX};
	cv_err rc = stream(text, strlen(text), 3, &k, why);

	cv_chain_free(&k.c);
	return rc;
}

/* The reference export fed one byte at a time, and in pieces, gives the blocks the
 * whole-text parser gives, byte for byte once printed again. */
static void stream_gives_the_same_blocks(void)
{
	static const size_t pieces[] = {1, 2, 5, 100, 65536};
	cv_chain whole;
	json_object *a, *b;
	char why[256];

	CHECK_EQ_INT(parse_chain(chain_text, chain_len, &whole), CV_OK);
	a = cv_chain_to_json(&whole);
	for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
		collected k = {.stop_at = SIZE_MAX};

		CHECK_EQ_INT(stream(chain_text, chain_len, pieces[i], &k, why), CV_OK);
		CHECK_EQ_INT(k.c.n_blocks, whole.n_blocks);
		b = cv_chain_to_json(&k.c);
		CHECK(strcmp(json_object_to_json_string(a), json_object_to_json_string(b)) == 0);
		json_object_put(b);
		cv_chain_free(&k.c);
	}
	json_object_put(a);
	cv_chain_free(&whole);
}

/* The members in any order, annotations of any JSON shape (brackets inside strings
 * included) skipped, escaped keys decoded, an empty chain read as empty. */
static void stream_takes_any_member_order_and_annotations(void)
{
	char why[256];

	CHECK_EQ_INT(stream_text("{\"blocks\":[],\"format\":\"chainvote-chain/1\"}", why), CV_OK);
	CHECK_EQ_INT(stream_text(" {\"format\" : \"chainvote-chain/1\", \"note\": {\"a\": [1, "
	                         "\"]}\\\"\", true, null, -2.5e3]}, \"n\": 7, \"blocks\": [ ] }\n",
	                         why),
	             CV_OK);
	CHECK_EQ_INT(stream_text("{\"form\\u0061t\":\"chainvote-chain/1\",\"blocks\":[]}", why),
	             CV_OK);
}

/* Whatever is not one strict export is refused, with where when the JSON was fine. */
static void stream_refuses_what_is_not_an_export(void)
{
	static const char *const not_json[] = {
	    "",
	    "{",
	    "{\"format\":\"chainvote-chain/1\",\"blocks\":[]",
	    "{\"format\":\"chainvote-chain/1\",\"blocks\":[]} x",
	    "{\"format\":\"chainvote-chain/1\",\"blocks\":[]}}",
	    "{\"format\":\"chainvote-chain/1\",\"blocks\":[],}",
	    "{\"format\":\"chainvote-chain/1\",\"blocks\":[,]}",
	    "{\"format\":\"chainvote-chain/1\" \"blocks\":[]}",
	    "{\"format\":'chainvote-chain/1',\"blocks\":[]}",
	    "{\"format\":\"chainvote-chain/1\",\"blocks\":[],\"x\":NaN}",
	    "{\"format\":\"chainvote-chain/1\",\"blocks\":[],\"x\":1",
	    "{\"format\":\"chainvote-chain/1\",\"blocks\":[],\"x\":\"\xc0\xaf\"}",
	    "{,\"format\":\"chainvote-chain/1\",\"blocks\":[]}",
	};
	static const struct {
		const char *text, *why;
	} broken[] = {
	    {"[]", "not an object"},
	    {"{\"blocks\":[]}", "format: missing"},
	    {"{\"format\":\"chainvote-chain/1\"}", "blocks: missing"},
	    {"{\"format\":\"chainvote-chain/2\",\"blocks\":[]}",
	     "format: not \"chainvote-chain/1\""},
	    {"{\"format\":1,\"blocks\":[]}", "format: not a string"},
	    {"{\"format\":\"chainvote-chain/1\",\"blocks\":{}}", "blocks: not an array"},
	    {"{\"format\":\"chainvote-chain/1\",\"blocks\":[],\"blocks\":[]}",
	     "blocks: given twice"},
	    {"{\"format\":\"chainvote-chain/1\",\"blocks\":[1]}", "block 0 not an object"},
	};
	char why[256];

	for (size_t i = 0; i < sizeof(not_json) / sizeof(not_json[0]); i++) {
		CHECK_EQ_INT(stream_text(not_json[i], why), CV_E_MALFORMED);
		if (why[0] != '\0')
			fprintf(stderr, "  %s: why \"%s\"\n", not_json[i], why);
		CHECK(why[0] == '\0');
	}
	for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
		CHECK_EQ_INT(stream_text(broken[i].text, why), CV_E_MALFORMED);
		if (strcmp(why, broken[i].why) != 0)
			fprintf(stderr, "  %s: why \"%s\", expected \"%s\"\n", broken[i].text, why,
			        broken[i].why);
		CHECK(strcmp(why, broken[i].why) == 0);
	}
}

/* A block that breaks the public JSON is refused with its place; on_block's error stops
 * the read and is what feed answers from then on. */
static void stream_says_where_and_stops(void)
{
	collected k = {.stop_at = 1};
	char why[256];

	CHECK_EQ_INT(stream(chain_text, chain_len, 512, &k, why), CV_E_IO);
	CHECK_EQ_INT(k.c.n_blocks, 1);
	cv_chain_free(&k.c);
	CHECK_EQ_INT(
	    stream_text("{\"format\":\"chainvote-chain/1\",\"blocks\":[{\"height\":1}]}", why),
	    CV_E_MALFORMED);
	CHECK(strncmp(why, "block 0 ", 8) == 0);
}

/* A chain export whose genesis has n_voters made-up keys (hex is all the parser
 * checks), voter bad_at (if < n_voters) replaced by `bad`; malloc'd. */
static char *large_roll_chain(size_t n_voters, size_t bad_at, const char *bad, size_t *len)
{
	json_object *o = NULL, *blocks, *genesis, *voters;
	char *out = NULL, hex[2 * CV_KEY_LEN + 1];
	const char *text;

	if (parse_text(chain_text, &o) != CV_OK)
		return NULL;
	json_object_object_get_ex(o, "blocks", &blocks);
	genesis = json_object_array_get_idx(blocks, 0);
	voters = json_object_new_array();
	for (size_t i = 0; i < n_voters; i++) {
		uint8_t key[CV_KEY_LEN];

		memset(key, (int)(i * 7), sizeof key);
		cv_put_u32(key + 1, (uint32_t)i);
		cv_hex_encode(key, CV_KEY_LEN, hex);
		json_object_array_add(voters, i == bad_at ? json_object_new_string(bad)
		                                          : json_object_new_string(hex));
	}
	json_object_object_add(genesis, "voters", voters);
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_SPACED);
	*len = strlen(text);
	if ((out = malloc(*len + 1)) != NULL)
		memcpy(out, text, *len + 1);
	json_object_put(o);
	return out;
}

/* A genesis large enough to have its roll read apart from the tree (over
 * CV_JSON_ROLL_APART) gives the same blocks as the whole parse, and a bad key in it
 * the same refusal in the same words. */
static void stream_reads_a_large_roll_apart(void)
{
	size_t len, n = 12000;
	char *text = large_roll_chain(n, SIZE_MAX, NULL, &len), why[256], whole_why[256];
	collected k = {.stop_at = SIZE_MAX};
	json_object *o = NULL, *a, *b;
	cv_chain whole;

	CHECK(text != NULL && len > CV_JSON_ROLL_APART);
	if (text == NULL)
		return;
	CHECK_EQ_INT(parse_chain(text, len, &whole), CV_OK);
	CHECK_EQ_INT(stream(text, len, 65536, &k, why), CV_OK);
	CHECK_EQ_INT(k.c.n_blocks, whole.n_blocks);
	CHECK(k.c.n_blocks > 0 && k.c.blocks[0].genesis != NULL &&
	      k.c.blocks[0].genesis->n_voters == n);
	a = cv_chain_to_json(&whole);
	b = cv_chain_to_json(&k.c);
	CHECK(strcmp(json_object_to_json_string(a), json_object_to_json_string(b)) == 0);
	json_object_put(a);
	json_object_put(b);
	cv_chain_free(&k.c);
	cv_chain_free(&whole);
	free(text);

	/* the last three are a key's length in the text, as the in-place decoding sees it:
	 * uppercase, a letter past f, and 128 hex with an escaped backslash */
	static const char *const bad[] = {
	    "04ab",
	    "not hex at all",
	    "0",
	    "04ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB"
	    "ABABABABABABABABABABABABABABABABABABABABABABABAB",
	    "04abababababababababababababababababababababababababababababababababababababababab"
	    "abababababababababababababababababababababababag",
	    "04abababababababababababababababababababababababababababababababababababababababab"
	    "ababababababababababababababababababababababab\\"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		text = large_roll_chain(n, 5000, bad[i], &len);
		CHECK(text != NULL);
		if (text == NULL)
			continue;
		CHECK_EQ_INT(cv_json_parse(text, len, &o), CV_OK);
		CHECK_EQ_INT(
		    cv_chain_from_json_audit(o, &whole, NULL, NULL, whole_why, sizeof whole_why),
		    CV_E_MALFORMED);
		json_object_put(o);
		k = (collected){.stop_at = SIZE_MAX};
		CHECK_EQ_INT(stream(text, len, 4096, &k, why), CV_E_MALFORMED);
		if (strcmp(why, whole_why) != 0)
			fprintf(stderr, "  streamed \"%s\", whole \"%s\"\n", why, whole_why);
		CHECK(strcmp(why, whole_why) == 0);
		cv_chain_free(&k.c);
		free(text);
	}
}

int main(void)
{
	chain_text = slurp("chain.json", &chain_len);
	if (chain_text == NULL) {
		fprintf(stderr, "cannot read chain.json (set VECTORS)\n");
		return 1;
	}
	make_templates();

	RUN(chain_json_parses_with_its_shape);
	RUN(chain_round_trip_gives_identical_structs);
	RUN(chain_output_is_stable_text);
	RUN(vote_txids_match_the_reference);
	RUN(vote_output_carries_txid_only_when_asked);
	RUN(block_output_keys_in_section_3_order);
	RUN(error_json_has_code_and_message);
	RUN(get_array_lends_only_an_array);
	RUN(trailing_whitespace_is_accepted);
	RUN(trailing_bytes_are_refused);
	RUN(bare_number_parses_whole);
	RUN(nesting_over_the_limit_is_refused);
	RUN(bad_utf8_is_refused);
	RUN(good_utf8_is_accepted);
	RUN(nul_byte_in_input_is_refused);
	RUN(non_json_literals_are_refused);
	RUN(reference_vote_parses);
	RUN(vote_unknown_key_is_refused);
	RUN(vote_missing_key_is_refused);
	RUN(vote_without_txid_is_accepted);
	RUN(vote_wrong_txid_is_bad_hash);
	RUN(float_where_int_is_refused);
	RUN(negative_is_refused);
	RUN(too_big_is_refused);
	RUN(string_number_is_refused);
	RUN(uppercase_hex_is_refused);
	RUN(wrong_hex_length_is_refused);
	RUN(block_without_approvals_is_a_proposal);
	RUN(nonce_must_stay_below_2_53);
	RUN(block_with_genesis_keys_is_refused);
	RUN(block_bad_vote_fails_whole_block);
	RUN(genesis_name_over_200_bytes_is_refused);
	RUN(genesis_nul_in_name_is_refused);
	RUN(genesis_control_char_in_title_is_refused);
	RUN(genesis_threshold_over_255_is_refused);
	RUN(genesis_missing_voters_is_refused);
	RUN(export_wrong_format_is_refused);
	RUN(export_unknown_top_level_key_is_ignored);
	RUN(audit_parse_reports_bad_txid_and_goes_on);
	RUN(audit_parse_says_where);
	RUN(stream_gives_the_same_blocks);
	RUN(stream_takes_any_member_order_and_annotations);
	RUN(stream_refuses_what_is_not_an_export);
	RUN(stream_says_where_and_stops);
	RUN(stream_reads_a_large_roll_apart);
	free(chain_text);
	return CHECK_DONE("test_json");
}
