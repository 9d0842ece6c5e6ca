/* bench_engine.c — forward-pass throughput of the C engine (sequences/second), through
 * the same batched, threaded path as `seqlift predict` (sl_net_predict), on random
 * one-hot input. Not a ctest test; build and run with scripts/bench_engine.sh.
 *
 *   bench_engine make-bpnet DIR     write DIR/bpnet.json/.safetensors (random weights)
 *   bench_engine make-basset DIR    write DIR/basset.json/.safetensors
 *   bench_engine run MODEL.json [THREADS] [SECONDS] [BATCH]
 *                                   prints "<model> threads=T batch=B seqs/s=X"
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "seqlift/model.h"
#include "seqlift/util.h"
#include "support/model_builder.h"

/* Weights of scale ~ 1/sqrt(fan_in) (a power of two) keep activations tame. */
static void fan_in_scale(sl_mb_t *mb, int fan_in)
{
    sl_mb_set_scale(mb, ldexpf(1.0f, -(int)lround(log2(sqrt((double)fan_in)))));
}

/* BPNet: conv 64 k=21 valid, 8 dilated residual convs (k=3, dilation 2..256, crop + add),
 * profile head conv k=75 -> 1000 bp, count head global avgpool + dense. */
static sl_mb_t *make_bpnet(void)
{
    sl_mb_t *mb = sl_mb_create(2114, 1);
    char prev[64] = "r0", name[64], crop[64], sum[64], act[64];
    int len = 2094;
    fan_in_scale(mb, 4 * 21);
    sl_mb_conv1d(mb, "c0", "input", 4, 64, 21, 1, 1, "\"valid\"", 1);
    sl_mb_op(mb, "r0", "relu", "c0", "");
    for (int i = 1; i <= 8; i++) {
        int d = 1 << i;
        snprintf(name, sizeof name, "c%d", i);
        snprintf(act, sizeof act, "r%d", i);
        snprintf(crop, sizeof crop, "crop%d", i);
        snprintf(sum, sizeof sum, "add%d", i);
        fan_in_scale(mb, 64 * 3);
        sl_mb_conv1d(mb, name, prev, 64, 64, 3, 1, d, "\"valid\"", 1);
        sl_mb_op(mb, act, "relu", name, "");
        char attr[64];
        snprintf(attr, sizeof attr, "\"start\":%d,\"stop\":%d", d, len - d);
        sl_mb_op(mb, crop, "crop", prev, attr);
        sl_mb_layer(mb, "{\"name\":\"%s\",\"op\":\"add\",\"inputs\":[\"%s\",\"%s\"]}", sum, crop, act);
        len -= 2 * d;
        snprintf(prev, sizeof prev, "%s", sum);
    }
    fan_in_scale(mb, 64 * 75);
    sl_mb_conv1d(mb, "profile", prev, 64, 1, 75, 1, 1, "\"valid\"", 1);
    sl_mb_op(mb, "gap", "global_avgpool", prev, "");
    fan_in_scale(mb, 64);
    sl_mb_dense(mb, "count", "gap", 64, 1, 1);
    sl_mb_output(mb, "profile", "profile");
    sl_mb_output(mb, "count", "count");
    return mb;
}

/* Basset: conv 300 k=19 / bn / relu / maxpool 3, conv 200 k=11 / bn / relu / maxpool 4,
 * conv 200 k=7 / bn / relu / maxpool 4, flatten, dense 1000, dense 1000, dense 164. */
static sl_mb_t *make_basset(void)
{
    sl_mb_t *mb = sl_mb_create(600, 2);
    fan_in_scale(mb, 4 * 19);
    sl_mb_conv1d(mb, "c1", "input", 4, 300, 19, 1, 1, "\"valid\"", 1);
    sl_mb_batchnorm(mb, "bn1", "c1", 300, 1e-5);
    sl_mb_op(mb, "r1", "relu", "bn1", "");
    sl_mb_op(mb, "p1", "maxpool1d", "r1", "\"kernel_size\":3");
    fan_in_scale(mb, 300 * 11);
    sl_mb_conv1d(mb, "c2", "p1", 300, 200, 11, 1, 1, "\"valid\"", 1);
    sl_mb_batchnorm(mb, "bn2", "c2", 200, 1e-5);
    sl_mb_op(mb, "r2", "relu", "bn2", "");
    sl_mb_op(mb, "p2", "maxpool1d", "r2", "\"kernel_size\":4");
    fan_in_scale(mb, 200 * 7);
    sl_mb_conv1d(mb, "c3", "p2", 200, 200, 7, 1, 1, "\"valid\"", 1);
    sl_mb_batchnorm(mb, "bn3", "c3", 200, 1e-5);
    sl_mb_op(mb, "r3", "relu", "bn3", "");
    sl_mb_op(mb, "p3", "maxpool1d", "r3", "\"kernel_size\":4");
    sl_mb_op(mb, "fl", "flatten", "p3", "\"order\":\"channel_first\"");
    fan_in_scale(mb, 2000);
    sl_mb_dense(mb, "d1", "fl", 2000, 1000, 1);
    sl_mb_op(mb, "dr1", "relu", "d1", "");
    fan_in_scale(mb, 1000);
    sl_mb_dense(mb, "d2", "dr1", 1000, 1000, 1);
    sl_mb_op(mb, "dr2", "relu", "d2", "");
    sl_mb_dense(mb, "d3", "dr2", 1000, 164, 1);
    sl_mb_output(mb, "logits", "d3");
    return mb;
}

/* CPU time of this thread: per-layer profiles on a shared machine */
static double cpu_seconds_of(clockid_t clk)
{
    struct timespec t;
    clock_gettime(clk, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double cpu_seconds(void) { return cpu_seconds_of(CLOCK_THREAD_CPUTIME_ID); }

typedef struct {
    int len;
    uint64_t seed;
} fill_t;

static int fill(void *ud, int worker, int64_t i, float *x)
{
    fill_t *f = ud;
    uint64_t s = f->seed + (uint64_t)i;
    (void)worker;
    memset(x, 0, (size_t)f->len * 4 * sizeof(float));
    for (int p = 0; p < f->len; p++) x[p * 4 + (sl_splitmix64(&s) & 3)] = 1.0f;
    return 0;
}

static double checksum;
static int emit(void *ud, int64_t i, const float *v)
{
    (void)ud, (void)i;
    checksum += v[0];
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && (strcmp(argv[1], "make-bpnet") == 0 || strcmp(argv[1], "make-basset") == 0)) {
        int bp = strcmp(argv[1], "make-bpnet") == 0;
        sl_mb_t *mb = bp ? make_bpnet() : make_basset();
        char *path = sl_mb_write(mb, argv[2], bp ? "bpnet" : "basset");
        printf("%s\n", path);
        free(path);
        sl_mb_destroy(mb);
        return 0;
    }
    if (argc >= 3 && strcmp(argv[1], "profile") == 0) { /* CPU time per layer, one thread */
        sl_net_t *net = sl_net_load(argv[2]);
        if (!net) return 1;
        int batch = argc > 3 ? atoi(argv[3]) : 8, iters = 5;
        sl_net_blas_threads(1);
        sl_acts_t *a = sl_acts_create(net, batch);
        fill_t f = {net->in_len, 1};
        float *x = malloc((size_t)batch * net->in_len * 4 * sizeof(float));
        double *tl = calloc((size_t)net->n_layers, sizeof(double)), total = 0;
        const float *ins[64];
        for (int b = 0; b < batch; b++) fill(&f, 0, b, x + (size_t)b * net->in_len * 4);
        sl_net_forward(net, a, x, batch);
        for (int it = 0; it < iters; it++)
            for (int l = 1; l < net->n_layers; l++) {
                for (int i = 0; i < net->layers[l].n_in; i++) ins[i] = a->act[net->layers[l].in[i]];
                double t0 = cpu_seconds();
                sl_layer_forward(net, l, ins, a->act[l], batch, a);
                tl[l] += cpu_seconds() - t0;
            }
        for (int l = 1; l < net->n_layers; l++) total += tl[l];
        for (int l = 1; l < net->n_layers; l++)
            printf("%-10s [%5d][%4d] %8.3f ms/seq %5.1f%%\n", net->layers[l].name, net->layers[l].len,
                   net->layers[l].ch, tl[l] / iters / batch * 1e3, 100 * tl[l] / total);
        printf("total %.3f ms/seq = %.1f seqs/s\n", total / iters / batch * 1e3, iters * batch / total);
        return 0;
    }
    if (argc < 3 || strcmp(argv[1], "run") != 0) {
        fprintf(stderr, "usage: bench_engine make-bpnet|make-basset DIR\n"
                        "       bench_engine run MODEL.json [THREADS] [SECONDS] [BATCH]\n");
        return 2;
    }
    sl_net_t *net = sl_net_load(argv[2]);
    if (!net) return 1;
    int threads = argc > 3 ? atoi(argv[3]) : 1;
    double secs = argc > 4 ? atof(argv[4]) : 5.0;
    int batch = argc > 5 ? atoi(argv[5]) : 0;
    if (threads < 1) threads = 1;
    if (batch < 1) batch = sl_net_auto_batch(net, (size_t)128 << 20);
    fill_t f = {net->in_len, 12345};
    /* warm-up, then grow the run until it takes `secs` */
    sl_net_predict(net, (int64_t)threads * batch, threads, batch, fill, emit, &f);
    int64_t n = (int64_t)threads * batch;
    double t, el, c0, cpu;
    for (;;) {
        t = sl_seconds();
        c0 = cpu_seconds_of(CLOCK_PROCESS_CPUTIME_ID);
        if (sl_net_predict(net, n, threads, batch, fill, emit, &f) < 0) return 1;
        el = sl_seconds() - t;
        cpu = cpu_seconds_of(CLOCK_PROCESS_CPUTIME_ID) - c0;
        if (el >= secs || n > ((int64_t)1 << 30)) break;
        double scale = el > 0.05 ? secs / el * 1.05 : 8;
        int64_t m = (int64_t)((double)n * (scale > 8 ? 8 : scale));
        n = (m / (threads * batch) + 1) * threads * batch;
    }
    /* seqs per CPU-second tells the engine's cost apart from the machine's load */
    printf("%s threads=%d batch=%d seqs=%lld seconds=%.2f seqs/s=%.1f seqs/cpu-s=%.1f\n", argv[2], threads, batch,
           (long long)n, el, (double)n / el, (double)n / cpu);
    sl_net_destroy(net);
    return 0;
}
