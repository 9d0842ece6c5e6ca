/* fuzz_meme.c — the MEME motif database parser (sl_motif_db_parse), then a matcher and
 * a scanner built from what parses, one query and one scan. */
#include "fuzz_util.h"

#include "seqlift/motif.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sl_motif_db_t *db = sl_motif_db_parse((const char *)data, size, "fuzz.meme");
    if (!db) return 0;
    if (db->n <= 64) {
        sl_matcher_t *mt = sl_matcher_create(db, 5);
        if (mt) {
            double q[12 * 4];
            for (int i = 0; i < 12 * 4; i++) q[i] = (i * 7 % 5) / 4.0 - 0.3;
            sl_match_t out[3];
            sl_matcher_match(mt, q, NULL, 12, 3, out);
            sl_matcher_destroy(mt);
        }
        sl_scanner_t *sc = sl_scanner_create(db);
        if (sc) {
            float ohe[40 * 4] = {0};
            for (int p = 0; p < 40; p++) ohe[p * 4 + (p * 3) % 4] = 1.0f;
            sl_hit_t *hits = NULL;
            int n = 0, m = 0;
            sl_scanner_scan(sc, ohe, 40, 1.0, &hits, &n, &m);
            free(hits);
            sl_scanner_destroy(sc);
        }
    }
    sl_motif_db_destroy(db);
    return 0;
}
