/* json-c from Debian's libjson-c-dev. */
#include <json-c/json.h>
