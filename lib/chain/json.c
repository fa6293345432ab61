/* The strict parser under the public JSON of DESIGN section 3 (json.h). Input comes from
 * voters, miners and downloaded exports, so every reader is strict: a lexical pre-scan, a
 * depth-limited strict parse, exact key sets, exact integer types and ranges, exact hex.
 * The chain's objects are read in json_read.c and written in json_write.c; an export is
 * read as a stream in json_stream.c. */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_impl.h"

/* Records the first (innermost) failure with its place; always CV_E_MALFORMED. */
cv_err cv_js_fail(pstate *ps, const char *key, const char *fmt, ...)
{
	char what[128];
	va_list ap;
	size_t off = 0;

	if (ps == NULL || ps->why == NULL || ps->why_len == 0 || ps->why[0] != '\0')
		return CV_E_MALFORMED;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (ps->block >= 0)
		off += (size_t)snprintf(ps->why, ps->why_len, "block %lld ", (long long)ps->block);
	if (ps->item != NULL && off < ps->why_len) {
		if (ps->item_index >= 0)
			off += (size_t)snprintf(ps->why + off, ps->why_len - off, "%s %lld ",
			                        ps->item, (long long)ps->item_index);
		else
			off += (size_t)snprintf(ps->why + off, ps->why_len - off, "%s ", ps->item);
	}
	if (off < ps->why_len)
		snprintf(ps->why + off, ps->why_len - off, "%s%s%s", key ? key : "",
		         key ? ": " : "", what);
	return CV_E_MALFORMED;
}

/* ---- parsing ---- */

/* Length of the well-formed UTF-8 sequence (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF) starting at p, or 0. */
static size_t utf8_len(const unsigned char *p, size_t avail)
{
	size_t n;
	uint32_t cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (n > avail)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* json-c's strict mode still takes single-quoted strings, NaN and Infinity, its UTF-8
 * check lets overlong forms through, and NUL bytes end its view of the input early;
 * one pass over the input closes those doors before the tokenizer runs: outside
 * strings only the bytes JSON allows there, inside strings well-formed UTF-8. */
static int lexically_json(const char *text, size_t len)
{
	int in_string = 0, escaped = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c;

		/* most of a chain's text is the inside of strings (hex): run through it */
		if (in_string && !escaped)
			while (i < len && text[i] != '"' && text[i] != '\\' &&
			       (unsigned char)text[i] - 1u < 0x7fu) /* neither NUL nor >= 0x80 */
				i++;
		if (i == len)
			break;
		c = (unsigned char)text[i];
		if (c == '\0')
			return 0;
		if (c >= 0x80) {
			size_t n =
			    in_string ? utf8_len((const unsigned char *)text + i, len - i) : 0;

			if (n == 0)
				return 0;
			i += n - 1;
			escaped = 0;
			continue;
		}
		if (in_string) {
			if (escaped)
				escaped = 0;
			else if (c == '\\')
				escaped = 1;
			else if (c == '"')
				in_string = 0;
			continue;
		}
		if (c == '"') {
			in_string = 1;
			continue;
		}
		if (strchr(" \t\n\r{}[]:,0123456789-+.eEtrufalsn", c) == NULL)
			return 0;
	}
	return !in_string;
}

cv_err cv_json_parse(const char *text, size_t len, json_object **out)
{
	json_tokener *tok = NULL;
	json_object *o = NULL;
	cv_err rc = CV_E_MALFORMED;
	size_t end;

	*out = NULL;
	if (len > INT_MAX)
		return CV_E_TOO_LARGE;
	if (!lexically_json(text, len))
		return CV_E_MALFORMED;
	tok = json_tokener_new_ex(CV_JSON_MAX_DEPTH);
	if (tok == NULL)
		return CV_E_NOMEM;
	/* not JSON_TOKENER_VALIDATE_UTF8: lexically_json checked the same bytes more
	 * strictly, and json-c's check per byte was about 1% of an audit's CPU */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, text, (int)len);
	if (o == NULL && json_tokener_get_error(tok) == json_tokener_continue && len > 0) {
		/* a bare top-level number is complete only once something follows it */
		o = json_tokener_parse_ex(tok, " ", 1);
		len++;
		text = NULL;
	}
	if (o == NULL || json_tokener_get_error(tok) != json_tokener_success)
		goto out;
	end = json_tokener_get_parse_end(tok);
	for (; text != NULL && end < len; end++)
		if (strchr(" \t\n\r", text[end]) == NULL)
			goto out;
	*out = o;
	o = NULL;
	rc = CV_OK;
out:
	json_object_put(o);
	json_tokener_free(tok);
	return rc;
}

cv_err cv_js_get_field(pstate *ps, const json_object *o, const char *key, json_type type,
                       json_object **val)
{
	*val = NULL;
	if (!json_object_is_type(o, json_type_object))
		return cv_js_fail(ps, NULL, "not an object");
	if (!json_object_object_get_ex(o, key, val) || *val == NULL)
		return cv_js_fail(ps, key, "missing");
	if (!json_object_is_type(*val, type))
		return cv_js_fail(ps, key, "not %s %s",
		                  type == json_type_int || type == json_type_array ||
		                          type == json_type_object
		                      ? "an"
		                      : "a",
		                  json_type_to_name(type));
	return CV_OK;
}

cv_err cv_js_get_hex(pstate *ps, const json_object *o, const char *key, uint8_t *out, size_t n)
{
	json_object *val;
	cv_err rc;

	if ((rc = cv_js_get_field(ps, o, key, json_type_string, &val)) != CV_OK)
		return rc;
	if ((size_t)json_object_get_string_len(val) != 2 * n ||
	    cv_hex_decode(json_object_get_string(val), out, n) != CV_OK)
		return cv_js_fail(ps, key, "not %zu bytes of lowercase hex", n);
	return CV_OK;
}

/* json-c clamps integers beyond 64 bits to INT64_MIN or UINT64_MAX without an error,
 * so UINT64_MAX itself is refused: it cannot be told apart from an overflow. */
cv_err cv_js_get_u64(pstate *ps, const json_object *o, const char *key, uint64_t max, uint64_t *out)
{
	json_object *val;
	uint64_t u = 0;
	cv_err rc;

	if ((rc = cv_js_get_field(ps, o, key, json_type_int, &val)) != CV_OK)
		return rc;
	if (json_object_get_int64(val) < 0)
		return cv_js_fail(ps, key, "negative");
	u = json_object_get_uint64(val);
	if (u > max || u == UINT64_MAX)
		return cv_js_fail(ps, key, "out of range");
	*out = u;
	return CV_OK;
}

cv_err cv_js_get_text(pstate *ps, const json_object *o, const char *key, char *out)
{
	json_object *val;
	const char *s;
	size_t len;
	cv_err rc;

	if ((rc = cv_js_get_field(ps, o, key, json_type_string, &val)) != CV_OK)
		return rc;
	len = (size_t)json_object_get_string_len(val);
	s = json_object_get_string(val);
	if (len > CV_TEXT_MAX)
		return cv_js_fail(ps, key, "longer than %d bytes", CV_TEXT_MAX);
	if (memchr(s, '\0', len) != NULL || !cv_text_ok(s))
		return cv_js_fail(ps, key, "not a single-line UTF-8 text");
	memcpy(out, s, len + 1);
	return CV_OK;
}

cv_err cv_js_only_keys(pstate *ps, const json_object *o, const char *const *allowed)
{
	if (!json_object_is_type(o, json_type_object))
		return cv_js_fail(ps, NULL, "not an object");
	json_object_object_foreach((json_object *)o, key, val)
	{
		size_t i;

		(void)val;
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(key, allowed[i]) == 0)
				break;
		if (allowed[i] == NULL)
			return cv_js_fail(ps, NULL, "unknown key \"%.40s\"", key);
	}
	return CV_OK;
}

cv_err cv_json_get_hex(const json_object *o, const char *key, uint8_t *out, size_t n)
{
	return cv_js_get_hex(NULL, o, key, out, n);
}

cv_err cv_json_get_u64(const json_object *o, const char *key, uint64_t max, uint64_t *out)
{
	return cv_js_get_u64(NULL, o, key, max, out);
}

cv_err cv_json_get_array(const json_object *o, const char *key, json_object **out)
{
	return cv_js_get_field(NULL, o, key, json_type_array, out);
}

cv_err cv_json_get_text(const json_object *o, const char *key, char *out)
{
	return cv_js_get_text(NULL, o, key, out);
}

cv_err cv_json_only_keys(const json_object *o, const char *const *allowed)
{
	return cv_js_only_keys(NULL, o, allowed);
}
