# rmm Windows inventory collector (src/inventory/windows.ts parses its output).
# Read-only; Windows PowerShell 5.1 syntax, so no ??, ternary or && (PowerShell 7 only).
# Prints one compact JSON document; a category that fails becomes {"error": "..."} and the
# others are still collected. Lists are built with @(...) so one item stays an array.

$ProgressPreference = 'SilentlyContinue'
try { [Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false } catch { }
# Windows PowerShell serializes a wrapped array as {"value": [...], "Count": n} unless this goes.
try { Remove-TypeData -TypeName System.Array -ErrorAction Stop } catch { }

function Format-UtcDate($Value) {
  if ($Value) { $Value.ToUniversalTime().ToString('o') }
}

function New-CategoryError($ErrorRecord) {
  [ordered]@{ error = [string]$ErrorRecord.Exception.Message }
}

$inventory = [ordered]@{ formatVersion = 1 }

try {
  $ErrorActionPreference = 'Stop'
  $os = Get-CimInstance -ClassName Win32_OperatingSystem
  # DisplayVersion (22H2) and UBR (the patch level after the build) exist only in the registry.
  $current = Get-ItemProperty -Path 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion'
  $inventory.os = [ordered]@{
    caption = $os.Caption
    version = $os.Version
    buildNumber = $os.BuildNumber
    displayVersion = $current.DisplayVersion
    updateBuildRevision = $current.UBR
    architecture = $os.OSArchitecture
    computerName = $os.CSName
    installDate = Format-UtcDate $os.InstallDate
    lastBootUpTime = Format-UtcDate $os.LastBootUpTime
    powershellVersion = [string]$PSVersionTable.PSVersion
  }
} catch { $inventory.os = New-CategoryError $_ }

try {
  $ErrorActionPreference = 'Stop'
  $system = Get-CimInstance -ClassName Win32_ComputerSystem
  $processors = @(Get-CimInstance -ClassName Win32_Processor)
  $inventory.hardware = [ordered]@{
    manufacturer = $system.Manufacturer
    model = $system.Model
    domain = $system.Domain
    totalMemoryBytes = $system.TotalPhysicalMemory
    processors = @(foreach ($cpu in $processors) {
      [ordered]@{ name = $cpu.Name; cores = $cpu.NumberOfCores; logicalProcessors = $cpu.NumberOfLogicalProcessors }
    })
  }
} catch { $inventory.hardware = New-CategoryError $_ }

try {
  $ErrorActionPreference = 'Stop'
  $disks = @(Get-CimInstance -ClassName Win32_LogicalDisk -Filter 'DriveType = 3')
  $inventory.disks = @(foreach ($disk in $disks) {
    [ordered]@{
      drive = $disk.DeviceID
      label = $disk.VolumeName
      fileSystem = $disk.FileSystem
      sizeBytes = $disk.Size
      freeBytes = $disk.FreeSpace
    }
  })
} catch { $inventory.disks = New-CategoryError $_ }

try {
  $ErrorActionPreference = 'Stop'
  $adapters = @(Get-CimInstance -ClassName Win32_NetworkAdapterConfiguration -Filter 'IPEnabled = TRUE')
  # The Where-Object filters keep a missing list empty: @($null) would be one null item.
  $inventory.network = @(foreach ($adapter in $adapters) {
    [ordered]@{
      description = $adapter.Description
      macAddress = $adapter.MACAddress
      ipv4 = @($adapter.IPAddress | Where-Object { $_ -and $_ -notlike '*:*' })
      ipv6 = @($adapter.IPAddress | Where-Object { $_ -like '*:*' })
      dhcpEnabled = $adapter.DHCPEnabled
      gateways = @($adapter.DefaultIPGateway | Where-Object { $_ })
      dnsServers = @($adapter.DNSServerSearchOrder | Where-Object { $_ })
    }
  })
} catch { $inventory.network = New-CategoryError $_ }

try {
  $ErrorActionPreference = 'Stop'
  # The Uninstall keys, not Win32_Product: querying that makes MSI check, and repair, every package.
  # Both registry views explicitly, so a 32-bit PowerShell still sees 64-bit software.
  $views = @('Registry64', 'Registry32')
  if (-not [Environment]::Is64BitOperatingSystem) { $views = @('Default') }
  $inventory.software = @(foreach ($view in $views) {
    $base = [Microsoft.Win32.RegistryKey]::OpenBaseKey('LocalMachine', $view)
    $uninstall = $base.OpenSubKey('SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall')
    if ($uninstall) {
      foreach ($name in $uninstall.GetSubKeyNames()) {
        # One unreadable entry is skipped rather than failing the whole list.
        try { $entry = $uninstall.OpenSubKey($name) } catch { $entry = $null }
        if ($entry -and $entry.GetValue('DisplayName')) {
          [ordered]@{
            name = $entry.GetValue('DisplayName')
            version = $entry.GetValue('DisplayVersion')
            publisher = $entry.GetValue('Publisher')
            installDate = $entry.GetValue('InstallDate')
            registryView = $view
          }
        }
      }
    }
  })
} catch { $inventory.software = New-CategoryError $_ }

$json = ConvertTo-Json -InputObject $inventory -Depth 5 -Compress
# Non-ASCII as \uXXXX: the JSON then survives whatever code page sits between here and rmm.
$json = [regex]::Replace($json, '[^\x00-\x7F]', { param($character) '\u{0:x4}' -f [int][char]$character.Value })
[Console]::Out.WriteLine($json)
