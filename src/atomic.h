/* Atomic operations on plain integer and pointer fields.
 *
 * The public structs keep their atomic fields as plain uint32_t / pointers so
 * that asyncsync.h compiles as C and as C++; every access to such a field goes
 * through these wrappers (GCC/Clang __atomic builtins, which ThreadSanitizer
 * understands).  Memory orders are spelled out at each call site. */
#ifndef AS_ATOMIC_H
#define AS_ATOMIC_H

#define AS_RELAXED __ATOMIC_RELAXED
#define AS_ACQUIRE __ATOMIC_ACQUIRE
#define AS_RELEASE __ATOMIC_RELEASE
#define AS_ACQ_REL __ATOMIC_ACQ_REL
#define AS_SEQ_CST __ATOMIC_SEQ_CST

#define as__load(p, mo) __atomic_load_n((p), (mo))
#define as__store(p, v, mo) __atomic_store_n((p), (v), (mo))
#define as__xchg(p, v, mo) __atomic_exchange_n((p), (v), (mo))
#define as__fetch_add(p, v, mo) __atomic_fetch_add((p), (v), (mo))
#define as__fetch_sub(p, v, mo) __atomic_fetch_sub((p), (v), (mo))
#define as__fetch_or(p, v, mo) __atomic_fetch_or((p), (v), (mo))
#define as__fetch_and(p, v, mo) __atomic_fetch_and((p), (v), (mo))
/* Weak CAS; on failure *expected is updated with the current value. */
#define as__cas(p, expected, desired, mo_ok, mo_fail) \
    __atomic_compare_exchange_n((p), (expected), (desired), 1, (mo_ok), (mo_fail))

#if defined(__x86_64__) || defined(__i386__)
#define as__cpu_relax() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define as__cpu_relax() __asm__ __volatile__("yield" ::: "memory")
#else
#define as__cpu_relax() __asm__ __volatile__("" ::: "memory")
#endif

#define as__likely(x) __builtin_expect(!!(x), 1)
#define as__unlikely(x) __builtin_expect(!!(x), 0)

#endif
