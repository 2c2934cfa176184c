#include <png.h>
#include <gif_lib.h>
