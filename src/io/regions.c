/* regions.c — region lists, resizing and labels.
 *
 * Memory: a region is its sl_region_t (80 bytes) plus its name in the list's string
 * arena (chunks that never move, so the names' pointers stay valid as the list
 * grows): no allocation per region, so 100,000 regions cost ~9 MB, not a malloc each. */
#include <stdlib.h>
#include <string.h>

#include <htslib/khash_str2int.h>

#include "io/io_internal.h"
#include "seqlift/util.h"

/* The list's private storage: interned contig names and the string arena. */
#define ARENA_CHUNK ((size_t)1 << 16)
typedef struct chunk_s {
    struct chunk_s *next;
    size_t used, size;
    char s[];
} chunk_t;
typedef struct {
    khash_t(str2int) *contigs;
    chunk_t *head; /* the chunk being filled, first in the list */
} store_t;

sl_regions_t *sl_io_regions_new(const char *path)
{
    sl_regions_t *rl = sl_calloc(1, sizeof(*rl), "region list");
    if (!rl) return NULL;
    if (!(rl->path = sl_strdup(path))) goto fail;
    store_t *st = sl_calloc(1, sizeof *st, "region names");
    if (!(rl->priv = st)) goto fail;
    if (!(st->contigs = khash_str2int_init())) {
        sl_log_error("out of memory for the contig names");
        goto fail;
    }
    return rl;
fail:
    free(rl->priv);
    free(rl->path);
    free(rl);
    return NULL;
}

sl_region_t *sl_io_regions_push(sl_regions_t *rl)
{
    if (rl->n == rl->m) {
        int64_t m = rl->m ? rl->m * 2 : 64;
        sl_region_t *r = sl_realloc(rl->r, (size_t)m * sizeof(*r), "regions");
        if (!r) return NULL;
        rl->r = r;
        rl->m = m;
    }
    sl_region_t *r = &rl->r[rl->n];
    memset(r, 0, sizeof(*r));
    r->index = rl->n++;
    r->summit = -1;
    r->strand = '.';
    return r;
}

char *sl_io_regions_strdup(sl_regions_t *rl, const char *s, size_t n)
{
    store_t *st = rl->priv;
    chunk_t *c = st->head;
    if (n + 1 > ARENA_CHUNK / 4) { /* a long sequence: a chunk of its own, behind the one being filled */
        if (!(c = sl_malloc(sizeof *c + n + 1, "sequences"))) return NULL;
        c->used = c->size = n + 1;
        if (st->head) c->next = st->head->next, st->head->next = c;
        else c->next = NULL, st->head = c;
        memcpy(c->s, s, n);
        c->s[n] = 0;
        return c->s;
    }
    if (!c || c->size - c->used < n + 1) {
        if (!(c = sl_malloc(sizeof *c + ARENA_CHUNK, "region names"))) return NULL;
        c->next = st->head, c->used = 0, c->size = ARENA_CHUNK;
        st->head = c;
    }
    char *p = c->s + c->used;
    memcpy(p, s, n);
    p[n] = 0;
    c->used += n + 1;
    return p;
}

char *sl_io_regions_intern(sl_regions_t *rl, const char *chrom)
{
    khash_t(str2int) *h = ((store_t *)rl->priv)->contigs;
    khint_t k = kh_get(str2int, h, chrom);
    if (k != kh_end(h)) return (char *)kh_key(h, k);
    char *s = sl_strdup(chrom);
    if (!s) return NULL;
    if (khash_str2int_inc(h, s) < 0) {
        sl_log_error("out of memory for the contig names");
        free(s);
        return NULL;
    }
    return s;
}

void sl_regions_destroy(sl_regions_t *rl)
{
    if (!rl) return;
    store_t *st = rl->priv;
    free(rl->seqs);
    free(rl->r);
    if (st) {
        khash_str2int_destroy_free(st->contigs);
        for (chunk_t *c = st->head, *nx; c; c = nx) nx = c->next, free(c);
        free(st);
    }
    free(rl->path);
    free(rl);
}

void sl_region_resize(sl_region_t *r, int64_t width)
{
    if (width <= 0) {
        r->start = r->bed_start;
        r->end = r->bed_end;
        return;
    }
    int64_t c = r->summit >= 0 ? r->summit : r->bed_start + (r->bed_end - r->bed_start) / 2;
    r->start = c - width / 2;
    r->end = r->start + width;
}

int sl_region_label(const sl_region_t *r, char *buf, size_t size)
{
    if (!r->chrom) return snprintf(buf, size, "%s", r->name ? r->name : "");
    return snprintf(buf, size, "%s:%lld-%lld(%c)", r->chrom, (long long)r->start,
                     (long long)r->end, r->strand);
}

int64_t sl_regions_max_len(const sl_regions_t *rl)
{
    int64_t m = 0;
    for (int64_t i = 0; i < rl->n; i++)
        if (rl->r[i].end - rl->r[i].start > m) m = rl->r[i].end - rl->r[i].start;
    return m;
}

int sl_regions_load(const sl_regions_t *rl, int64_t i, sl_genome_t *g, char *seq, float *onehot)
{
    const sl_region_t *r = &rl->r[i];
    int64_t len = r->end - r->start, bad;
    if (rl->seqs) {
        memcpy(seq, rl->seqs[i], (size_t)len);
    } else if (!g) {
        sl_log_error("%s:%lld: no genome to fetch region %s from", rl->path, (long long)r->line,
                     r->chrom);
        return -1;
    } else if (sl_genome_fetch(g, r, seq) < 0) {
        return -1;
    }
    if (onehot && sl_onehot(seq, len, onehot, &bad) < 0) {
        char lab[256];
        uint8_t c = (uint8_t)seq[bad];
        sl_region_label(r, lab, sizeof lab);
        sl_log_error("%s:%lld: %s %s: invalid base 0x%02x ('%c') at position %lld",
                     rl->path, (long long)r->line, rl->seqs ? "record" : "window", lab, c,
                     c >= 0x20 && c < 0x7f ? c : '?', (long long)bad + 1);
        return -1;
    }
    return 0;
}
