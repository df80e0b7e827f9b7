#!/usr/bin/env python3
"""test/check_doc_links.py — owns: the static check of the links between the
project's Markdown documents (README.md, CHANGELOG.md, docs/*.md).

Every relative link [text](target) must name a file that exists, and every
anchor (#x, or file.md#x) a heading of that file, with GitHub's rule for
heading anchors: lower case, punctuation dropped (letters, digits, '_',
'-' and spaces kept), spaces turned into '-', and "-1", "-2", ... appended
to repeated headings.  Links to other sites are not followed.  Code blocks
and inline code are skipped.

usage: test/check_doc_links.py [REPO]   (default: the checkout around it)
Prints each broken link as FILE:LINE: TARGET and exits 1 when there is one.
"""
import os
import re
import sys

HEADING = re.compile(r'^(#{1,6})\s+(.*?)\s*#*\s*$')
LINK = re.compile(r'\]\(([^)\s]+)(?:\s+"[^"]*")?\)')


def anchor_of(text):
    text = re.sub(r'\[([^\]]*)\]\([^)]*\)', r'\1', text)	# a link's text only
    a = text.strip().lower()
    a = re.sub(r'[^\w\- ]', '', a)
    return a.replace(' ', '-')


def lines_outside_code(path):
    fence = None
    with open(path, encoding='utf-8') as f:
        for n, line in enumerate(f, 1):
            m = re.match(r'^\s*(```|~~~)', line)
            if m:
                if fence is None:
                    fence = m.group(1)
                elif fence == m.group(1):
                    fence = None
                continue
            if fence is None:
                yield n, line.rstrip('\n')


def anchors(path, cache={}):
    if path not in cache:
        seen = {}
        out = set()
        for _, line in lines_outside_code(path):
            m = HEADING.match(line)
            if not m:
                continue
            a = anchor_of(m.group(2))
            k = seen.get(a, 0)
            seen[a] = k + 1
            out.add(a if k == 0 else f'{a}-{k}')
        cache[path] = out
    return cache[path]


def main():
    repo = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                           os.path.join(os.path.dirname(__file__), '..'))
    docs = [os.path.join(repo, 'README.md'), os.path.join(repo, 'CHANGELOG.md')]
    ddir = os.path.join(repo, 'docs')
    if os.path.isdir(ddir):
        docs += sorted(os.path.join(ddir, f) for f in os.listdir(ddir) if f.endswith('.md'))
    broken = 0
    checked = 0
    for doc in docs:
        if not os.path.exists(doc):
            continue
        for n, line in lines_outside_code(doc):
            line = re.sub(r'`[^`]*`', '', line)		# inline code
            for target in LINK.findall(line):
                if re.match(r'^[a-z][a-z0-9+.-]*:', target):	# http:, mailto:
                    continue
                checked += 1
                file, _, frag = target.partition('#')
                dest = os.path.normpath(os.path.join(os.path.dirname(doc), file)) if file else doc
                ok = os.path.exists(dest)
                if ok and frag:
                    ok = dest.endswith('.md') and frag in anchors(dest)
                if not ok:
                    broken += 1
                    print(f'{os.path.relpath(doc, repo)}:{n}: {target}')
    print(f'check_doc_links: {checked} links checked, {broken} broken')
    return 1 if broken else 0


if __name__ == '__main__':
    sys.exit(main())
