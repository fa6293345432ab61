/* The admin's sign-in from the host: admin-init enrols the admin (password, TOTP secret,
 * recovery codes) in the election's directory, and totp prints the current code of a
 * base32 secret, for a host without an authenticator app (the demo's). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "admin.h"
#include "chain.h"
#include "cmd.h"

enum { OPT_DATA = 256, OPT_USER, OPT_PASSWORD_FILE, OPT_TOTP_FILE, OPT_HELP };

static const char admin_init_usage[] =
    "usage: chainvote admin-init --data DIR [--user NAME] [--password-file FILE]\n"
    "                            [--totp-secret-file FILE]\n"
    "Enrols the admin who signs in at /admin/: writes DIR/" CV_ADMIN_FILE " (0600; run it\n"
    "as the service's user) with the password (the first line of FILE, or of stdin),\n"
    "a TOTP secret (20 random bytes, or the base32 secret in --totp-secret-file) and\n"
    "ten recovery codes. Prints the otpauth:// URI to add to an authenticator app and\n"
    "the recovery codes, each good for one sign-in: this is the only time they are\n"
    "shown. Enrolling again replaces all of it and ends every session.\n"
    "  --user NAME   the admin's name (default admin; [A-Za-z0-9._-], 1-64)\n";

static const char totp_usage[] =
    "usage: chainvote totp FILE|-\n"
    "Prints the current 6-digit TOTP code (RFC 6238, 30 s) of the base32 secret in FILE.\n";

/* The first line of path ("-": stdin) without its newline into out[n]; false when it
 * cannot be read or is longer. */
static bool read_line(const char *path, char *out, size_t n)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	bool ok;
	size_t len;

	if (f == NULL)
		return false;
	ok = fgets(out, (int)n, f) != NULL;
	if (f != stdin)
		fclose(f);
	if (!ok)
		return false;
	len = strcspn(out, "\r\n");
	if (out[len] == '\0' && len == n - 1)
		return false; /* no end of line within n: too long */
	out[len] = '\0';
	return true;
}

int cmd_admin_init(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"data", required_argument, NULL, OPT_DATA},
	    {"user", required_argument, NULL, OPT_USER},
	    {"password-file", required_argument, NULL, OPT_PASSWORD_FILE},
	    {"totp-secret-file", required_argument, NULL, OPT_TOTP_FILE},
	    {"help", no_argument, NULL, OPT_HELP},
	    {NULL, 0, NULL, 0}};
	const char *data = NULL, *user = "admin", *pw_file = "-", *totp_file = NULL;
	char password[CV_ADMIN_PASSWORD_MAX + 2], b32[128];
	uint8_t secret[CV_TOTP_SECRET_LEN];
	cv_admin_enrolment en;
	int c, rc = 1;
	cv_err e;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case OPT_DATA:
			data = optarg;
			break;
		case OPT_USER:
			user = optarg;
			break;
		case OPT_PASSWORD_FILE:
			pw_file = optarg;
			break;
		case OPT_TOTP_FILE:
			totp_file = optarg;
			break;
		case OPT_HELP:
			fputs(admin_init_usage, stdout);
			return 0;
		default:
			fputs(admin_init_usage, stderr);
			return 2;
		}
	}
	if (data == NULL || optind != argc) {
		fputs(admin_init_usage, stderr);
		return 2;
	}
	if (!read_line(pw_file, password, sizeof password) || password[0] == '\0') {
		fprintf(stderr, "chainvote admin-init: no password (1 to %d bytes) in %s\n",
		        CV_ADMIN_PASSWORD_MAX, strcmp(pw_file, "-") == 0 ? "stdin" : pw_file);
		goto out;
	}
	if (totp_file != NULL && (!read_line(totp_file, b32, sizeof b32) ||
	                          cv_base32_decode(b32, secret, sizeof secret) != CV_OK)) {
		fprintf(stderr,
		        "chainvote admin-init: %s does not hold a base32 secret of %d bytes\n",
		        totp_file, CV_TOTP_SECRET_LEN);
		goto out;
	}
	e = cv_admin_enrol(data, user, password, totp_file ? secret : NULL, &en);
	if (e == CV_E_MALFORMED) {
		fprintf(stderr, "chainvote admin-init: a user name is 1-64 of [A-Za-z0-9._-]\n");
		goto out;
	}
	if (e != CV_OK) {
		fprintf(stderr, "chainvote admin-init: cannot write %s/%s (%s)\n", data,
		        CV_ADMIN_FILE, cv_err_code(e));
		goto out;
	}
	printf("user: %s\ntotp-secret: %s\notpauth-uri: %s\n", user, en.secret_b32, en.uri);
	for (size_t i = 0; i < CV_RECOVERY_CODES; i++)
		printf("recovery-code: %s\n", en.recovery[i]);
	rc = 0;
out:
	OPENSSL_cleanse(password, sizeof password);
	OPENSSL_cleanse(secret, sizeof secret);
	OPENSSL_cleanse(&en, sizeof en);
	return rc;
}

int cmd_totp(int argc, char **argv)
{
	char b32[128];
	uint8_t secret[CV_TOTP_SECRET_LEN];

	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(totp_usage, stdout);
		return 0;
	}
	if (argc != 2) {
		fputs(totp_usage, stderr);
		return 2;
	}
	if (!read_line(argv[1], b32, sizeof b32) ||
	    cv_base32_decode(b32, secret, sizeof secret) != CV_OK) {
		fprintf(stderr, "chainvote totp: %s does not hold a base32 secret of %d bytes\n",
		        argv[1], CV_TOTP_SECRET_LEN);
		return 1;
	}
	printf("%06u\n", cv_totp(secret, sizeof secret, cv_now(), CV_TOTP_DIGITS));
	OPENSSL_cleanse(secret, sizeof secret);
	return 0;
}
