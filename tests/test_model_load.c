/* test_model_load.c — the loader on hostile and broken model files: each gets NULL
 * and exactly one error line naming the file and the tensor or layer; random byte
 * flips never crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "seqlift/model.h"
#include "seqlift/util.h"
#include "support/model_builder.h"

#include <sys/stat.h>

static char tmpdir[512];
static const char *tmp_dir(void)
{
    if (!tmpdir[0]) {
        const char *t = getenv("SEQLIFT_TMP");
        snprintf(tmpdir, sizeof tmpdir, "%s", t && *t ? t : "build/test_tmp");
        mkdir(tmpdir, 0777);
    }
    return tmpdir;
}

/* Load (from `path`, or from memory when path is NULL) with stderr captured into err. */
static sl_net_t *load_capture_any(const char *path_json, const char *json, size_t jl, const void *st, size_t sl,
                                  char *err, size_t errsz)
{
    char path[600];
    snprintf(path, sizeof path, "%s/model_load_err.XXXXXX", tmp_dir());
    fflush(stderr);
    int fd = mkstemp(path), saved = dup(2);
    assert_true(fd >= 0 && saved >= 0);
    dup2(fd, 2);
    sl_net_t *net = path_json ? sl_net_load(path_json) : sl_net_load_mem(json, jl, st, sl, "m.json");
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    lseek(fd, 0, SEEK_SET);
    ssize_t n = read(fd, err, errsz - 1);
    err[n > 0 ? n : 0] = 0;
    close(fd);
    unlink(path);
    return net;
}

static sl_net_t *load_capture(const char *json, size_t jl, const void *st, size_t sl, char *err, size_t errsz)
{
    return load_capture_any(NULL, json, jl, st, sl, err, errsz);
}

/* The load fails with one line containing every needle (NULL-terminated list). */
static void expect_fail_v(const char *json, size_t jl, const void *st, size_t sl, const char *const *needles)
{
    char err[4096];
    sl_net_t *net = load_capture(json, jl, st, sl, err, sizeof err);
    if (net) {
        sl_net_destroy(net);
        fail_msg("loaded although it should fail (expected '%s')", needles[0]);
    }
    if (getenv("SHOW_ERRORS")) fputs(err, stdout); /* to read the messages */
    char *nl = strchr(err, '\n');
    if (!nl || nl[1] != 0) fail_msg("want exactly one error line, got '%s'", err);
    for (int i = 0; needles[i]; i++)
        if (!strstr(err, needles[i])) fail_msg("error '%s' lacks '%s'", err, needles[i]);
}
#define expect_fail(json, jl, st, sl, ...)                                                                    \
    do {                                                                                                     \
        const char *nd_[] = {__VA_ARGS__, NULL};                                                             \
        expect_fail_v(json, jl, st, sl, nd_);                                                                \
    } while (0)

static sl_mb_t *base_model(void)
{
    sl_mb_t *mb = sl_mb_create(20, 5);
    sl_mb_conv1d(mb, "c1", "input", 4, 6, 5, 1, 1, "\"valid\"", 1);
    sl_mb_op(mb, "r1", "relu", "c1", "");
    sl_mb_op(mb, "gp", "global_avgpool", "r1", "");
    sl_mb_dense(mb, "d1", "gp", 6, 2, 1);
    sl_mb_output(mb, "out", "d1");
    return mb;
}

/* A JSON text with `from` replaced by `to` (first occurrence; must exist). */
static char *json_replace(const char *json, const char *from, const char *to)
{
    const char *p = strstr(json, from);
    assert_non_null(p);
    char *s = malloc(strlen(json) + strlen(to) + 1);
    memcpy(s, json, (size_t)(p - json));
    strcpy(s + (p - json), to);
    strcat(s, p + strlen(from));
    return s;
}

static void test_base_loads_and_from_file(void **state)
{
    (void)state;
    sl_mb_t *mb = base_model();
    sl_net_t *net = sl_mb_load(mb);
    assert_non_null(net);
    sl_net_destroy(net);
    char dir[600];
    snprintf(dir, sizeof dir, "%s/model_load", tmp_dir());
    char *path = sl_mb_write(mb, dir, "base");
    net = sl_net_load(path);
    assert_non_null(net);
    assert_int_equal(net->n_layers, 5);
    assert_int_equal(net->in_len, 20);
    assert_string_equal(net->layers[4].name, "d1");
    sl_net_destroy(net);
    /* the weights file is missing */
    char wpath[700];
    snprintf(wpath, sizeof wpath, "%s/base.safetensors", dir);
    assert_int_equal(unlink(wpath), 0);
    char err[4096];
    net = load_capture_any(path, NULL, 0, NULL, 0, err, sizeof err);
    assert_null(net);
    assert_non_null(strstr(err, "base.safetensors"));
    /* the weights name a directory: refused as such, not as a huge allocation */
    assert_int_equal(mkdir(wpath, 0755), 0);
    net = load_capture_any(path, NULL, 0, NULL, 0, err, sizeof err);
    assert_int_equal(rmdir(wpath), 0); /* before asserting: a rerun writes the file there */
    assert_null(net);
    assert_non_null(strstr(err, "not a regular file"));
    free(path);
    sl_mb_destroy(mb);
}

static void test_bad_safetensors(void **state)
{
    (void)state;
    sl_mb_t *mb = base_model();
    char *json;
    uint8_t *st;
    size_t jl, sl;
    sl_mb_build(mb, &json, &jl, &st, &sl);

    /* truncated: no header length, header cut, data cut */
    expect_fail(json, jl, st, 5, "m.json (weights)", "truncated");
    expect_fail(json, jl, st, 30, "header length");
    expect_fail(json, jl, st, sl - 4, "outside the data");
    /* header length past the end of the file */
    uint8_t *bad = malloc(sl);
    memcpy(bad, st, sl);
    bad[6] = 0x7f;
    expect_fail(json, jl, bad, sl, "header length", "past the end");
    /* header is not JSON */
    memcpy(bad, st, sl);
    bad[8] = '[';
    bad[9] = '{';
    expect_fail(json, jl, bad, sl, "not a JSON object");
    free(bad);

    /* hand-written headers over 32 bytes of data */
    float data[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    static const struct { const char *hdr, *need1, *need2; } cases[] = {
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[8],\"data_offsets\":[0,1000]}}", "'a'", "outside"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}", "overlaps", "'a'"},
        {"{\"a\":{\"dtype\":\"I32\",\"shape\":[8],\"data_offsets\":[0,32]}}", "'a'", "dtype"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,32]}}", "'a'", "32 data bytes"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],\"data_offsets\":[0,32]}}", "'a'",
         "overflow"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[-8],\"data_offsets\":[0,32]}}", "'a'", "shape"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[8.5],\"data_offsets\":[0,32]}}", "'a'", "shape"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[8],\"data_offsets\":[16,8]}}", "'a'", "data_offsets"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[8]}}", "'a'", "data_offsets"},
        {"{\"a\":[1,2]}", "'a'", "dtype"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t rl;
        uint8_t *raw = sl_mb_safetensors_raw(cases[i].hdr, data, sizeof data, &rl);
        expect_fail(json, jl, raw, rl, cases[i].need1, cases[i].need2);
        free(raw);
    }
    free(json);
    free(st);
    sl_mb_destroy(mb);
}

static void test_bad_tensors(void **state)
{
    (void)state;
    char *json;
    uint8_t *st;
    size_t jl, sl;
    /* wrong shape: the file's conv weight is [6][4][4], the layer says kernel 5 */
    sl_mb_t *mb = base_model();
    sl_mb_build(mb, &json, &jl, &st, &sl);
    char *j2 = json_replace(json, "\"kernel_size\":\t5", "\"kernel_size\":\t4");
    /* in_channels 4 but the tensor is [6][4][5] */
    expect_fail(j2, strlen(j2), st, sl, "c1.weight", "shape [6,4,5], expected [6,4,4]");
    free(j2);
    /* missing tensor */
    j2 = json_replace(json, "\"d1.weight\"", "\"nope.weight\"");
    expect_fail(j2, strlen(j2), st, sl, "nope.weight", "d1", "missing");
    free(j2);
    /* a tensor attribute that is not a string */
    j2 = json_replace(json, "\"d1.weight\"", "17");
    expect_fail(j2, strlen(j2), st, sl, "d1", "weight");
    free(j2);
    free(json);
    free(st);
    sl_mb_destroy(mb);

    /* NaN and Inf weights, in F32 and F16 */
    for (int half = 0; half < 2; half++) {
        for (int k = 0; k < 2; k++) {
            mb = base_model();
            float *b = sl_mb_data(mb, "d1.bias");
            b[1] = k ? INFINITY : NAN;
            if (half) sl_mb_set_dtype(mb, "F16");
            sl_mb_build(mb, &json, &jl, &st, &sl);
            expect_fail(json, jl, st, sl, "d1.bias", "non-finite", "element 1");
            free(json);
            free(st);
            sl_mb_destroy(mb);
        }
    }
    /* a BF16 file is fine */
    mb = base_model();
    sl_mb_set_dtype(mb, "BF16");
    sl_net_t *net = sl_mb_load(mb);
    assert_non_null(net);
    sl_net_destroy(net);
    sl_mb_destroy(mb);
}

static void test_bad_graph(void **state)
{
    (void)state;
    sl_mb_t *mb = base_model();
    char *json;
    uint8_t *st;
    size_t jl, sl;
    sl_mb_build(mb, &json, &jl, &st, &sl);
    static const struct { const char *from, *to, *need1, *need2; } cases[] = {
        {"\"op\":\t\"relu\"", "\"op\":\t\"swish\"", "r1", "unknown op 'swish'"},
        {"\"name\":\t\"r1\"", "\"name\":\t\"c1\"", "'c1'", "used twice"},
        {"\"inputs\":\t[\"r1\"]", "\"inputs\":\t[\"d1\"]", "gp", "'d1' is not an earlier layer"},
        {"\"inputs\":\t[\"r1\"]", "\"inputs\":\t[\"gp\"]", "gp", "not an earlier layer"},
        {"\"inputs\":\t[\"c1\"]", "\"inputs\":\t[]", "r1", "inputs"},
        {"\"in_channels\":\t4", "\"in_channels\":\t5", "c1", "in_channels 5"},
        {"\"in_features\":\t6", "\"in_features\":\t7", "d1", "in_features 7"},
        {"\"kernel_size\":\t5", "\"kernel_size\":\t25", "c1", "shorter than the kernel"},
        {"\"stride\":\t1", "\"stride\":\t0", "c1", "stride"},
        {"\"padding\":\t\"valid\"", "\"padding\":\t\"full\"", "c1", "padding"},
        {"\"layer\":\t\"d1\"", "\"layer\":\t\"zz\"", "out", "'zz' does not exist"},
        {"\"seqlift-model\"", "\"other\"", "m.json", "format"},
        {"\"version\":\t1", "\"version\":\t2", "m.json", "version"},
        {"\"length\":\t20", "\"length\":\t0", "input", "length"},
        {"\"alphabet\":\t\"ACGT\"", "\"alphabet\":\t\"TGCA\"", "m.json", "ACGT"},
        {"\"op\":\t\"conv1d\"", "\"op\":\t7", "c1", "op"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *j2 = json_replace(json, cases[i].from, cases[i].to);
        expect_fail(j2, strlen(j2), st, sl, cases[i].need1, cases[i].need2);
        free(j2);
    }
    /* bad JSON */
    expect_fail(json, jl / 2, st, sl, "m.json", "not valid JSON");
    free(json);
    free(st);
    sl_mb_destroy(mb);

    /* shape mismatch in add and concat, a layer named like the input */
    mb = base_model();
    sl_mb_conv1d(mb, "c2", "input", 4, 6, 3, 1, 1, "\"valid\"", 0);
    sl_mb_layer(mb, "{\"name\":\"s\",\"op\":\"add\",\"inputs\":[\"c1\",\"c2\"]}");
    sl_mb_build(mb, &json, &jl, &st, &sl);
    expect_fail(json, jl, st, sl, "'s'", "shapes differ");
    char *j2 = json_replace(json, "\"op\":\t\"add\"", "\"op\":\t\"concat\", \"axis\": \"channel\"");
    expect_fail(j2, strlen(j2), st, sl, "'s'", "shapes differ");
    free(j2);
    j2 = json_replace(json, "\"name\":\t\"s\"", "\"name\":\t\"input\"");
    expect_fail(j2, strlen(j2), st, sl, "'input'", "used twice");
    free(j2);
    free(json);
    free(st);
    sl_mb_destroy(mb);
}

/* Random byte flips over both files: never a crash, never a half-built net. */
static void test_fuzz(void **state)
{
    (void)state;
    sl_mb_t *mb = base_model();
    char *json;
    uint8_t *st;
    size_t jl, sl;
    sl_mb_build(mb, &json, &jl, &st, &sl);
    char *j = malloc(jl);
    uint8_t *s = malloc(sl);
    uint64_t rng = 42;
    int loaded = 0, iters = 3000;
    sl_log_level_t v = sl_log_get_level();
    const char *e = getenv("SEQLIFT_FUZZ_ITERS"); /* longer runs by hand, e.g. under ASan */
    if (e && atoi(e) > 0) iters = atoi(e);
    FILE *saved = stderr;
    stderr = fopen("/dev/null", "w");
    for (int it = 0; it < iters; it++) {
        memcpy(j, json, jl);
        memcpy(s, st, sl);
        int flips = 1 + (int)(sl_splitmix64(&rng) % 4);
        for (int f = 0; f < flips; f++) {
            uint64_t r = sl_splitmix64(&rng);
            if (r & 1) j[(r >> 8) % jl] = (char)(r >> 40);
            else s[(r >> 8) % (sl < 200 ? sl : 200)] = (uint8_t)(r >> 40); /* mostly the header */
        }
        size_t cut = (sl_splitmix64(&rng) % 8 == 0) ? sl_splitmix64(&rng) % sl : sl;
        sl_net_t *net = sl_net_load_mem(j, jl, s, cut, "fuzz");
        if (net) {
            loaded++;
            sl_acts_t *a = sl_acts_create(net, 1);
            float x[20 * 4] = {0};
            if (a && net->in_len == 20) sl_net_forward(net, a, x, 1);
            sl_acts_destroy(a);
            sl_net_destroy(net);
        }
    }
    fclose(stderr);
    stderr = saved;
    sl_log_set_level(v);
    assert_true(loaded > 0 && loaded < iters);
    free(j);
    free(s);
    free(json);
    free(st);
    sl_mb_destroy(mb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base_loads_and_from_file),
        cmocka_unit_test(test_bad_safetensors),
        cmocka_unit_test(test_bad_tensors),
        cmocka_unit_test(test_bad_graph),
        cmocka_unit_test(test_fuzz),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
