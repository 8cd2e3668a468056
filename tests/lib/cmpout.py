#!/usr/bin/env python3
"""cmpout.py [options] EXPECTED ACTUAL

Compare the output of a docker CLI command (EXPECTED, captured earlier) with
strata's output for the same command (ACTUAL), allowing only the differences
docker itself does not define:

 * rows of images created in the same second may come in any order (docker
   sorts by `Created` in whole seconds; ties are unspecified).  A row's
   creation second is found from the first image ID in it (12 or 64 hex,
   optionally `sha256:`), looked up in the configs of --store ROOT.  Rows
   without a known ID keep their position.  --ordered: no reordering at all
   (history lists).  --unordered: rows compared as a set (output without
   image IDs, e.g. a custom table format of repository and tag only).
 * relative times ("5 seconds ago", "About a minute ago", ...) may differ,
   because docker ran at another moment: each pair must be consistent with
   go-units HumanDuration and the time that passed between the two runs
   (--expected-time T0 T1 and --actual-time T0 T1, unix seconds bracketing
   each command; without them any well-formed phrase is accepted).
 * as a relative time changes the width of its column, tables (first line an
   upper-case header with 3-space separators) are split into cells at the
   header's column starts and the layout of ACTUAL is checked separately:
   it must be exactly what Go's tabwriter (minwidth 10, padding 3) prints for
   those cells.
--exact: byte-for-byte comparison only (inspect JSON, errors).
Exit 0 when equivalent; otherwise print why and a diff, exit 1.
"""
import argparse, difflib, json, math, os, re, sys

REL = re.compile(r'(Less than a second|About a minute|About an hour|'
                 r'\d+ (?:second|seconds|minutes|hours|days|weeks|months|years)) ago')
HEXID = re.compile(r'(?<![0-9a-f])(?:sha256:)?([0-9a-f]{64}|[0-9a-f]{12})(?![0-9a-f])')
HEADER = re.compile(r'^[A-Z][A-Z0-9 ]*[A-Z0-9]$')


def rel_range(phrase):
    """Interval [lo, hi) of ages in seconds that HumanDuration prints as phrase."""
    p = phrase[:-4] if phrase.endswith(' ago') else phrase
    H, D = 3600.0, 86400.0
    if p == 'Less than a second':
        return (-math.inf, 1)
    if p == 'About a minute':
        return (60, 120)
    if p == 'About an hour':
        return (3600, 1.5 * H)
    n, unit = p.split(' ', 1)
    n = int(n)
    if unit in ('second', 'seconds'):
        return (n, n + 1)
    if unit == 'minutes':
        return (60 * n, 60 * (n + 1))
    if unit == 'hours':         # int(hours + 0.5) == n
        return ((n - 0.5) * H, (n + 0.5) * H)
    if unit == 'days':          # hours/24 == n, hours = int(h + .5)
        return (n * D - 0.5 * H, (n + 1) * D - 0.5 * H)
    if unit == 'weeks':
        return (n * 7 * D - 0.5 * H, (n + 1) * 7 * D - 0.5 * H)
    if unit == 'months':
        return (n * 30 * D - 0.5 * H, (n + 1) * 30 * D - 0.5 * H)
    if unit == 'years':
        return (n * 365 * D, (n + 1) * 365 * D)
    raise ValueError(phrase)


def load_created(root):
    """image ID hex -> creation time in whole unix seconds, from the store."""
    out = {}
    if not root:
        return out
    import datetime
    for drv in ('overlay2', 'vfs'):
        d = os.path.join(root, 'image', drv, 'imagedb', 'content', 'sha256')
        if not os.path.isdir(d):
            continue
        for f in os.listdir(d):
            try:
                c = json.load(open(os.path.join(d, f), 'rb')).get('created', '')
                m = re.match(r'(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)', c)
                t = datetime.datetime.strptime(m.group(1), '%Y-%m-%dT%H:%M:%S')
                out[f] = int(t.replace(tzinfo=datetime.timezone.utc).timestamp())
            except Exception:
                pass
    return out


def tab_cols(header):
    return [m.start() for m in re.finditer(r'\S+(?: \S+)*', header)]


def split_row(line, starts):
    cells = []
    for i, s in enumerate(starts):
        if i + 1 < len(starts):
            cells.append(line[s:starts[i + 1]].rstrip(' '))
        else:
            cells.append(line[s:])
    return cells


def render(rows):
    n = len(rows[0])
    widths = [max(10, max(len(r[i]) for r in rows) + 3) for i in range(n - 1)]
    return [''.join(c.ljust(w) for c, w in zip(r[:-1], widths)) + r[-1] for r in rows]


class Parsed:
    def __init__(self, text):
        self.text = text
        self.lines = text.split('\n')
        self.trailer = self.lines.pop() if self.lines else ''   # '' if text ends in \n
        self.table = bool(self.lines) and '   ' in self.lines[0] and \
            HEADER.match(self.lines[0].strip()) is not None
        self.layout_error = None
        if self.table:
            starts = tab_cols(self.lines[0])
            self.rows = [split_row(l, starts) for l in self.lines]
            good = render(self.rows)
            if good != self.lines:
                bad = [i for i in range(len(good)) if good[i] != self.lines[i]][0]
                self.layout_error = ('line %d is not laid out as Go tabwriter(minwidth 10, padding 3) '
                                     'would print these cells:\n  got:  %r\n  want: %r'
                                     % (bad + 1, self.lines[bad], good[bad]))
        else:
            self.rows = [[l] for l in self.lines]
        self.norm = []   # (normalised row text, [phrases])
        for r in self.rows:
            phrases = []
            cells = []
            for c in r:
                phrases += REL.findall(c)
                cells.append(REL.sub('<AGE> ago', c))
            self.norm.append(('\t'.join(cells), phrases))


def row_key(text, created, index):
    for m in HEXID.finditer(text):
        h = m.group(1)
        if len(h) == 64 and h in created:
            return created[h]
        if len(h) == 12:
            hits = [v for k, v in created.items() if k.startswith(h)]
            if len(hits) == 1:
                return hits[0]
    return ('pos', index)


def canonical(p, created, ordered, unordered=False):
    rows = p.norm
    start = 1 if p.table else 0
    out = list(rows[:start])
    body = rows[start:]
    if unordered:
        return out + sorted(body, key=lambda r: r[0])
    if ordered or not created:
        return out + body
    keys = [row_key(t, created, i) for i, (t, _) in enumerate(body)]
    i = 0
    while i < len(body):
        j = i
        while j < len(body) and keys[j] == keys[i]:
            j += 1
        out += sorted(body[i:j], key=lambda r: r[0])
        i = j
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--store')
    ap.add_argument('--ordered', action='store_true')
    ap.add_argument('--exact', action='store_true')
    ap.add_argument('--unordered', action='store_true')
    ap.add_argument('--expected-time', nargs=2, type=float)
    ap.add_argument('--actual-time', nargs=2, type=float)
    ap.add_argument('--label', default='')
    ap.add_argument('expected')
    ap.add_argument('actual')
    a = ap.parse_args()
    exp_t = open(a.expected, 'rb').read().decode('utf-8', 'surrogateescape')
    act_t = open(a.actual, 'rb').read().decode('utf-8', 'surrogateescape')
    if exp_t == act_t:
        return 0

    def fail(why):
        print('%s%s' % (a.label + ': ' if a.label else '', why))
        for l in difflib.unified_diff(exp_t.splitlines(True), act_t.splitlines(True),
                                      'expected (docker)', 'actual (strata)'):
            sys.stdout.write(l if l.endswith('\n') else l + '\n\\ No newline at end of file\n')
        return 1

    if a.exact:
        return fail('output differs')
    e, t = Parsed(exp_t), Parsed(act_t)
    if e.trailer != t.trailer:
        return fail('trailing newline differs')
    if t.layout_error:
        return fail(t.layout_error)
    created = load_created(a.store)
    ce = canonical(e, created, a.ordered, a.unordered)
    ct = canonical(t, created, a.ordered, a.unordered)
    if [r[0] for r in ce] != [r[0] for r in ct]:
        return fail('rows differ (relative times ignored%s)' %
                    ('' if a.ordered else ' and rows compared as a set' if a.unordered
                     else ', same-second rows compared as sets'))
    if a.expected_time and a.actual_time:
        lo = a.actual_time[0] - a.expected_time[1] - 1
        hi = a.actual_time[1] - a.expected_time[0] + 1
    else:
        lo, hi = -math.inf, math.inf
    for (txt, pe), (_, pa) in zip(ce, ct):
        for x, y in zip(pe, pa):
            ex, ax = rel_range(x), rel_range(y)
            # some age in ex, shifted by some elapsed time in [lo, hi], is in ax
            if not (ax[0] - ex[1] <= hi and ax[1] - ex[0] >= lo):
                return fail('relative time %r (strata) cannot follow %r (docker) after %.0f..%.0f s'
                            % (y + ' ago', x + ' ago', max(lo, 0), hi))
    return 0


if __name__ == '__main__':
    sys.exit(main())
