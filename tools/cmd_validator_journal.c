/* The validator daemon's journal: every signature is appended and synced here before it
 * leaves, and the journal is read at start and consulted before each signature, so that
 * the daemon never approves two blocks at one height, even across restarts. One daemon
 * per journal (it is locked). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd_validator.h"

#define JOURNAL_MAX  (64u * 1024 * 1024)
#define JOURNAL_LINE (8 + HEX_HASH + 21 + HEX_HASH + 2)

void journal_close(journal *j)
{
	if (j->fd >= 0)
		close(j->fd); /* releases the lock */
	j->fd = -1;
	free(j->items);
	j->items = NULL;
	j->n = j->cap = 0;
}

/* Adds e to the entries in memory; -1 when out of memory. */
int journal_keep(journal *j, const entry *e)
{
	if (j->n == j->cap) {
		size_t cap = j->cap ? 2 * j->cap : 64;
		entry *items = realloc(j->items, cap * sizeof(*items));

		if (items == NULL)
			return -1;
		j->items = items;
		j->cap = cap;
	}
	j->items[j->n++] = *e;
	return 0;
}

/* One complete line (NUL-terminated, no newline) into e; -1 when not understood. */
static int journal_parse(const char *line, entry *e)
{
	char kind[8], election[HEX_HASH], block[HEX_HASH], height[21], rest[2];

	memset(e, 0, sizeof(*e));
	if (sscanf(line, "%7s %64s %20s %64s %1s", kind, election, height, block, rest) != 4)
		return -1;
	if (strcmp(kind, "approve") == 0)
		e->kind = 'a';
	else if (strcmp(kind, "reject") == 0)
		e->kind = 'r';
	else
		return -1;
	if (cv_hex_decode(election, e->election_id, CV_HASH_LEN) != CV_OK ||
	    cv_hex_decode(block, e->block_hash, CV_HASH_LEN) != CV_OK)
		return -1;
	for (const char *c = height; *c; c++) {
		if (*c < '0' || *c > '9' || e->height > (UINT64_MAX - 9) / 10)
			return -1;
		e->height = e->height * 10 + (uint64_t)(*c - '0');
	}
	return e->height == 0 ? -1 : 0;
}

/* Opens (creating, mode 0600) and locks the journal at path, and reads what it holds.
 * 0, or -1 with a message printed: another daemon holds it, or it cannot be read, or a
 * line is not understood. */
int journal_open(journal *j, const char *path)
{
	struct stat st;
	char *text = NULL, *line, *end;
	size_t len = 0, lineno = 0;
	int ok = -1;

	memset(j, 0, sizeof(*j));
	j->path = path;
	j->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (j->fd < 0) {
		fprintf(stderr, "chainvote validator: journal %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (flock(j->fd, LOCK_EX | LOCK_NB) != 0) {
		fprintf(stderr,
		        "chainvote validator: journal %s is in use by another validator daemon "
		        "(one daemon per key)\n",
		        path);
		goto out;
	}
	if (fstat(j->fd, &st) != 0 || st.st_size > (off_t)JOURNAL_MAX) {
		fprintf(stderr, "chainvote validator: journal %s: unreadable or too large\n", path);
		goto out;
	}
	text = malloc((size_t)st.st_size + 1);
	if (text == NULL) {
		fprintf(stderr, "chainvote validator: out of memory\n");
		goto out;
	}
	while (len < (size_t)st.st_size) {
		ssize_t got = pread(j->fd, text + len, (size_t)st.st_size - len, (off_t)len);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			fprintf(stderr, "chainvote validator: journal %s: cannot read it\n", path);
			goto out;
		}
		len += (size_t)got;
	}
	text[len] = '\0';
	for (line = text; (end = memchr(line, '\n', len - (size_t)(line - text))) != NULL;
	     line = end + 1) {
		entry e;

		*end = '\0';
		lineno++;
		if (line[0] == '\0' || line[0] == '#')
			continue;
		if (journal_parse(line, &e) != 0) {
			fprintf(stderr,
			        "chainvote validator: journal %s: line %zu is not understood; not "
			        "starting, so that no signature it records is forgotten\n",
			        path, lineno);
			goto out;
		}
		if (journal_keep(j, &e) != 0) {
			fprintf(stderr, "chainvote validator: out of memory\n");
			goto out;
		}
	}
	if ((size_t)(line - text) < len) {
		/* a write cut short: its signature was never sent (sent only after the sync) */
		fprintf(stderr,
		        "chainvote validator: journal %s: dropping an incomplete last line\n",
		        path);
		if (ftruncate(j->fd, (off_t)(line - text)) != 0 || fsync(j->fd) != 0) {
			fprintf(stderr, "chainvote validator: journal %s: %s\n", path,
			        strerror(errno));
			goto out;
		}
	}
	ok = 0;
out:
	free(text);
	if (ok != 0)
		journal_close(j);
	return ok;
}

/* The entry of block_hash in election, or NULL. */
entry *journal_find(journal *j, const uint8_t election_id[CV_HASH_LEN],
                    const uint8_t block_hash[CV_HASH_LEN])
{
	for (size_t i = 0; i < j->n; i++)
		if (memcmp(j->items[i].block_hash, block_hash, CV_HASH_LEN) == 0 &&
		    memcmp(j->items[i].election_id, election_id, CV_HASH_LEN) == 0)
			return &j->items[i];
	return NULL;
}

/* The approval recorded at height in election, or NULL. */
const entry *journal_approved_at(const journal *j, const uint8_t election_id[CV_HASH_LEN],
                                 uint64_t height)
{
	for (size_t i = 0; i < j->n; i++)
		if (j->items[i].kind == 'a' && j->items[i].height == height &&
		    memcmp(j->items[i].election_id, election_id, CV_HASH_LEN) == 0)
			return &j->items[i];
	return NULL;
}

/* Appends e's line and syncs it (kind 'a' or 'r'), then keeps e in memory (in place of
 * its declined entry, if any). 0, or -1
 * with a message printed: nothing may then be signed. */
int journal_append(journal *j, const entry *e)
{
	char line[JOURNAL_LINE + 8], election[HEX_HASH], block[HEX_HASH];
	entry *kept;
	size_t len, off = 0;
	int n;

	cv_hex_encode(e->election_id, CV_HASH_LEN, election);
	cv_hex_encode(e->block_hash, CV_HASH_LEN, block);
	n = snprintf(line, sizeof(line), "%s %s %" PRIu64 " %s\n",
	             e->kind == 'a' ? "approve" : "reject", election, e->height, block);
	if (n < 0 || (size_t)n >= sizeof(line))
		return -1;
	len = (size_t)n;
	while (off < len) {
		ssize_t w = write(j->fd, line + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	if (off < len || fsync(j->fd) != 0) {
		fprintf(stderr,
		        "chainvote validator: journal %s: cannot write it (%s); signing "
		        "stops\n",
		        j->path, strerror(errno));
		return -1;
	}
	kept = journal_find(j, e->election_id, e->block_hash);
	if (kept != NULL) { /* declined before: memory only, now in the file */
		*kept = *e;
		return 0;
	}
	if (journal_keep(j, e) != 0) {
		fprintf(stderr, "chainvote validator: out of memory\n");
		return -1;
	}
	return 0;
}

/* Syncs the directory that holds path, so that a journal just created survives a crash.
 * 0, or -1. */
int sync_parent(const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	int fd, ok;

	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else if ((size_t)(slash - path) < sizeof(dir))
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	else
		return -1;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ok = fsync(fd);
	close(fd);
	return ok;
}
