/* fakeprov: tests/fakeprov/fakeprov.py run from a C unit test, header only. */
#ifndef RAG_TEST_FAKEPROV_H
#define RAG_TEST_FAKEPROV_H

#include <curl/curl.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/*
 * fake_start() runs the fake provider server (a child process, which dies
 * with the test) and returns its base URL, "http://127.0.0.1:PORT", or
 * NULL when it cannot (the reason on stderr).  The script is found from
 * the working directory (the top of the tree, where "make unit" runs the
 * tests) or else from the program's own path (build/san/tests/).
 * fake_reset() gives it new settings (a JSON object, see fakeprov.py),
 * fake_stats() returns what it received (the caller json_decref()s it),
 * fake_stop() ends it.
 */
static pid_t fake_pid;
static char fake_url[64];
static char fake_dir[] = "/tmp/rag-fakeprov-XXXXXX";

static const char *
fake_script(void)
{
	static char path[PATH_MAX + 64];
	char exe[PATH_MAX];
	ssize_t n;
	char *slash;

	if (access("tests/fakeprov/fakeprov.py", R_OK) == 0)
		return "tests/fakeprov/fakeprov.py";
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	if ((slash = strrchr(exe, '/')) != NULL)
		*slash = '\0';
	snprintf(path, sizeof(path), "%s/../../../tests/fakeprov/fakeprov.py",
	    exe);
	return access(path, R_OK) == 0 ? path : NULL;
}

static void
fake_stop(void)
{
	char path[PATH_MAX];

	if (fake_pid <= 0)
		return;
	kill(fake_pid, SIGTERM);
	waitpid(fake_pid, NULL, 0);
	fake_pid = 0;
	snprintf(path, sizeof(path), "%s/port", fake_dir);
	unlink(path);
	rmdir(fake_dir);
}

static const char *
fake_start(void)
{
	const char *script = fake_script();
	char port_file[PATH_MAX];
	pid_t parent = getpid();
	FILE *fp;
	int port = 0;

	if (script == NULL) {
		fprintf(stderr, "fakeprov.py not found: run from the top of "
		    "the tree\n");
		return NULL;
	}
	if (mkdtemp(fake_dir) == NULL) {
		perror("mkdtemp");
		return NULL;
	}
	snprintf(port_file, sizeof(port_file), "%s/port", fake_dir);
	if ((fake_pid = fork()) < 0) {
		perror("fork");
		return NULL;
	}
	if (fake_pid == 0) {
		/* The server goes when the test goes, even by a crash. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(1);
		execl("/usr/bin/python3", "python3", script, "--port-file",
		    port_file, (char *)NULL);
		perror("/usr/bin/python3");
		_exit(127);
	}
	for (int i = 0; i < 200 && port == 0; i++) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };

		if ((fp = fopen(port_file, "r")) != NULL) {
			if (fscanf(fp, "%d", &port) != 1)
				port = 0;
			fclose(fp);
		}
		if (port == 0)
			nanosleep(&ts, NULL);
	}
	if (port == 0) {
		fprintf(stderr, "fakeprov did not start\n");
		fake_stop();
		return NULL;
	}
	snprintf(fake_url, sizeof(fake_url), "http://127.0.0.1:%d", port);
	return fake_url;
}

static size_t
fake_collect(char *p, size_t size, size_t n, void *arg)
{
	FILE *fp = arg;

	return fwrite(p, size, n, fp);
}

/* GETs (body NULL) or POSTs path; returns the answer (free it) or NULL. */
static char *
fake_call(const char *path, const char *body)
{
	CURL *e = curl_easy_init();
	char url[256], *out = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&out, &len);
	long status = 0;
	CURLcode cc;

	snprintf(url, sizeof(url), "%s%s", fake_url, path);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, fake_collect);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, fp);
	if (body != NULL)
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
	cc = curl_easy_perform(e);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(e);
	fclose(fp);
	if (cc != CURLE_OK || status != 200) {
		fprintf(stderr, "fakeprov %s: %s (HTTP %ld)\n", path,
		    curl_easy_strerror(cc), status);
		free(out);
		return NULL;
	}
	return out;
}

static int
fake_reset(const char *settings)
{
	char *out = fake_call("/_fake/reset", settings);

	free(out);
	return out != NULL ? 0 : -1;
}

static json_t *
fake_stats(void)
{
	char *out = fake_call("/_fake/stats", NULL);
	json_t *j = out != NULL ? json_loads(out, 0, NULL) : NULL;

	free(out);
	return j;
}

/*
 * A number in the stats by a path of keys, NULL-ended: fake_stat("billed",
 * "jina_rerank", "tokens", NULL); -1 when there is none.
 */
static long long
fake_stat(const char *key, ...)
{
	json_t *st = fake_stats(), *v = st;
	va_list ap;
	long long x;

	va_start(ap, key);
	for (const char *k = key; k != NULL && v != NULL;
	    k = va_arg(ap, const char *))
		v = json_object_get(v, k);
	va_end(ap);
	x = json_is_number(v) ? (long long)json_number_value(v) : -1;
	json_decref(st);
	return x;
}

/* A string in the stats by a path as above (free it), or NULL. */
static char *
fake_stat_str(const char *key, ...)
{
	json_t *st = fake_stats(), *v = st;
	va_list ap;
	char *s;

	va_start(ap, key);
	for (const char *k = key; k != NULL && v != NULL;
	    k = va_arg(ap, const char *))
		v = json_object_get(v, k);
	va_end(ap);
	s = json_is_string(v) ? strdup(json_string_value(v)) : NULL;
	json_decref(st);
	return s;
}

#endif
