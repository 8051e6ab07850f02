@echo off
rem Starts @SCHEME@ (@KIND@) under Node.js (splunkd runs this file on Windows).
rem Node.js @MIN_NODE@ or later is looked for in this order: the runtime bundled in platform packages
rem (windows_x86_64\bin\node.exe), [runtime] node_path in defender_xdr_settings.conf (local over
rem default, as Splunk merges them), TA_DEFENDER_XDR_NODE, Splunk's own node.exe, node.exe on PATH.
rem If none fits, one ERROR line goes to splunkd.log (index=_internal) and @SCHEME@ does not run.
rem Run under Wine by test/e2e/windows-launchers.test.ts, which shows why each construct is as it is.
setlocal
rem V8 flags, each explained in launcher.sh; a node whose V8 refuses one runs without them.
set "V8_FLAGS=--max-semi-space-size=@SEMI_SPACE_MB@ --heap-growing-percent=100 --liftoff-only"
set "NODE_EXE="
set "NODE_FLAGS="
set "APP_DIR=%~dp0.."
call :try "%APP_DIR%\windows_x86_64\bin\node.exe"
set "NODE_PATH_SETTING="
call :conf "%APP_DIR%\local\defender_xdr_settings.conf"
call :conf "%APP_DIR%\default\defender_xdr_settings.conf"
call :try "%NODE_PATH_SETTING%"
call :try "%TA_DEFENDER_XDR_NODE%"
if defined SPLUNK_HOME call :try "%SPLUNK_HOME%\bin\node.exe"
for %%N in (node.exe) do call :try "%%~$PATH:N"
if defined NODE_EXE goto :run
rem Outside any ( ) block: the message's own parentheses would end it. The redirection follows the
rem text directly: a blank before it would end the line in splunkd.log.
echo ERROR @SCHEME@: no Node.js @MIN_NODE@ or later found. Install the platform package of the add-on (with its bundled runtime), or set [runtime] node_path in defender_xdr_settings.conf, or install Node.js @MIN_NODE@+ on this host.>&2
exit /b 1

:run
"%NODE_EXE%" %NODE_FLAGS% "%~dp0@ENTRY@" %*
exit /b %ERRORLEVEL%

rem Accepts a candidate only if it exists and `node --version` says @MIN_NODE@ or later.
:try
if defined NODE_EXE exit /b 0
if "%~1"=="" exit /b 0
if not exist "%~1" exit /b 0
set "CANDIDATE=%~1"
rem The flags are probed by exit code, not inside FOR: FOR's command would split them at each "=".
rem ERRORLEVEL rather than ||, which Wine's cmd (used to test this file) runs unconditionally.
set "FLAGS=%V8_FLAGS%"
"%CANDIDATE%" %V8_FLAGS% --version >nul 2>nul
if not "%ERRORLEVEL%"=="0" set "FLAGS="
rem FOR runs its command with cmd /c, which drops the first and last quote of a line holding
rem ( or ) (as in "Program Files (x86)"): the outer quotes are those it drops, and the candidate is
rem expanded by that cmd (%%CANDIDATE%%), so its parentheses never meet this line's parser.
set "VERSION="
for /f "delims=" %%V in ('""%%CANDIDATE%%" --version 2>nul"') do set "VERSION=%%V"
if not defined VERSION exit /b 0
set "VERSION=%VERSION:v=%"
set "MAJOR="
for /f "delims=." %%M in ("%VERSION%") do set "MAJOR=%%M"
if not defined MAJOR exit /b 0
rem A version that is not a number is not a node: compare only digits.
for /f "delims=0123456789" %%X in ("%MAJOR%") do exit /b 0
if %MAJOR% GEQ @MIN_NODE@ (set "NODE_EXE=%CANDIDATE%" & set "NODE_FLAGS=%FLAGS%")
exit /b 0

rem Reads node_path of the [runtime] stanza; the first file that sets it wins (local over default).
:conf
if defined NODE_PATH_SETTING exit /b 0
if not exist "%~1" exit /b 0
set "STANZA="
for /f "usebackq tokens=1,* delims==" %%A in ("%~1") do call :confline "%%A" "%%B"
exit /b 0

:confline
if defined NODE_PATH_SETTING exit /b 0
rem A blank line may hold only blanks: KEY is then undefined, and %KEY:…% of an undefined
rem variable would mangle the line it is on.
set "KEY=%~1"
set "KEY=%KEY: =%"
if not defined KEY exit /b 0
set "KEY=%KEY:	=%"
if not defined KEY exit /b 0
if "%KEY:~0,1%"=="[" (set "STANZA=%KEY%" & exit /b 0)
if /i not "%STANZA%"=="[runtime]" exit /b 0
if /i not "%KEY%"=="node_path" exit /b 0
rem Blanks around the value are not part of the path (trimmed one by one: FOR's "tokens=*" does
rem not skip leading blanks in every cmd).
set "NODE_PATH_SETTING=%~2"
:trim
if not defined NODE_PATH_SETTING exit /b 0
if "%NODE_PATH_SETTING:~0,1%"==" " (set "NODE_PATH_SETTING=%NODE_PATH_SETTING:~1%" & goto :trim)
if "%NODE_PATH_SETTING:~0,1%"=="	" (set "NODE_PATH_SETTING=%NODE_PATH_SETTING:~1%" & goto :trim)
if "%NODE_PATH_SETTING:~-1%"==" " (set "NODE_PATH_SETTING=%NODE_PATH_SETTING:~0,-1%" & goto :trim)
if "%NODE_PATH_SETTING:~-1%"=="	" (set "NODE_PATH_SETTING=%NODE_PATH_SETTING:~0,-1%" & goto :trim)
exit /b 0
