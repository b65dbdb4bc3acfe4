#!/usr/bin/env python3
"""Finds import circles between the Rust files of each crate of the workspace.

A file depends on another when one of its `use crate::…` / `use super::…` / `crate::a::b::`
paths names a module that the other file defines (the longest module path that exists wins).
`mod x;` declarations and `use super::*` inside `#[cfg(test)] mod tests` are not dependencies.
Prints each circle it finds and exits 1 when there is one; 0 (and a count of files checked)
otherwise. Usage: python3 .ci/import_cycles.py [ROOT]
"""

import os
import re
import sys

root = sys.argv[1] if len(sys.argv) > 1 else "."
PATH = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")
USE_GROUP = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)*)::\{([^;]*)\}", re.S)


def crates(top):
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = [d for d in dirnames if d not in ("target", ".git", "node_modules", "fuzz")]
        if "Cargo.toml" in filenames and os.path.isdir(os.path.join(dirpath, "src")):
            yield os.path.join(dirpath, "src")


def module_of(src, path):
    rel = os.path.relpath(path, src)[:-3].split(os.sep)
    if rel[-1] in ("lib", "main", "mod"):
        rel = rel[:-1]
    return tuple(rel)


def strip_tests(text):
    # Drop `#[cfg(test)] mod tests { … }` blocks: their `use super::*` is no dependency.
    out, i = [], 0
    for m in re.finditer(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{", text):
        if m.start() < i:
            continue
        out.append(text[i:m.start()])
        depth, j = 1, m.end()
        while j < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        i = j
    out.append(text[i:])
    return "".join(out)


def strip_comments(text):
    text = re.sub(r"//[^\n]*", "", text)
    return re.sub(r"/\*.*?\*/", "", text, flags=re.S)


def check(src):
    files = {}
    for dirpath, _, filenames in os.walk(src):
        for f in filenames:
            if f.endswith(".rs"):
                p = os.path.join(dirpath, f)
                files[module_of(src, p)] = p
    edges = {m: set() for m in files}

    def resolve(base, names):
        # The longest prefix of `names` below `base` that is a file's module.
        best = None
        for n in range(len(names), -1, -1):
            cand = tuple(base) + tuple(names[:n])
            if cand in files:
                best = cand
                break
        return best

    for mod, path in files.items():
        text = strip_comments(strip_tests(open(path, encoding="utf-8").read()))
        is_dir_module = os.path.basename(path) in ("lib.rs", "main.rs", "mod.rs")
        here = list(mod) if is_dir_module else list(mod[:-1])  # the module `self` refers to
        refs = []
        for m in USE_GROUP.finditer(text):
            kind, prefix, group = m.group(1), m.group(2), m.group(3)
            for item in re.split(r",", group):
                item = item.strip().split(" as ")[0]
                if not item:
                    continue
                refs.append((kind, [p for p in (prefix + "::" + item.replace("{", "").replace("}", "")).split("::") if p]))
        for m in PATH.finditer(text):
            refs.append((m.group(1), [p for p in m.group(2).split("::") if p]))
        for kind, names in refs:
            if kind == "crate":
                base = []
            elif kind == "self":
                base = list(mod) if is_dir_module else list(mod)
                base = list(mod)
            else:  # super
                base = list(mod[:-1])
                while names and names[0] == "super":
                    base, names = base[:-1], names[1:]
            target = resolve(base, names)
            if target is not None and target != mod and not (target == () and mod != ()):
                # The crate root re-exports everything: depending on it is no circle.
                edges[mod].add(target)
            elif target == () and mod != ():
                pass
    # Tarjan's strongly connected components.
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(comp)

    sys.setrecursionlimit(10000)
    for v in list(edges):
        if v not in index:
            visit(v)
    return files, out


total, bad = 0, 0
for src in sorted(crates(root)):
    files, circles = check(src)
    total += len(files)
    for comp in circles:
        bad += 1
        names = sorted(files[m] for m in comp)
        print("import circle: " + " <-> ".join(os.path.relpath(n, root) for n in names))
print(f"import circles: {bad} among {total} files")
sys.exit(1 if bad else 0)
