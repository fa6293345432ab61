/* The admin's sign-in: a password (PBKDF2-HMAC-SHA256 with a salt), a TOTP second
 * factor (RFC 6238: HMAC-SHA1, 30 s steps, 6 digits, one step either side, each step
 * accepted once) with single-use recovery codes, and short-lived sessions (a random
 * 32-byte token in an HttpOnly cookie, kept only as its SHA-256, 15 min idle and 8 h at
 * most). All of it is one file beside the election, DIR/admin-auth.json (0600, the
 * service user's), rewritten whole (temporary file, fsync, rename) under an flock of
 * DIR/admin-auth.lock, so that every worker of every program sees one state. */
#ifndef CV_ADMIN_H
#define CV_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "err.h"

#define CV_TOTP_SECRET_LEN    20 /* bytes: RFC 4226's recommended 160 bits */
#define CV_TOTP_STEP          30 /* seconds */
#define CV_TOTP_DIGITS        6
#define CV_TOTP_B32_LEN       32 /* base32 of the secret, no padding */
#define CV_ADMIN_USER_MAX     64
#define CV_ADMIN_PASSWORD_MAX 1024
#define CV_RECOVERY_CODES     10
#define CV_RECOVERY_CODE_LEN  19 /* "xxxx-xxxx-xxxx-xxxx", base32 lowercase */
#define CV_SESSION_HEX_LEN    64 /* the cookie's value: 32 random bytes in hex */
#define CV_SESSION_IDLE       (15 * 60)
#define CV_SESSION_MAX        (8 * 3600)
#define CV_SESSIONS_MAX       16 /* the oldest gives way */
#define CV_SIGNIN_FREE_FAILS  5  /* failed sign-ins in a row before the lockout */
#define CV_SIGNIN_LOCK_MAX    (15 * 60)
#define CV_ADMIN_URI_MAX      256
#define CV_ADMIN_FILE         "admin-auth.json"

/* ---- pure (exposed for tests) ---- */

/* RFC 4226 HOTP of counter with key (HMAC-SHA1, dynamic truncation), digits 6 to 8. */
uint32_t cv_hotp(const uint8_t *key, size_t key_len, uint64_t counter, unsigned digits);
/* RFC 6238 TOTP at unix_time: cv_hotp of unix_time / CV_TOTP_STEP. */
uint32_t cv_totp(const uint8_t *key, size_t key_len, uint64_t unix_time, unsigned digits);
/* Whether code (exactly CV_TOTP_DIGITS ASCII digits) is the TOTP of key at a step within
 * one of now's and after last_step (a step is accepted once); *step gets the step. */
bool cv_totp_check(const uint8_t key[CV_TOTP_SECRET_LEN], uint64_t now, const char *code,
                   uint64_t last_step, uint64_t *step);
/* RFC 4648 base32 (upper case, no padding) of n bytes into out, which holds
 * ceil(n * 8 / 5) + 1 bytes. */
void cv_base32_encode(const uint8_t *p, size_t n, char *out);
/* Decodes base32 (either case; spaces and '=' padding ignored) into exactly n bytes;
 * CV_E_MALFORMED for any other character or another length. */
cv_err cv_base32_decode(const char *s, uint8_t *out, size_t n);
/* otpauth://totp/ISSUER:USER?secret=...&issuer=...&algorithm=SHA1&digits=6&period=30
 * into out[CV_ADMIN_URI_MAX]; user and issuer are percent-encoded. */
cv_err cv_otpauth_uri(const char *issuer, const char *user, const uint8_t key[CV_TOTP_SECRET_LEN],
                      char out[CV_ADMIN_URI_MAX]);
/* Whether a session made at created and last seen at seen is alive at now. */
bool cv_session_alive(uint64_t created, uint64_t seen, uint64_t now);
/* Seconds of lockout after fails failed sign-ins in a row (0 below the free ones):
 * 30 s, doubling with each further failure, at most CV_SIGNIN_LOCK_MAX. */
uint64_t cv_signin_lockout(uint32_t fails);

/* ---- the file ---- */

/* The PBKDF2 iterations an enrolment writes (600,000; each file keeps its own count).
 * A test hook: unit tests lower it so that they run in moments, under valgrind too. */
extern uint32_t cv_admin_kdf_iterations;

/* What an enrolment shows once: the TOTP secret (base32), its otpauth URI and the
 * recovery codes (only their hashes are kept). */
typedef struct cv_admin_enrolment {
	char secret_b32[CV_TOTP_B32_LEN + 1];
	char uri[CV_ADMIN_URI_MAX];
	char recovery[CV_RECOVERY_CODES][CV_RECOVERY_CODE_LEN + 1];
} cv_admin_enrolment;

/* Writes dir's admin file anew for user with password (1 to CV_ADMIN_PASSWORD_MAX
 * bytes), the TOTP secret given (NULL: 20 random bytes) and new recovery codes. Any
 * sessions end. CV_E_MALFORMED for a user outside [A-Za-z0-9._-]{1,64} or an empty
 * password; CV_E_IO when the file cannot be written. */
cv_err cv_admin_enrol(const char *dir, const char *user, const char *password,
                      const uint8_t *secret, cv_admin_enrolment *out);

/* How a sign-in ended when the call itself worked. */
typedef enum cv_signin {
	CV_SIGNIN_OK = 0,       /* token holds the new session's cookie value */
	CV_SIGNIN_REFUSED,      /* user, password or code wrong (which one is not told) */
	CV_SIGNIN_LOCKED,       /* too many failures: *retry_after seconds to wait */
	CV_SIGNIN_NOT_ENROLLED, /* no admin file: chainvote admin-init first */
} cv_signin;

/* Checks user, password and code (a TOTP code or a recovery code, which is then spent)
 * and on success starts a session. *recovery_left is the number of recovery codes
 * left. A failure counts toward the lockout; a locked sign-in checks nothing. */
cv_err cv_admin_sign_in(const char *dir, const char *user, const char *password, const char *code,
                        uint64_t now, cv_signin *result, char token[CV_SESSION_HEX_LEN + 1],
                        uint64_t *retry_after, unsigned *recovery_left);
/* Whether token names a live session; when it does, user gets the admin's name and the
 * session's idle time starts again. Expired sessions are dropped. */
cv_err cv_admin_session(const char *dir, const char *token, uint64_t now, bool *valid,
                        char user[CV_ADMIN_USER_MAX + 1]);
/* Ends token's session (no such session: nothing to do). */
cv_err cv_admin_sign_out(const char *dir, const char *token);

/* Rotation from the signed-in page: cv_admin_rotate_begin makes a new secret waiting
 * beside the current one and shows it (out's recovery codes are left empty);
 * cv_admin_rotate_confirm makes it current once code is a TOTP code of it, with new
 * recovery codes in out, and answers *confirmed false (nothing changed) otherwise. */
cv_err cv_admin_rotate_begin(const char *dir, cv_admin_enrolment *out);
cv_err cv_admin_rotate_confirm(const char *dir, const char *code, uint64_t now, bool *confirmed,
                               cv_admin_enrolment *out);

#endif
