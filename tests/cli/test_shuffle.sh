#!/usr/bin/env bash
# test_shuffle.sh — `seqlift shuffle`: every output record has exactly its input record's
# dinucleotide (and, with -k 3, trinucleotide) counts, N mask and length, checked by an
# independent awk script; names, determinism, seeds, usage and errors.
set -euo pipefail
SEQLIFT=${SEQLIFT:-build/seqlift}
T=${SEQLIFT_TMP:-build/test_tmp}/cli_shuffle
rm -rf "$T"; mkdir -p "$T"
fail() { echo "FAIL: $*" >&2; exit 1; }

# random input: 30 records of 1..400 bp (mixed case, N runs, an IUPAC code), wrapped at 60
awk -v seed=7 'BEGIN {
    srand(seed); split("A C G T a c g t", B, " ")
    for (r = 1; r <= 30; r++) {
        len = (r == 1) ? 2 : 1 + int(rand() * 400); s = ""
        for (i = 0; i < len; i++) {
            u = rand()
            if (u < 0.01) s = s "NNN"; else if (u < 0.012) s = s "R"; else s = s B[1 + int(rand() * 8)]
        }
        s = substr(s, 1, len); if (len < 2) s = "AC"
        print ">rec" r " description " r
        for (i = 1; i <= length(s); i += 60) print substr(s, i, 60)
    }
}' > "$T/in.fa"

# K-mer multiset of every record (after upper-casing), one line per record: name, length,
# N/IUPAC mask, sorted k-mer counts. Shuffles are matched to their source by name.
kmer_table() { # k file
    awk -v k="$1" '
    function flush() {
        if (name == "") return
        seq = toupper(seq); mask = seq; gsub(/[ACGT]/, ".", mask)
        delete c; keys = ""
        for (i = 1; i + k - 1 <= length(seq); i++) c[substr(seq, i, k)]++
        n = 0; for (x in c) arr[++n] = x " " c[x]
        # insertion sort: awk portable
        for (i = 2; i <= n; i++) { v = arr[i]; j = i - 1; while (j > 0 && arr[j] > v) { arr[j + 1] = arr[j]; j-- } arr[j + 1] = v }
        for (i = 1; i <= n; i++) keys = keys ";" arr[i]
        print name "\t" length(seq) "\t" mask "\t" keys
    }
    /^>/ { flush(); name = substr($1, 2); sub(/_shuf[0-9]+$/, "", name); seq = ""; next }
    { seq = seq $0 }
    END { flush() }' "$2"
}

"$SEQLIFT" shuffle -n 5 "$T/in.fa" > "$T/out2.fa"
[ "$(grep -c '^>' "$T/out2.fa")" -eq 150 ] || fail "expected 30 x 5 records"
grep '^>' "$T/out2.fa" | head -6 | tr '\n' ' ' | grep -q '^>rec1_shuf0 >rec1_shuf1 >rec1_shuf2 >rec1_shuf3 >rec1_shuf4 >rec2_shuf0 ' \
    || fail "record names are not <record>_shuf<i>"
grep -v '^>' "$T/out2.fa" | grep -q '[^ACGTNR]' && fail "output is not uppercase ACGT/N/IUPAC"

for k in 2 3; do
    if [ "$k" = 3 ]; then
        # a 2 bp record cannot be trinucleotide-shuffled: drop it for k=3
        awk '/^>/{keep = ($1 != ">rec1")} keep' "$T/in.fa" > "$T/in3.fa"; in="$T/in3.fa"
        "$SEQLIFT" shuffle -k 3 -n 4 --seed 11 "$in" > "$T/out3.fa"; out="$T/out3.fa"; n=4
    else
        in="$T/in.fa"; out="$T/out2.fa"; n=5
    fi
    kmer_table "$k" "$in" > "$T/want$k.tsv"
    kmer_table "$k" "$out" > "$T/got$k.tsv"
    # every shuffle line must equal its source record's line
    awk -F'\t' -v n="$n" 'NR == FNR { want[$1] = $0; next }
        { if (!($1 in want)) { print "unknown record " $1; bad = 1; next }
          if ($0 != want[$1]) { print "k-mer counts/mask differ for " $1; bad = 1 }
          seen[$1]++ }
        END { for (r in want) if (seen[r] != n) { print r " has " seen[r] " shuffles"; bad = 1 }
              exit bad }' "$T/want$k.tsv" "$T/got$k.tsv" || fail "k=$k counts check"
done

# the shuffles really shuffle: long records differ from their input
changed=$(awk 'NR == FNR { if (/^>/) nm = substr($1, 2); else src[nm] = src[nm] toupper($0); next }
               /^>/ { nm = substr($1, 2); sub(/_shuf[0-9]+$/, "", nm); next }
               length($0) > 50 { long++; if ($0 != src[nm]) c++ }
               END { print (c == long && long >= 100) ? "yes" : "no " c "/" long }' "$T/in.fa" "$T/out2.fa")
[ "$changed" = yes ] || fail "long shuffles identical to their input: $changed"

# determinism; another seed gives other shuffles; -o writes the same bytes
"$SEQLIFT" shuffle -n 5 "$T/in.fa" | cmp -s - "$T/out2.fa" || fail "not deterministic"
"$SEQLIFT" shuffle -n 5 --seed 1 -o "$T/out2b.fa" "$T/in.fa"
cmp -s "$T/out2b.fa" "$T/out2.fa" || fail "default seed is not 1, or -o differs"
"$SEQLIFT" shuffle -n 5 --seed 2 "$T/in.fa" | cmp -s - "$T/out2.fa" && fail "--seed has no effect"
# a record's shuffles do not depend on the records after it
awk '/^>/{n++} n <= 3' "$T/in.fa" > "$T/first3.fa"
"$SEQLIFT" shuffle -n 5 "$T/first3.fa" | cmp -s - <(head -n 30 "$T/out2.fa") || fail "shuffles depend on later records"
# k=1 keeps the composition (checked above for k=2,3 through the k-mer table)
"$SEQLIFT" shuffle -k 1 -n 2 "$T/in.fa" > "$T/out1.fa"
kmer_table 1 "$T/in.fa" > "$T/want1.tsv"; kmer_table 1 "$T/out1.fa" | awk '!seen[$1]++' > "$T/got1.tsv"
cmp -s "$T/want1.tsv" "$T/got1.tsv" || fail "k=1 composition"

# usage and errors
"$SEQLIFT" shuffle --help | grep 'Usage: seqlift shuffle' >/dev/null || fail "--help"
set +e
"$SEQLIFT" shuffle > /dev/null 2>&1; [ $? -eq 2 ] || fail "no args must exit 2"
"$SEQLIFT" shuffle --bogus "$T/in.fa" > /dev/null 2>&1; [ $? -eq 2 ] || fail "bad option must exit 2"
"$SEQLIFT" shuffle -k 0 "$T/in.fa" > /dev/null 2>&1; [ $? -eq 2 ] || fail "-k 0 must exit 2"
"$SEQLIFT" shuffle -n 0 "$T/in.fa" > /dev/null 2>&1; [ $? -eq 2 ] || fail "-n 0 must exit 2"
"$SEQLIFT" shuffle "$T/missing.fa" > /dev/null 2> "$T/err"; [ $? -eq 1 ] || fail "missing file must exit 1"
[ "$(wc -l < "$T/err")" -eq 1 ] && grep -q 'missing.fa' "$T/err" || fail "missing file: one line naming it"
"$SEQLIFT" shuffle -k 3 -o "$T/never.fa" "$T/in.fa" > /dev/null 2> "$T/err"; [ $? -eq 1 ] || fail "2 bp record with -k 3 must exit 1"
grep -q "rec1" "$T/err" && grep -q 'k=3' "$T/err" || fail "short record error must name the record and k"
[ -e "$T/never.fa" ] && fail "failed run left an output file"
ls "$T" | grep -q 'never.fa.tmp' && fail "failed run left a temporary file"
set -e
echo "ok"
