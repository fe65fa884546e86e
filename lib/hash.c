#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hash.h"
#include "mem.h"

struct rag_hash {
	EVP_MD_CTX *ctx;
};

void
rag_hash_hex(const void *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *p = in;

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

int
rag_hash_unhex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool
rag_hash_is_sha256_hex(const char *s, size_t n)
{
	if (n != 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

int
rag_hash_sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	out[0] = '\0';
	if (!EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) || n != 32)
		return -1;
	rag_hash_hex(md, 32, out);
	return 0;
}

struct rag_hash *
rag_hash_new(void)
{
	struct rag_hash *h = rag_xcalloc(1, sizeof(*h));

	h->ctx = EVP_MD_CTX_new();
	/* Only an allocation can fail here: treat it as rag_xmalloc does. */
	if (h->ctx == NULL || !EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL))
		abort();
	return h;
}

void
rag_hash_update(struct rag_hash *h, const void *data, size_t len)
{
	EVP_DigestUpdate(h->ctx, data, len);
}

void
rag_hash_final_hex(struct rag_hash *h, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	EVP_DigestFinal_ex(h->ctx, md, &n);
	rag_hash_hex(md, 32, out);
}

void
rag_hash_free(struct rag_hash *h)
{
	if (h == NULL)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

int
rag_hash_fd(int fd, const char *name, char out[65], uint64_t *size,
    struct rag_error *err)
{
	struct rag_hash *h = rag_hash_new();
	size_t cap = 1 << 20;
	char *buf = rag_xmalloc(cap);
	uint64_t total = 0;
	ssize_t n;
	int rc = 0;

	for (;;) {
		n = read(fd, buf, cap);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = rag_error_set(err, RAG_EXIT_FAILED,
			    "cannot read '%s': %s", name, strerror(errno));
			break;
		}
		if (n == 0)
			break;
		rag_hash_update(h, buf, (size_t)n);
		total += (uint64_t)n;
	}
	if (rc == 0) {
		rag_hash_final_hex(h, out);
		*size = total;
	}
	free(buf);
	rag_hash_free(h);
	return rc;
}
