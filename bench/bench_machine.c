/* The machine's state: are two CPUs truly parallel right now?
 * SPDX-License-Identifier: MIT
 *
 * Measures what bench_contended records before and after its runs
 * (machine_measure in common.c): two threads pinned to CPUs 0 and 1 spinning
 * for a fixed wall time (each one's share of full speed: ~1.0 on parallel
 * CPUs, ~0.5 or less on time-shared ones), and the round trip of one cache
 * line ping-ponged between them.  Prints one line; with --out DIR also
 * writes DIR/machine.csv (one row per repetition).
 */
#include "common.h"

#include <string.h>

int main(int argc, char **argv)
{
    struct bench_opts o;
    struct machine_state m;
    char line[512];
    FILE *csv;
    int parallel = 0;
    bool reps_given = false;

    for (int i = 1; i < argc; i++)
        reps_given |= strcmp(argv[i], "--reps") == 0;

    bench_parse(argc, argv, &o, "bench_machine",
                "  --only L   label of the rows in machine.csv (default: now)\n"
                "  (one measurement, --reps N for N; --ms, --backend ignored)\n"
                "  exit status: 0 parallel every time, 3 time-shared at least once\n");
    if (!reps_given)
        o.reps = 1;
    csv = out_open(&o, "machine.csv");
    if (csv)
        machine_csv_header(csv);
    for (int rep = 0; rep < o.reps; rep++) {
        machine_measure(&m, o.smoke);
        printf("machine: %s: %s\n", machine_verdict(&m),
               machine_describe(&m, line, sizeof line));
        fflush(stdout);
        if (csv)
            machine_csv_row(csv, o.only ? o.only : "now", &m);
        parallel += m.parallel;
    }
    if (csv)
        fclose(csv);
    return parallel == o.reps ? 0 : 3;
}
