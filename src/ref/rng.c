/* rng.c — xoshiro256** generator and per-region seeds (reference module). */
#include <string.h>

#include "seqlift/reference.h"
#include "seqlift/util.h"

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void sl_rng_seed(sl_rng_t *rng, uint64_t seed)
{
    /* splitmix64 expansion, as recommended by the xoshiro authors: never all zero */
    uint64_t st = seed;
    for (int i = 0; i < 4; i++) rng->s[i] = sl_splitmix64(&st);
}

uint64_t sl_rng_next(sl_rng_t *rng)
{
    uint64_t *s = rng->s;
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t sl_rng_below(sl_rng_t *rng, uint64_t n)
{
    /* Lemire's multiply-shift with rejection: exactly uniform, rarely loops */
    unsigned __int128 m = (unsigned __int128)sl_rng_next(rng) * n;
    uint64_t lo = (uint64_t)m;
    if (lo < n) {
        uint64_t thresh = (0 - n) % n;
        while (lo < thresh) {
            m = (unsigned __int128)sl_rng_next(rng) * n;
            lo = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

double sl_rng_uniform(sl_rng_t *rng)
{
    return (double)(sl_rng_next(rng) >> 11) * 0x1.0p-53;
}

/* Little-endian serialisation, so seeds do not depend on the host's byte order. */
static uint64_t hash_i64(int64_t v, uint64_t h)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)v >> (8 * i));
    return sl_hash64(b, 8, h);
}

static uint64_t hash_str(const char *s, uint64_t h)
{
    /* length first, so ("ab","c") and ("a","bc") differ */
    size_t n = s ? strlen(s) : 0;
    h = hash_i64((int64_t)n, h);
    return sl_hash64(s ? s : "", n, h);
}

uint64_t sl_region_seed(uint64_t global_seed, const sl_region_t *r)
{
    uint64_t h = sl_hash64("seqlift-ref", 11, global_seed);
    if (r->chrom) {
        h = hash_str(r->chrom, h ^ 'G');
        h = hash_i64(r->start, h);
        h = hash_i64(r->end, h);
        return hash_i64(r->strand, h);
    }
    h = hash_str(r->name, h ^ 'F');
    return hash_i64(r->index, h);
}
