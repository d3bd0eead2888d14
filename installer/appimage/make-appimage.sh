#!/bin/sh
# Packs an AppDir into an AppImage: OUT = RUNTIME ++ squashfs(APPDIR).
# Usage: make-appimage.sh RUNTIME APPDIR OUT
set -eu

if [ $# -ne 3 ]; then
    echo "usage: $0 RUNTIME APPDIR OUT" >&2
    exit 2
fi
runtime=$1 appdir=${2%/} out=$3

[ -f "$runtime" ] || { echo "$0: runtime $runtime not found (make -C installer/appimage runtime)" >&2; exit 1; }
[ -d "$appdir" ] || { echo "$0: AppDir $appdir is not a directory" >&2; exit 1; }
command -v mksquashfs >/dev/null || { echo "$0: mksquashfs not found (apt-get install squashfs-tools)" >&2; exit 1; }

# What the runtime and desktop integration need at the top of the AppDir.
missing=
if [ ! -f "$appdir/AppRun" ] && [ ! -L "$appdir/AppRun" ]; then
    missing="$missing; no AppRun"
elif [ ! -x "$appdir/AppRun" ]; then
    missing="$missing; AppRun is not executable (chmod +x)"
fi
desktop=
for f in "$appdir"/*.desktop; do [ -f "$f" ] && desktop=$f && break; done
[ -n "$desktop" ] || missing="$missing; no .desktop file at the top"
icon=
if [ -n "$desktop" ]; then
    name=$(sed -n 's/^Icon=//p' "$desktop" | head -n 1)
    for f in "$appdir/$name".png "$appdir/$name".svg "$appdir/$name".xpm "$appdir/.DirIcon"; do
        [ -n "$name" ] && [ -e "$f" ] && icon=$f && break
    done
    [ -n "$icon" ] || missing="$missing; no icon (Icon=${name:-<unset>} in $(basename "$desktop") needs $appdir/${name:-NAME}.png or .svg)"
fi
if [ -n "$missing" ]; then
    echo "$0: $appdir is not a complete AppDir: ${missing#; }" >&2
    exit 1
fi

tmp=$(mktemp "${TMPDIR:-/tmp}/make-appimage.XXXXXX")
trap 'rm -f "$tmp" "$out.tmp"' EXIT
# zstd: Debian's libsquashfuse (linked into the runtime) decompresses it, and
# it starts faster than xz at a similar size.
mksquashfs "$appdir" "$tmp" -root-owned -noappend -comp zstd -Xcompression-level 19 -b 128K -quiet -no-progress
cat "$runtime" "$tmp" > "$out.tmp"
chmod 755 "$out.tmp"
mv "$out.tmp" "$out"
echo "$out: $(wc -c < "$out") bytes"
