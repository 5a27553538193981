"""Wrap code lines over 120 characters in the notebooks' exported cells, changing no program: every rewrite is checked
to parse to the same AST (comments aside) before it is written.

    python tools/wrap_lines.py nbs/*.ipynb        # rewrite in place, print what is left to wrap by hand
    python tools/wrap_lines.py --check nbs/*.ipynb  # only list the long lines; exit 1 if there are any

Three safe rewrites, tried in order on each long line: move a trailing comment onto its own line above (not in a
`def` signature, where the comment documents a parameter); break after a comma inside brackets, aligning the rest
under the bracket; split a string literal inside brackets at a space, into two adjacent literals."""
from __future__ import annotations
import ast, io, json, sys, tokenize

WIDTH = 120

def _tokens(src:str):
    return list(tokenize.generate_tokens(io.StringIO(src).readline))

def _same(a:str, b:str)->bool:
    try: return ast.dump(ast.parse(a)) == ast.dump(ast.parse(b))
    except SyntaxError: return False

def _open_brackets(toks, line:int, col:int)->list:
    "The brackets open at (`line`, `col`), as their tokens."
    stack = []
    for t in toks:
        if (t.start[0], t.start[1]) >= (line, col): break
        if t.type == tokenize.OP and t.string in "([{": stack.append(t)
        elif t.type == tokenize.OP and t.string in ")]}" and stack: stack.pop()
    return stack

def _in_signature(toks, line:int)->bool:
    "Whether `line` lies between a `def` and the colon that ends its signature."
    depth, in_def = 0, False
    for t in toks:
        if t.start[0] > line: break
        if t.type == tokenize.NAME and t.string == "def" and depth == 0: in_def = True
        elif t.type == tokenize.OP and t.string in "([{": depth += 1
        elif t.type == tokenize.OP and t.string in ")]}": depth -= 1
        elif in_def and t.type == tokenize.OP and t.string == ":" and depth == 0:
            if t.start[0] < line: in_def = False
    return in_def

def _move_comment(src:str, toks, ln:int)->str|None:
    lines = src.split("\n")
    line = lines[ln - 1]
    com = [t for t in toks if t.type == tokenize.COMMENT and t.start[0] == ln]
    if not com or _in_signature(toks, ln): return None
    code = line[:com[0].start[1]].rstrip()
    if not code.strip() or len(code) > WIDTH: return None
    indent = len(line) - len(line.lstrip())
    if _open_brackets(toks, ln, 0): return None   # a comment inside brackets stays put: it annotates an item
    lines[ln - 1: ln] = [" " * indent + com[0].string, code]
    return "\n".join(lines)

def _break_comma(src:str, toks, ln:int)->str|None:
    lines = src.split("\n")
    line = lines[ln - 1]
    commas = [t for t in toks if t.type == tokenize.OP and t.string == "," and t.start[0] == ln
              and t.start[1] + 1 <= WIDTH and line[t.start[1] + 1:].strip() and not line[t.start[1] + 1:].lstrip().startswith("#")]
    for c in reversed(commas):
        stack = _open_brackets(toks, ln, c.start[1])
        if not stack: continue
        col = stack[-1].start[1] + 1 if stack[-1].start[0] == ln else None
        if col is None:   # the bracket opened on an earlier line: keep the continuation's own indent
            col = len(line) - len(line.lstrip())
        rest = line[c.start[1] + 1:].lstrip()
        if col + len(rest) > WIDTH and len(rest) > WIDTH - col - 20 and c is not commas[0]: continue
        lines[ln - 1: ln] = [line[:c.start[1] + 1].rstrip(), " " * col + rest]
        return "\n".join(lines)
    return None

def _split_point(body:str, limit:int, is_f:bool)->int|None:
    "Index just after the last space before `limit` in a string body, outside f-string braces."
    depth, best, i = 0, None, 0
    while i < len(body) and i < limit:
        ch = body[i]
        if is_f and ch in "{}" and body[i:i + 2] in ("{{", "}}"): i += 2; continue
        if is_f and ch == "{": depth += 1
        elif is_f and ch == "}": depth -= 1
        elif ch == " " and depth == 0 and i > 10 and body[i - 1] != "\\": best = i + 1
        i += 1
    return best

def _split_string(src:str, toks, ln:int)->str|None:
    lines = src.split("\n")
    line = lines[ln - 1]
    for t in toks:
        if t.type != tokenize.STRING or t.start[0] != ln or t.end[0] != ln or t.end[1] <= WIDTH: continue
        s = t.string
        q = 0
        while s[q] not in "'\"": q += 1
        prefix, quote = s[:q], s[q]
        if s[q:q + 3] in ('"""', "'''"): continue
        stack = _open_brackets(toks, ln, t.start[1])
        if not stack: continue
        col = t.start[1]   # the second literal goes under the first
        body = s[q + 1:-1]
        cut = _split_point(body, WIDTH - t.start[1] - q - 2, "f" in prefix.lower())
        if cut is None: continue
        first, second = f"{prefix}{quote}{body[:cut]}{quote}", f"{prefix}{quote}{body[cut:]}{quote}"
        bare = prefix.replace("f", "").replace("F", "")   # a part with no braces needs no f prefix
        if "{" not in body[:cut] and "}" not in body[:cut]: first = f"{bare}{quote}{body[:cut]}{quote}"
        if "{" not in body[cut:] and "}" not in body[cut:]: second = f"{bare}{quote}{body[cut:]}{quote}"
        lines[ln - 1: ln] = [line[:t.start[1]] + first, " " * col + second + line[t.end[1]:]]
        return "\n".join(lines)
    return None

def wrap_source(src:str)->tuple[str, list[str]]:
    "`src` with long lines wrapped where it is safe, and the long lines left."
    for _ in range(500):
        long = [i + 1 for i, l in enumerate(src.split("\n")) if len(l) > WIDTH]
        if not long: break
        toks = _tokens(src)
        for ln in long:
            for rewrite in (_move_comment, _break_comma, _split_string):
                new = rewrite(src, toks, ln)
                if new is not None and _same(src, new): src = new; break
            else: continue
            break
        else: break
    return src, [l for l in src.split("\n") if len(l) > WIDTH]

def _exported(cell)->bool:
    src = "".join(cell["source"])
    return cell["cell_type"] == "code" and any(l.strip().replace(" ", "") in ("#|export", "#|exports") for l in src.split("\n")[:3])

def main(argv:list[str])->int:
    check = "--check" in argv
    left = 0
    for path in (a for a in argv if a != "--check"):
        nb = json.load(open(path))
        changed = False
        for cell in nb["cells"]:
            if not _exported(cell): continue
            src = "".join(cell["source"])
            new, long = (src, [l for l in src.split("\n") if len(l) > WIDTH]) if check else wrap_source(src)
            for l in long: print(f"{path}: {len(l)}: {l.strip()[:100]}")
            left += len(long)
            if new != src:
                cell["source"] = [l + "\n" for l in new.split("\n")[:-1]] + [new.split("\n")[-1]]
                changed = True
        if changed:
            with open(path, "w") as f: f.write(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    print(f"{left} exported lines over {WIDTH} characters")
    return 1 if check and left else 0

if __name__ == "__main__": sys.exit(main(sys.argv[1:]))
