#!/usr/bin/env bash
# Check the manual pages (man/man3/*.3, man/man7/asyncsync.7) against the
# public header, so they cannot drift from the API (issue 15):
#
#   1. every public function of include/asyncsync.h (an as_* function
#      declared at file scope, possibly over several lines) has a page
#      man/man3/<function>.3: its own, or a `.so man3/<page>.3' link to a
#      page that documents it too;
#   2. that page's SYNOPSIS declares the function exactly as the header does
#      (after normalising white space), and its NAME line names it;
#   3. every page of man3 is named after a public function (no stale page),
#      has a .TH naming it and the sections NAME, SYNOPSIS, DESCRIPTION,
#      RETURN VALUE, ERRORS, NOTES and SEE ALSO in that order, declares
#      nothing the header does not; every as_*(3) a page refers to has a
#      page; the SEE ALSO of asyncsync.7 lists every function;
#   4. man -l (man-db, with --warnings) and groff -ww render every page
#      without a warning, no rendered line wider than 80 columns.
#
#   tests/docs/manpages.sh <source dir>
#
# The list of functions comes from the header it is given, nothing else: a
# branch that adds functions adds their pages.  Exit 0 when everything
# holds, 1 otherwise, 77 (skipped) when 1-3 hold but neither man nor groff
# is installed to render (Debian: man-db, groff-base; scripts/deps installs
# them).  Needs bash, awk (mawk is enough), sed, grep and wc.
set -euo pipefail

src=$(cd "${1:?source dir}" && pwd)
header=$src/include/asyncsync.h
mandir=$src/man

tmp=$(mktemp -d "${TMPDIR:-/tmp}/asyncsync-man.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# Normalise a declaration: one space for any run of white space, none inside
# parentheses or before a comma, no trailing semicolon.  fname: the as_*
# function a declaration declares ("" if none: its declarator must be the
# function itself, the name right before the first parenthesis).
norm_awk='
function norm(s) {
    gsub(/[ \t\r\n]+/, " ", s)
    gsub(/ *\( */, "(", s); gsub(/ *\)/, ")", s)
    gsub(/ *, */, ", ", s)
    sub(/^ /, "", s); sub(/ *;? *$/, "", s)
    return s
}
function fname(s,   f) {
    if (!match(s, /as_[a-z0-9][a-z0-9_]*\(/)) return ""
    f = substr(s, RSTART, RLENGTH - 1)
    return (RSTART + RLENGTH - 1 == index(s, "(")) ? f : ""
}'

# ---- the header's public functions: "name<TAB>declaration" -------------------
awk "$norm_awk"'
{
    line = $0; out = ""
    while (line != "") {                          # comments, across lines
        if (incomment) {
            p = index(line, "*/")
            if (!p) { line = ""; break }
            line = substr(line, p + 2); incomment = 0; out = out " "
            continue
        }
        p = index(line, "/*"); q = index(line, "//")
        if (q && (!p || q < p)) { out = out substr(line, 1, q - 1); break }
        if (!p) { out = out line; break }
        out = out substr(line, 1, p - 1); line = substr(line, p + 2); incomment = 1
    }
    if (cont || out ~ /^[ \t]*#/) {               # preprocessor, continued lines
        cont = (out ~ /\\[ \t]*$/)
        next
    }
    text = text out "\n"
}
END {
    n = length(text)
    for (i = 1; i <= n; i++) {
        c = substr(text, i, 1)
        if (c == "{") {
            if (depth == 0 && buf ~ /extern[ \t\n]*"C"[ \t\n]*$/) { buf = ""; continue }
            depth++; buf = ""
        } else if (c == "}") {
            if (depth > 0) depth--
            buf = ""
        } else if (c == ";" && depth == 0) {
            s = norm(buf); buf = ""
            if (s !~ /^typedef / && (f = fname(s)) != "")
                print f "\t" s
        } else if (depth == 0) {
            buf = buf c
        }
    }
}' "$header" >"$tmp/header"

nfun=$(wc -l <"$tmp/header")
if [ "$nfun" -eq 0 ]; then
    echo "manpages: no public function found in $header" >&2
    exit 1
fi

# ---- 1-3: one pass over the header's list and every page ---------------------
shopt -s nullglob
pages3=("$mandir"/man3/*.3)
pages7=("$mandir"/man7/*.7)
shopt -u nullglob
npages=${#pages3[@]}

# Roff font macros are joined as they render: .B and .I join their arguments
# with spaces, the alternating ones (.BI, .IB, .BR, .RB, .IR, .RI) with none.
awk -v mandir="$mandir" "$norm_awk"'
function bad(msg) { print "manpages: " msg > "/dev/stderr"; failed = 1 }
function unesc(s) {
    gsub(/\\f\[[^]]*\]/, "", s); gsub(/\\f\(../, "", s); gsub(/\\f./, "", s)
    gsub(/\\&/, "", s); gsub(/\\-/, "-", s); gsub(/\\e/, "\\", s)
    gsub(/\\ /, " ", s)
    return s
}
function args(s, sep,   out, a, n, p) {
    out = ""; n = 0
    for (;;) {
        sub(/^[ \t]+/, "", s)
        if (s == "") break
        if (substr(s, 1, 1) == "\"") {
            s = substr(s, 2); p = index(s, "\"")
            if (!p) p = length(s) + 1
            a = substr(s, 1, p - 1); s = substr(s, p + 1)
        } else {
            match(s, /^[^ \t]+/); a = substr(s, 1, RLENGTH); s = substr(s, RLENGTH + 1)
        }
        out = out (n++ ? sep : "") a
    }
    return out
}
function rel(f) { return substr(f, length(mandir) + 2) }
# What was gathered for the page just read.
function finish_page(   n, i, s, f, k, part) {
    if (page == "") return
    pages[page] = 1
    if (so[page] != "") return
    n = split(syn, part, ";")
    for (i = 1; i <= n; i++) {
        s = norm(part[i])
        if ((f = fname(s)) != "") decl[page, f] = s
        if (f != "") decls[page] = decls[page] " " f
    }
}
FNR == 1 {
    finish_page()
    page = rel(FILENAME); base = FILENAME; sub(/.*\//, "", base)
    sect = base; sub(/.*\./, "", sect); sub(/\.[^.]*$/, "", base)
    pbase[page] = base; psect[page] = sect
    where = ""; syn = ""; seen_sections = ""
    if (FILENAME == headerfile) page = ""
}
FILENAME == headerfile { split($0, h, "\t"); H[h[1]] = h[2]; order[++nh] = h[1]; next }
FNR == 1 && /^\.so[ \t]/ { so[page] = $2; next }
so[page] != "" { next }
/^\.TH[ \t]/ { th[page] = $2 " " $3; next }
/^\.SH[ \t]/ {
    s = $0; sub(/^\.SH[ \t]+/, "", s); gsub(/"/, "", s); sub(/[ \t]+$/, "", s)
    where = s
    if (s ~ /^(NAME|SYNOPSIS|DESCRIPTION|RETURN VALUE|ERRORS|NOTES|SEE ALSO)$/)
        sections[page] = sections[page] (sections[page] == "" ? "" : "|") s
    next
}
where == "NAME" && !/^\./ && names[page] == "" {
    s = $0; sub(/[ \t]*\\-.*/, "", s); gsub(/[ ,]+/, " ", s)
    names[page] = " " s " "
}
where == "SYNOPSIS" {
    t = ""
    if ($0 ~ /^\.(B|I)[ \t]/) t = unesc(args(substr($0, 3), " "))
    else if ($0 ~ /^\.(BI|IB|BR|RB|IR|RI)[ \t]/) t = unesc(args(substr($0, 4), ""))
    else if ($0 !~ /^\./) t = unesc($0)
    if (t ~ /^[ \t]*#/) t = ""
    syn = syn " " t
}
where == "SEE ALSO" && /^\.BR[ \t]+as_[a-z0-9_]+[ \t]+\(3\)/ { seealso[page, $2] = 1 }
{
    # cross-references: .BR as_x (3) and \fBas_x\fR(3)
    s = $0
    if (s ~ /^\.BR[ \t]+as_[a-z0-9_]+[ \t]+\(3\)/) refs[page] = refs[page] " " $2
    while (match(s, /\\fBas_[a-z0-9_]+\\f[RP]\(3\)/)) {
        ref = substr(s, RSTART + 3, RLENGTH - 9)
        refs[page] = refs[page] " " ref
        s = substr(s, RSTART + RLENGTH)
    }
}
END {
    finish_page()
    want = "NAME|SYNOPSIS|DESCRIPTION|RETURN VALUE|ERRORS|NOTES|SEE ALSO"
    # 1, 2: each function
    for (i = 1; i <= nh; i++) {
        f = order[i]; p = "man3/" f ".3"
        if (!(p in pages)) { bad(f ": no page man/" p); continue }
        if (so[p] != "") {
            t = so[p]
            if (!(t in pages)) { bad(f ": " p " links to a missing page " t); continue }
            if (so[t] != "") { bad(f ": " p " links to a link (" t ")"); continue }
            p = t
        }
        if (index(names[p], " " f " ") == 0) bad(f ": the NAME line of " p " does not name it")
        if (!((p, f) in decl)) bad(f ": the SYNOPSIS of " p " does not declare it")
        else if (decl[p, f] != H[f]) {
            bad(f ": the SYNOPSIS of " p " differs from the header")
            print "    header: " H[f] > "/dev/stderr"
            print "    page:   " decl[p, f] > "/dev/stderr"
        }
    }
    # 3: each page
    for (p in pages) {
        if (psect[p] == "3" && !(pbase[p] in H))
            bad(p ": no public function " pbase[p] " in the header (stale page?)")
        n = split(refs[p], r, " ")
        for (k = 1; k <= n; k++)
            if (!(("man3/" r[k] ".3") in pages)) bad(p ": refers to " r[k] "(3), which has no page")
        if (so[p] != "" || psect[p] != "3") continue
        if (th[p] != pbase[p] " 3") bad(p ": its .TH names \"" th[p] "\", want \"" pbase[p] " 3\"")
        if (sections[p] != want) bad(p ": sections are \"" sections[p] "\", want \"" want "\"")
        n = split(names[p], r, " ")
        for (k = 1; k <= n; k++)
            if (!((p, r[k]) in decl)) bad(p ": NAME names " r[k] ", its SYNOPSIS does not declare it")
        n = split(decls[p], r, " ")
        for (k = 1; k <= n; k++)
            if (!(r[k] in H)) bad(p ": its SYNOPSIS declares " r[k] ", which the header does not")
    }
    ov = "man7/asyncsync.7"
    if (!(ov in pages)) bad("no overview page man/" ov)
    else for (i = 1; i <= nh; i++)
        if (!((ov, order[i]) in seealso)) bad(ov ": SEE ALSO does not list " order[i] "(3)")
    exit failed
}' headerfile="$tmp/header" "$tmp/header" "${pages3[@]}" "${pages7[@]}" || {
    echo "manpages: FAILED ($nfun functions, $npages pages)" >&2
    exit 1
}

# ---- 4: render ------------------------------------------------------------------
have_man=0 have_groff=0
command -v man >/dev/null 2>&1 && have_man=1
command -v groff >/dev/null 2>&1 && have_groff=1
if [ "$have_man" = 0 ] && [ "$have_groff" = 0 ]; then
    echo "manpages: $nfun functions, $npages pages: pages and synopses ok;" \
        "rendering skipped (no man or groff: install man-db and groff-base)"
    exit 77
fi

failed=0
rendered=0
cd "$mandir" # .so links name pages relative to the manual's root
for page in "${pages3[@]#"$mandir"/}" "${pages7[@]#"$mandir"/}"; do
    if [ "$have_man" = 1 ]; then
        if ! env -u MAN_KEEP_FORMATTING -u MANROFFOPT LC_ALL=C.UTF-8 MANWIDTH=80 \
            man --warnings -E UTF-8 -l "$page" >"$tmp/out" 2>"$tmp/err" ||
            [ -s "$tmp/err" ]; then
            echo "manpages: $page: man -l warns:" >&2
            sed 's/^/    /' "$tmp/err" >&2
            failed=1
        fi
        width=$(LC_ALL=C.UTF-8 wc -L <"$tmp/out")
        if [ "$width" -gt 80 ]; then
            echo "manpages: $page: a rendered line is $width columns wide (80 at most):" >&2
            LC_ALL=C.UTF-8 awk 'length > 80' "$tmp/out" | sed 's/^/    /' >&2
            failed=1
        fi
    fi
    if [ "$have_groff" = 1 ]; then
        if ! groff -man -Tutf8 -ww -z "$page" 2>"$tmp/err" || [ -s "$tmp/err" ]; then
            echo "manpages: $page: groff -ww warns:" >&2
            sed 's/^/    /' "$tmp/err" >&2
            failed=1
        fi
    fi
    rendered=$((rendered + 1))
done

if [ "$failed" != 0 ]; then
    echo "manpages: FAILED ($nfun functions, $npages pages)" >&2
    exit 1
fi
renderers=""
[ "$have_man" = 1 ] && renderers="man -l"
[ "$have_groff" = 1 ] && renderers="${renderers:+$renderers and }groff -ww"
echo "manpages: $nfun functions, $npages pages in man3: every function has a page" \
    "whose synopsis matches the header; $rendered pages rendered by $renderers" \
    "without a warning"
