#!/usr/bin/env python3
"""The files every exitleft Debian package carries in /usr/share/doc/<package>/.

    debian-files.py changelog CHANGELOG.md VERSION MAINTAINER OUTPUT
        The Debian changelog of the source package exitleft, one entry per released section
        of docs/CHANGELOG.md (Keep a Changelog), newest first. The newest release must be
        VERSION (CMake's PROJECT_VERSION): the version has one source, and a release without
        its changelog entry is refused (exit status 1).
    debian-files.py copyright LICENSE OUTPUT
        The machine-readable (DEP-5) copyright file made from docs/LICENSE (the MIT text,
        which Debian calls Expat).
    debian-files.py epoch CHANGELOG.md VERSION
        Prints the release date of VERSION as seconds since the epoch (SOURCE_DATE_EPOCH for
        help2man, so that the man pages do not change with the day they are built).

The output is plain text; CMake compresses the changelog with gzip -9n (tools/packaging/
debian.cmake). Debian's changelog lines stay within 80 columns (lintian:
debian-changelog-line-too-long).
"""
import datetime
import email.utils
import re
import sys
import textwrap

SOURCE = "exitleft"
WIDTH = 79


def releases(path):
    """[(version, date, [(category, [item text])])], newest first, Unreleased left out."""
    out = []
    current = category = None
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            m = re.match(r"^## \[([^]]+)\](?: - (\d{4}-\d{2}-\d{2}))?", line)
            if m:
                current = None
                if m.group(1).lower() != "unreleased":
                    if not m.group(2):
                        sys.exit(f"{path}: release {m.group(1)} has no date (## [x.y.z] - YYYY-MM-DD)")
                    current = (m.group(1), m.group(2), [])
                    out.append(current)
                category = None
                continue
            if current is None:
                continue
            m = re.match(r"^### (.+)", line)
            if m:
                category = (m.group(1).strip(), [])
                current[2].append(category)
            elif line.startswith("- "):
                if category is None:
                    category = ("Changes", [])
                    current[2].append(category)
                category[1].append(line[2:].strip())
            elif line.startswith("  ") and line.strip() and category and category[1]:
                category[1][-1] += " " + line.strip()
    return out


def plain(text):
    """Markdown to changelog text: links to their words, no code quotes."""
    text = re.sub(r"\[([^]]+)\]\([^)]+\)", r"\1", text)
    return text.replace("`", "")


def release_date(date):
    return datetime.datetime.strptime(date, "%Y-%m-%d").replace(tzinfo=datetime.timezone.utc)


def newest(path, version):
    rel = releases(path)
    if not rel:
        sys.exit(f"{path}: no released section (## [x.y.z] - YYYY-MM-DD)")
    if rel[0][0] != version:
        sys.exit(f"{path}: the newest release is {rel[0][0]}, but the project's version is "
                 f"{version}: add its section (## [{version}] - YYYY-MM-DD)")
    return rel


def changelog(path, version, maintainer, output):
    lines = []
    for ver, date, categories in newest(path, version):
        lines += [f"{SOURCE} ({ver}) unstable; urgency=medium", ""]
        for name, items in categories:
            if not items:
                continue
            lines.append(f"  * {name}:")
            for item in items:
                lines += textwrap.wrap(plain(item), WIDTH, initial_indent="    - ",
                                       subsequent_indent="      ", break_on_hyphens=False,
                                       break_long_words=False)
        stamp = email.utils.format_datetime(release_date(date))
        lines += ["", f" -- {maintainer}  {stamp}", ""]
    too_long = [l for l in lines if len(l) > 80]
    if too_long:
        sys.exit(f"{path}: a word too long for an 80-column changelog line: {too_long[0]}")
    with open(output, "w", encoding="utf-8") as f:
        f.write("\n".join(lines[:-1]) + "\n")


def copyright_file(path, output):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"^Copyright \(c\) (.+)$", text, re.MULTILINE)
    if not m:
        sys.exit(f"{path}: no 'Copyright (c) <years> <holder>' line")
    holder = m.group(1).strip()
    body = text[m.end():].strip("\n")
    paragraphs = [p for p in re.split(r"\n\s*\n", body) if p.strip()]
    if not paragraphs or not paragraphs[0].startswith("Permission is hereby granted"):
        sys.exit(f"{path}: the MIT permission notice must follow the copyright line")
    license_lines = []
    for p in paragraphs:
        if license_lines:
            license_lines.append(" .")
        license_lines += [" " + l.strip() for l in p.splitlines()]
    out = [
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/",
        f"Upstream-Name: {SOURCE}",
        "Comment: The MIT License (SPDX: MIT), which Debian calls Expat; the text is",
        " docs/LICENSE in the source.",
        "",
        "Files: *",
        f"Copyright: {holder}",
        "License: Expat",
        "",
        "License: Expat",
    ] + license_lines
    with open(output, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")


def main(argv):
    if len(argv) == 6 and argv[1] == "changelog":
        changelog(argv[2], argv[3], argv[4], argv[5])
    elif len(argv) == 4 and argv[1] == "copyright":
        copyright_file(argv[2], argv[3])
    elif len(argv) == 4 and argv[1] == "epoch":
        rel = {v: d for v, d, _ in newest(argv[2], argv[3])}
        print(int(release_date(rel[argv[3]]).timestamp()))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
