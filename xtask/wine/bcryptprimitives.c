/* Test tooling only, never shipped: Wine 8.0 (Debian 12) has no bcryptprimitives.dll, which
 * every Windows binary of Rust >= 1.78 and Go >= 1.22 imports for ProcessPrng. This stub
 * implements ProcessPrng with RtlGenRandom (SystemFunction036 in advapi32), which Wine has.
 * Built by `cargo xtask wine-prefix` into the test Wine prefix's system32. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x40000000 ? 0x40000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
