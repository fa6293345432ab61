/* Changes of the parameters in force (docs/GOVERNANCE.md) against the governance vectors
 * (docs/vectors/governance, written by tools/dev/govvectors): every byte of the files is
 * reproduced from their parsed fields, the valid chain verifies with its changes applied,
 * each tampered chain is refused first at the rule it breaks, and the change helpers keep
 * their contracts. */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "chain.h"
#include "check.h"
#include "json.h"
#include "merkle.h"
#include "rules.h"

#define JSON_FLAGS (JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE)
#define T0         1767225600ULL

static json_object *chain_json, *invalid_json, *components;
static cv_chain chain;

static char *read_file(const char *dir, const char *name)
{
	char path[4096];
	FILE *f;
	long n;
	char *text;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if ((f = fopen(path, "rb")) == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0 || (text = malloc((size_t)n + 1)) == NULL ||
	    fread(text, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "cannot read %s\n", path);
		exit(2);
	}
	text[n] = '\0';
	fclose(f);
	return text;
}

static const char *dir(void)
{
	const char *d = getenv("GOVERNANCE_VECTORS");

	return d && *d ? d : "docs/vectors/governance";
}

static json_object *load(const char *name)
{
	char *text = read_file(dir(), name);
	json_object *o = NULL;

	if (cv_json_parse(text, strlen(text), &o) != CV_OK) {
		fprintf(stderr, "%s is not JSON\n", name);
		exit(2);
	}
	free(text);
	return o;
}

static json_object *get(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v)) {
		fprintf(stderr, "the vectors have no \"%s\"\n", key);
		exit(2);
	}
	return v;
}

static const char *hex(const uint8_t *p, size_t n)
{
	static char bufs[2][4096];
	static int next;
	char *b = bufs[next++ % 2];

	cv_hex_encode(p, n < 2000 ? n : 2000, b);
	return b;
}

/* The file's bytes: the JSON text and the newline after it. */
static char *as_file(json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_FLAGS);
	char *out = malloc(strlen(s) + 2);

	if (out != NULL)
		sprintf(out, "%s\n", s);
	return out;
}

static void chain_json_reproduces_byte_for_byte(void)
{
	char *file = read_file(dir(), "chain.json"), *again;
	json_object *o = cv_chain_to_json(&chain);

	again = as_file(o);
	CHECK(again != NULL && strcmp(again, file) == 0);
	free(again);
	free(file);
	json_object_put(o);
}

static void invalid_chains_json_reproduces_byte_for_byte(void)
{
	char *file = read_file(dir(), "invalid-chains.json"), *again;
	json_object *out = json_object_new_object();

	json_object_object_foreach(invalid_json, name, entry)
	{
		json_object *e = json_object_new_object();
		cv_chain c;

		CHECK_EQ_INT(cv_chain_from_json(get(entry, "chain"), &c), CV_OK);
		json_object_object_add(e, "breaks", json_object_get(get(entry, "breaks")));
		json_object_object_add(e, "height", json_object_get(get(entry, "height")));
		json_object_object_add(e, "code", json_object_get(get(entry, "code")));
		json_object_object_add(e, "chain", cv_chain_to_json(&c));
		json_object_object_add(out, name, e);
		cv_chain_free(&c);
	}
	again = as_file(out);
	CHECK(again != NULL && strcmp(again, file) == 0);
	free(again);
	free(file);
	json_object_put(out);
}

static void change_bytes_match_components(void)
{
	json_object *arr = get(components, "changes");
	size_t n = json_object_array_length(arr), seen = 0;

	CHECK_EQ_INT(n, 4);
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(arr, i);
		uint64_t h = (uint64_t)json_object_get_int64(get(e, "height"));
		const cv_block *b = &chain.blocks[h];
		cv_buf msg = {0}, leaf = {0};
		uint8_t id[CV_HASH_LEN], leaf_hash[CV_HASH_LEN], root[CV_HASH_LEN];

		CHECK(b->change != NULL);
		if (b->change == NULL)
			continue;
		seen++;
		CHECK_EQ_INT(cv_change_message(b->change, &msg), CV_OK);
		CHECK_EQ_INT(cv_change_leaf(b->change, &leaf), CV_OK);
		CHECK_EQ_INT(cv_change_id(b->change, id), CV_OK);
		cv_merkle_leaf_hash(leaf.data, leaf.len, leaf_hash);
		CHECK_EQ_INT(cv_block_merkle_root(b, root), CV_OK);
		CHECK_STR(hex(msg.data, msg.len), json_object_get_string(get(e, "message")));
		CHECK_STR(hex(leaf.data, leaf.len), json_object_get_string(get(e, "leaf")));
		CHECK_STR(hex(id, CV_HASH_LEN), json_object_get_string(get(e, "id")));
		CHECK_STR(hex(leaf_hash, CV_HASH_LEN), json_object_get_string(get(e, "leaf_hash")));
		CHECK_STR(hex(root, CV_HASH_LEN), json_object_get_string(get(e, "merkle_root")));
		/* MTH of one leaf is its leaf hash */
		CHECK(memcmp(root, leaf_hash, CV_HASH_LEN) == 0);
		CHECK(memcmp(root, b->header.merkle_root, CV_HASH_LEN) == 0);
		/* the leaf is the signed message, u8(n), then (key || signature) each */
		CHECK_EQ_INT(leaf.len,
		             msg.len + 1 + b->change->n_signatures * (CV_KEY_LEN + CV_SIG_LEN));
		CHECK(memcmp(leaf.data, msg.data, msg.len) == 0);
		CHECK_EQ_INT(leaf.data[msg.len], b->change->n_signatures);
		CHECK(memcmp(msg.data, CV_TAG_CHANGE, strlen(CV_TAG_CHANGE)) == 0);
		cv_buf_free(&msg);
		cv_buf_free(&leaf);
	}
	CHECK_EQ_INT(seen, 4);
}

static void every_change_signature_verifies_over_its_message(void)
{
	for (size_t h = 1; h < chain.n_blocks; h++) {
		const cv_change *c = chain.blocks[h].change;
		cv_buf msg = {0};

		if (c == NULL)
			continue;
		CHECK_EQ_INT(cv_change_message(c, &msg), CV_OK);
		for (size_t i = 0; i < c->n_signatures; i++) {
			CHECK_EQ_INT(cv_verify(c->signatures[i].validator_key, msg.data, msg.len,
			                       c->signatures[i].signature),
			             CV_OK);
			/* a signature is over the change, never over a block: it is no approval */
			CHECK(cv_check_approval(chain.blocks[0].genesis, chain.blocks[h].hash,
			                        &c->signatures[i]) != CV_OK);
		}
		cv_buf_free(&msg);
	}
}

static void keys_in_components_are_the_chains(void)
{
	json_object *ks = get(components, "keys"), *vals = get(ks, "validators");
	const cv_genesis *g = chain.blocks[0].genesis;

	CHECK_EQ_INT(json_object_array_length(vals), g->n_validators);
	for (size_t i = 0; i < g->n_validators && i < json_object_array_length(vals); i++) {
		json_object *v = json_object_array_get_idx(vals, i);
		uint8_t d[CV_SCALAR_LEN], pub[CV_KEY_LEN];
		cv_privkey *k = NULL;

		CHECK_EQ_INT(cv_hex_decode(json_object_get_string(get(v, "private")), d, sizeof d),
		             CV_OK);
		CHECK_EQ_INT(cv_privkey_from_scalar(d, &k), CV_OK);
		if (k == NULL)
			continue;
		cv_privkey_public(k, pub);
		CHECK_STR(hex(pub, CV_KEY_LEN), json_object_get_string(get(v, "public")));
		CHECK(memcmp(pub, g->validators[i].key, CV_KEY_LEN) == 0);
		CHECK_STR(json_object_get_string(get(v, "name")), g->validators[i].name);
		cv_privkey_free(k);
	}
}

static void chain_verifies_with_every_change_applied(void)
{
	cv_tally t;
	cv_params p;
	const cv_genesis *g = chain.blocks[0].genesis;
	const cv_change *key_change = chain.blocks[4].change;

	CHECK_EQ_INT(cv_verify_chain(&chain, NULL, NULL, &t), 0);
	CHECK(t.final);
	CHECK_EQ_INT(t.closed_at, T0 + 760);
	CHECK_EQ_INT(t.votes[0], 3);
	CHECK_EQ_INT(t.votes[1], 2);
	CHECK_EQ_INT(t.votes[2], 1);
	cv_tally_free(&t);
	/* the parameters after every change: the new key in, the old one retired */
	CHECK_EQ_INT(cv_params_init(&p, g), CV_OK);
	for (size_t h = 1; h < chain.n_blocks; h++)
		if (chain.blocks[h].change != NULL)
			CHECK_EQ_INT(cv_params_apply(&p, chain.blocks[h].change), CV_OK);
	CHECK_EQ_INT(p.n_changes, 4);
	CHECK_EQ_INT(p.genesis.election.closes, T0 + 760);
	CHECK_EQ_INT(p.genesis.election.difficulty, 2);
	CHECK(key_change != NULL && key_change->kind == CV_CHANGE_VALIDATOR_KEY);
	if (key_change != NULL) {
		const cv_validator *now = cv_genesis_validator(&p.genesis, key_change->new_key);

		CHECK(now != NULL);
		CHECK(cv_genesis_validator(&p.genesis, key_change->old_key) == NULL);
		CHECK(cv_params_retired(&p, key_change->old_key));
		/* the validator keeps its name */
		CHECK(now != NULL &&
		      strcmp(now->name, cv_genesis_validator(g, key_change->old_key)->name) == 0);
		/* still in genesis order: binary search finds every key */
		for (size_t i = 0; i < p.genesis.n_validators; i++)
			CHECK(cv_genesis_validator(&p.genesis, p.genesis.validators[i].key) ==
			      &p.genesis.validators[i]);
	}
	/* the genesis itself is untouched */
	CHECK_EQ_INT(g->election.closes, T0 + 3600);
	CHECK_EQ_INT(g->election.difficulty, 6);
	cv_params_free(&p);
}

typedef struct first {
	int64_t height;
	cv_err code;
	bool seen;
} first;

static void on_problem(void *ctx, int64_t height, int64_t vote, cv_err code, const char *detail)
{
	first *f = ctx;

	(void)vote;
	(void)detail;
	if (!f->seen) {
		f->seen = true;
		f->height = height;
		f->code = code;
	}
}

static void each_invalid_chain_is_refused_first_at_its_rule(void)
{
	size_t n = 0;

	json_object_object_foreach(invalid_json, name, entry)
	{
		first f = {0};
		cv_chain c;

		n++;
		CHECK_EQ_INT(cv_chain_from_json(get(entry, "chain"), &c), CV_OK);
		CHECK(cv_verify_chain(&c, on_problem, &f, NULL) > 0);
		if (f.height != json_object_get_int64(get(entry, "height")) ||
		    strcmp(cv_err_code(f.code), json_object_get_string(get(entry, "code"))) != 0) {
			fprintf(stderr, "  %s: first problem at %lld: %s\n", name,
			        (long long)f.height, cv_err_code(f.code));
			check_failed_now = 1;
		}
		cv_chain_free(&c);
	}
	CHECK_EQ_INT(n, 13);
}

/* A change of the valid chain, copied, for the helper tests. */
static void copy_change(size_t height, cv_change *out)
{
	CHECK_EQ_INT(cv_change_copy(chain.blocks[height].change, out), CV_OK);
}

static cv_privkey *validator_key(size_t i)
{
	json_object *v = json_object_array_get_idx(get(get(components, "keys"), "validators"), i);
	uint8_t d[CV_SCALAR_LEN];
	cv_privkey *k = NULL;

	cv_hex_decode(json_object_get_string(get(v, "private")), d, sizeof d);
	cv_privkey_from_scalar(d, &k);
	return k;
}

static void change_sign_keeps_ascending_order_and_refuses_twice(void)
{
	cv_change c;
	cv_privkey *k[3] = {validator_key(2), validator_key(0), validator_key(1)};

	copy_change(2, &c);
	free(c.signatures);
	c.signatures = NULL;
	c.n_signatures = 0;
	for (size_t i = 0; i < 3; i++)
		CHECK_EQ_INT(cv_change_sign(&c, k[i]), CV_OK);
	CHECK_EQ_INT(c.n_signatures, 3);
	for (size_t i = 1; i < c.n_signatures; i++)
		CHECK(memcmp(c.signatures[i - 1].validator_key, c.signatures[i].validator_key,
		             CV_KEY_LEN) < 0);
	CHECK_EQ_INT(cv_change_sign(&c, k[1]), CV_E_EXISTS);
	CHECK_EQ_INT(c.n_signatures, 3);
	for (size_t i = 0; i < 3; i++)
		cv_privkey_free(k[i]);
	cv_change_free(&c);
}

/* The store keeps a change as its leaf: every change of the vectors parses back to the
 * same bytes, and no truncation or extension of a leaf parses. */
static void change_leaf_parses_back_and_refuses_other_lengths(void)
{
	for (size_t h = 1; h < chain.n_blocks; h++) {
		cv_buf leaf = {0}, again = {0};
		cv_change c;

		if (chain.blocks[h].change == NULL)
			continue;
		CHECK_EQ_INT(cv_change_leaf(chain.blocks[h].change, &leaf), CV_OK);
		CHECK_EQ_INT(cv_change_from_leaf(leaf.data, leaf.len, &c), CV_OK);
		CHECK_EQ_INT(cv_change_leaf(&c, &again), CV_OK);
		CHECK(again.len == leaf.len && memcmp(again.data, leaf.data, leaf.len) == 0);
		cv_change_free(&c);
		for (size_t n = 0; n < leaf.len; n += 7) {
			CHECK_EQ_INT(cv_change_from_leaf(leaf.data, n, &c), CV_E_MALFORMED);
			cv_change_free(&c);
		}
		cv_buf_u8(&leaf, 0);
		CHECK_EQ_INT(cv_change_from_leaf(leaf.data, leaf.len, &c), CV_E_MALFORMED);
		cv_change_free(&c);
		leaf.data[0] ^= 1; /* another tag */
		CHECK_EQ_INT(cv_change_from_leaf(leaf.data, leaf.len - 1, &c), CV_E_MALFORMED);
		cv_change_free(&c);
		cv_buf_free(&leaf);
		cv_buf_free(&again);
	}
}

/* A signature made elsewhere (a page, the CLI) joins in ascending key order, once. */
static void change_add_signature_keeps_order_and_refuses_a_second(void)
{
	cv_change c, ref;

	copy_change(2, &ref);
	CHECK(ref.n_signatures >= 3);
	copy_change(2, &c);
	free(c.signatures);
	c.signatures = NULL;
	c.n_signatures = 0;
	for (size_t i = ref.n_signatures; i-- > 0;)
		CHECK_EQ_INT(cv_change_add_signature(&c, &ref.signatures[i]), CV_OK);
	CHECK_EQ_INT(c.n_signatures, ref.n_signatures);
	CHECK(memcmp(c.signatures, ref.signatures, ref.n_signatures * sizeof *ref.signatures) == 0);
	CHECK_EQ_INT(cv_change_add_signature(&c, &ref.signatures[1]), CV_E_EXISTS);
	CHECK_EQ_INT(c.n_signatures, ref.n_signatures);
	cv_change_free(&c);
	cv_change_free(&ref);
}

/* The view of block `height` of the valid chain: the parameters in force there. */
static void view_at(size_t height, cv_params *p, cv_view *v)
{
	memset(v, 0, sizeof *v);
	CHECK_EQ_INT(cv_params_init(p, chain.blocks[0].genesis), CV_OK);
	for (size_t h = 1; h < height; h++) {
		if (chain.blocks[h].change != NULL)
			CHECK_EQ_INT(cv_params_apply(p, chain.blocks[h].change), CV_OK);
		for (size_t i = 0; i < chain.blocks[h].n_votes; i++)
			if (chain.blocks[h].votes[i].timestamp > v->last_vote_time)
				v->last_vote_time = chain.blocks[h].votes[i].timestamp;
	}
	v->genesis = &p->genesis;
	v->params = p;
	memcpy(v->election_id, chain.blocks[0].hash, CV_HASH_LEN);
	v->genesis_timestamp = chain.blocks[0].header.timestamp;
}

static void check_change_counts_signatures_only_when_complete(void)
{
	cv_params p;
	cv_view v;
	cv_change c;
	size_t bad;

	view_at(2, &p, &v);
	copy_change(2, &c);
	CHECK_EQ_INT(cv_check_change(&v, 2, &c, true, &bad, NULL, 0), CV_OK);
	c.n_signatures = 1; /* a proposed change gathering signatures */
	CHECK_EQ_INT(cv_check_change(&v, 2, &c, false, &bad, NULL, 0), CV_OK);
	CHECK_EQ_INT(cv_check_change(&v, 2, &c, true, &bad, NULL, 0), CV_E_CHANGE_SIGNATURES);
	/* a forged signature is named by its index */
	c.n_signatures = 3;
	c.signatures[1].signature[10] ^= 1;
	CHECK_EQ_INT(cv_check_change(&v, 2, &c, true, &bad, NULL, 0), CV_E_BAD_SIGNATURE);
	CHECK_EQ_INT(bad, 1);
	/* proposed for another height */
	c.signatures[1].signature[10] ^= 1;
	CHECK_EQ_INT(cv_check_change(&v, 3, &c, true, &bad, NULL, 0), CV_E_BAD_CHANGE);
	cv_change_free(&c);
	cv_params_free(&p);
}

static void check_change_refuses_replacing_with_a_retired_or_current_key(void)
{
	cv_params p;
	cv_view v;
	cv_change c;
	char why[200];

	view_at(6, &p, &v); /* after the key change */
	copy_change(4, &c);
	c.effective_height = 7;
	/* the old key is no validator any more */
	CHECK_EQ_INT(cv_check_change(&v, 6, &c, false, NULL, why, sizeof why), CV_E_BAD_CHANGE);
	/* back to the retired key */
	memcpy(c.old_key, c.new_key, CV_KEY_LEN);
	memcpy(c.new_key, chain.blocks[4].change->old_key, CV_KEY_LEN);
	CHECK_EQ_INT(cv_check_change(&v, 6, &c, false, NULL, why, sizeof why), CV_E_BAD_CHANGE);
	CHECK(strstr(why, "is or was a validator") != NULL);
	/* to a key in force */
	memcpy(c.new_key, p.genesis.validators[0].key, CV_KEY_LEN);
	CHECK_EQ_INT(cv_check_change(&v, 6, &c, false, NULL, why, sizeof why), CV_E_BAD_CHANGE);
	cv_change_free(&c);
	cv_params_free(&p);
}

static void change_block_is_refused_where_changes_are_not_judged(void)
{
	cv_view v = {0};
	const cv_block *b = &chain.blocks[2];

	/* a service's view: no parameters in force are tracked */
	v.genesis = chain.blocks[0].genesis;
	memcpy(v.election_id, chain.blocks[0].hash, CV_HASH_LEN);
	v.genesis_timestamp = chain.blocks[0].header.timestamp;
	CHECK_EQ_INT(
	    cv_check_proposal(&v, &chain.blocks[1].header, chain.blocks[1].hash, b, 0, NULL),
	    CV_E_BAD_STATE);
}

static void change_json_refuses_unknown_kind_and_foreign_keys(void)
{
	json_object *o = cv_change_to_json(chain.blocks[2].change), *copy = NULL;
	cv_change c;

	CHECK_EQ_INT(cv_change_from_json(o, &c), CV_OK);
	cv_change_free(&c);
	json_object_deep_copy(o, &copy, NULL);
	json_object_object_add(copy, "kind", json_object_new_string("threshold"));
	CHECK_EQ_INT(cv_change_from_json(copy, &c), CV_E_MALFORMED);
	json_object_put(copy);
	copy = NULL;
	json_object_deep_copy(o, &copy, NULL);
	json_object_object_add(copy, "difficulty", json_object_new_int(3));
	CHECK_EQ_INT(cv_change_from_json(copy, &c), CV_E_MALFORMED);
	json_object_put(copy);
	copy = NULL;
	json_object_deep_copy(o, &copy, NULL);
	json_object_object_add(copy, "kind", json_object_new_string("difficulty"));
	json_object_object_del(copy, "closes");
	json_object_object_add(copy, "difficulty", json_object_new_int(256));
	CHECK_EQ_INT(cv_change_from_json(copy, &c), CV_E_MALFORMED);
	json_object_put(copy);
	json_object_put(o);
}

static void trustee_key_follows_its_validators_replaced_key(void)
{
	cv_genesis g = {0};
	cv_secrecy sec = {0};
	cv_trustee tr[1];
	cv_validator vals[3];
	cv_params p;
	cv_change c = {0};

	/* a secret genesis in shape only: what cv_params_apply reads */
	memset(tr, 0, sizeof tr);
	memcpy(vals, chain.blocks[0].genesis->validators, sizeof vals);
	g.validators = vals;
	g.n_validators = 3;
	memcpy(tr[0].validator_key, vals[1].key, CV_KEY_LEN);
	sec.n_trustees = 1;
	sec.quorum = 1;
	sec.trustees = tr;
	g.secrecy = &sec;
	CHECK_EQ_INT(cv_params_init(&p, &g), CV_OK);
	c.kind = CV_CHANGE_VALIDATOR_KEY;
	memcpy(c.old_key, vals[1].key, CV_KEY_LEN);
	memcpy(c.new_key, chain.blocks[4].change->new_key, CV_KEY_LEN);
	CHECK_EQ_INT(cv_params_apply(&p, &c), CV_OK);
	CHECK(p.genesis.secrecy == &p.secrecy);
	CHECK(memcmp(p.secrecy.trustees[0].validator_key, c.new_key, CV_KEY_LEN) == 0);
	/* the genesis's trustee entry (its signature, commitments) is untouched */
	CHECK(memcmp(tr[0].validator_key, vals[1].key, CV_KEY_LEN) == 0);
	cv_params_free(&p);
}

int main(void)
{
	chain_json = load("chain.json");
	invalid_json = load("invalid-chains.json");
	components = load("components.json");
	if (cv_chain_from_json(chain_json, &chain) != CV_OK || chain.n_blocks != 10) {
		fprintf(stderr, "chain.json is not the governance chain\n");
		return 2;
	}

	RUN(chain_json_reproduces_byte_for_byte);
	RUN(invalid_chains_json_reproduces_byte_for_byte);
	RUN(change_bytes_match_components);
	RUN(every_change_signature_verifies_over_its_message);
	RUN(keys_in_components_are_the_chains);
	RUN(chain_verifies_with_every_change_applied);
	RUN(each_invalid_chain_is_refused_first_at_its_rule);
	RUN(change_sign_keeps_ascending_order_and_refuses_twice);
	RUN(change_leaf_parses_back_and_refuses_other_lengths);
	RUN(change_add_signature_keeps_order_and_refuses_a_second);
	RUN(check_change_counts_signatures_only_when_complete);
	RUN(check_change_refuses_replacing_with_a_retired_or_current_key);
	RUN(change_block_is_refused_where_changes_are_not_judged);
	RUN(change_json_refuses_unknown_kind_and_foreign_keys);
	RUN(trustee_key_follows_its_validators_replaced_key);

	cv_chain_free(&chain);
	json_object_put(chain_json);
	json_object_put(invalid_json);
	json_object_put(components);
	return CHECK_DONE("test_governance");
}
