#!/usr/bin/env python3
# make-ar-txt.py: writes ar.txt, the Arabic text of ar-debian-handbook.pdf,
# from the Arabic (ar-MA) HTML of the Debian Administrator's Handbook
# (Debian package debian-handbook, usr/share/doc/debian-handbook/html/ar-MA):
# appendix sections B.3 to B.5, their paragraphs in Arabic only (those the
# translation left in English are dropped, and so are the book's
# navigation, the book's links to its other pages, and the harakat), wrapped to lines of at most 64 characters (narrower than the page),
# 36 lines a page, in the format of ../bidi/make-pdf.py (logical order, a
# blank line between pages).  Run by hand:
#   python3 make-ar-txt.py HTML_DIR > ar.txt
#   python3 ../bidi/make-pdf.py DejaVuSans.ttf ar.txt > ar-debian-handbook.pdf
import re
import sys
import textwrap
from html.parser import HTMLParser

SECTIONS = ["sect.computer-layers.html", "sect.kernel-role-and-tasks.html",
    "sect.user-space.html"]
BLOCK = {"p", "h1", "h2", "h3", "h4", "h5", "li", "pre", "dt", "dd", "div",
    "td", "th", "title"}
NAVIGATION = {"Download the ebook", "السابق", "التالي", "دفتر مدير دبيان",
    "المحتويات", "البداية"}
# harakat, and the bidi controls a writer never draws
DROP = re.compile("[\u064b-\u0652\u0670\u200e\u200f\u202a-\u202e\u2066-\u2069]")


class Text(HTMLParser):
	def __init__(self):
		super().__init__()
		self.parts, self.skip = [], 0

	def handle_starttag(self, tag, attrs):
		# inside a skipped element every tag counts, so that its end
		# tag is found (the pages are XHTML: empty tags are closed)
		cls = dict(attrs).get("class") or ""
		if self.skip or tag in ("script", "style", "head") or \
		    cls.startswith("docnav"):
			self.skip += 1
		if tag in BLOCK:
			self.parts.append("\n")

	def handle_endtag(self, tag):
		if self.skip:
			self.skip -= 1
		if tag in BLOCK:
			self.parts.append("\n")

	def handle_data(self, data):
		if not self.skip:
			self.parts.append(data)


def paragraphs(path):
	t = Text()
	t.feed(open(path, encoding="utf-8").read())
	for p in "".join(t.parts).split("\n"):
		p = DROP.sub("", " ".join(p.split()))
		arabic = sum("\u0600" <= c <= "\u06ff" for c in p)
		latin = sum(c.isascii() and c.isalpha() for c in p)
		if p and p not in NAVIGATION and arabic > latin:
			yield p


def main():
	lines = []
	for s in SECTIONS:
		for p in paragraphs(sys.argv[1] + "/" + s):
			lines += textwrap.wrap(p, 64)
	pages = [lines[i:i + 36] for i in range(0, len(lines), 36)]
	print("\n\n".join("\n".join(p) for p in pages))


main()
