/*
 * Install check, C++: the same program as consumer.c, compiled as C++11
 * against the installed <asyncsync.h> (extern "C", alignas, the static
 * initialisers), plus a check that C and C++ agree on the size and alignment
 * of every public type (layout.c is compiled as C into this program).
 */
#include <asyncsync.h>

#include <cstddef>
#include <cstdio>

#include "layout.h"

static int check_layout(void)
{
    static const char *const names[] = {
        "as_loop",  "as_wait", "as_loop_options", "as_sem",
        "as_mutex", "as_cond", "as_event"};
    static const std::size_t cxx_layout[] = CONSUMER_LAYOUT;
    static_assert(sizeof cxx_layout / sizeof cxx_layout[0] ==
                      CONSUMER_LAYOUT_LEN,
                  "CONSUMER_LAYOUT_LEN");
    int bad = 0;
    for (int i = 0; i < CONSUMER_LAYOUT_LEN; i++) {
        if (cxx_layout[i] != consumer_c_layout[i]) {
            std::fprintf(
                stderr, "consumer (C++): %s of %s is %zu in C++ but %zu in C\n",
                i % 2 ? "alignment" : "size", names[i / 2], cxx_layout[i],
                consumer_c_layout[i]);
            bad = 1;
        }
    }
    return bad;
}

#define CONSUMER_LANG "C++"
#define CONSUMER_EXTRA_CHECKS check_layout
#include "consumer.c"
