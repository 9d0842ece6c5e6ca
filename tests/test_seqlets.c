/* test_seqlets.c — seqlets on synthetic tracks: planted bumps of both signs, at both
 * edges, and the false-positive rate on pure noise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "seqlift/seqlets.h"
#include "seqlift/util.h"
#include "support/test_support.h"

typedef struct {
    int start, end, sign;
    double h;
} bump_t;

/* The seqlet of sign `sign` overlapping [start, end), or NULL. */
static const sl_seqlet_t *find(const sl_seqlet_t *s, int n, int start, int end, int sign)
{
    for (int i = 0; i < n; i++)
        if (s[i].sign == sign && s[i].start < end && start < s[i].end) return &s[i];
    return NULL;
}

static void test_planted_bumps(void **state)
{
    (void)state;
    enum { L = 1000 };
    static const bump_t bumps[] = {
        {0, 8, +1, 0.2},     /* left edge */
        {992, 1000, -1, 0.2}, /* right edge, negative */
        {500, 512, +1, 0.1},
        {300, 306, -1, 0.15},
    };
    float x[L];
    uint64_t st = 42;
    sl_seqlet_opts_t o;
    sl_seqlet_opts_default(&o);
    for (int rep = 0; rep < 5; rep++) {
        for (int p = 0; p < L; p++) x[p] = (float)(0.01 * sl_test_gauss(&st));
        for (size_t b = 0; b < sizeof bumps / sizeof bumps[0]; b++)
            for (int p = bumps[b].start; p < bumps[b].end; p++) x[p] += (float)(bumps[b].sign * bumps[b].h);
        sl_seqlet_t *s = NULL;
        int n = 0;
        assert_int_equal(sl_seqlets_call(x, L, &o, &s, &n), 0);
        /* the planted ones, plus at most one from noise (about 0.13 per 1000 noise bases) */
        assert_true(n >= 4 && n <= 5);
        for (size_t b = 0; b < sizeof bumps / sizeof bumps[0]; b++) {
            const sl_seqlet_t *q = find(s, n, bumps[b].start, bumps[b].end, bumps[b].sign);
            assert_non_null(q);
            assert_true(abs(q->start - bumps[b].start) <= 1);
            assert_true(abs(q->end - bumps[b].end) <= 1);
            assert_true(q->end <= L && q->start >= 0);
            /* score is the sum of x over the span, p-value tiny */
            double sum = 0;
            for (int p = q->start; p < q->end; p++) sum += x[p];
            assert_true(fabs(sum - q->score) < 1e-5);
            assert_true(q->pval < 1e-6);
        }
        /* the edge bumps reach the edges exactly */
        assert_int_equal(find(s, n, 0, 8, +1)->start, 0);
        assert_int_equal(find(s, n, 992, 1000, -1)->end, L);
        /* ranks follow |score| */
        for (int i = 0; i < n; i++) assert_int_equal(s[i].rank, i + 1);
        for (int i = 1; i < n; i++) assert_true(fabs(s[i - 1].score) >= fabs(s[i].score));
        free(s);
    }
}

/* A seqlet is a run of significant min_len windows, so under noise the count of
 * seqlets of one sign cannot exceed the count of windows with p < threshold; with a
 * calibrated null that is threshold * windows. The Laplace null is conservative for
 * Gaussian noise (its tail is heavier), so far fewer are expected. */
static void test_noise_false_positives(void **state)
{
    (void)state;
    enum { L = 1000, R = 100 };
    float x[L];
    uint64_t st = 7;
    sl_seqlet_opts_t o;
    sl_seqlet_opts_default(&o);
    long total = 0;
    for (int r = 0; r < R; r++) {
        for (int p = 0; p < L; p++) x[p] = (float)sl_test_gauss(&st);
        sl_seqlet_t *s = NULL;
        int n = 0;
        assert_int_equal(sl_seqlets_call(x, L, &o, &s, &n), 0);
        total += n;
        free(s);
    }
    double nominal = o.threshold * 2.0 * R * (L - o.min_len + 1);
    printf("noise: %ld seqlets in %d x %d bases (nominal bound %.0f)\n", total, R, L, nominal);
    assert_true(total <= 0.05 * nominal);
    /* Laplace noise: the null's own family, still bounded by the nominal rate */
    total = 0;
    for (int r = 0; r < R; r++) {
        for (int p = 0; p < L; p++) {
            double u = ((sl_splitmix64(&st) >> 11) + 0.5) / 9007199254740992.0 - 0.5;
            x[p] = (float)(u < 0 ? log(1 + 2 * u) : -log(1 - 2 * u));
        }
        sl_seqlet_t *s = NULL;
        int n = 0;
        assert_int_equal(sl_seqlets_call(x, L, &o, &s, &n), 0);
        total += n;
        free(s);
    }
    printf("laplace noise: %ld seqlets (nominal bound %.0f)\n", total, nominal);
    assert_true(total <= nominal);
}

static void test_edge_cases(void **state)
{
    (void)state;
    sl_seqlet_opts_t o;
    sl_seqlet_opts_default(&o);
    sl_seqlet_t *s = NULL;
    int n = -1;
    float x[40] = {0};
    /* shorter than min_len, flat, all zero: nothing, no crash */
    assert_int_equal(sl_seqlets_call(x, 3, &o, &s, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(sl_seqlets_call(x, 40, &o, &s, &n), 0);
    assert_int_equal(n, 0);
    /* a short region that is one bump from edge to edge, and NaN ignored */
    for (int p = 0; p < 40; p++) x[p] = 0.001f * (float)((p * 7) % 5 - 2);
    for (int p = 30; p < 40; p++) x[p] = 1;
    x[5] = NAN;
    assert_int_equal(sl_seqlets_call(x, 40, &o, &s, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(s[0].start, 30);
    assert_int_equal(s[0].end, 40);
    assert_int_equal(s[0].sign, 1);
    int fs, fe;
    sl_seqlet_flanked(&s[0], 40, o.flank, &fs, &fe);
    assert_int_equal(fs, 25);
    assert_int_equal(fe, 40);
    free(s);
    /* options are checked */
    o.min_len = 0;
    assert_int_equal(sl_seqlet_opts_check(&o), -1);
    sl_seqlet_opts_default(&o);
    o.threshold = 1.5;
    assert_int_equal(sl_seqlet_opts_check(&o), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_planted_bumps),
        cmocka_unit_test(test_noise_false_positives),
        cmocka_unit_test(test_edge_cases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
