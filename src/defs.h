/* Kernel ABI constants this library needs but Debian 12's headers (Linux 6.1
 * UAPI, liburing 2.3) lack.  Values are from the Linux UAPI and never change.
 * The library builds against any liburing from 2.3 on and fills the SQEs of
 * these opcodes by hand (see backend/uring.c). */
#ifndef AS_DEFS_H
#define AS_DEFS_H

/* enum io_uring_op, Linux 6.7+ */
#define AS_IORING_OP_FUTEX_WAIT 51
#define AS_IORING_OP_FUTEX_WAKE 52

/* futex2 flags (include/uapi/linux/futex.h, Linux 6.7+).  FUTEX2_PRIVATE is
 * deliberately not used: see the private futex hash note in backend/uring.c. */
#define AS_FUTEX2_SIZE_U32 0x02u
#define AS_FUTEX2_PRIVATE 128u

#define AS_FUTEX_BITSET_MATCH_ANY 0xffffffffu

/* IOSQE_CQE_SKIP_SUCCESS, Linux 5.17+ (present in 6.1 headers, kept here so
 * the constant has one home). */
#define AS_IOSQE_CQE_SKIP_SUCCESS (1u << 6)

#endif
