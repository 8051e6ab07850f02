@echo off
rem Starts @SCHEME@ (@KIND@) under Node.js (splunkd runs this file on Windows).
rem Node.js @MIN_NODE@ or later is looked for in this order: the runtime bundled in platform packages
rem (windows_x86_64\bin\node.exe), [runtime] node_path in defender_xdr_settings.conf (local over
rem default), TA_DEFENDER_XDR_NODE, Splunk's own node.exe, node.exe on PATH.
setlocal
rem V8 flags, each explained in launcher.sh; a node whose V8 refuses one runs without them.
set "V8_FLAGS=--max-semi-space-size=4 --heap-growing-percent=100 --liftoff-only"
set "NODE_EXE="
set "NODE_FLAGS="
set "APP_DIR=%~dp0.."
call :try "%APP_DIR%\windows_x86_64\bin\node.exe"
call :conf "%APP_DIR%\local\defender_xdr_settings.conf"
call :conf "%APP_DIR%\default\defender_xdr_settings.conf"
call :try "%TA_DEFENDER_XDR_NODE%"
if defined SPLUNK_HOME call :try "%SPLUNK_HOME%\bin\node.exe"
for %%N in (node.exe) do call :try "%%~$PATH:N"
if not defined NODE_EXE (echo ERROR @SCHEME@: no Node.js @MIN_NODE@ or later found. Install the platform package of the add-on, or set [runtime] node_path in defender_xdr_settings.conf, or install Node.js @MIN_NODE@+. 1>&2 & exit /b 1)
"%NODE_EXE%" %NODE_FLAGS% "%~dp0@ENTRY@" %*
exit /b %ERRORLEVEL%

rem Accepts a candidate only if it exists and `node --version` says @MIN_NODE@ or later.
:try
if defined NODE_EXE exit /b 0
if "%~1"=="" exit /b 0
if not exist "%~1" exit /b 0
set "VERSION="
rem The flags are probed by exit code, not inside FOR: FOR's command would split them at each "=".
set "FLAGS=%V8_FLAGS%"
"%~1" %V8_FLAGS% --version >nul 2>nul || set "FLAGS="
for /f "usebackq delims=" %%V in (`"%~1" --version 2^>nul`) do set "VERSION=%%V"
if not defined VERSION exit /b 0
set "VERSION=%VERSION:v=%"
set "MAJOR="
for /f "delims=." %%M in ("%VERSION%") do set "MAJOR=%%M"
if not defined MAJOR exit /b 0
if %MAJOR% GEQ @MIN_NODE@ (set "NODE_EXE=%~1" & set "NODE_FLAGS=%FLAGS%")
exit /b 0

rem Tries the node_path value of a conf file (the key is only used in its [runtime] stanza).
:conf
if defined NODE_EXE exit /b 0
if not exist "%~1" exit /b 0
for /f "usebackq tokens=1,* delims==" %%A in ("%~1") do call :confline "%%A" "%%B"
exit /b 0

:confline
set "KEY=%~1"
set "KEY=%KEY: =%"
if /i not "%KEY%"=="node_path" exit /b 0
set "VALUE=%~2"
for /f "tokens=* delims= " %%V in ("%VALUE%") do call :try "%%V"
exit /b 0
