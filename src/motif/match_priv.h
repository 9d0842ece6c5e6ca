/* match_priv.h — the matcher's two paths, for the tests (motif.h has the API). */
#ifndef SEQLIFT_MATCH_PRIV_H
#define SEQLIFT_MATCH_PRIV_H

#include "seqlift/motif.h"

/* sl_matcher_match with plain = 0; plain = 1 takes the straightforward path: every
 * alignment's column scores computed again (no table) and the null's whole distribution
 * convolved (no bound). Both give the same bytes. */
int sl_matcher_match_mode(const sl_matcher_t *mt, const double *q, const double *wt, int n, int top, sl_match_t *out,
                          int plain);

#endif
