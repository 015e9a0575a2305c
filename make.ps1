<#
.SYNOPSIS
    cldetl's `make demo`, `make test` and `make check` for Windows, without make.

.DESCRIPTION
    The same steps as the Makefile (tests/test_windows_doc.py checks that they stay the same):

        .\make.ps1 demo    # own virtualenv, the example databases, then each example LA's return
        .\make.ps1 test    # the test suite in the same virtualenv
        .\make.ps1 check   # ruff, as CI runs it

    Needs Python 3.11 or later from python.org (the `py` launcher) and access to a Python package
    index. If PowerShell refuses to run scripts, run it as
        powershell -ExecutionPolicy Bypass -File .\make.ps1 demo
    docs/windows.md has the rest: paths, environment variables, Task Scheduler, Prefect.
#>
param(
    [ValidateSet("demo", "test", "check")]
    [string]$Target = "demo",
    [string]$PeriodEnd = "2025-09-30"
)
$ErrorActionPreference = "Stop"
Set-Location $PSScriptRoot

$Venv = Join-Path $PSScriptRoot ".venv"
$Python = Join-Path $Venv "Scripts\python.exe"
$Cldetl = Join-Path $Venv "Scripts\cldetl.exe"
$Ruff = Join-Path $Venv "Scripts\ruff.exe"
$Stamp = Join-Path $Venv ".installed"
$Examples = Join-Path $PSScriptRoot "out\examples"

function Invoke-Checked {
    # Run a program; stop as make does when it fails.
    param([string]$Program, [string[]]$Arguments)
    Write-Host "$Program $($Arguments -join ' ')"
    & $Program @Arguments
    if ($LASTEXITCODE -ne 0) { throw "$Program exited with $LASTEXITCODE" }
}
function Invoke-Python { Invoke-Checked $Python $args }
function Invoke-Cldetl { Invoke-Checked $Cldetl $args }

function Install-Venv {
    # As `make venv`: create .venv once, and (re)install the pinned dependencies whenever
    # pyproject.toml or constraints.txt is newer than the last install.
    if (-not (Test-Path $Python)) {
        Write-Host "Creating .venv"
        & py -3.11 -m venv $Venv
        if ($LASTEXITCODE -ne 0) { Invoke-Checked "py" @("-3", "-m", "venv", $Venv) }
    }
    $changed = (Get-Item pyproject.toml, constraints.txt |
        Sort-Object LastWriteTime | Select-Object -Last 1).LastWriteTime
    if (-not (Test-Path $Stamp) -or (Get-Item $Stamp).LastWriteTime -lt $changed) {
        Invoke-Python -m pip install -c constraints.txt -e ".[dev,ge]"
        New-Item -ItemType File -Force -Path $Stamp | Out-Null
    }
}

# The example authorities' databases (SQLite, built by the generator; a real LA sets these
# variables to its reporting database instead).
if (-not $env:EASTMOOR_DB_URL) { $env:EASTMOOR_DB_URL = "sqlite:///$Examples\eastmoor.db" }
if (-not $env:WESTVALE_DB_URL) { $env:WESTVALE_DB_URL = "sqlite:///$Examples\westvale.db" }
if (-not $env:NORTHFEN_DB_URL) { $env:NORTHFEN_DB_URL = "sqlite:///$Examples\northfen.db" }

Install-Venv
switch ($Target) {
    "demo" {
        New-Item -ItemType Directory -Force -Path $Examples | Out-Null
        Invoke-Python examples/mosaic_liquidlogic/generate.py --system mosaic --url $env:EASTMOOR_DB_URL
        Invoke-Python examples/mosaic_liquidlogic/generate.py --system liquidlogic --url $env:WESTVALE_DB_URL
        Invoke-Cldetl run --mapping mappings/eastmoor.yaml --period-end $PeriodEnd --out out/eastmoor --report
        Invoke-Cldetl run --mapping mappings/westvale.yaml --period-end $PeriodEnd --out out/westvale --report
        Invoke-Python examples/mosaic_liquidlogic/generate.py --system northfen --url $env:NORTHFEN_DB_URL
        Invoke-Cldetl run --mapping mappings/northfen.yaml --period-end $PeriodEnd --out out/northfen
        Write-Host "Outputs in out\eastmoor, out\westvale and out\northfen (personal data: keep the folder private)"
    }
    "test" {
        Invoke-Python -m pytest -q -n auto --dist loadgroup
    }
    "check" {
        Invoke-Checked $Ruff @("check", "cldetl", "tests", "benchmarks", "flows")
        Invoke-Checked $Ruff @("format", "--check", "cldetl", "tests", "benchmarks", "flows")
    }
}
