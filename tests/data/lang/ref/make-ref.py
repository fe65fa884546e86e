#!/usr/bin/env python3
"""make-ref.py HTML START END: the text of a printed page, from the HTML
the book was printed from.  Prints the book's text, one block (paragraph,
list item, table cell, title, program listing) a line, from the first
occurrence of START to the end of the first occurrence of END after it
(both are plain text as the HTML reads, whitespace folded), less the
text from each FROM to the end of its TO: what the HTML has and the page
does not (a table the PDF floated to another page, the title a cross
reference adds).  The page's first and last words, and what to leave
out, are chosen by looking at the printed page.  Public domain."""
import html.parser
import re
import sys

BLOCK = {"p", "li", "td", "th", "pre", "h1", "h2", "h3", "h4", "h5", "h6",
         "dt", "dd", "caption", "div", "tr", "table", "br", "title"}
SKIP = {"script", "style", "head"}


class Text(html.parser.HTMLParser):
	def __init__(self):
		super().__init__(convert_charrefs=True)
		self.out, self.skip, self.pre = [], 0, 0

	def handle_starttag(self, tag, attrs):
		if tag in SKIP:
			self.skip += 1
		if tag == "pre":
			self.pre += 1
		if tag in BLOCK:
			self.out.append("\n")

	def handle_endtag(self, tag):
		if tag in SKIP:
			self.skip = max(0, self.skip - 1)
		if tag == "pre":
			self.pre -= 1
		if tag in BLOCK:
			self.out.append("\n")

	def handle_data(self, data):
		if self.skip:
			return
		if not self.pre:
			data = re.sub(r"\s+", " ", data)
		self.out.append(data)


def span(text, start, end):
	"""The offsets in TEXT of START through the end of END, both
	matched with whitespace folded."""
	flat = re.sub(r"\s+", " ", text)
	start, end = (re.sub(r"\s+", " ", a) for a in (start, end))
	i = flat.find(start)
	j = flat.find(end, i) if i >= 0 else -1
	if i < 0 or j < 0:
		sys.exit("make-ref.py: %r ... %r not found" % (start, end))
	fmap = []
	for m in re.finditer(r"\S+|\s+", text):
		if m.group().isspace():
			fmap.append(m.start())
		else:
			fmap.extend(range(m.start(), m.end()))
	return fmap[i], fmap[j + len(end) - 1] + 1


def main():
	if len(sys.argv) < 4 or len(sys.argv) % 2:
		sys.exit("usage: make-ref.py HTML START END [FROM TO]...")
	p = Text()
	p.feed(open(sys.argv[1], encoding="utf-8").read())
	lines = [re.sub(r"[ \t]+", " ", l).strip()
	    for l in "".join(p.out).split("\n")]
	text = "\n".join(l for l in lines if l)
	a, b = span(text, sys.argv[2], sys.argv[3])
	text = text[a:b]
	for k in range(4, len(sys.argv), 2):
		a, b = span(text, sys.argv[k], sys.argv[k + 1])
		text = text[:a] + text[b:]
	text = "\n".join(l.strip() for l in text.split("\n") if l.strip())
	print(text)


main()
