/* What the client commands of `chainvote` share (cmd_client.c defines it; cmd_client.c,
 * cmd_validator.c and cmd_trustee.c use it): their service options, reading a key
 * file, an HTTP handle on the service, and
 * strict fetches that print why they failed; and a trustee's decryption share, which
 * `chainvote trustee decrypt` and the validator daemon post (cmd_trustee.c defines it). Each
 * function that can fail prints its reason to stderr, prefixed "chainvote PROG:", and returns NULL
 * or -1. */
#ifndef CV_CLIENT_H
#define CV_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <getopt.h>
#include <stdio.h>

#include "chain.h"
#include "http.h"

#define KEYFILE_MAX (64 * 1024)
#define HEX_HASH    (2 * CV_HASH_LEN + 1)

/* The client commands' common word on HTTPS, in each usage. */
#define CACERT_HELP                                                                                \
	"Over https:// the service's certificate is verified; --cacert FILE trusts the CA\n"       \
	"certificates in FILE (PEM: a private CA, or the service's self-signed certificate).\n"    \
	"--election SLUG talks to that election of the service (/api/e/SLUG/...) instead of\n"     \
	"the default one.\n"

/* At most max bytes of path in a malloc'd NUL-terminated buffer (caller frees), its
 * length in *len; NULL when the file cannot be read or is longer. */
char *cli_read_file(const char *prog, const char *path, size_t max, size_t *len);
/* A key file (cv_keyfile_parse); the caller frees it with cv_privkey_free. */
cv_privkey *cli_load_key(const char *prog, const char *path);
/* The options by which every client command reaches a service: --url, --cacert (the CA
 * certificates HTTPS trusts; NULL: the system's) and --election (another election than
 * the default one). Their getopt values come first; a command numbers its own from
 * CLI_OPT_OWN, lists them with CLI_SERVICE_OPTIONS and hands each option to
 * cli_service_opt before its own switch. */
enum { CLI_OPT_URL = 256, CLI_OPT_CACERT, CLI_OPT_ELECTION, CLI_OPT_OWN };
/* clang-format off */
#define CLI_SERVICE_OPTIONS \
	{"url", required_argument, NULL, CLI_OPT_URL}, \
	{"cacert", required_argument, NULL, CLI_OPT_CACERT}, \
	{"election", required_argument, NULL, CLI_OPT_ELECTION}
/* clang-format on */
typedef struct cli_service {
	const char *url, *cacert, *election;
} cli_service;
/* True when getopt's c is one of the service options (arg stored in svc). */
bool cli_service_opt(int c, const char *arg, cli_service *svc);
/* An HTTP handle on svc's service and election; release it with cli_close_http (NULL is
 * a no-op). */
cv_http *cli_open_http(const char *prog, const cli_service *svc);
void cli_close_http(cv_http *h);
/* Prints why a request did not give the expected answer. */
void cli_print_refusal(const char *prog, const char *what, const cv_http_reply *r);
/* GET path expecting 200 with a JSON body: 0 with r->body set (cv_http_reply_free). */
int cli_get_json(const char *prog, cv_http *http, const char *path, cv_http_reply *r);
/* GET /api/blocks/{id} (a height or a hash), strictly: its stated hash is H(header), and
 * a genesis keeps every genesis rule. 0 with b filled (cv_block_free). */
int cli_fetch_block(const char *prog, cv_http *http, const char *id, cv_block *b);
/* A hash argument: exactly 64 lowercase hex characters. 0, or -1 with a message. */
int cli_parse_hash(const char *prog, const char *what, const char *s, uint8_t out[CV_HASH_LEN]);

/* ---- cmd_trustee.c ---- */

/* What cli_trustee_decrypt did. */
enum {
	CLI_DECRYPT_POSTED,     /* the share was taken; its txid in txid_hex */
	CLI_DECRYPT_ALREADY,    /* the service holds this trustee's share already */
	CLI_DECRYPT_NOT_SEALED, /* the seal is not committed yet: nothing was sent */
	CLI_DECRYPT_FAILED      /* a problem, printed: not a trustee, a bad share file, ... */
};
/* A trustee's decryption share (DESIGN section 6) of the sealed chain, posted: reads the
 * chain (GET /api/chain/export), checks that the share file at share_path (which
 * `chainvote trustee shares` wrote) holds key's s_j of this genesis (s_j·G = K_j), makes
 * the share s_j·α_i with its proofs, signs it with key and posts it (POST
 * /api/decryptions). s_j is read from the file for this call only and wiped after. */
int cli_trustee_decrypt(const char *prog, cv_http *http, const cv_privkey *key,
                        const char *share_path, char txid_hex[HEX_HASH]);

#endif
