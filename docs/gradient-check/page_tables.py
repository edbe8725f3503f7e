#!/usr/bin/python3
"""Keeps docs/gradient-check.md's tables equal to gradient_check's output.

  gradient_check | page_tables.py check PAGE     exits 1, naming each table that differs
  gradient_check | page_tables.py update PAGE    writes the program's tables into PAGE

A table is a line <!-- gradient_check table NAME --> and the lines after it up to the
first blank line, in the program's output and in the page alike. Every table of the
output must be in the page, and every table of the page in the output.
Only the Python standard library: /usr/bin/python3 is enough.
"""
import re
import sys
from pathlib import Path

MARKER = re.compile(r"^<!-- gradient_check table (\S+) -->$")


def tables(lines):
    """NAME -> (index of its marker line, index after its last line, its lines)."""
    found = {}
    for start, line in enumerate(lines):
        match = MARKER.match(line)
        if match:
            end = start + 1
            while end < len(lines) and lines[end].strip():
                end += 1
            found[match.group(1)] = (start, end, lines[start:end])
    return found


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("check", "update"):
        sys.exit(__doc__)
    mode, page = sys.argv[1], Path(sys.argv[2])
    output = tables(sys.stdin.read().splitlines())
    page_lines = page.read_text(encoding="utf-8").splitlines()
    on_page = tables(page_lines)
    if not output:
        sys.exit("page_tables: the program printed no table")
    problems = [f"{page}: no table {name} (the program prints it)" for name in output if name not in on_page]
    problems += [f"{page}: table {name} is not in the program's output" for name in on_page if name not in output]
    if mode == "update":
        if problems:
            sys.exit("\n".join(problems))
        # From the last table up, so that the indices of the earlier ones stay valid.
        for name, (start, end, _) in sorted(on_page.items(), key=lambda item: -item[1][0]):
            page_lines[start:end] = output[name][2]
        page.write_text("\n".join(page_lines) + "\n", encoding="utf-8")
        print(f"page_tables: {len(output)} tables written into {page}")
        return
    for name, (start, _, lines) in on_page.items():
        if name in output and lines != output[name][2]:
            expected = output[name][2]
            first = next(i for i in range(max(len(lines), len(expected)))
                         if i >= len(lines) or i >= len(expected) or lines[i] != expected[i])
            problems.append(f"{page}:{start + first + 1}: table {name} differs from the program's output:\n"
                            f"  page:    {lines[first] if first < len(lines) else '(missing line)'}\n"
                            f"  program: {expected[first] if first < len(expected) else '(no such line)'}")
    if problems:
        print("\n".join(problems), file=sys.stderr)
        sys.exit(1)
    print(f"page_tables: the {len(output)} tables of {page} equal the program's output")


if __name__ == "__main__":
    main()
