/*
 * Tests for lib/s3 against a real S3 server: OpenStack Swift's s3api on
 * loopback, started and stopped by this program through tests/s3/swift-
 * up.sh and swift-down.sh (Debian package python3-swift; the test fails,
 * never skips, without it).  Swift checks SigV4 strictly, payload hashes
 * included.  A scripted fake server (a forked child) covers what a real
 * one will not do on demand: 503 SlowDown with Retry-After, 500s, a GET
 * cut short, and an error inside a 200.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "buf.h"
#include "error.h"
#include "hash.h"
#include "mem.h"
#include "s3.h"
#include "tap.h"

#define AK     "test:tester"
#define SK     "testing"
#define BUCKET "rag-test"
#define MiB    ((size_t)1 << 20)

static char dir[PATH_MAX]; /* scratch: files, and Swift under swift/ */
static char *harness;      /* tests/s3 */
static pid_t owner;        /* atexit runs in forked children too */
static bool server_up;
static int port;

static void
cleanup(void)
{
	char *cmd;

	if (getpid() != owner)
		return;
	if (server_up) {
		cmd = rag_xasprintf("sh '%s/swift-down.sh' '%s/swift'", harness,
		                    dir);
		if (system(cmd) != 0)
			printf("# swift-down.sh failed\n");
		free(cmd);
		server_up = false;
	}
	if (dir[0] != '\0') {
		cmd = rag_xasprintf("rm -rf '%s'", dir);
		if (system(cmd) != 0)
			printf("# cannot remove %s\n", dir);
		free(cmd);
		dir[0] = '\0';
	}
	free(harness);
	harness = NULL;
}

static void
on_signal(int sig)
{
	(void)sig;
	exit(1); /* runs cleanup() */
}

static double
seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* tests/s3 beside the source: from the repository root, or from
 * build/san/tests. */
static bool
has_harness(char *h)
{
	char *script = rag_xasprintf("%s/swift-up.sh", h);
	struct stat st;
	bool yes = stat(script, &st) == 0;

	free(script);
	if (yes)
		harness = h;
	else
		free(h);
	return yes;
}

static bool
find_harness(void)
{
	const char *src = getenv("RAG_SRCDIR");
	char exe[PATH_MAX], *p;
	ssize_t n;

	if (has_harness(rag_xasprintf("%s/tests/s3", src ? src : ".")))
		return true;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return false;
	exe[n] = '\0';
	for (int up = 0; up < 4 && (p = strrchr(exe, '/')) != NULL; up++)
		*p = '\0'; /* .../build/san/tests/test_s3 -> ... */
	return has_harness(rag_xasprintf("%s/tests/s3", exe));
}

static bool
port_free(int p)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1, r;

	a.sin_port = htons((uint16_t)p);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	r = bind(fd, (struct sockaddr *)&a, sizeof(a));
	close(fd);
	return r == 0;
}

/* Four free ports in a row: the S3 endpoint and Swift's three servers. */
static int
pick_port(void)
{
	srand((unsigned)(getpid() ^ time(NULL)));
	for (int i = 0; i < 200; i++) {
		int p = 20000 + rand() % 40000;

		if (port_free(p) && port_free(p + 1) && port_free(p + 2) &&
		    port_free(p + 3))
			return p;
	}
	return -1;
}

static bool
start_server(void)
{
	char *cmd;
	double t0 = seconds();
	int st;

	if (!find_harness()) {
		ok(0, "tests/s3/swift-up.sh found (run from the repository "
		      "root or set RAG_SRCDIR)");
		return false;
	}
	port = pick_port();
	if (port < 0) {
		ok(0, "four free loopback ports found");
		return false;
	}
	cmd = rag_xasprintf("RAG_S3_WATCH_PID=%d sh '%s/swift-up.sh' "
	                    "'%s/swift' %d >'%s/swift-up.out' 2>&1",
	                    (int)getpid(), harness, dir, port, dir);
	server_up = true; /* whatever it started must be stopped */
	st = system(cmd);
	free(cmd);
	if (!ok(st == 0, "the Swift s3api server starts on port %d (%.1f s)",
	        port, seconds() - t0)) {
		char out[PATH_MAX + 32];
		FILE *f;

		snprintf(out, sizeof(out), "%s/swift-up.out", dir);
		if ((f = fopen(out, "r")) != NULL) {
			char line[512];

			while (fgets(line, sizeof(line), f) != NULL)
				printf("#   %s", line);
			fclose(f);
		}
		printf("#   the S3 tests need OpenStack Swift: apt-get install "
		       "-y --no-install-recommends python3-swift\n");
		return false;
	}
	return true;
}

static void
config(struct rag_s3_config *c, int p)
{
	static char ep[64];

	memset(c, 0, sizeof(*c));
	snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", p);
	c->endpoint = ep;
	c->region = "us-east-1";
	c->access_key_id = AK;
	c->secret_access_key = SK;
	c->timeout_seconds = 10;
	c->page_size = 7;
}

static struct rag_s3 *
client(void)
{
	struct rag_s3_config c;
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_s3 *s;

	config(&c, port);
	s = rag_s3_new(&c, &err);
	if (s == NULL) {
		printf("# rag_s3_new: %s\n", err.msg);
		exit(1);
	}
	return s;
}

/* A scratch file of n pseudo-random bytes; *data (caller frees) holds them. */
static int
random_file(const char *name, size_t n, unsigned char **data)
{
	char path[PATH_MAX + 64];
	unsigned char *d = rag_xmalloc(n > 0 ? n : 1);
	uint64_t x = 0x9e3779b97f4a7c15ull ^ n;
	int fd;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		d[i] = (unsigned char)(x >> 24);
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, d, n) != (ssize_t)n) {
		printf("# cannot write %s\n", path);
		exit(1);
	}
	*data = d;
	return fd;
}

/* A scratch file to GET into, empty. */
static int
out_file(const char *name)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
}

static bool
file_is(int fd, const void *want, size_t n)
{
	struct stat st;
	unsigned char *got;
	bool same;

	if (fstat(fd, &st) < 0 || (size_t)st.st_size != n)
		return false;
	got = rag_xmalloc(n > 0 ? n : 1);
	same = pread(fd, got, n, 0) == (ssize_t)n && memcmp(got, want, n) == 0;
	free(got);
	return same;
}

static void
md5_hex(const void *d, size_t n, char out[33])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	EVP_Digest(d, n, md, &len, EVP_md5(), NULL);
	for (unsigned i = 0; i < 16; i++)
		sprintf(out + 2 * i, "%02x", md[i]);
}

/* Runs a shell command; returns its exit status and stdout in out. */
static int
run(const char *cmd, struct rag_buf *out)
{
	char chunk[4096];
	size_t n;
	FILE *p = popen(cmd, "r");
	int st;

	rag_buf_reset(out);
	rag_buf_adds(out, "");
	if (p == NULL)
		return -1;
	while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
		rag_buf_add(out, chunk, n);
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ---- without a server ------------------------------------------------ */

static void
test_config(void)
{
	struct rag_s3_config c;
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_s3 *s;

	config(&c, 9);
	c.secret_access_key = NULL;
	ok(rag_s3_new(&c, &err) == NULL && err.code == RAG_EXIT_FATAL &&
	       strstr(err.msg, "AWS_SECRET_ACCESS_KEY") != NULL,
	   "no secret: fatal, names the variable (%s)", err.msg);
	config(&c, 9);
	c.endpoint = "ftp://127.0.0.1:9";
	ok(rag_s3_new(&c, &err) == NULL && err.code == RAG_EXIT_FATAL,
	   "ftp:// endpoint refused (%s)", err.msg);
	c.endpoint = "http://user:hunter2@127.0.0.1:9";
	ok(rag_s3_new(&c, &err) == NULL && strstr(err.msg, "hunter2") == NULL,
	   "password in the endpoint refused without being echoed (%s)",
	   err.msg);
	c.endpoint = "http://127.0.0.1:9/some/path";
	ok(rag_s3_new(&c, &err) == NULL, "endpoint with a path refused");
	config(&c, 9);
	c.sse = "rot13";
	ok(rag_s3_new(&c, &err) == NULL && strstr(err.msg, "rot13") != NULL,
	   "unknown sse refused (%s)", err.msg);
	config(&c, 9);
	c.endpoint = "http://127.0.0.1:9/";
	s = rag_s3_new(&c, &err);
	ok(s != NULL, "endpoint with a trailing slash accepted");
	rag_s3_free(s);
	rag_s3_free(NULL);
}

/* The presigned GET example of the S3 documentation, byte for byte. */
static void
test_presign_vector(void)
{
	struct rag_s3_config c = {
	    .endpoint = "https://s3.amazonaws.com",
	    .region = "us-east-1",
	    .access_key_id = "AKIAIOSFODNN7EXAMPLE",
	    .secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
	    .addressing = RAG_S3_VIRTUAL_HOSTED,
	};
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_s3 *s = rag_s3_new(&c, &err);
	char *url;

	url = rag_s3_presign(s, "GET", "examplebucket", "test.txt", NULL, 0,
	                     86400, 1369353600, &err);
	is_str(
	    url,
	    "https://examplebucket.s3.amazonaws.com/test.txt"
	    "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
	    "AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
	    "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400"
	    "&X-Amz-SignedHeaders=host&X-Amz-Signature="
	    "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
	    "presigned GET matches the AWS documentation's example");
	free(url);
	url = rag_s3_presign(s, "POST", "examplebucket", "test.txt", NULL, 0,
	                     60, 1369353600, &err);
	ok(url == NULL && err.code == RAG_EXIT_FAILED,
	   "presigning POST refused (%s)", err.msg);
	url = rag_s3_presign(s, "GET", "examplebucket", "test.txt", NULL, 0,
	                     604801, 1369353600, &err);
	ok(url == NULL, "presigning for more than 7 days refused (%s)",
	   err.msg);
	rag_s3_free(s);

	/* AWS's own endpoint by default: regional and virtual-hosted... */
	c.endpoint = NULL;
	c.region = "eu-west-3";
	c.addressing = RAG_S3_AUTO;
	s = rag_s3_new(&c, &err);
	url = rag_s3_presign(s, "GET", "b", "k", NULL, 0, 60, 1369353600, &err);
	ok(url != NULL && strncmp(url,
	                          "https://b.s3.eu-west-3.amazonaws.com"
	                          "/k?",
	                          38) == 0,
	   "AWS default: virtual-hosted, regional (%s)", url);
	free(url);
	/* ...but path style for a dotted bucket, which TLS would refuse. */
	url = rag_s3_presign(s, "GET", "a.b", "x y/z", NULL, 0, 60, 1369353600,
	                     &err);
	ok(url != NULL && strncmp(url,
	                          "https://s3.eu-west-3.amazonaws.com"
	                          "/a.b/x%20y/z?",
	                          45) == 0,
	   "dotted bucket: path style (%s)", url);
	free(url);
	rag_s3_free(s);
}

/* ---- a scripted fake server ------------------------------------------ */

/*
 * One answer of the fake server: a status line, extra header lines, a
 * body.  Content-Length is the body's, or length when not 0.  cut > 0
 * drops the connection after that many body bytes.
 */
struct answer {
	const char *status;
	const char *headers;
	const char *body;
	size_t length;
	size_t cut;
};

/*
 * The child answers one connection per entry of script, in order, then
 * exits.  Each request's head is appended to log (requests are read in
 * full, body included).
 */
static pid_t
fake_server(const struct answer *script, size_t n, const char *log, int *p)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t al = sizeof(a);
	int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	pid_t pid;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(lfd, 8) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&a, &al) < 0) {
		printf("# fake server: cannot listen\n");
		exit(1);
	}
	*p = ntohs(a.sin_port);
	fflush(stdout);
	if ((pid = fork()) != 0) {
		close(lfd);
		return pid;
	}
	alarm(30);
	for (size_t i = 0; i < n; i++) {
		struct rag_buf req = RAG_BUF_INIT, ans = RAG_BUF_INIT;
		const struct answer *an = &script[i];
		size_t blen = strlen(an->body), body = 0;
		char chunk[8192], *cl, *end;
		int c = accept(lfd, NULL, NULL);
		FILE *f;

		if (c < 0)
			_exit(1);
		rag_buf_adds(&req, "");
		while ((end = strstr(req.data, "\r\n\r\n")) == NULL) {
			ssize_t r = read(c, chunk, sizeof(chunk));

			if (r <= 0)
				_exit(1);
			rag_buf_add(&req, chunk, (size_t)r);
		}
		if ((cl = strcasestr(req.data, "\ncontent-length:")) != NULL &&
		    cl < end)
			body = strtoul(cl + 16, NULL, 10);
		while (req.len < (size_t)(end - req.data) + 4 + body) {
			ssize_t r = read(c, chunk, sizeof(chunk));

			if (r <= 0)
				break;
			rag_buf_add(&req, chunk, (size_t)r);
			end = strstr(req.data, "\r\n\r\n");
		}
		if ((f = fopen(log, "a")) != NULL) {
			fwrite(req.data, 1, (size_t)(end - req.data) + 2, f);
			fputs("--\n", f);
			fclose(f);
		}
		rag_buf_addf(&ans,
		             "HTTP/1.1 %s\r\n%sContent-Length: %zu\r\n"
		             "Connection: close\r\n\r\n",
		             an->status, an->headers,
		             an->length ? an->length : blen);
		rag_buf_add(&ans, an->body, an->cut ? an->cut : blen);
		if (write(c, ans.data, ans.len) < 0)
			_exit(1);
		shutdown(c, SHUT_RDWR);
		close(c);
		rag_buf_release(&req);
		rag_buf_release(&ans);
	}
	_exit(0);
}

static void
reap(pid_t pid)
{
	int st;

	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
}

static char *
slurp(const char *path)
{
	struct rag_buf b = RAG_BUF_INIT;
	char chunk[4096];
	size_t n;
	FILE *f = fopen(path, "r");

	rag_buf_adds(&b, "");
	if (f != NULL) {
		while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
			rag_buf_add(&b, chunk, n);
		fclose(f);
	}
	return rag_buf_detach(&b);
}

#define ERR_XML(code)                                                          \
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>" code       \
	"</Code><Message>m</Message><RequestId>REQ42</RequestId></Error>"

static void
test_fake_server(void)
{
	static const struct answer slow[] = {
	    {"503 Slow Down", "Retry-After: 1\r\n", ERR_XML("SlowDown"), 0, 0},
	    {"200 OK", "ETag: \"e1\"\r\n", "hello", 0, 0},
	};
	static const struct answer broken[] = {
	    {"500 Oops", "", ERR_XML("InternalError"), 0, 0},
	    {"500 Oops", "", ERR_XML("InternalError"), 0, 0},
	    {"500 Oops", "", ERR_XML("InternalError"), 0, 0},
	};
	static const struct answer cut[] = {
	    {"200 OK", "ETag: \"abc\"\r\n", "0123456789abcdefghij", 0, 8},
	    {"206 Partial Content",
	     "Content-Range: bytes 8-19/20\r\n"
	     "ETag: \"abc\"\r\n",
	     "89abcdefghij", 0, 0},
	};
	static const struct answer put[] = {
	    {"200 OK", "ETag: \"5d41402abc4b2a76b9719d911017c592\"\r\n", "", 0,
	     0},
	};
	static const struct answer parts_retry[] = {
	    {"503 Slow Down", "", ERR_XML("SlowDown"), 0, 0},
	    {"200 OK", "ETag: \"p1\"\r\n", "", 0, 0},
	    {"200 OK", "ETag: \"p2\"\r\n", "", 0, 0},
	};
	static const struct answer parts_denied[] = {
	    {"403 Forbidden", "", ERR_XML("AccessDenied"), 0, 0},
	};
	static const struct answer complete[] = {
	    {"200 OK", "", ERR_XML("InternalError"), 0, 0},
	    {"200 OK", "",
	     "<CompleteMultipartUploadResult><Key>k</Key>"
	     "<ETag>&quot;0123456789abcdef0123456789abcdef-2&quot;"
	     "</ETag></CompleteMultipartUploadResult>",
	     0, 0},
	};
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_s3_config c;
	struct rag_s3_stats st;
	struct rag_s3 *s;
	char log[PATH_MAX + 16], *text, *tag = NULL;
	int p, fd;
	pid_t pid;
	double t0;
	uint64_t w;
	struct rag_s3_part parts[2] = {{1, "\"aa\""}, {2, "bb"}};

	snprintf(log, sizeof(log), "%s/fake.log", dir);

	/* 503 SlowDown with Retry-After: 1, then the object. */
	pid = fake_server(slow, 2, log, &p);
	config(&c, p);
	c.session_token = "TOKEN-xyz";
	s = rag_s3_new(&c, &err);
	fd = out_file("slow.out");
	t0 = seconds();
	is_int(rag_s3_get(s, "b", "k", 0, UINT64_MAX, fd, &w, &err), 0,
	       "SlowDown then 200: the GET succeeds (%s)", err.msg);
	ok(seconds() - t0 >= 0.95, "Retry-After: 1 was honoured (%.2f s)",
	   seconds() - t0);
	ok(file_is(fd, "hello", 5) && w == 5, "the body went to the fd");
	rag_s3_stats(s, &st);
	is_int(st.retries, 1, "one retry");
	close(fd);
	rag_s3_free(s);
	reap(pid);
	text = slurp(log);
	ok(strstr(text, "GET /b/k HTTP/1.1\r\n") != NULL,
	   "path-style request line");
	ok(strstr(text, "\nx-amz-security-token: TOKEN-xyz\r\n") != NULL &&
	       strstr(text, ";x-amz-security-token,") != NULL,
	   "session token sent and signed");
	ok(strstr(text, "\nx-amz-content-sha256: "
	                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca49599"
	                "1b7852b855") != NULL,
	   "x-amz-content-sha256 of the empty body sent");
	ok(strstr(text, "\nAuthorization: AWS4-HMAC-SHA256 Credential="
	                "test:tester/") != NULL &&
	       strstr(text, SK) == NULL,
	   "Authorization sent, secret not");
	ok(strstr(text, "Expect:") == NULL, "no Expect header");
	free(text);
	unlink(log);

	/* 500 every time: TEMPFAIL after max_retries. */
	pid = fake_server(broken, 3, log, &p);
	config(&c, p);
	c.max_retries = 2;
	s = rag_s3_new(&c, &err);
	ok(rag_s3_delete(s, "b", "k", &err) == -1 &&
	       err.code == RAG_EXIT_TEMPFAIL,
	   "500s: TEMPFAIL (%s)", err.msg);
	ok(strstr(err.msg, "s3://b/k: InternalError") != NULL &&
	       strstr(err.msg, "REQ42") != NULL,
	   "the message names the object, the code and the request id");
	rag_s3_stats(s, &st);
	ok(st.requests == 3 && st.retries == 2, "3 attempts (%llu)",
	   (unsigned long long)st.requests);
	rag_s3_free(s);
	reap(pid);
	unlink(log);

	/* A GET cut short resumes with Range and If-Match. */
	pid = fake_server(cut, 2, log, &p);
	config(&c, p);
	s = rag_s3_new(&c, &err);
	fd = out_file("cut.out");
	is_int(rag_s3_get(s, "b", "k", 0, UINT64_MAX, fd, &w, &err), 0,
	       "a GET cut short is resumed (%s)", err.msg);
	ok(file_is(fd, "0123456789abcdefghij", 20) && w == 20,
	   "every byte once, in order");
	close(fd);
	rag_s3_free(s);
	reap(pid);
	text = slurp(log);
	ok(strstr(text, "\nrange: bytes=8-\r\n") != NULL &&
	       strstr(text, "\nif-match: \"abc\"\r\n") != NULL,
	   "the retry asks for bytes=8- of ETag abc");
	free(text);
	unlink(log);

	/* SSE-KMS: both headers sent and signed. */
	pid = fake_server(put, 1, log, &p);
	config(&c, p);
	c.sse = "aws:kms";
	c.sse_kms_key_id = "alias/rag";
	s = rag_s3_new(&c, &err);
	is_int(rag_s3_put_mem(s, "b", "k", "hello", 5, &tag, &err), 0,
	       "a PUT with SSE-KMS (%s)", err.msg);
	is_str(tag, "5d41402abc4b2a76b9719d911017c592", "its ETag, unquoted");
	free(tag);
	tag = NULL;
	rag_s3_free(s);
	reap(pid);
	text = slurp(log);
	ok(strstr(text, "\nx-amz-server-side-encryption: aws:kms\r\n") &&
	       strstr(text, "\nx-amz-server-side-encryption-aws-kms-key-id: "
	                    "alias/rag\r\n") &&
	       strstr(text, ";x-amz-server-side-encryption;"
	                    "x-amz-server-side-encryption-aws-kms-key-id,"),
	   "SSE headers sent and signed");
	ok(strstr(text, "\nx-amz-content-sha256: 2cf24dba5fb0a30e26e83b2ac5b9"
	                "e29e1b161e5c1fa7425e73043362938b9824\r\n") != NULL &&
	       strstr(text, "Content-Length: 5\r\n") != NULL,
	   "the body's SHA-256 and length sent");
	free(text);
	unlink(log);

	/* Parallel parts: one retried on its own; a refusal stops the rest. */
	{
		struct rag_s3_part_upload up[2];
		unsigned char *data;
		int pfd = random_file("parts.bin", 2000, &data);

		memset(up, 0, sizeof(up));
		for (int i = 0; i < 2; i++) {
			up[i].number = i + 1;
			up[i].fd = pfd;
			up[i].offset = i * 1000;
			up[i].len = 1000;
		}
		pid = fake_server(parts_retry, 3, log, &p);
		config(&c, p);
		s = rag_s3_new(&c, &err);
		is_int(
		    rag_s3_mpu_upload_parts(s, "b", "k", "U", up, 2, 1, &err),
		    0, "parts: a 503 is retried (%s)", err.msg);
		ok(up[0].etag && strcmp(up[0].etag, "p1") == 0 && up[1].etag &&
		       strcmp(up[1].etag, "p2") == 0 && up[0].status == 0 &&
		       up[1].status == 0,
		   "parts: both ETags");
		rag_s3_stats(s, &st);
		is_int(st.retries, 1, "parts: one retry");
		rag_s3_free(s);
		reap(pid);
		text = slurp(log);
		ok(strstr(text, "PUT /b/k?partNumber=2&uploadId=U HTTP/1.1"),
		   "parts: UploadPart requests");
		free(text);
		unlink(log);
		for (int i = 0; i < 2; i++) {
			free(up[i].etag);
			up[i].etag = NULL;
		}

		pid = fake_server(parts_denied, 1, log, &p);
		config(&c, p);
		s = rag_s3_new(&c, &err);
		ok(rag_s3_mpu_upload_parts(s, "b", "k", "U", up, 2, 1, &err) ==
		           -1 &&
		       err.code == RAG_EXIT_REFUSED,
		   "parts: AccessDenied fails at once (%s)", err.msg);
		ok(up[0].status == RAG_EXIT_REFUSED && up[1].status == -1 &&
		       up[0].etag == NULL && up[1].etag == NULL,
		   "parts: the first refused, the second never sent");
		rag_s3_free(s);
		reap(pid);
		unlink(log);
		close(pfd);
		free(data);
	}

	/* CompleteMultipartUpload: 200 with an <Error> inside, retried. */
	pid = fake_server(complete, 2, log, &p);
	config(&c, p);
	s = rag_s3_new(&c, &err);
	is_int(rag_s3_mpu_complete(s, "b", "k", "UP1", parts, 2, &tag, &err), 0,
	       "an <Error> in a 200 is retried (%s)", err.msg);
	is_str(tag, "0123456789abcdef0123456789abcdef-2",
	       "the ETag comes unquoted");
	free(tag);
	rag_s3_free(s);
	reap(pid);
	text = slurp(log);
	ok(strstr(text, "POST /b/k?uploadId=UP1 HTTP/1.1") != NULL &&
	       strstr(text, "Content-Type: application/xml") != NULL,
	   "complete is a POST of XML");
	free(text);
	unlink(log);
}

/* ---- against Swift --------------------------------------------------- */

static void
test_objects(struct rag_s3 *s)
{
	struct rag_error err = RAG_ERROR_INIT;
	unsigned char *data;
	char md5[33], sha[65], *etag = NULL;
	bool exists;
	uint64_t size, w;
	int fd = random_file("obj.bin", 100000, &data), out;

	is_int(rag_s3_create_bucket(s, BUCKET, &err), 0, "create bucket (%s)",
	       err.msg);
	is_int(rag_s3_create_bucket(s, BUCKET, &err), 0,
	       "create it again: ours already, fine (%s)", err.msg);

	/* A range of a file, with the hash computed by the caller. */
	rag_hash_sha256_hex(data + 1000, 50000, sha);
	is_int(rag_s3_put(s, BUCKET, "dir/obj a+b.bin", fd, 1000, 50000, sha,
	                  &etag, &err),
	       0, "put a file range (%s)", err.msg);
	md5_hex(data + 1000, 50000, md5);
	is_str(etag, md5, "its ETag is the MD5, unquoted");
	free(etag);
	etag = NULL;
	is_int(rag_s3_head(s, BUCKET, "dir/obj a+b.bin", &exists, &size, &etag,
	                   &err),
	       0, "head (%s)", err.msg);
	ok(exists && size == 50000, "head: exists, 50000 bytes (%llu)",
	   (unsigned long long)size);
	is_str(etag, md5, "head: same ETag");
	free(etag);

	out = out_file("get.out");
	is_int(rag_s3_get(s, BUCKET, "dir/obj a+b.bin", 0, UINT64_MAX, out, &w,
	                  &err),
	       0, "get (%s)", err.msg);
	ok(file_is(out, data + 1000, 50000) && w == 50000,
	   "get: the bytes put");
	close(out);
	out = out_file("range.out");
	is_int(rag_s3_get(s, BUCKET, "dir/obj a+b.bin", 10, 19, out, &w, &err),
	       0, "get bytes 10-19 (%s)", err.msg);
	ok(file_is(out, data + 1010, 10) && w == 10, "range: 10 right bytes");
	close(out);
	out = out_file("tail.out");
	is_int(rag_s3_get(s, BUCKET, "dir/obj a+b.bin", 49984, UINT64_MAX, out,
	                  &w, &err),
	       0, "get bytes 49984- (%s)", err.msg);
	ok(file_is(out, data + 1000 + 49984, 16), "open range: the last 16");
	close(out);
	out = out_file("beyond.out");
	ok(rag_s3_get(s, BUCKET, "dir/obj a+b.bin", 50000, UINT64_MAX, out, &w,
	              &err) == -1 &&
	       err.code == RAG_EXIT_FAILED &&
	       strstr(err.msg, "InvalidRange") != NULL && w == 0,
	   "a range beyond the end: InvalidRange, nothing written (%s)",
	   err.msg);
	ok(rag_s3_get(s, BUCKET, "no/such key", 0, UINT64_MAX, out, &w, &err) ==
	           -1 &&
	       err.code == RAG_EXIT_FAILED && w == 0 &&
	       strstr(err.msg, "s3://" BUCKET "/no/such key: NoSuchKey") !=
	           NULL,
	   "get of a missing key: clear error (%s)", err.msg);
	close(out);
	is_int(
	    rag_s3_head(s, BUCKET, "no/such key", &exists, &size, NULL, &err),
	    0, "head of a missing key is no error");
	ok(!exists && size == 0, "...and says it does not exist");

	/* From memory, with a hash the library computes; empty objects. */
	is_int(rag_s3_put_mem(s, BUCKET, "mem", "hello, s3", 9, NULL, &err), 0,
	       "put_mem (%s)", err.msg);
	is_int(rag_s3_put_mem(s, BUCKET, "empty", "", 0, NULL, &err), 0,
	       "put an empty object (%s)", err.msg);
	is_int(rag_s3_put(s, BUCKET, "nohash", fd, 0, 4096, NULL, NULL, &err),
	       0, "put without a hash: hashed first (%s)", err.msg);
	is_int(rag_s3_head(s, BUCKET, "empty", &exists, &size, NULL, &err), 0,
	       "head the empty object");
	ok(exists && size == 0, "it exists with 0 bytes");

	/* A body that does not match its signed hash. */
	rag_hash_sha256_hex("something else", 14, sha);
	ok(rag_s3_put(s, BUCKET, "bad", fd, 0, 1000, sha, NULL, &err) == -1 &&
	       err.code == RAG_EXIT_FAILED &&
	       strstr(err.msg, "BadDigest") != NULL,
	   "a wrong payload hash: BadDigest, FAILED (%s)", err.msg);
	ok(rag_s3_put(s, BUCKET, "short", fd, 99000, 5000, NULL, NULL, &err) ==
	           -1 &&
	       err.code == RAG_EXIT_FAILED,
	   "a range past the end of the file: FAILED (%s)", err.msg);

	is_int(rag_s3_delete(s, BUCKET, "mem", &err), 0, "delete (%s)",
	       err.msg);
	rag_s3_head(s, BUCKET, "mem", &exists, NULL, NULL, &err);
	ok(!exists, "deleted: gone");
	is_int(rag_s3_delete(s, BUCKET, "mem", &err), 0,
	       "delete again: still fine (%s)", err.msg);
	ok(rag_s3_put_mem(s, "no-such-bucket-here", "k", "x", 1, NULL, &err) ==
	           -1 &&
	       err.code == RAG_EXIT_FATAL &&
	       strstr(err.msg, "NoSuchBucket: create it or fix RAG_STORE") !=
	           NULL,
	   "missing bucket: FATAL with advice (%s)", err.msg);
	close(fd);
	free(data);
}

struct listing {
	int n;
	bool ordered;
	uint64_t bytes;
	char last[64];
	int stop_at;
};

static int
on_object(const struct rag_s3_object *o, void *arg)
{
	struct listing *l = arg;

	if (strcmp(o->key, l->last) <= 0)
		l->ordered = false;
	snprintf(l->last, sizeof(l->last), "%s", o->key);
	l->bytes += o->size;
	if (strlen(o->etag) != 32 || o->last_modified < time(NULL) - 3600)
		l->ordered = false;
	return ++l->n == l->stop_at ? 42 : 0;
}

static void
test_list(struct rag_s3 *s)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_s3_stats a, b;
	struct listing l = {0, true, 0, "", 0};
	char key[64], body[16];
	bool all = true;

	for (int i = 0; i < 30; i++) {
		snprintf(key, sizeof(key), "list/k%02d", i);
		snprintf(body, sizeof(body), "%d", i);
		all = all && rag_s3_put_mem(s, BUCKET, key, body, strlen(body),
		                            NULL, &err) == 0;
	}
	ok(all, "put 30 keys (%s)", err.msg);
	rag_s3_stats(s, &a);
	is_int(rag_s3_list(s, BUCKET, "list/", on_object, &l, &err), 0,
	       "list (%s)", err.msg);
	rag_s3_stats(s, &b);
	is_int(l.n, 30, "30 keys listed");
	ok(l.ordered && strcmp(l.last, "list/k29") == 0,
	   "in order, with ETags and dates");
	is_int(l.bytes, 10 + 20 * 2, "sizes add up");
	is_int(b.requests - a.requests, 5, "7 a page: 5 pages");
	ok(b.connections - a.connections <= 1,
	   "over one connection, kept alive (%llu new)",
	   (unsigned long long)(b.connections - a.connections));
	memset(&l, 0, sizeof(l));
	l.ordered = true;
	l.stop_at = 9;
	is_int(rag_s3_list(s, BUCKET, "list/", on_object, &l, &err), 42,
	       "the callback stops it mid-page 2, its value returned");
	is_int(l.n, 9, "...after 9 keys");
	memset(&l, 0, sizeof(l));
	is_int(rag_s3_list(s, BUCKET, "nothing/", on_object, &l, &err), 0,
	       "an empty listing");
	is_int(l.n, 0, "...has no keys");
}

struct parts {
	int n;
	int numbers[8];
	uint64_t sizes[8];
	char etags[8][40];
};

static int
on_part(const struct rag_s3_part_info *p, void *arg)
{
	struct parts *ps = arg;

	if (ps->n < 8) {
		ps->numbers[ps->n] = p->number;
		ps->sizes[ps->n] = p->size;
		snprintf(ps->etags[ps->n], sizeof(ps->etags[0]), "%s", p->etag);
	}
	ps->n++;
	return 0;
}

struct uploads {
	const char *want_id;
	bool found;
	time_t initiated;
	int n;
};

static int
on_upload(const struct rag_s3_upload *u, void *arg)
{
	struct uploads *us = arg;

	us->n++;
	if (strcmp(u->upload_id, us->want_id) == 0 &&
	    strcmp(u->key, "mp/big.bin") == 0) {
		us->found = true;
		us->initiated = u->initiated;
	}
	return 0;
}

static void
test_multipart(struct rag_s3 *s)
{
	struct rag_error err = RAG_ERROR_INIT;
	size_t n = 11 * MiB;
	unsigned char *data;
	int fd = random_file("big.bin", n, &data), out;
	char *id = NULL, *id2 = NULL, *etag = NULL, *e[3] = {NULL, NULL, NULL};
	char sha[65];
	struct parts ps = {0};
	struct uploads us = {0};
	struct rag_s3_part done[3];
	struct rag_s3_part_upload up[3];
	bool exists;
	uint64_t size, w;
	double t0 = seconds();

	is_int(rag_s3_mpu_create(s, BUCKET, "mp/big.bin", &id, &err), 0,
	       "create a multipart upload (%s)", err.msg);
	ok(id != NULL && *id != '\0', "an upload id");
	us.want_id = id;
	is_int(rag_s3_mpu_list_uploads(s, BUCKET, "mp/", on_upload, &us, &err),
	       0, "list uploads (%s)", err.msg);
	ok(us.found && labs((long)(us.initiated - time(NULL))) < 600,
	   "the upload is listed, initiated now");

	rag_hash_sha256_hex(data, 5 * MiB, sha);
	is_int(rag_s3_mpu_upload_part(s, BUCKET, "mp/big.bin", id, 1, fd, 0,
	                              5 * MiB, sha, &e[0], &err),
	       0, "part 1, 5 MiB (%s)", err.msg);
	is_int(rag_s3_mpu_upload_part(s, BUCKET, "mp/big.bin", id, 2, fd,
	                              (off_t)(5 * MiB), 5 * MiB, NULL, &e[1],
	                              &err),
	       0, "part 2, 5 MiB, hashed by the library (%s)", err.msg);
	is_int(rag_s3_mpu_upload_part(s, BUCKET, "mp/big.bin", id, 3, fd,
	                              (off_t)(10 * MiB), 1 * MiB, NULL, &e[2],
	                              &err),
	       0, "part 3, 1 MiB (%s)", err.msg);
	is_int(rag_s3_mpu_list_parts(s, BUCKET, "mp/big.bin", id, on_part, &ps,
	                             &err),
	       0, "list parts (%s)", err.msg);
	ok(ps.n == 3 && ps.numbers[0] == 1 && ps.numbers[2] == 3 &&
	       ps.sizes[0] == 5 * MiB && ps.sizes[2] == MiB,
	   "3 parts listed with their numbers and sizes");
	ok(e[0] != NULL && strcmp(ps.etags[0], e[0]) == 0 && e[2] != NULL &&
	       strcmp(ps.etags[2], e[2]) == 0,
	   "...and the ETags UploadPart gave");
	for (int i = 0; i < 3; i++) {
		done[i].number = i + 1;
		done[i].etag = e[i];
	}
	is_int(rag_s3_mpu_complete(s, BUCKET, "mp/big.bin", id, done, 3, &etag,
	                           &err),
	       0, "complete (%s)", err.msg);
	ok(etag != NULL && strlen(etag) > 2 &&
	       strcmp(etag + strlen(etag) - 2, "-3") == 0,
	   "a multipart ETag, '-3' (%s)", etag ? etag : "null");
	free(etag);
	etag = NULL;
	rag_s3_head(s, BUCKET, "mp/big.bin", &exists, &size, NULL, &err);
	ok(exists && size == n, "head: 11 MiB");
	out = out_file("big.out");
	is_int(
	    rag_s3_get(s, BUCKET, "mp/big.bin", 0, UINT64_MAX, out, &w, &err),
	    0, "get the whole object (%s)", err.msg);
	ok(file_is(out, data, n), "the completed object's bytes match");
	close(out);
	out = out_file("big-range.out");
	is_int(rag_s3_get(s, BUCKET, "mp/big.bin", 5 * MiB - 3, 5 * MiB + 2,
	                  out, &w, &err),
	       0, "a range across parts 1 and 2 (%s)", err.msg);
	ok(file_is(out, data + 5 * MiB - 3, 6), "...is right");
	close(out);

	/* The same object again, its parts in parallel. */
	is_int(rag_s3_mpu_create(s, BUCKET, "mp/par.bin", &id2, &err), 0,
	       "create a second upload (%s)", err.msg);
	memset(up, 0, sizeof(up));
	for (int i = 0; i < 3; i++) {
		up[i].number = i + 1;
		up[i].fd = fd;
		up[i].offset = (off_t)(i * 5 * MiB);
		up[i].len = i < 2 ? 5 * MiB : MiB;
	}
	up[0].sha256_hex = sha;
	is_int(rag_s3_mpu_upload_parts(s, BUCKET, "mp/par.bin", id2, up, 3, 2,
	                               &err),
	       0, "3 parts, 2 in flight (%s)", err.msg);
	ok(up[0].status == 0 && up[1].status == 0 && up[2].status == 0 &&
	       up[0].etag && up[1].etag && up[2].etag &&
	       strcmp(up[0].etag, e[0]) == 0 && strcmp(up[2].etag, e[2]) == 0,
	   "every part has its ETag (the same as before)");
	ok(up[1].sha256_hex == NULL, "the library's hash is not left behind");
	for (int i = 0; i < 3; i++)
		done[i].etag = up[i].etag;
	is_int(rag_s3_mpu_complete(s, BUCKET, "mp/par.bin", id2, done, 3, NULL,
	                           &err),
	       0, "complete it (%s)", err.msg);
	out = out_file("par.out");
	rag_s3_get(s, BUCKET, "mp/par.bin", 0, UINT64_MAX, out, &w, &err);
	ok(file_is(out, data, n), "the parallel upload's bytes match");
	close(out);
	for (int i = 0; i < 3; i++) {
		free(up[i].etag);
		free(e[i]);
	}
	free(id2);
	id2 = NULL;

	/* Too small a part shows at completion. */
	is_int(rag_s3_mpu_create(s, BUCKET, "mp/small.bin", &id2, &err), 0,
	       "create a third upload");
	rag_s3_mpu_upload_part(s, BUCKET, "mp/small.bin", id2, 1, fd, 0, 1000,
	                       NULL, &e[0], &err);
	rag_s3_mpu_upload_part(s, BUCKET, "mp/small.bin", id2, 2, fd, 0, 1000,
	                       NULL, &e[1], &err);
	done[0].etag = e[0];
	done[1].etag = e[1];
	ok(rag_s3_mpu_complete(s, BUCKET, "mp/small.bin", id2, done, 2, NULL,
	                       &err) == -1 &&
	       err.code == RAG_EXIT_FAILED &&
	       strstr(err.msg, "EntityTooSmall") != NULL,
	   "a 1000-byte first part: EntityTooSmall (%s)", err.msg);
	done[1].etag = "0123456789abcdef0123456789abcdef";
	ok(rag_s3_mpu_complete(s, BUCKET, "mp/small.bin", id2, done + 1, 1,
	                       NULL, &err) == -1 &&
	       strstr(err.msg, "InvalidPart") != NULL,
	   "a wrong part ETag: InvalidPart (%s)", err.msg);
	free(e[0]);
	free(e[1]);

	/* Abort. */
	is_int(rag_s3_mpu_abort(s, BUCKET, "mp/small.bin", id2, &err), 0,
	       "abort (%s)", err.msg);
	memset(&us, 0, sizeof(us));
	us.want_id = id2;
	rag_s3_mpu_list_uploads(s, BUCKET, "mp/", on_upload, &us, &err);
	ok(!us.found && us.n == 0, "no upload left (%d)", us.n);
	memset(&ps, 0, sizeof(ps));
	ok(rag_s3_mpu_list_parts(s, BUCKET, "mp/small.bin", id2, on_part, &ps,
	                         &err) == -1 &&
	       err.code == RAG_EXIT_FAILED &&
	       strstr(err.msg, "NoSuchUpload") != NULL,
	   "its parts are gone: NoSuchUpload (%s)", err.msg);
	ok(rag_s3_mpu_abort(s, BUCKET, "mp/small.bin", id2, &err) == -1 &&
	       strstr(err.msg, "NoSuchUpload") != NULL,
	   "abort again: NoSuchUpload");
	printf("# multipart: %.1f s\n", seconds() - t0);
	free(id);
	free(id2);
	close(fd);
	free(data);
}

/* Server-side copies: CopyObject, and UploadPartCopy in ranges. */
static void
test_copy(struct rag_s3 *s)
{
	struct rag_error err = RAG_ERROR_INIT;
	size_t n = 7 * MiB;
	unsigned char *data;
	int fd = random_file("copy.bin", n, &data), out;
	char *id = NULL, *etag = NULL;
	struct rag_s3_part done[2] = {{1, NULL}, {2, NULL}};
	uint64_t w;

	is_int(rag_s3_put(s, BUCKET, "cp/src.bin", fd, 0, n, NULL, NULL, &err),
	       0, "put the source (%s)", err.msg);
	is_int(rag_s3_copy(s, BUCKET, "cp/src.bin", "cp/it's a (copy).bin",
	                   &etag, &err),
	       0, "CopyObject to a key that needs encoding (%s)", err.msg);
	ok(etag != NULL && *etag != '\0', "the copy's ETag");
	free(etag);
	out = out_file("copy.out");
	rag_s3_get(s, BUCKET, "cp/it's a (copy).bin", 0, UINT64_MAX, out, &w,
	           &err);
	ok(file_is(out, data, n), "the copy's bytes match");
	close(out);
	ok(rag_s3_copy(s, BUCKET, "cp/none.bin", "cp/x.bin", NULL, &err) ==
	           -1 &&
	       err.code == RAG_EXIT_FAILED,
	   "copying a missing object fails (%s)", err.msg);

	is_int(rag_s3_mpu_create(s, BUCKET, "cp/parts.bin", &id, &err), 0,
	       "an upload to copy parts into (%s)", err.msg);
	is_int(rag_s3_mpu_upload_part_copy(s, BUCKET, "cp/parts.bin", id, 1,
	                                   "cp/src.bin", 0, 5 * MiB - 1,
	                                   (char **)&done[0].etag, &err),
	       0, "UploadPartCopy of bytes 0 to 5 MiB (%s)", err.msg);
	is_int(rag_s3_mpu_upload_part_copy(s, BUCKET, "cp/parts.bin", id, 2,
	                                   "cp/src.bin", 5 * MiB, n - 1,
	                                   (char **)&done[1].etag, &err),
	       0, "...and of the rest (%s)", err.msg);
	is_int(rag_s3_mpu_complete(s, BUCKET, "cp/parts.bin", id, done, 2,
	                           NULL, &err),
	       0, "complete it (%s)", err.msg);
	out = out_file("parts.out");
	rag_s3_get(s, BUCKET, "cp/parts.bin", 0, UINT64_MAX, out, &w, &err);
	ok(file_is(out, data, n), "the bytes copied in parts match");
	close(out);
	ok(rag_s3_mpu_upload_part_copy(s, BUCKET, "cp/parts.bin", id, 3,
	                               "cp/src.bin", 10, 5, &etag, &err) == -1,
	   "an empty range is refused (%s)", err.msg);
	free((char *)done[0].etag);
	free((char *)done[1].etag);
	free(id);
	close(fd);
	free(data);
}

static void
test_presigned(struct rag_s3 *s)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_buf out = RAG_BUF_INIT;
	struct rag_sigv4_pair q[2];
	char cmd[8192], path[PATH_MAX + 32], *url, *id = NULL, *etag = NULL;
	unsigned char *data;
	int fd = random_file("presign.bin", 5 * MiB + 7, &data), got;
	struct rag_s3_part part;
	bool exists;
	uint64_t size;

	snprintf(path, sizeof(path), "%s/presign.bin", dir);
	rag_s3_put_mem(s, BUCKET, "pre/get me.txt", "presigned!", 10, NULL,
	               &err);
	url = rag_s3_presign(s, "GET", BUCKET, "pre/get me.txt", NULL, 0, 300,
	                     time(NULL), &err);
	ok(url != NULL && strstr(url, "X-Amz-Credential=test%3Atester%2F"),
	   "presigned GET URL, the key's colon encoded");
	snprintf(cmd, sizeof(cmd), "curl -s '%s'", url ? url : "");
	got = run(cmd, &out);
	ok(got == 0 && strcmp(out.data, "presigned!") == 0, "curl GETs it (%s)",
	   out.data);
	free(url);

	url = rag_s3_presign(s, "GET", BUCKET, "pre/get me.txt", NULL, 0, 60,
	                     time(NULL) - 3600, &err);
	snprintf(cmd, sizeof(cmd), "curl -s -w '\\n%%{http_code}' '%s'",
	         url ? url : "");
	ok(run(cmd, &out) == 0 && strstr(out.data, "\n403") != NULL &&
	       strstr(out.data, "AccessDenied") != NULL,
	   "an expired URL is refused: 403 AccessDenied");
	free(url);

	url = rag_s3_presign(s, "PUT", BUCKET, "pre/put.bin", NULL, 0, 300,
	                     time(NULL), &err);
	snprintf(cmd, sizeof(cmd), "curl -s -f -T '%s' '%s'", path,
	         url ? url : "");
	ok(run(cmd, &out) == 0, "curl PUTs a presigned PUT");
	free(url);
	rag_s3_head(s, BUCKET, "pre/put.bin", &exists, &size, NULL, &err);
	ok(exists && size == 5 * MiB + 7, "the object is there, 5 MiB + 7");

	/* UploadPart presigned: part 1 of a one-part upload. */
	rag_s3_mpu_create(s, BUCKET, "pre/part.bin", &id, &err);
	q[0].name = "partNumber";
	q[0].value = "1";
	q[1].name = "uploadId";
	q[1].value = id;
	url = rag_s3_presign(s, "PUT", BUCKET, "pre/part.bin", q, 2, 300,
	                     time(NULL), &err);
	snprintf(cmd, sizeof(cmd),
	         "curl -s -f -D - -o /dev/null -T '%s' "
	         "'%s' | tr -d '\\r' | sed -n 's/^[Ee][Tt][Aa][Gg]: *//p'",
	         path, url ? url : "");
	got = run(cmd, &out);
	while (out.len > 0 && out.data[out.len - 1] == '\n')
		rag_buf_truncate(&out, out.len - 1);
	ok(got == 0 && out.len > 32, "curl uploads a part presigned (ETag %s)",
	   out.data);
	free(url);
	part.number = 1;
	part.etag = out.data;
	is_int(rag_s3_mpu_complete(s, BUCKET, "pre/part.bin", id, &part, 1,
	                           &etag, &err),
	       0, "...and it completes with that ETag (%s)", err.msg);
	ok(etag != NULL && strstr(etag, "-1") != NULL, "a one-part ETag");
	free(etag);
	free(id);
	rag_buf_release(&out);
	close(fd);
	free(data);
}

static void
test_refusals(void)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_s3_config c;
	struct rag_s3_stats st;
	struct rag_s3 *s;
	bool exists;
	int dead;
	double t0;

	config(&c, port);
	c.secret_access_key = "s3cr3t-SHOULD-NOT-LEAK";
	s = rag_s3_new(&c, &err);
	ok(rag_s3_put_mem(s, BUCKET, "x", "x", 1, NULL, &err) == -1 &&
	       err.code == RAG_EXIT_REFUSED,
	   "a wrong secret: 77 (%s)", err.msg);
	ok(strstr(err.msg, "SignatureDoesNotMatch") != NULL &&
	       strstr(err.msg,
	              "check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY") !=
	           NULL &&
	       strstr(err.msg, "SHOULD-NOT-LEAK") == NULL,
	   "the message says what to check, without the secret");
	ok(rag_s3_head(s, BUCKET, "x", &exists, NULL, NULL, &err) == -1 &&
	       err.code == RAG_EXIT_REFUSED,
	   "HEAD (no body) too: 77 (%s)", err.msg);
	rag_s3_free(s);

	config(&c, port);
	c.region = "eu-west-9";
	s = rag_s3_new(&c, &err);
	ok(rag_s3_put_mem(s, BUCKET, "x", "x", 1, NULL, &err) == -1 &&
	       err.code == RAG_EXIT_FATAL && strstr(err.msg, "AWS_REGION"),
	   "a wrong region: fatal, check AWS_REGION (%s)", err.msg);
	rag_s3_free(s);

	dead = pick_port();
	config(&c, dead);
	s = rag_s3_new(&c, &err);
	t0 = seconds();
	ok(rag_s3_put_mem(s, BUCKET, "x", "x", 1, NULL, &err) == -1 &&
	       err.code == RAG_EXIT_TEMPFAIL,
	   "a server that is down: 75 (%s)", err.msg);
	ok(strstr(err.msg, "connection refused") != NULL &&
	       strstr(err.msg, "AWS_ENDPOINT_URL_S3") != NULL,
	   "the message says what to check");
	rag_s3_stats(s, &st);
	ok(st.retries == 4, "after 4 retries with backoff (%.1f s)",
	   seconds() - t0);
	rag_s3_free(s);
}

/*
 * Swift's tempauth has no session tokens: it checks the signature (which
 * covers the token) and ignores the token.  Swift's s3api has no SSE.
 */
static void
test_token_and_sse(void)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_s3_config c;
	struct rag_s3 *s;

	config(&c, port);
	c.session_token = "FwoGZXIvYXdzEXAMPLETOKEN";
	s = rag_s3_new(&c, &err);
	is_int(rag_s3_put_mem(s, BUCKET, "token", "t", 1, NULL, &err), 0,
	       "a signed session token is accepted (%s)", err.msg);
	rag_s3_free(s);

	config(&c, port);
	c.sse = "AES256";
	s = rag_s3_new(&c, &err);
	ok(rag_s3_put_mem(s, BUCKET, "sse", "s", 1, NULL, &err) == -1 &&
	       err.code == RAG_EXIT_FATAL &&
	       strstr(err.msg, "NotImplemented") &&
	       strstr(err.msg, "'AES256'") != NULL,
	   "SSE on a server without it: fatal, says so (%s)", err.msg);
	rag_s3_free(s);
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");
	struct rag_s3 *s;
	double t0 = seconds();

	owner = getpid();
	atexit(cleanup);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	snprintf(dir, sizeof(dir), "%s/rag-test-s3.XXXXXX",
	         tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		printf("Bail out! cannot create a scratch folder\n");
		dir[0] = '\0';
		return 1;
	}
	setenv("NO_PROXY", "127.0.0.1", 1);

	test_config();
	test_presign_vector();
	test_fake_server();
	if (!start_server()) {
		printf("Bail out! no S3 server to test against\n");
		return 1;
	}
	s = client();
	test_objects(s);
	test_list(s);
	test_multipart(s);
	test_copy(s);
	test_presigned(s);
	rag_s3_free(s);
	test_refusals();
	test_token_and_sse();
	cleanup();
	printf("# %.1f s in all\n", seconds() - t0);
	return tap_done();
}
