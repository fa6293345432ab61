/* The subcommands of `chainvote`. Each takes argc/argv with argv[0] the subcommand name,
 * prints its own --help, and returns the process exit status (0 success, 1 a problem
 * found or an operation refused, 2 a usage error). */
#ifndef CV_CMD_H
#define CV_CMD_H

/* cmd_verify.c: offline checks and keys */
int cmd_verify(int argc, char **argv); /* verify FILE|-|URL */
int cmd_keygen(int argc, char **argv); /* keygen [-o FILE] */

/* cmd_admin*.c: offline administration of a data directory (--data DIR) */
int cmd_init(int argc, char **argv);          /* create an election in setup state */
int cmd_settings(int argc, char **argv);      /* change settings in setup */
int cmd_candidates(int argc, char **argv);    /* add candidates from CSV: id,name */
int cmd_validators(int argc, char **argv);    /* add validators from CSV: key_hex,name */
int cmd_voters(int argc, char **argv);        /* put keys on the roll from CSV: key_hex */
int cmd_eligible(int argc, char **argv);      /* eligibility entries from CSV: voter_id[,code] */
int cmd_eligible_list(int argc, char **argv); /* the entries with their states */
int cmd_reissue(int argc, char **argv);       /* a new code for an unused entry */
int cmd_revoke(int argc, char **argv);        /* a registered key off the roll, a new code */
int cmd_open(int argc, char **argv);          /* seal genesis, open */
int cmd_close(int argc, char **argv);         /* close the election */
int cmd_status(int argc, char **argv);        /* print the election's state as JSON */
int cmd_export(int argc, char **argv);        /* write the chain export */
int cmd_backup(int argc, char **argv);        /* hot backup of a data directory */
int cmd_restore(int argc, char **argv);       /* a backup made into a data directory */
int cmd_recover(int argc, char **argv);       /* recovery of a stopped data directory */
int cmd_release(int argc, char **argv);       /* a stopped store's shared memory removed */
int cmd_rekey(int argc, char **argv);         /* the store under a new key, offline */

/* cmd_signin.c: the admin's sign-in, set up from the host */
int cmd_admin_init(int argc, char **argv); /* enrol the admin: password, TOTP, recovery */
int cmd_totp(int argc, char **argv);       /* the current TOTP code of a base32 secret */

/* cmd_client.c: HTTP client commands against a running service (--url U) */
int cmd_vote(int argc, char **argv);
int cmd_receipt(int argc, char **argv);

/* cmd_validator*.c: a validator's verdicts, by hand or by a daemon (--url U --key FILE) */
int cmd_approve(int argc, char **argv);   /* approve HASH | --all */
int cmd_reject(int argc, char **argv);    /* reject --reason TEXT HASH */
int cmd_validator(int argc, char **argv); /* the daemon: checks and signs by itself */

/* cmd_change.c: changes of the parameters in force, co-signed by validators (--url U) */
int cmd_change(int argc, char **argv); /* change propose|sign|list */

/* cmd_trustee.c: a trustee's side of a secret election's key ceremony (--url U) */
int cmd_trustee(int argc, char **argv); /* trustee keygen|shares|status */

/* cmd_ballot.c: the second device of a secret ballot's Benaloh challenge */
int cmd_check_ballot(int argc, char **argv); /* check-ballot [--chain EXPORT] FILE */

/* cmd_cluster.c: a node of a replication group */
int cmd_replicate(int argc, char **argv); /* the site's replication process (--data DIR) */
int cmd_cluster(int argc, char **argv);   /* cluster status --url U */

#endif
