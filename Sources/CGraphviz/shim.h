// Graphviz's accessor macros do not import into Swift: these inline functions stand in for them.
#include <graphviz/gvc.h>
#include <graphviz/cgraph.h>

static inline Agdesc_t gt_directed(void) { return Agdirected; }
static inline double gt_node_x(Agnode_t *n) { return ND_coord(n).x; }
static inline double gt_node_y(Agnode_t *n) { return ND_coord(n).y; }
static inline double gt_node_width(Agnode_t *n) { return ND_width(n); }
static inline double gt_node_height(Agnode_t *n) { return ND_height(n); }
static inline double gt_bb_llx(Agraph_t *g) { return GD_bb(g).LL.x; }
static inline double gt_bb_lly(Agraph_t *g) { return GD_bb(g).LL.y; }
static inline double gt_bb_urx(Agraph_t *g) { return GD_bb(g).UR.x; }
static inline double gt_bb_ury(Agraph_t *g) { return GD_bb(g).UR.y; }
static inline int gt_edge_bezier_count(Agedge_t *e) { return ED_spl(e) ? ED_spl(e)->size : 0; }
static inline int gt_edge_point_count(Agedge_t *e, int k) { return ED_spl(e)->list[k].size; }
static inline double gt_edge_point_x(Agedge_t *e, int k, int i) { return ED_spl(e)->list[k].list[i].x; }
static inline double gt_edge_point_y(Agedge_t *e, int k, int i) { return ED_spl(e)->list[k].list[i].y; }
static inline int gt_edge_has_end(Agedge_t *e, int k) { return ED_spl(e)->list[k].eflag; }
static inline double gt_edge_end_x(Agedge_t *e, int k) { return ED_spl(e)->list[k].ep.x; }
static inline double gt_edge_end_y(Agedge_t *e, int k) { return ED_spl(e)->list[k].ep.y; }
static inline int gt_edge_has_label(Agedge_t *e) { return ED_label(e) != NULL && ED_label(e)->set; }
static inline double gt_edge_label_x(Agedge_t *e) { return ED_label(e)->pos.x; }
static inline double gt_edge_label_y(Agedge_t *e) { return ED_label(e)->pos.y; }
static inline int gt_graph_label_set(Agraph_t *g) { return GD_label(g) != NULL && GD_label(g)->set; }

// Object ids counted per graph in the order objects are made. cgraph's default id discipline makes a
// named object's id the address of its interned name (and an anonymous one's a process-wide counter), and
// dot orders a cluster's members by id, so clustered layouts followed the heap: they changed from run to
// run and from one layout to the next in a process. Names go to cgraph's internal name map, which then
// asks here for a fresh id, so agnameof still answers with the name.
#include <stdio.h>
#include <stdlib.h>
typedef struct { IDTYPE next; } gt_id_state;
static void *gt_id_open(Agraph_t *g, Agdisc_t *disc) {
    (void)g; (void)disc;
    gt_id_state *s = (gt_id_state *)malloc(sizeof *s);
    if (s) s->next = 1;
    return s;
}
static long gt_id_map(void *state, int objtype, char *str, IDTYPE *id, int createflag) {
    (void)objtype; (void)createflag;
    if (str != NULL || state == NULL) return 0;
    gt_id_state *s = (gt_id_state *)state;
    *id = s->next;
    s->next += 2;
    return 1;
}
static long gt_id_alloc(void *state, int objtype, IDTYPE id) { (void)state; (void)objtype; (void)id; return 0; }
static void gt_id_free(void *state, int objtype, IDTYPE id) { (void)state; (void)objtype; (void)id; }
static char *gt_id_print(void *state, int objtype, IDTYPE id) { (void)state; (void)objtype; (void)id; return NULL; }
static void gt_id_close(void *state) { free(state); }
static void gt_id_register(void *state, int objtype, void *obj) { (void)state; (void)objtype; (void)obj; }
/// Reads a graph from `length` bytes of DOT text with the ids above: the same text, the same layout.
static inline Agraph_t *gt_read_dot(const char *text, size_t length) {
    static Agiddisc_t ids = { gt_id_open, gt_id_map, gt_id_alloc, gt_id_free, gt_id_print, gt_id_close, gt_id_register };
    FILE *f = fmemopen((void *)text, length, "r");
    if (f == NULL) return NULL;
    Agdisc_t disc = { &AgMemDisc, &ids, &AgIoDisc };
    Agraph_t *g = agread(f, &disc);
    fclose(f);
    return g;
}
