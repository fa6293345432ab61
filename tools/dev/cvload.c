/* cvload: an HTTP/1.1 load generator for `make bench`. Holds many keep-alive connections
 * on epoll (one loop per thread) and either posts pre-made bodies, each exactly once (the
 * votes are signed beforehand, so signing is not measured), or repeats GETs for a time.
 * Prints one JSON line: requests, answers by status, rate and latency percentiles. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 16
#define MAX_CONNS   4096
#define READ_CHUNK  65536
#define MAX_STATUS  600
#define MAX_PATHS   8
#define MAX_HEADERS 8

typedef struct options {
	char host[256], port[16];
	unsigned conns, threads;
	double seconds;        /* 0: until the bodies run out */
	const char *post_path; /* NULL: GET mode */
	const char *paths[MAX_PATHS];
	size_t n_paths;
	const char *headers[MAX_HEADERS]; /* -H: extra request header lines */
	size_t n_headers;
	char **bodies; /* POST mode: one body per request */
	size_t *body_lens, n_bodies;
	uint64_t max_requests; /* 0: no limit */
} options;

static options opt = {.conns = 64, .threads = 1};
static atomic_size_t next_body;
static atomic_uint_fast64_t issued;
static volatile int stopping;

typedef struct conn {
	int fd;
	char *out; /* the request being sent */
	size_t out_len, out_off;
	char *in; /* bytes received and not yet consumed */
	size_t in_len, in_cap;
	double sent_at;
	bool busy; /* a request is outstanding */
	unsigned path_turn;
} conn;

typedef struct stats {
	uint64_t status[MAX_STATUS];
	uint64_t errors, requests;
	uint64_t bytes; /* of the answers, heads included */
	double *lat;    /* milliseconds per answered request */
	size_t n_lat, cap_lat;
} stats;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void record(stats *st, int status, double ms)
{
	if (status > 0 && status < MAX_STATUS)
		st->status[status]++;
	st->requests++;
	if (st->n_lat == st->cap_lat) {
		st->cap_lat = st->cap_lat ? 2 * st->cap_lat : 65536;
		st->lat = realloc(st->lat, st->cap_lat * sizeof *st->lat);
		if (st->lat == NULL)
			die("realloc");
	}
	st->lat[st->n_lat++] = ms;
}

static int open_conn(void)
{
	struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *ai = NULL;
	int fd, one = 1;

	if (getaddrinfo(opt.host, opt.port, &hints, &ai) != 0 || ai == NULL) {
		fprintf(stderr, "cvload: cannot resolve %s\n", opt.host);
		exit(1);
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS)
		die("connect");
	freeaddrinfo(ai);
	return fd;
}

/* Builds the connection's next request; false when there is nothing left to send. */
static bool next_request(conn *c)
{
	char head[2048], extra[1024] = "";
	size_t x = 0;
	int n;

	for (size_t h = 0; h < opt.n_headers; h++) {
		n = snprintf(extra + x, sizeof extra - x, "%s\r\n", opt.headers[h]);
		if (n < 0 || (size_t)n >= sizeof extra - x)
			die("-H: headers too long");
		x += (size_t)n;
	}

	if (stopping)
		return false;
	if (opt.max_requests && atomic_fetch_add(&issued, 1) >= opt.max_requests)
		return false;
	free(c->out);
	c->out = NULL;
	if (opt.post_path != NULL) {
		size_t i = atomic_fetch_add(&next_body, 1);

		if (i >= opt.n_bodies)
			return false;
		n = snprintf(head, sizeof head,
		             "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
		             "%sContent-Length: %zu\r\n\r\n",
		             opt.post_path, opt.host, extra, opt.body_lens[i]);
		c->out = malloc((size_t)n + opt.body_lens[i]);
		if (c->out == NULL)
			die("malloc");
		memcpy(c->out, head, (size_t)n);
		memcpy(c->out + n, opt.bodies[i], opt.body_lens[i]);
		c->out_len = (size_t)n + opt.body_lens[i];
	} else {
		const char *path = opt.paths[c->path_turn++ % opt.n_paths];

		n = snprintf(head, sizeof head, "GET %s HTTP/1.1\r\nHost: %s\r\n%s\r\n", path,
		             opt.host, extra);
		c->out = strdup(head);
		if (c->out == NULL)
			die("strdup");
		c->out_len = (size_t)n;
	}
	c->out_off = 0;
	c->busy = true;
	c->sent_at = now_s();
	return true;
}

/* Case-insensitive search for a header line "name: value" within the head; returns the
 * value's start or NULL. */
static const char *header_value(const char *head, size_t head_len, const char *name)
{
	size_t nl = strlen(name);

	for (const char *p = head; p < head + head_len;) {
		const char *eol = memchr(p, '\n', (size_t)(head + head_len - p));

		if (eol == NULL)
			break;
		if ((size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			p += nl + 1;
			while (*p == ' ')
				p++;
			return p;
		}
		p = eol + 1;
	}
	return NULL;
}

/* Length of a complete chunked body starting at p (with its final CRLF), or 0 when more
 * bytes are needed, or -1 when it is malformed. */
static long chunked_len(const char *p, size_t n)
{
	size_t off = 0;

	for (;;) {
		const char *eol = memchr(p + off, '\n', n - off);
		char *end;
		unsigned long sz;

		if (eol == NULL)
			return 0;
		sz = strtoul(p + off, &end, 16);
		if (end == p + off)
			return -1;
		off = (size_t)(eol - p) + 1;
		if (sz == 0) {
			/* no trailers are sent: the last chunk ends with one empty line */
			if (n - off < 2)
				return 0;
			return (long)(off + 2);
		}
		if (n - off < sz + 2)
			return 0;
		off += sz + 2;
	}
}

/* Parses one complete response at the start of c->in: 1 and its status and length when
 * complete, 0 when more bytes are needed, -1 when malformed. */
static int parse_response(conn *c, int *status, size_t *total, bool *close_after)
{
	const char *end = c->in_len >= 4 ? memmem(c->in, c->in_len, "\r\n\r\n", 4) : NULL;
	size_t head_len;
	const char *v;

	if (end == NULL)
		return c->in_len > 16384 ? -1 : 0;
	head_len = (size_t)(end - c->in) + 4;
	if (c->in_len < 12 || strncmp(c->in, "HTTP/1.", 7) != 0)
		return -1;
	*status = (int)strtol(c->in + 9, NULL, 10);
	v = header_value(c->in, head_len, "Connection");
	*close_after = v != NULL && strncasecmp(v, "close", 5) == 0;
	/* answers that never have a body (If-None-Match's 304 among them) */
	if (*status == 304 || *status == 204 || (*status >= 100 && *status < 200)) {
		*total = head_len;
		return 1;
	}
	if ((v = header_value(c->in, head_len, "Content-Length")) != NULL) {
		size_t len = strtoul(v, NULL, 10);

		if (c->in_len < head_len + len)
			return 0;
		*total = head_len + len;
		return 1;
	}
	if ((v = header_value(c->in, head_len, "Transfer-Encoding")) != NULL &&
	    strncasecmp(v, "chunked", 7) == 0) {
		long n = chunked_len(c->in + head_len, c->in_len - head_len);

		if (n <= 0)
			return (int)n;
		*total = head_len + (size_t)n;
		return 1;
	}
	/* a body that ends at close: not sent by nginx to HTTP/1.1 clients */
	return -1;
}

static void conn_reset(int ep, conn *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = open_conn();
	c->in_len = 0;
	c->out_off = 0;
	c->busy = false;
}

/* Sends what is left of the request; arms the connection for reading once it is out. */
static void conn_send(int ep, conn *c, size_t index)
{
	struct epoll_event ev = {.data.u64 = index};

	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);

		if (n < 0 && (errno == EAGAIN || errno == EINPROGRESS || errno == ENOTCONN))
			break;
		if (n < 0)
			return; /* the read side sees the error */
		c->out_off += (size_t)n;
	}
	ev.events = c->out_off < c->out_len ? EPOLLOUT | EPOLLIN : EPOLLIN;
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* A connection with nothing more to send leaves the loop (an idle socket closed by the
 * server would otherwise wake it for ever). */
static void conn_done(int ep, conn *c, unsigned *active)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	c->busy = false;
	(*active)--;
}

typedef struct worker {
	unsigned n_conns;
	double until;
	stats st;
} worker;

static void *run(void *arg)
{
	worker *w = arg;
	conn *cs = calloc(w->n_conns, sizeof *cs);
	struct epoll_event evs[256];
	unsigned active = 0;
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (cs == NULL || ep < 0)
		die("start");
	for (unsigned i = 0; i < w->n_conns; i++) {
		struct epoll_event ev = {.events = EPOLLOUT, .data.u64 = i};

		cs[i].fd = open_conn();
		cs[i].in_cap = READ_CHUNK;
		cs[i].in = malloc(cs[i].in_cap);
		if (cs[i].in == NULL)
			die("malloc");
		epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
		if (next_request(&cs[i]))
			active++;
	}
	while (active > 0) {
		int n = epoll_wait(ep, evs, 256, 100);

		if (w->until > 0 && now_s() >= w->until)
			stopping = 1;
		for (int k = 0; k < n; k++) {
			size_t i = evs[k].data.u64;
			conn *c = &cs[i];

			if (!c->busy)
				continue;
			if (evs[k].events & EPOLLOUT)
				conn_send(ep, c, i);
			if (!(evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
				continue;
			for (;;) {
				ssize_t got;
				int status = 0, r;
				size_t total = 0;
				bool close_after = false;

				if (c->in_cap - c->in_len < READ_CHUNK) {
					c->in_cap *= 2;
					c->in = realloc(c->in, c->in_cap);
					if (c->in == NULL)
						die("realloc");
				}
				got = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
				if (got < 0 && errno == EAGAIN)
					break;
				if (got <= 0) {
					/* the answer is lost; a body is not re-sent, since it
					 * may have been accepted */
					w->st.errors++;
					w->st.requests++;
					conn_reset(ep, c);
					{
						struct epoll_event ev = {.events = EPOLLOUT,
						                         .data.u64 = i};

						epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
					}
					if (!next_request(c))
						conn_done(ep, c, &active);
					break;
				}
				c->in_len += (size_t)got;
				r = parse_response(c, &status, &total, &close_after);
				if (r == 0)
					continue;
				if (r < 0) {
					status = 0;
					total = c->in_len;
					close_after = true;
				}
				record(&w->st, status, (now_s() - c->sent_at) * 1000.0);
				w->st.bytes += total;
				memmove(c->in, c->in + total, c->in_len - total);
				c->in_len -= total;
				c->busy = false;
				if (close_after) {
					conn_reset(ep, c);
					struct epoll_event ev = {.events = EPOLLOUT, .data.u64 = i};

					epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
				}
				if (!next_request(c)) {
					conn_done(ep, c, &active);
					break;
				}
				conn_send(ep, c, i);
				break;
			}
		}
	}
	for (unsigned i = 0; i < w->n_conns; i++) {
		close(cs[i].fd);
		free(cs[i].in);
		free(cs[i].out);
	}
	free(cs);
	close(ep);
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void load_bodies(const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, n_cap = 0;
	ssize_t len;

	if (f == NULL)
		die(path);
	while ((len = getline(&line, &cap, f)) > 0) {
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			len--;
		if (len == 0)
			continue;
		if (opt.n_bodies == n_cap) {
			n_cap = n_cap ? 2 * n_cap : 4096;
			opt.bodies = realloc(opt.bodies, n_cap * sizeof *opt.bodies);
			opt.body_lens = realloc(opt.body_lens, n_cap * sizeof *opt.body_lens);
			if (opt.bodies == NULL || opt.body_lens == NULL)
				die("realloc");
		}
		opt.bodies[opt.n_bodies] = strndup(line, (size_t)len);
		opt.body_lens[opt.n_bodies++] = (size_t)len;
	}
	free(line);
	fclose(f);
}

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: cvload --url http://HOST:PORT [-c CONNS] [-t THREADS] [-d SECONDS] [-n MAX]\n"
	    "              [-H 'NAME: VALUE'...] (--get PATH [--get PATH...] | --post PATH "
	    "--bodies FILE)\n"
	    "  GET mode repeats the paths in turn for -d seconds (or -n requests);\n"
	    "  POST mode sends each line of FILE once as a JSON body; -H adds a header line to\n"
	    "  each request (Accept-Encoding, If-None-Match).\n");
}

int main(int argc, char **argv)
{
	const char *url = NULL, *bodies = NULL;
	worker ws[MAX_THREADS];
	stats all = {0};
	double start, took;
	uint64_t ok = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		}
		if (v == NULL) {
			usage(stderr);
			return 2;
		}
		i++;
		if (strcmp(a, "--url") == 0)
			url = v;
		else if (strcmp(a, "-c") == 0)
			opt.conns = (unsigned)strtoul(v, NULL, 10);
		else if (strcmp(a, "-t") == 0)
			opt.threads = (unsigned)strtoul(v, NULL, 10);
		else if (strcmp(a, "-d") == 0)
			opt.seconds = strtod(v, NULL);
		else if (strcmp(a, "-n") == 0)
			opt.max_requests = strtoull(v, NULL, 10);
		else if (strcmp(a, "--get") == 0 && opt.n_paths < MAX_PATHS)
			opt.paths[opt.n_paths++] = v;
		else if (strcmp(a, "--post") == 0)
			opt.post_path = v;
		else if (strcmp(a, "--bodies") == 0)
			bodies = v;
		else if (strcmp(a, "-H") == 0 && opt.n_headers < MAX_HEADERS && strchr(v, ':') &&
		         !strpbrk(v, "\r\n"))
			opt.headers[opt.n_headers++] = v;
		else {
			usage(stderr);
			return 2;
		}
	}
	if (url == NULL || strncmp(url, "http://", 7) != 0 ||
	    sscanf(url + 7, "%255[^:/]:%15[0-9]", opt.host, opt.port) != 2 || opt.conns < 1 ||
	    opt.conns > MAX_CONNS || opt.threads < 1 || opt.threads > MAX_THREADS ||
	    (opt.post_path == NULL) == (opt.n_paths == 0) ||
	    (opt.post_path != NULL) != (bodies != NULL) ||
	    (opt.post_path == NULL && opt.seconds <= 0 && opt.max_requests == 0)) {
		usage(stderr);
		return 2;
	}
	if (bodies != NULL)
		load_bodies(bodies);
	if (opt.threads > opt.conns)
		opt.threads = opt.conns;
	start = now_s();
	memset(ws, 0, sizeof ws);
	{
		pthread_t t[MAX_THREADS];

		for (unsigned i = 0; i < opt.threads; i++) {
			ws[i].n_conns = opt.conns / opt.threads + (i < opt.conns % opt.threads);
			ws[i].until = opt.seconds > 0 ? start + opt.seconds : 0;
			if (pthread_create(&t[i], NULL, run, &ws[i]) != 0)
				die("pthread_create");
		}
		for (unsigned i = 0; i < opt.threads; i++)
			pthread_join(t[i], NULL);
	}
	took = now_s() - start;
	for (unsigned i = 0; i < opt.threads; i++) {
		for (int s = 0; s < MAX_STATUS; s++)
			all.status[s] += ws[i].st.status[s];
		all.errors += ws[i].st.errors;
		all.requests += ws[i].st.requests;
		all.bytes += ws[i].st.bytes;
		for (size_t k = 0; k < ws[i].st.n_lat; k++)
			record(&all, 0, ws[i].st.lat[k]);
		free(ws[i].st.lat);
	}
	all.requests -= all.n_lat; /* record() above counted them again */
	qsort(all.lat, all.n_lat, sizeof *all.lat, cmp_double);
	for (int s = 200; s < 300; s++)
		ok += all.status[s];
	printf("{\"requests\":%llu,\"ok\":%llu,\"errors\":%llu,\"seconds\":%.3f,\"per_s\":%.1f,"
	       "\"ok_per_s\":%.1f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,"
	       "\"bytes_per_answer\":%.0f,\"status\":{",
	       (unsigned long long)all.requests, (unsigned long long)ok,
	       (unsigned long long)all.errors, took, (double)all.requests / took, (double)ok / took,
	       all.n_lat ? all.lat[all.n_lat / 2] : 0.0,
	       all.n_lat ? all.lat[(size_t)((double)all.n_lat * 0.99)] : 0.0,
	       all.n_lat ? all.lat[all.n_lat - 1] : 0.0,
	       all.n_lat ? (double)all.bytes / (double)all.n_lat : 0.0);
	for (int s = 0, first = 1; s < MAX_STATUS; s++)
		if (all.status[s]) {
			printf("%s\"%d\":%llu", first ? "" : ",", s,
			       (unsigned long long)all.status[s]);
			first = 0;
		}
	printf("}}\n");
	for (size_t i = 0; i < opt.n_bodies; i++)
		free(opt.bodies[i]);
	free(opt.bodies);
	free(opt.body_lens);
	free(all.lat);
	return all.errors > 0 ? 1 : 0;
}
