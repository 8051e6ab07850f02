/*
 * A stand-in node.exe for the Windows launcher tests under Wine (test/helpers/wine.ts builds it
 * with MinGW). The launcher only ever asks a candidate `--version` (with and without the V8
 * flags) and then runs it, so a stand-in need only answer those as a node would. What this copy
 * claims is read from standin.ini beside it:
 *   version=v18.20.4      what `--version` prints
 *   refuse=--liftoff-only  an option it rejects as an unknown V8 flag ("bad option", exit 9)
 *   log=<file>            where a run (not a probe) appends a line: this program's path|its arguments
 *   node=<file>           the real node.exe a run hands its command line to (none: exit 3)
 */
#include <windows.h>
#include <stdio.h>
#include <wchar.h>

static wchar_t version[64], refuse[128], logFile[MAX_PATH], realNode[MAX_PATH];

static void readSettings(const wchar_t *self) {
  wchar_t ini[MAX_PATH];
  wcscpy(ini, self);
  wchar_t *slash = wcsrchr(ini, L'\\');
  wcscpy(slash ? slash + 1 : ini, L"standin.ini");
  FILE *f = _wfopen(ini, L"r");
  if (!f) return;
  char line[1024];
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\r\n")] = 0;
    char *eq = strchr(line, '=');
    if (!eq) continue;
    *eq = 0;
    const char *value = eq + 1;
    if (!strcmp(line, "version")) MultiByteToWideChar(CP_UTF8, 0, value, -1, version, ARRAYSIZE(version));
    else if (!strcmp(line, "refuse")) MultiByteToWideChar(CP_UTF8, 0, value, -1, refuse, ARRAYSIZE(refuse));
    else if (!strcmp(line, "log")) MultiByteToWideChar(CP_UTF8, 0, value, -1, logFile, ARRAYSIZE(logFile));
    else if (!strcmp(line, "node")) MultiByteToWideChar(CP_UTF8, 0, value, -1, realNode, ARRAYSIZE(realNode));
  }
  fclose(f);
}

/* The command line after the program name, parsed as the C runtime does (a quoted or a bare word). */
static const wchar_t *arguments(const wchar_t *line) {
  if (*line == L'"') {
    line++;
    while (*line && *line != L'"') line++;
    if (*line) line++;
  } else {
    while (*line && *line != L' ' && *line != L'\t') line++;
  }
  while (*line == L' ' || *line == L'\t') line++;
  return line;
}

int wmain(int argc, wchar_t **argv) {
  wchar_t self[MAX_PATH];
  GetModuleFileNameW(NULL, self, MAX_PATH);
  readSettings(self);
  int probe = 0;
  for (int i = 1; i < argc; i++) {
    if (*refuse && !wcscmp(argv[i], refuse)) {
      fwprintf(stderr, L"%ls: bad option: %ls\n", self, refuse);
      return 9;
    }
    if (!wcscmp(argv[i], L"--version")) probe = 1;
  }
  if (probe) {
    printf("%ls\n", version);
    return 0;
  }
  const wchar_t *rest = arguments(GetCommandLineW());
  if (*logFile) {
    FILE *log = _wfopen(logFile, L"a, ccs=UTF-8");
    if (log) {
      fwprintf(log, L"%ls|%ls\n", self, rest);
      fclose(log);
    }
  }
  if (!*realNode) return 3;
  size_t size = wcslen(realNode) + wcslen(rest) + 4;
  wchar_t *command = HeapAlloc(GetProcessHeap(), 0, size * sizeof(wchar_t));
  swprintf(command, size, L"\"%ls\" %ls", realNode, rest);
  STARTUPINFOW si = { sizeof si };
  PROCESS_INFORMATION pi;
  if (!CreateProcessW(realNode, command, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi)) {
    fwprintf(stderr, L"stand-in: cannot start %ls (error %lu)\n", realNode, GetLastError());
    return 3;
  }
  WaitForSingleObject(pi.hProcess, INFINITE);
  DWORD code = 1;
  GetExitCodeProcess(pi.hProcess, &code);
  return (int)code;
}
