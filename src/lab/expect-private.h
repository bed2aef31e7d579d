/* expect-private.h: what the two halves of the expectations share:
 * expect.c loads them from a table of kinds, expect-check.c checks them. */
#pragma once

#include "lab/expect.h"

G_BEGIN_DECLS

typedef enum {
  SIDE_CLIENT,
  SIDE_GATEWAY,
  SIDE_TRACE,
  SIDE_SERVICE, /* the mock's echo of one request */
  SIDE_EITHER,  /* "ratio": the side of its "of" */
} Side;

typedef enum {
  AGGREGATE_SUM,
  AGGREGATE_MAX,
} Aggregate;

/* A bare number stands for {"min": N, "max": N}; "ratio" may compare it. */
#define PLAIN (1u << 0)

typedef struct {
  const char *name;
  PorticoFigure figure;
  Side side;
  guint flags;
  Aggregate aggregate;   /* over nodes */
  const char *label;     /* in the check's text */
  const char *unit;      /* "" or " ms" */
  const char *keys[14];  /* what its object may hold (NULL-terminated) */
} Kind;

/* The kind whose figure is @figure (never the "ratio" row). */
const Kind *portico_expect_kind_of (PorticoFigure figure);

G_END_DECLS
