#!/usr/bin/python3
"""fakeprov: a loopback HTTP server that answers embedding, rerank and chat
requests the way OpenAI's, Jina's, Cohere's and text-embeddings-inference's
APIs do, so that rag's HTTP providers can be tested without a network, a
key or a bill.

    fakeprov.py --port-file FILE

binds 127.0.0.1 on a free port, writes the port to FILE and serves until it
is killed.  The APIs, one per path:

    POST /openai/v1/embeddings   OpenAI's format (OPENAI_BASE_URL=.../openai/v1)
    POST /jina/v1/embeddings     Jina's format   (JINA_BASE_URL=.../jina/v1)
    POST /jina/v1/rerank         Jina's reranker
    POST /cohere/v2/rerank       Cohere's v2 reranker (COHERE_BASE_URL=.../cohere)
    POST /tei/rerank             TEI's reranker  (tei/<FAKE_URL>/tei)
    POST /openai/v1/chat/completions   OpenAI's chat, whole or streamed

Answers follow the providers' own: the same JSON (OpenAI's pretty-printed,
Jina's compact), base64 float32 vectors when asked for, usage, request ids,
x-ratelimit-* headers, and the providers' error bodies for a bad key (401),
a text too long or a bad input (400), a model that does not exist (404),
rate limits and exhausted quota (429, with or without Retry-After) and
server errors (500).  Vectors are deterministic: the SHA-256 of (model,
dimensions, text) seeds them, so the same text always gets the same vector.

Rerankers score a text by the share of the question's words of three
letters or more (lower case) that it holds, with a tie-breaker below 1e-6
(see rerank_score()), and answer best first, each in its provider's shape:
Jina's compact {"model", "usage": {"total_tokens"}, "results"}, Cohere's
{"id", "results", "meta": {"billed_units": {"search_units": ceil(n/100)}}},
TEI's bare array of {"index", "score"}; and their error bodies: Jina's
{"detail": ...} (401, 402 balance, 422 pydantic), Cohere's {"id",
"message"} (401 "invalid api token", 404 model, 429 trial key: per minute,
or per month with the "quota" fault), TEI's {"error", "error_type"} (413
Validation for more texts than tei_max_batch, 422 Tokenizer, 429
Overloaded, 503 Unhealthy).  A rerank request bills (Jina, TEI) the
question's tokens once per text plus the texts'.

Chat knows gpt-4o-mini and gpt-4o (another model gets OpenAI's 404
model_not_found).  The reply is the chat_reply setting when it is a string
(so that a test can make the model say anything), else built from the
prompt: the first sentence of the text after the first "[1]" in the last
user message (see default_reply()), then " [1]."; cut to max_tokens (4
bytes a token) with finish_reason "length".  Usage counts 4 bytes a token
over every message's content (prompt) and over the reply (completion).  A
whole answer is OpenAI's pretty-printed chat.completion object; with
"stream": true, server-sent events as OpenAI sends them: a first chunk
with the role, the reply in pieces of about 4 characters, a chunk with
the finish_reason, with stream_options.include_usage a chunk with
"choices": [] and the usage ("usage": null in the others), then "data:
[DONE]"; chunked, or ended by closing the connection (stream_close).
Errors: 400 context_length_exceeded past max_context_tokens, 401
invalid_api_key, 404 model_not_found, 429 rate_limit_exceeded and
insufficient_quota, 500 server_error, each in OpenAI's own words.

A token is 4 bytes of UTF-8, rounded up per text (OpenAI's rule of thumb;
deliberately not the tokenizer rag estimates with, so that rag's limiter
must learn from the usage it is sent).

The tests steer it through a control API on the same port:

    POST /_fake/reset  {settings}   new settings, counters to zero
    GET  /_fake/stats               what it received, as JSON

Settings (all optional):
    keys        {"openai": "sk-test", "jina": "jina_test", "cohere":
                "co-test", "tei": null}: accepted keys (null: none asked)
    latency     seconds before each answer
    rpm, tpm    enforced limits per minute (0: none), counted over
    window      seconds (60): a request over either gets a 429
    advertise   {"rpm": N, "tpm": N}: limits to announce in the headers
                (default: the enforced ones; none when both are 0)
    rate_retry_after   send Retry-After with a rate-limit 429 (true)
    max_input_tokens   a longer text is refused with a 400 (8192)
    reject_texts       a request with a text holding one of these strings
                       is refused as invalid (400)
    tei_max_batch      texts TEI takes in one request (32)
    chat_reply         what the chat model says (default: see above)
    max_context_tokens a longer prompt gets 400 context_length_exceeded
                       (128000)
    stream_split       N > 0: a stream written N bytes at a time, events
                       split anywhere (0: an event a write)
    stream_crlf        lines end with CRLF (false)
    stream_comments    ": keep-alive" comment lines between events (false)
    stream_close       no chunked encoding: the stream ends when the
                       connection closes (false)
    stream_delay       seconds between writes (0)
    stream_ignore      answer whole even when asked to stream (false)
    storm       {"seconds": S, "retry_after": "1"|null}: every request
                gets a 429 for S seconds from the reset
    faults      a list, applied to the next requests in order, each
                {"kind": K, "count": N (1), ...}:
                  status   {"status": 401|403|500|400|404|429, "retry_after": "2",
                           "message": M (rerankers: the error's message)}
                  quota    429 insufficient_quota (OpenAI) / 402 (Jina) /
                           429 for the month's calls (Cohere)
                  slow     {"delay": S}: answer after S seconds
                  truncate the connection closes halfway through the body
                           (a stream: after half its events, no [DONE])
                  badjson  a complete answer whose JSON is cut short (a
                           stream: one event's)
                  stream_error  (chat) {"after": N (0)}: a stream with an
                           error event (server_error) after the first chunk
                           and N pieces of the reply, no [DONE]; billed when
                           N > 0 (the pieces' tokens); a 500 when not
                           streamed
                  dims     {"dims": N}: vectors of the wrong length
                  shuffle  the vectors in another order (with their index)
                  drop     one vector missing
                  dup      one index twice
                  range    (rerank) an index out of range
                  nan      a NaN in a vector, or a NaN score
                  zeros    a vector of zeros
                  float    numbers instead of base64
                  pass     no fault: lets the next ones apply later

Stats: requests (embedding requests received), by_status, inputs,
usage_tokens (usage in complete 200 answers), billed_tokens (all 200s,
cut ones too), text_counts {text: times embedded in a complete 200},
rate_limited (429s for the limits), too_long (400s for long texts),
max_window_requests / max_window_tokens (the most that arrived in any
`window` seconds), max_minute_requests / max_minute_tokens (any 60 s),
max_inflight, max_input_tokens_seen, auth (the last Authorization header
seen, masked), bodies (the last request body, of any endpoint).  by_status
counts the answers of every endpoint, endpoint_status each endpoint's
({"jina/rerank": {"200": 3}}); rerank_requests {"jina", "cohere", "tei"}
counts rerank requests; last_bodies {endpoint: body}; billed {"jina_rerank":
{"answers", "tokens", "usage_tokens"}, "cohere_rerank": {"answers",
"search_units", "usage_search_units"}, "tei_rerank": {"answers", "tokens"},
"openai_chat": {"answers", "input_tokens", "output_tokens",
"usage_input_tokens", "usage_output_tokens"}}: answers counts every 2xx
(cut and malformed ones too: the work was done; not a stream that only
said stream_error), the usage_ totals only what was told in answers that
arrived whole and readable; chat_requests, chat_streams (streamed 2xx).
An answer still being written when the stats are reset (a slow one)
counts in the stats it began in.
"""

import argparse
import base64
import hashlib
import http.server
import json
import math
import os
import random
import re
import socket
import struct
import sys
import threading
import time

OPENAI_MODELS = {
    "text-embedding-3-small": (1536, True),
    "text-embedding-3-large": (3072, True),
    "text-embedding-ada-002": (1536, False),
}
JINA_MODELS = {
    "jina-embeddings-v3": (1024, True),
    "jina-embeddings-v4": (2048, True),
    "jina-embeddings-v2-base-en": (768, False),
}
# Models of "other servers" behind the OpenAI API (Ollama, vLLM ...).
OTHER_MODELS = {"nomic-embed-text": 768, "tiny-embed": 8}

DEFAULTS = {
    "keys": {"openai": "sk-test", "jina": "jina_test", "cohere": "co-test", "tei": None},
    "latency": 0.0,
    "rpm": 0,
    "tpm": 0,
    "window": 60.0,
    "advertise": None,
    "rate_retry_after": True,
    "max_input_tokens": 8192,
    "storm": None,
    "tei_max_batch": 32,
    "chat_reply": None,
    "max_context_tokens": 128000,
    "stream_split": 0,
    "stream_crlf": False,
    "stream_comments": False,
    "stream_close": False,
    "stream_delay": 0.0,
    "faults": [],
}

# Chat models, and the snapshot each answers as.
CHAT_MODELS = {
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "gpt-4o": "gpt-4o-2024-08-06",
}

RERANK_MODELS = {
    "jina": ("jina-reranker-v2-base-multilingual", "jina-reranker-v1-base-en",
             "jina-reranker-v1-turbo-en", "jina-reranker-m0", "jina-colbert-v2"),
    "cohere": ("rerank-v3.5", "rerank-english-v3.0", "rerank-multilingual-v3.0"),
}


def tokens_of(text):
    return max(1, (len(text.encode("utf-8")) + 3) // 4)


def go_duration(s):
    """Seconds as OpenAI writes them in x-ratelimit-reset-*: 6m0s, 1.5s, 20ms."""
    if s < 1:
        return "%dms" % max(0, int(round(s * 1000)))
    if s < 60:
        return ("%.3f" % s).rstrip("0").rstrip(".") + "s"
    m = int(s // 60)
    return "%dm%ds" % (m, int(s - 60 * m))


def vector(model, dims, text):
    seed = hashlib.sha256(("%s\0%d\0%s" % (model, dims, text)).encode()).digest()
    rng = random.Random(seed)
    v = [rng.gauss(0.0, 1.0) for _ in range(dims)]
    n = math.sqrt(sum(x * x for x in v)) or 1.0
    # Round through float32, as a real server's vectors are.
    return list(struct.unpack("<%df" % dims, struct.pack("<%df" % dims, *[x / n for x in v])))


def b64(v):
    return base64.b64encode(struct.pack("<%df" % len(v), *v)).decode()


def mask(key):
    if len(key) <= 8:
        return "*" * len(key)
    return key[:3] + "*" * (len(key) - 7) + key[-4:]


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset({})

    def reset(self, settings):
        cfg = json.loads(json.dumps(DEFAULTS))
        cfg.update(settings)
        self.cfg = cfg
        self.t0 = time.monotonic()
        faults = []
        for f in cfg.get("faults") or []:
            for _ in range(int(f.get("count", 1))):
                faults.append(f)
        self.faults = faults
        self.arrivals = []          # (t, tokens) of every embedding request
        self.accepted = []          # (t, tokens) of those not rate limited
        self.stats = {
            "requests": 0, "by_status": {}, "inputs": 0,
            "usage_tokens": 0, "billed_tokens": 0, "text_counts": {},
            "rate_limited": 0, "too_long": 0, "max_window_requests": 0,
            "max_window_tokens": 0, "max_minute_requests": 0,
            "max_minute_tokens": 0, "max_inflight": 0,
            "max_input_tokens_seen": 0, "auth": None, "bodies": None,
            "rerank_requests": {"jina": 0, "cohere": 0, "tei": 0},
            "endpoint_status": {},
            "billed": {
                "jina_rerank": {"answers": 0, "tokens": 0, "usage_tokens": 0},
                "cohere_rerank": {"answers": 0, "search_units": 0,
                                  "usage_search_units": 0},
                "tei_rerank": {"answers": 0, "tokens": 0},
                "openai_chat": {"answers": 0, "input_tokens": 0, "output_tokens": 0,
                                "usage_input_tokens": 0, "usage_output_tokens": 0},
            },
            "chat_requests": 0, "chat_streams": 0,
            "last_bodies": {},
        }
        self.inflight = 0
        self.seq = 0

    def window_counts(self, log, now, span):
        reqs = toks = 0
        for t, k in reversed(log):
            if t <= now - span:
                break
            reqs += 1
            toks += k
        return reqs, toks

    def arrive(self, tokens):
        """Counts an arrival; returns (allowed, retry_after_s, headers)."""
        now = time.monotonic()
        cfg = self.cfg
        self.arrivals.append((now, tokens))
        w = float(cfg["window"])
        for span, rk, tk in ((w, "max_window_requests", "max_window_tokens"),
                             (60.0, "max_minute_requests", "max_minute_tokens")):
            r, t = self.window_counts(self.arrivals, now, span)
            self.stats[rk] = max(self.stats[rk], r)
            self.stats[tk] = max(self.stats[tk], t)
        rpm, tpm = float(cfg["rpm"]), float(cfg["tpm"])
        allow_r = rpm * w / 60 if rpm > 0 else None
        allow_t = tpm * w / 60 if tpm > 0 else None
        r, t = self.window_counts(self.accepted, now, w)
        ok = (allow_r is None or r + 1 <= allow_r) and \
             (allow_t is None or t + tokens <= allow_t)
        wait = 0.0
        if not ok:
            # Until enough of the window's oldest arrivals leave it.
            need_r = (r + 1 - allow_r) if allow_r is not None else 0
            need_t = (t + tokens - allow_t) if allow_t is not None else 0
            got_r = got_t = 0
            for at, k in [x for x in self.accepted if x[0] > now - w]:
                got_r += 1
                got_t += k
                wait = at + w - now
                if got_r >= need_r and got_t >= need_t:
                    break
        else:
            self.accepted.append((now, tokens))
            r += 1
            t += tokens
        hdrs = {}
        adv = cfg.get("advertise")
        if adv is None and (rpm > 0 or tpm > 0):
            adv = {"rpm": rpm, "tpm": tpm}
        if adv:
            if adv.get("rpm"):
                lim = float(adv["rpm"])
                hdrs["x-ratelimit-limit-requests"] = str(int(lim))
                left = max(0, int(lim * w / 60 - r))
                hdrs["x-ratelimit-remaining-requests"] = str(left)
                hdrs["x-ratelimit-reset-requests"] = go_duration(w / max(1.0, lim * w / 60))
            if adv.get("tpm"):
                lim = float(adv["tpm"])
                hdrs["x-ratelimit-limit-tokens"] = str(int(lim))
                left = max(0, int(lim * w / 60 - t))
                hdrs["x-ratelimit-remaining-tokens"] = str(left)
                hdrs["x-ratelimit-reset-tokens"] = go_duration(w * (1 - left / max(1.0, lim * w / 60)))
        return ok, wait, hdrs

    def next_fault(self):
        storm = self.cfg.get("storm")
        if storm and time.monotonic() - self.t0 < float(storm.get("seconds", 0)):
            return {"kind": "status", "status": 429, "retry_after": storm.get("retry_after")}
        if self.faults:
            return self.faults.pop(0)
        return None


STATE = State()


# ---- the providers' bodies -------------------------------------------------

def openai_error(message, etype, code=None, param=None):
    return json.dumps({"error": {"message": message, "type": etype,
                                 "param": param, "code": code}}, indent=4)


def jina_error(detail):
    return json.dumps({"detail": detail}, separators=(",", ":"))


NO_KEY = ("You didn't provide an API key. You need to provide your API key in an Authorization "
          "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password "
          "field (with blank username) if you're accessing the API from your browser and are "
          "prompted for a username and password. You can obtain an API key from "
          "https://platform.openai.com/account/api-keys.")
QUOTA = ("You exceeded your current quota, please check your plan and billing details. For more "
         "information on this error, read the docs: "
         "https://platform.openai.com/docs/guides/error-codes/api-errors.")
FINGERPRINT = "fp_b376dfbbd5"


def content_text(content):
    """A message's text: a string, or the text parts of a list of parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content
                       if isinstance(p, dict) and p.get("type") == "text")
    raise TypeError


def default_reply(messages):
    """The reply when chat_reply is not set: the first sentence of the text
    after the first "[1]" in the last user message (up to the end of its
    line, and up to the first ".", "!" or "?" before a space or the end,
    that mark left out), then " [1]."; without a "[1]", "The sources do not
    say."."""
    last = ""
    for m in messages:
        if m.get("role") == "user":
            last = content_text(m.get("content"))
    at = last.find("[1]")
    if at < 0:
        return "The sources do not say."
    line = last[at + 3:].strip().split("\n")[0]
    sentence = re.split(r"[.!?](?:\s|$)", line, maxsplit=1)[0].strip()
    return (sentence or "The sources do not say") + " [1]."


def stream_pieces(reply):
    """The reply in pieces of at most four characters and a space before,
    about as OpenAI's tokens come; together exactly the reply."""
    pieces = re.findall(r"\s?\S{1,4}|\s+", reply)
    assert "".join(pieces) == reply
    return pieces


def cohere_id():
    """A request id as Cohere writes them: a random UUID."""
    return "%08x-%04x-4%03x-%04x-%012x" % (
        random.getrandbits(32), random.getrandbits(16), random.getrandbits(12),
        0x8000 | random.getrandbits(14), random.getrandbits(48))


WORD = re.compile(r"\w+")


def rerank_score(query, doc):
    """How well doc answers query, in [0, 1]: the share of the query's words
    of three letters or more (lower case) that doc holds, scaled by
    1 - 1e-6, plus a tie-breaker below 1e-6 from the SHA-256 of both, so
    that no two documents score alike."""
    words = {w for w in WORD.findall(query.lower()) if len(w) >= 3}
    have = set(WORD.findall(doc.lower()))
    share = len(words & have) / len(words) if words else 0.0
    h = hashlib.sha256(("%s\0%s" % (query, doc)).encode()).digest()
    return share * (1 - 1e-6) + int.from_bytes(h[:4], "big") / 2.0 ** 32 * 1e-6


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fakeprov"
    sys_version = ""

    def log_message(self, fmt, *args):
        pass

    def send(self, status, body, ctype="application/json", headers=None, cut=False):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if cut:
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self.wfile.write(data)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def do_GET(self):
        if self.path == "/_fake/stats":
            with STATE.lock:
                body = json.dumps(STATE.stats)
            return self.send(200, body)
        self.send(404, '{"detail":"Not Found"}')

    def do_POST(self):
        raw = self.read_body()
        if self.path == "/_fake/reset":
            # An answer still on its way (a "slow" fault the client gave
            # up on) would count in the next test's figures: let it end.
            deadline = time.monotonic() + 15
            while STATE.inflight > 0 and time.monotonic() < deadline:
                time.sleep(0.02)
            with STATE.lock:
                STATE.reset(json.loads(raw or b"{}"))
            return self.send(200, "{}")
        if self.path == "/openai/v1/embeddings":
            return self.embeddings("openai", raw)
        if self.path == "/jina/v1/embeddings":
            return self.embeddings("jina", raw)
        if self.path == "/jina/v1/rerank":
            return self.rerank("jina", raw)
        if self.path == "/cohere/v2/rerank":
            return self.rerank("cohere", raw)
        if self.path == "/tei/rerank":
            return self.rerank("tei", raw)
        if self.path == "/openai/v1/chat/completions":
            return self.chat(raw)
        self.send(404, '{"detail":"Not Found"}')

    def embeddings(self, api, raw):
        with STATE.lock:
            STATE.inflight += 1
            STATE.stats["max_inflight"] = max(STATE.stats["max_inflight"], STATE.inflight)
        try:
            self.answer(api, raw)
        finally:
            with STATE.lock:
                STATE.inflight -= 1

    def status(self, code):
        st = STATE.stats["by_status"]
        st[str(code)] = st.get(str(code), 0) + 1

    def fail(self, api, code, kind, message=None, headers=None):
        """The provider's error answer for kind."""
        if api == "openai":
            bodies = {
                "auth": lambda: openai_error(message, "invalid_request_error", "invalid_api_key"),
                "nokey": lambda: openai_error(
                    "You didn't provide an API key. You need to provide your API key in an "
                    "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), "
                    "or as the password field (with blank username) if you're accessing the API "
                    "from your browser and are prompted for a username and password. You can "
                    "obtain an API key from https://platform.openai.com/account/api-keys.",
                    "invalid_request_error"),
                "forbidden": lambda: openai_error(
                    "Country, region, or territory not supported", "request_forbidden",
                    "unsupported_country_region_territory"),
                "too_long": lambda: openai_error(message, "invalid_request_error"),
                "request_tokens": lambda: openai_error(message, "max_tokens_per_request",
                                                       "max_tokens_per_request"),
                "invalid": lambda: openai_error(
                    "'$.input' is invalid. Please check the API reference: "
                    "https://platform.openai.com/docs/api-reference.", "invalid_request_error"),
                "dimensions": lambda: openai_error(
                    "This model does not support specifying dimensions.", "invalid_request_error"),
                "model": lambda: openai_error(message, "invalid_request_error", "model_not_found"),
                "rate": lambda: openai_error(message, "tokens", "rate_limit_exceeded"),
                "quota": lambda: openai_error(
                    "You exceeded your current quota, please check your plan and billing "
                    "details. For more information on this error, read the docs: "
                    "https://platform.openai.com/docs/guides/error-codes/api-errors.",
                    "insufficient_quota", "insufficient_quota"),
                "server": lambda: openai_error(
                    "The server had an error while processing your request. Sorry about that!",
                    "server_error"),
            }
        else:
            bodies = {
                "auth": lambda: jina_error("Failed to authenticate with the provided api key."),
                "nokey": lambda: jina_error("Failed to authenticate with the provided api key."),
                "forbidden": lambda: jina_error("Forbidden"),
                "too_long": lambda: jina_error(message),
                "request_tokens": lambda: jina_error(message),
                "invalid": lambda: jina_error(
                    "ValidationError(model='TextDoc', errors=[{'loc': ('text',), 'msg': "
                    "'Input should be a valid string', 'type': 'string_type'}])"),
                "dimensions": lambda: jina_error(
                    "Model jina-embeddings-v2-base-en does not support dimensions"),
                "model": lambda: jina_error(message),
                "rate": lambda: jina_error(message),
                "quota": lambda: jina_error("Insufficient balance: top up your account"),
                "server": lambda: jina_error("Internal Server Error"),
            }
        with STATE.lock:
            self.status(code)
        self.send(code, bodies[kind](), headers=headers)

    def answer(self, api, raw):
        cfg = STATE.cfg
        with STATE.lock:
            STATE.stats["requests"] += 1
            STATE.stats["bodies"] = raw.decode("utf-8", "replace")
            auth = self.headers.get("Authorization")
            STATE.stats["auth"] = mask(auth) if auth else None
            fault = STATE.next_fault()
        key = cfg["keys"].get(api)
        if auth is None and key:
            return self.fail(api, 401, "nokey")
        if key and auth != "Bearer " + key:
            given = auth[7:] if auth.startswith("Bearer ") else auth
            return self.fail(api, 401, "auth",
                             "Incorrect API key provided: %s. You can find your API key at "
                             "https://platform.openai.com/account/api-keys." % mask(given))
        try:
            req = json.loads(raw)
            texts = req["input"]
            if isinstance(texts, str):
                texts = [texts]
            if not isinstance(texts, list) or not texts or \
                    not all(isinstance(t, str) and t for t in texts):
                raise ValueError
        except (ValueError, KeyError, TypeError):
            return self.fail(api, 400, "invalid")
        model = req.get("model", "")
        if any(bad in t for bad in cfg.get("reject_texts") or [] for t in texts):
            return self.fail(api, 400, "invalid")
        toks = [tokens_of(t) for t in texts]
        total = sum(toks)
        with STATE.lock:
            STATE.stats["inputs"] += len(texts)
            ok, wait, rl_headers = STATE.arrive(total)
        if fault is not None and fault.get("kind", "status") == "status":
            code = int(fault["status"])
            headers = dict(rl_headers)
            if fault.get("retry_after") is not None:
                headers["retry-after"] = str(fault["retry_after"])
            kinds = {401: "auth", 403: "forbidden", 400: "invalid", 404: "model",
                     429: "rate", 500: "server", 502: "server", 503: "server"}
            msg = {
                401: "Incorrect API key provided: sk-***. You can find your API key at "
                     "https://platform.openai.com/account/api-keys.",
                404: "The model `%s` does not exist or you do not have access to it." % model,
                429: "Rate limit reached for %s in organization org-fake on requests per min "
                     "(RPM): Limit 3000, Used 3000, Requested 1. Please try again in 20ms. "
                     "Visit https://platform.openai.com/account/rate-limits to learn more."
                     % model if api == "openai" else "Too many requests",
            }.get(code)
            if api == "jina" and code == 401:
                msg = None
            return self.fail(api, code, kinds.get(code, "server"), msg, headers)
        if fault is not None and fault.get("kind") == "quota":
            return self.fail(api, 429 if api == "openai" else 402, "quota")
        if not ok:
            with STATE.lock:
                STATE.stats["rate_limited"] += 1
            headers = dict(rl_headers)
            if cfg.get("rate_retry_after", True):
                headers["retry-after"] = str(max(1, math.ceil(wait)))
            return self.fail(api, 429, "rate",
                             "Rate limit reached for %s in organization org-fake on tokens per "
                             "min (TPM): Limit %d, Used %d, Requested %d. Please try again in "
                             "%s. Visit https://platform.openai.com/account/rate-limits to "
                             "learn more." % (model, int(cfg["tpm"]), int(cfg["tpm"]), total,
                                              go_duration(wait))
                             if api == "openai" else "Rate limit exceeded", headers)
        # The model and its dimensions.
        table = OPENAI_MODELS if api == "openai" else JINA_MODELS
        if model in table:
            dims, settable = table[model]
        elif api == "openai" and model in OTHER_MODELS:
            dims, settable = OTHER_MODELS[model], False
        else:
            return self.fail(api, 404 if api == "openai" else 400, "model",
                             "The model `%s` does not exist or you do not have access to it."
                             % model if api == "openai" else
                             "Model %s not found" % model)
        if "dimensions" in req:
            if not settable:
                return self.fail(api, 400, "dimensions")
            dims = int(req["dimensions"])
        limit = int(cfg["max_input_tokens"])
        longest = max(toks)
        if longest > limit:
            with STATE.lock:
                STATE.stats["too_long"] += 1
            if api == "openai":
                return self.fail(api, 400, "too_long",
                                 "This model's maximum context length is %d tokens, however you "
                                 "requested %d tokens (%d in your prompt; 0 for the completion). "
                                 "Please reduce your prompt; or completion length."
                                 % (limit, longest, longest))
            return self.fail(api, 400, "too_long",
                             "ValidationError(model='TextDoc', errors=[{'loc': ('text',), "
                             "'msg': 'Single text cannot exceed %d tokens. %d tokens given.', "
                             "'type': 'value_error'}])" % (limit, longest))
        if api == "openai" and total > 300000:
            return self.fail(api, 400, "request_tokens",
                             "Requested %d tokens, max 300000 tokens per request" % total)
        with STATE.lock:
            STATE.stats["max_input_tokens_seen"] = max(STATE.stats["max_input_tokens_seen"],
                                                       longest)
        delay = float(cfg.get("latency") or 0)
        kind = fault.get("kind") if fault else None
        if kind == "slow":
            delay += float(fault.get("delay", 5))
        if delay > 0:
            time.sleep(delay)
        as_b64 = (req.get("encoding_format") == "base64" if api == "openai"
                  else req.get("embedding_type") == "base64")
        if kind == "float":
            as_b64 = False
        vecs = [vector(model, dims, t) for t in texts]
        if kind == "dims":
            vecs = [vector(model, int(fault.get("dims", dims + 1)), t) for t in texts]
        if kind == "nan":
            vecs[0][0] = float("nan")
        if kind == "zeros":
            vecs[0] = [0.0] * len(vecs[0])
        items = [{"object": "embedding", "index": i,
                  "embedding": b64(v) if as_b64 else v} for i, v in enumerate(vecs)]
        if kind == "shuffle":
            items = list(reversed(items))
        if kind == "drop" and len(items) > 0:
            items = items[:-1] if len(items) > 1 else []
        if kind == "dup":
            if len(items) > 1:
                items[-1]["index"] = items[0]["index"]
            else:
                items.append(dict(items[0]))
        with STATE.lock:
            STATE.seq += 1
            rid = "req_%032x" % STATE.seq
            STATE.stats["billed_tokens"] += total
            if kind not in ("truncate", "badjson"):
                STATE.stats["usage_tokens"] += total
                if kind not in ("dims", "nan", "zeros", "drop", "dup"):
                    for t in texts:
                        c = STATE.stats["text_counts"]
                        c[t] = c.get(t, 0) + 1
            self.status(200)
        if api == "openai":
            body = json.dumps({"object": "list", "data": items, "model": model,
                               "usage": {"prompt_tokens": total, "total_tokens": total}},
                              indent=2)
            headers = {"openai-model": model, "openai-processing-ms": str(int(delay * 1000)),
                       "openai-version": "2020-10-01", "x-request-id": rid}
        else:
            body = json.dumps({"model": model, "object": "list",
                               "usage": {"total_tokens": total, "prompt_tokens": total},
                               "data": items}, separators=(",", ":"))
            headers = {"x-request-id": rid}
        headers.update(rl_headers)
        if kind == "badjson":
            body = body[: len(body) // 2]
        self.send(200, body, headers=headers, cut=(kind == "truncate"))


    # ---- rerankers ---------------------------------------------------------

    def count_status(self, endpoint, code):
        """Counts an answer in by_status and in endpoint_status, in the stats
        of the request (self.stats: a slow answer that ends after a reset
        counts in the stats it began in, not the next test's); under the
        lock."""
        st = self.stats["by_status"]
        st[str(code)] = st.get(str(code), 0) + 1
        st = self.stats["endpoint_status"].setdefault(endpoint, {})
        st[str(code)] = st.get(str(code), 0) + 1

    def rerank_fail(self, api, code, message=None, headers=None, kind=None):
        """The provider's own error answer."""
        if api == "jina":
            if code == 422 and message is None:
                body = json.dumps({"detail": [{"type": "missing", "loc": ["body", "query"],
                                               "msg": "Field required", "input": None}]},
                                  separators=(",", ":"))
            else:
                body = jina_error(message or {
                    400: "Invalid request", 401: "Failed to authenticate with the provided api key.",
                    402: "Insufficient balance: top up your account", 403: "Forbidden",
                    404: "Not Found", 429: "Rate limit exceeded"}.get(code, "Internal Server Error"))
        elif api == "cohere":
            body = json.dumps({"id": cohere_id(), "message": message or {
                400: "invalid request: query must be a non-empty string",
                401: "invalid api token",
                402: "Please add or update your payment method at "
                     "https://dashboard.cohere.com/billing?tab=payment to continue",
                404: "model not found, make sure the correct model ID was used and that you "
                     "have access to the model.",
                422: "invalid request: documents must not be empty",
                429: "You are using a Trial key, which is limited to 10 API calls / minute. "
                     "You can continue to use the Trial key for free or upgrade to a Production "
                     "key with higher rate limits at 'https://dashboard.cohere.com/api-keys'. "
                     "Contact us on 'https://discord.gg/XW44jPfYJu' or email us at "
                     "support@cohere.com with any questions",
                503: "service unavailable"}.get(
                    code, "internal server error, this has been reported to our developers")},
                separators=(",", ":"))
        else:
            if code == 401:
                body = ""
            else:
                etype = kind or {400: "Empty", 413: "Validation", 422: "Tokenizer",
                                 424: "Backend", 429: "Overloaded", 503: "Unhealthy"}.get(
                                     code, "Backend")
                body = json.dumps({"error": message or {
                    "Empty": "`texts` cannot be empty",
                    "Validation": "`inputs` must have less than 512 tokens. Given: 600",
                    "Tokenizer": "Input validation error: invalid utf-8",
                    "Overloaded": "Model is overloaded",
                    "Unhealthy": "Model is not healthy"}.get(etype, "CUDA out of memory"),
                    "error_type": etype}, separators=(",", ":"))
        with STATE.lock:
            self.count_status("%s/rerank" % api, code)
        self.send(code, body, headers=headers)

    def rerank(self, api, raw):
        cfg = STATE.cfg
        endpoint = "%s/rerank" % api
        with STATE.lock:
            self.stats = STATE.stats
            STATE.stats["rerank_requests"][api] += 1
            text = raw.decode("utf-8", "replace")
            STATE.stats["bodies"] = text
            STATE.stats["last_bodies"][endpoint] = text
            auth = self.headers.get("Authorization")
            STATE.stats["auth"] = mask(auth) if auth else None
            fault = STATE.next_fault()
        key = cfg["keys"].get(api)
        if key and auth != "Bearer " + key:
            return self.rerank_fail(api, 401, "no api key supplied"
                                    if api == "cohere" and auth is None else None)
        try:
            req = json.loads(raw)
            query = req["query"]
            docs = req["texts" if api == "tei" else "documents"]
            docs = [d["text"] if isinstance(d, dict) and api == "jina" else d for d in docs]
            if not isinstance(query, str) or not isinstance(docs, list) or \
                    not all(isinstance(d, str) for d in docs):
                raise ValueError
        except (ValueError, KeyError, TypeError):
            if api == "tei":
                with STATE.lock:
                    self.count_status(endpoint, 422)
                return self.send(422, "Failed to deserialize the JSON body into the target "
                                 "type: missing field `query`", ctype="text/plain; charset=utf-8")
            return self.rerank_fail(api, 422 if api == "jina" else 400)
        model = req.get("model")
        if api != "tei" and model not in RERANK_MODELS[api]:
            if api == "jina":
                return self.rerank_fail(api, 400, "Model %s not found" % model)
            return self.rerank_fail(api, 404, "model '%s' not found, make sure the correct model "
                                    "ID was used and that you have access to the model." % model)
        if not docs or not query:
            return self.rerank_fail(api, 400 if api != "cohere" else 422)
        if api == "tei" and len(docs) > int(cfg["tei_max_batch"]):
            return self.rerank_fail(api, 413, "batch size %d > maximum allowed batch size %d"
                                    % (len(docs), int(cfg["tei_max_batch"])))
        if any(bad in d for bad in cfg.get("reject_texts") or [] for d in docs):
            return self.rerank_fail(api, 400 if api != "tei" else 422,
                                    "invalid input document" if api != "tei" else None)
        kind = fault.get("kind", "status") if fault else None
        if kind == "status":
            code = int(fault["status"])
            headers = {}
            if fault.get("retry_after") is not None:
                headers["retry-after"] = str(fault["retry_after"])
            return self.rerank_fail(api, code, fault.get("message"), headers)
        if kind == "quota":
            if api == "cohere":
                return self.rerank_fail(api, 429,
                                        "You are using a Trial key, which is limited to 1000 API "
                                        "calls / month. You can continue to use the Trial key for "
                                        "free or upgrade to a Production key with higher rate "
                                        "limits at 'https://dashboard.cohere.com/api-keys'. Contact "
                                        "us on 'https://discord.gg/XW44jPfYJu' or email us at "
                                        "support@cohere.com with any questions")
            return self.rerank_fail(api, 402 if api == "jina" else 429)
        delay = float(cfg.get("latency") or 0)
        if kind == "slow":
            delay += float(fault.get("delay", 5))
        if delay > 0:
            time.sleep(delay)
        scores = [rerank_score(query, d) for d in docs]
        order = sorted(range(len(docs)), key=lambda i: (-scores[i], i))
        top_n = req.get("top_n")
        if isinstance(top_n, int) and 0 < top_n < len(order):
            order = order[:top_n]
        skey = "score" if api == "tei" else "relevance_score"
        results = [{"index": i, skey: scores[i]} for i in order]
        if kind == "drop":
            results = results[:-1]
        if kind == "dup" and len(results) > 1:
            results[-1]["index"] = results[0]["index"]
        if kind == "nan":
            results[0][skey] = float("nan")
        if kind == "range":
            results[0]["index"] = len(docs)
        tokens = sum(tokens_of(query) + tokens_of(d) for d in docs)
        units = (len(docs) + 99) // 100
        # NaN is not JSON: the usage beside it cannot be read either.
        whole = kind not in ("truncate", "badjson", "nan")
        with STATE.lock:
            STATE.seq += 1
            rid = "req_%032x" % STATE.seq
            b = self.stats["billed"]["%s_rerank" % api]
            b["answers"] += 1
            if api == "cohere":
                b["search_units"] += units
                if whole:
                    b["usage_search_units"] += units
            else:
                b["tokens"] += tokens
                if whole and api == "jina":
                    b["usage_tokens"] += tokens
            self.count_status(endpoint, 200)
        headers = {}
        if api == "jina":
            body = json.dumps({"model": model, "usage": {"total_tokens": tokens},
                               "results": results}, separators=(",", ":"))
            headers["x-request-id"] = rid
        elif api == "cohere":
            body = json.dumps({"id": cohere_id(), "results": results,
                               "meta": {"api_version": {"version": "2"},
                                        "billed_units": {"search_units": units}}},
                              separators=(",", ":"))
            headers["num_tokens"] = str(tokens)
        else:
            body = json.dumps(results, separators=(",", ":"))
            headers.update({"x-compute-type": "cpu", "x-compute-characters":
                            str(sum(len(d) for d in docs) + len(query)),
                            "x-compute-tokens": str(tokens), "x-total-time": str(int(delay * 1000)),
                            "x-tokenization-time": "0", "x-queue-time": "0",
                            "x-inference-time": str(int(delay * 1000))})
        if kind == "badjson":
            body = body[: len(body) // 2]
        self.send(200, body, headers=headers, cut=(kind == "truncate"))


    # ---- chat ----------------------------------------------------------------

    def chat_fail(self, code, message, etype, ecode=None, param=None, headers=None):
        with STATE.lock:
            self.count_status("openai/chat", code)
        self.send(code, openai_error(message, etype, ecode, param), headers=headers)

    def chat(self, raw):
        cfg = STATE.cfg
        with STATE.lock:
            self.stats = STATE.stats
            STATE.stats["chat_requests"] += 1
            text = raw.decode("utf-8", "replace")
            STATE.stats["bodies"] = text
            STATE.stats["last_bodies"]["openai/chat"] = text
            auth = self.headers.get("Authorization")
            STATE.stats["auth"] = mask(auth) if auth else None
            fault = STATE.next_fault()
        key = cfg["keys"].get("openai")
        if key and auth is None:
            return self.chat_fail(401, NO_KEY, "invalid_request_error")
        if key and auth != "Bearer " + key:
            given = auth[7:] if auth.startswith("Bearer ") else auth
            return self.chat_fail(401, "Incorrect API key provided: %s. You can find your API "
                                  "key at https://platform.openai.com/account/api-keys."
                                  % mask(given), "invalid_request_error", "invalid_api_key")
        try:
            req = json.loads(raw)
            messages = req["messages"]
            if not isinstance(messages, list) or not messages or \
                    not all(isinstance(m, dict) and m.get("role") in
                            ("system", "developer", "user", "assistant") for m in messages):
                raise ValueError
            contents = [content_text(m.get("content")) for m in messages]
        except (ValueError, KeyError, TypeError):
            return self.chat_fail(400, "Invalid value for 'messages': expected an array of "
                                  "message objects.", "invalid_request_error",
                                  "invalid_value", "messages")
        model = req.get("model")
        if model not in CHAT_MODELS:
            return self.chat_fail(404, "The model `%s` does not exist or you do not have "
                                  "access to it." % model, "invalid_request_error",
                                  "model_not_found")
        prompt = sum(tokens_of(c) for c in contents if c)
        limit = int(cfg["max_context_tokens"])
        if prompt > limit:
            return self.chat_fail(400, "This model's maximum context length is %d tokens. "
                                  "However, your messages resulted in %d tokens. Please "
                                  "reduce the length of the messages." % (limit, prompt),
                                  "invalid_request_error", "context_length_exceeded",
                                  "messages")
        kind = fault.get("kind", "status") if fault else None
        # stream_ignore: a server that answers whole whatever it is asked.
        stream = bool(req.get("stream")) and not cfg.get("stream_ignore")
        if kind == "stream_error" and not stream:
            kind, fault = "status", {"status": 500}
        if kind == "status":
            code = int(fault["status"])
            headers = {}
            if fault.get("retry_after") is not None:
                headers["retry-after"] = str(fault["retry_after"])
            args = {
                400: ("Invalid 'messages[0].content': string too long.",
                      "invalid_request_error", "string_above_max_length", "messages[0].content"),
                401: ("Incorrect API key provided: sk-***. You can find your API key at "
                      "https://platform.openai.com/account/api-keys.", "invalid_request_error",
                      "invalid_api_key", None),
                403: ("Country, region, or territory not supported", "request_forbidden",
                      "unsupported_country_region_territory", None),
                404: ("The model `%s` does not exist or you do not have access to it." % model,
                      "invalid_request_error", "model_not_found", None),
                429: ("Rate limit reached for %s in organization org-fake on requests per min "
                      "(RPM): Limit 500, Used 500, Requested 1. Please try again in 120ms. "
                      "Visit https://platform.openai.com/account/rate-limits to learn more."
                      % model, "requests", "rate_limit_exceeded", None),
            }.get(code, ("The server had an error while processing your request. Sorry about "
                         "that!", "server_error", None, None))
            return self.chat_fail(code, fault.get("message") or args[0], args[1], args[2],
                                  args[3], headers)
        if kind == "quota":
            return self.chat_fail(429, QUOTA, "insufficient_quota", "insufficient_quota")
        delay = float(cfg.get("latency") or 0)
        if kind == "slow":
            delay += float(fault.get("delay", 5))
        if delay > 0:
            time.sleep(delay)
        reply = cfg.get("chat_reply")
        if not isinstance(reply, str):
            reply = default_reply(messages)
        finish = "stop"
        max_tokens = req.get("max_completion_tokens") or req.get("max_tokens")
        if isinstance(max_tokens, int) and tokens_of(reply) > max_tokens:
            reply = reply.encode()[: 4 * max_tokens].decode("utf-8", "ignore")
            finish = "length"
        completion = tokens_of(reply)
        include_usage = stream and bool((req.get("stream_options") or {}).get("include_usage"))
        told = kind not in ("truncate", "badjson", "stream_error") and \
            (include_usage or not stream)
        pieces = stream_pieces(reply)
        after = int(fault.get("after", 0)) if kind == "stream_error" else 0
        if kind == "stream_error":
            # The model is billed for what it said before the error, if anything.
            pieces = pieces[:after]
            completion = tokens_of("".join(pieces)) if pieces else 0
        with STATE.lock:
            STATE.seq += 1
            rid = "req_%032x" % STATE.seq
            cid = "chatcmpl-%s" % hashlib.sha256(rid.encode()).hexdigest()[:29]
            b = self.stats["billed"]["openai_chat"]
            if kind != "stream_error" or after > 0:
                b["answers"] += 1
                b["input_tokens"] += prompt
                b["output_tokens"] += completion
                if told:
                    b["usage_input_tokens"] += prompt
                    b["usage_output_tokens"] += completion
            if stream:
                self.stats["chat_streams"] += 1
            self.count_status("openai/chat", 200)
        usage = {"prompt_tokens": prompt, "completion_tokens": completion,
                 "total_tokens": prompt + completion,
                 "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                 "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                               "accepted_prediction_tokens": 0,
                                               "rejected_prediction_tokens": 0}}
        headers = {"x-request-id": rid, "openai-processing-ms": str(int(delay * 1000) + 1),
                   "openai-version": "2020-10-01", "openai-organization": "org-fake"}
        created = int(time.time())
        snapshot = CHAT_MODELS[model]
        if not stream:
            body = json.dumps({
                "id": cid, "object": "chat.completion", "created": created, "model": snapshot,
                "choices": [{"index": 0,
                             "message": {"role": "assistant", "content": reply, "refusal": None,
                                         "annotations": []},
                             "logprobs": None, "finish_reason": finish}],
                "usage": usage, "service_tier": "default", "system_fingerprint": FINGERPRINT,
            }, indent=2)
            if kind == "badjson":
                body = body[: len(body) // 2]
            return self.send(200, body, headers=headers, cut=(kind == "truncate"))

        def chunk(choices, **extra):
            c = {"id": cid, "object": "chat.completion.chunk", "created": created,
                 "model": snapshot, "service_tier": "default",
                 "system_fingerprint": FINGERPRINT, "choices": choices}
            if include_usage:
                c["usage"] = None
            c.update(extra)
            return json.dumps(c, separators=(",", ":"))

        def delta(d, fin=None):
            return [{"index": 0, "delta": d, "logprobs": None, "finish_reason": fin}]

        events = [chunk(delta({"role": "assistant", "content": "", "refusal": None}))]
        events += [chunk(delta({"content": p})) for p in pieces]
        if kind == "stream_error":
            events.append(json.dumps({"error": {
                "message": "The server had an error while processing your request. Sorry "
                           "about that!", "type": "server_error", "param": None, "code": None}}))
        else:
            events.append(chunk(delta({}, finish)))
            if include_usage:
                events.append(chunk([], usage=usage))
            if kind == "badjson":
                events[2] = events[2][: len(events[2]) // 2]
            events.append("[DONE]")
        self.send_stream(events, headers, cut=(kind == "truncate"))

    def send_stream(self, events, headers, cut=False):
        """Server-sent events as OpenAI sends them, steered by the stream_ settings."""
        cfg = STATE.cfg
        nl = "\r\n" if cfg.get("stream_crlf") else "\n"
        texts = []
        for i, e in enumerate(events):
            if cfg.get("stream_comments") and i % 2 == 0:
                texts.append(": keep-alive" + nl + nl)
            texts.append("data: " + e + nl + nl)
        data = "".join(texts).encode()
        split = int(cfg.get("stream_split") or 0)
        if split > 0:
            writes = [data[i:i + split] for i in range(0, len(data), split)]
        else:
            writes = [t.encode() for t in texts]
        if cut:
            # Some events, then the connection breaks: no [DONE].
            writes = writes[: max(3, len(writes) // 2)]
        close = bool(cfg.get("stream_close"))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        for k, v in headers.items():
            self.send_header(k, v)
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        else:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        delay = float(cfg.get("stream_delay") or 0)
        for w in writes:
            if close:
                self.wfile.write(w)
            else:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(w), w))
            self.wfile.flush()
            if delay > 0 or split > 0:
                # A pause, so that the pieces reach the client apart.
                time.sleep(delay if delay > 0 else 0.0002)
        if cut:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if not close:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def handle_error(self, request, client_address):
        # A client that gave up (a timeout, a test that cut) is no news.
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser(description="a fake OpenAI/Jina embedding server")
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--settings", help="JSON settings to start with")
    a = ap.parse_args()
    if a.settings:
        STATE.reset(json.loads(a.settings))
    srv = Server(("127.0.0.1", 0), Handler)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, a.port_file)
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
