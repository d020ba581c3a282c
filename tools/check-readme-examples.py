#!/usr/bin/env python3
"""Compiles, links and runs every C++ and C code block of README.md, so the examples cannot rot.

Every ```cpp (also ```c++, ```cxx) block is compiled with
    $CXX -std=c++20 -Wall -Wextra -Werror -pthread -I<include dirs>
and every ```c block with
    $CC -std=c11 -pedantic -Wall -Wextra -Werror -pthread -I<include dirs>
linked with the built exitleft library into a program, which is then run (stdin closed, killed
after --timeout seconds, with anything it started) and must exit with status 0. Each block is
reported by the README line of its opening fence. ctest runs this as `readme_examples`
(tests/CMakeLists.txt).

A block is a whole translation unit as written, unless an HTML comment right before its fence
(nothing between the comment's last line and the fence), invisible on GitHub, says otherwise:

    <!-- example: compile-only needs=asio -->

    <!-- example
    struct Peer { int id; };
    int main() {
    {{block}}
      return 0;
    }
    -->

The first form only sets options. The second wraps the block: the comment's lines before the
{{block}} line go before the block, the lines after it after the block (options may follow
"example:" on its first line here too).

Options (after "example:", separated by spaces):
  compile-only   compile and link, do not run (a program that waits for the network, a server
                 that runs until it is stopped)
  needs=asio     uses standalone asio (Debian libasio-dev): SKIP when <asio.hpp> is not found
A wrapper is code around the block, for a block that is deliberately a fragment: the statements
of a function, a function that calls undeclared helpers. The block's opening preprocessor lines
(#include ..., with the blank lines among them) go to the top of the file, before the wrapper,
so a fragment may start with its includes and continue with statements that the wrapper puts
inside main(). A wrapper without a {{block}} line goes entirely before the block. Compiler
messages point into README.md (#line), in the block or in its wrapper. Before writing a long
wrapper, ask whether the example itself is what should change.

usage: tools/check-readme-examples.py [--readme README.md] [--build-dir DIR]
           [--library LIB] [--include DIR]... [--cxx C++] [--cc CC] [--asio-include DIR]
           [--timeout SECONDS] [--compile-timeout SECONDS] [--keep DIR] [--verbose]
  --build-dir DIR   a configured and built tree: DIR/include (export.hpp) and the library,
                    DIR/libexitleft.so or else DIR/libexitleft.a (what --library does not name)
  --library LIB     the exitleft library to link: libexitleft.so (run through an rpath) or
                    libexitleft.a (then -DEXITLEFT_STATIC_DEFINE; C programs add -lstdc++)
  --include DIR     an include directory (repeatable); the repository's include/ always is one
  --cxx, --cc       the compilers (default: $CXX or c++, $CC or cc)
  --asio-include    where asio.hpp is, if not on the compiler's own path
  --keep DIR        write each block's source (DIR/readme_<line>.cpp) and program there
Exit status: 0 every block passed or was skipped, 1 a block failed (or none was found),
2 bad usage.
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

CXX_LANGS = {"cpp", "c++", "cxx"}
C_LANGS = {"c"}
KNOWN_NEEDS = {"asio"}
BLOCK_PLACEHOLDER = "{{block}}"
FENCE = re.compile(r"^( {0,3})(`{3,}|~{3,})[ \t]*([^\s`]*)")
MARKER = re.compile(r"^\s*<!--\s*example\b:?(.*)$")
OUTPUT_LIMIT = 6000  # characters of compiler or program output shown per failing block

CXX_FLAGS = ["-std=c++20", "-Wall", "-Wextra", "-Werror", "-pthread"]
C_FLAGS = ["-std=c11", "-pedantic", "-Wall", "-Wextra", "-Werror", "-pthread"]


class Block:
    """One C or C++ code block of the README, with the marker comment before it, if any."""

    def __init__(self, lang, fence_line, lines):
        self.lang = lang              # "c++" or "c"
        self.fence_line = fence_line  # README line of the opening fence
        self.lines = lines            # the block's lines (first one is README line fence_line+1)
        self.compile_only = False
        self.needs = set()
        self.wrapper = None           # (first README line, lines) of the marker's code, or None
        self.error = None             # a malformed marker: the block fails with this message


class MarkerComment:
    def __init__(self, line, options, body_line, body):
        self.line = line            # README line of "<!-- example"
        self.options = options      # the words after "example:"
        self.body_line = body_line  # README line of the first body line
        self.body = body            # the wrapper's lines


def parse_readme(path):
    """Returns (blocks, errors): every C/C++ block, and marker comments that are misplaced."""
    with open(path, encoding="utf-8") as f:
        text = f.read().splitlines()
    blocks, errors = [], []
    pending = None  # a marker comment that ended on the previous line
    i = 0
    while i < len(text):
        lineno = i + 1
        line = text[i]
        marker = MARKER.match(line)
        fence = FENCE.match(line)
        if marker:
            if pending:
                errors.append(f"{path}:{pending.line}: example marker not followed by a code block")
            rest = marker.group(1)
            body, body_line = [], lineno + 1
            if "-->" in rest:
                options = rest.split("-->", 1)[0]
            else:
                options = rest
                i += 1
                while i < len(text) and "-->" not in text[i]:
                    body.append(text[i])
                    i += 1
                if i == len(text):
                    errors.append(f"{path}:{lineno}: example marker comment is not closed")
                    break
                before_close = text[i].split("-->", 1)[0]
                if before_close.strip():
                    body.append(before_close)
            pending = MarkerComment(lineno, options.split(), body_line, body)
            i += 1
            continue
        if fence:
            indent, ticks, lang = fence.groups()
            close = re.compile(r"^ {0,3}" + re.escape(ticks[0]) + "{" + str(len(ticks)) + r",}\s*$")
            content = []
            i += 1
            while i < len(text) and not close.match(text[i]):
                content.append(text[i][len(indent):] if text[i].startswith(indent) else text[i].lstrip())
                i += 1
            lang = lang.lower()
            kind = "c++" if lang in CXX_LANGS else "c" if lang in C_LANGS else None
            if kind:
                block = Block(kind, lineno, content)
                if pending:
                    apply_marker(block, pending)
                blocks.append(block)
            elif pending:
                errors.append(f"{path}:{pending.line}: example marker before a block that is "
                              f"not C or C++ ('{lang or 'no language'}')")
            pending = None
            i += 1  # past the closing fence
            continue
        if pending:
            errors.append(f"{path}:{pending.line}: example marker not followed directly by a "
                          f"```cpp or ```c block (line {lineno} comes between)")
            pending = None
        i += 1
    if pending:
        errors.append(f"{path}:{pending.line}: example marker not followed by a code block")
    return blocks, errors


def apply_marker(block, marker):
    for option in marker.options:
        if option == "compile-only":
            block.compile_only = True
        elif option.startswith("needs="):
            needs = set(filter(None, option[len("needs="):].split(",")))
            unknown = needs - KNOWN_NEEDS
            if unknown:
                block.error = (f"line {marker.line}: unknown needs= value(s) {sorted(unknown)} "
                               f"(known: {sorted(KNOWN_NEEDS)})")
            block.needs |= needs
        else:
            block.error = (f"line {marker.line}: unknown example option '{option}' "
                           f"(known: compile-only, needs=...)")
    if marker.body:
        if sum(1 for l in marker.body if l.strip() == BLOCK_PLACEHOLDER) > 1:
            block.error = f"line {marker.line}: the wrapper has more than one {BLOCK_PLACEHOLDER} line"
        block.wrapper = (marker.body_line, marker.body)


def c_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def source_of(block, readme):
    """The translation unit for a block, with #line directives pointing into the README."""
    out = []
    name = c_string(readme)

    def segment(first_line, lines):
        if lines:
            out.append(f"#line {first_line} {name}")
            out.extend(lines)

    first = block.fence_line + 1
    if block.wrapper is None:
        segment(first, block.lines)
        return "\n".join(out) + "\n"
    n = 0  # the block's opening preprocessor lines, with the blank lines among them
    while n < len(block.lines) and (not block.lines[n].strip() or block.lines[n].lstrip().startswith("#")):
        n += 1
    segment(first, block.lines[:n])
    body_line, body = block.wrapper
    at = next((k for k, l in enumerate(body) if l.strip() == BLOCK_PLACEHOLDER), len(body))
    segment(body_line, body[:at])
    segment(first + n, block.lines[n:])
    segment(body_line + at + 1, body[at + 1:])
    return "\n".join(out) + "\n"


def run(cmd, timeout, verbose, **kwargs):
    """Runs cmd in a process group of its own, so a timeout also ends anything it started
    (a child it forked that still holds the output pipe). Returns (status, output); status is
    None on a timeout, and the output then starts with a note if the program itself exited."""
    if verbose:
        print("    $ " + " ".join(cmd), flush=True)
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True, **kwargs)
    note = ""
    try:
        out, _ = proc.communicate(timeout=timeout)
        status = proc.returncode
    except subprocess.TimeoutExpired:
        status = None
        if proc.poll() is not None:
            note = f"(the program exited with status {proc.returncode}, but left processes running)\n"
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the group: what the program left behind
    except (ProcessLookupError, PermissionError):
        pass
    if status is None:
        out, _ = proc.communicate()
    return status, note + out.decode(errors="replace")


def shown(output):
    output = output.rstrip()
    if len(output) > OUTPUT_LIMIT:
        output = output[:OUTPUT_LIMIT] + f"\n... ({len(output) - OUTPUT_LIMIT} more characters)"
    return "\n".join("    " + l for l in output.splitlines())


class Checker:
    def __init__(self, args):
        self.args = args
        self.cxx_is_clang = None
        self.asio = {}  # compiler -> bool

    def is_clang(self, compiler):
        if self.cxx_is_clang is None:
            try:
                out = subprocess.run([compiler, "--version"], capture_output=True, text=True,
                                     timeout=30).stdout
            except (OSError, subprocess.TimeoutExpired):
                out = ""
            self.cxx_is_clang = "clang" in out.lower()
        return self.cxx_is_clang

    def has_asio(self, compiler, workdir):
        if compiler not in self.asio:
            probe = os.path.join(workdir, "asio_probe.cpp")
            with open(probe, "w") as f:
                f.write("#if !__has_include(<asio.hpp>)\n#error no asio\n#endif\n")
            status, _ = run([compiler, "-E", *self.asio_flags(), probe, "-o", os.devnull], 60, False)
            self.asio[compiler] = status == 0
        return self.asio[compiler]

    def asio_flags(self):
        return [f"-isystem{d}" for d in self.args.asio_include]

    def check(self, block, workdir):
        """Returns ("PASS" | "FAIL" | "SKIP", detail)."""
        a = self.args
        if block.error:
            return "FAIL", block.error
        is_cxx = block.lang == "c++"
        compiler = a.cxx if is_cxx else a.cc
        if shutil.which(compiler) is None:
            return "FAIL", f"compiler '{compiler}' not found"
        stem = os.path.join(workdir, f"readme_{block.fence_line}")
        src = stem + (".cpp" if is_cxx else ".c")
        with open(src, "w", encoding="utf-8") as f:
            f.write(source_of(block, a.readme))
        cmd = [compiler, *(CXX_FLAGS if is_cxx else C_FLAGS)]
        cmd += [f"-I{d}" for d in a.include]
        static = a.library.endswith(".a")
        if static:
            cmd.append("-DEXITLEFT_STATIC_DEFINE")
        if "asio" in block.needs:
            if not self.has_asio(compiler, workdir):
                return "SKIP", "needs asio: <asio.hpp> not found (Debian: libasio-dev)"
            cmd += self.asio_flags()
            if self.is_clang(compiler):
                # asio 1.22 looks for <experimental/coroutine> under clang (as tests/ notes).
                cmd += ["-DASIO_HAS_CO_AWAIT=1", "-DASIO_HAS_STD_COROUTINE=1"]
        cmd += [src, a.library, "-o", stem]
        if static:
            if not is_cxx:
                cmd.append("-lstdc++")
        else:
            cmd.append("-Wl,-rpath," + os.path.dirname(os.path.abspath(a.library)))
        status, out = run(cmd, a.compile_timeout, a.verbose)
        if status != 0:
            why = "timed out" if status is None else f"exit status {status}"
            return "FAIL", f"does not compile ({why}):\n{shown(out)}"
        if block.compile_only:
            return "PASS", "compiled and linked (compile-only)"
        status, out = run([stem], a.timeout, a.verbose, cwd=workdir)
        if status is None:
            return "FAIL", f"ran for more than {a.timeout:g} s (killed):\n{shown(out)}"
        if status != 0:
            how = f"signal {-status}" if status < 0 else f"exit status {status}"
            return "FAIL", f"compiled, then ended with {how}:\n{shown(out)}"
        return "PASS", "compiled, linked and ran"


def parse_args(argv):
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--readme", metavar="PATH", default=os.path.join(repo, "README.md"))
    p.add_argument("--build-dir", metavar="DIR")
    p.add_argument("--library", metavar="LIB")
    p.add_argument("--include", metavar="DIR", action="append", default=[])
    p.add_argument("--cxx", metavar="COMPILER", default=os.environ.get("CXX") or "c++")
    p.add_argument("--cc", metavar="COMPILER", default=os.environ.get("CC") or "cc")
    p.add_argument("--asio-include", metavar="DIR", action="append", default=[])
    p.add_argument("--timeout", metavar="SECONDS", type=float, default=20, help="seconds a program may run (20)")
    p.add_argument("--compile-timeout", metavar="SECONDS", type=float, default=300, help="seconds a compilation may take (300)")
    p.add_argument("--keep", metavar="DIR", help="write the sources and programs here, and keep them")
    p.add_argument("--verbose", action="store_true", help="print the commands")
    a = p.parse_args(argv)
    a.include.insert(0, os.path.join(repo, "include"))
    if a.build_dir:
        a.include.append(os.path.join(a.build_dir, "include"))
        if not a.library:
            for name in ("libexitleft.so", "libexitleft.a"):
                if os.path.exists(os.path.join(a.build_dir, name)):
                    a.library = os.path.join(a.build_dir, name)
                    break
    if not a.library:
        p.error("name the library: --library LIB or --build-dir DIR")
    if not os.path.exists(a.library):
        p.error(f"library not found: {a.library} (build exitleft_shared or exitleft_static)")
    if not os.path.exists(a.readme):
        p.error(f"README not found: {a.readme}")
    return a


def main(argv):
    args = parse_args(argv)
    blocks, errors = parse_readme(args.readme)
    for e in errors:
        print(f"FAIL  {e}")
    if not blocks:
        print(f"FAIL  {args.readme}: no ```cpp or ```c blocks found")
        return 1
    checker = Checker(args)
    counts = {"PASS": 0, "FAIL": len(errors), "SKIP": 0}
    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
        workdir_context = None
        workdir = args.keep
    else:
        workdir_context = tempfile.TemporaryDirectory(prefix="readme-examples-")
        workdir = workdir_context.name
    try:
        for block in blocks:
            verdict, detail = checker.check(block, workdir)
            counts[verdict] += 1
            label = "C++" if block.lang == "c++" else "C"
            first, _, rest = detail.partition("\n")
            print(f"{verdict}  {args.readme}:{block.fence_line}  {label:<3}  {first}", flush=True)
            if rest:
                print(rest, flush=True)
    finally:
        if workdir_context:
            workdir_context.cleanup()
    print(f"readme examples: {counts['PASS']} passed, {counts['FAIL']} failed, "
          f"{counts['SKIP']} skipped")
    return 1 if counts["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
