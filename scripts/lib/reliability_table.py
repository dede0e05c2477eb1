#!/usr/bin/env python3
"""Writes one run's reliability figures (the JSON lines the scenarios append) into docs/RELIABILITY.md.

usage: reliability_table.py RESULTS.jsonl DOC.md COMMAND EXIT_CODE

The run's section is keyed by images/seed/kill timing: a rerun with the same settings replaces its section, a run with
other settings adds one (between the <!-- runs:begin --> and <!-- runs:end --> markers of the doc).
"""
import json
import re
import socket
import sys
from datetime import datetime, timezone


def cell(value):
    return "" if value is None else str(value).replace("|", "\\|").replace("\n", " ")


def order(scenario):
    match = re.match(r"(\d+)(\w*)", scenario)
    return (int(match.group(1)), match.group(2)) if match else (999, scenario)


def main():
    results, doc, command, exit_code = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    records = [json.loads(line) for line in open(results, encoding="utf-8") if line.strip()]
    if not records:
        sys.exit("no figures in " + results)
    # The last record per scenario counts (a scenario rerun by hand appends another line).
    latest = {}
    for record in records:
        latest[record["scenario"]] = record
    first = records[0]
    # Scenarios 6 and 8 submit more than the run's size (hostile extras, three jobs): the smallest is the size.
    key = f"seed={first['seed']},killAt={first['killAt']},images={min(r['images'] for r in records)}"
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"<!-- run:{key}:begin -->",
        f"### `{command}`",
        "",
        f"{when} on {socket.gethostname()} ({len(latest)} scenarios, dotnet test exit code {exit_code}; "
        f"shard size {first['shardSize']}, faults at {float(first['killAt']):.0%} of the job).",
        "",
        "| # | scenario | final state | images submitted | labeled | error rows | lost | duplicated | time to recover | what the time measures | notes | command |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---|---|---|",
    ]
    for scenario in sorted(latest, key=order):
        r = latest[scenario]
        recover = "n/a" if r.get("recoverSeconds") is None else f"{r['recoverSeconds']:.1f} s"
        notes = "; ".join(f"{k}: {v}" for k, v in (r.get("notes") or {}).items() if v not in (None, ""))
        one = f"{command} --filter 'FullyQualifiedName~{r['test']}'" if r.get("test") else command
        lines.append(
            f"| {cell(r['scenario'])} | {cell(r['title'])} | {cell(r['state'])} | {r['images']} | {r['labeled']} | {r['errorRows']} | "
            f"{r['lost']} | {r['duplicated']} | {recover} | {cell(r.get('recoverMeaning'))} | {cell(notes)} | `{cell(one)}` |")
    lines += ["", f"<!-- run:{key}:end -->"]
    section = "\n".join(lines)

    text = open(doc, encoding="utf-8").read()
    begin, end = f"<!-- run:{key}:begin -->", f"<!-- run:{key}:end -->"
    if begin in text and end in text:
        text = text[: text.index(begin)] + section + text[text.index(end) + len(end):]
    elif "<!-- runs:end -->" in text:
        text = text.replace("<!-- runs:end -->", section + "\n\n<!-- runs:end -->")
    else:
        sys.exit(f"{doc} has no <!-- runs:end --> marker")
    open(doc, "w", encoding="utf-8").write(text)
    bad = [s for s, r in latest.items() if r["lost"] or r["duplicated"]]
    if bad:
        sys.exit("lost or duplicated images in scenarios " + ", ".join(bad))


if __name__ == "__main__":
    main()
