#!/usr/bin/env bash
# Assembles the Venue Desk AppDir from a release build and this machine's Debian 12 libraries:
# the app, venue-sim, every shared library they and their plug-ins load (except those that must
# come from the host, below), WebKit's helper processes, the GStreamer plug-ins and scanner, the
# GdkPixbuf loaders, the GIO modules and the GSettings schemas.
#
#   installer/appimage/build-appdir.sh RELEASE_DIR APPDIR
#
# What linuxdeploy and its GTK/GStreamer plug-ins do for Tauri's bundler, which cannot be
# downloaded here (docs/appimage-runtime.md).
set -euo pipefail

bin=$(readlink -f "${1:?usage: build-appdir.sh RELEASE_DIR APPDIR}")
appdir=${2:?usage: build-appdir.sh RELEASE_DIR APPDIR}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
ma=$(gcc -print-multiarch)
sys=/usr/lib/$ma

for f in venue-desk venue-sim; do [ -x "$bin/$f" ] || { echo "build-appdir: $bin/$f is missing; build the release first (make package)"; exit 1; }; done
[ -x "$sys/webkit2gtk-4.1/WebKitWebProcess" ] || { echo "build-appdir: WebKitGTK 4.1 is not installed (make deps-system)"; exit 1; }

rm -rf "$appdir"
lib=$appdir/usr/lib/$ma
mkdir -p "$appdir/usr/bin" "$lib" "$appdir/usr/lib/compat" "$appdir/usr/libexec/gstreamer-1.0" \
  "$appdir/usr/share/glib-2.0/schemas" "$appdir/usr/share/applications" "$appdir/usr/share/icons/hicolor/128x128/apps"

install -m755 "$bin/venue-desk" "$bin/venue-sim" "$appdir/usr/bin/"
install -m755 "$repo/installer/linux/venue-desk-training" "$appdir/usr/bin/"
install -m755 "$here/AppRun" "$appdir/AppRun"

# WebKit's helper processes and injected bundle (MiniBrowser is a developer tool).
mkdir -p "$lib/webkit2gtk-4.1"
cp -a "$sys/webkit2gtk-4.1/." "$lib/webkit2gtk-4.1/"
rm -f "$lib/webkit2gtk-4.1/MiniBrowser"

# The plug-ins the app, venue-sim and WebKit's media player use, by plug-in name (the .deb takes
# whole plug-in packages; here each one weighs: libav alone brings 200 MB of codecs). Recording
# and live: rtsp rtp rtpmanager udp tcp, the parsers, matroska multifile isomp4; stills: playback
# typefindfunctions libav jpeg; WebKit's player: app playback audioconvert audioresample volume
# autodetect alsa pulseaudio debugutilsbad (its fake sinks where there is no sound card);
# venue-sim: videotestsrc audiotestsrc pango x264 voaacenc.
plugins=(
  coreelements coretracers
  app audioconvert audiorate audioresample audiotestsrc encoding gio overlaycomposition pango
  pbtypes playback rawparse tcp typefindfunctions videoconvertscale videorate videotestsrc volume alsa
  alaw mulaw apetag id3demux audioparsers autodetect deinterlace interleave isomp4 jpeg level
  matroska multifile png pulseaudio rtp rtpmanager rtsp udp videofilter wavparse
  debugutilsbad videoparsersbad voaacenc faad
  x264 libav
)
mkdir -p "$lib/gstreamer-1.0"
for p in "${plugins[@]}"; do
  [ -f "$sys/gstreamer-1.0/libgst$p.so" ] || { echo "build-appdir: GStreamer plug-in $p is not installed (make deps-system)"; exit 1; }
  cp -a "$sys/gstreamer-1.0/libgst$p.so" "$lib/gstreamer-1.0/"
done
install -m755 "$sys/gstreamer1.0/gstreamer-1.0/gst-plugin-scanner" "$appdir/usr/libexec/gstreamer-1.0/"

mkdir -p "$lib/gdk-pixbuf-2.0/2.10.0" "$lib/gio/modules"
cp -a "$sys/gdk-pixbuf-2.0/2.10.0/loaders" "$lib/gdk-pixbuf-2.0/2.10.0/"
# The loader cache names absolute paths: AppRun fills in the mount point at every start.
sed "s|\"$sys/|\"@APPDIR@/usr/lib/$ma/|" "$sys/gdk-pixbuf-2.0/2.10.0/loaders.cache" \
  >"$lib/gdk-pixbuf-2.0/2.10.0/loaders.cache.in"
# TLS for WebKit's network process (glib-networking) and GSettings through the host's dconf.
cp -a "$sys/gio/modules/libgiognutls.so" "$sys/gio/modules/libdconfsettings.so" "$lib/gio/modules/"
cp -a /usr/share/glib-2.0/schemas/gschemas.compiled "$appdir/usr/share/glib-2.0/schemas/"

# Libraries that stay the host's, and why:
# - glibc and its loader: the app is built against glibc 2.36 and needs the host's (≥ 2.36);
# - GL, EGL, GBM, DRM, Vulkan, VA-API, VDPAU: they must match the host's graphics driver;
# - X11/xcb core and ALSA: they must match the host's display server and sound configuration;
# - fontconfig, FreeType, HarfBuzz, Expat: the host's fonts and font configuration (CJK fonts);
# - libgcc_s: always present, and newer hosts' copies stay compatible.
host_only='^(ld-linux.*|libc|libm|libdl|libpthread|librt|libresolv|libutil|libanl|libnsl|libmvec|libBrokenLocale|libthread_db|libnss_.*|libGL|libGLX|libGLdispatch|libOpenGL|libEGL|libGLESv1_CM|libGLESv2|libgbm|libdrm.*|libglapi|libvulkan|libva.*|libvdpau|libX11|libX11-xcb|libxcb|libXau|libXdmcp|libasound|libfontconfig|libfreetype|libharfbuzz|libexpat|libgcc_s)\.so'

# Every ELF file in the AppDir, and every library it loads (ldd resolves the whole closure).
mapfile -t elves < <(find "$appdir" -type f \( -name '*.so*' -o -perm -u+x \) -exec sh -c 'head -c4 "$1" | grep -q ELF && echo "$1"' _ {} \;)
declare -A wanted=()
dropped=()
for f in "${elves[@]}"; do
  out=$(ldd "$f" 2>/dev/null) || continue
  if grep -q "not found" <<<"$out"; then
    # A plug-in whose libraries this machine lacks would not load here either: leave it out.
    case $f in
      "$lib"/gstreamer-1.0/*) dropped+=("$(basename "$f"): $(grep "not found" <<<"$out" | awk '{print $1}' | tr '\n' ' ')"); rm -f "$f"; continue ;;
      *) echo "build-appdir: $f needs libraries that are not installed:"; grep "not found" <<<"$out"; exit 1 ;;
    esac
  fi
  while read -r path; do wanted[$path]=1; done < <(awk '$2 == "=>" && $3 ~ /^\// { print $3 }' <<<"$out")
done
for path in "${!wanted[@]}"; do
  name=$(basename "$path")
  [[ $name =~ $host_only ]] && continue
  if [[ $name == libstdc++.so.6 ]]; then cp -L "$path" "$appdir/usr/lib/compat/$name"; continue; fi
  [ -e "$lib/$name" ] || cp -L "$path" "$lib/$name"
done
# The newest libstdc++ symbol version the bundle uses: AppRun prefers the host's copy if it has it.
needed_cxx=$(for f in "${elves[@]}" "$lib"/*.so*; do [ -f "$f" ] && objdump -T "$f" 2>/dev/null; done |
  grep -o 'GLIBCXX_3\.4\.[0-9]*' | sort -t. -k3 -n -u | tail -1)
echo "${needed_cxx:-GLIBCXX_3.4}" >"$appdir/usr/lib/compat/GLIBCXX_NEEDED"

# WebKit starts its helpers from a path compiled into the library. Rewrite that one prefix, in
# place and at the same length, to a path relative to $APPDIR/usr, where AppRun starts the window.
python3 - "$lib/libwebkit2gtk-4.1.so.0" "$sys" <<'EOF'
import sys
path, sysdir = sys.argv[1], sys.argv[2]
old = (sysdir + "/webkit2gtk-4.1").encode()
new = b"././" + old[len(b"/usr"):]
assert old.startswith(b"/usr/") and len(new) == len(old)
data = open(path, "rb").read()
count = data.count(old)
if count == 0:
    sys.exit(f"build-appdir: {old.decode()} not found in {path}: this WebKitGTK cannot be relocated this way")
open(path, "wb").write(data.replace(old, new))
print(f"build-appdir: WebKit helper path made relative ({count} places)")
EOF

# Desktop integration: the .desktop and icon at the top are what AppImage tools read.
cat >"$appdir/venue-desk.desktop" <<'EOF'
[Desktop Entry]
Type=Application
Name=Venue Desk 场所服务台
Comment=公共资源交易中心现场运行：场地预约、专家签到、门禁、录音录像、数据同步
Exec=venue-desk
Icon=venue-desk
Categories=Office;
Terminal=false
StartupWMClass=venue-desk
X-AppImage-Version=VERSION
Actions=training;

[Desktop Action training]
Name=Venue Desk 培训模式（示范场所）
Exec=venue-desk --training
EOF
version=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$repo/src-tauri/tauri.conf.json" | head -1)
sed -i "s/VERSION/$version/" "$appdir/venue-desk.desktop"
cp "$appdir/venue-desk.desktop" "$appdir/usr/share/applications/"
cp "$repo/src-tauri/icons/128x128.png" "$appdir/usr/share/icons/hicolor/128x128/apps/venue-desk.png"
cp "$repo/src-tauri/icons/128x128.png" "$appdir/venue-desk.png"
ln -sf venue-desk.png "$appdir/.DirIcon"
cp "$repo/docs/operations.md" "$appdir/usr/share/venue-desk-operations.md"

echo "build-appdir: $appdir: $(du -sh "$appdir" | cut -f1), ${#wanted[@]} libraries resolved, $(ls "$lib" | grep -c '\.so') bundled"
for d in "${dropped[@]}"; do echo "build-appdir: left out plug-in $d"; done
