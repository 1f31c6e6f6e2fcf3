#!/usr/bin/env python3
"""Transaction spans per PostgreSQL backend, from a server log written with log_statement=all and
log_line_prefix='%m [%p] ': for each BEGIN..COMMIT, its duration and statement count, grouped by what it held
(arriving frames: an INSERT INTO inbound_message; processing outcomes: an UPDATE inbound_message SET status ...
processed_at). Shows whether outcomes hold the inbox writer's connection (docs/BENCHMARKS.md, issue 22).
Usage: bench/pg-tx-spans.py PG_LOG"""
import re
import sys
from datetime import datetime

line_re = re.compile(r'^(\d+-\d+-\d+ [\d:.]+) \w+ \[(\d+)\] LOG:  (?:statement|execute [^:]*): (.*)')
open_tx, spans, last = {}, [], None
for line in open(sys.argv[1], errors='replace'):
    m = line_re.match(line)
    if not m:
        # a statement's continuation line (multi-line SQL) belongs to the last backend seen
        if last in open_tx and 'processed_at' in line:
            open_tx[last]['outcome'] = True
        continue
    last = m.group(2)
    at = datetime.strptime(m.group(1), '%Y-%m-%d %H:%M:%S.%f').timestamp() * 1000
    query = m.group(3)
    if query.startswith('BEGIN'):
        open_tx[last] = {'start': at, 'statements': 0, 'outcome': False, 'frame': False}
    elif query.startswith('COMMIT') and last in open_tx:
        tx = open_tx.pop(last)
        spans.append((at - tx['start'], tx['statements'], tx['outcome'], tx['frame'], last))
    elif last in open_tx:
        tx = open_tx[last]
        tx['statements'] += 1
        if query.startswith('UPDATE inbound_message') and ('processed_at' in query or query.strip() == 'UPDATE inbound_message'):
            tx['outcome'] = True
        if query.startswith('INSERT INTO inbound_message ('):
            tx['frame'] = True


def summary(name, xs):
    if not xs:
        print(f'{name}: none')
        return
    d = sorted(x[0] for x in xs)
    n = sorted(x[1] for x in xs)
    print(f'{name}: {len(xs)} transactions, ms p50 {d[len(d) // 2]:.1f} p90 {d[int(len(d) * .9)]:.1f} max {d[-1]:.1f}; '
          f'statements p50 {n[len(n) // 2]} max {n[-1]}; backends {sorted(set(x[4] for x in xs))}')


summary('frames and outcomes', [s for s in spans if s[2] and s[3]])
summary('frames only', [s for s in spans if s[3] and not s[2]])
summary('outcomes only', [s for s in spans if s[2] and not s[3]])
