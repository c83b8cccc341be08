# Cross-build for 64-bit Windows with Debian's mingw-w64 (gcc-mingw-w64-x86-64):
#
#   cmake -S . -B build-win -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain/mingw-w64-x86_64.cmake
#
# Test and example executables run under Wine when it is installed (ctest and
# the demo target use CMAKE_CROSSCOMPILING_EMULATOR).  Extra libraries built
# for Windows (cmocka, see scripts/cmocka-mingw) are found through
# CMAKE_PREFIX_PATH.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(AS_MINGW_TRIPLE x86_64-w64-mingw32)
# Debian ships a -win32 and a -posix flavour; both build this library (it
# uses no C11 threads), the plain name is whichever update-alternatives chose.
set(CMAKE_C_COMPILER ${AS_MINGW_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${AS_MINGW_TRIPLE}-g++)
set(CMAKE_RC_COMPILER ${AS_MINGW_TRIPLE}-windres)

set(CMAKE_FIND_ROOT_PATH /usr/${AS_MINGW_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)

# Self-contained executables: no libgcc/libwinpthread DLLs to copy next to
# them for Wine or for users.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")

find_program(AS_WINE NAMES wine64 wine)
if(AS_WINE)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${AS_WINE})
endif()
