/* The admin's sign-in (lib/service/admin.h): HOTP and TOTP against RFC 4226's and RFC
 * 6238's vectors, base32 against RFC 4648's, the code window and its replay, and the
 * admin file in a temporary directory: sign-in, sessions and their expiry, recovery
 * codes spent once, the lockout, sign-out and rotation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin.h"
#include "check.h"

static const uint8_t rfc_key[] = "12345678901234567890"; /* RFC 6238 Appendix B, SHA1 */
static char dir[] = "/tmp/cv-test-admin-XXXXXX";
static const uint64_t T0 = 1700000000; /* a time for the file tests */

static void hotp_matches_rfc4226_appendix_d(void)
{
	static const uint32_t want[10] = {755224, 287082, 359152, 969429, 338314,
	                                  254676, 287922, 162583, 399871, 520489};

	for (uint64_t c = 0; c < 10; c++)
		CHECK_EQ_INT(cv_hotp(rfc_key, 20, c, 6), want[c]);
}

static void totp_matches_rfc6238_appendix_b_sha1(void)
{
	static const struct {
		uint64_t t;
		uint32_t code;
	} v[] = {{59, 94287082},         {1111111109, 7081804},  {1111111111, 14050471},
	         {1234567890, 89005924}, {2000000000, 69279037}, {20000000000ULL, 65353130}};

	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
		CHECK_EQ_INT(cv_totp(rfc_key, 20, v[i].t, 8), v[i].code);
}

static void base32_matches_rfc4648(void)
{
	static const char *const in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *const out[] = {"",        "MY",       "MZXQ",      "MZXW6",
	                                  "MZXW6YQ", "MZXW6YTB", "MZXW6YTBOI"};
	char buf[32];
	uint8_t back[8];

	for (size_t i = 0; i < 7; i++) {
		cv_base32_encode((const uint8_t *)in[i], strlen(in[i]), buf);
		CHECK_STR(buf, out[i]);
		CHECK_EQ_INT(cv_base32_decode(out[i], back, strlen(in[i])), CV_OK);
		CHECK(memcmp(back, in[i], strlen(in[i])) == 0);
	}
	CHECK_EQ_INT(cv_base32_decode("mzxw6ytboi", back, 6), CV_OK);          /* either case */
	CHECK_EQ_INT(cv_base32_decode("MZXW6YTBOI", back, 5), CV_E_MALFORMED); /* length */
	CHECK_EQ_INT(cv_base32_decode("MZXW1YTB", back, 5), CV_E_MALFORMED);   /* '1' */
}

static void totp_check_takes_one_step_either_side_once(void)
{
	char code[8];
	uint64_t step = 0, now = 1111111111, s = now / 30;

	snprintf(code, sizeof code, "%06u", cv_totp(rfc_key, 20, now, 6));
	CHECK(cv_totp_check(rfc_key, now, code, 0, &step) && step == s);
	CHECK(!cv_totp_check(rfc_key, now, code, s, &step)); /* replayed */
	snprintf(code, sizeof code, "%06u", cv_totp(rfc_key, 20, now - 30, 6));
	CHECK(cv_totp_check(rfc_key, now, code, 0, &step) && step == s - 1);
	snprintf(code, sizeof code, "%06u", cv_totp(rfc_key, 20, now + 30, 6));
	CHECK(cv_totp_check(rfc_key, now, code, s, &step) && step == s + 1);
	snprintf(code, sizeof code, "%06u", cv_totp(rfc_key, 20, now + 60, 6));
	CHECK(!cv_totp_check(rfc_key, now, code, 0, &step)); /* two steps ahead */
	snprintf(code, sizeof code, "%06u", cv_totp(rfc_key, 20, now - 60, 6));
	CHECK(!cv_totp_check(rfc_key, now, code, 0, &step)); /* two steps behind */
	CHECK(!cv_totp_check(rfc_key, now, "12345", 0, &step));
	CHECK(!cv_totp_check(rfc_key, now, "12345a", 0, &step));
	CHECK(!cv_totp_check(rfc_key, now, "1234567", 0, &step));
}

static void otpauth_uri_names_issuer_user_and_secret(void)
{
	char uri[CV_ADMIN_URI_MAX];

	CHECK_EQ_INT(cv_otpauth_uri("ChainVote", "ad min", rfc_key, uri), CV_OK);
	CHECK_STR(uri, "otpauth://totp/ChainVote:ad%20min?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	               "&issuer=ChainVote&algorithm=SHA1&digits=6&period=30");
}

static void session_lives_15_min_idle_and_8_h_at_most(void)
{
	CHECK(cv_session_alive(1000, 1000, 1000));
	CHECK(cv_session_alive(1000, 1000, 1000 + 15 * 60 - 1));
	CHECK(!cv_session_alive(1000, 1000, 1000 + 15 * 60));
	CHECK(cv_session_alive(1000, 1000 + 8 * 3600 - 60, 1000 + 8 * 3600 - 1));
	CHECK(!cv_session_alive(1000, 1000 + 8 * 3600 - 60, 1000 + 8 * 3600));
	CHECK(!cv_session_alive(1000, 1000, 999)); /* a clock stepped back */
}

static void lockout_starts_after_five_and_doubles_to_a_cap(void)
{
	CHECK_EQ_INT(cv_signin_lockout(4), 0);
	CHECK_EQ_INT(cv_signin_lockout(5), 30);
	CHECK_EQ_INT(cv_signin_lockout(6), 60);
	CHECK_EQ_INT(cv_signin_lockout(9), 480);
	CHECK_EQ_INT(cv_signin_lockout(10), 900);
	CHECK_EQ_INT(cv_signin_lockout(4000000000u), 900);
}

/* ---- the file ---- */

static cv_admin_enrolment en;
static uint8_t secret[CV_TOTP_SECRET_LEN];

static void code_at(uint64_t t, char out[8])
{
	snprintf(out, 8, "%06u", cv_totp(secret, sizeof secret, t, 6));
}

static cv_signin sign_in(const char *user, const char *pw, const char *code, uint64_t now,
                         char token[CV_SESSION_HEX_LEN + 1])
{
	cv_signin res = CV_SIGNIN_REFUSED;
	uint64_t retry;
	unsigned left;
	char scratch[CV_SESSION_HEX_LEN + 1];

	if (cv_admin_sign_in(dir, user, pw, code, now, &res, token ? token : scratch, &retry,
	                     &left) != CV_OK)
		return (cv_signin)-1;
	return res;
}

static bool session_ok(const char *token, uint64_t now)
{
	bool valid = false;
	char user[CV_ADMIN_USER_MAX + 1];

	return cv_admin_session(dir, token, now, &valid, user) == CV_OK && valid &&
	       strcmp(user, "admin") == 0;
}

static void enrol(void)
{
	for (size_t i = 0; i < sizeof secret; i++)
		secret[i] = (uint8_t)(i * 7 + 1);
	CHECK_EQ_INT(cv_admin_enrol(dir, "admin", "pw-1", secret, &en), CV_OK);
}

static void no_file_is_not_enrolled(void)
{
	CHECK_EQ_INT(sign_in("admin", "pw-1", "000000", T0, NULL), CV_SIGNIN_NOT_ENROLLED);
}

static void enrolment_writes_a_private_file_and_shows_the_secret(void)
{
	char path[256];
	struct stat sb;
	uint8_t back[CV_TOTP_SECRET_LEN];

	enrol();
	snprintf(path, sizeof path, "%s/%s", dir, CV_ADMIN_FILE);
	CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600);
	CHECK(cv_base32_decode(en.secret_b32, back, sizeof back) == CV_OK &&
	      memcmp(back, secret, sizeof back) == 0);
	CHECK(strncmp(en.uri, "otpauth://totp/ChainVote:admin?secret=", 38) == 0);
	CHECK(strlen(en.recovery[0]) == CV_RECOVERY_CODE_LEN && en.recovery[0][4] == '-');
	CHECK(strcmp(en.recovery[0], en.recovery[1]) != 0);
	CHECK_EQ_INT(cv_admin_enrol(dir, "ad/min", "pw", NULL, &en), CV_E_MALFORMED);
	CHECK_EQ_INT(cv_admin_enrol(dir, "admin", "", NULL, &en), CV_E_MALFORMED);
}

static void sign_in_needs_user_password_and_code(void)
{
	char code[8], token[CV_SESSION_HEX_LEN + 1];

	enrol();
	code_at(T0, code);
	CHECK_EQ_INT(sign_in("admin", "wrong", code, T0, NULL), CV_SIGNIN_REFUSED);
	CHECK_EQ_INT(sign_in("root", "pw-1", code, T0, NULL), CV_SIGNIN_REFUSED);
	CHECK_EQ_INT(sign_in("admin", "pw-1", "000000", T0, NULL), CV_SIGNIN_REFUSED);
	CHECK_EQ_INT(sign_in("admin", "pw-1", code, T0, token), CV_SIGNIN_OK);
	CHECK(strlen(token) == CV_SESSION_HEX_LEN);
	CHECK(session_ok(token, T0));
	/* the same code again: refused, even with a right password */
	CHECK_EQ_INT(sign_in("admin", "pw-1", code, T0 + 1, NULL), CV_SIGNIN_REFUSED);
	/* the next step's code is still good (the window), once */
	code_at(T0 + 30, code);
	CHECK_EQ_INT(sign_in("admin", "pw-1", code, T0 + 1, NULL), CV_SIGNIN_OK);
	CHECK_EQ_INT(sign_in("admin", "pw-1", code, T0 + 2, NULL), CV_SIGNIN_REFUSED);
}

static void session_expires_idle_and_at_most_and_on_sign_out(void)
{
	char code[8], token[CV_SESSION_HEX_LEN + 1], other[CV_SESSION_HEX_LEN + 1];

	enrol();
	code_at(T0, code);
	CHECK_EQ_INT(sign_in("admin", "pw-1", code, T0, token), CV_SIGNIN_OK);
	CHECK(session_ok(token, T0 + 10 * 60)); /* seen again: the idle time restarts */
	CHECK(session_ok(token, T0 + 20 * 60));
	CHECK(!session_ok(token, T0 + 36 * 60)); /* 16 min idle */
	CHECK(!session_ok(token, T0 + 20 * 60)); /* and dropped for good */
	code_at(T0 + 3600, code);
	CHECK_EQ_INT(sign_in("admin", "pw-1", code, T0 + 3600, token), CV_SIGNIN_OK);
	code_at(T0 + 3630, code);
	CHECK_EQ_INT(sign_in("admin", "pw-1", code, T0 + 3630, other), CV_SIGNIN_OK);
	for (uint64_t t = T0 + 3600; t < T0 + 3600 + 8 * 3600; t += 10 * 60)
		session_ok(token, t);
	CHECK(!session_ok(token, T0 + 3600 + 8 * 3600)); /* 8 h however busy */
	CHECK(!session_ok(other, T0 + 3600 + 8 * 3600)); /* idle long since */
	code_at(T0 + 7200, code);
	CHECK_EQ_INT(sign_in("admin", "pw-1", code, T0 + 7200, token), CV_SIGNIN_OK);
	CHECK_EQ_INT(cv_admin_sign_out(dir, token), CV_OK);
	CHECK(!session_ok(token, T0 + 7201));
	CHECK(!session_ok("not-a-token", T0));
	CHECK(!session_ok(NULL, T0));
}

static void recovery_code_works_once(void)
{
	char token[CV_SESSION_HEX_LEN + 1], upper[CV_RECOVERY_CODE_LEN + 1];
	cv_signin res;
	uint64_t retry;
	unsigned left = 0;

	enrol();
	CHECK_EQ_INT(
	    cv_admin_sign_in(dir, "admin", "pw-1", en.recovery[3], T0, &res, token, &retry, &left),
	    CV_OK);
	CHECK_EQ_INT(res, CV_SIGNIN_OK);
	CHECK_EQ_INT(left, CV_RECOVERY_CODES - 1);
	CHECK(session_ok(token, T0));
	CHECK_EQ_INT(sign_in("admin", "pw-1", en.recovery[3], T0, NULL), CV_SIGNIN_REFUSED);
	CHECK_EQ_INT(sign_in("admin", "wrong", en.recovery[4], T0, NULL), CV_SIGNIN_REFUSED);
	/* typed in capitals: the same code */
	for (size_t i = 0; i <= CV_RECOVERY_CODE_LEN; i++)
		upper[i] = (char)(en.recovery[4][i] >= 'a' && en.recovery[4][i] <= 'z'
		                      ? en.recovery[4][i] - 'a' + 'A'
		                      : en.recovery[4][i]);
	CHECK_EQ_INT(sign_in("admin", "pw-1", upper, T0, NULL), CV_SIGNIN_OK);
}

static void five_failures_lock_the_sign_in(void)
{
	char code[8];
	cv_signin res;
	uint64_t retry = 0;
	unsigned left;
	char token[CV_SESSION_HEX_LEN + 1];

	enrol();
	for (int i = 0; i < 5; i++)
		CHECK_EQ_INT(sign_in("admin", "wrong", "000000", T0, NULL), CV_SIGNIN_REFUSED);
	code_at(T0 + 1, code);
	CHECK_EQ_INT(
	    cv_admin_sign_in(dir, "admin", "pw-1", code, T0 + 1, &res, token, &retry, &left),
	    CV_OK);
	CHECK_EQ_INT(res, CV_SIGNIN_LOCKED); /* even the right one, while locked */
	CHECK_EQ_INT(retry, 29);
	code_at(T0 + 31, code);
	CHECK_EQ_INT(sign_in("admin", "pw-1", code, T0 + 31, NULL), CV_SIGNIN_OK);
	for (int i = 0; i < 5; i++) /* a success starts the count again */
		CHECK_EQ_INT(sign_in("admin", "wrong", "000000", T0 + 40, NULL), CV_SIGNIN_REFUSED);
	CHECK_EQ_INT(sign_in("admin", "wrong", "000000", T0 + 71, NULL), CV_SIGNIN_REFUSED);
	CHECK_EQ_INT(sign_in("admin", "wrong", "000000", T0 + 72, NULL), CV_SIGNIN_LOCKED);
}

static void rotation_needs_a_code_of_the_new_secret(void)
{
	cv_admin_enrolment rot, done;
	uint8_t fresh[CV_TOTP_SECRET_LEN];
	char code[8], token[CV_SESSION_HEX_LEN + 1];
	bool ok = true;

	enrol();
	CHECK_EQ_INT(cv_admin_rotate_begin(dir, &rot), CV_OK);
	CHECK(cv_base32_decode(rot.secret_b32, fresh, sizeof fresh) == CV_OK);
	CHECK(memcmp(fresh, secret, sizeof fresh) != 0);
	code_at(T0, code); /* the old secret's code does not confirm */
	CHECK_EQ_INT(cv_admin_rotate_confirm(dir, code, T0, &ok, &done), CV_OK);
	CHECK(!ok);
	snprintf(code, sizeof code, "%06u", cv_totp(fresh, sizeof fresh, T0, 6));
	CHECK_EQ_INT(cv_admin_rotate_confirm(dir, code, T0, &ok, &done), CV_OK);
	CHECK(ok && strlen(done.recovery[0]) == CV_RECOVERY_CODE_LEN);
	CHECK_EQ_INT(sign_in("admin", "pw-1", en.recovery[0], T0, NULL), CV_SIGNIN_REFUSED);
	snprintf(code, sizeof code, "%06u", cv_totp(fresh, sizeof fresh, T0 + 30, 6));
	CHECK_EQ_INT(sign_in("admin", "pw-1", code, T0 + 30, token), CV_SIGNIN_OK);
	CHECK_EQ_INT(sign_in("admin", "pw-1", done.recovery[0], T0 + 31, NULL), CV_SIGNIN_OK);
}

int main(void)
{
	char path[256];

	if (mkdtemp(dir) == NULL)
		return 1;
	cv_admin_kdf_iterations = 1000; /* the KDF's cost is not under test */
	RUN(hotp_matches_rfc4226_appendix_d);
	RUN(totp_matches_rfc6238_appendix_b_sha1);
	RUN(base32_matches_rfc4648);
	RUN(totp_check_takes_one_step_either_side_once);
	RUN(otpauth_uri_names_issuer_user_and_secret);
	RUN(session_lives_15_min_idle_and_8_h_at_most);
	RUN(lockout_starts_after_five_and_doubles_to_a_cap);
	RUN(no_file_is_not_enrolled);
	RUN(enrolment_writes_a_private_file_and_shows_the_secret);
	RUN(sign_in_needs_user_password_and_code);
	RUN(session_expires_idle_and_at_most_and_on_sign_out);
	RUN(recovery_code_works_once);
	RUN(five_failures_lock_the_sign_in);
	RUN(rotation_needs_a_code_of_the_new_secret);
	snprintf(path, sizeof path, "%s/%s", dir, CV_ADMIN_FILE);
	unlink(path);
	snprintf(path, sizeof path, "%s/admin-auth.lock", dir);
	unlink(path);
	rmdir(dir);
	return CHECK_DONE("admin");
}
