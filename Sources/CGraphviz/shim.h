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
