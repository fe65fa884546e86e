/*
 * fuzz_chat: the chat model's answers (lib/chat.c): a whole
 * chat.completion, a stream of server-sent events (lines ending in LF,
 * CRLF or CR, split across reads anywhere, comments, error events,
 * [DONE]), and error bodies with their status.
 *
 * The answer is handed to on_data() and on_answer() as lib/http.c would
 * hand it; nothing goes over the network.  To reach these static
 * functions without exporting them, this file includes http.c and
 * chat.c.
 *
 * Input: a first line "whole [cut]" or "stream PIECE [cut]" (the stream
 * arrives in reads of PIECE bytes, 1 to 4096), then the HTTP answer as
 * "curl -i" shows it (a chunked stream de-chunked, as curl hands it).
 */
#include "http.c"
#include "chat.c"

#include "fuzz_http.h"

static struct rag_chat *chat;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct rag_error err = RAG_ERROR_INIT;

	(void)argc;
	(void)argv;
	setenv("RAG_CHAT_BASE_URL", "http://127.0.0.1:9/v1", 1);
	setenv("RAG_CHAT_API_KEY", "sk-test", 1);
	/* Made once: opening does no I/O.  Freed at exit. */
	if ((chat = rag_chat_new("openai/gpt-4o-mini", &err)) == NULL)
		abort();
	return 0;
}

static void
heard(const char *text, size_t len, bool restart, void *arg)
{
	(void)text;
	(void)restart;
	*(size_t *)arg += len;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size, *line;
	struct rag_error err = RAG_ERROR_INIT;
	struct fuzz_answer a;
	struct turn t;
	char mode[8] = "", cut[8] = "", *ctl;
	size_t len, piece = 0, got = 0;

	if ((line = fuzz_line(&p, end, &len)) == NULL)
		return 0;
	ctl = fuzz_strndup(line, len);
	if (sscanf(ctl, "stream %zu %7s", &piece, cut) >= 1) {
		if (piece < 1 || piece > 4096) {
			free(ctl);
			return 0;
		}
	} else if (sscanf(ctl, "%7s %7s", mode, cut) < 1 ||
	    strcmp(mode, "whole") != 0) {
		free(ctl);
		return 0;
	}
	free(ctl);
	fuzz_answer_init(&a, p, end, strcmp(cut, "cut") == 0);

	/* a turn, as rag_chat_complete() starts one */
	memset(&t, 0, sizeof(t));
	t.C = chat;
	t.in = t.out = -1;
	t.reserved = 100;
	if (piece > 0) {
		t.fn = heard;
		t.arg = &got;
	}
	/* http.c streams the bodies of 2xx answers only */
	if (piece > 0 && a.r.status >= 200 && a.r.status < 300) {
		for (size_t off = 0; off < a.r.len; off += piece)
			on_data(a.r.body + off, a.r.len - off < piece ?
			    a.r.len - off : piece, 1, a.r.status, &t);
	}
	(void)on_answer(&a.r, &t, &err);

	free(t.reply);
	reset_attempt(&t);
	rag_buf_release(&t.line);
	rag_buf_release(&t.data);
	rag_buf_release(&t.text);
	rag_buf_release(&t.refusal);
	rag_buf_release(&t.msg);
	fuzz_answer_release(&a);
	return 0;
}
