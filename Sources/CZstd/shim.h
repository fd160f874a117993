// The checkpoint's compression format parameters (ZSTD_c_format, magicless frames) are in zstd's
// "experimental" section, stable since 1.4; the library accepts them at run time either way.
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>
#include <zdict.h>
