/* replay.c — main() for the fuzz targets in the normal build: runs the target once on
 * every file given, or on every file of every directory given (sorted by name), as
 * libFuzzer would run a corpus. A crash or sanitizer report fails the ctest test;
 * the targets' error lines on stderr are expected. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int run_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return -1;
    }
    size_t n = 0, m = 4096;
    uint8_t *d = malloc(m);
    size_t r;
    while (d && (r = fread(d + n, 1, m - n, fp)) > 0) {
        n += r;
        uint8_t *t = n == m ? realloc(d, m *= 2) : d;
        if (!t) free(d);
        d = t;
    }
    fclose(fp);
    if (!d) return -1;
    /* an exact-size copy, so that reading past the input is caught as under libFuzzer */
    uint8_t *x = malloc(n ? n : 1);
    if (!x) return -1;
    memcpy(x, d, n);
    free(d);
    LLVMFuzzerTestOneInput(x, n);
    free(x);
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    int runs = 0, bad = 0;
    if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s: not found\n", argv[i]);
            return 1;
        }
        if (!S_ISDIR(st.st_mode)) {
            bad += run_file(argv[i]) < 0;
            runs++;
            continue;
        }
        DIR *dir = opendir(argv[i]);
        struct dirent *e;
        char **names = NULL;
        size_t n = 0;
        while (dir && (e = readdir(dir))) {
            if (e->d_name[0] == '.') continue;
            names = realloc(names, (n + 1) * sizeof *names);
            size_t len = strlen(argv[i]) + strlen(e->d_name) + 2;
            names[n] = malloc(len);
            snprintf(names[n++], len, "%s/%s", argv[i], e->d_name);
        }
        if (dir) closedir(dir);
        qsort(names, n, sizeof *names, by_name);
        for (size_t k = 0; k < n; k++) {
            bad += run_file(names[k]) < 0;
            runs++;
            free(names[k]);
        }
        free(names);
    }
    fprintf(stderr, "replay: %d inputs, %d unreadable\n", runs, bad);
    return bad ? 1 : 0;
}
