/*
 * cli_db_plot: `ftc db plot`, the tuning-curve chart of one workload.
 */
#ifndef FTC_CLI_DB_PLOT_H
#define FTC_CLI_DB_PLOT_H

#include "tdb.h"

/*
 * Draw the tuning curves of workload w on the ns targets of s (rows of
 * tdb_list for w) into `out`: .png or .svg through gnuplot, or .gp (the
 * gnuplot script with its data inline).  Written atomically.  0, or 1
 * after printing why not.
 */
int cli_db_plot(tdb *db, const tdb_workload *w, const tdb_summary *s, int ns, const char *out);

#endif
