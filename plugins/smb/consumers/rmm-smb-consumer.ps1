# rmm's SMB queue consumer for Windows (Windows PowerShell 5.1). It takes the jobs the console put in
# the share's queue\, runs each at most once, and leaves results\<id>.json for the console to collect.
# The same formats and rules as rmm-smb-consumer.sh (docs/smb.md). Run every minute by the scheduled
# task the installer registers:
#   powershell -NoProfile -ExecutionPolicy Bypass -File rmm-smb-consumer.ps1 -Share DIR -State DIR -Device NAME -KeyXml FILE
# -State is private to this host (never on the share): the executed-id record lives there.
param(
  [Parameter(Mandatory = $true)][string]$Share,
  [Parameter(Mandatory = $true)][string]$State,
  [Parameter(Mandatory = $true)][string]$Device,
  [Parameter(Mandatory = $true)][string]$KeyXml,
  [int]$MaxJobs = 100
)
$ErrorActionPreference = 'Stop'
$Version = '1'
$OutputCap = 262144
$MaxJobBytes = 1048576
$Utf8 = New-Object System.Text.UTF8Encoding($false)
$UuidPattern = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
$Envelope = '^\{"v":1,"alg":"RSA-SHA256","payload":"([A-Za-z0-9+/=]*)","signature":"([A-Za-z0-9+/=]*)"\}\r?\n?$'

foreach ($dir in @("$State\done", "$Share\queue", "$Share\results", "$Share\claimed")) {
  New-Item -ItemType Directory -Force -Path $dir | Out-Null
}

# One run at a time: a named mutex, released by Windows if this process dies.
$mutex = New-Object System.Threading.Mutex($false, 'Global\rmm-smb-consumer')
if (-not $mutex.WaitOne(0)) { exit 0 }

function NowIso { [DateTime]::UtcNow.ToString('yyyy-MM-ddTHH:mm:ssZ') }
function NowEpoch { [DateTimeOffset]::UtcNow.ToUnixTimeSeconds() }

function Write-Atomic([string]$Path, [string]$Text) {
  $tmp = Join-Path (Split-Path $Path) ('.' + (Split-Path $Path -Leaf) + '.tmp')
  [IO.File]::WriteAllText($tmp, $Text, $Utf8)
  Move-Item -Force -LiteralPath $tmp -Destination $Path
}

function Write-Heartbeat {
  Write-Atomic "$Share\heartbeat" ('{"v":1,"at":"' + (NowIso) + '","device":"' + $Device + '","consumer":"ps1","version":"' + $Version + '"}' + "`n")
}

function Get-Capped([byte[]]$Bytes) {
  $kept = [Math]::Min($Bytes.Length, $OutputCap)
  @{ Base64 = [Convert]::ToBase64String($Bytes, 0, $kept); Dropped = $Bytes.Length - $kept }
}

# A result not collected yet is never replaced: a replayed or forged job cannot hide a real result.
function Write-Result([string]$Id, [string]$Status, $ExitCode, [string]$ErrorText, [long]$Started, $Stdout, $Stderr) {
  $target = "$Share\results\$Id.json"
  if (Test-Path -LiteralPath $target) { return }
  $fields = '"v":1,"actionId":"' + $Id + '","status":"' + $Status + '"'
  if ($null -ne $ExitCode) { $fields += ',"exitCode":' + $ExitCode }
  if ($ErrorText) { $fields += ',"error":"' + $ErrorText + '"' }
  if ($null -ne $Stdout) {
    $out = Get-Capped $Stdout
    $err = Get-Capped $Stderr
    $fields += ',"stdoutBase64":"' + $out.Base64 + '","stdoutDropped":' + $out.Dropped
    $fields += ',"stderrBase64":"' + $err.Base64 + '","stderrDropped":' + $err.Dropped
  }
  $fields += ',"at":"' + (NowIso) + '","durationMs":' + (((NowEpoch) - $Started) * 1000)
  Write-Atomic $target ('{' + $fields + '}' + "`n")
}

# A run killed while a job ran left its record `started`: that job is reported, never run again.
foreach ($record in Get-ChildItem -LiteralPath "$State\done" -File) {
  $parts = ([IO.File]::ReadAllText($record.FullName)).Trim() -split ' '
  if ($parts[0] -eq 'started') {
    Write-Result $record.Name 'Failed' $null 'the consumer stopped while this ran; it may or may not have completed' (NowEpoch) $null $null
    [IO.File]::WriteAllText($record.FullName, "finished $($parts[1])`n")
  } elseif ($parts.Length -gt 1 -and (NowEpoch) -gt ([long]$parts[1] + 3600)) {
    Remove-Item -LiteralPath $record.FullName -Force
  }
}

$rsa = New-Object System.Security.Cryptography.RSACryptoServiceProvider
$rsa.FromXmlString([IO.File]::ReadAllText($KeyXml))

function Invoke-Job([string]$Id) {
  $started = NowEpoch
  $claimed = "$Share\claimed\$Id.job"
  $bytes = [IO.File]::ReadAllBytes($claimed)
  Remove-Item -LiteralPath $claimed -Force
  if ($bytes.Length -gt $MaxJobBytes) { Write-Result $Id 'Failed' $null 'refused: not a job file' $started $null $null; return }
  $m = [regex]::Match($Utf8.GetString($bytes), $Envelope)
  if (-not $m.Success) { Write-Result $Id 'Failed' $null 'refused: not a job file' $started $null $null; return }
  try {
    $payload = [Convert]::FromBase64String($m.Groups[1].Value)
    $signature = [Convert]::FromBase64String($m.Groups[2].Value)
    $verified = $rsa.VerifyData($payload, 'SHA256', $signature)
  } catch { $verified = $false }
  if (-not $verified) {
    Write-Result $Id 'Failed' $null 'refused: the signature does not verify (unsigned or tampered job)' $started $null $null; return
  }
  $job = $Utf8.GetString($payload) | ConvertFrom-Json
  if ($job.v -ne 1 -or $job.actionId -ne $Id) {
    Write-Result $Id 'Failed' $null "refused: the job's contents do not match its name" $started $null $null; return
  }
  if ($job.device -ne $Device) { Write-Result $Id 'Failed' $null 'refused: the job is for another device' $started $null $null; return }
  $record = "$State\done\$Id"
  if (Test-Path -LiteralPath $record) {
    Write-Result $Id 'Failed' $null 'refused: this job was executed already (a replay)' $started $null $null; return
  }
  if ((NowEpoch) -gt [long]$job.expiresEpoch) {
    [IO.File]::WriteAllText($record, "finished $($job.expiresEpoch)`n")
    Write-Result $Id 'Expired' $null 'refused: the job expired before it started' $started $null $null; return
  }
  $command = $Utf8.GetString([Convert]::FromBase64String($job.commandBase64))
  $work = "$State\work"
  New-Item -ItemType Directory -Force -Path $work | Out-Null
  if ($job.powershell) {
    $encoded = [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes($command))
    $file = 'powershell.exe'
    $arguments = "-NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand $encoded"
  } else {
    [IO.File]::WriteAllText("$work\command.cmd", $command, [Text.Encoding]::Default)
    $file = 'cmd.exe'
    $arguments = "/d /c `"$work\command.cmd`""
  }
  # Recorded before it runs: a consumer killed from here on never runs this job again.
  [IO.File]::WriteAllText($record, "started $($job.expiresEpoch)`n")
  $process = Start-Process -FilePath $file -ArgumentList $arguments -NoNewWindow -PassThru -WorkingDirectory $env:SystemRoot `
    -RedirectStandardOutput "$work\stdout" -RedirectStandardError "$work\stderr"
  if ($process.WaitForExit([int]$job.timeoutSeconds * 1000)) {
    $code = $process.ExitCode
    if ($code -eq 0) { $status = 'Succeeded' } else { $status = 'Failed' }
  } else {
    & taskkill.exe /T /F /PID $process.Id | Out-Null
    $process.WaitForExit(10000) | Out-Null
    $code = $null
    $status = 'TimedOut'
  }
  Write-Result $Id $status $code $null $started ([IO.File]::ReadAllBytes("$work\stdout")) ([IO.File]::ReadAllBytes("$work\stderr"))
  [IO.File]::WriteAllText($record, "finished $($job.expiresEpoch)`n")
}

try {
  Write-Heartbeat
  $count = 0
  foreach ($job in Get-ChildItem -LiteralPath "$Share\queue" -Filter '*.job') {
    if ($count -ge $MaxJobs) { break }
    $count++
    $id = [IO.Path]::GetFileNameWithoutExtension($job.Name)
    if ($id -notmatch $UuidPattern -or $job.PSIsContainer -or ($job.Attributes -band [IO.FileAttributes]::ReparsePoint)) {
      Remove-Item -LiteralPath $job.FullName -Force -Recurse
      continue
    }
    # Taken out of queue\ first: the console's cancel (a delete in queue\) then finds it gone, too late.
    try { Move-Item -LiteralPath $job.FullName -Destination "$Share\claimed\$($job.Name)" -Force } catch { continue }
    Invoke-Job $id
  }
  Write-Heartbeat
} finally {
  $mutex.ReleaseMutex()
}
