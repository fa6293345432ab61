/* chainvote: the command line of ChainVote. Dispatches to the subcommands declared in
 * cmd.h: offline verification and keys, offline administration of a data directory,
 * and HTTP client commands against a running service. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"

static const struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} commands[] = {
    {"verify", cmd_verify, "verify a chain export (FILE, - for stdin, or a service URL)"},
    {"keygen", cmd_keygen, "write a new key file (P-256)"},
    {"init", cmd_init, "create an election in setup state in a data directory"},
    {"settings", cmd_settings, "change the election's settings (setup only)"},
    {"candidates", cmd_candidates, "add or rename candidates from a CSV file"},
    {"validators", cmd_validators, "add or rename validators from a CSV file"},
    {"voters", cmd_voters, "put voter keys on the roll from a CSV file"},
    {"eligible", cmd_eligible, "add voter eligibility entries with one-time codes"},
    {"eligible-list", cmd_eligible_list, "list eligibility entries: unused, registered, voted"},
    {"reissue", cmd_reissue, "a new one-time code for a voter not registered (setup)"},
    {"revoke", cmd_revoke, "a registered key off the roll and a new code (setup)"},
    {"open", cmd_open, "seal the genesis block and open the election"},
    {"close", cmd_close, "close the election"},
    {"status", cmd_status, "print the election's state"},
    {"export", cmd_export, "write the chain export"},
    {"backup", cmd_backup, "hot backup of a data directory while the service runs"},
    {"restore", cmd_restore, "make a data directory from a backup"},
    {"recover", cmd_recover, "recovery of a data directory no process has open"},
    {"release", cmd_release, "remove the shared memory a killed store left (before deleting it)"},
    {"replicate", cmd_replicate, "this node's replication process (a replicated data directory)"},
    {"cluster", cmd_cluster, "the replication group as a node sees it: cluster status --url U"},
    {"rekey", cmd_rekey, "move a stopped data directory's store to a new key"},
    {"admin-init", cmd_admin_init, "enrol the admin: password, TOTP secret, recovery codes"},
    {"totp", cmd_totp, "print the current TOTP code of a base32 secret"},
    {"vote", cmd_vote, "sign and send a vote to a service"},
    {"approve", cmd_approve, "sign and send a validator's approval"},
    {"reject", cmd_reject, "sign and send a validator's rejection"},
    {"validator", cmd_validator, "a validator's daemon: checks proposals and signs by itself"},
    {"change", cmd_change,
     "propose, sign or list changes of closes, difficulty, a validator's key"},
    {"trustee", cmd_trustee, "a trustee's key ceremony steps: keygen, shares, status"},
    {"receipt", cmd_receipt, "fetch a vote's receipt and check its inclusion proof"},
    {"check-ballot", cmd_check_ballot,
     "check a challenged secret ballot: it encrypts the choice shown"},
};

static void usage(FILE *out)
{
	fprintf(out, "usage: chainvote COMMAND [ARGS]   (chainvote COMMAND --help for more)\n\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-13s %s\n", commands[i].name, commands[i].summary);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "chainvote: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
