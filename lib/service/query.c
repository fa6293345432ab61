/* The request's text parsed, with no request or store in sight (so that unit tests
 * call them alone): bounded integers, query parameters, media types, cookies. */
#include "service_impl.h"

#include <string.h>
#include <strings.h>

cv_err cv_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (s == NULL || s[0] == '\0')
		return CV_E_MALFORMED;
	for (i = 0; s[i] != '\0'; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9' || i >= 20)
			return CV_E_MALFORMED;
		d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return CV_E_MALFORMED;
		v = v * 10 + d;
	}
	if (v < min || v > max)
		return CV_E_MALFORMED;
	*out = v;
	return CV_OK;
}

cv_err cv_query_u64(const char *query, const char *name, uint64_t min, uint64_t max, bool *found,
                    uint64_t *out)
{
	size_t name_len = strlen(name);
	const char *p = query ? query : "";

	*found = false;
	while (*p != '\0') {
		const char *end = strchr(p, '&');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len > name_len && strncmp(p, name, name_len) == 0 && p[name_len] == '=') {
			char value[32];
			size_t vlen = len - name_len - 1;

			*found = true;
			if (vlen >= sizeof value)
				return CV_E_MALFORMED;
			memcpy(value, p + name_len + 1, vlen);
			value[vlen] = '\0';
			return cv_parse_u64(value, min, max, out);
		}
		if (len == name_len && strncmp(p, name, name_len) == 0) {
			*found = true; /* "name" with no value */
			return CV_E_MALFORMED;
		}
		p += len;
		if (*p == '&')
			p++;
	}
	return CV_OK;
}

bool cv_media_type_is(const char *header, const char *type)
{
	size_t len = strlen(type);

	if (header == NULL)
		return false;
	while (*header == ' ' || *header == '\t')
		header++;
	if (strncasecmp(header, type, len) != 0)
		return false;
	header += len;
	while (*header == ' ' || *header == '\t')
		header++;
	return *header == '\0' || *header == ';';
}

bool cv_cookie_value(const char *header, const char *name, char *out, size_t n)
{
	size_t name_len = strlen(name);
	const char *p = header;

	while (p != NULL && *p != '\0') {
		const char *end;
		size_t len;

		while (*p == ' ' || *p == '\t')
			p++;
		end = strchr(p, ';');
		len = end ? (size_t)(end - p) : strlen(p);
		if (len > name_len && strncmp(p, name, name_len) == 0 && p[name_len] == '=') {
			size_t vlen = len - name_len - 1;

			while (vlen > 0 && (p[name_len + 1 + vlen - 1] == ' '))
				vlen--;
			if (vlen == 0 || vlen >= n)
				return false;
			memcpy(out, p + name_len + 1, vlen);
			out[vlen] = '\0';
			return true;
		}
		p = end ? end + 1 : NULL;
	}
	return false;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

cv_err cv_query_text(const char *query, const char *name, char *out, size_t cap, bool *found)
{
	size_t name_len = strlen(name);
	const char *p = query ? query : "";

	*found = false;
	out[0] = '\0';
	while (*p != '\0') {
		const char *end = strchr(p, '&');
		size_t len = end ? (size_t)(end - p) : strlen(p), n = 0;

		if (len < name_len + 1 || strncmp(p, name, name_len) != 0 || p[name_len] != '=') {
			if (len == name_len && strncmp(p, name, name_len) == 0) {
				*found = true; /* "name" with no value */
				return CV_E_MALFORMED;
			}
			p += len;
			if (*p == '&')
				p++;
			continue;
		}
		*found = true;
		for (size_t i = name_len + 1; i < len; i++) {
			char c = p[i];

			if (c == '%') {
				int hi = i + 2 < len ? hex_digit(p[i + 1]) : -1;
				int lo = hi >= 0 ? hex_digit(p[i + 2]) : -1;

				if (lo < 0)
					return CV_E_MALFORMED;
				c = (char)(hi * 16 + lo);
				i += 2;
			}
			if (c == '\0' || n + 1 >= cap)
				return CV_E_MALFORMED;
			out[n++] = c;
		}
		out[n] = '\0';
		return CV_OK;
	}
	return CV_OK;
}
