#!/usr/bin/env python3
# make-pdf.py: writes rtl.pdf, the right-to-left test PDF, from the lines
# of rtl.txt (logical order, one page per blank-line-separated group, "#"
# lines are comments).  Each line is drawn the way most PDF writers draw
# it: glyphs left to right in visual order (right-to-left runs reversed,
# numbers and Latin words left to right inside them, brackets mirrored).
# Pages whose first line is "!logical" instead draw every glyph of a
# right-to-left line from right to left, in logical order, as some
# writers do; on pages whose first line is "!shaped" Arabic letters are
# drawn in their presentation forms (U+FE70...), lam and alef as one
# ligature glyph that stands for both, as other writers do.  A glyph's CID is its code point, and the ToUnicode CMap
# maps every CID to itself; the font (DejaVu Sans metrics) is not
# embedded, so the file stays small.  Run by hand after changing
# rtl.txt:  python3 make-pdf.py DejaVuSans.ttf > rtl.pdf
import struct
import sys
import unicodedata

MIRROR = {"(": ")", ")": "(", "[": "]", "]": "[", "<": ">", ">": "<",
          "{": "}", "}": "{", "«": "»", "»": "«"}


def rtl(c):
	return unicodedata.bidirectional(c) in ("R", "AL")


def ltr(c):
	return unicodedata.bidirectional(c) in ("L", "EN", "AN")


def neutral(c):
	return unicodedata.bidirectional(c) in ("WS", "ON", "CS", "ES", "ET", "S")


def visual(line):
	"""The glyphs of a line left to right, as (index in line,
	character drawn) pairs.  A line whose strong
	characters are mostly right-to-left reads right to left: its runs
	of left-to-right characters (with the spaces and dots between them,
	and the neutral characters between two Latin letters, or a Latin
	letter and a number) keep their order, everything else is reversed
	and mirrored.  Otherwise only the runs of right-to-left characters
	(with the spaces and neutral characters between them) are reversed
	and mirrored."""
	r = sum(rtl(c) for c in line)
	l = sum(unicodedata.bidirectional(c) == "L" for c in line)
	base_rtl = r >= l
	inner = ltr if base_rtl else rtl
	strong = (lambda c: unicodedata.bidirectional(c) == "L") if base_rtl \
	    else rtl
	runs, i = [], 0
	while i < len(line):
		if inner(line[i]):
			j = i + 1
			while j < len(line):
				if inner(line[j]) or unicodedata.combining(line[j]):
					j += 1
				elif (line[j] in " .,:/-" and j + 1 < len(line)
				      and inner(line[j + 1])):
					j += 1
				elif (line[j] in ")]}" and sum(
				      (c in "([{") - (c in ")]}")
				      for c in line[i:j]) > 0):
					# and so does the closing bracket of
					# one they took (rule N0)
					j += 1
				elif any(strong(c) for c in line[i:j]):
					# neutrals between two strong characters
					# of the run's direction take it (the
					# UBA's rule N1): "IDE (Parallel"
					k = j
					while k < len(line) and neutral(line[k]):
						k += 1
					if k == j or k == len(line) or not (
					    strong(line[k]) or base_rtl and
					    unicodedata.bidirectional(line[k]) == "EN"):
						break
					j = k
				else:
					break
			runs.append((True, line[i:j]))
			i = j
		else:
			j = i + 1
			while j < len(line) and not inner(line[j]):
				j += 1
			runs.append((False, line[i:j]))
			i = j
	# the same, on positions: the visual slots in order, each with the
	# logical index of its character and whether it is mirrored
	spans, k = [], 0
	for keep, t in runs:
		spans.append((keep, list(range(k, k + len(t)))))
		k += len(t)
	flip = lambda ix: [(i, True) for i in reversed(ix)]
	same = lambda ix: [(i, False) for i in ix]
	slots = []
	if base_rtl:
		for keep, ix in reversed(spans):
			slots += same(ix) if keep else flip(ix)
	else:
		for keep, ix in spans:
			slots += flip(ix) if keep else same(ix)
	return [(i, MIRROR.get(line[i], line[i]) if m else line[i])
	    for i, m in slots]


RIGHT_JOINING = set("\u0622\u0623\u0624\u0625\u0627\u0629\u062f\u0630"
    "\u0631\u0632\u0648")
LAM_ALEF = {"\u0622": "\ufef5", "\u0623": "\ufef7", "\u0625": "\ufef9",
    "\u0627": "\ufefb"}


def joining(c):
	"""'D' dual-joining, 'R' right-joining, None: does not join."""
	if c in RIGHT_JOINING:
		return "R"
	if "\u0626" <= c <= "\u064a" and c != "\u0640":
		return "D"
	return None


def shape(line):
	"""The line with its Arabic letters in the presentation forms a
	simple shaper gives them (initial, medial, final, isolated), lam
	and alef as one ligature, as some PDF writers map their glyphs."""
	out, i = [], 0
	letters = [k for k, c in enumerate(line) if not unicodedata.combining(c)]
	def neighbour(k, step):
		j = k + step
		while 0 <= j < len(line) and unicodedata.combining(line[j]):
			j += step
		return line[j] if 0 <= j < len(line) else ""
	while i < len(line):
		c = line[i]
		if joining(c) is None:
			out.append(c)
			i += 1
			continue
		prev = neighbour(i, -1)
		joins_prev = joining(prev) == "D"
		nxt = neighbour(i, 1)
		if c == "\u0644" and nxt in LAM_ALEF:
			lig = ord(LAM_ALEF[nxt]) + (1 if joins_prev else 0)
			out.append(chr(lig))
			i += 1
			while unicodedata.combining(line[i]):
				i += 1
			i += 1
			continue
		joins_next = joining(c) == "D" and joining(nxt) is not None
		form = ("MEDIAL" if joins_prev and joins_next else
		    "FINAL" if joins_prev else "INITIAL" if joins_next else
		    "ISOLATED")
		out.append(unicodedata.lookup("%s %s FORM" %
		    (unicodedata.name(c), form)))
		i += 1
	return "".join(out)


def font_widths(path):
	"""Advance widths in 1/1000 em by code point, from the font's cmap
	(format 4) and hmtx."""
	f = open(path, "rb").read()
	tables = {}
	for i in range(struct.unpack(">H", f[4:6])[0]):
		tag, _, off, ln = struct.unpack(">4sIII", f[12 + 16 * i:28 + 16 * i])
		tables[tag] = off
	upem = struct.unpack(">H", f[tables[b"head"] + 18:tables[b"head"] + 20])[0]
	nhm = struct.unpack(">H", f[tables[b"hhea"] + 34:tables[b"hhea"] + 36])[0]
	hm = tables[b"hmtx"]
	cm = tables[b"cmap"]
	sub = None
	for i in range(struct.unpack(">H", f[cm + 2:cm + 4])[0]):
		pid, eid, o = struct.unpack(">HHI", f[cm + 4 + 8 * i:cm + 12 + 8 * i])
		if (pid, eid) == (3, 1):
			sub = cm + o
	seg = struct.unpack(">H", f[sub + 6:sub + 8])[0] // 2
	arr = lambda k: struct.unpack(">%dH" % seg,
	    f[sub + 14 + k * 2 * seg + (2 if k else 0):
	      sub + 14 + (k + 1) * 2 * seg + (2 if k else 0)])
	ends, starts = arr(0), arr(1)
	deltas = struct.unpack(">%dh" % seg, f[sub + 16 + 4 * seg:sub + 16 + 6 * seg])
	roff_at = sub + 16 + 6 * seg
	roffs = struct.unpack(">%dH" % seg, f[roff_at:roff_at + 2 * seg])

	def gid(c):
		for k in range(seg):
			if starts[k] <= c <= ends[k]:
				if roffs[k] == 0:
					return (c + deltas[k]) & 0xffff
				a = roff_at + 2 * k + roffs[k] + 2 * (c - starts[k])
				g = struct.unpack(">H", f[a:a + 2])[0]
				return (g + deltas[k]) & 0xffff if g else 0
		return 0

	def width(c):
		g = min(gid(c), nhm - 1)
		adv = struct.unpack(">H", f[hm + 4 * g:hm + 4 * g + 2])[0]
		return round(adv * 1000 / upem)
	return width


def main():
	width = font_widths(sys.argv[1])
	text = open(sys.argv[2] if len(sys.argv) > 2 else "rtl.txt",
	    encoding="utf-8").read()
	pages, cur = [], []
	for line in text.split("\n"):
		if line.startswith("#"):
			continue
		if line.strip() == "":
			if cur:
				pages.append(cur)
			cur = []
		else:
			cur.append(line)
	if cur:
		pages.append(cur)
	used = set()
	contents = []
	for lines in pages:
		logical = lines[0] == "!logical"
		if logical:
			lines = lines[1:]
		if lines[0] == "!shaped":
			lines = [shape(l) for l in lines[1:]]
		ops = ["BT /F1 12 Tf"]
		y = 780
		for line in lines:
			r = sum(rtl(c) for c in line) >= sum(
			    unicodedata.bidirectional(c) == "L" for c in line)
			v = visual(line)
			used.update(c for _, c in v)
			w = sum(width(ord(c)) for _, c in v) * 12 / 1000
			x = 550 - w if r else 50
			if logical and r:
				# the same places, but drawn in logical order
				at = {}
				for i, c in v:
					at[i] = (x, c)
					x += width(ord(c)) * 12 / 1000
				for i in sorted(at):
					ops.append("1 0 0 1 %.2f %d Tm <%04X> Tj"
					    % (at[i][0], y, ord(at[i][1])))
			else:
				ops.append("1 0 0 1 %.2f %d Tm <%s> Tj" % (x, y,
				    "".join("%04X" % ord(c) for _, c in v)))
			y -= 20
		ops.append("ET")
		contents.append("\n".join(ops).encode())
	objs = []

	def add(body):
		objs.append(body)
		return len(objs)
	catalog = add(None)
	pages_obj = add(None)
	# lam-alef ligatures stand for two characters, the rest for
	# themselves
	ligs = sorted(c for c in used if "\ufef5" <= c <= "\ufefc")
	highs = sorted({ord(c) >> 8 for c in used})
	cmap = ("/CIDInit /ProcSet findresource begin\n12 dict begin\n"
	    "begincmap\n/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) "
	    "/Supplement 0 >> def\n/CMapName /Adobe-Identity-UCS def\n"
	    "/CMapType 2 def\n1 begincodespacerange\n<0000> <FFFF>\n"
	    "endcodespacerange\n%d beginbfrange\n" % len(highs) +
	    "".join("<%02X00> <%02X%s> <%02X00>\n" % (h, h,
	        "F4" if h == 0xfe else "FF", h) for h in highs) +
	    "endbfrange\n" +
	    ("%d beginbfchar\n" % len(ligs) + "".join("<%04X> <0644%04X>\n"
	        % (ord(c), ord({v: k for k, v in LAM_ALEF.items()}[
	            chr(ord(c) - 1 + (ord(c) & 1))])) for c in ligs) +
	        "endbfchar\n" if ligs else "") +
	    "endcmap\nCMapName currentdict /CMap defineresource "
	    "pop\nend\nend\n").encode()
	tounicode = add(b"<< /Length %d >>\nstream\n" % len(cmap) + cmap +
	    b"\nendstream")
	desc = add(b"<< /Type /FontDescriptor /FontName /DejaVuSans /Flags 32 "
	    b"/FontBBox [-1021 -463 1793 1232] /ItalicAngle 0 /Ascent 928 "
	    b"/Descent -236 /CapHeight 729 /StemV 80 >>")
	w = " ".join("%d [%d]" % (ord(c), width(ord(c))) for c in sorted(used))
	cid = add(("<< /Type /Font /Subtype /CIDFontType2 /BaseFont /DejaVuSans "
	    "/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) "
	    "/Supplement 0 >> /FontDescriptor %d 0 R /DW 600 /W [%s] "
	    "/CIDToGIDMap /Identity >>" % (desc, w)).encode())
	font = add(("<< /Type /Font /Subtype /Type0 /BaseFont /DejaVuSans "
	    "/Encoding /Identity-H /DescendantFonts [%d 0 R] /ToUnicode %d 0 R >>"
	    % (cid, tounicode)).encode())
	kids = []
	for c in contents:
		s = add(b"<< /Length %d >>\nstream\n" % len(c) + c + b"\nendstream")
		kids.append(add(("<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 "
		    "842] /Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>"
		    % (pages_obj, font, s)).encode()))
	objs[catalog - 1] = ("<< /Type /Catalog /Pages %d 0 R >>"
	    % pages_obj).encode()
	objs[pages_obj - 1] = ("<< /Type /Pages /Kids [%s] /Count %d >>" % (
	    " ".join("%d 0 R" % k for k in kids), len(kids))).encode()
	out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	offs = []
	for i, body in enumerate(objs):
		offs.append(len(out))
		out += b"%d 0 obj\n" % (i + 1) + body + b"\nendobj\n"
	xref = len(out)
	out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
	for o in offs:
		out += b"%010d 00000 n \n" % o
	out += (b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n"
	    % (len(objs) + 1, catalog, xref))
	sys.stdout.buffer.write(out)


main()
