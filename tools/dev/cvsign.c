/* cvsign: a signing helper for the end-to-end tests, which are written in a language
 * without ECDSA. It generates voter keys in bulk and signs messages streamed on stdin,
 * so a test can pre-sign thousands of votes and approvals with one process. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "crypto.h"

#define LINE_MAX_LEN 8192
#define FILE_MAX     65536
#define KEYGEN_MAX   1000000

static void usage(FILE *out)
{
	fputs("usage: cvsign keygen N        N lines \"SCALAR_HEX PUBLIC_KEY_HEX\"\n"
	      "       cvsign sign            reads lines \"KEY MESSAGE_HEX\", writes\n"
	      "                              \"PUBLIC_KEY_HEX SIGNATURE_HEX\" (r||s) per line;\n"
	      "                              KEY is a 64-hex scalar or a key file path\n",
	      out);
}

static int keygen(const char *count)
{
	char *end;
	unsigned long n = strtoul(count, &end, 10);

	if (*count == '\0' || *end != '\0' || n == 0 || n > KEYGEN_MAX) {
		usage(stderr);
		return 2;
	}
	for (unsigned long i = 0; i < n; i++) {
		cv_privkey *k = NULL;
		uint8_t d[CV_SCALAR_LEN], pub[CV_KEY_LEN];
		char dhex[2 * CV_SCALAR_LEN + 1], pubhex[2 * CV_KEY_LEN + 1];

		if (cv_privkey_generate(&k) != CV_OK) {
			fputs("cvsign: key generation failed\n", stderr);
			return 1;
		}
		cv_privkey_scalar(k, d);
		cv_privkey_public(k, pub);
		cv_privkey_free(k);
		cv_hex_encode(d, sizeof d, dhex);
		cv_hex_encode(pub, sizeof pub, pubhex);
		printf("%s %s\n", dhex, pubhex);
	}
	return fflush(stdout) == 0 ? 0 : 1;
}

/* A key from a 64-hex scalar or from a key file; NULL when neither works. */
static cv_privkey *load_key(const char *spec)
{
	uint8_t d[CV_SCALAR_LEN];
	cv_privkey *k = NULL;
	char *text;
	size_t len;
	FILE *f;

	if (cv_hex_decode(spec, d, sizeof d) == CV_OK)
		return cv_privkey_from_scalar(d, &k) == CV_OK ? k : NULL;
	if ((f = fopen(spec, "rb")) == NULL)
		return NULL;
	text = malloc(FILE_MAX);
	len = text ? fread(text, 1, FILE_MAX, f) : 0;
	fclose(f);
	if (text != NULL && (len == FILE_MAX || cv_keyfile_parse(text, len, &k) != CV_OK))
		k = NULL;
	free(text);
	return k;
}

/* One answer line per input line, "error" for a line that cannot be signed, so the
 * caller can pair answers with its messages by position. */
static int sign_lines(void)
{
	static char line[LINE_MAX_LEN];
	uint8_t *msg = malloc(LINE_MAX_LEN / 2);

	if (msg == NULL)
		return 1;
	while (fgets(line, sizeof line, stdin) != NULL) {
		char *sp = strchr(line, ' '), *hex;
		size_t hex_len;
		cv_privkey *k;
		uint8_t pub[CV_KEY_LEN], sig[CV_SIG_LEN];
		char pubhex[2 * CV_KEY_LEN + 1], sighex[2 * CV_SIG_LEN + 1];

		line[strcspn(line, "\r\n")] = '\0';
		if (sp == NULL) {
			puts("error");
			continue;
		}
		*sp = '\0';
		hex = sp + 1;
		hex_len = strlen(hex);
		k = load_key(line);
		if (k == NULL || hex_len % 2 != 0 ||
		    cv_hex_decode(hex, msg, hex_len / 2) != CV_OK ||
		    cv_sign(k, msg, hex_len / 2, sig) != CV_OK) {
			cv_privkey_free(k);
			puts("error");
			continue;
		}
		cv_privkey_public(k, pub);
		cv_privkey_free(k);
		cv_hex_encode(pub, sizeof pub, pubhex);
		cv_hex_encode(sig, sizeof sig, sighex);
		printf("%s %s\n", pubhex, sighex);
		/* a caller may sign interactively, one message at a time */
		fflush(stdout);
	}
	free(msg);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "keygen") == 0)
		return keygen(argv[2]);
	if (argc == 2 && strcmp(argv[1], "sign") == 0)
		return sign_lines();
	usage(argc == 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr);
	return 2;
}
