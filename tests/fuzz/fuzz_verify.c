/* Fuzz target: the core of `chainvote verify` on a downloaded export. The input goes
 * through both readers: whole (strict JSON, cv_chain_from_json_audit with a txid
 * callback, cv_verify_chain with a reporter, the tally's candidate lookups) and, as the
 * CLI reads it, as a stream cut in two at a place the input chooses (cv_chain_reader into
 * a cv_verifier); when both accept it they must find the same problems. Besides
 * crashes, leaks and undefined behaviour it checks what an auditor relies on: every
 * problem has a sentence, a refused parse says why, and a chain with no problem counts
 * every one of its votes (and, once decrypted, of its ballots). */
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>

#include "fuzz.h"
#include "rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct seen {
	size_t problems;
	size_t n_blocks;
} seen;

static void on_problem(void *ctx, int64_t height, int64_t vote, cv_err code, const char *detail)
{
	seen *s = ctx;

	FUZZ_CHECK(detail != NULL && detail[0] != '\0');
	FUZZ_CHECK(code != CV_OK && code < CV_E__COUNT);
	FUZZ_CHECK(height >= -1 && (height < 0 || (uint64_t)height < s->n_blocks));
	FUZZ_CHECK(vote >= -1);
	s->problems++;
}

static void on_bad_txid(void *ctx, size_t block, size_t vote)
{
	seen *s = ctx;

	(void)block;
	(void)vote;
	s->problems++;
}

/* The stream's reader calls on_bad_txid and to_verifier with one ctx, as in the CLI:
 * the counts first, so that on_bad_txid reads it as a seen. */
typedef struct stream_ctx {
	seen s;
	cv_verifier *v;
} stream_ctx;

static cv_err to_verifier(void *ctx, size_t index, cv_block *b)
{
	(void)index;
	return cv_verifier_add(((stream_ctx *)ctx)->v, b);
}

/* The stream's verdict, fed in two pieces: SIZE_MAX when the reader refused the input,
 * else the problems (the txid ones included); *n_blocks the blocks read. */
static size_t streamed(const uint8_t *data, size_t size, size_t *n_blocks)
{
	stream_ctx c = {{0, SIZE_MAX}, cv_verifier_new()};
	cv_tally tally = {0};
	cv_chain_reader *r = cv_chain_reader_new(to_verifier, on_bad_txid, &c);
	size_t cut = size ? data[0] % size : 0, problems = SIZE_MAX;

	if (c.v == NULL || r == NULL)
		goto out;
	if (cv_chain_reader_feed(r, (const char *)data, cut) != CV_OK ||
	    cv_chain_reader_feed(r, (const char *)data + cut, size - cut) != CV_OK ||
	    cv_chain_reader_end(r) != CV_OK) {
		FUZZ_CHECK(memchr(cv_chain_reader_why(r), '\0', 256) != NULL);
		goto out;
	}
	*n_blocks = c.s.n_blocks = cv_verifier_chain(c.v)->n_blocks;
	/* with a tally, as the CLI asks: a secret chain's decryption is judged only then */
	(void)cv_verifier_finish(c.v, on_problem, &c.s, &tally);
	cv_tally_free(&tally);
	problems = c.s.problems;
out:
	cv_chain_reader_free(r);
	cv_verifier_free(c.v);
	return problems;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_object *root = NULL;
	cv_chain chain = {0};
	cv_tally tally = {0};
	seen s = {0, SIZE_MAX};
	char why[256];
	size_t problems, stream_problems, stream_blocks = 0;
	uint64_t counted = 0, in_blocks = 0;

	/* the stream sees every input, JSON or not: its framer reads raw bytes */
	stream_problems = streamed(data, size, &stream_blocks);
	if (cv_json_parse((const char *)data, size, &root) != CV_OK)
		return 0;
	if (cv_chain_from_json_audit(root, &chain, on_bad_txid, &s, why, sizeof(why)) != CV_OK) {
		FUZZ_CHECK(memchr(why, '\0', sizeof(why)) != NULL);
		FUZZ_CHECK(chain.blocks == NULL && chain.n_blocks == 0);
		goto out;
	}
	s.n_blocks = chain.n_blocks;
	problems = cv_verify_chain(&chain, on_problem, &s, &tally);
	/* both readers accepted it (the stream is the stricter on repeated top-level keys
	 * and the more lenient on depth): the same blocks and the same problems */
	FUZZ_CHECK(stream_problems == SIZE_MAX ||
	           (stream_blocks == chain.n_blocks && stream_problems == s.problems));
	FUZZ_CHECK(problems <= s.problems);
	for (size_t i = 0; i < tally.n; i++) {
		/* the CLI names each candidate so; NULL (a genesis out of order) prints "?" */
		(void)cv_genesis_candidate(chain.blocks[0].genesis, tally.ids[i]);
		counted += tally.votes[i];
	}
	FUZZ_CHECK(counted == tally.total);
	/* a valid chain counts every vote, and every ballot once its tally is decrypted
	 * (each ballot holds exactly one 1) */
	if (s.problems == 0) {
		for (size_t i = 1; i < chain.n_blocks; i++)
			in_blocks += chain.blocks[i].n_votes + chain.blocks[i].n_ballots;
		FUZZ_CHECK(tally.pending || tally.total == in_blocks);
	}
out:
	cv_tally_free(&tally);
	cv_chain_free(&chain);
	json_object_put(root);
	return 0;
}
