/* cmd_convert.c — `seqlift convert`: a Keras model to seqlift's JSON + safetensors. */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "seqlift/keras.h"
#include "seqlift/model.h"
#include "seqlift/util.h"

static void usage(FILE *fp)
{
    fprintf(fp,
            "\nUsage: seqlift convert [options] MODEL.h5 OUT\n"
            "       seqlift convert [options] --weights WEIGHTS.h5 MODEL.json OUT\n\n"
            "Converts a Keras 2 model (full-model .h5 from model.save, or architecture JSON\n"
            "from model.to_json with the save_weights .h5) to seqlift's format: OUT.json and\n"
            "OUT.safetensors. The result is checked by loading it before anything is written.\n\n"
            "Options:\n"
            "      --weights FILE   Keras weights .h5 for an architecture JSON\n"
            "      --alphabet ORD   the model's input channel order if not ACGT (e.g. TGCA)\n"
            "  -h, --help           this help\n\n");
}

/* Write len bytes to path through a temporary file. 0 / -1 (reported). */
static int write_all(const char *path, const void *data, size_t len)
{
    sl_ofile_t *f = sl_ofile_open(path, "wb");
    if (!f) return -1;
    if (fwrite(data, 1, len, f->fp) != len) {
        sl_log_error("%s: write failed", path);
        sl_ofile_abort(f);
        return -1;
    }
    return sl_ofile_commit(f);
}

static int convert(const char *in, const char *weights, const char *alphabet, const char *out)
{
    sl_keras_conv_t conv;
    int ret = -1;
    char *jpath = NULL, *spath = NULL, *text = NULL;
    cJSON *doc = NULL;
    if (sl_keras_convert(in, weights, alphabet, &conv) < 0) return -1;
    sl_net_t *net = sl_net_load_mem(conv.json, conv.json_len, conv.st, conv.st_len, weights ? weights : in);
    if (!net) goto done;
    sl_net_destroy(net);
    size_t n = strlen(out) + 16;
    if (!(jpath = sl_malloc(n, "path")) || !(spath = sl_malloc(n, "path"))) goto done;
    snprintf(jpath, n, "%s.json", out);
    snprintf(spath, n, "%s.safetensors", out);
    /* the JSON names its weights relative to itself */
    const char *base = strrchr(spath, '/');
    base = base ? base + 1 : spath;
    if (!(doc = cJSON_ParseWithLength(conv.json, conv.json_len))
        || !cJSON_ReplaceItemInObjectCaseSensitive(doc, "weights", cJSON_CreateString(base))
        || !(text = cJSON_Print(doc))) {
        sl_log_error("%s: out of memory", in);
        goto done;
    }
    if (write_all(spath, conv.st, conv.st_len) < 0 || write_all(jpath, text, strlen(text)) < 0) goto done;
    ret = 0;
done:
    cJSON_Delete(doc);
    free(text);
    free(jpath);
    free(spath);
    sl_keras_conv_free(&conv);
    return ret;
}

int sl_cmd_convert(int argc, char **argv)
{
    static const struct option lopts[] = {{"weights", required_argument, NULL, 'W'},
                                          {"alphabet", required_argument, NULL, 'A'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    const char *weights = NULL, *alphabet = NULL;
    int c;
    if (argc < 2) {
        usage(stderr);
        return SL_EXIT_USAGE;
    }
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", lopts, NULL)) >= 0) {
        switch (c) {
        case 'W': weights = optarg; break;
        case 'A': alphabet = optarg; break;
        case 'h': usage(stdout); return SL_EXIT_OK;
        default: usage(stderr); return SL_EXIT_USAGE;
        }
    }
    if (argc - optind != 2) {
        sl_log_error("give the Keras model and the output prefix: seqlift convert MODEL.h5 OUT");
        usage(stderr);
        return SL_EXIT_USAGE;
    }
    return convert(argv[optind], weights, alphabet, argv[optind + 1]) < 0 ? SL_EXIT_ERROR : SL_EXIT_OK;
}
