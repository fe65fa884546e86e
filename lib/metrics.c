#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "mem.h"
#include "metrics.h"

struct sample {
	char *labels;		/* rendered: {a="b",c="d"} or "" */
	double value;
};

struct family {
	char *name, *type, *help;
	struct sample *samples;
	size_t n, cap;
};

struct rag_metrics {
	struct family *fam;
	size_t n, cap;
};

struct rag_metrics *
rag_metrics_new(void)
{
	return rag_xcalloc(1, sizeof(struct rag_metrics));
}

void
rag_metrics_free(struct rag_metrics *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n; i++) {
		struct family *f = &m->fam[i];

		for (size_t j = 0; j < f->n; j++)
			free(f->samples[j].labels);
		free(f->samples);
		free(f->name);
		free(f->type);
		free(f->help);
	}
	free(m->fam);
	free(m);
}

/* Label values escape backslash, quote, newline; HELP texts all but quote. */
static void
escape(struct rag_buf *b, const char *s, bool quote)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			rag_buf_adds(b, "\\\\");
		else if (*s == '\n')
			rag_buf_adds(b, "\\n");
		else if (*s == '"' && quote)
			rag_buf_adds(b, "\\\"");
		else
			rag_buf_addc(b, *s);
	}
}

static char *
render_labels(const char *const *labels)
{
	struct rag_buf b = RAG_BUF_INIT;

	for (size_t i = 0; labels != NULL && labels[i] != NULL &&
	    labels[i + 1] != NULL; i += 2) {
		rag_buf_addc(&b, i == 0 ? '{' : ',');
		rag_buf_adds(&b, labels[i]);
		rag_buf_adds(&b, "=\"");
		escape(&b, labels[i + 1], true);
		rag_buf_addc(&b, '"');
	}
	if (b.len > 0)
		rag_buf_addc(&b, '}');
	return rag_buf_detach(&b);
}

void
rag_metrics_set(struct rag_metrics *m, const char *name, const char *type,
    const char *help, const char *const *labels, double value)
{
	struct family *f = NULL;
	char *lab = render_labels(labels);

	for (size_t i = 0; i < m->n && f == NULL; i++)
		if (strcmp(m->fam[i].name, name) == 0)
			f = &m->fam[i];
	if (f == NULL) {
		if (m->n == m->cap) {
			m->cap = m->cap ? 2 * m->cap : 16;
			m->fam = rag_xrealloc(m->fam, m->cap * sizeof(*m->fam));
		}
		f = &m->fam[m->n++];
		memset(f, 0, sizeof(*f));
		f->name = rag_xstrdup(name);
		f->type = rag_xstrdup(type);
		f->help = rag_xstrdup(help);
	}
	for (size_t j = 0; j < f->n; j++)
		if (strcmp(f->samples[j].labels, lab) == 0) {
			f->samples[j].value = value;
			free(lab);
			return;
		}
	if (f->n == f->cap) {
		f->cap = f->cap ? 2 * f->cap : 8;
		f->samples = rag_xrealloc(f->samples, f->cap *
		    sizeof(*f->samples));
	}
	f->samples[f->n].labels = lab;
	f->samples[f->n].value = value;
	f->n++;
}

static void
add_value(struct rag_buf *b, double v)
{
	if (isnan(v))
		rag_buf_adds(b, "NaN");
	else if (isinf(v))
		rag_buf_adds(b, v > 0 ? "+Inf" : "-Inf");
	else if (v == (double)(long long)v && fabs(v) < 1e15)
		rag_buf_addf(b, "%lld", (long long)v);
	else
		rag_buf_addf(b, "%.15g", v);
}

char *
rag_metrics_text(const struct rag_metrics *m)
{
	struct rag_buf b = RAG_BUF_INIT;

	for (size_t i = 0; i < m->n; i++) {
		const struct family *f = &m->fam[i];

		rag_buf_addf(&b, "# HELP %s ", f->name);
		escape(&b, f->help, false);
		rag_buf_addf(&b, "\n# TYPE %s %s\n", f->name, f->type);
		for (size_t j = 0; j < f->n; j++) {
			rag_buf_addf(&b, "%s%s ", f->name,
			    f->samples[j].labels);
			add_value(&b, f->samples[j].value);
			rag_buf_addc(&b, '\n');
		}
	}
	return rag_buf_detach(&b);
}

int
rag_metrics_write(const struct rag_metrics *m, const char *path,
    struct rag_error *err)
{
	char *text = rag_metrics_text(m);
	char *tmp = rag_xasprintf("%s.%ld.tmp", path, (long)getpid());
	size_t len = strlen(text);
	FILE *fp = fopen(tmp, "w");
	int rc = 0;

	if (fp == NULL || fwrite(text, 1, len, fp) != len || fflush(fp) != 0 ||
	    fsync(fileno(fp)) != 0) {
		rc = rag_error_set(err, RAG_EXIT_FATAL, "cannot write the "
		    "metrics file '%s': %s", tmp, strerror(errno));
	}
	if (fp != NULL && fclose(fp) != 0 && rc == 0)
		rc = rag_error_set(err, RAG_EXIT_FATAL, "cannot write the "
		    "metrics file '%s': %s", tmp, strerror(errno));
	if (rc == 0 && rename(tmp, path) != 0)
		rc = rag_error_set(err, RAG_EXIT_FATAL, "cannot put the "
		    "metrics file in place as '%s': %s", path, strerror(errno));
	if (rc != 0)
		unlink(tmp);
	free(tmp);
	free(text);
	return rc;
}
