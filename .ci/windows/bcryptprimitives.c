/* Test fixture, never shipped: bcryptprimitives.dll for Wine, which lacks it (Wine 8.0).
 *
 * Rust's std (1.78 and later) takes its random numbers from ProcessPrng in
 * bcryptprimitives.dll, a DLL every Windows 10 and 11 has. Without it no Rust program for
 * Windows starts under Wine 8.0 (status c0000135). This gives ProcessPrng the same meaning
 * over RtlGenRandom (advapi32's SystemFunction036), which Wine does have. .ci/test-windows
 * places it beside the test executables only. */
#include <windows.h>

BOOLEAN NTAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x7fffffff ? 0x7fffffff : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
