#!/usr/bin/python3
"""gen.py chunks|questions N [SEED]: deterministic synthetic data for the
benchmarks, on stdout.

chunks: N "chunk" records (as rag-chunk writes them, before rag-embed) of
pseudo-English, about 800 characters each, 100 chunks to a document.
Most words are drawn from words.txt with the frequencies it gives; a
document also has topics, as real ones do: 40 words of its own (a fifth
of its words) and, every 10 chunks, a section's 12 words (a tenth).
Without topics every word would be spread evenly over the collection:
each question's terms would have postings everywhere, and the nearest
neighbours of a question would be barely nearer than the rest.
questions: N questions, one a line: 4 to 8 words lifted from a random
chunk of the first 10000 (so every question has answers at 10k and at
100k chunks) with one word drawn from the vocabulary in between.

The same N and SEED give the same bytes on any machine: Python's
random.Random(seed) is specified to be reproducible."""

import bisect
import hashlib
import json
import os
import random
import sys

CHUNK_CHARS = 800
PER_DOC = 100
PER_SECTION = 10
DOC_TOPIC, DOC_SHARE = 40, 0.2
SECTION_TOPIC, SECTION_SHARE = 12, 0.1
# Topic words come from below the commonest (mostly function) words.
TOPIC_FROM = 100
# Chunks questions are lifted from: the smallest collection measured.
QUESTION_POOL = 10000


def vocabulary():
    here = os.path.dirname(os.path.abspath(__file__))
    words, cum, total = [], [], 0
    with open(os.path.join(here, "words.txt"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            w, n = line.split()
            total += int(n)
            words.append(w)
            cum.append(total)
    return words, cum, total


def topic(seed, kind, n, k, words):
    # Seeded by name, so a topic does not depend on the chunks before it.
    r = random.Random("rag-bench %d %s %d" % (seed, kind, n))
    return [words[i] for i in r.sample(range(TOPIC_FROM, len(words)), k)]


def word(rng, words, cum, total, doc_t, sec_t):
    x = rng.random()
    if x < DOC_SHARE:
        return rng.choice(doc_t)
    if x < DOC_SHARE + SECTION_SHARE:
        return rng.choice(sec_t)
    return words[bisect.bisect_right(cum, rng.randrange(total))]


def chunk_text(rng, words, cum, total, doc_t, sec_t):
    out, size = [], 0
    while size < CHUNK_CHARS:
        n = rng.randint(6, 22)
        s = [word(rng, words, cum, total, doc_t, sec_t) for _ in range(n)]
        s[0] = s[0].capitalize()
        sent = " ".join(s) + rng.choice(".......?")
        out.append(sent)
        size += len(sent) + 1
    return " ".join(out)


def chunks(n, seed):
    words, cum, total = vocabulary()
    rng = random.Random(seed)
    for i in range(n):
        doc, seq = divmod(i, PER_DOC)
        doc_id = hashlib.sha256(b"rag-bench %d %d" % (seed, doc)).hexdigest()
        if seq == 0:
            doc_t = topic(seed, "doc", doc, DOC_TOPIC, words)
        if seq % PER_SECTION == 0:
            sec_t = topic(seed, "section", i // PER_SECTION, SECTION_TOPIC,
                          words)
        text = chunk_text(rng, words, cum, total, doc_t, sec_t)
        yield {
            "type": "chunk",
            "doc_id": doc_id,
            "source": "bench-%06d.pdf" % doc,
            "chunk_id": "%s-%d" % (doc_id[:16], seq),
            "seq": seq,
            "page_start": seq // 2 + 1,
            "page_end": seq // 2 + 1,
            "text": text,
            "tokens": len(text) // 4,
        }


def questions(n, seed):
    words, cum, total = vocabulary()
    pool = list(chunks(QUESTION_POOL, seed))
    rng = random.Random(seed + 1)
    for _ in range(n):
        w = pool[rng.randrange(len(pool))]["text"].lower()
        w = "".join(c if c.isalpha() or c == " " else " " for c in w).split()
        k = rng.randint(4, 8)
        at = rng.randrange(len(w) - k)
        q = w[at:at + k]
        q.insert(rng.randrange(len(q)),
                 words[bisect.bisect_right(cum, rng.randrange(total))])
        yield " ".join(q)


def main():
    if len(sys.argv) not in (3, 4) or sys.argv[1] not in ("chunks",
                                                          "questions"):
        sys.exit("usage: gen.py chunks|questions N [SEED]")
    n = int(sys.argv[2])
    seed = int(sys.argv[3]) if len(sys.argv) == 4 else 42
    out = sys.stdout
    if sys.argv[1] == "chunks":
        for c in chunks(n, seed):
            out.write(json.dumps(c, separators=(",", ":")) + "\n")
    else:
        for q in questions(n, seed):
            out.write(q + "\n")


if __name__ == "__main__":
    main()
