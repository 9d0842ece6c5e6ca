/* bench_sgemm: the sgemm roofline of scripts/bench_score, timed on a model's own GEMM shapes.
 *
 *   bench_sgemm THREADS SECONDS < SHAPES    one line per shape: M N K TRANSB (0: C = A B,
 *                                           1: C = A B^T; row-major, as the engine calls it);
 *                                           prints each line back with the seconds per call
 *   bench_sgemm --config                    OpenBLAS's build config, core name, processors
 *   bench_sgemm --rss FILE CMD [ARG...]     runs CMD, writes its peak RSS (kB) to FILE, exits
 *                                           with its status: a clean parent, since a child of
 *                                           the bench's large Python process would inherit that
 *                                           process's high-water mark when it execs
 *
 * THREADS threads run the same shape at once, each on its own buffers with OpenBLAS held at
 * one thread (one worker per core, as `seqlift score --threads` runs), pinned to core i when
 * there are enough cores. Each shape is called once to warm the caches and the library, then
 * repeatedly for about SECONDS; the time per call is the wall time of all threads over the
 * repetitions (so THREADS calls finish in that time). OpenBLAS's buffers are mapped
 * first (prefault_slots). Build:
 *   cc -O2 scripts/bench_sgemm.c $(pkg-config --cflags --libs openblas) -lpthread
 */
#define _GNU_SOURCE
#include <cblas.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* not in every cblas.h */
extern char *openblas_get_config(void);
extern char *openblas_get_corename(void);
extern int openblas_get_num_procs(void);
extern void openblas_set_num_threads(int);

/* OpenBLAS's buffer slots (driver/others/memory.c; exported, not in cblas.h): weak, so
 * a BLAS without them still links */
extern void *blas_memory_alloc(int) __attribute__((weak));
extern void blas_memory_free(void *) __attribute__((weak));

/* Every buffer slot `n` concurrent callers can take, read page by page once before
 * timing. OpenBLAS 0.3.21's Haswell/Zen sgemm kernel prefetches past the packed B panel
 * into slot pages never touched, and in a VM (AMD EPYC, Firecracker) each such prefetch
 * cost ~100 ns against ~2 on a mapped page: the convs' shapes ran at 8-13 GFLOP/s, 16-31
 * once their slot's pages were mapped (a read maps the zero page; slots are never
 * unmapped, so it lasts). Without it the bound would be OpenBLAS's cold state, not its
 * roofline. The first 8 MB: the packed panels of these shapes (4·320·M bytes, M up to a
 * few thousand) are within them and every OpenBLAS build's slot is larger. */
static pthread_barrier_t held;
static void *hold_slot(void *arg)
{
    (void)arg;
    volatile char *p = blas_memory_alloc(0);
    for (size_t o = 0; p && o < (8u << 20); o += 4096) (void)p[o];
    pthread_barrier_wait(&held); /* all held at once: each caller its own slot */
    if (p) blas_memory_free((void *)p);
    return NULL;
}

static void prefault_slots(int n)
{
    if (!blas_memory_alloc || !blas_memory_free) return;
    pthread_t tid[256];
    pthread_barrier_init(&held, NULL, (unsigned)n);
    int started = 0;
    for (; started < n - 1; started++)
        if (pthread_create(&tid[started], NULL, hold_slot, NULL)) break;
    if (started < n - 1) { /* the barrier would never open: leave them cold */
        fprintf(stderr, "bench_sgemm: cannot start %d threads\n", n);
        exit(1);
    }
    hold_slot(NULL);
    for (int i = 0; i < started; i++) pthread_join(tid[i], NULL);
    pthread_barrier_destroy(&held);
}

typedef struct {
    int id, m, n, k, tb;
    long reps;
    float *a, *b, *c;
    pthread_barrier_t *start, *done;
} job_t;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static void gemm(const job_t *j)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, j->tb ? CblasTrans : CblasNoTrans, j->m, j->n, j->k, 1.0f, j->a,
                j->k, j->b, j->tb ? j->k : j->n, 0.0f, j->c, j->n);
}

static void *worker(void *arg)
{
    job_t *j = arg;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (ncpu > 1 && j->id < ncpu) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(j->id, &set);
        pthread_setaffinity_np(pthread_self(), sizeof set, &set); /* best effort */
    }
    gemm(j); /* warm */
    pthread_barrier_wait(j->start);
    for (long r = 0; r < j->reps; r++) gemm(j);
    pthread_barrier_wait(j->done);
    return NULL;
}

static float *filled(size_t n, unsigned seed)
{
    float *p = malloc(n * sizeof *p);
    if (!p) return NULL;
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (float)((seed >> 8) & 0xffff) / 65536.0f - 0.5f;
    }
    return p;
}

/* Seconds per call of shape (m, n, k, tb) with `threads` concurrent callers; < 0 on failure. */
static double time_shape(int threads, double seconds, int m, int n, int k, int tb)
{
    job_t *jobs = calloc((size_t)threads, sizeof *jobs);
    pthread_t *tid = calloc((size_t)threads, sizeof *tid);
    pthread_barrier_t start, done;
    double dt = -1.0;
    int ok = jobs && tid;
    for (int i = 0; ok && i < threads; i++) {
        jobs[i] = (job_t){i, m, n, k, tb, 0, filled((size_t)m * k, 1u + i), filled((size_t)k * n, 7u + i),
                          filled((size_t)m * n, 13u + i), &start, &done};
        ok = jobs[i].a && jobs[i].b && jobs[i].c;
    }
    if (ok) {
        /* calibrate on one call so the timed loop lasts about `seconds` */
        double t0 = now();
        gemm(&jobs[0]);
        gemm(&jobs[0]);
        double one = (now() - t0) / 2;
        long reps = one > 0 ? (long)(seconds / one) : 1000000;
        if (reps < 3) reps = 3;
        if (reps > 1000000) reps = 1000000;
        for (int i = 0; i < threads; i++) jobs[i].reps = reps;
        pthread_barrier_init(&start, NULL, (unsigned)threads + 1);
        pthread_barrier_init(&done, NULL, (unsigned)threads + 1);
        int started = 0;
        for (; started < threads; started++)
            if (pthread_create(&tid[started], NULL, worker, &jobs[started])) break;
        if (started == threads) {
            pthread_barrier_wait(&start);
            t0 = now();
            pthread_barrier_wait(&done);
            dt = (now() - t0) / reps;
        } else {
            fprintf(stderr, "bench_sgemm: cannot start %d threads\n", threads);
            exit(1); /* the barriers would never open */
        }
        for (int i = 0; i < threads; i++) pthread_join(tid[i], NULL);
        pthread_barrier_destroy(&start);
        pthread_barrier_destroy(&done);
    }
    for (int i = 0; jobs && i < threads; i++) {
        free(jobs[i].a);
        free(jobs[i].b);
        free(jobs[i].c);
    }
    free(jobs);
    free(tid);
    return dt;
}

static int run_rss(const char *out, char **cmd)
{
    pid_t pid = fork();
    if (pid < 0) {
        perror("bench_sgemm: fork");
        return 1;
    }
    if (pid == 0) {
        execvp(cmd[0], cmd);
        fprintf(stderr, "bench_sgemm: cannot run %s\n", cmd[0]);
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0) {
        perror("bench_sgemm: wait4");
        return 1;
    }
    FILE *f = fopen(out, "w");
    if (!f || fprintf(f, "%ld\n", ru.ru_maxrss) < 0 || fclose(f)) {
        fprintf(stderr, "bench_sgemm: cannot write %s\n", out);
        return 1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(int argc, char **argv)
{
    if (argc >= 4 && !strcmp(argv[1], "--rss")) return run_rss(argv[2], argv + 3);
    if (argc == 2 && !strcmp(argv[1], "--config")) {
        printf("%s\t%s\t%d\n", openblas_get_config(), openblas_get_corename(), openblas_get_num_procs());
        return 0;
    }
    if (argc != 3) {
        fprintf(stderr, "usage: bench_sgemm THREADS SECONDS < SHAPES (lines: M N K TRANSB)\n"
                        "       bench_sgemm --config\n"
                        "       bench_sgemm --rss FILE CMD [ARG...]\n");
        return 2;
    }
    int threads = atoi(argv[1]);
    double seconds = atof(argv[2]);
    if (threads < 1 || threads > 256 || !(seconds > 0)) {
        fprintf(stderr, "bench_sgemm: THREADS must be 1..256 and SECONDS > 0\n");
        return 2;
    }
    openblas_set_num_threads(1);
    prefault_slots(threads + 1); /* the workers and the calibrating main thread */
    char line[256];
    int lineno = 0;
    while (fgets(line, sizeof line, stdin)) {
        int m, n, k, tb;
        lineno++;
        if (sscanf(line, "%d %d %d %d", &m, &n, &k, &tb) != 4 || m < 1 || n < 1 || k < 1 || (tb != 0 && tb != 1)
            || (double)m * k > 1e9 || (double)k * n > 1e9 || (double)m * n > 1e9) {
            fprintf(stderr, "bench_sgemm: stdin line %d: want M N K TRANSB (positive sizes, TRANSB 0 or 1)\n",
                    lineno);
            return 1;
        }
        double dt = time_shape(threads, seconds, m, n, k, tb);
        if (dt < 0) {
            fprintf(stderr, "bench_sgemm: stdin line %d: out of memory for %d x %d x %d\n", lineno, m, n, k);
            return 1;
        }
        printf("%d %d %d %d %.9g\n", m, n, k, tb, dt);
        fflush(stdout);
    }
    return 0;
}
