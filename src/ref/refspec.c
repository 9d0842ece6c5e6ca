/* refspec.c — reference specs: parsing, the fit step and generation (reference module). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "ref/ref_internal.h"
#include "seqlift/reference.h"
#include "seqlift/seqio.h"
#include "seqlift/util.h"

struct sl_refspec_s {
    sl_ref_kind_t kind;
    char *str;          /* canonical spec */
    int n;              /* references per region */
    int k;              /* SHUFFLE: k-mer size */
    double gc;          /* GC: given fraction, or < 0 for the sequence's own */
    int from_data;      /* BACKGROUND / EXPECTED: frequencies come from sl_refspec_observe */
    int per_pos;        /* ... per position (else one global row) */
    double *counts;     /* fit accumulators [counts_len][4] */
    int64_t counts_len;
    int64_t n_observed;
    double *freq;       /* normalised frequencies [freq_len][4]; freq_len 1 = global */
    int64_t freq_len;
    char *path;         /* FILE / PATH of the spec */
    sl_regions_t *fa;   /* FASTA: the records */
    int shared;         /* FASTA: the same n records for every region */
    int finalized;
};

/* ---- frequency files ------------------------------------------------------- */

/* Append a row of 4 frequencies (normalised) to rs->freq; errors name where/row. */
static int push_row(sl_refspec_t *rs, const double *v, const char *where, const char *unit, int64_t row)
{
    double sum = 0;
    for (int b = 0; b < 4; b++) {
        if (!(v[b] >= 0) || !isfinite(v[b])) {
            sl_log_error("%s %s %lld: frequency %g is not a non-negative number", where, unit, (long long)row, v[b]);
            return -1;
        }
        sum += v[b];
    }
    if (!(sum > 0)) {
        sl_log_error("%s %s %lld: frequencies sum to 0", where, unit, (long long)row);
        return -1;
    }
    double *f = sl_realloc(rs->freq, (size_t)(rs->freq_len + 1) * 4 * sizeof(double), "frequency rows");
    if (!f) return -1;
    rs->freq = f;
    for (int b = 0; b < 4; b++) f[rs->freq_len * 4 + b] = v[b] / sum;
    rs->freq_len++;
    return 0;
}

static int json_row(sl_refspec_t *rs, const cJSON *j, const char *where, int64_t row)
{
    double v[4];
    if (cJSON_IsArray(j) && cJSON_GetArraySize(j) == 4) {
        for (int b = 0; b < 4; b++) {
            const cJSON *e = cJSON_GetArrayItem(j, b);
            if (!cJSON_IsNumber(e)) goto bad;
            v[b] = e->valuedouble;
        }
        return push_row(rs, v, where, "row", row);
    }
    if (cJSON_IsObject(j) && cJSON_GetArraySize(j) == 4) {
        for (int b = 0; b < 4; b++) {
            const char key[2] = {SL_ALPHABET[b], 0};
            const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, key);
            if (!cJSON_IsNumber(e)) goto bad;
            v[b] = e->valuedouble;
        }
        return push_row(rs, v, where, "row", row);
    }
bad:
    sl_log_error("%s row %lld: expected [a,c,g,t] or {\"A\":a,\"C\":c,\"G\":g,\"T\":t}", where,
                 (long long)row);
    return -1;
}

static int read_freq_json(sl_refspec_t *rs, const char *path, const char *text)
{
    cJSON *j = cJSON_Parse(text);
    int ret = -1;
    if (!j) {
        sl_log_error("%s: not valid JSON (near byte %ld)", path,
                     cJSON_GetErrorPtr() ? (long)(cJSON_GetErrorPtr() - text) : 0L);
        return -1;
    }
    if (cJSON_IsArray(j) && cJSON_GetArraySize(j) > 0 && cJSON_IsArray(cJSON_GetArrayItem(j, 0))) {
        int64_t i = 0;
        const cJSON *row;
        cJSON_ArrayForEach(row, j)
        {
            if (json_row(rs, row, path, ++i) < 0) goto fail;
        }
    } else if (json_row(rs, j, path, 1) < 0) {
        goto fail;
    }
    ret = 0;
fail:
    cJSON_Delete(j);
    return ret;
}

static int read_freq_tsv(sl_refspec_t *rs, const char *path, char *text)
{
    int64_t lineno = 0;
    for (char *line = text, *nl; line && *line; line = nl) {
        nl = strchr(line, '\n');
        if (nl) *nl++ = 0;
        lineno++;
        char *p = line;
        while (isspace((unsigned char)*p)) p++;
        if (!*p || *p == '#') continue;
        if (rs->freq_len == 0 && isalpha((unsigned char)*p)) {
            /* header: exactly the letters A C G T */
            char h[4];
            if (sscanf(p, " %c %c %c %c", &h[0], &h[1], &h[2], &h[3]) == 4 &&
                toupper((unsigned char)h[0]) == 'A' && toupper((unsigned char)h[1]) == 'C' &&
                toupper((unsigned char)h[2]) == 'G' && toupper((unsigned char)h[3]) == 'T')
                continue;
        }
        double v[4];
        char *end = p;
        for (int b = 0; b < 4; b++) {
            errno = 0;
            v[b] = strtod(end, &p);
            if (p == end || errno) {
                sl_log_error("%s line %lld: expected 4 numbers (A C G T)", path, (long long)lineno);
                return -1;
            }
            end = p;
        }
        while (isspace((unsigned char)*end)) end++;
        if (*end) {
            sl_log_error("%s line %lld: more than 4 columns", path, (long long)lineno);
            return -1;
        }
        if (push_row(rs, v, path, "line", lineno) < 0) return -1;
    }
    if (rs->freq_len == 0) {
        sl_log_error("%s: no frequency rows", path);
        return -1;
    }
    return 0;
}

static int read_freq_file(sl_refspec_t *rs, const char *path)
{
    FILE *fp = fopen(path, "rb");
    char *text = NULL;
    int ret = -1;
    if (!fp) {
        sl_log_error("%s: cannot open frequency file: %s", path, strerror(errno));
        return -1;
    }
    size_t n = 0, m = 4096;
    text = sl_malloc(m, "frequency file");
    if (!text) goto fail;
    errno = 0;
    for (size_t r; (r = fread(text + n, 1, m - n - 1, fp)) > 0;) {
        n += r;
        if (n + 1 == m) {
            if (m >= (64u << 20)) {
                sl_log_error("%s: frequency file larger than 64 MB", path);
                goto fail;
            }
            char *t = sl_realloc(text, m *= 2, "frequency file");
            if (!t) goto fail;
            text = t;
        }
    }
    if (ferror(fp)) {
        sl_log_error("%s: read error: %s", path, strerror(errno ? errno : EIO)); /* EISDIR: a folder */
        goto fail;
    }
    text[n] = 0;
    if (memchr(text, 0, n)) {
        sl_log_error("%s: binary data in a frequency file", path);
        goto fail;
    }
    const char *p = text;
    while (isspace((unsigned char)*p)) p++;
    ret = (*p == '[' || *p == '{') ? read_freq_json(rs, path, text) : read_freq_tsv(rs, path, text);
fail:
    free(text);
    fclose(fp);
    return ret;
}

/* ---- parsing ---------------------------------------------------------------- */

static int parse_count(const char *spec, const char *s, const char *what, long long lo, long long hi, int *out)
{
    long long v;
    if (!s || sl_parse_long(s, &v) < 0 || v < lo || v > hi) {
        sl_log_error("bad reference spec '%s': %s must be an integer in %lld..%lld (got '%s')", spec, what, lo,
                     hi, s ? s : "");
        return -1;
    }
    *out = (int)v;
    return 0;
}

sl_refspec_t *sl_refspec_parse(const char *spec)
{
    return sl_refspec_parse2(spec, NULL);
}

sl_refspec_t *sl_refspec_parse2(const char *spec, int *bad_spec)
{
    int dummy;
    if (!bad_spec) bad_spec = &dummy;
    *bad_spec = 0; /* out of memory is not the spec's fault */
    if (!spec || !*spec) spec = SL_REF_DEFAULT_SPEC;
    sl_refspec_t *rs = sl_calloc(1, sizeof *rs, "reference spec");
    char *buf = sl_strdup(spec);
    /* canonical form: the spec's own fields plus at most a few numbers */
    const size_t ssz = strlen(spec) + 64;
    char *str = sl_malloc(ssz, "reference spec");
    if (!rs || !buf || !str) goto fail;
    *bad_spec = 1; /* every failure but reading a file is the spec's, until then */
    rs->gc = -1;
    /* split "kind:a:rest" — the last field keeps any further ':' (file paths) */
    char *kind = buf, *a = NULL, *rest = NULL;
    if ((a = strchr(buf, ':'))) {
        *a++ = 0;
        if ((rest = strchr(a, ':'))) *rest++ = 0;
    }
    if (strcmp(kind, "dinuc") == 0 || strcmp(kind, "kmer") == 0) {
        rs->kind = SL_REF_SHUFFLE;
        rs->n = 20;
        if (kind[0] == 'd') {
            rs->k = 2;
            if (rest) goto extra;
            if (a && parse_count(spec, a, "N", 1, SL_REF_MAX_N, &rs->n) < 0) goto fail;
        } else {
            if (parse_count(spec, a, "K", 1, SL_REF_MAX_K, &rs->k) < 0) goto fail;
            if (rest && parse_count(spec, rest, "N", 1, SL_REF_MAX_N, &rs->n) < 0) goto fail;
        }
        snprintf(str, ssz, "kmer:%d:%d", rs->k, rs->n);
    } else if (strcmp(kind, "gc") == 0 || strncmp(kind, "gc=", 3) == 0) {
        rs->kind = SL_REF_GC;
        if (rest) goto extra;
        if (parse_count(spec, a, "N", 1, SL_REF_MAX_N, &rs->n) < 0) goto fail;
        if (kind[2] == '=') {
            if (sl_parse_double(kind + 3, &rs->gc) < 0 || rs->gc < 0 || rs->gc > 1) {
                sl_log_error("bad reference spec '%s': GC fraction must be a number in [0,1]", spec);
                goto fail;
            }
            snprintf(str, ssz, "gc=%.17g:%d", rs->gc, rs->n);
        } else {
            snprintf(str, ssz, "gc:%d", rs->n);
        }
    } else if (strcmp(kind, "background") == 0 || strcmp(kind, "background-global") == 0) {
        rs->kind = SL_REF_BACKGROUND;
        if (parse_count(spec, a, "N", 1, SL_REF_MAX_N, &rs->n) < 0) goto fail;
        if (rest) {
            if (kind[10]) {
                sl_log_error("bad reference spec '%s': a FILE goes with 'background:N:FILE'", spec);
                goto fail;
            }
            if (!*rest) goto no_file;
            *bad_spec = 0;
            if (!(rs->path = sl_strdup(rest)) || read_freq_file(rs, rest) < 0) goto fail;
            snprintf(str, ssz, "background:%d:%s", rs->n, rest);
        } else {
            rs->from_data = 1;
            rs->per_pos = kind[10] == 0;
            snprintf(str, ssz, "%s:%d", kind, rs->n);
        }
    } else if (strcmp(kind, "expected") == 0 || strcmp(kind, "expected-global") == 0) {
        rs->kind = SL_REF_EXPECTED;
        rs->n = 1;
        if (a) {
            if (kind[8]) {
                sl_log_error("bad reference spec '%s': a FILE goes with 'expected:FILE'", spec);
                goto fail;
            }
            if (rest) a[strlen(a)] = ':'; /* the whole remainder is the path */
            if (!*a) goto no_file;
            *bad_spec = 0;
            if (!(rs->path = sl_strdup(a)) || read_freq_file(rs, a) < 0) goto fail;
            snprintf(str, ssz, "expected:%s", a);
        } else {
            rs->from_data = 1;
            rs->per_pos = kind[8] == 0;
            snprintf(str, ssz, "%s", kind);
        }
    } else if (strcmp(kind, "zero") == 0) {
        rs->kind = SL_REF_ZERO;
        rs->n = 1;
        if (a) goto extra;
        snprintf(str, ssz, "zero");
    } else if (strcmp(kind, "fasta") == 0) {
        rs->kind = SL_REF_FASTA;
        rs->n = 1;
        if (!a) {
            sl_log_error("bad reference spec '%s': fasta needs a PATH (fasta:PATH[:K])", spec);
            goto fail;
        }
        if (rest) a[strlen(a)] = ':';
        /* an optional trailing ":K" (integer) is the count per region */
        char *colon = strrchr(a, ':');
        long long kk;
        if (colon && sl_parse_long(colon + 1, &kk) == 0) {
            *colon = 0;
            if (parse_count(spec, colon + 1, "K", 1, SL_REF_MAX_N, &rs->n) < 0) goto fail;
        }
        if (!*a) {
            sl_log_error("bad reference spec '%s': fasta needs a PATH (fasta:PATH[:K])", spec);
            goto fail;
        }
        *bad_spec = 0;
        /* sl_regions_read_fasta reports a file with no record */
        if (!(rs->path = sl_strdup(a)) || !(rs->fa = sl_regions_read_fasta(a, 0))) goto fail;
        snprintf(str, ssz, "fasta:%s:%d", a, rs->n);
    } else {
        sl_log_error("bad reference spec '%s': unknown kind '%s' (dinuc, kmer, gc, background, "
                     "expected, zero, fasta)", spec, kind);
        goto fail;
    }
    *bad_spec = 0;
    rs->str = str;
    free(buf);
    return rs;
extra:
    sl_log_error("bad reference spec '%s': too many ':' fields", spec);
    goto fail;
no_file:
    sl_log_error("bad reference spec '%s': empty FILE name", spec);
fail:
    free(buf);
    free(str);
    sl_refspec_destroy(rs);
    return NULL;
}

void sl_refspec_destroy(sl_refspec_t *rs)
{
    if (!rs) return;
    free(rs->str);
    free(rs->counts);
    free(rs->freq);
    free(rs->path);
    if (rs->fa) sl_regions_destroy(rs->fa);
    free(rs);
}

int sl_refspec_n(const sl_refspec_t *rs)
{
    return rs->n;
}

sl_ref_kind_t sl_refspec_kind(const sl_refspec_t *rs)
{
    return rs->kind;
}

const char *sl_refspec_str(const sl_refspec_t *rs)
{
    return rs->str;
}

int sl_refspec_needs_fit(const sl_refspec_t *rs)
{
    return rs->from_data;
}

/* ---- fit ------------------------------------------------------------------------ */

int sl_refspec_observe(sl_refspec_t *rs, const float *onehot, int64_t len)
{
    if (!rs->from_data) return 0;
    if (rs->finalized) {
        sl_log_error("reference '%s': observe after finalize", rs->str);
        return -1;
    }
    int64_t rows = rs->per_pos ? len : 1;
    if (!rs->counts) {
        if (len <= 0) {
            sl_log_error("reference '%s': empty input sequence", rs->str);
            return -1;
        }
        if (!(rs->counts = sl_calloc((size_t)rows * 4, sizeof(double), "background counts"))) return -1;
        rs->counts_len = rows;
    } else if (rs->per_pos && len != rs->counts_len) {
        sl_log_error("reference '%s': per-position frequencies need equal lengths, got %lld after %lld bp "
                     "(use %s-global)", rs->str, (long long)len, (long long)rs->counts_len,
                     rs->kind == SL_REF_BACKGROUND ? "background" : "expected");
        return -1;
    }
    for (int64_t p = 0; p < len; p++) {
        double *c = rs->counts + (rs->per_pos ? p * 4 : 0);
        for (int b = 0; b < 4; b++) {
            float v = onehot[p * 4 + b];
            if (v > 0) c[b] += v; /* ignores NaN and negatives */
        }
    }
    rs->n_observed++;
    return 0;
}

int sl_refspec_finalize(sl_refspec_t *rs, int64_t n_regions)
{
    if (rs->finalized) return 0;
    if (rs->from_data) {
        if (rs->n_observed == 0) {
            sl_log_error("reference '%s': frequencies come from the inputs but none were observed", rs->str);
            return -1;
        }
        for (int64_t p = 0; p < rs->counts_len; p++) {
            double *c = rs->counts + p * 4, sum = c[0] + c[1] + c[2] + c[3];
            double v[4];
            /* a position that is N in every input: uniform */
            for (int b = 0; b < 4; b++) v[b] = sum > 0 ? c[b] : 0.25;
            if (push_row(rs, v, rs->str, "position", p + 1) < 0) return -1;
        }
        free(rs->counts);
        rs->counts = NULL;
    }
    if (rs->kind == SL_REF_FASTA) {
        int64_t m = rs->fa->n, k = rs->n;
        if (m == k) {
            rs->shared = 1;
        } else if (n_regions < 0 && m % k == 0) {
            /* count unknown (streaming): each region's index is checked when generating */
        } else if (n_regions < 0) {
            sl_log_error("%s: %lld reference records is not a multiple of K=%lld", rs->path, (long long)m,
                         (long long)k);
            return -1;
        } else if (m != k * n_regions) {
            sl_log_error("%s: %lld reference records, but %lld region(s) x K=%lld need %lld (or exactly %lld "
                         "shared by all regions)", rs->path, (long long)m, (long long)n_regions, (long long)k,
                         (long long)(k * n_regions), (long long)k);
            return -1;
        }
    }
    rs->finalized = 1;
    return 0;
}

/* ---- generation ---------------------------------------------------------------- */

/* One-hot rows to base codes; a row that is neither zero nor one-hot is an error. */
int sl_ref_onehot_codes(const float *x, int64_t len, uint8_t *codes, const char *label)
{
    for (int64_t p = 0; p < len; p++) {
        const float *r = x + p * 4;
        int nz = 0, b1 = SL_REF_CODE_N;
        for (int b = 0; b < 4; b++) {
            if (r[b] == 1.0f) nz++, b1 = b;
            else if (r[b] != 0.0f) nz = 99;
        }
        if (nz > 1) {
            sl_log_error("%s: position %lld is not one-hot (needed for a shuffle)", label, (long long)p);
            return -1;
        }
        codes[p] = (uint8_t)b1;
    }
    return 0;
}

static void codes_to_onehot(const uint8_t *codes, int64_t len, float *out)
{
    memset(out, 0, (size_t)len * 4 * sizeof(float));
    for (int64_t p = 0; p < len; p++)
        if (codes[p] < SL_REF_CODE_N) out[p * 4 + codes[p]] = 1.0f;
}

static int is_n_row(const float *r)
{
    return r[0] == 0 && r[1] == 0 && r[2] == 0 && r[3] == 0;
}

/* Frequencies for position p, or NULL (reported) if a per-position table does not fit. */
static const double *freq_row(const sl_refspec_t *rs, int64_t len, int64_t p, const char *label)
{
    if (rs->freq_len == 1) return rs->freq;
    if (rs->freq_len != len) {
        sl_log_error("%s: %lld bp, but reference '%s' has %lld per-position frequency rows", label,
                     (long long)len, rs->str, (long long)rs->freq_len);
        return NULL;
    }
    return rs->freq + p * 4;
}

static int sample_iid(const sl_refspec_t *rs, const float *x, int64_t len, double gc, sl_rng_t *rng,
                      const char *label, float *out)
{
    const double gcrow[4] = {(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2};
    memset(out, 0, (size_t)len * 4 * sizeof(float));
    for (int64_t p = 0; p < len; p++) {
        if (is_n_row(x + p * 4)) continue;
        const double *f = gc >= 0 ? gcrow : freq_row(rs, len, p, label);
        if (!f) return -1;
        double u = sl_rng_uniform(rng), cum = 0;
        int b = 0;
        for (; b < 3; b++) {
            cum += f[b];
            if (u < cum) break;
        }
        while (f[b] == 0 && b > 0) b--; /* rounding never picks a zero-frequency base */
        out[p * 4 + b] = 1.0f;
    }
    return 0;
}

static int fasta_refs(const sl_refspec_t *rs, int64_t len, int64_t idx, const char *label, float *out)
{
    int64_t first = rs->shared ? 0 : idx * rs->n;
    if (idx < 0 || first + rs->n > rs->fa->n) {
        sl_log_error("%s: region index %lld has no records in %s (%lld records, K=%d)", label, (long long)idx,
                     rs->path, (long long)rs->fa->n, rs->n);
        return -1;
    }
    for (int i = 0; i < rs->n; i++) {
        const sl_region_t *r = &rs->fa->r[first + i];
        const char *seq = rs->fa->seqs[first + i];
        int64_t rlen = (int64_t)strlen(seq), bad;
        if (rlen != len) {
            sl_log_error("%s: record '%.40s' (#%lld) has %lld bp, region %s has %lld", rs->path,
                         r->name ? r->name : "", (long long)(first + i + 1), (long long)rlen, label,
                         (long long)len);
            return -1;
        }
        if (sl_onehot(seq, len, out + (int64_t)i * len * 4, &bad) < 0) {
            sl_log_error("%s: record '%.40s' has a non-nucleotide at position %lld", rs->path, r->name ? r->name : "",
                         (long long)bad + 1);
            return -1;
        }
    }
    return 0;
}

int sl_ref_generate(const sl_refspec_t *rs, const float *onehot, int64_t len, uint64_t region_seed,
                    int64_t region_index, const char *label, float *out, sl_ref_ws_t *ws)
{
    sl_ref_ws_t *tmp = NULL;
    uint8_t *codes, *shuf;
    int ret = -1;
    sl_rng_t rng;
    if (!label) label = "sequence";
    if (!rs->finalized) {
        sl_log_error("reference '%s': sl_refspec_finalize was not called", rs->str);
        return -1;
    }
    if (len < 0) {
        sl_log_error("%s: negative length", label);
        return -1;
    }
    sl_rng_seed(&rng, region_seed);
    const int64_t stride = len * 4;
    switch (rs->kind) {
    case SL_REF_SHUFFLE:
        if (len < rs->k) {
            sl_log_error("%s: %lld bp is shorter than k=%d of reference '%s'", label, (long long)len, rs->k,
                         rs->str);
            return -1;
        }
        if (!ws && !(ws = tmp = sl_ref_ws_create())) return -1;
        if (sl_ref_ws_codes(ws, len, &codes, &shuf) < 0 || sl_ref_onehot_codes(onehot, len, codes, label) < 0)
            goto fail;
        for (int i = 0; i < rs->n; i++) {
            if (sl_ref_kmer_shuffle(codes, len, rs->k, &rng, shuf, ws) < 0) goto fail;
            codes_to_onehot(shuf, len, out + i * stride);
        }
        break;
    case SL_REF_GC: {
        double gc = rs->gc;
        if (gc < 0) {
            double s[4] = {0, 0, 0, 0};
            for (int64_t p = 0; p < len * 4; p++)
                if (onehot[p] > 0) s[p & 3] += onehot[p];
            double tot = s[0] + s[1] + s[2] + s[3];
            gc = tot > 0 ? (s[1] + s[2]) / tot : 0.5;
        }
        for (int i = 0; i < rs->n; i++)
            if (sample_iid(rs, onehot, len, gc, &rng, label, out + i * stride) < 0) goto fail;
        break;
    }
    case SL_REF_BACKGROUND:
        for (int i = 0; i < rs->n; i++)
            if (sample_iid(rs, onehot, len, -1, &rng, label, out + i * stride) < 0) goto fail;
        break;
    case SL_REF_EXPECTED:
        for (int64_t p = 0; p < len; p++) {
            const double *f = freq_row(rs, len, p, label);
            if (!f) goto fail;
            for (int b = 0; b < 4; b++) out[p * 4 + b] = is_n_row(onehot + p * 4) ? 0.0f : (float)f[b];
        }
        break;
    case SL_REF_ZERO:
        memset(out, 0, (size_t)stride * sizeof(float));
        break;
    case SL_REF_FASTA:
        if (fasta_refs(rs, len, region_index, label, out) < 0) goto fail;
        break;
    }
    ret = 0;
fail:
    sl_ref_ws_destroy(tmp);
    return ret;
}
