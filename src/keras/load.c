/* load.c — Keras files to a converted model, and sl_model_load(): one entry point for
 * every model form (seqlift JSON, Keras full-model .h5, Keras JSON + weights .h5). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "keras/keras_priv.h"
#include "seqlift/util.h"

static const unsigned char HDF5_SIG[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};

/* The HDF5 superblock sits at 0, 512, 1024, 2048, ... (after a user block). */
static int has_sig(const unsigned char *buf, size_t len)
{
    for (size_t off = 0; off + 8 <= len; off = off ? 2 * off : 512)
        if (memcmp(buf + off, HDF5_SIG, 8) == 0) return 1;
    return 0;
}

int sl_keras_is_hdf5(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        sl_log_error("%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    unsigned char b[8];
    int found = 0;
    for (long off = 0; !found && off <= (1L << 20); off = off ? 2 * off : 512) {
        if (fseek(fp, off, SEEK_SET) != 0 || fread(b, 1, 8, fp) != 8) break;
        found = memcmp(b, HDF5_SIG, 8) == 0;
    }
    fclose(fp);
    return found;
}

void sl_keras_conv_free(sl_keras_conv_t *c)
{
    if (!c) return;
    free(c->json);
    free(c->st);
    memset(c, 0, sizeof *c);
}

/* Convert from an open HDF5 file f: arch NULL means f is a full-model file. */
static int convert_open(const kh5_file_t *f, const char *arch, size_t arch_len, const char *arch_label,
                        const char *alphabet, sl_keras_conv_t *out)
{
    const char *h5_label = f->label;
    char *cfg = NULL, *ver = NULL;
    hid_t g = -1;
    int ret = -1;
    if (!arch) {
        int r = kh5_attr_str(f, f->id, "model_config", h5_label, &cfg);
        if (r < 0) goto done;
        if (r == 0) {
            sl_log_error("%s: no 'model_config' attribute: not a Keras full-model file (a save_weights file "
                         "is read as the weights of its architecture JSON)", h5_label);
            goto done;
        }
        if ((r = kh5_has_group(f, f->id, "model_weights")) <= 0) {
            if (r == 0) sl_log_error("%s: no 'model_weights' group (a model saved without weights?)", h5_label);
            goto done;
        }
        arch = cfg, arch_len = strlen(cfg), arch_label = h5_label;
    }
    /* a full-model file also serves as the weights of an architecture JSON */
    int full = kh5_has_group(f, f->id, "model_weights");
    if (full < 0) goto done;
    if ((g = H5Gopen2(f->id, full ? "model_weights" : "/", H5P_DEFAULT)) < 0) {
        sl_log_error("%s: cannot open the weights group", h5_label);
        goto done;
    }
    if (kh5_attr_str(f, g, "keras_version", h5_label, &ver) < 0) goto done;
    ret = kconv_run(arch_label, h5_label, arch, arch_len, f, g, ver, alphabet, out);
done:
    if (g >= 0) H5Gclose(g);
    free(cfg);
    free(ver);
    return ret;
}

/* Convert, then close f (which also checks that nothing of it was left open). */
static int convert_close(kh5_file_t *f, const char *arch, size_t arch_len, const char *arch_label,
                         const char *alphabet, sl_keras_conv_t *out)
{
    int r = convert_open(f, arch, arch_len, arch_label, alphabet, out);
    if (kh5_close(f) < 0 && r == 0) {
        sl_keras_conv_free(out);
        r = -1;
    }
    return r;
}

int sl_keras_convert_mem(const void *h5, size_t h5_len, const char *arch_json, size_t arch_len,
                         const char *alphabet, const char *label, sl_keras_conv_t *out)
{
    memset(out, 0, sizeof *out);
    if (!label) label = "model";
    if (!h5 || !has_sig(h5, h5_len)) {
        sl_log_error("%s: not an HDF5 file (no HDF5 signature)", label);
        return -1;
    }
    kh5_file_t f;
    if (kh5_open(&f, label, h5, h5_len) < 0) return -1;
    return convert_close(&f, arch_json, arch_len, label, alphabet, out);
}

int sl_keras_convert(const char *path, const char *weights_path, const char *alphabet, sl_keras_conv_t *out)
{
    memset(out, 0, sizeof *out);
    const char *h5 = weights_path ? weights_path : path;
    char *arch = NULL;
    size_t arch_len = 0;
    int s = sl_keras_is_hdf5(h5);
    if (s < 0) return -1;
    if (!s) {
        sl_log_error("%s: not an HDF5 file (no HDF5 signature)", h5);
        return -1;
    }
    if (weights_path && !(arch = sl_read_file(path, &arch_len))) return -1;
    kh5_file_t f;
    int r = kh5_open(&f, h5, NULL, 0) < 0 ? -1 : convert_close(&f, arch, arch_len, path, alphabet, out);
    free(arch);
    return r;
}

sl_net_t *sl_model_load(const char *path, const char *weights_path, const char *alphabet)
{
    int h5 = sl_keras_is_hdf5(path);
    if (h5 < 0) return NULL;
    if (!h5) { /* JSON: seqlift's own, or a Keras architecture */
        size_t len = 0;
        char *text = sl_read_file(path, &len);
        if (!text) return NULL;
        cJSON *root = cJSON_ParseWithLength(text, len);
        const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(root, "format");
        int native = !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(root, "class_name"))
                     || cJSON_IsString(fmt);
        cJSON_Delete(root);
        free(text);
        if (native) {
            if (weights_path) {
                sl_log_error("%s: a seqlift model names its safetensors file itself; a weights file is for a "
                             "Keras architecture JSON", path);
                return NULL;
            }
            if (alphabet && strcmp(alphabet, "ACGT") != 0) {
                sl_log_error("%s: a seqlift model is always ACGT; channel order '%s' is for Keras models", path,
                             alphabet);
                return NULL;
            }
            return sl_net_load(path);
        }
        if (!weights_path) {
            sl_log_error("%s: a Keras architecture JSON needs its weights file (the save_weights .h5)", path);
            return NULL;
        }
    } else if (weights_path) {
        sl_log_error("%s: a Keras full-model .h5 holds its weights; a weights file is for an architecture JSON",
                     path);
        return NULL;
    }
    sl_keras_conv_t conv;
    if (sl_keras_convert(path, weights_path, alphabet, &conv) < 0) return NULL;
    sl_net_t *net = sl_net_load_mem(conv.json, conv.json_len, conv.st, conv.st_len, weights_path ? weights_path : path);
    sl_keras_conv_free(&conv);
    return net;
}
