# rmm metric collector for Windows (src/monitoring/collector-scripts.ts sends it; collector-output.ts
# reads what it prints). Read-only; Windows PowerShell 5.1 syntax (no ??, ternary or &&).
# rmm puts one line before this script: $RmmRequest = '<base64 of the request>', the request being
# one wanted metric a line, METRIC or METRIC<TAB>INSTANCE. Base64 cannot close the quotes, and the
# names it carries are compared, never run: services and processes are listed once and looked up
# by name, so a name with * or [ matches only itself.
# Output: "#rmm-metrics 1", METRIC<TAB>LABEL=VALUE or nothing<TAB>VALUE per sample,
# "!<TAB>METRIC<TAB>LABELS<TAB>WHY" for what could not be read, "#end" last. Numbers are written
# in the invariant culture, so a German Windows prints 42.5 and not 42,5.

$ProgressPreference = 'SilentlyContinue'
try { [Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false } catch { }
$invariant = [System.Globalization.CultureInfo]::InvariantCulture
$lines = New-Object System.Collections.ArrayList

function Add-Sample($Metric, $Labels, $Value) {
  [void]$lines.Add($Metric + "`t" + $Labels + "`t" + ([double]$Value).ToString('R', $invariant))
}

function Add-Unread($Metric, $Labels, $Why) {
  [void]$lines.Add("!`t" + $Metric + "`t" + $Labels + "`t" + ([string]$Why -replace '[\x00-\x1f]', ' '))
}

# Metric -> the instances asked for; an empty list asks for every instance.
$wanted = [ordered]@{}
$requestText = [System.Text.Encoding]::UTF8.GetString([System.Convert]::FromBase64String($RmmRequest))
foreach ($line in ($requestText -split "`n")) {
  if ($line -eq '') { continue }
  $parts = $line -split "`t", 2
  if (-not $wanted.Contains($parts[0])) { $wanted[$parts[0]] = New-Object System.Collections.ArrayList }
  if ($parts.Count -eq 2) { [void]$wanted[$parts[0]].Add($parts[1]) }
}

$known = @('cpu.percent', 'memory.used_percent', 'disk.used_percent', 'disk.free_bytes', 'uptime.seconds',
  'service.running', 'process.count', 'reboot.pending')
foreach ($metric in $wanted.Keys) {
  if ($known -notcontains $metric) { Add-Unread $metric '' 'not collected on Windows' }
}

# LoadPercentage is each processor's load over the last second.
if ($wanted.Contains('cpu.percent')) {
  try {
    $ErrorActionPreference = 'Stop'
    $loads = @(Get-CimInstance -ClassName Win32_Processor | Where-Object { $null -ne $_.LoadPercentage })
    if ($loads.Count -eq 0) { Add-Unread 'cpu.percent' '' 'Win32_Processor gave no LoadPercentage' }
    else { Add-Sample 'cpu.percent' '' ($loads | Measure-Object -Property LoadPercentage -Average).Average }
  } catch { Add-Unread 'cpu.percent' '' $_.Exception.Message }
}

if ($wanted.Contains('memory.used_percent') -or $wanted.Contains('uptime.seconds')) {
  try {
    $ErrorActionPreference = 'Stop'
    $os = Get-CimInstance -ClassName Win32_OperatingSystem
    if ($wanted.Contains('memory.used_percent')) {
      $total = [double]$os.TotalVisibleMemorySize
      Add-Sample 'memory.used_percent' '' ([Math]::Round(($total - $os.FreePhysicalMemory) * 100 / $total, 2))
    }
    if ($wanted.Contains('uptime.seconds')) {
      Add-Sample 'uptime.seconds' '' ([Math]::Floor(((Get-Date) - $os.LastBootUpTime).TotalSeconds))
    }
  } catch {
    if ($wanted.Contains('memory.used_percent')) { Add-Unread 'memory.used_percent' '' $_.Exception.Message }
    if ($wanted.Contains('uptime.seconds')) { Add-Unread 'uptime.seconds' '' $_.Exception.Message }
  }
}

# A mount is a fixed disk's drive letter: C:
foreach ($metric in @('disk.used_percent', 'disk.free_bytes')) {
  if (-not $wanted.Contains($metric)) { continue }
  try {
    $ErrorActionPreference = 'Stop'
    $disks = @{}
    foreach ($disk in @(Get-CimInstance -ClassName Win32_LogicalDisk -Filter 'DriveType = 3')) {
      if ($disk.Size -gt 0) { $disks[[string]$disk.DeviceID] = $disk }
    }
    $names = @($wanted[$metric])
    if ($names.Count -eq 0) { $names = @($disks.Keys | Sort-Object) }
    foreach ($name in $names) {
      $disk = $disks[$name]
      if ($null -eq $disk) { Add-Unread $metric ('mount=' + $name) 'no such fixed disk'; continue }
      if ($metric -eq 'disk.free_bytes') { Add-Sample $metric ('mount=' + $name) $disk.FreeSpace }
      else { Add-Sample $metric ('mount=' + $name) ([Math]::Round(($disk.Size - $disk.FreeSpace) * 100 / $disk.Size, 2)) }
    }
  } catch { Add-Unread $metric '' $_.Exception.Message }
}

# A service by its name (not its display name); one that does not exist is not running.
if ($wanted.Contains('service.running')) {
  try {
    $ErrorActionPreference = 'Stop'
    $running = @{}
    foreach ($service in @(Get-Service -ErrorAction SilentlyContinue)) {
      $running[$service.Name] = ($service.Status -eq 'Running')
    }
    foreach ($name in $wanted['service.running']) {
      if ($running[$name]) { Add-Sample 'service.running' ('name=' + $name) 1 }
      else { Add-Sample 'service.running' ('name=' + $name) 0 }
    }
  } catch { Add-Unread 'service.running' '' $_.Exception.Message }
}

# A process by its ProcessName, which has no .exe.
if ($wanted.Contains('process.count')) {
  try {
    $ErrorActionPreference = 'Stop'
    $counts = @{}
    foreach ($process in @(Get-Process -ErrorAction SilentlyContinue)) {
      $counts[$process.ProcessName] = 1 + $counts[$process.ProcessName]
    }
    foreach ($name in $wanted['process.count']) {
      Add-Sample 'process.count' ('name=' + $name) (0 + $counts[($name -replace '\.exe$', '')])
    }
  } catch { Add-Unread 'process.count' '' $_.Exception.Message }
}

# Windows marks a pending restart in any of three places.
if ($wanted.Contains('reboot.pending')) {
  try {
    $ErrorActionPreference = 'Stop'
    $pending = (Test-Path -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending') -or
      (Test-Path -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired')
    $renames = Get-ItemProperty -LiteralPath 'HKLM:\SYSTEM\CurrentControlSet\Control\Session Manager' -Name 'PendingFileRenameOperations' -ErrorAction SilentlyContinue
    if ($pending -or ($null -ne $renames)) { Add-Sample 'reboot.pending' '' 1 } else { Add-Sample 'reboot.pending' '' 0 }
  } catch { Add-Unread 'reboot.pending' '' $_.Exception.Message }
}

Write-Output '#rmm-metrics 1'
foreach ($line in $lines) { Write-Output $line }
Write-Output '#end'
