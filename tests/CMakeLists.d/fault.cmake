# Fault injection on ring-bound loops (both backends): full SQ at park and at
# wake, CQ overflow, io_uring_submit failures (interposed), destroy with waits
# armed.  The binary defines io_uring_submit itself (see test_fault.c).
as_add_test(test_fault SOURCES fault/test_fault.c harness.c LABELS fault)
target_link_libraries(test_fault PRIVATE ${CMAKE_DL_LIBS})
