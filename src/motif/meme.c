/* meme.c — MEME minimal motif format reader (JASPAR, HOCOMOCO, MEME suite output). */
#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "seqlift/motif.h"
#include "seqlift/util.h"

#define MEME_MAX_W 1000
#define MEME_ROW_TOL 0.02
#define MEME_MAX_TOK 64

typedef struct {
    const char *text, *end, *name;
    const char *cur;
    int64_t lineno;
    char *buf;
    size_t mbuf;
    int pushed; /* the current line is to be returned again */
} reader_t;

/* Next line into r->buf without the line end (LF or CRLF). 1, 0 at EOF, -1 error. */
static int next_line(reader_t *r)
{
    if (r->pushed) {
        r->pushed = 0;
        return 1;
    }
    if (r->cur >= r->end) return 0;
    const char *e = memchr(r->cur, '\n', (size_t)(r->end - r->cur));
    size_t n = e ? (size_t)(e - r->cur) : (size_t)(r->end - r->cur);
    r->lineno++;
    if (memchr(r->cur, '\0', n)) {
        sl_log_error("%s:%lld: binary data (NUL byte), not a MEME motif file", r->name, (long long)r->lineno);
        return -1;
    }
    if (n + 1 > r->mbuf) {
        char *b = sl_realloc(r->buf, n + 1, "MEME line");
        if (!b) return -1;
        r->buf = b;
        r->mbuf = n + 1;
    }
    memcpy(r->buf, r->cur, n);
    if (n && r->buf[n - 1] == '\r') n--;
    r->buf[n] = 0;
    r->cur = e ? e + 1 : r->end;
    return 1;
}

static int is_blank(const char *s)
{
    while (*s && isspace((unsigned char)*s)) s++;
    return *s == 0;
}

/* Split s in place on whitespace; returns the count (at most MEME_MAX_TOK). */
static int tokenize(char *s, char **tok)
{
    int n = 0;
    char *save = NULL;
    for (char *t = strtok_r(s, " \t\v\f", &save); t && n < MEME_MAX_TOK; t = strtok_r(NULL, " \t\v\f", &save))
        tok[n++] = t;
    return n;
}

/* A row of exactly 4 non-negative numbers? Parses into v. 1 yes, 0 not numeric,
 * -1 numeric but malformed (reported). */
static int parse_row(reader_t *r, const char *line, double *v)
{
    char tmp[1024];
    char *tok[MEME_MAX_TOK];
    size_t n = strlen(line);
    if (n >= sizeof tmp) return 0;
    memcpy(tmp, line, n + 1);
    int nt = tokenize(tmp, tok);
    if (nt == 0) return 0;
    double d;
    if (sl_parse_double(tok[0], &d) != 0) return 0;
    if (nt != 4) {
        sl_log_error("%s:%lld: matrix row has %d values, expected 4 (A C G T)", r->name, (long long)r->lineno, nt);
        return -1;
    }
    double s = 0;
    for (int i = 0; i < 4; i++) {
        if (sl_parse_double(tok[i], &v[i]) != 0 || v[i] < 0) {
            sl_log_error("%s:%lld: bad probability '%.40s' in matrix row", r->name, (long long)r->lineno, tok[i]);
            return -1;
        }
        s += v[i];
    }
    if (fabs(s - 1.0) > MEME_ROW_TOL) {
        sl_log_error("%s:%lld: matrix row sums to %g, not 1 (tolerance %g)", r->name, (long long)r->lineno, s,
                     MEME_ROW_TOL);
        return -1;
    }
    for (int i = 0; i < 4; i++) v[i] /= s;
    return 1;
}

static int base_index(const char *t)
{
    if (t[0] == 0 || t[1] != 0) return -1;
    const char *p = strchr("ACGT", toupper((unsigned char)t[0]));
    return p ? (int)(p - "ACGT") : -1;
}

static int parse_background(reader_t *r, sl_motif_db_t *db)
{
    double v[4] = {-1, -1, -1, -1};
    int got = 0;
    while (got < 4) {
        int rc = next_line(r);
        if (rc < 0) return -1;
        if (rc == 0) {
            sl_log_error("%s:%lld: background letter frequencies incomplete at end of file", r->name,
                         (long long)r->lineno);
            return -1;
        }
        if (is_blank(r->buf)) continue;
        char *tok[MEME_MAX_TOK];
        int nt = tokenize(r->buf, tok);
        if (nt % 2 != 0) goto bad;
        for (int i = 0; i < nt; i += 2) {
            int b = base_index(tok[i]);
            double d;
            if (b < 0 || v[b] >= 0 || sl_parse_double(tok[i + 1], &d) != 0 || d <= 0 || d > 1) goto bad;
            v[b] = d;
            got++;
        }
    }
    double s = v[0] + v[1] + v[2] + v[3];
    if (fabs(s - 1.0) > MEME_ROW_TOL) {
        sl_log_error("%s:%lld: background frequencies sum to %g, not 1", r->name, (long long)r->lineno, s);
        return -1;
    }
    for (int i = 0; i < 4; i++) db->bg[i] = v[i] / s;
    return 0;
bad:
    sl_log_error("%s:%lld: bad background line (expected 'A p C p G p T p' with 0 < p <= 1)", r->name,
                 (long long)r->lineno);
    return -1;
}

/* A custom alphabet block ("ALPHABET "name" DNA-LIKE" ... "END ALPHABET"): the core
 * letters (single-letter symbol not defined with '=') must be exactly A, C, G, T. */
static int parse_alphabet_block(reader_t *r)
{
    int seen[4] = {0}, other = 0;
    int64_t start = r->lineno;
    for (;;) {
        int rc = next_line(r);
        if (rc < 0) return -1;
        if (rc == 0) {
            sl_log_error("%s:%lld: ALPHABET block without 'END ALPHABET'", r->name, (long long)start);
            return -1;
        }
        char *tok[MEME_MAX_TOK];
        int nt = tokenize(r->buf, tok);
        if (nt >= 2 && strcmp(tok[0], "END") == 0 && strcmp(tok[1], "ALPHABET") == 0) break;
        int def = 0; /* "X = ACGT": an ambiguity symbol, not a core letter */
        for (int i = 1; i < nt; i++) def |= strcmp(tok[i], "=") == 0;
        if (nt == 0 || def) continue;
        int b = base_index(tok[0]);
        if (b >= 0) seen[b] = 1;
        else if (strlen(tok[0]) == 1) other = 1;
        /* complements "X ~ Y" name a second core letter */
        for (int i = 1; i + 1 < nt; i++)
            if (strcmp(tok[i], "~") == 0) {
                int c = base_index(tok[i + 1]);
                if (c >= 0) seen[c] = 1;
                else other = 1;
            }
    }
    if (other || !(seen[0] && seen[1] && seen[2] && seen[3])) {
        sl_log_error("%s:%lld: only the DNA alphabet ACGT is supported", r->name, (long long)start);
        return -1;
    }
    return 0;
}

static void motif_free(sl_motif_t *m)
{
    free(m->id);
    free(m->name);
    free(m->url);
    free(m->p);
}

/* An E= value. MEME prints E-values of strong motifs below the double range
 * ("E= 1.7e-1034"): those underflow to 0 instead of being an error. */
static int parse_evalue(const char *s, double *out)
{
    if (sl_parse_double(s, out) == 0) return 0;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno != ERANGE || fabs(v) > DBL_MIN) return -1;
    *out = 0;
    return 0;
}

/* Matrix header "letter-probability matrix: alength= 4 w= 11 nsites= 20 E= 0" (the
 * value may follow '=' directly or after spaces). Sets *w (0 = absent). */
static int parse_matrix_header(reader_t *r, sl_motif_t *m, int *w)
{
    char *s = strchr(r->buf, ':');
    *w = 0;
    m->nsites = 20;
    m->evalue = 0;
    if (!s) goto bad;
    s++;
    /* normalise "key=value" and "key= value" to tokens key, value */
    for (char *c = s; *c; c++)
        if (*c == '=') *c = ' ';
    char *tok[MEME_MAX_TOK];
    int nt = tokenize(s, tok);
    if (nt % 2 != 0) goto bad;
    for (int i = 0; i < nt; i += 2) {
        double d;
        if ((strcmp(tok[i], "E") == 0 ? parse_evalue(tok[i + 1], &d) : sl_parse_double(tok[i + 1], &d)) != 0)
            goto bad;
        if (strcmp(tok[i], "alength") == 0) {
            if (d != 4) {
                sl_log_error("%s:%lld: alength= %g, only 4 (ACGT) is supported", r->name, (long long)r->lineno, d);
                return -1;
            }
        } else if (strcmp(tok[i], "w") == 0) {
            if (d < 1 || d > MEME_MAX_W || d != floor(d)) {
                sl_log_error("%s:%lld: bad motif width w= %g (1..%d)", r->name, (long long)r->lineno, d, MEME_MAX_W);
                return -1;
            }
            *w = (int)d;
        } else if (strcmp(tok[i], "nsites") == 0) {
            if (d <= 0) goto bad;
            m->nsites = d;
        } else if (strcmp(tok[i], "E") == 0) {
            if (d < 0) goto bad;
            m->evalue = d;
        } /* other keys are ignored */
    }
    return 0;
bad:
    sl_log_error("%s:%lld: malformed matrix header (expected 'letter-probability matrix: alength= 4 w= N ...')",
                 r->name, (long long)r->lineno);
    return -1;
}

/* Rows of a matrix: exactly w rows when w > 0, else until a non-row line (pushed back). */
static int read_rows(reader_t *r, int w, double **out, int *wout, const char *id)
{
    int n = 0, m = 0;
    double *p = NULL, v[4];
    int64_t hdr = r->lineno;
    for (;;) {
        if (w > 0 && n == w) break;
        int rc = next_line(r);
        if (rc < 0) goto fail;
        if (rc == 0) break;
        if (is_blank(r->buf)) {
            if (n == 0) continue; /* tolerated between header and first row */
            break;
        }
        rc = parse_row(r, r->buf, v);
        if (rc < 0) goto fail;
        if (rc == 0) {
            r->pushed = 1;
            break;
        }
        if (n == MEME_MAX_W) {
            sl_log_error("%s:%lld: motif %.40s is wider than %d", r->name, (long long)r->lineno, id, MEME_MAX_W);
            goto fail;
        }
        if (n == m) {
            m = m ? 2 * m : 16;
            double *q = sl_realloc(p, (size_t)m * 4 * sizeof(double), "motif matrix");
            if (!q) goto fail;
            p = q;
        }
        memcpy(p + 4 * n, v, sizeof v);
        n++;
    }
    if (n == 0 || (w > 0 && n != w)) {
        sl_log_error("%s:%lld: motif %.40s: matrix has %d rows, expected %d", r->name,
                     (long long)(n ? r->lineno : hdr), id, n, w > 0 ? w : 1);
        goto fail;
    }
    *out = p;
    *wout = n;
    return 0;
fail:
    free(p);
    return -1;
}

static int finish_motif(reader_t *r, sl_motif_t *m)
{
    if (m->id && !m->p) {
        sl_log_error("%s:%lld: motif %.40s has no letter-probability matrix", r->name, (long long)m->line, m->id);
        return -1;
    }
    return 0;
}

sl_motif_db_t *sl_motif_db_parse(const char *text, size_t len, const char *name)
{
    reader_t r = {text, text + len, name ? name : "motifs", text, 0, NULL, 0, 0};
    sl_motif_db_t *db = sl_calloc(1, sizeof(*db), "motif database");
    int mm = 0, header = 0, rc;
    if (!db) return NULL;
    if (!(db->path = sl_strdup(r.name))) goto fail;
    for (int i = 0; i < 4; i++) db->bg[i] = 0.25;
    db->both_strands = 1;
    while ((rc = next_line(&r)) > 0) {
        char *line = r.buf;
        while (isspace((unsigned char)*line)) line++;
        if (!*line) continue;
        if (!header) {
            if (strncmp(line, "MEME version", 12) != 0) {
                sl_log_error("%s:%lld: not a MEME motif file (expected 'MEME version' first)", r.name,
                             (long long)r.lineno);
                goto fail;
            }
            header = 1;
            continue;
        }
        sl_motif_t *cur = db->n ? &db->m[db->n - 1] : NULL;
        if (strncmp(line, "ALPHABET=", 9) == 0) {
            char *tok[MEME_MAX_TOK];
            int nt = tokenize(line + 9, tok);
            if (nt != 1 || strcasecmp(tok[0], "ACGT") != 0) {
                sl_log_error("%s:%lld: only 'ALPHABET= ACGT' is supported", r.name, (long long)r.lineno);
                goto fail;
            }
        } else if (strncmp(line, "ALPHABET", 8) == 0 && isspace((unsigned char)line[8])) {
            if (parse_alphabet_block(&r) < 0) goto fail;
        } else if (strncmp(line, "strands:", 8) == 0) {
            char *tok[MEME_MAX_TOK];
            int nt = tokenize(line + 8, tok), plus = 0, minus = 0;
            for (int i = 0; i < nt; i++) {
                if (strcmp(tok[i], "+") == 0) plus = 1;
                else if (strcmp(tok[i], "-") == 0) minus = 1;
                else nt = -1;
            }
            if (nt <= 0 || !plus) {
                sl_log_error("%s:%lld: bad strands line (expected 'strands: + -' or 'strands: +')", r.name,
                             (long long)r.lineno);
                goto fail;
            }
            db->both_strands = minus;
        } else if (strncmp(line, "Background letter frequencies", 29) == 0) {
            if (parse_background(&r, db) < 0) goto fail;
        } else if (strncmp(line, "MOTIF", 5) == 0 && (isspace((unsigned char)line[5]) || !line[5])) {
            char *tok[MEME_MAX_TOK];
            int nt = tokenize(line + 5, tok);
            if (cur && finish_motif(&r, cur) < 0) goto fail;
            if (nt < 1) {
                sl_log_error("%s:%lld: MOTIF line without an identifier", r.name, (long long)r.lineno);
                goto fail;
            }
            if (db->n == mm) {
                mm = mm ? 2 * mm : 64;
                sl_motif_t *q = sl_realloc(db->m, (size_t)mm * sizeof(*q), "motif list");
                if (!q) goto fail;
                db->m = q;
            }
            sl_motif_t *m = &db->m[db->n++];
            memset(m, 0, sizeof(*m));
            m->line = r.lineno;
            if (!(m->id = sl_strdup(tok[0]))) goto fail;
            if (nt >= 2 && !(m->name = sl_strdup(tok[1]))) goto fail;
        } else if (strncmp(line, "letter-probability matrix", 25) == 0) {
            int w;
            if (!cur) {
                sl_log_error("%s:%lld: matrix before any MOTIF line", r.name, (long long)r.lineno);
                goto fail;
            }
            if (cur->p) {
                sl_log_error("%s:%lld: motif %.40s has a second letter-probability matrix", r.name,
                             (long long)r.lineno, cur->id);
                goto fail;
            }
            if (parse_matrix_header(&r, cur, &w) < 0) goto fail;
            if (read_rows(&r, w, &cur->p, &cur->w, cur->id) < 0) goto fail;
        } else if (strncmp(line, "log-odds matrix", 15) == 0) {
            /* MEME output also carries log-odds matrices: skip their rows */
            while ((rc = next_line(&r)) > 0) {
                char *tok[MEME_MAX_TOK];
                double d;
                char tmp[1024];
                snprintf(tmp, sizeof tmp, "%s", r.buf);
                int nt = tokenize(tmp, tok);
                if (nt == 0 || sl_parse_double(tok[0], &d) != 0) {
                    r.pushed = 1;
                    break;
                }
            }
            if (rc < 0) goto fail;
        } else if (strncmp(line, "URL", 3) == 0 && (isspace((unsigned char)line[3]) || !line[3])) {
            char *u = line + 3;
            while (isspace((unsigned char)*u)) u++;
            if (cur && *u && !cur->url && !(cur->url = sl_strdup(u))) goto fail;
        } else {
            double v[4];
            int pr = parse_row(&r, line, v);
            if (pr < 0) goto fail;
            sl_log_error("%s:%lld: unexpected %s '%.40s'", r.name, (long long)r.lineno,
                         pr ? "matrix row outside a matrix (more rows than w=?)" : "line", line);
            goto fail;
        }
    }
    if (rc < 0) goto fail;
    if (!header) {
        sl_log_error("%s: empty file, not a MEME motif file", r.name);
        goto fail;
    }
    if (db->n && finish_motif(&r, &db->m[db->n - 1]) < 0) goto fail;
    if (db->n == 0) {
        sl_log_error("%s:%lld: no MOTIF in file", r.name, (long long)r.lineno);
        goto fail;
    }
    free(r.buf);
    return db;
fail:
    free(r.buf);
    sl_motif_db_destroy(db);
    return NULL;
}

sl_motif_db_t *sl_motif_db_read(const char *path)
{
    gzFile fp = gzopen(path, "rb");
    char *text = NULL;
    size_t n = 0, m = 0;
    sl_motif_db_t *db = NULL;
    if (!fp) {
        sl_log_error("%s: cannot open motif file: %s", path, strerror(errno ? errno : ENOENT));
        return NULL;
    }
    for (;;) {
        if (m - n < 65536) {
            m = m ? 2 * m : 65536;
            if (m > ((size_t)1 << 31)) {
                sl_log_error("%s: motif file larger than 2 GiB", path);
                goto fail;
            }
            char *t = sl_realloc(text, m, "motif file");
            if (!t) goto fail;
            text = t;
        }
        int k = gzread(fp, text + n, (unsigned)(m - n));
        if (k < 0) {
            int e;
            sl_log_error("%s: read error: %s", path, gzerror(fp, &e));
            goto fail;
        }
        if (k == 0) break;
        n += (size_t)k;
    }
    db = sl_motif_db_parse(text, n, path);
fail:
    gzclose(fp);
    free(text);
    return db;
}

void sl_motif_db_destroy(sl_motif_db_t *db)
{
    if (!db) return;
    for (int i = 0; i < db->n; i++) motif_free(&db->m[i]);
    free(db->m);
    free(db->path);
    free(db);
}

int sl_motif_db_find(const sl_motif_db_t *db, const char *id)
{
    for (int i = 0; i < db->n; i++)
        if (strcmp(db->m[i].id, id) == 0) return i;
    for (int i = 0; i < db->n; i++)
        if (db->m[i].name && strcmp(db->m[i].name, id) == 0) return i;
    return -1;
}

void sl_motif_revcomp(const double *p, int w, double *out)
{
    for (int i = 0; i < w; i++)
        for (int b = 0; b < 4; b++) out[4 * (w - 1 - i) + (3 - b)] = p[4 * i + b];
}
