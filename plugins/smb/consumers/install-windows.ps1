# Installs rmm's SMB queue consumer for device @@DEVICE@@ (written by `rmm smb enroll`; it holds the
# console's PUBLIC key only, no secret). Run once as an administrator in Windows PowerShell 5.1:
#   powershell -ExecutionPolicy Bypass -File rmm-smb-install-@@DEVICE@@.ps1 -Account 'DOMAIN\rmm-console'
param(
  [Parameter(Mandatory = $true)][string]$Account,
  [string]$Root = "$env:ProgramData\rmm-smb"
)
$ErrorActionPreference = 'Stop'
$share = "$Root\share"
$state = "$Root\state"
New-Item -ItemType Directory -Force -Path $share, $state | Out-Null

# The program and its state: SYSTEM and Administrators only (the share's users cannot touch them).
& icacls.exe $Root /inheritance:r /grant:r 'SYSTEM:(OI)(CI)F' 'Administrators:(OI)(CI)F' | Out-Null
& icacls.exe $share /grant:r "${Account}:(OI)(CI)M" | Out-Null

$consumer = @'
@@CONSUMER@@
'@
$keyXml = '@@PUBLIC_KEY_XML@@'
[IO.File]::WriteAllText("$Root\rmm-smb-consumer.ps1", $consumer, (New-Object System.Text.UTF8Encoding($true)))
[IO.File]::WriteAllText("$Root\console-key.xml", $keyXml)

if (-not (Get-SmbShare -Name 'rmm$' -ErrorAction SilentlyContinue)) {
  New-SmbShare -Name 'rmm$' -Path $share -ChangeAccess $Account -EncryptData $true | Out-Null
}

$arguments = "-NoProfile -NonInteractive -ExecutionPolicy Bypass -File `"$Root\rmm-smb-consumer.ps1`" -Share `"$share`" -State `"$state`" -Device @@DEVICE@@ -KeyXml `"$Root\console-key.xml`""
$action = New-ScheduledTaskAction -Execute 'powershell.exe' -Argument $arguments
$trigger = New-ScheduledTaskTrigger -Once -At (Get-Date) -RepetitionInterval (New-TimeSpan -Minutes 1)
$settings = New-ScheduledTaskSettingsSet -MultipleInstances IgnoreNew -ExecutionTimeLimit (New-TimeSpan -Hours 12)
Register-ScheduledTask -TaskName 'rmm SMB consumer' -Action $action -Trigger $trigger -Settings $settings `
  -User 'SYSTEM' -RunLevel Highest -Force | Out-Null
Write-Output "Installed the rmm SMB consumer for @@DEVICE@@: share rmm$ on $share (for $Account, encrypted). Allow TCP 445 in from the console only."
