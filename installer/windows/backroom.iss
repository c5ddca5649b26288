; Inno Setup 6 script for the Windows installer of Backroom.
;
; NOTE: this script has not been compiled or tested: Backroom is built and
; tested on Debian Linux only. See installer/README.md for the steps.
;
; Build on Windows from the repository root, after
;     pyinstaller --noconfirm --clean installer\backroom.spec
; has written dist\backroom\ (backroom.exe for the window, backroom-cli.exe
; for the command line):
;     iscc /DAppVersion=0.1.0 installer\windows\backroom.iss
; The installer lands in dist\backroom-0.1.0-windows-x64-setup.exe.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#define AppName "Backroom"
#define Bundle "..\..\dist\backroom"

[Setup]
; AppId identifies the installation for upgrades and uninstall; keep it fixed.
AppId={{6F3B7E2A-5C1D-4B8E-9A47-2D0C8E51B3F4}
AppName={#AppName}
AppVersion={#AppVersion}
AppPublisher=Backroom
DefaultDirName={autopf}\Backroom
DefaultGroupName=Backroom
DisableProgramGroupPage=yes
; Installs for the current user without administrator rights by default;
; the dialog offers an installation for all users.
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\..\dist
OutputBaseFilename=backroom-{#AppVersion}-windows-x64-setup
SetupIconFile=..\..\resources\icons\backroom.ico
UninstallDisplayIcon={app}\backroom.exe
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#Bundle}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\Backroom"; Filename: "{app}\backroom.exe"
Name: "{autodesktop}\Backroom"; Filename: "{app}\backroom.exe"; Tasks: desktopicon

[Run]
; The self-test checks the installation before the first start.
Filename: "{app}\backroom-cli.exe"; Parameters: "selftest"; StatusMsg: "Checking the installation..."; Flags: runhidden waituntilterminated
Filename: "{app}\backroom.exe"; Description: "{cm:LaunchProgram,Backroom}"; Flags: nowait postinstall skipifsilent

; The shop database, backups and logs live in %LOCALAPPDATA%\Backroom and
; are left in place on uninstall, so that uninstalling never deletes the books.
