/* The size and alignment of every public type, as the compiler including
 * this sees them.  layout.c records the C view; consumer.cpp compares the
 * C++ view with it (the header is compiled both ways). */
#ifndef CONSUMER_LAYOUT_H
#define CONSUMER_LAYOUT_H

#include <asyncsync.h>

#ifdef __cplusplus
#define CONSUMER_ALIGNOF(t) alignof(t)
#else
#define CONSUMER_ALIGNOF(t) _Alignof(t)
#endif

#define CONSUMER_TYPE(t) sizeof(t), CONSUMER_ALIGNOF(t)
#define CONSUMER_LAYOUT                                                        \
    {                                                                          \
        CONSUMER_TYPE(as_loop), CONSUMER_TYPE(as_wait),                        \
            CONSUMER_TYPE(as_loop_options), CONSUMER_TYPE(as_sem),             \
            CONSUMER_TYPE(as_mutex), CONSUMER_TYPE(as_cond),                   \
            CONSUMER_TYPE(as_event)                                            \
    }
#define CONSUMER_LAYOUT_LEN 14

#ifdef __cplusplus
extern "C" {
#endif
extern const size_t consumer_c_layout[CONSUMER_LAYOUT_LEN];
#ifdef __cplusplus
}
#endif

#endif
