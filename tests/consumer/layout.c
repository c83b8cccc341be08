/* The C compiler's view of the public types, for consumer.cpp. */
#include "layout.h"

const size_t consumer_c_layout[CONSUMER_LAYOUT_LEN] = CONSUMER_LAYOUT;
