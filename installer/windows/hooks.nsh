; Venue Desk NSIS installer hooks (bundle.windows.nsis.installerHooks in src-tauri/tauri.conf.json).
; Recording and playback need the GStreamer runtime (MSVC 64-bit, "complete" feature set), which the
; installer does not carry: GStreamer's own installer sets GSTREAMER_1_0_ROOT_MSVC_X86_64 for the
; machine. Without it the app starts, and its recording screens say GStreamer is missing; the
; installer warns now so IT installs it before the first session.

!macro NSIS_HOOK_PREINSTALL
  ReadEnvStr $0 GSTREAMER_1_0_ROOT_MSVC_X86_64
  ${If} $0 == ""
    ReadRegStr $0 HKLM "SYSTEM\CurrentControlSet\Control\Session Manager\Environment" "GSTREAMER_1_0_ROOT_MSVC_X86_64"
  ${EndIf}
  ${If} $0 == ""
    MessageBox MB_OK|MB_ICONEXCLAMATION "未检测到 GStreamer 运行库（MSVC 64 位）。$\r$\n录音录像和回放需要它：请在安装 Venue Desk 之后安装 GStreamer 1.22 或更新版本的 “Complete” 运行库，然后重新启动 Venue Desk。$\r$\n$\r$\nThe GStreamer runtime (MSVC 64-bit) was not found. Recording and playback need it: install the GStreamer 1.22+ runtime (Complete) after Venue Desk, then start Venue Desk again."
  ${EndIf}
!macroend

!macro NSIS_HOOK_POSTINSTALL
!macroend

!macro NSIS_HOOK_PREUNINSTALL
!macroend

; The uninstaller removes the program only: the database, recordings and logs (under each
; operator's %APPDATA%\org.venuedesk.desk and the venue file's storage paths) and the keys in the
; Windows Credential Manager stay, so a reinstall or an upgrade finds them (docs/operations.md).
!macro NSIS_HOOK_POSTUNINSTALL
!macroend
