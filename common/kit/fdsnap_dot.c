/* fdsnap_dot.c — the snapshot as a Graphviz picture (see fdsnap.h), and the lab-side
 * switch FDLAB_DRAW.
 *
 * Layout, left to right in each panel: one table per process (a row per descriptor
 * number), the open file descriptions, the objects. An arrow from a row to a
 * description is the table entry; two arrows into one description are what
 * kcmp(KCMP_FILE) == 0 means. An epoll instance has dashed arrows to what it watches.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "fdsnap_int.h"
#include "kv.h"

/* Writes text as HTML-label text: markup escaped, '\n' as a line break. */
static void html(FILE *out, const char *text)
{
    for (const char *c = text; *c; c++) {
        switch (*c) {
        case '&': fputs("&amp;", out); break;
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '"': fputs("&quot;", out); break;
        case '\n': fputs("<br/>", out); break;
        default: fputc(*c, out);
        }
    }
}

static void flags_text(unsigned flags, char *out, size_t size)
{
    unsigned acc = flags & O_ACCMODE;
    snprintf(out, size, "%s%s%s", acc == O_RDONLY ? "O_RDONLY" : acc == O_WRONLY ? "O_WRONLY" : "O_RDWR",
             flags & O_APPEND ? " | O_APPEND" : "", flags & O_NONBLOCK ? " | O_NONBLOCK" : "");
}

static void events_text(unsigned ev, char *out, size_t size)
{
    static const struct { unsigned bit; const char *name; } names[] = {
        {EPOLLIN, "EPOLLIN"}, {EPOLLOUT, "EPOLLOUT"}, {EPOLLRDHUP, "EPOLLRDHUP"}, {EPOLLET, "EPOLLET"},
        {EPOLLONESHOT, "EPOLLONESHOT"}, {EPOLLEXCLUSIVE, "EPOLLEXCLUSIVE"}};
    out[0] = '\0';
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (ev & names[i].bit)
            snprintf(out + strlen(out), size - strlen(out), "%s%s", out[0] ? " | " : "", names[i].name);
}

static void table(FILE *out, int q, const struct fdsnap_proc *pr)
{
    fputs("    <tr><td><table border=\"0\" cellborder=\"1\" cellspacing=\"0\" cellpadding=\"5\">\n"
          "      <tr><td bgcolor=\"#d6e2f3\"><b>fd table of ",
          out);
    html(out, pr->role);
    fputs("</b></td></tr>\n", out);
    if (pr->n == 0)
        fputs("      <tr><td><i>(no descriptor drawn)</i></td></tr>\n", out);
    for (int i = 0; i < pr->n; i++) {
        const struct fdsnap_ent *e = &pr->ent[i];
        fprintf(out, "      <tr><td port=\"q%df%d\" align=\"left\" balign=\"left\"%s><b>fd %d</b>", q, e->fd,
                e->kind == FDK_NOTOPEN ? " bgcolor=\"#eeeeee\"" : "", e->fd);
        if (e->kind == FDK_NOTOPEN)
            fputs(" <font color=\"#777777\">— not open</font>", out);
        if (e->note[0]) {
            fputs("<br/><font point-size=\"10\"><i>", out);
            html(out, e->note);
            fputs("</i></font>", out);
        }
        fputs("</td></tr>\n", out);
    }
    fputs("    </table></td></tr>\n", out);
}

/* The object watched by inode ino, or -1 when not recorded in this panel. */
static int watched_obj(const struct fdsnap_panel *p, unsigned long ino)
{
    for (int o = 0; o < p->nobj; o++)
        if (p->obj[o].ino == ino && p->obj[o].kind != FDK_EPOLL && p->obj[o].kind != FDK_ANON)
            return o;
    return -1;
}

/* The descriptor whose description is epoll object o's, or NULL when o is no epoll. */
static const struct fdsnap_ent *epoll_of(const struct fdsnap_panel *p, int o)
{
    for (int d = 0; d < p->ndesc; d++) {
        const struct fdsnap_ent *e = &p->proc[p->desc[d].proc].ent[p->desc[d].ent];
        if (p->desc[d].obj == o && e->kind == FDK_EPOLL)
            return e;
    }
    return NULL;
}

/* Under an epoll object's name: what it watches (drawn ones also get an arrow), and
 * how many it watches that the panel does not show. */
static void watch_list(FILE *out, const struct fdsnap_panel *p, int o)
{
    const struct fdsnap_ent *e = epoll_of(p, o);
    if (!e)
        return;
    int hidden = 0;
    fputs("<font point-size=\"10\">", out);
    for (int w = 0; w < e->nwatch; w++) {
        if (watched_obj(p, e->watch[w].ino) < 0) {
            hidden++;
            continue;
        }
        char ev[128];
        events_text(e->watch[w].events, ev, sizeof ev);
        fprintf(out, "<br/>watches fd %d: %s", e->watch[w].tfd, ev);
    }
    if (hidden)
        fprintf(out, "<br/>+ %d more watched, not drawn", hidden);
    fputs("</font>", out);
}

static void panel(FILE *out, int pn, const struct fdsnap_panel *p)
{
    fprintf(out, "  subgraph cluster_%d {\n    style=rounded; color=\"#888888\"; fontsize=14; label=<<b>", pn);
    html(out, p->title);
    fputs("</b>>;\n", out);
    /* One node holds every table, so they stand in one column in the lab's order. */
    fprintf(out, "    p%d_t [shape=plaintext, label=<<table border=\"0\" cellspacing=\"14\">\n", pn);
    for (int q = 0; q < p->nproc; q++)
        table(out, q, &p->proc[q]);
    fputs("    </table>>];\n", out);
    for (int d = 0; d < p->ndesc; d++) {
        const struct fdsnap_desc *ds = &p->desc[d];
        const struct fdsnap_ent *e = &p->proc[ds->proc].ent[ds->ent];
        char fl[96];
        flags_text(e->flags, fl, sizeof fl);
        fprintf(out, "    p%d_d%d [shape=box, style=\"rounded,filled\", fillcolor=\"#fff2cc\", "
                     "label=<open file description<br/><font point-size=\"10\">%s",
                pn, d, fl);
        if (e->kind == FDK_FILE)
            fprintf(out, "<br/>offset %lld", e->pos);
        fputs("</font>>];\n", out);
    }
    for (int o = 0; o < p->nobj; o++) {
        const struct fdsnap_obj *ob = &p->obj[o];
        const char *fill = ob->kind == FDK_SOCKET ? "#dcefd6" : ob->kind == FDK_EPOLL ? "#f3d9e6" : "#e8e8e8";
        fprintf(out, "    p%d_o%d [shape=note, style=filled, fillcolor=\"%s\", label=<", pn, o, fill);
        html(out, ob->label);
        watch_list(out, p, o);
        fputs(">];\n", out);
    }
    for (int q = 0; q < p->nproc; q++)
        for (int i = 0; i < p->proc[q].n; i++) {
            const struct fdsnap_ent *e = &p->proc[q].ent[i];
            if (e->desc >= 0)
                fprintf(out, "    p%d_t:q%df%d:e -> p%d_d%d;\n", pn, q, e->fd, pn, e->desc);
        }
    for (int d = 0; d < p->ndesc; d++)
        fprintf(out, "    p%d_d%d -> p%d_o%d;\n", pn, d, pn, p->desc[d].obj);
    for (int q = 0; q < p->nproc; q++)
        for (int i = 0; i < p->proc[q].n; i++) {
            const struct fdsnap_ent *e = &p->proc[q].ent[i];
            if (e->kind != FDK_EPOLL || p->desc[e->desc].proc != q || p->desc[e->desc].ent != i)
                continue; /* each instance's arrows once, from its first descriptor */
            for (int w = 0; w < e->nwatch; w++) {
                int o = watched_obj(p, e->watch[w].ino);
                if (o >= 0)
                    fprintf(out, "    p%d_o%d -> p%d_o%d [style=dashed, color=\"#b03070\", constraint=false];\n",
                            pn, e->obj, pn, o);
            }
        }
    fputs("  }\n", out);
}

static void legend(FILE *out, const struct fdsnap *s)
{
    fprintf(out,
            "  subgraph cluster_legend {\n"
            "    style=dashed; color=\"#aaaaaa\"; fontsize=11; label=\"how to read it\";\n"
            "    lg_t [shape=plaintext, label=<<table border=\"0\" cellborder=\"1\" cellspacing=\"0\" "
            "cellpadding=\"4\"><tr><td bgcolor=\"#d6e2f3\">fd table of a process</td></tr>"
            "<tr><td port=\"f\">fd N: an index, private to the process</td></tr></table>>];\n"
            "    lg_d [shape=box, style=\"rounded,filled\", fillcolor=\"#fff2cc\", label=<open file description"
            "<br/><font point-size=\"10\">access mode, status flags, offset<br/>"
            "shared by fork(), dup(), SCM_RIGHTS</font>>];\n"
            "    lg_o [shape=note, style=filled, fillcolor=\"#e8e8e8\", label=<the file, socket or pipe itself"
            "<br/><font point-size=\"10\">port1, port2: ports the kernel chose</font>>];\n"
            "    lg_t:f:e -> lg_d [label=\"points at\"];\n"
            "    lg_d -> lg_o;\n"
            "    lg_n [shape=plaintext, fontsize=10, label=\"two arrows into one description = one open file\\n"
            "(grouped by %s)\\ndashed arrow: what an epoll instance watches\"];\n"
            "  }\n",
            s->fallback ? "same object, flags and offset: kcmp unavailable" : "kcmp(KCMP_FILE) == 0");
}

int fdsnap_write_dot(const struct fdsnap *s, FILE *out)
{
    fputs("// Written by fdsnap (common/kit/fdsnap.h); render with: dot -Tsvg FILE.dot -o FILE.svg\n"
          "digraph fdsnap {\n"
          "  graph [rankdir=LR, fontname=\"Helvetica\", labelloc=t, fontsize=18, nodesep=0.25, ranksep=0.8, "
          "newrank=true, label=<<b>",
          out);
    html(out, s->title);
    fputs("</b>>];\n  node [fontname=\"Helvetica\", fontsize=12];\n  edge [fontname=\"Helvetica\", fontsize=10];\n",
          out);
    /* dot stacks unconnected clusters bottom-up in the order it reads them: written
     * last to first, the panels read top-down in the lab's order, the legend below. */
    legend(out, s);
    for (int pn = s->npanel - 1; pn >= 0; pn--)
        panel(out, pn, &s->panel[pn]);
    fputs("}\n", out);
    if (fflush(out) == EOF || ferror(out)) {
        if (!errno)
            errno = EIO;
        return -1;
    }
    return 0;
}

const char *fdsnap_drawing(void)
{
    const char *dir = getenv("FDLAB_DRAW");
    return dir && *dir ? dir : NULL;
}

int fdsnap_draw(const struct fdsnap *s, const char *name)
{
    const char *dir = fdsnap_drawing();
    if (!dir)
        return 0;
    if (!s) {
        errno = EINVAL;
        return -1;
    }
    if (s->err) {
        errno = s->err;
        return -1;
    }
    char path[4096], tmp[4128];
    snprintf(path, sizeof path, "%s/%s.dot", dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "we");
    if (!f)
        return -1;
    /* The command that wrote it; no date or machine, so that the committed file
     * changes only when the facts do. */
    if (name[0] >= '0' && name[0] <= '9' && name[1] >= '0' && name[1] <= '9')
        fprintf(f, "// %s.dot: make lab-%.2s DRAW=1\n", name, name);
    int rc = fdsnap_write_dot(s, f);
    if (fclose(f) != 0)
        rc = -1;
    if (rc == 0 && rename(tmp, path) < 0)
        rc = -1;
    if (rc < 0) {
        int e = errno;
        unlink(tmp);
        errno = e;
        return -1;
    }
    kv_print("picture", "%s", path);
    return 0;
}
