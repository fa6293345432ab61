/* The chain export read as a stream (cv_chain_reader, json.h), for auditors of exports
 * too large to hold as text: a framer cuts each block out of the bytes as they arrive and
 * parses it with the decoders of json_read.c, so one block's text and tree are held at a
 * time. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "json_impl.h"

/* ---- the export as a stream ---- */

/* A framer over the export's bytes: the top-level object and the "blocks" array are
 * walked byte by byte here, and every value below them (a block, the format, an
 * annotation) is cut out whole and handed to the strict parser (json.c), so that only one
 * block's text and tree are held at a time. */
enum reader_state {
	RD_START,       /* before the top-level '{' */
	RD_KEY,         /* before a key (or '}' when the object is still empty) */
	RD_COLON,       /* after a key */
	RD_VALUE,       /* before a member's value */
	RD_AFTER_VALUE, /* before ',' or '}' */
	RD_ELEMENT,     /* in "blocks", before a block (or ']' when still empty) */
	RD_AFTER_ELEMENT,
	RD_DONE,   /* after the closing '}': whitespace only */
	RD_FAILED, /* rc holds the error, fed again on every call */
};

/* One JSON value being cut out of the stream into buf. */
typedef struct frame {
	bool active, in_string, escaped, scalar;
	size_t depth;
} frame;

enum member { M_OTHER, M_FORMAT, M_BLOCKS };

struct cv_chain_reader {
	enum reader_state state;
	cv_err rc;
	bool empty;  /* no member (or no block) yet: '}' (or ']') may come */
	bool in_key; /* the frame holds a key, not a value */
	enum member member;
	bool seen_format, seen_blocks;
	frame fr;
	cv_buf buf;
	size_t n_blocks;
	cv_chain_block_fn on_block;
	void *ctx;
	pstate ps;
	char why[256];
};

cv_chain_reader *cv_chain_reader_new(cv_chain_block_fn on_block, cv_json_txid_fn bad_txid,
                                     void *ctx)
{
	cv_chain_reader *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->empty = true;
	r->on_block = on_block;
	r->ctx = ctx;
	r->ps = (pstate){.why = r->why,
	                 .why_len = sizeof(r->why),
	                 .block = -1,
	                 .item_index = -1,
	                 .bad_txid = bad_txid,
	                 .ctx = ctx};
	return r;
}

void cv_chain_reader_free(cv_chain_reader *r)
{
	if (r == NULL)
		return;
	cv_buf_free(&r->buf);
	free(r);
}

const char *cv_chain_reader_why(const cv_chain_reader *r)
{
	return r->why;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static cv_err reader_fail(cv_chain_reader *r, cv_err rc)
{
	r->state = RD_FAILED;
	r->rc = rc;
	return rc;
}

/* Parses the framed text (strictly, as one value) into *o. */
static cv_err framed_value(cv_chain_reader *r, json_object **o)
{
	return cv_json_parse(r->buf.len ? (const char *)r->buf.data : "", r->buf.len, o);
}

/* A key was cut out: decoded by the parser (escapes included), then which member. */
static cv_err key_done(cv_chain_reader *r)
{
	json_object *o = NULL;
	const char *key;
	cv_err rc;

	if ((rc = framed_value(r, &o)) != CV_OK)
		return rc;
	key = json_object_get_string(o);
	r->member = strcmp(key, "format") == 0   ? M_FORMAT
	            : strcmp(key, "blocks") == 0 ? M_BLOCKS
	                                         : M_OTHER;
	json_object_put(o);
	if ((r->member == M_FORMAT && r->seen_format) || (r->member == M_BLOCKS && r->seen_blocks))
		return cv_js_fail(&r->ps, r->member == M_FORMAT ? "format" : "blocks",
		                  "given twice");
	return CV_OK;
}

/* A member's value (not the blocks) was cut out: the format is checked, annotations
 * are parsed (they must be JSON) and dropped. */
static cv_err value_done(cv_chain_reader *r)
{
	json_object *o = NULL;
	cv_err rc;

	if ((rc = framed_value(r, &o)) != CV_OK)
		return rc;
	if (r->member == M_FORMAT) {
		r->seen_format = true;
		if (!json_object_is_type(o, json_type_string))
			rc = cv_js_fail(&r->ps, "format", "not a string");
		else if (strcmp(json_object_get_string(o), "chainvote-chain/1") != 0)
			rc = cv_js_fail(&r->ps, "format", "not \"chainvote-chain/1\"");
	}
	json_object_put(o);
	return rc;
}

/* Past the JSON value (object, array, string or scalar) that starts at t[i]; returns
 * len when it does not end. Used on text that the strict parser judges afterwards. */
static size_t skip_value(const char *t, size_t len, size_t i)
{
	size_t depth = 0;
	bool in_string = false, escaped = false;

	for (; i < len; i++) {
		char c = t[i];

		if (in_string) {
			if (escaped)
				escaped = false;
			else if (c == '\\')
				escaped = true;
			else if (c == '"') {
				in_string = false;
				if (depth == 0)
					return i + 1;
			}
		} else if (c == '"') {
			in_string = true;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			if (depth == 0)
				return i; /* a scalar ends where its container does */
			if (--depth == 0)
				return i + 1;
		} else if (depth == 0 && (is_space(c) || c == ',')) {
			return i;
		}
	}
	return len;
}

static size_t skip_space(const char *t, size_t len, size_t i)
{
	while (i < len && is_space(t[i]))
		i++;
	return i;
}

/* The genesis of a large roll (a million voters is 133 MB of text, and several times
 * that as a tree of strings) is read without its tree: the members of the block object
 * are walked in the text, the "voters" array's keys decoded one by one into *voters,
 * and the array cut out of the text, left "[]", for the strict parser to judge the rest.
 * *n_voters is SIZE_MAX when the text has no such member where expected (then it is
 * left whole). A key that is not a voter's fails as genesis_parse fails it. */
static cv_err take_roll(pstate *ps, cv_buf *text, uint8_t (**voters)[CV_KEY_LEN], size_t *n_voters)
{
	char *t = (char *)text->data;
	size_t len = text->len, i = skip_space(t, len, 0), cap = 0, n = 0, start;
	uint8_t(*keys)[CV_KEY_LEN] = NULL;
	cv_err rc = CV_OK;

	*voters = NULL;
	*n_voters = SIZE_MAX;
	if (i >= len || t[i] != '{')
		return CV_OK;
	for (i++;;) {
		size_t key, key_end;

		i = skip_space(t, len, i);
		if (i >= len || t[i] != '"')
			return CV_OK;
		key = i + 1;
		if ((key_end = skip_value(t, len, i)) >= len)
			return CV_OK;
		i = skip_space(t, len, key_end);
		if (i >= len || t[i] != ':')
			return CV_OK;
		i = skip_space(t, len, i + 1);
		if (key_end - key - 1 == 6 && memcmp(t + key, "voters", 6) == 0 && i < len &&
		    t[i] == '[')
			break;
		i = skip_space(t, len, skip_value(t, len, i));
		if (i >= len || t[i] != ',')
			return CV_OK;
		i++;
	}
	start = i + 1; /* the array's first byte inside the brackets */
	ps->item = "voter";
	for (i = skip_space(t, len, start); i < len && t[i] != ']'; n++) {
		size_t end = skip_value(t, len, i);
		json_object *item = NULL;

		if (end >= len || end == i) {
			rc = CV_E_MALFORMED;
			goto out;
		}
		ps->item_index = (int64_t)n;
		if (n == cap) {
			uint8_t(*more)[CV_KEY_LEN] =
			    realloc(keys, (cap ? 2 * cap : 4096) * sizeof(*keys));

			if (more == NULL) {
				rc = CV_E_NOMEM;
				goto out;
			}
			keys = more;
			cap = cap ? 2 * cap : 4096;
		}
		/* A string of exactly a key's lowercase hex is a voter as the parser would
		 * read it (no escape or control byte is hex): decoded in place. Anything else
		 * goes through the parser, which judges it and says what is wrong. */
		if (end - i == 2 * CV_KEY_LEN + 2 && t[i] == '"' && t[end - 1] == '"' &&
		    cv_hex_decode_prefix(t + i + 1, keys[n], CV_KEY_LEN) == CV_OK) {
			rc = CV_OK;
		} else if ((rc = cv_json_parse(t + i, end - i, &item)) == CV_OK) {
			rc = cv_js_voter_parse(ps, item, keys[n]);
			json_object_put(item);
		}
		if (rc != CV_OK)
			goto out;
		i = skip_space(t, len, end);
		if (i < len && t[i] == ',')
			i = skip_space(t, len, i + 1);
		else if (i >= len || t[i] != ']') {
			rc = CV_E_MALFORMED;
			goto out;
		}
	}
	if (i >= len) {
		rc = CV_E_MALFORMED;
		goto out;
	}
	/* "voters": [] for the parser; the keys are in *voters */
	memmove(t + start, t + i, len - i);
	text->len = start + (len - i);
	*voters = keys;
	*n_voters = n;
	keys = NULL;
out:
	ps->item = NULL;
	ps->item_index = -1;
	free(keys);
	return rc;
}

/* A block was cut out: parsed as cv_chain_from_json_audit parses each, then handed on.
 * The first block, when it is large, has its roll read apart (take_roll). */
static cv_err block_done(cv_chain_reader *r)
{
	json_object *o = NULL;
	uint8_t(*voters)[CV_KEY_LEN] = NULL;
	size_t n_voters = SIZE_MAX;
	cv_block b;
	cv_err rc;

	r->ps.block = (int64_t)r->n_blocks;
	if (r->n_blocks == 0 && r->buf.len >= CV_JSON_ROLL_APART &&
	    (rc = take_roll(&r->ps, &r->buf, &voters, &n_voters)) != CV_OK)
		goto out;
	if ((rc = framed_value(r, &o)) != CV_OK)
		goto out;
	/* a large value's buffer is not kept for the small ones that follow */
	if (r->buf.cap >= CV_JSON_ROLL_APART)
		cv_buf_free(&r->buf);
	rc = cv_js_block_parse(&r->ps, o, &b);
	json_object_put(o);
	if (rc != CV_OK)
		goto out;
	if (n_voters != SIZE_MAX && b.genesis != NULL && b.genesis->n_voters == 0) {
		free(b.genesis->voters);
		b.genesis->voters = voters;
		b.genesis->n_voters = n_voters;
		voters = NULL;
	} else if (n_voters != SIZE_MAX && n_voters > 0) {
		/* the roll belonged to a block that has none: what it said is refused */
		cv_block_free(&b);
		rc = cv_js_fail(&r->ps, NULL, "unknown key \"voters\"");
		goto out;
	}
	rc = r->on_block(r->ctx, r->n_blocks++, &b);
	cv_block_free(&b);
out:
	r->ps.block = -1;
	free(voters);
	return rc;
}

/* Cuts a value out of p[0..n): returns how many bytes belong to it (all of them while
 * it goes on); *done when it ended. A scalar ends before the byte that ends it. */
static cv_err frame_take(cv_chain_reader *r, const char *p, size_t n, size_t *used, bool *done)
{
	frame *f = &r->fr;
	size_t i = 0;

	*done = false;
	if (!f->active) {
		f->active = true;
		f->scalar = !(p[0] == '{' || p[0] == '[' || p[0] == '"');
	}
	for (; i < n && !*done; i++) {
		char c;

		/* most of an export is the inside of strings (hex): run through it */
		if (f->in_string && !f->escaped)
			while (i < n && p[i] != '"' && p[i] != '\\')
				i++;
		if (i == n)
			break;
		c = p[i];
		if (f->in_string) {
			if (f->escaped)
				f->escaped = false;
			else if (c == '\\')
				f->escaped = true;
			else if (c == '"') {
				f->in_string = false;
				*done = f->depth == 0;
			}
		} else if (f->scalar) {
			if (is_space(c) || c == ',' || c == ']' || c == '}') {
				*done = true;
				break; /* the delimiter is not the value's */
			}
		} else if (c == '"') {
			f->in_string = true;
		} else if (c == '{' || c == '[') {
			f->depth++;
		} else if (c == '}' || c == ']') {
			if (f->depth == 0)
				return CV_E_MALFORMED;
			*done = --f->depth == 0;
		}
	}
	*used = i;
	if (r->buf.len + *used > (r->in_key ? (size_t)4096 : CV_JSON_STREAM_VALUE_MAX))
		return CV_E_TOO_LARGE;
	if (cv_buf_put(&r->buf, p, *used) != CV_OK)
		return CV_E_NOMEM;
	if (*done)
		memset(f, 0, sizeof(*f));
	return CV_OK;
}

cv_err cv_chain_reader_feed(cv_chain_reader *r, const char *p, size_t n)
{
	size_t i = 0, used;
	bool done;
	cv_err rc;

	while (i < n && r->state != RD_FAILED) {
		char c = p[i];

		if (r->fr.active ||
		    ((r->state == RD_VALUE || r->state == RD_ELEMENT) && !is_space(c) &&
		     !(r->state == RD_ELEMENT && c == ']' && r->empty) &&
		     !(r->state == RD_VALUE && r->member == M_BLOCKS)) ||
		    (r->state == RD_KEY && c == '"')) {
			/* inside a value (or a key) being cut out */
			if (r->state == RD_KEY)
				r->in_key = true;
			if ((rc = frame_take(r, p + i, n - i, &used, &done)) != CV_OK)
				return reader_fail(r, rc);
			i += used;
			if (!done)
				continue;
			rc = r->state == RD_KEY     ? key_done(r)
			     : r->state == RD_VALUE ? value_done(r)
			                            : block_done(r);
			cv_buf_reset(&r->buf);
			if (rc != CV_OK)
				return reader_fail(r, rc);
			r->state = r->state == RD_KEY     ? RD_COLON
			           : r->state == RD_VALUE ? RD_AFTER_VALUE
			                                  : RD_AFTER_ELEMENT;
			r->in_key = false;
			r->empty = false;
			continue;
		}
		i++;
		if (is_space(c))
			continue;
		switch (r->state) {
		case RD_START:
			if (c != '{')
				return reader_fail(r, cv_js_fail(&r->ps, NULL, "not an object"));
			r->state = RD_KEY;
			r->empty = true;
			break;
		case RD_KEY:
			if (!(c == '}' && r->empty))
				return reader_fail(r, CV_E_MALFORMED);
			r->state = RD_DONE;
			break;
		case RD_COLON:
			if (c != ':')
				return reader_fail(r, CV_E_MALFORMED);
			r->state = RD_VALUE;
			break;
		case RD_VALUE: /* the blocks' '[' (other values are framed above) */
			r->seen_blocks = true;
			if (c != '[')
				return reader_fail(r, cv_js_fail(&r->ps, "blocks", "not an array"));
			r->state = RD_ELEMENT;
			r->empty = true;
			break;
		case RD_AFTER_VALUE:
			if (c == ',') {
				r->state = RD_KEY;
				r->empty = false;
			} else if (c == '}') {
				r->state = RD_DONE;
			} else {
				return reader_fail(r, CV_E_MALFORMED);
			}
			break;
		case RD_ELEMENT: /* ']' of an empty array */
			r->state = RD_AFTER_VALUE;
			break;
		case RD_AFTER_ELEMENT:
			if (c == ',') {
				r->state = RD_ELEMENT;
				r->empty = false;
			} else if (c == ']') {
				r->state = RD_AFTER_VALUE;
			} else {
				return reader_fail(r, CV_E_MALFORMED);
			}
			break;
		case RD_DONE:
			return reader_fail(r, CV_E_MALFORMED);
		case RD_FAILED:
			break;
		}
	}
	return r->state == RD_FAILED ? r->rc : CV_OK;
}

cv_err cv_chain_reader_end(cv_chain_reader *r)
{
	bool done;
	size_t used;
	cv_err rc;

	/* a scalar at the very end is complete only now */
	if (r->state != RD_FAILED && r->fr.active && r->fr.scalar) {
		if ((rc = frame_take(r, " ", 1, &used, &done)) != CV_OK || !done)
			return reader_fail(r, rc != CV_OK ? rc : CV_E_MALFORMED);
		return reader_fail(r, CV_E_MALFORMED); /* a scalar cannot end an object */
	}
	if (r->state == RD_FAILED)
		return r->rc;
	if (r->state != RD_DONE)
		return reader_fail(r, CV_E_MALFORMED);
	if (!r->seen_format)
		return reader_fail(r, cv_js_fail(&r->ps, "format", "missing"));
	if (!r->seen_blocks)
		return reader_fail(r, cv_js_fail(&r->ps, "blocks", "missing"));
	return CV_OK;
}
