/* zws_simd_init: resolves every kernel family at once, above the CPU
 * detection that each family consults (so cpu.c depends on none of them). */
#include "internal/cpu.h"
#include "internal/simd.h"
#include "zws/mask.h"

int zws_simd_init(void)
{
    int err;
    zws__simd_level(&err);
    zws__mask_select();
    zws__utf8_select();
    return err;
}
