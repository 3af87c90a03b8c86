/* zlib from Debian's zlib1g-dev: deflate for compressed PNG files. */
#include <zlib.h>
