#!/usr/bin/env bash
# End-to-end test of `seqlift extract` against bedtools getfasta -s and samtools faidx.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" extract

# Resized BED from our own headers (chrom:start-end(strand)), for bedtools.
headers_to_bed() { grep '>' "$1" | sed -E 's/^>(.*):(-?[0-9]+)-([0-9]+)\((.)\)$/\1\t\2\t\3\tr\t0\t\4/'; }

# 1. width 100, regions off the ends skipped: byte-identical to bedtools getfasta -s.
"$SEQLIFT" extract -f "$D/genome.fa" -b "$D/regions.bed" -w 100 --edge skip -o "$T/a.fa" 2>"$T/skip.err" \
    || fail "extract --edge skip failed: $(cat "$T/skip.err")"
headers_to_bed "$T/a.fa" >"$T/a.bed"
# the expected windows, computed independently from the input BED (midpoint rule)
awk -F'\t' 'FNR==NR {len[$1]=$2; next}
    NF>=3 && $1 !~ /^(track|browser|#)/ {c=$2+int(($3-$2)/2); s=c-50;
    if (s>=0 && s+100<=len[$1]) print $1"\t"s"\t"s+100"\tr\t0\t"$6}' \
    "$D/genome.fa.fai" "$D/regions.bed" >"$T/want.bed"
cmp -s "$T/a.bed" "$T/want.bed" && ok "resized windows" || fail "resized windows differ: $(diff "$T/a.bed" "$T/want.bed")"
bedtools getfasta -s -fi "$D/genome.fa" -bed "$T/a.bed" >"$T/b.fa" 2>/dev/null
cmp -s "$T/a.fa" "$T/b.fa" && ok "identical to bedtools getfasta -s" || fail "differs from bedtools getfasta -s"
[ "$(grep -c . "$T/skip.err")" = 2 ] && grep -q 'regions.bed:11: .*skipped' "$T/skip.err" \
    && grep -q 'regions.bed:12: .*skipped' "$T/skip.err" && ok "skipped regions reported once with line" \
    || fail "skip report: $(cat "$T/skip.err")"
grep -q '[acgt]' "$T/a.fa" && grep -q 'NNNN' "$T/a.fa" && grep -q '(-)' "$T/a.fa" \
    && ok "test data covers lowercase, N runs, minus strand" || fail "test data coverage"

# 2. bgzip genome and gzip BED give the same bytes.
"$SEQLIFT" extract -f "$D/genome.fa.gz" -b "$D/regions.bed.gz" -w 100 --edge skip 2>/dev/null | cmp -s - "$T/a.fa" \
    && ok "bgzip genome + gzip BED" || fail "bgzip genome / gzip BED output differs"

# 3. Padded windows: samtools faidx (-i for minus strand) of the part on the contig, plus N.
"$SEQLIFT" extract -f "$D/genome.fa" -b "$D/regions.bed" -w 100 -o "$T/pad.fa" 2>/dev/null || fail "pad run"
bad=0
while IFS=$'\t' read -r chrom s e _ _ strand; do
    len=$(awk -v c="$chrom" '$1==c {print $2}' "$D/genome.fa.fai")
    cs=$((s < 0 ? 0 : s)); ce=$((e > len ? len : e))
    left=$(printf 'N%.0s' $(seq 1 $((cs - s))) 2>/dev/null); [ $((cs - s)) = 0 ] && left=
    right=$(printf 'N%.0s' $(seq 1 $((e - ce))) 2>/dev/null); [ $((e - ce)) = 0 ] && right=
    inv=; [ "$strand" = - ] && inv=-i
    mid=$(samtools faidx -n 1000000 $inv "$D/genome.fa" "$chrom:$((cs + 1))-$ce" | tail -n +2)
    want="$left$mid$right"; [ "$strand" = - ] && want="$right$mid$left"
    got=$(grep -A1 -F ">$chrom:$s-$e($strand)" "$T/pad.fa" | sed -n 2p)
    [ "$got" = "$want" ] || { bad=1; echo "  $chrom:$s-$e($strand): got $got want $want" >&2; }
done < <(headers_to_bed "$T/pad.fa")
[ "$(grep -c '>' "$T/pad.fa")" = 16 ] || bad=1
[ $bad = 0 ] && ok "padded windows match samtools faidx + N" || fail "padded windows"

# 4. narrowPeak: centred on the summit (col 10), or the midpoint when it is -1.
"$SEQLIFT" extract -f "$D/genome.fa" -b "$D/peaks.narrowPeak" -w 51 --edge skip -o "$T/np.fa" 2>"$T/np.err" || fail "narrowPeak run"
awk -F'\t' 'FNR==NR {len[$1]=$2; next}
    {c=($10>=0)?$2+$10:$2+int(($3-$2)/2); s=c-25; if (s>=0 && s+51<=len[$1]) print $1"\t"s"\t"s+51"\tr\t0\t"$6}' \
    "$D/genome.fa.fai" "$D/peaks.narrowPeak" >"$T/np_want.bed"
headers_to_bed "$T/np.fa" | cmp -s - "$T/np_want.bed" && ok "narrowPeak summit centring" \
    || fail "narrowPeak windows: $(headers_to_bed "$T/np.fa" | diff - "$T/np_want.bed")"
bedtools getfasta -s -fi "$D/genome.fa" -bed "$T/np_want.bed" 2>/dev/null | cmp -s - "$T/np.fa" \
    && ok "narrowPeak identical to bedtools" || fail "narrowPeak differs from bedtools"

# 5. No width: intervals as given; BED3 (strand '.'); samtools faidx for plus strand.
"$SEQLIFT" extract -f "$D/genome.fa" -b "$D/regions_inside.bed" -o "$T/in.fa" || fail "no-width run"
bedtools getfasta -s -fi "$D/genome.fa" -bed "$D/regions_inside.bed" | cmp -s - "$T/in.fa" \
    && ok "no width: identical to bedtools" || fail "no width differs from bedtools"
[ "$(sed -n 2p "$T/in.fa")" = "$(samtools faidx -n 1000000 "$D/genome.fa" chr1:101-200 | sed -n 2p)" ] \
    && ok "plus strand = samtools faidx" || fail "plus strand vs samtools faidx"
"$SEQLIFT" extract -f "$D/genome.fa" -b "$D/regions3.bed" | sed -n 1p | grep -qx '>chr1:100-200(.)' \
    && ok "BED3 strand '.'" || fail "BED3 header"

# 6. Index built when missing (plain and bgzip), in a writable directory.
cp "$D/genome.fa" "$D/genome.fa.gz" "$T/"
"$SEQLIFT" extract -f "$T/genome.fa" -b "$D/regions.bed" -w 100 --edge skip 2>/dev/null | cmp -s - "$T/a.fa" \
    && [ -s "$T/genome.fa.fai" ] && ok ".fai built" || fail ".fai not built"
"$SEQLIFT" extract -f "$T/genome.fa.gz" -b "$D/regions.bed" -w 100 --edge skip 2>/dev/null | cmp -s - "$T/a.fa" \
    && [ -s "$T/genome.fa.gz.fai" ] && [ -s "$T/genome.fa.gz.gzi" ] && ok ".fai + .gzi built" || fail ".gzi not built"

# Index missing and the directory not writable: one line telling to run samtools faidx.
# (Root ignores permissions, so run as nobody when we are root.)
mkdir -p "$T/ro" && cp "$D/genome.fa" "$T/ro/" && chmod 555 "$T/ro"
asuser=(setpriv --reuid=65534 --regid=65534 --clear-groups)
bin=$(cd "$(dirname "$SEQLIFT")" && pwd)/$(basename "$SEQLIFT")
if [ "$(id -u)" != 0 ]; then
    expect 1 'not writable; run `samtools faidx' -- extract -f "$T/ro/genome.fa" -b "$D/regions3.bed"
elif command -v setpriv >/dev/null && "${asuser[@]}" "$bin" extract --help >/dev/null 2>&1 \
    && "${asuser[@]}" cat "$T/ro/genome.fa" "$D/regions3.bed" >/dev/null 2>&1; then
    "${asuser[@]}" "$bin" extract -f "$T/ro/genome.fa" -b "$D/regions3.bed" >/dev/null 2>"$T/ro.err"
    rc=$?
    [ $rc = 1 ] && [ "$(wc -l <"$T/ro.err")" = 1 ] && grep -q 'not writable; run `samtools faidx' "$T/ro.err" \
        && ok "unwritable index directory" || fail "unwritable index directory: rc=$rc $(cat "$T/ro.err")"
else
    echo "skip: unwritable index directory (cannot drop root privileges here)"
fi
chmod 755 "$T/ro"

# 7. -s mode: every record in order, uppercase, one line each.
printf '>seq1\nACGTACGTAC\n>seq2\nACGTNNNNAC\n>seq3\nGGGGCCCCRY\n' >"$T/seqs_want.fa"
"$SEQLIFT" extract -s "$D/seqs.fa" -w 10 | cmp -s - "$T/seqs_want.fa" && ok "-s plain" || fail "-s plain"
"$SEQLIFT" extract -s "$D/seqs.fa.gz" | cmp -s - "$T/seqs_want.fa" && ok "-s gzip" || fail "-s gzip"

# 8. Errors: exit 1, one stderr line naming FILE:LINE; no output file left behind.
expect 1 'bad_contig.bed:2: unknown contig' -- extract -f "$D/genome.fa" -b "$D/bad_contig.bed"
expect 1 'bad_start_gt_end.bed:2: start 30 > end 20' -- extract -f "$D/genome.fa" -b "$D/bad_start_gt_end.bed"
expect 1 'bad_negative.bed:1: negative start' -- extract -f "$D/genome.fa" -b "$D/bad_negative.bed"
expect 1 "bad_nonnumeric.bed:2: start '1x0'" -- extract -f "$D/genome.fa" -b "$D/bad_nonnumeric.bed"
expect 1 'bad_columns.bed:2: too few columns' -- extract -f "$D/genome.fa" -b "$D/bad_columns.bed"
expect 1 "bad_strand.bed:2: bad strand 'x'" -- extract -f "$D/genome.fa" -b "$D/bad_strand.bed"
expect 1 'bad_summit.narrowPeak:1: bad narrowPeak summit' -- extract -f "$D/genome.fa" -b "$D/bad_summit.narrowPeak"
expect 1 'regions.bed:11: window chr1:2930-3030\(-\) runs past the contig end \(3000\)' -- extract -f "$D/genome.fa" -b "$D/regions.bed" -w 100 --edge error
expect 1 'regions.bed:7: region length 170' -- extract -f "$D/genome.fa" -b "$D/regions.bed" -w 100 --no-resize
expect 1 'regions.bed:15: empty interval' -- extract -f "$D/genome.fa" -b "$D/regions.bed"
expect 1 'not BGZF.*bgzip' -- extract -f "$D/genome_plain_gzip.fa.gz" -b "$D/regions.bed" -w 100
expect 1 'nope.fa: cannot open' -- extract -f "$D/nope.fa" -b "$D/regions.bed"
expect 1 'nope.bed: cannot open' -- extract -f "$D/genome.fa" -b "$D/nope.bed"
expect 1 'not a FASTA file' -- extract -f "$D/regions.bed" -b "$D/regions.bed"
expect 1 "bad_empty_record.fa:3: record 'b' is empty" -- extract -s "$D/bad_empty_record.fa"
expect 1 "bad_duplicate.fa:5: duplicate record name 'a' \(first at line 1\)" -- extract -s "$D/bad_duplicate.fa"
expect 1 "bad_base.fa:5: record 'b': invalid base '.' at position 5" -- extract -s "$D/bad_base.fa"
expect 1 'bad_no_header.fa:1: sequence before' -- extract -s "$D/bad_no_header.fa"
expect 1 "seqs.fa:1: record 'seq1' has length 10, the model width is 12" -- extract -s "$D/seqs.fa" -w 12
printf 'c1\t0\t8\nc1\t8\t16\n' >"$T/c1.bed"
expect 1 "c1.bed:2: window c1:8-16\(.\): invalid base 0x2e \('.'\) at position 6" -- extract -f "$D/bad_base_genome.fa" -b "$T/c1.bed"
expect 1 'bad_contig.bed:2' -- extract -f "$D/genome.fa" -b "$D/bad_contig.bed" -o "$T/never.fa"
[ ! -e "$T/never.fa" ] && ! ls "$T"/never.fa.tmp.* >/dev/null 2>&1 && ok "no output left on error" || fail "output left on error"

# Writing to a device or a pipe must not replace it (no temp-file rename over it).
mkfifo "$T/fifo"
timeout 20 cat "$T/fifo" >"$T/from_fifo" &
"$SEQLIFT" extract -f "$D/genome.fa" -b "$D/regions_inside.bed" -o "$T/fifo"; wait
[ -p "$T/fifo" ] && cmp -s "$T/from_fifo" "$T/in.fa" && ok "-o FIFO written in place" || fail "-o FIFO"

# Several runs (shards) opening one unindexed genome at once: each builds the .fai under
# a temporary name and renames it, so none reads another's half-written index.
awk 'BEGIN { for (i = 0; i < 20000; i++) printf ">c%05d\nACGTACGTAACCGGTT\n", i }' >"$T/many.fa"
printf 'c19999\t2\t10\t.\t0\t-\n' >"$T/many.bed"
racefail=0
for trial in 1 2 3; do
    rm -f "$T/many.fa.fai"
    pids=()
    for j in 1 2 3 4 5 6; do
        "$SEQLIFT" extract -f "$T/many.fa" -b "$T/many.bed" >"$T/many.$j.out" 2>"$T/many.$j.err" &
        pids+=($!)
    done
    # wait by pid: `wait -n` returns 127 for children that ended before it was called
    for p in "${pids[@]}"; do wait "$p" || racefail=1; done
    for j in 1 2 3 4 5 6; do
        [ "$(cat "$T/many.$j.out")" = "$(printf '>c19999:2-10(-)\nTTACGTAC')" ] || racefail=1
    done
done
[ $racefail = 0 ] && ! ls "$T"/many.fa.fai.tmp.* >/dev/null 2>&1 && ok "concurrent index builds" \
    || fail "concurrent index builds: $(cat "$T"/many.*.err | sort -u)"

# 9. Usage: --help 0 (stdout), no args / bad option / bad value 2.
"$SEQLIFT" extract --help | grep 'Usage: seqlift extract' >/dev/null && ok "--help" || fail "--help"
expect 2 'Usage' -- extract
expect 2 "unknown option.*'--bogus'.*seqlift extract --help" -- extract --bogus
expect 2 'edge' -- extract -f "$D/genome.fa" -b "$D/regions.bed" --edge wrap
expect 2 'width' -- extract -f "$D/genome.fa" -b "$D/regions.bed" -w ten
expect 2 'either' -- extract -f "$D/genome.fa"

cli_done
