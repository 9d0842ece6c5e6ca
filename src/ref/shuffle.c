/* shuffle.c — uniform k-mer preserving shuffles (reference module).
 *
 * A sequence with its k-mer counts is an Eulerian trail in the multigraph whose
 * vertices are (k-1)-mers and whose edges are its k-mers (Altschul & Erickson 1985,
 * Kandel et al. 1996). Every such trail starts at the first (k-1)-mer and ends at
 * the last one. Uniform sampling (BEST theorem): pick a uniformly random spanning
 * arborescence of "last exit" edges pointing to the end vertex (Wilson's loop-erased
 * random walk, multi-edges counted separately), put each vertex's last-exit edge
 * last and shuffle its other out-edges, then walk from the start vertex. Parallel
 * edges are interchangeable, so every distinct sequence gets the same number of
 * labelled trails and the result is uniform over sequences.
 */
#include <stdlib.h>
#include <string.h>

#include "ref/ref_internal.h"
#include "seqlift/reference.h"
#include "seqlift/util.h"

/* Scratch space for one run, sized for the longest run seen so far. */
typedef struct {
    uint32_t *code;    /* (k-1)-mer code at each run position [m-k+2] */
    uint32_t *uniq;    /* code of each vertex (distinct, in order of first appearance) */
    int32_t *vert;     /* vertex of each position */
    uint32_t *hkey;    /* open-addressing hash (k-1)-mer code -> vertex, [2^hbits] */
    int32_t *hval;     /* -1: empty slot */
    int64_t *off;      /* CSR offsets of out-edges [nv+1] */
    int64_t *fill;     /* fill pointer / walk cursor per vertex */
    int32_t *tgt;      /* edge targets, grouped by source */
    int64_t *next;     /* Wilson: chosen edge (index in tgt) per vertex */
    uint8_t *intree;
} scratch_t;

static void fisher_yates(uint8_t *a, int64_t n, sl_rng_t *rng)
{
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)sl_rng_below(rng, (uint64_t)i + 1);
        uint8_t t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

/* Shuffle one ACGT run s[0..m) (m >= k >= 2) into out. */
static void shuffle_run(const uint8_t *s, int64_t m, int k, sl_rng_t *rng, scratch_t *w, uint8_t *out)
{
    const int64_t np = m - k + 2; /* (k-1)-mers in the run = trail vertices visited */
    const uint32_t mask = k - 1 >= 16 ? 0xffffffffu : ((1u << (2 * (k - 1))) - 1);
    uint32_t c = 0;
    for (int i = 0; i < k - 1; i++) c = (c << 2) | s[i];
    w->code[0] = c;
    for (int64_t p = 1; p < np; p++) {
        c = ((c << 2) | s[p + k - 2]) & mask;
        w->code[p] = c;
    }
    /* vertices numbered by first appearance, through an open-addressing hash with
     * at least twice as many slots as (k-1)-mers in this run */
    int hbits = 1;
    while (((int64_t)1 << hbits) < 2 * np) hbits++;
    const uint32_t hmask = (1u << hbits) - 1;
    memset(w->hval, 0xff, ((size_t)1 << hbits) * sizeof(int32_t));
    int32_t nv = 0;
    for (int64_t p = 0; p < np; p++) {
        uint32_t h = (w->code[p] * 0x9e3779b1u) >> (32 - hbits);
        while (w->hval[h] >= 0 && w->hkey[h] != w->code[p]) h = (h + 1) & hmask;
        if (w->hval[h] < 0) {
            w->hkey[h] = w->code[p];
            w->hval[h] = nv;
            w->uniq[nv++] = w->code[p];
        }
        w->vert[p] = w->hval[h];
    }

    /* CSR out-edge lists: edge p goes vert[p] -> vert[p+1] */
    memset(w->off, 0, (size_t)(nv + 1) * sizeof(int64_t));
    for (int64_t p = 0; p + 1 < np; p++) w->off[w->vert[p] + 1]++;
    for (int32_t v = 0; v < nv; v++) w->off[v + 1] += w->off[v];
    memcpy(w->fill, w->off, (size_t)nv * sizeof(int64_t));
    for (int64_t p = 0; p + 1 < np; p++) w->tgt[w->fill[w->vert[p]]++] = w->vert[p + 1];

    /* Wilson's algorithm: random arborescence of last-exit edges towards the end */
    const int32_t start = w->vert[0], root = w->vert[np - 1];
    memset(w->intree, 0, (size_t)nv);
    w->intree[root] = 1;
    for (int32_t v = 0; v < nv; v++) {
        for (int32_t u = v; !w->intree[u];) {
            int64_t deg = w->off[u + 1] - w->off[u]; /* >= 1: every non-end vertex has an exit */
            w->next[u] = w->off[u] + (int64_t)sl_rng_below(rng, (uint64_t)deg);
            u = w->tgt[w->next[u]];
        }
        for (int32_t u = v; !w->intree[u]; u = w->tgt[w->next[u]]) w->intree[u] = 1;
    }

    /* last-exit edge last, the others in uniformly random order */
    for (int32_t v = 0; v < nv; v++) {
        int64_t lo = w->off[v], hi = w->off[v + 1], n = hi - lo;
        if (n == 0) continue;
        if (v != root) {
            int32_t t = w->tgt[w->next[v]];
            w->tgt[w->next[v]] = w->tgt[hi - 1];
            w->tgt[hi - 1] = t;
            n--;
        }
        for (int64_t i = n - 1; i > 0; i--) {
            int64_t j = (int64_t)sl_rng_below(rng, (uint64_t)i + 1);
            int32_t t = w->tgt[lo + i];
            w->tgt[lo + i] = w->tgt[lo + j];
            w->tgt[lo + j] = t;
        }
    }

    /* walk: the start (k-1)-mer, then the last base of each vertex entered */
    memcpy(out, s, (size_t)(k - 1));
    memcpy(w->fill, w->off, (size_t)nv * sizeof(int64_t));
    int32_t u = start;
    for (int64_t p = k - 1; p < m; p++) {
        u = w->tgt[w->fill[u]++];
        out[p] = (uint8_t)(w->uniq[u] & 3);
    }
}

/* Reusable buffers: the k-mer shuffle scratch (np_cap (k-1)-mers) and the code
 * buffers of sl_ref_generate (len_cap bytes each). They only grow. */
struct sl_ref_ws_s {
    scratch_t w;
    int64_t np_cap;
    uint8_t *codes, *shuf;
    int64_t len_cap;
};

sl_ref_ws_t *sl_ref_ws_create(void)
{
    return sl_calloc(1, sizeof(sl_ref_ws_t), "reference workspace");
}

static void scratch_free(scratch_t *w)
{
    free(w->code);
    free(w->uniq);
    free(w->vert);
    free(w->hkey);
    free(w->hval);
    free(w->off);
    free(w->fill);
    free(w->tgt);
    free(w->next);
    free(w->intree);
    memset(w, 0, sizeof *w);
}

void sl_ref_ws_destroy(sl_ref_ws_t *ws)
{
    if (!ws) return;
    scratch_free(&ws->w);
    free(ws->codes);
    free(ws->shuf);
    free(ws);
}

/* Scratch for runs of up to np (k-1)-mers. Old contents are not kept, so free and
 * allocate rather than realloc (no copy). On failure the scratch is emptied. */
static int scratch_reserve(sl_ref_ws_t *ws, int64_t np_req)
{
    if (np_req <= ws->np_cap) return 0;
    scratch_t *w = &ws->w;
    size_t np = (size_t)np_req, nh = 2;
    while (nh < 2 * np) nh *= 2;
    scratch_free(w);
    ws->np_cap = 0;
    w->code = sl_malloc(np * sizeof(uint32_t), "k-mer shuffle codes");
    w->uniq = sl_malloc(np * sizeof(uint32_t), "k-mer shuffle vertices");
    w->vert = sl_malloc(np * sizeof(int32_t), "k-mer shuffle vertices");
    w->off = sl_malloc((np + 1) * sizeof(int64_t), "k-mer shuffle edges");
    w->fill = sl_malloc(np * sizeof(int64_t), "k-mer shuffle edges");
    w->tgt = sl_malloc(np * sizeof(int32_t), "k-mer shuffle edges");
    w->next = sl_malloc(np * sizeof(int64_t), "k-mer shuffle tree");
    w->intree = sl_malloc(np, "k-mer shuffle tree");
    w->hkey = sl_malloc(nh * sizeof(uint32_t), "k-mer shuffle hash");
    w->hval = sl_malloc(nh * sizeof(int32_t), "k-mer shuffle hash");
    if (!w->code || !w->uniq || !w->vert || !w->off || !w->fill || !w->tgt || !w->next || !w->intree || !w->hkey ||
        !w->hval) {
        scratch_free(w);
        return -1;
    }
    ws->np_cap = np_req;
    return 0;
}

int sl_ref_ws_codes(sl_ref_ws_t *ws, int64_t len, uint8_t **codes, uint8_t **shuf)
{
    if (len + 1 > ws->len_cap) {
        free(ws->codes);
        free(ws->shuf);
        ws->codes = sl_malloc((size_t)len + 1, "shuffle codes");
        ws->shuf = sl_malloc((size_t)len + 1, "shuffle codes");
        ws->len_cap = ws->codes && ws->shuf ? len + 1 : 0;
        if (!ws->len_cap) {
            free(ws->codes), free(ws->shuf);
            ws->codes = ws->shuf = NULL;
            return -1;
        }
    }
    *codes = ws->codes;
    *shuf = ws->shuf;
    return 0;
}

int sl_ref_kmer_shuffle(const uint8_t *codes, int64_t len, int k, sl_rng_t *rng, uint8_t *out, sl_ref_ws_t *ws)
{
    sl_ref_ws_t *tmp = NULL;
    int ret = -1;
    if (k < 1 || k > SL_REF_MAX_K) {
        sl_log_error("k-mer shuffle: k=%d is out of range 1..%d", k, SL_REF_MAX_K);
        return -1;
    }
    if (len < k) {
        sl_log_error("k-mer shuffle: sequence of %lld bp is shorter than k=%d", (long long)len, k);
        return -1;
    }
    memcpy(out, codes, (size_t)len);
    int64_t longest = 0;
    for (int64_t i = 0, b = 0; i <= len; i++) {
        if (i < len && codes[i] < SL_REF_CODE_N) continue;
        if (i - b > longest) longest = i - b;
        b = i + 1;
    }
    if (longest >= ((int64_t)1 << 29)) { /* vertex ids and hash slots are 32-bit */
        sl_log_error("k-mer shuffle: an ACGT run of %lld bp is too long (limit 2^29)", (long long)longest);
        return -1;
    }
    if (k >= 2 && longest >= k) {
        if (!ws && !(ws = tmp = sl_ref_ws_create())) return -1;
        if (scratch_reserve(ws, longest - k + 2) < 0) goto fail;
    }
    /* each ACGT run between N's separately; runs shorter than k have one arrangement */
    for (int64_t i = 0, b = 0; i <= len; i++) {
        if (i < len && codes[i] < SL_REF_CODE_N) continue;
        int64_t m = i - b;
        if (k == 1) fisher_yates(out + b, m, rng);
        else if (m > k) shuffle_run(codes + b, m, k, rng, &ws->w, out + b);
        b = i + 1;
    }
    ret = 0;
fail:
    sl_ref_ws_destroy(tmp);
    return ret;
}
