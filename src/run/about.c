/* about.c — the provenance line of a run's outputs (TSV and bedGraph "# " line, npz
 * "seqlift" entry, run descriptor "about"): the seqlift version, the command, the inputs
 * as given and the options that determine the content, the same options the run
 * descriptor compares. Never output paths, --shard, --threads, --batch or logging: the
 * shards of a run, merged, and any threads or batch give the same bytes as one run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seqlift/util.h"
#include "seqlift/version.h"

#include "run/run_priv.h"

char *sl_run_about(const char *command, const char *model, const char *weights, const char *fasta,
                   const char *regions, const char *seqs, const char *options)
{
    const char *key[] = {"model", "weights", "genome", "regions", "seqs"};
    const char *val[] = {model, weights, fasta, regions, seqs};
    size_t n = strlen(sl_version()) + strlen(command) + strlen(options) + 32;
    for (int j = 0; j < 5; j++) n += val[j] ? strlen(key[j]) + strlen(val[j]) + 2 : 0;
    char *s = sl_malloc(n, "provenance");
    if (!s) return NULL;
    size_t k = (size_t)snprintf(s, n, "seqlift %s %s", sl_version(), command);
    for (int j = 0; j < 5; j++)
        if (val[j]) k += (size_t)snprintf(s + k, n - k, " %s=%s", key[j], val[j]);
    snprintf(s + k, n - k, " %s", options);
    for (char *p = s; *p; p++) /* one line whatever the paths hold */
        if ((unsigned char)*p < 0x20) *p = '?';
    return s;
}
