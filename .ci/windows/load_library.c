/* Loads a GDExtension DLL the way Godot's Windows build does for an extension (the DLL's
 * folder added with AddDllDirectory, then LoadLibraryExW with LOAD_LIBRARY_SEARCH_DEFAULT_DIRS)
 * and looks up its entry symbol. Exit 0 when both succeed; otherwise prints the Windows error
 * and exits 1. A DLL that imports a DLL the system lacks fails with ERROR_MOD_NOT_FOUND (126),
 * and Wine's err:module line names the missing one.
 *
 *   load_library.exe C:\PATH\TO\LIBRARY.dll [SYMBOL]     (SYMBOL default: gdext_rust_init) */
#include <stdio.h>
#include <wchar.h>
#include <windows.h>

int wmain(int argc, wchar_t **argv)
{
    if (argc < 2 || argc > 3) {
        fwprintf(stderr, L"usage: load_library.exe C:\\PATH\\TO\\LIBRARY.dll [SYMBOL]\n");
        return 2;
    }
    char symbol[256] = "gdext_rust_init";
    if (argc == 3 && WideCharToMultiByte(CP_UTF8, 0, argv[2], -1, symbol, sizeof symbol, NULL, NULL) == 0) {
        fwprintf(stderr, L"load_library: the symbol name is too long\n");
        return 2;
    }
    wchar_t path[MAX_PATH];
    DWORD length = GetFullPathNameW(argv[1], MAX_PATH, path, NULL);
    if (length == 0 || length >= MAX_PATH) {
        fwprintf(stderr, L"load_library: cannot resolve %ls (error %lu)\n", argv[1], GetLastError());
        return 1;
    }
    wchar_t folder[MAX_PATH];
    wcscpy(folder, path);
    wchar_t *slash = wcsrchr(folder, L'\\');
    if (slash != NULL)
        *slash = L'\0';
    if (AddDllDirectory(folder) == NULL) {
        fwprintf(stderr, L"load_library: AddDllDirectory(%ls) failed with error %lu\n", folder, GetLastError());
        return 1;
    }
    HMODULE module = LoadLibraryExW(path, NULL, LOAD_LIBRARY_SEARCH_DEFAULT_DIRS);
    if (module == NULL) {
        fwprintf(stderr, L"load_library: LoadLibraryExW(%ls) failed with error %lu\n", path, GetLastError());
        return 1;
    }
    FARPROC entry = GetProcAddress(module, symbol);
    if (entry == NULL) {
        fwprintf(stderr, L"load_library: %ls has no export %hs (error %lu)\n", path, symbol, GetLastError());
        return 1;
    }
    wprintf(L"load_library: %ls loaded, %hs found\n", path, symbol);
    return 0;
}
